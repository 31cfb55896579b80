/*
 * Speech clean-up. The work that matters is done by speexdsp: its resampler
 * brings any input to 16 kHz (a wideband note carries nothing above 8 kHz,
 * and the preprocessor costs a third of what it would at 48 kHz), and its
 * preprocessor normalises loudness (AGC) and suppresses steady noise.
 *
 * The one thing speexdsp lacks is a high-pass filter in front of the
 * preprocessor: DC offset and rumble (traffic, machines, handling noise) would
 * otherwise count as loudness for the AGC and as noise for the suppressor.
 * libopus' own high-pass comes after the AGC, too late, so a standard
 * second-order Butterworth section does it here.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <speex/speex_preprocess.h>
#include <speex/speex_resampler.h>

#include "cleanup.h"

#define FRAME        (CLEANUP_RATE / 50) /* 20 ms, the preprocessor's step */
#define HIGHPASS_HZ  80.0
#define RESAMPLE_BUF 512
/* Resampler quality: 3 is speexdsp's VoIP setting, transparent for speech
 * bound for a 16 kbit/s codec and cheap enough for a slow phone. */
#define RESAMPLE_QUALITY SPEEX_RESAMPLER_QUALITY_VOIP

struct cleanup {
    unsigned input_rate;
    SpeexResamplerState *resampler; /* NULL when the input is already 16 kHz */
    SpeexPreprocessState *pre;      /* NULL when only resampling */
    uint64_t frames_in;             /* input frames received */
    uint64_t frames_staged;         /* 16 kHz frames that entered the filter */
    double b0, b1, b2, a1, a2, z1, z2;
    int16_t frame[FRAME];
    size_t fill;
    float out[FRAME];
};

static void highpass_init(struct cleanup *c)
{
    /* RBJ cookbook high-pass, Q = 1/sqrt(2) (Butterworth). */
    double w = 2.0 * M_PI * HIGHPASS_HZ / CLEANUP_RATE;
    double alpha = sin(w) / (2.0 * M_SQRT1_2);
    double a0 = 1.0 + alpha;

    c->b0 = (1.0 + cos(w)) / 2.0 / a0;
    c->b1 = -(1.0 + cos(w)) / a0;
    c->b2 = c->b0;
    c->a1 = -2.0 * cos(w) / a0;
    c->a2 = (1.0 - alpha) / a0;
}

int cleanup_create(unsigned input_rate, bool enhance, struct cleanup **out)
{
    struct cleanup *c;
    int on = 1, off = 0, err = 0;
    /* Loudness target and limits: a whisper is raised by up to 30 dB, a
     * shout brought down quickly, and steady noise pushed down by 25 dB. */
    float agc_level = 8000.0f;
    int max_gain = 30, increment = 12, decrement = -40, suppress = -25;

    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->input_rate = input_rate;
    if (input_rate != CLEANUP_RATE) {
        c->resampler = speex_resampler_init(1, input_rate, CLEANUP_RATE, RESAMPLE_QUALITY, &err);
        if (!c->resampler)
            goto error_cleanup;
        speex_resampler_skip_zeros(c->resampler);
    }
    if (!enhance) {
        *out = c;
        return 0;
    }
    c->pre = speex_preprocess_state_init(FRAME, CLEANUP_RATE);
    if (!c->pre)
        goto error_resampler;
    speex_preprocess_ctl(c->pre, SPEEX_PREPROCESS_SET_DENOISE, &on);
    speex_preprocess_ctl(c->pre, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &suppress);
    speex_preprocess_ctl(c->pre, SPEEX_PREPROCESS_SET_AGC, &on);
    speex_preprocess_ctl(c->pre, SPEEX_PREPROCESS_SET_AGC_LEVEL, &agc_level);
    speex_preprocess_ctl(c->pre, SPEEX_PREPROCESS_SET_AGC_MAX_GAIN, &max_gain);
    speex_preprocess_ctl(c->pre, SPEEX_PREPROCESS_SET_AGC_INCREMENT, &increment);
    speex_preprocess_ctl(c->pre, SPEEX_PREPROCESS_SET_AGC_DECREMENT, &decrement);
    speex_preprocess_ctl(c->pre, SPEEX_PREPROCESS_SET_DEREVERB, &off);
    highpass_init(c);
    *out = c;
    return 0;

error_resampler:
    if (c->resampler)
        speex_resampler_destroy(c->resampler);
error_cleanup:
    free(c);
    return -ENOMEM;
}

static int run_frame(struct cleanup *c, size_t keep, cleanup_emit_fn emit, void *user)
{
    if (c->pre)
        speex_preprocess_run(c->pre, c->frame);
    for (size_t i = 0; i < keep; i++)
        c->out[i] = c->frame[i] * (1.0f / 32768.0f);
    c->fill = 0;
    return emit(user, c->out, keep);
}

/* High-pass, then into 20 ms frames for the preprocessor; or straight
 * through when only resampling. */
static int stage(struct cleanup *c, const float *in, size_t frames, cleanup_emit_fn emit,
                 void *user)
{
    int res;

    if (!c->pre) {
        c->frames_staged += frames;
        return frames ? emit(user, in, frames) : 0;
    }
    for (size_t i = 0; i < frames; i++) {
        double x = in[i];
        double y = c->b0 * x + c->z1;
        c->z1 = c->b1 * x - c->a1 * y + c->z2;
        c->z2 = c->b2 * x - c->a2 * y;
        y *= 32768.0;
        c->frame[c->fill++] = (int16_t)(y > 32767.0 ? 32767 : y < -32768.0 ? -32768 : lrint(y));
        if (c->fill == FRAME && (res = run_frame(c, FRAME, emit, user)) < 0)
            return res;
    }
    c->frames_staged += frames;
    return 0;
}

/* Resamples in, staging at most limit frames in all (the exact length). */
static int resample(struct cleanup *c, const float *in, size_t frames, uint64_t limit,
                    cleanup_emit_fn emit, void *user)
{
    float buf[RESAMPLE_BUF];
    int res;

    do {
        spx_uint32_t in_len = frames > UINT32_MAX ? UINT32_MAX : (spx_uint32_t)frames;
        spx_uint32_t out_len = RESAMPLE_BUF;
        uint64_t room;

        speex_resampler_process_float(c->resampler, 0, in, &in_len, buf, &out_len);
        in += in_len;
        frames -= in_len;
        room = limit - c->frames_staged;
        if (out_len > room)
            out_len = (spx_uint32_t)room;
        if ((res = stage(c, buf, out_len, emit, user)) < 0)
            return res;
    } while (frames > 0);
    return 0;
}

int cleanup_process(struct cleanup *c, const float *in, size_t frames, cleanup_emit_fn emit,
                    void *user)
{
    c->frames_in += frames;
    if (!c->resampler)
        return stage(c, in, frames, emit, user);
    return resample(c, in, frames, UINT64_MAX, emit, user);
}

int cleanup_finish(struct cleanup *c, cleanup_emit_fn emit, void *user)
{
    int res;

    if (c->resampler) {
        static const float zeros[RESAMPLE_BUF];
        uint64_t target = (c->frames_in * CLEANUP_RATE + c->input_rate / 2) / c->input_rate;
        /* The resampler holds back its filter's length; zeros push it out.
         * The bound only guards against a resampler that never delivers. */
        for (int i = 0; i < 64 && c->frames_staged < target; i++)
            if ((res = resample(c, zeros, RESAMPLE_BUF, target, emit, user)) < 0)
                return res;
    }
    if (c->fill > 0) {
        size_t keep = c->fill;
        for (size_t i = c->fill; i < FRAME; i++)
            c->frame[i] = 0;
        return run_frame(c, keep, emit, user);
    }
    return 0;
}

void cleanup_destroy(struct cleanup *c)
{
    if (!c)
        return;
    if (c->pre)
        speex_preprocess_state_destroy(c->pre);
    if (c->resampler)
        speex_resampler_destroy(c->resampler);
    free(c);
}
