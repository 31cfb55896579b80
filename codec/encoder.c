/*
 * PCM to Ogg Opus through libopusenc, tuned for speech: mono, voice signal,
 * wideband, 60 ms frames, complexity 10 (on this machine complexity 0 costs
 * 1.6 PESQ points at 16 kbit/s; the encoder is fast enough at 10).
 */
#include <errno.h>
#include <stdlib.h>

#include <opus/opusenc.h>

#include "cleanup.h"
#include "codec.h"

/* What a file written in one go may hold back before writing a page: long
 * pages spread the 27-byte page header over many packets. opusinfo warns
 * about pages of 5 s or more ("high muxing delay"), so stay under that. */
#define FILE_MUXING_MS 4800
#define FRAME_MS       60

struct jc_encoder {
    OggOpusEnc *ope;
    struct cleanup *cleanup; /* NULL when clean-up is off */
    jc_write_fn write;
    void *user;
    int error; /* the first error, sticky: the stream is unusable after it */
    uint64_t frames_in;
    uint64_t max_frames;
    bool finished;
};

static int write_page(void *user, const unsigned char *bytes, opus_int32 len)
{
    jc_encoder *enc = user;
    int res;

    if (enc->error)
        return 1;
    if ((res = enc->write(enc->user, bytes, (size_t)len)) < 0) {
        enc->error = res;
        return 1;
    }
    return 0;
}

static int close_stream(void *user)
{
    return 0;
}

static const OpusEncCallbacks callbacks = {write_page, close_stream};

static int ope_error(int err)
{
    return err == OPE_ALLOC_FAIL ? -ENOMEM : JC_ERR_ENCODER;
}

static int configure(jc_encoder *enc, const struct jc_encoder_config *config)
{
    int bitrate = config->bitrate ? config->bitrate : JC_DEFAULT_BITRATE;
    int muxing_ms = config->max_page_ms ? (int)config->max_page_ms : FILE_MUXING_MS;
    int decision_ms;
    int err = 0;

    /* libopusenc holds back the decision delay (its look-ahead for the
     * speech/music analysis) and then up to the muxing delay before a page
     * leaves. For a file both may be long; for a recording their sum, plus
     * the frame being filled, must stay within max_page_ms. */
    if (config->max_page_ms) {
        decision_ms = muxing_ms / 10;
        muxing_ms = muxing_ms - decision_ms - FRAME_MS;
        if (muxing_ms < 0)
            muxing_ms = 0;
    } else {
        decision_ms = 2000;
    }
    err |= ope_encoder_ctl(enc->ope, OPUS_SET_APPLICATION(OPUS_APPLICATION_VOIP));
    err |= ope_encoder_ctl(enc->ope, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
    err |= ope_encoder_ctl(enc->ope, OPUS_SET_BANDWIDTH(OPUS_BANDWIDTH_WIDEBAND));
    err |= ope_encoder_ctl(enc->ope, OPUS_SET_EXPERT_FRAME_DURATION(OPUS_FRAMESIZE_60_MS));
    err |= ope_encoder_ctl(enc->ope, OPUS_SET_COMPLEXITY(10));
    err |= ope_encoder_ctl(enc->ope, OPUS_SET_BITRATE(bitrate));
    err |= ope_encoder_ctl(enc->ope, OPE_SET_COMMENT_PADDING(0));
    err |= ope_encoder_ctl(enc->ope, OPE_SET_MUXING_DELAY(muxing_ms * 48));
    err |= ope_encoder_ctl(enc->ope, OPE_SET_DECISION_DELAY(decision_ms * 48));
    return err ? JC_ERR_ENCODER : 0;
}

int jc_encoder_create(const struct jc_encoder_config *config, jc_write_fn write, void *user,
                      jc_encoder **out)
{
    OggOpusComments *comments;
    jc_encoder *enc;
    unsigned rate;
    int err = 0, res;

    if (config->input_rate < JC_MIN_INPUT_RATE || config->input_rate > JC_MAX_INPUT_RATE)
        return JC_ERR_WAV_RATE;
    if (config->bitrate && (config->bitrate < JC_MIN_BITRATE || config->bitrate > JC_MAX_BITRATE))
        return JC_ERR_BITRATE;
    if (config->max_page_ms && config->max_page_ms < 2 * FRAME_MS)
        return -EINVAL;
    enc = calloc(1, sizeof(*enc));
    if (!enc)
        return -ENOMEM;
    enc->write = write;
    enc->user = user;
    enc->max_frames = (uint64_t)JC_MAX_NOTE_SECONDS * config->input_rate;
    rate = config->input_rate;
    if (config->cleanup) {
        if ((res = cleanup_create(config->input_rate, &enc->cleanup)) < 0)
            goto error_encoder;
        rate = CLEANUP_RATE;
    }
    comments = ope_comments_create();
    if (!comments) {
        res = -ENOMEM;
        goto error_cleanup;
    }
    /* Mapping family 0: a plain mono stream, as RFC 7845 defines it. */
    enc->ope =
        ope_encoder_create_callbacks(&callbacks, enc, comments, (opus_int32)rate, 1, 0, &err);
    ope_comments_destroy(comments);
    if (!enc->ope) {
        res = ope_error(err);
        goto error_cleanup;
    }
    if ((res = configure(enc, config)) < 0)
        goto error_ope;
    *out = enc;
    return 0;

error_ope:
    ope_encoder_destroy(enc->ope);
error_cleanup:
    cleanup_destroy(enc->cleanup);
error_encoder:
    free(enc);
    return res;
}

static int feed(void *user, const float *pcm, size_t frames)
{
    jc_encoder *enc = user;
    int err;

    while (frames > 0) {
        int n = frames > 4096 ? 4096 : (int)frames;
        if ((err = ope_encoder_write_float(enc->ope, pcm, n)) != OPE_OK)
            return enc->error ? enc->error : ope_error(err);
        if (enc->error)
            return enc->error;
        pcm += n;
        frames -= (size_t)n;
    }
    return 0;
}

int jc_encoder_write(jc_encoder *enc, const float *mono, size_t frames)
{
    int res;

    if (enc->error)
        return enc->error;
    if (enc->finished)
        return -EINVAL;
    if (frames > enc->max_frames - enc->frames_in)
        return enc->error = JC_ERR_TOO_LONG;
    enc->frames_in += frames;
    if (enc->cleanup)
        res = cleanup_process(enc->cleanup, mono, frames, feed, enc);
    else
        res = feed(enc, mono, frames);
    if (res < 0)
        enc->error = res;
    return res;
}

int jc_encoder_finish(jc_encoder *enc)
{
    int res = 0, err;

    if (enc->error)
        return enc->error;
    if (enc->finished)
        return -EINVAL;
    enc->finished = true;
    if (enc->frames_in == 0)
        return enc->error = JC_ERR_EMPTY;
    if (enc->cleanup && (res = cleanup_finish(enc->cleanup, feed, enc)) < 0)
        return enc->error = res;
    if ((err = ope_encoder_drain(enc->ope)) != OPE_OK)
        return enc->error = ope_error(err);
    return enc->error;
}

void jc_encoder_destroy(jc_encoder *enc)
{
    if (!enc)
        return;
    ope_encoder_destroy(enc->ope);
    cleanup_destroy(enc->cleanup);
    free(enc);
}
