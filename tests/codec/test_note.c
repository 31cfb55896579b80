/*
 * Unit tests of the codec's voice notes, run one behaviour per invocation:
 * test_note NAME. Notes are checked with libogg and opusfile, which nobody
 * here wrote, as well as with the codec's own functions.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ogg/ogg.h>
#include <opusfile.h>

#include "codec/codec.h"

#include "check.h"

struct buf {
    unsigned char *data;
    size_t len, cap;
    int fail_with;        /* a write error to return, 0 for none */
    int64_t last_granule; /* of the last page written */
};

static int buf_write(void *user, const unsigned char *bytes, size_t len)
{
    struct buf *b = user;

    if (b->fail_with)
        return b->fail_with;
    /* The encoder promises whole pages: each write starts with one. */
    CHECK(len >= 27 && !memcmp(bytes, "OggS", 4));
    if (b->len + len > b->cap) {
        b->cap = (b->len + len) * 2;
        b->data = realloc(b->data, b->cap);
        CHECK(b->data);
    }
    memcpy(b->data + b->len, bytes, len);
    b->len += len;
    /* Several pages may come in one write: find the last one's granule. */
    for (size_t off = b->len - len; off + 27 <= b->len;) {
        size_t body = 0, segs = b->data[off + 26];
        int64_t g = 0;
        for (int i = 7; i >= 0; i--)
            g = (g << 8) | b->data[off + 6 + i];
        if (g != -1)
            b->last_granule = g;
        for (size_t i = 0; i < segs; i++)
            body += b->data[off + 27 + i];
        off += 27 + segs + body;
    }
    return 0;
}

/* A voiced, speech-like test signal: a gliding tone with harmonics, in
 * syllables of sound and short pauses. */
static float signal_at(uint64_t i, unsigned rate)
{
    double t = (double)i / rate;
    double f0 = 140.0 + 40.0 * sin(2 * M_PI * 0.7 * t);
    double env = fmod(t, 0.4) < 0.3 ? 0.3 : 0.0;
    double v = 0;
    for (int h = 1; h <= 6; h++)
        v += sin(2 * M_PI * f0 * h * t) / h;
    return (float)(env * v * 0.5);
}

struct encode_opts {
    unsigned rate;
    double seconds;
    uint64_t frames; /* overrides seconds when not 0 */
    int cleanup;     /* enum jc_cleanup */
    unsigned max_page_ms;
    int bitrate;
    const char *comment;
};

/* Encodes, and checks on the way that a recording never holds back more
 * than max_page_ms of audio from what it has written. */
static int encode(const struct encode_opts *o, struct buf *out)
{
    struct jc_encoder_config config = {.input_rate = o->rate,
                                       .bitrate = o->bitrate,
                                       .cleanup = o->cleanup,
                                       .max_page_ms = o->max_page_ms,
                                       .comment = o->comment};
    uint64_t total = o->frames ? o->frames : (uint64_t)(o->seconds * o->rate);
    float block[1600];
    jc_encoder *enc;
    uint64_t done = 0;
    int res;

    res = jc_encoder_create(&config, buf_write, out, &enc);
    if (res < 0)
        return res;
    while (done < total) {
        size_t n = total - done < 1600 ? (size_t)(total - done) : 1600;
        for (size_t i = 0; i < n; i++)
            block[i] = signal_at(done + i, o->rate);
        if ((res = jc_encoder_write(enc, block, n)) < 0)
            goto out;
        done += n;
        if (o->max_page_ms) {
            /* What is written covers all but the last max_page_ms. */
            int64_t fed48 = (int64_t)(done * 48000 / o->rate);
            int64_t covered = out->last_granule > 312 ? out->last_granule - 312 : 0;
            CHECK(fed48 - covered <= (int64_t)o->max_page_ms * 48);
        }
    }
    res = jc_encoder_finish(enc);
out:
    jc_encoder_destroy(enc);
    return res;
}

struct page_info {
    size_t start, end;
    int64_t granule;
    int packets;
    bool eos;
};

/* Splits a note into pages with libogg. Returns the number of pages. */
static int list_pages(const unsigned char *data, size_t len, struct page_info *pages, int max)
{
    ogg_sync_state sync;
    ogg_page page;
    size_t off = 0;
    int n = 0;

    ogg_sync_init(&sync);
    char *dst = ogg_sync_buffer(&sync, (long)len);
    memcpy(dst, data, len);
    ogg_sync_wrote(&sync, (long)len);
    while (ogg_sync_pageout(&sync, &page) == 1) {
        size_t plen = (size_t)(page.header_len + page.body_len);
        CHECK(n < max);
        pages[n].start = off;
        pages[n].end = off + plen;
        pages[n].granule = ogg_page_granulepos(&page);
        pages[n].packets = ogg_page_packets(&page);
        pages[n].eos = ogg_page_eos(&page);
        off += plen;
        n++;
    }
    ogg_sync_clear(&sync);
    CHECK_EQ(off, len); /* libogg found every byte to be part of a page */
    return n;
}

static int64_t opusfile_total(const unsigned char *data, size_t len)
{
    int err;
    OggOpusFile *of = op_open_memory(data, len, &err);
    CHECK(of);
    CHECK_EQ(op_channel_count(of, -1), 1);
    int64_t total = op_pcm_total(of, -1);
    op_free(of);
    return total;
}

static uint64_t decode_all(const unsigned char *data, size_t len)
{
    jc_decoder *dec;
    int16_t pcm[4000];
    uint64_t total = 0;
    size_t got;

    CHECK_EQ(jc_decoder_create(data, len, &dec), 0);
    CHECK_EQ(jc_decoder_rate(dec), 48000);
    do {
        CHECK_EQ(jc_decoder_read(dec, pcm, 4000, &got), 0);
        total += got;
    } while (got > 0);
    jc_decoder_destroy(dec);
    return total;
}

/* 10.000 s at any input rate decodes to exactly 10.000 s. */
static void test_exact_length(void)
{
    static const unsigned rates[] = {8000, 11025, 16000, 22050, 44100, 48000};

    for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
        for (int cleanup = JC_CLEANUP_OFF; cleanup <= JC_CLEANUP_ALWAYS; cleanup++) {
            struct encode_opts o = {.rate = rates[r], .seconds = 10.0, .cleanup = cleanup};
            struct buf b = {0};
            struct jc_note_info info;

            CHECK_EQ(encode(&o, &b), 0);
            CHECK_EQ(jc_note_check(b.data, b.len, &info), 0);
            CHECK_EQ(info.samples, 480000);
            CHECK(fabs(info.seconds - 10.0) < 1e-9);
            CHECK_EQ(info.total_bytes, b.len);
            CHECK(info.audio_bytes < b.len);
            CHECK_EQ(info.input_rate, rates[r]);
            CHECK_EQ(opusfile_total(b.data, b.len), 480000);
            CHECK_EQ(decode_all(b.data, b.len), 480000);
            free(b.data);
        }
    }
}

/* A note that arrives is checked and measured in one decoding: the same
 * verdict and facts as jc_note_check(), the loudness and peak of
 * jc_note_loudness() (which decodes it twice more), and a damaged note is
 * refused the same way, unmeasured. */
static void test_check_loudness(void)
{
    static const unsigned rates[] = {8000, 16000, 48000};

    for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
        struct encode_opts o = {.rate = rates[r], .seconds = 7.3, .cleanup = JC_CLEANUP_OFF};
        struct buf b = {0};
        struct jc_note_info alone, together;
        struct jc_loudness apart, one_pass;
        bool measured = false;

        CHECK_EQ(encode(&o, &b), 0);
        CHECK_EQ(jc_note_check(b.data, b.len, &alone), 0);
        CHECK_EQ(jc_note_loudness(b.data, b.len, &apart), 0);
        CHECK_EQ(jc_note_check_loudness(b.data, b.len, &together, &one_pass, &measured), 0);
        CHECK(measured);
        CHECK_EQ(together.samples, alone.samples);
        CHECK_EQ(together.audio_bytes, alone.audio_bytes);
        CHECK_EQ(together.input_rate, alone.input_rate);
        CHECK(apart.integrated_lufs > -40.0);
        /* Equal to 0.0001 here; feeding the meter half of each packet
         * moves it by 0.04 to 0.06. */
        CHECK_NEAR(one_pass.integrated_lufs, apart.integrated_lufs, 0.01);
        CHECK_NEAR(one_pass.peak_dbfs, apart.peak_dbfs, 0.01);
        /* Without a place for the loudness it is a plain check. */
        CHECK_EQ(jc_note_check_loudness(b.data, b.len, NULL, NULL, NULL), 0);

        size_t cut = b.len / 2;
        int verdict = jc_note_check(b.data, cut, NULL);
        CHECK(verdict < 0);
        measured = true;
        CHECK_EQ(jc_note_check_loudness(b.data, cut, NULL, &one_pass, &measured), verdict);
        CHECK(!measured);
        free(b.data);
    }
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Benchmark: what a 60 s note costs on arrival, checked then measured as
 * before (jc_note_check() and jc_note_loudness(): three decodings) against
 * jc_note_check_loudness() (one), side by side, best of five each. */
static void bench_check_loudness(void)
{
    struct encode_opts o = {.rate = 16000, .seconds = 60.0, .cleanup = JC_CLEANUP_OFF};
    struct buf b = {0};
    double apart = 1e9, together = 1e9;

    CHECK_EQ(encode(&o, &b), 0);
    for (int i = 0; i < 5; i++) {
        struct jc_note_info info;
        struct jc_loudness l;
        bool measured;
        double t0 = now_s();
        CHECK_EQ(jc_note_check(b.data, b.len, &info), 0);
        CHECK_EQ(jc_note_loudness(b.data, b.len, &l), 0);
        double t1 = now_s();
        CHECK_EQ(jc_note_check_loudness(b.data, b.len, &info, &l, &measured), 0);
        double t2 = now_s();
        CHECK(measured);
        apart = t1 - t0 < apart ? t1 - t0 : apart;
        together = t2 - t1 < together ? t2 - t1 : together;
    }
    printf("60 s note (%zu bytes) on arrival: check then loudness %.1f ms, one decoding %.1f ms "
           "(%.2fx)\n",
           b.len, apart * 1e3, together * 1e3, together / apart);
    free(b.data);
}

/* A recording (max_page_ms = 1000) never has a page holding more than a
 * second, and never holds back more than a second (checked in encode()). A
 * file written in one go keeps its pages under 5 s (opusinfo's limit). */
static void test_page_duration(void)
{
    static const unsigned limits[] = {1000, 0};

    for (size_t l = 0; l < 2; l++) {
        struct encode_opts o = {
            .rate = 16000, .seconds = 20.0, .cleanup = true, .max_page_ms = limits[l]};
        struct buf b = {0};
        struct page_info pages[200];
        int64_t prev = 0, max_page = limits[l] ? 48000 : 240000 - 1;
        int n;

        CHECK_EQ(encode(&o, &b), 0);
        n = list_pages(b.data, b.len, pages, 200);
        CHECK(n >= 3);
        CHECK_EQ(pages[0].granule, 0);
        CHECK_EQ(pages[1].granule, 0);
        for (int i = 2; i < n; i++) {
            CHECK(pages[i].packets > 0);
            CHECK(pages[i].granule - prev <= max_page);
            CHECK(pages[i].granule > prev);
            prev = pages[i].granule;
            CHECK_EQ(pages[i].eos, i == n - 1);
        }
        if (limits[l])
            CHECK(n >= 2 + 20); /* really in pieces of at most a second */
        free(b.data);
    }
}

/* Cutting a recording anywhere and salvaging it gives a healthy note of
 * every whole page before the cut, or JC_ERR_EMPTY when none holds audio. */
static void test_salvage(void)
{
    struct encode_opts o = {.rate = 16000, .seconds = 4.0, .cleanup = true, .max_page_ms = 1000};
    struct buf b = {0};
    struct page_info pages[64];
    unsigned char *copy;
    size_t usable;
    int n, recovered = 0;

    CHECK_EQ(encode(&o, &b), 0);
    n = list_pages(b.data, b.len, pages, 64);
    copy = malloc(b.len);
    CHECK(copy);

    /* A whole note salvages to itself, unchanged. */
    memcpy(copy, b.data, b.len);
    CHECK_EQ(jc_note_salvage(copy, b.len, &usable), 0);
    CHECK_EQ(usable, b.len);
    CHECK(!memcmp(copy, b.data, b.len));

    for (size_t cut = 0; cut < b.len; cut += (cut < 200 ? 1 : 11)) {
        struct jc_note_info info;
        int64_t expected = -1;
        int res;

        for (int i = 2; i < n; i++)
            if (pages[i].end <= cut)
                expected = pages[i].granule - 312;
        memcpy(copy, b.data, b.len);
        res = jc_note_salvage(copy, cut, &usable);
        if (expected <= 0) {
            CHECK_EQ(res, JC_ERR_EMPTY);
            continue;
        }
        CHECK_EQ(res, 0);
        CHECK(usable <= cut);
        CHECK_EQ(jc_note_check(copy, usable, &info), 0);
        CHECK_EQ(info.samples, expected);
        CHECK_EQ(opusfile_total(copy, usable), expected);
        /* Bytes past the salvaged end are left alone. */
        CHECK(!memcmp(copy + usable, b.data + usable, b.len - usable));
        recovered++;
    }
    CHECK(recovered > 0);
    free(copy);
    free(b.data);
}

static void fix_crc(unsigned char *page, size_t len)
{
    ogg_page og = {.header = page, .header_len = 27 + page[26]};
    og.body = page + og.header_len;
    og.body_len = (long)len - og.header_len;
    ogg_page_checksum_set(&og);
}

/* Writes at p a page of `segments` lacing values of 255 (a packet that goes
 * on), with the serial number of the note at `note` and the flags and
 * sequence number given; returns its length. */
static size_t endless_page(unsigned char *p, const unsigned char *note, uint32_t sequence,
                           unsigned flags, unsigned segments)
{
    size_t len = 27 + segments + (size_t)segments * 255;

    memcpy(p, "OggS", 4);
    p[4] = 0;
    p[5] = (unsigned char)flags;
    memset(p + 6, 0xff, 8); /* no packet ends here: granule position -1 */
    memcpy(p + 14, note + 14, 4);
    for (int i = 0; i < 4; i++)
        p[18 + i] = (unsigned char)(sequence >> (8 * i));
    p[26] = (unsigned char)segments;
    memset(p + 27, 255, segments);
    memset(p + 27 + segments, 0x55, (size_t)segments * 255);
    fix_crc(p, len);
    return len;
}

/* Each kind of damage gets its own error from both the check and the
 * decoder. */
static void test_damage(void)
{
    struct encode_opts o = {.rate = 16000, .seconds = 3.0, .cleanup = true, .max_page_ms = 1000};
    struct buf b = {0};
    struct page_info pages[64];
    unsigned char *d;
    jc_decoder *dec = NULL;
    int n;

    CHECK_EQ(encode(&o, &b), 0);
    n = list_pages(b.data, b.len, pages, 64);
    CHECK(n >= 5);
    d = malloc(b.len + 64);
    CHECK(d);

#define EXPECT(len, code)                                                                          \
    do {                                                                                           \
        CHECK_EQ(jc_note_check(d, (len), NULL), (code));                                           \
        CHECK_EQ(jc_decoder_create(d, (len), &dec), (code));                                       \
    } while (0)
#define RESET() memcpy(d, b.data, b.len)

    RESET();
    EXPECT(0, JC_ERR_EMPTY);
    memcpy(d, "RIFF....WAVEfmt ", 16);
    EXPECT(16, JC_ERR_NOT_OGG);
    RESET();
    d[5] ^= 0x40; /* first page's CRC no longer matches */
    EXPECT(b.len, JC_ERR_NOT_OGG);

    /* Cut inside a page, and cut at a page boundary before the end. */
    RESET();
    EXPECT(b.len - 10, JC_ERR_TRUNCATED);
    EXPECT(pages[n - 2].end, JC_ERR_TRUNCATED);
    EXPECT(20, JC_ERR_TRUNCATED);

    /* A flipped bit in the audio. */
    RESET();
    d[pages[3].start + 60] ^= 0x10;
    EXPECT(b.len, JC_ERR_CORRUPT);

    /* A page missing from the middle. */
    RESET();
    memmove(d + pages[3].start, d + pages[4].start, b.len - pages[4].start);
    EXPECT(b.len - (pages[4].start - pages[3].start), JC_ERR_CORRUPT);

    /* Something after the end of the stream. */
    RESET();
    memset(d + b.len, 0, 64);
    EXPECT(b.len + 64, JC_ERR_CORRUPT);

    /* Two channels in OpusHead; an unknown mapping family. */
    RESET();
    d[pages[0].start + 28 + 9] = 2;
    fix_crc(d, pages[0].end);
    EXPECT(b.len, JC_ERR_CHANNELS);
    RESET();
    d[pages[0].start + 28 + 18] = 1;
    fix_crc(d, pages[0].end);
    EXPECT(b.len, JC_ERR_CHANNELS);

    /* Not Opus: another codec's first header. */
    RESET();
    memcpy(d + pages[0].start + 28, "OpusHeaX", 8);
    fix_crc(d, pages[0].end);
    EXPECT(b.len, JC_ERR_NOT_OPUS);

    /* Headers only, marked as the end of the stream. */
    RESET();
    d[pages[1].start + 5] |= 0x04;
    fix_crc(d + pages[1].start, pages[1].end - pages[1].start);
    EXPECT(pages[1].end, JC_ERR_EMPTY);

    /* Granule positions: an absurd end, one that goes backwards, one that
     * claims more audio than there is. */
    static const int64_t bad_granules[] = {(int64_t)1 << 50, 1000, -5};
    for (size_t k = 0; k < 3; k++) {
        size_t at = k == 1 ? pages[3].start : pages[n - 1].start;
        size_t end = k == 1 ? pages[3].end : pages[n - 1].end;
        int64_t g = bad_granules[k];
        RESET();
        for (int i = 0; i < 8; i++)
            d[at + 6 + i] = (unsigned char)((uint64_t)g >> (8 * i));
        fix_crc(d + at, end - at);
        EXPECT(b.len, JC_ERR_DURATION);
    }
    /* The last page trimming more than it carries. */
    RESET();
    {
        size_t at = pages[n - 1].start;
        int64_t g = pages[n - 2].granule - 2880;
        for (int i = 0; i < 8; i++)
            d[at + 6 + i] = (unsigned char)((uint64_t)g >> (8 * i));
        fix_crc(d + at, pages[n - 1].end - at);
        EXPECT(b.len, JC_ERR_DURATION);
    }
    /* A pre-skip longer than the note. */
    RESET();
    d[pages[0].start + 28 + 10] = 0xff;
    d[pages[0].start + 28 + 11] = 0xff;
    fix_crc(d, pages[0].end);
    EXPECT(pages[2].end, JC_ERR_TRUNCATED);
    d[pages[2].start + 5] |= 0x04;
    fix_crc(d + pages[2].start, pages[2].end - pages[2].start);
    EXPECT(pages[2].end, JC_ERR_EMPTY);

    CHECK(dec == NULL); /* no failed create handed out a decoder */
    free(d);

    /* Packets that never end stop at their limit, before anything holds
     * them: an audio packet past 8 KiB, tags spread over pages past 64
     * KiB. */
    d = malloc(pages[2].start + 3 * 66000);
    CHECK(d);
    {
        size_t len = pages[2].start;
        memcpy(d, b.data, len);
        for (uint32_t seq = 2; seq < 5; seq++)
            len += endless_page(d + len, d, seq, seq > 2 ? 0x01 : 0, 255);
        EXPECT(len, JC_ERR_CORRUPT);
        len = pages[1].start;
        for (uint32_t seq = 1; seq < 4; seq++)
            len += endless_page(d + len, d, seq, seq > 1 ? 0x01 : 0, 255);
        EXPECT(len, JC_ERR_CORRUPT);
        /* Tags that fill a page and go on, cut there: truncated, not damaged. */
        len = pages[1].start;
        len += endless_page(d + len, d, 1, 0, 255);
        EXPECT(len, JC_ERR_TRUNCATED);
    }
    CHECK(dec == NULL);
    free(d);
    free(b.data);
}

/* Seeking for resumed playback lands on the frame asked for. */
static void test_seek(void)
{
    struct encode_opts o = {.rate = 16000, .seconds = 3.0, .cleanup = false};
    struct buf b = {0};
    jc_decoder *dec;
    int16_t pcm[4000];
    uint64_t total = 0;
    size_t got;

    CHECK_EQ(encode(&o, &b), 0);
    CHECK_EQ(jc_decoder_create(b.data, b.len, &dec), 0);
    CHECK_EQ(jc_decoder_seek(dec, 48000), 0);
    do {
        CHECK_EQ(jc_decoder_read(dec, pcm, 4000, &got), 0);
        total += got;
    } while (got > 0);
    CHECK_EQ(total, 144000 - 48000);
    CHECK_EQ(jc_decoder_seek(dec, 144001), -EINVAL);
    CHECK_EQ(jc_decoder_seek(dec, 0), 0);
    CHECK_EQ(jc_decoder_read(dec, pcm, 4000, &got), 0);
    CHECK(got > 0);
    jc_decoder_destroy(dec);
    free(b.data);
}

/* The encoder refuses what a voice note may not be, and a failing write
 * stops it with that write's error. */
static void test_encoder_errors(void)
{
    struct jc_encoder_config config = {.input_rate = 16000, .cleanup = true};
    struct encode_opts o = {.rate = 16000, .seconds = 1.0, .cleanup = true};
    struct buf b = {0};
    jc_encoder *enc;
    float zero[160] = {0};

    config.bitrate = JC_MIN_BITRATE - 1;
    CHECK_EQ(jc_encoder_create(&config, buf_write, &b, &enc), JC_ERR_BITRATE);
    config.bitrate = JC_MAX_BITRATE + 1;
    CHECK_EQ(jc_encoder_create(&config, buf_write, &b, &enc), JC_ERR_BITRATE);
    config.bitrate = 0;
    config.input_rate = 7999;
    CHECK_EQ(jc_encoder_create(&config, buf_write, &b, &enc), JC_ERR_WAV_RATE);
    config.input_rate = 48001;
    CHECK_EQ(jc_encoder_create(&config, buf_write, &b, &enc), JC_ERR_WAV_RATE);

    /* Nothing written at all. */
    config.input_rate = 16000;
    CHECK_EQ(jc_encoder_create(&config, buf_write, &b, &enc), 0);
    CHECK_EQ(jc_encoder_finish(enc), JC_ERR_EMPTY);
    jc_encoder_destroy(enc);
    jc_encoder_destroy(NULL);

    /* A full disk: the error comes back and stays. */
    b.fail_with = -ENOSPC;
    CHECK_EQ(encode(&o, &b), -ENOSPC);
    CHECK_EQ(jc_encoder_create(&config, buf_write, &b, &enc), 0);
    int res = jc_encoder_write(enc, zero, 160);
    CHECK(res == 0 || res == -ENOSPC); /* pages may not be due yet */
    CHECK_EQ(jc_encoder_finish(enc), -ENOSPC);
    CHECK_EQ(jc_encoder_write(enc, zero, 160), -ENOSPC);
    jc_encoder_destroy(enc);
    free(b.data);

    /* Every bitrate in the range works. */
    for (int rate = JC_MIN_BITRATE; rate <= JC_MAX_BITRATE; rate *= 2) {
        struct buf nb = {0};
        struct encode_opts bo = {.rate = 16000, .seconds = 1.0, .bitrate = rate};
        CHECK_EQ(encode(&bo, &nb), 0);
        CHECK_EQ(jc_note_check(nb.data, nb.len, NULL), 0);
        free(nb.data);
    }
}

/* A WAV written by jc_wav_write reads back sample for sample. */
static void test_wav_roundtrip(const char *dir)
{
    char path[4096];
    int16_t pcm[1000];
    float back[1000];
    jc_wav_reader *r;
    size_t got;

    snprintf(path, sizeof(path), "%s/test_note_roundtrip.wav", dir);
    for (int i = 0; i < 1000; i++)
        pcm[i] = (int16_t)(i * 65 - 32768);
    CHECK_EQ(jc_wav_write(path, pcm, 1000, 22050), 0);
    CHECK_EQ(jc_wav_reader_create(path, &r), 0);
    CHECK_EQ(jc_wav_reader_rate(r), 22050);
    CHECK_EQ(jc_wav_reader_frames(r), 1000);
    CHECK_EQ(jc_wav_reader_read(r, back, 1000, &got), 0);
    CHECK_EQ(got, 1000);
    for (int i = 0; i < 1000; i++)
        CHECK_EQ(lrintf(back[i] * 32768.0f), pcm[i]);
    CHECK_EQ(jc_wav_reader_read(r, back, 1000, &got), 0);
    CHECK_EQ(got, 0);
    jc_wav_reader_destroy(r);
    jc_wav_reader_destroy(NULL);
    CHECK_EQ(jc_wav_reader_create("/nonexistent/x.wav", &r), -ENOENT);
    CHECK_EQ(jc_wav_write("/nonexistent/x.wav", pcm, 10, 48000), -ENOENT);
    remove(path);
}

/* One comment travels in OpusTags: opusfile (which nobody here wrote)
 * reads what the encoder wrote, and jc_note_comment() finds it. */
static void test_comment(void)
{
    struct encode_opts o = {.rate = 16000, .seconds = 1.0, .comment = "JIASHU_PLAY_AT=20:30"};
    struct buf b = {0}, plain = {0};
    char value[16];
    const char *bad[] = {"", "NOEQUALS", "=20:30", "A\tB=1", NULL};
    char longer[JC_MAX_COMMENT + 2];
    jc_encoder *enc;
    int err;

    CHECK_EQ(encode(&o, &b), 0);
    CHECK_EQ(jc_note_check(b.data, b.len, NULL), 0);
    OggOpusFile *of = op_open_memory(b.data, b.len, &err);
    CHECK(of != NULL);
    const char *tag = opus_tags_query(op_tags(of, -1), "JIASHU_PLAY_AT", 0);
    CHECK(tag && !strcmp(tag, "20:30"));
    op_free(of);
    CHECK_EQ(jc_note_comment(b.data, b.len, "JIASHU_PLAY_AT", value, sizeof(value)), 1);
    CHECK(!strcmp(value, "20:30"));
    CHECK_EQ(jc_note_comment(b.data, b.len, "jiashu_play_at", value, sizeof(value)), 1);
    CHECK_EQ(jc_note_comment(b.data, b.len, "JIASHU_PLAY", value, sizeof(value)), 0);
    CHECK_EQ(jc_note_comment(b.data, b.len, "JIASHU_PLAY_AT", value, 5), -ENOSPC);
    /* Cut inside the tags: an error, never a value read past the end. */
    CHECK(jc_note_comment(b.data, 40, "JIASHU_PLAY_AT", value, sizeof(value)) < 0);

    o.comment = NULL;
    CHECK_EQ(encode(&o, &plain), 0);
    CHECK_EQ(jc_note_comment(plain.data, plain.len, "JIASHU_PLAY_AT", value, sizeof(value)), 0);

    struct jc_encoder_config config = {.input_rate = 16000};
    for (int i = 0; bad[i]; i++) {
        config.comment = bad[i];
        CHECK_EQ(jc_encoder_create(&config, buf_write, &b, &enc), -EINVAL);
    }
    memset(longer, 'A', sizeof(longer) - 1);
    longer[1] = '=';
    longer[sizeof(longer) - 1] = '\0';
    config.comment = longer;
    CHECK_EQ(jc_encoder_create(&config, buf_write, &b, &enc), -EINVAL);
    free(b.data);
    free(plain.data);
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "";

    if (!strcmp(name, "exact_length"))
        test_exact_length();
    else if (!strcmp(name, "page_duration"))
        test_page_duration();
    else if (!strcmp(name, "salvage"))
        test_salvage();
    else if (!strcmp(name, "damage"))
        test_damage();
    else if (!strcmp(name, "seek"))
        test_seek();
    else if (!strcmp(name, "encoder_errors"))
        test_encoder_errors();
    else if (!strcmp(name, "comment"))
        test_comment();
    else if (!strcmp(name, "check_loudness"))
        test_check_loudness();
    else if (!strcmp(name, "bench_check_loudness"))
        bench_check_loudness();
    else if (!strcmp(name, "wav_roundtrip"))
        test_wav_roundtrip(argc > 2 ? argv[2] : ".");
    else {
        fprintf(stderr, "usage: test_note NAME\n");
        return 2;
    }
    printf("ok %s\n", name);
    return 0;
}
