/*
 * Validation of voice notes from outside, and salvage of notes cut short.
 *
 * The check walks the Ogg pages itself instead of trusting a general
 * demuxer: every page's CRC, one logical stream, consecutive sequence
 * numbers, the RFC 7845 header layout, granule positions that agree with
 * the audio, and every packet decoded by libopus. Memory is fixed: one
 * packet buffer as large as the largest packet a voice note may carry, one
 * decoder, one output block; nothing is sized by a number read from the
 * input.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>

#include "codec.h"
#include "ogg_crc.h"

#define PAGE_HEADER 27
#define FLAG_CONT   0x01
#define FLAG_BOS    0x02
#define FLAG_EOS    0x04
/* Far above the 480 bytes a 60 ms packet at JC_MAX_BITRATE needs, and above
 * what other encoders write at speech bitrates. */
#define MAX_PACKET 8192
/* Tags from other encoders may carry a little more than ours. */
#define MAX_TAGS_BYTES     65536
#define MAX_PACKET_SAMPLES 5760 /* 120 ms at 48 kHz, the Opus maximum */
#define GRANULE_MAX        ((int64_t)1 << 40)
/* Salvage tries the last few candidate pages before giving up. */
#define SALVAGE_TRIES 8

struct page {
    size_t len; /* header, lacing table and body */
    const unsigned char *lacing;
    unsigned segments;
    const unsigned char *body;
    unsigned flags;
    int64_t granule;
    uint32_t serial;
    uint32_t sequence;
};

struct checker {
    uint32_t crc[256];
    OpusDecoder *decoder;
    unsigned char packet[MAX_PACKET];
    size_t packet_len;
    uint64_t packets; /* completed: 0 is OpusHead, 1 OpusTags, then audio */
    unsigned preskip;
    unsigned input_rate;
    uint64_t samples; /* decoded, at 48 kHz */
    uint64_t audio_bytes;
    int16_t pcm[MAX_PACKET_SAMPLES];
};

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = v & 0xff;
    p[1] = (v >> 8) & 0xff;
    p[2] = (v >> 16) & 0xff;
    p[3] = (v >> 24) & 0xff;
}

/* Reads the page at data[off]: JC_ERR_TRUNCATED if the bytes stop inside
 * it, JC_ERR_CORRUPT if it is not a well-formed page with a good CRC. */
static int read_page(const uint32_t *crc, const unsigned char *data, size_t len, size_t off,
                     struct page *pg)
{
    const unsigned char *p = data + off;
    size_t avail = len - off, body_len = 0;

    if (avail < PAGE_HEADER)
        return JC_ERR_TRUNCATED;
    if (memcmp(p, "OggS", 4) != 0 || p[4] != 0)
        return JC_ERR_CORRUPT;
    pg->segments = p[26];
    if (avail < PAGE_HEADER + pg->segments)
        return JC_ERR_TRUNCATED;
    pg->lacing = p + PAGE_HEADER;
    for (unsigned i = 0; i < pg->segments; i++)
        body_len += pg->lacing[i];
    if (avail - PAGE_HEADER - pg->segments < body_len)
        return JC_ERR_TRUNCATED;
    pg->len = PAGE_HEADER + pg->segments + body_len;
    if (ogg_page_crc(crc, p, pg->len) != le32(p + 22))
        return JC_ERR_CORRUPT;
    pg->body = pg->lacing + pg->segments;
    pg->flags = p[5];
    pg->granule = (int64_t)((uint64_t)le32(p + 6) | (uint64_t)le32(p + 10) << 32);
    pg->serial = le32(p + 14);
    pg->sequence = le32(p + 18);
    return 0;
}

static int parse_head(struct checker *c)
{
    const unsigned char *h = c->packet;

    if (c->packet_len < 19 || memcmp(h, "OpusHead", 8) != 0)
        return JC_ERR_NOT_OPUS;
    if ((h[8] & 0xf0) != 0) /* a major version we do not know */
        return JC_ERR_NOT_OPUS;
    if (h[9] != 1 || h[18] != 0)
        return JC_ERR_CHANNELS;
    c->preskip = (unsigned)h[10] | (unsigned)h[11] << 8;
    c->input_rate = le32(h + 12);
    return 0;
}

static int decode_packet(struct checker *c)
{
    int n;

    if (c->packet_len == 0)
        return JC_ERR_CORRUPT;
    n = opus_packet_get_nb_samples(c->packet, (opus_int32)c->packet_len, 48000);
    if (n <= 0 || n > MAX_PACKET_SAMPLES)
        return JC_ERR_CORRUPT;
    if (opus_decode(c->decoder, c->packet, (opus_int32)c->packet_len, c->pcm, MAX_PACKET_SAMPLES,
                    0) != n)
        return JC_ERR_CORRUPT;
    c->samples += (uint64_t)n;
    c->audio_bytes += c->packet_len;
    /* Stop early rather than decode minutes past the limit. */
    if (c->samples > (uint64_t)JC_MAX_NOTE_SECONDS * 48000 + c->preskip + MAX_PACKET_SAMPLES)
        return JC_ERR_TOO_LONG;
    return 0;
}

static int end_packet(struct checker *c)
{
    int res = 0;

    if (c->packets == 0)
        res = parse_head(c);
    else if (c->packets == 1)
        res = (c->packet_len >= 8 && !memcmp(c->packet, "OpusTags", 8)) ? 0 : JC_ERR_NOT_OPUS;
    else
        res = decode_packet(c);
    c->packets++;
    c->packet_len = 0;
    return res;
}

/* Adds a segment to the packet being assembled. The tags are only counted:
 * their first bytes are all the check needs. */
static int add_segment(struct checker *c, const unsigned char *bytes, size_t n, size_t *tags_len)
{
    if (c->packets == 1) {
        *tags_len += n;
        if (*tags_len > MAX_TAGS_BYTES)
            return JC_ERR_CORRUPT;
        if (c->packet_len < 8) {
            size_t take = n < 8 - c->packet_len ? n : 8 - c->packet_len;
            memcpy(c->packet + c->packet_len, bytes, take);
            c->packet_len += take;
        }
        return 0;
    }
    if (n > MAX_PACKET - c->packet_len)
        return JC_ERR_CORRUPT;
    memcpy(c->packet + c->packet_len, bytes, n);
    c->packet_len += n;
    return 0;
}

static int check(struct checker *c, const unsigned char *data, size_t len,
                 struct jc_note_info *info)
{
    uint32_t serial = 0, sequence = 0;
    int64_t offset = -1, final_granule = -1;
    bool in_packet = false, eos = false;
    size_t off = 0, tags_len = 0;
    int res;

    while (off < len) {
        struct page pg;
        const unsigned char *body;
        uint64_t before = c->samples, first_packet = c->packets;
        int64_t expected;

        if (eos)
            return JC_ERR_CORRUPT; /* bytes after the end of the stream */
        if ((res = read_page(c->crc, data, len, off, &pg)) < 0)
            return off == 0 && res == JC_ERR_CORRUPT ? JC_ERR_NOT_OGG : res;
        if (off == 0) {
            if (!(pg.flags & FLAG_BOS))
                return JC_ERR_NOT_OPUS;
            serial = pg.serial;
        } else if (pg.serial != serial || pg.sequence != sequence + 1 || (pg.flags & FLAG_BOS)) {
            return JC_ERR_CORRUPT;
        }
        sequence = pg.sequence;
        if (!!(pg.flags & FLAG_CONT) != in_packet)
            return JC_ERR_CORRUPT;
        body = pg.body;
        for (unsigned i = 0; i < pg.segments; i++) {
            if ((res = add_segment(c, body, pg.lacing[i], &tags_len)) < 0)
                return res;
            body += pg.lacing[i];
            in_packet = pg.lacing[i] == 255;
            if (!in_packet && (res = end_packet(c)) < 0)
                return res;
            /* OpusHead alone on the first page; the tags end their page. */
            if (!in_packet && c->packets <= 2 && i + 1 != pg.segments)
                return JC_ERR_NOT_OPUS;
        }
        if (off == 0 && c->packets != 1)
            return JC_ERR_NOT_OPUS;
        eos = pg.flags & FLAG_EOS;
        off += pg.len;

        if (c->packets == first_packet)
            continue; /* no packet ends here: the page has no timing of its own */
        if (first_packet < 2) {
            if (pg.granule != 0)
                return JC_ERR_DURATION;
            continue;
        }
        if (pg.granule < 0 || pg.granule > GRANULE_MAX)
            return JC_ERR_DURATION;
        if (offset < 0) {
            /* A stream may start at a later time than zero (RFC 7845 4.6). */
            offset = pg.granule > (int64_t)c->samples ? pg.granule - (int64_t)c->samples : 0;
            if (!eos && pg.granule < (int64_t)c->samples)
                return JC_ERR_DURATION;
        }
        expected = offset + (int64_t)c->samples;
        /* Only the last page may end before its audio does (end trimming),
         * and by no more than the audio it carries. */
        if (eos ? (pg.granule > expected || expected - pg.granule > (int64_t)(c->samples - before))
                : pg.granule != expected)
            return JC_ERR_DURATION;
        final_granule = pg.granule;
    }
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
        info->total_bytes = len;
    }
    return 0;
}

int jc_note_check(const unsigned char *data, size_t len, struct jc_note_info *info)
{
    struct checker *c;
    int err, res;

    if (len == 0)
        return JC_ERR_EMPTY;
    if (len < 4 || memcmp(data, "OggS", 4) != 0)
        return JC_ERR_NOT_OGG;
    if (len > JC_MAX_NOTE_BYTES)
        return JC_ERR_TOO_LONG;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    ogg_crc_init(c->crc);
    c->decoder = opus_decoder_create(48000, 1, &err);
    if (!c->decoder) {
        res = -ENOMEM;
        goto error_checker;
    }
    res = check(c, data, len, info);

    opus_decoder_destroy(c->decoder);
error_checker:
    free(c);
    return res;
}

/* Marks the page at data[off] (of page_len bytes) end of stream, or undoes
 * that, keeping its CRC right. */
static void set_eos(const uint32_t *crc, unsigned char *page, size_t page_len, bool on)
{
    page[5] = on ? page[5] | FLAG_EOS : page[5] & ~FLAG_EOS;
    put32(page + 22, ogg_page_crc(crc, page, page_len));
}

int jc_note_salvage(unsigned char *data, size_t len, size_t *usable_len)
{
    size_t ends[SALVAGE_TRIES], starts[SALVAGE_TRIES];
    unsigned found = 0;
    uint32_t crc[256], serial = 0;
    unsigned packets = 0;
    size_t off = 0;
    int res = JC_ERR_EMPTY;

    ogg_crc_init(crc);
    if (len > JC_MAX_NOTE_BYTES)
        len = JC_MAX_NOTE_BYTES;
    /* Collect the last few pages that end an audio packet exactly at their
     * end: marked end of stream, each would close a whole note. */
    while (off < len) {
        struct page pg;
        unsigned ended = 0;

        if (read_page(crc, data, len, off, &pg) < 0)
            break;
        if (off == 0)
            serial = pg.serial;
        else if (pg.serial != serial)
            break;
        for (unsigned i = 0; i < pg.segments; i++)
            ended += pg.lacing[i] < 255;
        packets += ended;
        if (packets > 2 && ended > 0 && pg.segments > 0 && pg.lacing[pg.segments - 1] < 255 &&
            pg.granule >= 0) {
            starts[found % SALVAGE_TRIES] = off;
            ends[found % SALVAGE_TRIES] = off + pg.len;
            found++;
        }
        off += pg.len;
        if (pg.flags & FLAG_EOS)
            break;
    }
    for (unsigned tries = 0; tries < SALVAGE_TRIES && found > 0; tries++) {
        unsigned slot = --found % SALVAGE_TRIES;
        unsigned char *page = data + starts[slot];
        size_t page_len = ends[slot] - starts[slot];
        bool had_eos = page[5] & FLAG_EOS;

        if (!had_eos)
            set_eos(crc, page, page_len, true);
        res = jc_note_check(data, ends[slot], NULL);
        if (res == 0) {
            *usable_len = ends[slot];
            return 0;
        }
        if (!had_eos)
            set_eos(crc, page, page_len, false);
        if (res == -ENOMEM)
            return res;
    }
    return res == 0 ? JC_ERR_EMPTY : res;
}
