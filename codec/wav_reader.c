/*
 * RIFF/WAVE input: the header is read once and checked; samples are read in
 * small blocks and converted to mono floats, so memory use does not depend
 * on the file.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "codec.h"

#define FORMAT_PCM        1
#define FORMAT_FLOAT      3
#define FORMAT_EXTENSIBLE 0xFFFE
#define BLOCK_FRAMES      1024
/* A WAV header is a handful of small chunks; a file that makes us skip more
 * than this many before the samples is not one we want to read. */
#define MAX_CHUNKS 64

struct jc_wav_reader {
    FILE *file;
    unsigned rate;
    unsigned channels;
    unsigned bytes_per_sample;
    bool is_float;
    uint64_t frames;    /* announced by the header */
    uint64_t remaining; /* bytes of sample data still to read */
    unsigned char block[BLOCK_FRAMES * 2 * 4];
};

/* The tail of the KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT GUIDs, after the
 * two bytes that carry the format tag. */
static const unsigned char guid_tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                            0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

static int parse_fmt(jc_wav_reader *r, const unsigned char *fmt, size_t size)
{
    unsigned tag, bits, block_align;

    if (size < 16)
        return JC_ERR_WAV_FORMAT;
    tag = ju_le16_get(fmt);
    r->channels = ju_le16_get(fmt + 2);
    r->rate = ju_le32_get(fmt + 4);
    block_align = ju_le16_get(fmt + 12);
    bits = ju_le16_get(fmt + 14);
    if (tag == FORMAT_EXTENSIBLE) {
        if (size < 40 || memcmp(fmt + 26, guid_tail, sizeof(guid_tail)) != 0)
            return JC_ERR_WAV_FORMAT;
        tag = ju_le16_get(fmt + 24);
    }
    if (tag == FORMAT_PCM) {
        if (bits != 8 && bits != 16 && bits != 24 && bits != 32)
            return JC_ERR_WAV_FORMAT;
    } else if (tag == FORMAT_FLOAT) {
        if (bits != 32)
            return JC_ERR_WAV_FORMAT;
        r->is_float = true;
    } else {
        return JC_ERR_WAV_FORMAT;
    }
    if (r->channels != 1 && r->channels != 2)
        return JC_ERR_WAV_FORMAT;
    r->bytes_per_sample = bits / 8;
    if (block_align != r->channels * r->bytes_per_sample)
        return JC_ERR_WAV_FORMAT;
    if (r->rate < JC_MIN_INPUT_RATE || r->rate > JC_MAX_INPUT_RATE)
        return JC_ERR_WAV_RATE;
    return 0;
}

static int read_exact(FILE *f, void *buf, size_t len)
{
    if (fread(buf, 1, len, f) == len)
        return 0;
    return ferror(f) ? -EIO : JC_ERR_WAV_FORMAT;
}

static int read_header(jc_wav_reader *r)
{
    unsigned char head[12], chunk[8], fmt[40];
    bool have_fmt = false;
    int res;

    if ((res = read_exact(r->file, head, sizeof(head))) < 0)
        return res;
    if (memcmp(head, "RIFF", 4) != 0 || memcmp(head + 8, "WAVE", 4) != 0)
        return JC_ERR_WAV_FORMAT;
    for (int i = 0; i < MAX_CHUNKS; i++) {
        uint32_t size;

        if ((res = read_exact(r->file, chunk, sizeof(chunk))) < 0)
            return res;
        size = ju_le32_get(chunk + 4);
        if (!memcmp(chunk, "fmt ", 4)) {
            size_t keep = size < sizeof(fmt) ? size : sizeof(fmt);
            if (have_fmt)
                return JC_ERR_WAV_FORMAT;
            if ((res = read_exact(r->file, fmt, keep)) < 0)
                return res;
            if ((res = parse_fmt(r, fmt, size)) < 0)
                return res;
            have_fmt = true;
            size -= keep;
        } else if (!memcmp(chunk, "data", 4)) {
            if (!have_fmt)
                return JC_ERR_WAV_FORMAT;
            /* Writers that stream to a pipe leave 0 or 0xFFFFFFFF here:
             * read to the end of the file then. */
            r->remaining = (size == 0 || size == UINT32_MAX) ? UINT64_MAX : size;
            r->frames = size == UINT32_MAX ? 0 : size / (r->channels * r->bytes_per_sample);
            return 0;
        }
        /* Chunks are padded to an even length. */
        if (fseeko(r->file, (off_t)size + (size & 1), SEEK_CUR) != 0)
            return -errno;
    }
    return JC_ERR_WAV_FORMAT;
}

int jc_wav_reader_create(const char *path, jc_wav_reader **out)
{
    jc_wav_reader *r;
    int res;

    r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->file = fopen(path, "rb");
    if (!r->file) {
        res = -errno;
        goto error_reader;
    }
    if ((res = read_header(r)) < 0)
        goto error_file;
    *out = r;
    return 0;

error_file:
    fclose(r->file);
error_reader:
    free(r);
    return res;
}

unsigned jc_wav_reader_rate(const jc_wav_reader *reader)
{
    return reader->rate;
}

uint64_t jc_wav_reader_frames(const jc_wav_reader *reader)
{
    return reader->frames;
}

static float sample_at(const jc_wav_reader *r, const unsigned char *p)
{
    switch (r->bytes_per_sample) {
    case 1:
        return ((int)p[0] - 128) / 128.0f;
    case 2:
        return (int16_t)ju_le16_get(p) / 32768.0f;
    case 3:
        return (int32_t)(ju_le32_get((const unsigned char[]){0, p[0], p[1], p[2]})) / 2147483648.0f;
    default:
        if (r->is_float) {
            uint32_t bits = ju_le32_get(p);
            float v;
            memcpy(&v, &bits, sizeof(v));
            /* A float file may hold anything; keep the encoder's input sane. */
            if (!isfinite(v))
                return 0.0f;
            return v > 1.0f ? 1.0f : v < -1.0f ? -1.0f : v;
        }
        return (int32_t)ju_le32_get(p) / 2147483648.0f;
    }
}

int jc_wav_reader_read(jc_wav_reader *reader, float *mono, size_t max_frames, size_t *got)
{
    size_t frame_bytes = reader->channels * reader->bytes_per_sample;
    size_t want, n;

    *got = 0;
    want = max_frames < BLOCK_FRAMES ? max_frames : BLOCK_FRAMES;
    if ((uint64_t)want * frame_bytes > reader->remaining)
        want = reader->remaining / frame_bytes;
    if (want == 0)
        return 0;
    n = fread(reader->block, frame_bytes, want, reader->file);
    if (n < want && ferror(reader->file))
        return -EIO;
    reader->remaining -= n * frame_bytes;
    if (n < want)
        reader->remaining = 0; /* the file was shorter than its header said */
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = reader->block + i * frame_bytes;
        float v = sample_at(reader, p);
        if (reader->channels == 2)
            v = 0.5f * (v + sample_at(reader, p + reader->bytes_per_sample));
        mono[i] = v;
    }
    *got = n;
    return 0;
}

void jc_wav_reader_destroy(jc_wav_reader *reader)
{
    if (!reader)
        return;
    fclose(reader->file);
    free(reader);
}
