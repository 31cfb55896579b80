/*
 * Playback of a voice note held in memory. The note is checked in full
 * first (jc_note_check), so opusfile only ever sees a healthy stream; it
 * then does the decoding, pre-skip and end trimming, and seeking. With a
 * playback gain the decoding is in floats, and the gain and its limiter
 * (limiter.c) act before the samples become integers.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <opus/opusfile.h>

#include "codec.h"
#include "limiter.h"

#define CHUNK 5760 /* 120 ms at 48 kHz, the longest Opus packet */

struct jc_decoder {
    OggOpusFile *file;
    bool started;            /* something was read */
    struct limiter *limiter; /* NULL without a playback gain */
    float *decoded;          /* CHUNK frames from opusfile */
    float *levelled;         /* the limiter's output not yet read */
    float *convert;          /* levelled samples on their way to integers */
    size_t levelled_at, levelled_len;
    bool ended; /* opusfile is done and the limiter emptied */
};

static int op_error(int err)
{
    switch (err) {
    case OP_EFAULT:
        return -ENOMEM;
    case OP_ENOTFORMAT:
        return JC_ERR_NOT_OGG;
    case OP_EBADHEADER:
    case OP_EVERSION:
        return JC_ERR_NOT_OPUS;
    case OP_EBADTIMESTAMP:
        return JC_ERR_DURATION;
    case OP_EREAD:
        return -EIO;
    default:
        return JC_ERR_CORRUPT;
    }
}

int jc_decoder_create(const unsigned char *data, size_t len, jc_decoder **out)
{
    jc_decoder *dec;
    int err = 0, res;

    if ((res = jc_note_check(data, len, NULL)) < 0)
        return res;
    dec = calloc(1, sizeof(*dec));
    if (!dec)
        return -ENOMEM;
    dec->file = op_open_memory(data, len, &err);
    if (!dec->file) {
        res = op_error(err);
        goto error_decoder;
    }
    *out = dec;
    return 0;

error_decoder:
    free(dec);
    return res;
}

unsigned jc_decoder_rate(const jc_decoder *decoder)
{
    return JC_DECODE_RATE;
}

int jc_decoder_set_gain(jc_decoder *decoder, double gain_db)
{
    struct limiter *limiter;
    int res;

    if (decoder->started || !(gain_db >= -JC_MAX_BOOST_DB && gain_db <= JC_MAX_BOOST_DB))
        return -EINVAL;
    if (gain_db == 0.0)
        return 0;
    if (!decoder->decoded) {
        decoder->decoded = malloc(CHUNK * sizeof(float));
        decoder->convert = malloc(CHUNK * sizeof(float));
        decoder->levelled = malloc(CHUNK * sizeof(float) +
                                   JC_DECODE_RATE * LIMITER_LOOKAHEAD_MS / 1000 * sizeof(float));
        if (!decoder->decoded || !decoder->convert || !decoder->levelled)
            return -ENOMEM;
    }
    res = limiter_create(JC_DECODE_RATE, pow(10.0, gain_db / 20.0),
                         pow(10.0, JC_PEAK_CEILING_DBFS / 20.0), &limiter);
    if (res < 0)
        return res;
    limiter_destroy(decoder->limiter);
    decoder->limiter = limiter;
    return 0;
}

/* Reads floats from opusfile, through the limiter if there is one. */
static int read_float(jc_decoder *decoder, float *pcm, size_t max_frames, size_t *got)
{
    int n;

    *got = 0;
    decoder->started = true;
    if (max_frames > 1 << 20)
        max_frames = 1 << 20;
    if (!decoder->limiter) {
        do
            n = op_read_float(decoder->file, pcm, (int)max_frames, NULL);
        while (n == OP_HOLE);
        if (n < 0)
            return op_error(n);
        *got = (size_t)n;
        return 0;
    }
    while (*got < max_frames) {
        size_t take = decoder->levelled_len - decoder->levelled_at;

        if (take > 0) {
            if (take > max_frames - *got)
                take = max_frames - *got;
            memcpy(pcm + *got, decoder->levelled + decoder->levelled_at, take * sizeof(float));
            decoder->levelled_at += take;
            *got += take;
            continue;
        }
        if (decoder->ended)
            break;
        do
            n = op_read_float(decoder->file, decoder->decoded, CHUNK, NULL);
        while (n == OP_HOLE);
        if (n < 0)
            return op_error(n);
        decoder->levelled_at = 0;
        if (n > 0) {
            decoder->levelled_len =
                limiter_put(decoder->limiter, decoder->decoded, (size_t)n, decoder->levelled);
        } else {
            decoder->levelled_len = limiter_finish(decoder->limiter, decoder->levelled);
            decoder->ended = true;
        }
    }
    return 0;
}

int jc_decoder_read_float(jc_decoder *decoder, float *pcm, size_t max_frames, size_t *got)
{
    return read_float(decoder, pcm, max_frames, got);
}

int jc_decoder_read(jc_decoder *decoder, int16_t *pcm, size_t max_frames, size_t *got)
{
    int n;

    *got = 0;
    if (max_frames == 0)
        return 0;
    if (max_frames > 1 << 20)
        max_frames = 1 << 20;
    decoder->started = true;
    if (decoder->limiter) {
        /* The limiter keeps every sample under the ceiling, so rounding
         * is all that is left to do; the clamp only guards the rounding. */
        while (*got < max_frames) {
            size_t want = max_frames - *got < CHUNK ? max_frames - *got : CHUNK, part;
            int res = read_float(decoder, decoder->convert, want, &part);
            if (res < 0)
                return res;
            if (part == 0)
                break;
            for (size_t i = 0; i < part; i++) {
                long v = lrintf(decoder->convert[i] * 32768.0f);
                pcm[*got + i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
            }
            *got += part;
        }
        return 0;
    }
    /* A checked note is mono, so samples and frames are the same. A hole
     * cannot happen in a checked note; retry past one anyway. */
    do
        n = op_read(decoder->file, pcm, (int)max_frames, NULL);
    while (n == OP_HOLE);
    if (n < 0)
        return op_error(n);
    *got = (size_t)n;
    return 0;
}

int jc_decoder_seek(jc_decoder *decoder, uint64_t frame)
{
    int err;

    if (frame > (uint64_t)op_pcm_total(decoder->file, -1))
        return -EINVAL;
    err = op_pcm_seek(decoder->file, (ogg_int64_t)frame);
    if (err < 0)
        return op_error(err);
    if (decoder->limiter)
        limiter_reset(decoder->limiter);
    decoder->levelled_at = decoder->levelled_len = 0;
    decoder->ended = false;
    return 0;
}

void jc_decoder_destroy(jc_decoder *decoder)
{
    if (!decoder)
        return;
    op_free(decoder->file);
    limiter_destroy(decoder->limiter);
    free(decoder->decoded);
    free(decoder->levelled);
    free(decoder->convert);
    free(decoder);
}
