/*
 * Speech clean-up. The work that matters is done by speexdsp: its resampler
 * brings any input to 16 kHz (a wideband note carries nothing above 8 kHz,
 * and the preprocessor costs a third of what it would at 48 kHz), and its
 * preprocessor suppresses steady noise.
 *
 * The clean-up adapts to what comes in (JC_CLEANUP_ADAPTIVE, the default):
 * measured against the clean reference (docs/codec.md), every step of it
 * costs clean speech something, and noise suppression helps noisy speech a
 * lot. So it estimates, as the note streams in, the distance from the
 * speech's peaks to the noise floor: while that stays wide the speech goes
 * through untouched, sample for sample what --no-cleanup gives; once it
 * narrows, the noise-suppressed signal is faded in over one 20 ms frame
 * (and out again if the noise goes). The preprocessor runs on every frame
 * either way, so its noise estimate is ready the moment it is needed.
 *
 * A high-pass filter against rumble (traffic, machines, handling, DC) joins
 * the noisy path only when the input carries much energy below 100 Hz: its
 * phase shift at the voice's fundamental costs 1 to 3 dB of segmental SNR
 * wherever it runs, and libopus' own high-pass already removes DC and the
 * lowest rumble.
 *
 * There is no gain control any more: riding the gain within a note cost
 * every condition in the measure, and the level is the playback's work,
 * one gain per note. JC_CLEANUP_ALWAYS keeps the clean-up as it was before
 * (high-pass, gain control, suppression on every note), to measure against.
 *
 * The preprocessor's output lags its input by one frame (its analysis
 * window is two frames long); the adaptive path holds the untouched frame
 * back by the same frame, so the two can be faded into each other, and
 * drops the frame of lag at the start and flushes it at the end, so a
 * note keeps its exact length and timing.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <speex/speex_preprocess.h>
#include <speex/speex_resampler.h>

#include "biquad.h"
#include "cleanup.h"
#include "codec.h"

#define FRAME        (CLEANUP_RATE / 50) /* 20 ms, the preprocessor's step */
#define HIGHPASS_HZ  80.0
#define RESAMPLE_BUF 512
/* Resampler quality: 3 is speexdsp's VoIP setting, transparent for speech
 * bound for a 16 kbit/s codec and cheap enough for a slow phone. */
#define RESAMPLE_QUALITY SPEEX_RESAMPLER_QUALITY_VOIP

/* The adaptation, in dB of 20 ms frame energy. The speech level follows
 * the loudest frames and falls back by 1 dB a second; the noise floor
 * follows the quietest and rises by 1 dB a second, so both track a change
 * of room within seconds. Noise suppression comes in when the two are less
 * than NOISY_DB apart and goes again when they are HYSTERESIS_DB more
 * (chosen on the measure: see docs/codec.md; mixed at 20 dB SNR, white,
 * pink, babble and fan noise sit 26 to 32 dB apart, clean speech over 70).
 * Until DECIDE_FRAMES have been seen (the first pause or stop between
 * syllables comes within the first second of speech), or while nothing
 * stands SPEECH_DB above the floor (only room noise so far), the decision
 * stays as it was: untouched. */
#define DRIFT_DB      0.02 /* per frame: 1 dB a second */
#define NOISY_DB      35.0
#define HYSTERESIS_DB 5.0
#define SPEECH_DB     6.0
#define DECIDE_FRAMES 50 /* 1 s */
#define SILENT_DB     -100.0
/* Rumble: energy below RUMBLE_HZ (a second-order low-pass) against all of
 * it, both averaged over about a second. Speech alone stays under -17 dB;
 * a rumble or hum that matters is above RUMBLE_DB, and is noise: it brings
 * in the high-pass and the suppression whatever the level says. */
#define RUMBLE_HZ     60.0
#define RUMBLE_DB     -10.0
#define RUMBLE_SMOOTH 0.05
#define RUMBLE_FRAMES 5 /* 0.1 s: rumble needs no pause to be heard */
/* Suppression of steady noise, in dB. */
#define SUPPRESS_ADAPTIVE -30
#define SUPPRESS_ALWAYS   -25

struct cleanup {
    unsigned input_rate;
    int kind;                       /* JC_CLEANUP_* */
    SpeexResamplerState *resampler; /* NULL when the input is already 16 kHz */
    SpeexPreprocessState *pre;      /* NULL when only resampling */
    uint64_t frames_in;             /* input frames received */
    uint64_t frames_staged;         /* 16 kHz frames that entered the clean-up */
    uint64_t frames_out;            /* 16 kHz frames emitted */
    struct biquad rumble_filter;    /* the high-pass: below HIGHPASS_HZ out */
    struct biquad rumble_lowpass;   /* the rumble detector's ear */
    float raw[FRAME];               /* the frame being filled, as it came */
    size_t fill;
    float held[FRAME];    /* adaptive: the frame before, as it came */
    float passed[FRAME];  /* adaptive: the same frame, high-passed */
    int16_t frame[FRAME]; /* the preprocessor's input and output */
    float out[FRAME];
    /* The adaptation's state. */
    uint64_t frames_seen;
    double level_db, floor_db, rumble, total;
    float noisy, highpass; /* 0 or 1, where the last frame ended */
};

static int16_t to_int16(double x)
{
    double y = x * 32768.0;
    return (int16_t)(y > 32767.0 ? 32767 : y < -32768.0 ? -32768 : lrint(y));
}

int cleanup_create(unsigned input_rate, int kind, struct cleanup **out)
{
    struct cleanup *c;
    int on = 1, off = 0, err = 0;
    /* Today's loudness target and limits, kept for JC_CLEANUP_ALWAYS: a
     * whisper is raised by up to 30 dB, a shout brought down quickly. */
    float agc_level = 8000.0f;
    int max_gain = 30, increment = 12, decrement = -40;
    int suppress = kind == JC_CLEANUP_ALWAYS ? SUPPRESS_ALWAYS : SUPPRESS_ADAPTIVE;
    int agc = kind == JC_CLEANUP_ALWAYS;

    if (kind != JC_CLEANUP_OFF && kind != JC_CLEANUP_ADAPTIVE && kind != JC_CLEANUP_ALWAYS)
        return -EINVAL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->input_rate = input_rate;
    c->kind = kind;
    if (input_rate != CLEANUP_RATE) {
        c->resampler = speex_resampler_init(1, input_rate, CLEANUP_RATE, RESAMPLE_QUALITY, &err);
        if (!c->resampler)
            goto error_cleanup;
        speex_resampler_skip_zeros(c->resampler);
    }
    if (kind == JC_CLEANUP_OFF) {
        *out = c;
        return 0;
    }
    c->pre = speex_preprocess_state_init(FRAME, CLEANUP_RATE);
    if (!c->pre)
        goto error_resampler;
    speex_preprocess_ctl(c->pre, SPEEX_PREPROCESS_SET_DENOISE, &on);
    speex_preprocess_ctl(c->pre, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &suppress);
    speex_preprocess_ctl(c->pre, SPEEX_PREPROCESS_SET_AGC, &agc);
    speex_preprocess_ctl(c->pre, SPEEX_PREPROCESS_SET_AGC_LEVEL, &agc_level);
    speex_preprocess_ctl(c->pre, SPEEX_PREPROCESS_SET_AGC_MAX_GAIN, &max_gain);
    speex_preprocess_ctl(c->pre, SPEEX_PREPROCESS_SET_AGC_INCREMENT, &increment);
    speex_preprocess_ctl(c->pre, SPEEX_PREPROCESS_SET_AGC_DECREMENT, &decrement);
    speex_preprocess_ctl(c->pre, SPEEX_PREPROCESS_SET_DEREVERB, &off);
    c->rumble_filter = biquad_butterworth(HIGHPASS_HZ, CLEANUP_RATE, 1);
    c->rumble_lowpass = biquad_butterworth(RUMBLE_HZ, CLEANUP_RATE, 0);
    *out = c;
    return 0;

error_resampler:
    if (c->resampler)
        speex_resampler_destroy(c->resampler);
error_cleanup:
    free(c);
    return -ENOMEM;
}

/* Hands out frames of output, leaving out the adaptive path's frame of lag
 * at the start and anything past the input's length at the end. */
static int emit_limited(struct cleanup *c, const float *pcm, size_t frames, uint64_t lag,
                        cleanup_emit_fn emit, void *user)
{
    uint64_t start = c->frames_out; /* position of pcm[0], counting the lag */
    uint64_t end = start + frames, from = start, to = end;

    c->frames_out += frames;
    if (from < lag)
        from = lag;
    if (to > c->frames_staged + lag)
        to = c->frames_staged + lag;
    if (to <= from)
        return 0;
    return emit(user, pcm + (from - start), (size_t)(to - from));
}

/* JC_CLEANUP_ALWAYS, as the clean-up was: high-pass, then the
 * preprocessor with gain control in place. */
static int run_always(struct cleanup *c, cleanup_emit_fn emit, void *user)
{
    for (size_t i = 0; i < FRAME; i++)
        c->frame[i] = to_int16(biquad_run(&c->rumble_filter, c->raw[i]));
    speex_preprocess_run(c->pre, c->frame);
    for (size_t i = 0; i < FRAME; i++)
        c->out[i] = c->frame[i] * (1.0f / 32768.0f);
    return emit_limited(c, c->out, FRAME, 0, emit, user);
}

/* Updates the speech level, the noise floor and the rumble from one frame
 * as it came in, and decides whether it is noisy. */
static void adapt(struct cleanup *c, double energy, double rumble, bool *noisy, bool *highpass)
{
    double db = energy > 0 ? 10 * log10(energy) : SILENT_DB, rumble_db;

    if (db < SILENT_DB)
        db = SILENT_DB;
    if (c->frames_seen++ == 0) {
        c->level_db = c->floor_db = db;
        c->rumble = rumble;
        c->total = energy;
    } else {
        c->level_db = db > c->level_db ? db : c->level_db - DRIFT_DB;
        c->floor_db = db < c->floor_db ? db : c->floor_db + DRIFT_DB;
        c->rumble += RUMBLE_SMOOTH * (rumble - c->rumble);
        c->total += RUMBLE_SMOOTH * (energy - c->total);
    }
    *noisy = c->noisy > 0.5f;
    *highpass = c->highpass > 0.5f;
    if (c->frames_seen < RUMBLE_FRAMES)
        return;
    rumble_db = c->total > 0 ? 10 * log10(c->rumble / c->total + 1e-12) : SILENT_DB;
    if (rumble_db > RUMBLE_DB)
        *highpass = true;
    else if (rumble_db < RUMBLE_DB - HYSTERESIS_DB)
        *highpass = false;
    if (c->frames_seen < DECIDE_FRAMES && !*highpass)
        return;
    if (*highpass ||
        (c->level_db - c->floor_db >= SPEECH_DB && c->level_db - c->floor_db < NOISY_DB))
        *noisy = true;
    else if (c->level_db - c->floor_db > NOISY_DB + HYSTERESIS_DB)
        *noisy = false;
}

/* JC_CLEANUP_ADAPTIVE: one frame in, the frame before out. */
static int run_adaptive(struct cleanup *c, cleanup_emit_fn emit, void *user)
{
    double energy = 0, rumble = 0;
    float noisy_from = c->noisy, hp_from = c->highpass;
    bool noisy, hp;

    for (size_t i = 0; i < FRAME; i++) {
        double x = c->raw[i], low = biquad_run(&c->rumble_lowpass, x);
        c->passed[i] = (float)biquad_run(&c->rumble_filter, x);
        energy += x * x;
        rumble += low * low;
    }
    adapt(c, energy / FRAME, rumble / FRAME, &noisy, &hp);
    c->noisy = noisy ? 1.0f : 0.0f;
    c->highpass = hp ? 1.0f : 0.0f;

    /* The preprocessor sees the input, high-passed when there is rumble
     * (faded over the frame when that changes). */
    for (size_t i = 0; i < FRAME; i++) {
        float t = (float)(i + 1) / FRAME;
        float h = hp_from + (c->highpass - hp_from) * t;
        c->frame[i] = to_int16((1.0f - h) * c->raw[i] + h * c->passed[i]);
    }
    speex_preprocess_run(c->pre, c->frame);

    /* Out goes the frame before: as it came, suppressed, or faded from one
     * to the other. */
    if (noisy_from == 0.0f && c->noisy == 0.0f) {
        memcpy(c->out, c->held, sizeof(c->out));
    } else {
        for (size_t i = 0; i < FRAME; i++) {
            float t = (float)(i + 1) / FRAME;
            float w = noisy_from + (c->noisy - noisy_from) * t;
            c->out[i] = (1.0f - w) * c->held[i] + w * (c->frame[i] * (1.0f / 32768.0f));
        }
    }
    memcpy(c->held, c->raw, sizeof(c->held));
    return emit_limited(c, c->out, FRAME, FRAME, emit, user);
}

static int run_frame(struct cleanup *c, cleanup_emit_fn emit, void *user)
{
    c->fill = 0;
    if (c->kind == JC_CLEANUP_ALWAYS)
        return run_always(c, emit, user);
    return run_adaptive(c, emit, user);
}

/* Into 20 ms frames for the preprocessor; or straight through when only
 * resampling. */
static int stage(struct cleanup *c, const float *in, size_t frames, cleanup_emit_fn emit,
                 void *user)
{
    int res;

    if (!c->pre) {
        c->frames_staged += frames;
        return frames ? emit(user, in, frames) : 0;
    }
    c->frames_staged += frames;
    for (size_t i = 0; i < frames; i++) {
        c->raw[c->fill++] = in[i];
        if (c->fill == FRAME && (res = run_frame(c, emit, user)) < 0)
            return res;
    }
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
    if (!c->pre)
        return 0;
    /* The last frame, completed with silence; the adaptive path then needs
     * a frame more to let out the one it holds. */
    if (c->fill > 0) {
        memset(c->raw + c->fill, 0, (FRAME - c->fill) * sizeof(float));
        if ((res = run_frame(c, emit, user)) < 0)
            return res;
    }
    if (c->kind == JC_CLEANUP_ADAPTIVE) {
        memset(c->raw, 0, sizeof(c->raw));
        if ((res = run_frame(c, emit, user)) < 0)
            return res;
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
