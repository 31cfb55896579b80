/*
 * Playback of a voice note held in memory. The note is checked in full
 * first (jc_note_check), so opusfile only ever sees a healthy stream; it
 * then does the decoding, pre-skip and end trimming, and seeking.
 */
#include <errno.h>
#include <stdlib.h>

#include <opus/opusfile.h>

#include "codec.h"

struct jc_decoder {
    OggOpusFile *file;
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

int jc_decoder_read(jc_decoder *decoder, int16_t *pcm, size_t max_frames, size_t *got)
{
    int n;

    *got = 0;
    if (max_frames == 0)
        return 0;
    if (max_frames > 1 << 20)
        max_frames = 1 << 20;
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
    return err < 0 ? op_error(err) : 0;
}

void jc_decoder_destroy(jc_decoder *decoder)
{
    if (!decoder)
        return;
    op_free(decoder->file);
    free(decoder);
}
