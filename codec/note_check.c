/*
 * Validation of voice notes from outside, and salvage of notes cut short.
 *
 * libogg finds the pages (checking every CRC) and assembles the packets;
 * the check adds what a general demuxer lets pass: one logical stream,
 * consecutive sequence numbers, the RFC 7845 header layout, granule
 * positions that agree with the audio, and every packet decoded by libopus.
 * Memory is bounded: the input goes to libogg a few KiB at a time, so its
 * buffers hold at most one page and the packet being assembled, and the
 * lacing values of each page are read before libogg stores it, so no packet
 * grows past the largest a voice note may carry. Then one decoder and one
 * output block; nothing is sized by a number read from the input.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ogg/ogg.h>
#include <opus/opus.h>

#include "util/util.h"
#include "codec.h"

/* Far above the 480 bytes a 60 ms packet at JC_MAX_BITRATE needs, and above
 * what other encoders write at speech bitrates. */
#define MAX_PACKET 8192
/* Tags from other encoders may carry a little more than ours. */
#define MAX_TAGS_BYTES     65536
#define MAX_PACKET_SAMPLES 5760 /* 120 ms at 48 kHz, the Opus maximum */
#define GRANULE_MAX        ((int64_t)1 << 40)
/* Salvage tries the last few candidate pages before giving up. */
#define SALVAGE_TRIES 8
/* How much of the input libogg is given at a time. */
#define FEED_CHUNK 4096
#define FLAG_EOS   0x04

/* The pages of a note held in memory, found by libogg. */
struct pages {
    ogg_sync_state sync;
    const unsigned char *data;
    size_t len;
    size_t fed;
};

struct checker {
    struct pages pages;
    ogg_stream_state stream;
    OpusDecoder *decoder;
    uint64_t packets; /* completed: 0 is OpusHead, 1 OpusTags, then audio */
    unsigned preskip;
    unsigned input_rate;
    uint64_t samples; /* decoded, at 48 kHz */
    uint64_t audio_bytes;
    jc_loudness_meter *meter; /* NULL unless the loudness is measured too */
    float pcm[MAX_PACKET_SAMPLES];
};

static void pages_init(struct pages *p, const unsigned char *data, size_t len)
{
    ogg_sync_init(&p->sync);
    p->data = data;
    p->len = len;
    p->fed = 0;
}

/* Finds the next page: 1 and *og set, 0 if the data ends before a whole
 * page does (the bytes left are a cut page, or fewer than a page header),
 * JC_ERR_CORRUPT if the next bytes are not a page with a good CRC. */
static int next_page(struct pages *p, ogg_page *og)
{
    for (;;) {
        long n = ogg_sync_pageseek(&p->sync, og);
        size_t chunk;
        char *buf;

        if (n > 0)
            return ogg_page_version(og) == 0 ? 1 : JC_ERR_CORRUPT;
        if (n < 0)
            return JC_ERR_CORRUPT;
        if (p->fed == p->len)
            return 0;
        chunk = p->len - p->fed < FEED_CHUNK ? p->len - p->fed : FEED_CHUNK;
        buf = ogg_sync_buffer(&p->sync, (long)chunk);
        if (!buf)
            return -ENOMEM;
        memcpy(buf, p->data + p->fed, chunk);
        if (ogg_sync_wrote(&p->sync, (long)chunk) != 0)
            return -ENOMEM;
        p->fed += chunk;
    }
}

static size_t page_len(const ogg_page *og)
{
    return (size_t)og->header_len + (size_t)og->body_len;
}

static int parse_head(struct checker *c, const ogg_packet *op)
{
    const unsigned char *h = op->packet;

    if (op->bytes < 19 || memcmp(h, "OpusHead", 8) != 0)
        return JC_ERR_NOT_OPUS;
    if ((h[8] & 0xf0) != 0) /* a major version we do not know */
        return JC_ERR_NOT_OPUS;
    if (h[9] != 1 || h[18] != 0)
        return JC_ERR_CHANNELS;
    c->preskip = (unsigned)h[10] | (unsigned)h[11] << 8;
    c->input_rate = ju_le32_get(h + 12);
    return 0;
}

static int decode_packet(struct checker *c, const ogg_packet *op)
{
    int n;

    if (op->bytes <= 0 || op->bytes > MAX_PACKET)
        return JC_ERR_CORRUPT;
    n = opus_packet_get_nb_samples(op->packet, (opus_int32)op->bytes, 48000);
    if (n <= 0 || n > MAX_PACKET_SAMPLES)
        return JC_ERR_CORRUPT;
    if (opus_decode_float(c->decoder, op->packet, (opus_int32)op->bytes, c->pcm, MAX_PACKET_SAMPLES,
                          0) != n)
        return JC_ERR_CORRUPT;
    if (c->meter) {
        /* Measured as playback hears it: without the pre-skip. */
        size_t skip = 0;
        if (c->samples < c->preskip)
            skip = c->preskip - c->samples < (uint64_t)n ? (size_t)(c->preskip - c->samples)
                                                         : (size_t)n;
        jc_loudness_meter_add(c->meter, c->pcm + skip, (size_t)n - skip);
    }
    c->samples += (uint64_t)n;
    c->audio_bytes += (uint64_t)op->bytes;
    /* Stop early rather than decode minutes past the limit. */
    if (c->samples > (uint64_t)JC_MAX_NOTE_SECONDS * 48000 + c->preskip + MAX_PACKET_SAMPLES)
        return JC_ERR_TOO_LONG;
    return 0;
}

static int end_packet(struct checker *c, const ogg_packet *op)
{
    int res = 0;

    if (c->packets == 0)
        res = parse_head(c, op);
    else if (c->packets == 1)
        res = (op->bytes >= 8 && !memcmp(op->packet, "OpusTags", 8)) ? 0 : JC_ERR_NOT_OPUS;
    else
        res = decode_packet(c, op);
    c->packets++;
    return res;
}

/* Takes the first page as the start of the one logical stream a note
 * holds: it must open a stream (BOS), and its serial is the one every later
 * page must carry. */
static int start_stream(struct checker *c, ogg_page *og, uint32_t *serial)
{
    if (!ogg_page_bos(og))
        return JC_ERR_NOT_OPUS;
    *serial = (uint32_t)ogg_page_serialno(og);
    if (ogg_stream_reset_serialno(&c->stream, ogg_page_serialno(og)) != 0)
        return -ENOMEM;
    return 0;
}

/* Walks the lacing values of a page before libogg stores it: the packet
 * being assembled stays within its limit (the tags within MAX_TAGS_BYTES,
 * any other packet within MAX_PACKET), OpusHead is alone on the first page
 * and the tags end their page. *pending carries the bytes of an unfinished
 * packet from page to page; *ended counts the packets the page ends. */
static int check_lacing(const struct checker *c, const ogg_page *og, size_t *pending,
                        unsigned *ended)
{
    unsigned segments = og->header[26];
    const unsigned char *lacing = og->header + 27;

    *ended = 0;
    for (unsigned i = 0; i < segments; i++) {
        uint64_t packet = c->packets + *ended;

        *pending += lacing[i];
        if (*pending > (packet == 1 ? MAX_TAGS_BYTES : MAX_PACKET))
            return JC_ERR_CORRUPT;
        if (lacing[i] == 255)
            continue;
        *pending = 0;
        ++*ended;
        if (packet <= 1 && i + 1 != segments)
            return JC_ERR_NOT_OPUS;
    }
    return 0;
}

static int check(struct checker *c, struct jc_note_info *info)
{
    uint32_t serial = 0, sequence = 0;
    int64_t offset = -1, final_granule = -1;
    bool in_packet = false, eos = false;
    size_t off = 0, pending = 0;
    int res;

    for (;;) {
        ogg_page og;
        ogg_packet op;
        uint64_t before = c->samples, first_packet = c->packets;
        int64_t expected, granule;
        unsigned ended;

        if ((res = next_page(&c->pages, &og)) < 0)
            return off == 0 && res == JC_ERR_CORRUPT ? JC_ERR_NOT_OGG : res;
        if (res == 0)
            break;
        if (eos)
            return JC_ERR_CORRUPT; /* bytes after the end of the stream */
        if (off == 0) {
            if ((res = start_stream(c, &og, &serial)) < 0)
                return res;
        } else if ((uint32_t)ogg_page_serialno(&og) != serial ||
                   (uint32_t)ogg_page_pageno(&og) != sequence + 1 || ogg_page_bos(&og)) {
            return JC_ERR_CORRUPT;
        }
        sequence = (uint32_t)ogg_page_pageno(&og);
        if (!!ogg_page_continued(&og) != in_packet)
            return JC_ERR_CORRUPT;
        if ((res = check_lacing(c, &og, &pending, &ended)) < 0)
            return res;
        if (og.header[26] > 0)
            in_packet = og.header[og.header_len - 1] == 255;
        if (off == 0 && ended != 1)
            return JC_ERR_NOT_OPUS;
        if (ogg_stream_pagein(&c->stream, &og) != 0)
            return -ENOMEM; /* the page itself passed every check libogg makes */
        while ((res = ogg_stream_packetout(&c->stream, &op)) != 0) {
            if (res < 0)
                return JC_ERR_CORRUPT;
            if ((res = end_packet(c, &op)) < 0)
                return res;
        }
        eos = ogg_page_eos(&og);
        off += page_len(&og);

        if (c->packets == first_packet)
            continue; /* no packet ends here: the page has no timing of its own */
        granule = ogg_page_granulepos(&og);
        if (first_packet < 2) {
            if (granule != 0)
                return JC_ERR_DURATION;
            continue;
        }
        if (granule < 0 || granule > GRANULE_MAX)
            return JC_ERR_DURATION;
        if (offset < 0) {
            /* A stream may start at a later time than zero (RFC 7845 4.6). */
            offset = granule > (int64_t)c->samples ? granule - (int64_t)c->samples : 0;
            if (!eos && granule < (int64_t)c->samples)
                return JC_ERR_DURATION;
        }
        expected = offset + (int64_t)c->samples;
        /* Only the last page may end before its audio does (end trimming),
         * and by no more than the audio it carries. */
        if (eos ? (granule > expected || expected - granule > (int64_t)(c->samples - before))
                : granule != expected)
            return JC_ERR_DURATION;
        final_granule = granule;
    }
    /* The data ends inside a page: a cut page, or a piece of one after the
     * end of the stream. */
    if (off < c->pages.len)
        return eos ? JC_ERR_CORRUPT : JC_ERR_TRUNCATED;
    if (!eos || in_packet)
        return c->packets == 0 ? JC_ERR_EMPTY : JC_ERR_TRUNCATED;
    if (c->packets <= 2 || final_granule - offset <= (int64_t)c->preskip)
        return JC_ERR_EMPTY;
    if (final_granule - offset - c->preskip > (int64_t)JC_MAX_NOTE_SECONDS * 48000)
        return JC_ERR_TOO_LONG;
    if (info) {
        info->samples = (uint64_t)(final_granule - offset - c->preskip);
        info->seconds = info->samples / 48000.0;
        info->input_rate = c->input_rate;
        info->audio_bytes = c->audio_bytes;
        info->total_bytes = off;
    }
    return 0;
}

/* A checker over a note's bytes, after the checks every reader makes
 * first (empty, not Ogg, too long); checker_destroy() frees it. */
static int checker_create(const unsigned char *data, size_t len, struct checker **out)
{
    struct checker *c;

    if (len == 0)
        return JC_ERR_EMPTY;
    if (len < 4 || memcmp(data, "OggS", 4) != 0)
        return JC_ERR_NOT_OGG;
    if (len > JC_MAX_NOTE_BYTES)
        return JC_ERR_TOO_LONG;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    pages_init(&c->pages, data, len);
    /* The serial number is set from the first page. */
    if (ogg_stream_init(&c->stream, 0) != 0) {
        ogg_sync_clear(&c->pages.sync);
        free(c);
        return -ENOMEM;
    }
    *out = c;
    return 0;
}

static void checker_destroy(struct checker *c)
{
    jc_loudness_meter_destroy(c->meter);
    if (c->decoder)
        opus_decoder_destroy(c->decoder);
    ogg_stream_clear(&c->stream);
    ogg_sync_clear(&c->pages.sync);
    free(c);
}

int jc_note_check(const unsigned char *data, size_t len, struct jc_note_info *info)
{
    return jc_note_check_loudness(data, len, info, NULL, NULL);
}

int jc_note_check_loudness(const unsigned char *data, size_t len, struct jc_note_info *info,
                           struct jc_loudness *loudness, bool *measured)
{
    struct checker *c;
    int err;
    int res = checker_create(data, len, &c);

    if (measured)
        *measured = false;
    if (res < 0)
        return res;
    c->decoder = opus_decoder_create(48000, 1, &err);
    res = c->decoder ? 0 : -ENOMEM;
    /* A meter that cannot be made only leaves the note unmeasured. */
    if (res == 0 && loudness && measured && jc_loudness_meter_create(48000, &c->meter) < 0)
        c->meter = NULL;
    if (res == 0)
        res = check(c, info);
    if (res == 0 && c->meter)
        *measured = jc_loudness_meter_result(c->meter, loudness) == 0;
    checker_destroy(c);
    return res;
}

/* The value of the comment key in an OpusTags packet (jc_note_comment()).
 * Every length is checked against the bytes left before it is used. */
static int find_comment(const ogg_packet *op, const char *key, char *value, size_t size)
{
    const unsigned char *p = op->packet;
    size_t len = (size_t)op->bytes, key_len = strlen(key), at, n;
    uint32_t count;

    if (len < 16 || memcmp(p, "OpusTags", 8) != 0)
        return JC_ERR_NOT_OPUS;
    n = ju_le32_get(p + 8);
    if (n > len - 16)
        return JC_ERR_CORRUPT;
    at = 12 + n;
    count = ju_le32_get(p + at);
    at += 4;
    for (uint32_t i = 0; i < count; i++) {
        if (len - at < 4)
            return JC_ERR_CORRUPT;
        n = ju_le32_get(p + at);
        at += 4;
        if (n > len - at)
            return JC_ERR_CORRUPT;
        if (n > key_len && p[at + key_len] == '=' &&
            strncasecmp((const char *)p + at, key, key_len) == 0) {
            n -= key_len + 1;
            if (n >= size)
                return -ENOSPC;
            memcpy(value, p + at + key_len + 1, n);
            value[n] = '\0';
            return 1;
        }
        at += n;
    }
    return 0;
}

/* The same walk as check(), up to the end of the second packet. */
static int read_tags(struct checker *c, const char *key, char *value, size_t size)
{
    uint32_t serial = 0;
    size_t off = 0, pending = 0;
    int res;

    for (;;) {
        ogg_page og;
        ogg_packet op;
        unsigned ended;

        if ((res = next_page(&c->pages, &og)) < 0)
            return off == 0 && res == JC_ERR_CORRUPT ? JC_ERR_NOT_OGG : res;
        if (res == 0)
            return c->packets == 0 ? JC_ERR_EMPTY : JC_ERR_TRUNCATED;
        if (off == 0) {
            if ((res = start_stream(c, &og, &serial)) < 0)
                return res;
        } else if ((uint32_t)ogg_page_serialno(&og) != serial) {
            return JC_ERR_CORRUPT;
        }
        if ((res = check_lacing(c, &og, &pending, &ended)) < 0)
            return res;
        if (ogg_stream_pagein(&c->stream, &og) != 0)
            return JC_ERR_CORRUPT;
        while ((res = ogg_stream_packetout(&c->stream, &op)) != 0) {
            if (res < 0)
                return JC_ERR_CORRUPT;
            if (c->packets == 0 && (op.bytes < 8 || memcmp(op.packet, "OpusHead", 8) != 0))
                return JC_ERR_NOT_OPUS;
            if (c->packets == 1)
                return find_comment(&op, key, value, size);
            c->packets++;
        }
        off += page_len(&og);
    }
}

int jc_note_comment(const unsigned char *data, size_t len, const char *key, char *value,
                    size_t size)
{
    struct checker *c;
    int res;

    if (!key || !*key || !value || size == 0)
        return -EINVAL;
    res = checker_create(data, len, &c);
    if (res < 0)
        return res;
    res = read_tags(c, key, value, size);
    checker_destroy(c);
    return res;
}

/* Marks the page at data[start] end of stream, or undoes that; libogg
 * recomputes its CRC. */
static void set_eos(unsigned char *page, size_t len, bool on)
{
    ogg_page og = {
        .header = page,
        .header_len = 27 + page[26],
        .body = page + 27 + page[26],
        .body_len = (long)len - 27 - page[26],
    };

    page[5] = on ? page[5] | FLAG_EOS : page[5] & ~FLAG_EOS;
    ogg_page_checksum_set(&og);
}

/* Finds the last few pages that end an audio packet exactly at their end:
 * marked end of stream, each would close a whole note. Returns how many
 * were found in all; the last SALVAGE_TRIES are in the rings. */
static int find_candidates(const unsigned char *data, size_t len, size_t *starts, size_t *ends,
                           unsigned *found)
{
    struct pages pages;
    uint32_t serial = 0;
    uint64_t packets = 0;
    size_t off = 0;
    int res;

    pages_init(&pages, data, len);
    *found = 0;
    for (;;) {
        ogg_page og;
        unsigned segments, ended = 0;
        const unsigned char *lacing;

        if ((res = next_page(&pages, &og)) <= 0)
            break;
        if (off == 0)
            serial = (uint32_t)ogg_page_serialno(&og);
        else if ((uint32_t)ogg_page_serialno(&og) != serial)
            break;
        segments = og.header[26];
        lacing = og.header + 27;
        for (unsigned i = 0; i < segments; i++)
            ended += lacing[i] < 255;
        packets += ended;
        if (packets > 2 && ended > 0 && lacing[segments - 1] < 255 &&
            ogg_page_granulepos(&og) >= 0) {
            starts[*found % SALVAGE_TRIES] = off;
            ends[*found % SALVAGE_TRIES] = off + page_len(&og);
            ++*found;
        }
        off += page_len(&og);
        if (ogg_page_eos(&og))
            break;
    }
    ogg_sync_clear(&pages.sync);
    /* A damaged or cut page ends the search; only memory is an error. */
    return res == -ENOMEM ? res : 0;
}

int jc_note_salvage(unsigned char *data, size_t len, size_t *usable_len)
{
    size_t ends[SALVAGE_TRIES], starts[SALVAGE_TRIES];
    unsigned found = 0;
    int res = JC_ERR_EMPTY;

    if (len > JC_MAX_NOTE_BYTES)
        len = JC_MAX_NOTE_BYTES;
    if ((res = find_candidates(data, len, starts, ends, &found)) < 0)
        return res;
    res = JC_ERR_EMPTY;
    for (unsigned tries = 0; tries < SALVAGE_TRIES && found > 0; tries++) {
        unsigned slot = --found % SALVAGE_TRIES;
        unsigned char *page = data + starts[slot];
        size_t len_page = ends[slot] - starts[slot];
        bool had_eos = page[5] & FLAG_EOS;

        if (!had_eos)
            set_eos(page, len_page, true);
        res = jc_note_check(data, ends[slot], NULL);
        if (res == 0) {
            *usable_len = ends[slot];
            return 0;
        }
        if (!had_eos)
            set_eos(page, len_page, false);
        if (res == -ENOMEM)
            return res;
    }
    return res == 0 ? JC_ERR_EMPTY : res;
}
