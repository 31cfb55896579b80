/*
 * 16-bit mono WAV output, written as it comes; the header's sizes are fixed
 * at the end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "codec.h"

#define HEADER_BYTES 44
/* The RIFF size fields are 32 bits. */
#define MAX_DATA_BYTES (UINT32_MAX - HEADER_BYTES)

struct jc_wav_writer {
    FILE *file;
    unsigned rate;
    uint64_t data_bytes;
    int error;
};

static void make_header(unsigned char *h, unsigned rate, uint32_t data_bytes)
{
    memcpy(h, "RIFF", 4);
    ju_le32_put(h + 4, 36 + data_bytes);
    memcpy(h + 8, "WAVEfmt ", 8);
    ju_le32_put(h + 16, 16);
    ju_le16_put(h + 20, 1);        /* PCM */
    ju_le16_put(h + 22, 1);        /* mono */
    ju_le32_put(h + 24, rate);     /* frames per second */
    ju_le32_put(h + 28, rate * 2); /* bytes per second */
    ju_le16_put(h + 32, 2);        /* block align */
    ju_le16_put(h + 34, 16);       /* bits per sample */
    memcpy(h + 36, "data", 4);
    ju_le32_put(h + 40, data_bytes);
}

int jc_wav_writer_create(const char *path, unsigned rate, jc_wav_writer **out)
{
    unsigned char header[HEADER_BYTES];
    jc_wav_writer *w;
    int res;

    if (rate == 0 || rate > 192000)
        return -EINVAL;
    w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->rate = rate;
    w->file = fopen(path, "wb");
    if (!w->file) {
        res = -errno;
        goto error_writer;
    }
    make_header(header, rate, 0);
    if (fwrite(header, 1, sizeof(header), w->file) != sizeof(header)) {
        res = errno ? -errno : -EIO;
        goto error_file;
    }
    *out = w;
    return 0;

error_file:
    fclose(w->file);
error_writer:
    free(w);
    return res;
}

int jc_wav_writer_write(jc_wav_writer *w, const int16_t *pcm, size_t frames)
{
    unsigned char buf[2048];

    if (w->error)
        return w->error;
    if (frames > (MAX_DATA_BYTES - w->data_bytes) / 2)
        return w->error = -EFBIG;
    while (frames > 0) {
        size_t n = frames < sizeof(buf) / 2 ? frames : sizeof(buf) / 2;
        for (size_t i = 0; i < n; i++)
            ju_le16_put(buf + 2 * i, (uint16_t)pcm[i]);
        errno = 0;
        if (fwrite(buf, 2, n, w->file) != n)
            return w->error = errno ? -errno : -EIO;
        w->data_bytes += 2 * n;
        pcm += n;
        frames -= n;
    }
    return 0;
}

int jc_wav_writer_finish(jc_wav_writer *w)
{
    unsigned char header[HEADER_BYTES];
    FILE *f = w->file;
    int res = w->error;

    w->file = NULL;
    make_header(header, w->rate, (uint32_t)w->data_bytes);
    errno = 0;
    if (!res && (fseek(f, 0, SEEK_SET) != 0 ||
                 fwrite(header, 1, sizeof(header), f) != sizeof(header) || fflush(f) != 0))
        res = errno ? -errno : -EIO;
    if (fclose(f) != 0 && !res)
        res = -errno;
    return res;
}

void jc_wav_writer_destroy(jc_wav_writer *w)
{
    if (!w)
        return;
    if (w->file)
        fclose(w->file);
    free(w);
}

int jc_wav_write(const char *path, const int16_t *pcm, size_t frames, unsigned rate)
{
    jc_wav_writer *w;
    int res;

    if ((res = jc_wav_writer_create(path, rate, &w)) < 0)
        return res;
    if ((res = jc_wav_writer_write(w, pcm, frames)) < 0)
        goto error_writer;
    res = jc_wav_writer_finish(w);

error_writer:
    jc_wav_writer_destroy(w);
    return res;
}
