#include "app/audio/audio.h"
#include "util/util.h"

#include <alsa/asoundlib.h>
#include <dlfcn.h>
#include <errno.h>
#include <portaudio.h>
#include <speex/speex_resampler.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One chunk is a tenth of a second: short enough for a lively level meter
 * and a quick reaction to a key, long enough to keep wake-ups rare. */
#define CHUNKS_PER_SECOND   10
#define MAX_DEVICE_RATE     192000
#define MAX_DEVICE_CHANNELS 2

static int init_count;

/* Where the messages of the libraries below go; see audio_set_log(). */
static void (*log_fn)(void *user, const char *line);
static void *log_user;

void audio_set_log(void (*log)(void *user, const char *line), void *user)
{
    log_user = user;
    log_fn = log;
}

/* One line to the program's log, without a trailing newline; dropped when
 * the program set none. */
static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_line(const char *fmt, ...)
{
    void (*log)(void *, const char *) = log_fn;
    char line[512];
    size_t len;
    va_list ap;

    if (!log)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    len = strlen(line);
    while (len > 0 && line[len - 1] == '\n')
        line[--len] = '\0';
    log(log_user, line);
}

/* ALSA's messages (an unknown PCM, a plugin that cannot open) come here
 * instead of stderr while PortAudio probes devices that may not exist. */
static void alsa_message(const char *file, int line, const char *function, int err, const char *fmt,
                         ...) __attribute__((format(printf, 5, 6)));
static void alsa_message(const char *file, int line, const char *function, int err, const char *fmt,
                         ...)
{
    char text[400];
    va_list ap;

    if (!log_fn)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (err)
        log_line("ALSA: %s:%d:(%s) %s: %s", file, line, function, text, snd_strerror(err));
    else
        log_line("ALSA: %s:%d:(%s) %s", file, line, function, text);
}

static void jack_message(const char *text)
{
    log_line("JACK: %s", text);
}

/* libjack prints a screenful ("Cannot connect to server socket", "jack
 * server is not running") through its error and info functions, which
 * default to stderr, each time a JACK client (PortAudio's JACK host API,
 * ALSA's jack plugin) fails to find a server. libportaudio already loaded
 * libjack into the process, so its setters are looked up there rather than
 * linked: this library calls no other JACK function, and a PortAudio built
 * without JACK leaves nothing to do. The functions are libjack's globals;
 * PortAudio sets its own error function once it has a server, which keeps
 * those messages off stderr too. */
static void hook_jack(void)
{
    typedef void (*jack_setter)(void (*)(const char *));
    static const char *const setters[] = {"jack_set_error_function", "jack_set_info_function"};

    for (size_t i = 0; i < sizeof(setters) / sizeof(setters[0]); i++) {
        jack_setter set;
        void *sym = dlsym(RTLD_DEFAULT, setters[i]);

        if (!sym)
            continue;
        /* POSIX: a data pointer from dlsym() converts to a function pointer. */
        memcpy(&set, &sym, sizeof(set));
        set(jack_message);
    }
}

/*
 * What cannot be hooked: PortAudio's ALSA host API traces each failed ALSA
 * call ("Expression '...' failed in 'src/hostapi/alsa/pa_linux_alsa.c',
 * line: N") with vfprintf(stderr) in PaUtil_DebugPrint, and Debian's
 * libportaudio.so.2 does not export PaUtil_SetDebugPrintFunction, the one
 * way to redirect it. Those calls fail only once a device has stopped
 * working mid-stream (unplugged), so those lines come only before the
 * program's own "stopped working" line. They are left on stderr: pointing
 * fd 2 elsewhere around PortAudio calls would also swallow whatever the
 * program or another thread prints meanwhile.
 */
int audio_init(void)
{
    if (init_count++ > 0)
        return 0;
    snd_lib_error_set_handler(alsa_message);
    hook_jack();
    if (Pa_Initialize() != paNoError) {
        init_count = 0;
        return AUDIO_ERR_INIT;
    }
    return 0;
}

void audio_finish(void)
{
    if (init_count == 0 || --init_count > 0)
        return;
    Pa_Terminate();
}

/* ALSA's "default" is what the user configured; PortAudio falls back to any
 * PCM that can capture when "default" cannot, which on a phone could be a
 * loopback or a null device recording silence. So on ALSA, "default" decides. */
static PaDeviceIndex pick_device(bool input)
{
    PaHostApiIndex alsa = Pa_HostApiTypeIdToHostApiIndex(paALSA);
    PaDeviceIndex count = Pa_GetDeviceCount();

    if (alsa >= 0) {
        for (PaDeviceIndex i = 0; i < count; i++) {
            const PaDeviceInfo *info = Pa_GetDeviceInfo(i);
            if (!info || info->hostApi != alsa || strcmp(info->name, "default"))
                continue;
            if ((input ? info->maxInputChannels : info->maxOutputChannels) <= 0)
                return paNoDevice;
            return i;
        }
    }
    return input ? Pa_GetDefaultInputDevice() : Pa_GetDefaultOutputDevice();
}

static unsigned forced_device_rate;

void audio_force_device_rate(unsigned rate)
{
    forced_device_rate = rate >= 8000 && rate <= MAX_DEVICE_RATE ? rate : 0;
}

static unsigned forced_rate(void)
{
    return forced_device_rate;
}

/* Chooses a rate and channel count the device accepts: the wanted rate and
 * mono first, then the device's own rate, then stereo. */
static int negotiate(PaStreamParameters *params, bool input, unsigned want_rate, double *rate)
{
    const PaDeviceInfo *info = Pa_GetDeviceInfo(params->device);
    int max_channels = input ? info->maxInputChannels : info->maxOutputChannels;
    unsigned forced = forced_rate();
    double rates[2] = {want_rate, info->defaultSampleRate};
    int ret = AUDIO_ERR_OPEN;

    if (forced)
        rates[0] = rates[1] = forced;
    for (int r = 0; r < 2 && ret < 0; r++) {
        if (rates[r] < 8000 || rates[r] > MAX_DEVICE_RATE)
            continue;
        for (int ch = 1; ch <= MAX_DEVICE_CHANNELS && ch <= max_channels; ch++) {
            params->channelCount = ch;
            if (Pa_IsFormatSupported(input ? params : NULL, input ? NULL : params, rates[r]) ==
                paFormatIsSupported) {
                *rate = rates[r];
                ret = 0;
                break;
            }
        }
    }
    return ret;
}

static int open_stream(bool input, unsigned want_rate, PaSampleFormat format, PaStream **stream,
                       unsigned *rate, unsigned *channels)
{
    PaStreamParameters params = {0};
    double device_rate = 0;
    PaError pa;
    int ret;

    params.device = pick_device(input);
    if (params.device == paNoDevice)
        return input ? AUDIO_ERR_NO_INPUT : AUDIO_ERR_NO_OUTPUT;
    params.sampleFormat = format;
    params.suggestedLatency = input ? Pa_GetDeviceInfo(params.device)->defaultHighInputLatency
                                    : Pa_GetDeviceInfo(params.device)->defaultHighOutputLatency;
    ret = negotiate(&params, input, want_rate, &device_rate);
    if (ret < 0)
        return ret;

    pa = Pa_OpenStream(stream, input ? &params : NULL, input ? NULL : &params, device_rate,
                       (unsigned long)(device_rate / CHUNKS_PER_SECOND), paClipOff, NULL, NULL);
    if (pa == paNoError) {
        pa = Pa_StartStream(*stream);
        if (pa != paNoError)
            Pa_CloseStream(*stream);
    }
    if (pa != paNoError)
        return AUDIO_ERR_OPEN;
    *rate = (unsigned)device_rate;
    *channels = (unsigned)params.channelCount;
    return 0;
}

/* ---- Capture ---------------------------------------------------------- */

struct audio_capture {
    PaStream *stream;
    unsigned rate, channels;
    size_t chunk; /* frames per read at the device rate */
    int16_t *raw; /* chunk * channels, as the device gives it */
    float *mono;  /* chunk, downmixed */
    float *out;   /* converted to AUDIO_RATE */
    size_t out_cap;
    SpeexResamplerState *rs; /* NULL when the device runs at AUDIO_RATE */
    bool dead;
};

int audio_capture_create(struct audio_capture **out)
{
    struct audio_capture *cap;
    int ret, err;

    cap = calloc(1, sizeof(*cap));
    if (!cap)
        return -ENOMEM;
    /* 16-bit, not float: ALSA's plug chains deliver every 16-bit frame, and
     * every microphone is 16-bit anyway; float capture through plug + file
     * was seen to drop a third of the frames. */
    ret = open_stream(true, AUDIO_RATE, paInt16, &cap->stream, &cap->rate, &cap->channels);
    if (ret < 0)
        goto error_open;
    cap->chunk = cap->rate / CHUNKS_PER_SECOND;
    /* The resampler may hand out a little more than the exact ratio. */
    cap->out_cap = (size_t)AUDIO_RATE / CHUNKS_PER_SECOND * 2 + 64;
    cap->raw = malloc(cap->chunk * cap->channels * sizeof(int16_t));
    cap->mono = malloc(cap->chunk * sizeof(float));
    cap->out = malloc(cap->out_cap * sizeof(float));
    if (!cap->raw || !cap->mono || !cap->out) {
        ret = -ENOMEM;
        goto error_buffers;
    }
    if (cap->rate != AUDIO_RATE) {
        cap->rs = speex_resampler_init(1, cap->rate, AUDIO_RATE, 5, &err);
        if (!cap->rs) {
            ret = -ENOMEM;
            goto error_buffers;
        }
        speex_resampler_skip_zeros(cap->rs);
    }
    *out = cap;
    return 0;

error_buffers:
    free(cap->out);
    free(cap->mono);
    free(cap->raw);
    Pa_StopStream(cap->stream);
    Pa_CloseStream(cap->stream);
error_open:
    free(cap);
    return ret;
}

unsigned audio_capture_device_rate(const struct audio_capture *cap)
{
    return cap->rate;
}

int audio_capture_pump(struct audio_capture *cap, audio_capture_fn fn, void *user)
{
    const float *deliver = cap->mono;
    size_t frames = cap->chunk;
    PaError pa;

    if (cap->dead)
        return AUDIO_ERR_LOST;
    pa = Pa_ReadStream(cap->stream, cap->raw, cap->chunk);
    /* An overflow means we were late and lost a little; the chunk itself is
     * good. Anything else means the device is gone. */
    if (pa != paNoError && pa != paInputOverflowed) {
        cap->dead = true;
        return AUDIO_ERR_LOST;
    }
    for (size_t i = 0; i < cap->chunk; i++) {
        float sum = 0;
        for (unsigned c = 0; c < cap->channels; c++)
            sum += cap->raw[i * cap->channels + c];
        cap->mono[i] = sum / (32768.0f * (float)cap->channels);
    }
    if (cap->rs) {
        spx_uint32_t in_len = (spx_uint32_t)cap->chunk;
        spx_uint32_t out_len = (spx_uint32_t)cap->out_cap;
        speex_resampler_process_float(cap->rs, 0, cap->mono, &in_len, cap->out, &out_len);
        deliver = cap->out;
        frames = out_len;
    }
    if (frames > 0) {
        int ret = fn(user, deliver, frames);
        if (ret < 0)
            return ret;
    }
    return (int)frames;
}

void audio_capture_destroy(struct audio_capture *cap)
{
    if (!cap)
        return;
    /* Abort, not stop: a vanished device may never finish draining. */
    Pa_AbortStream(cap->stream);
    Pa_CloseStream(cap->stream);
    if (cap->rs)
        speex_resampler_destroy(cap->rs);
    free(cap->out);
    free(cap->mono);
    free(cap->raw);
    free(cap);
}

/* ---- Playback ----------------------------------------------------------- */

struct audio_playback {
    PaStream *stream;
    unsigned rate; /* what the caller gives */
    unsigned device_rate, channels;
    size_t chunk;   /* frames per pump at the caller's rate */
    int16_t *in;    /* chunk */
    int16_t *conv;  /* converted to the device rate, mono */
    int16_t *inter; /* interleaved for the device */
    size_t conv_cap;
    SpeexResamplerState *rs;
    uint64_t written; /* frames at the caller's rate */
    bool dead;
};

int audio_playback_create(unsigned rate, struct audio_playback **out)
{
    struct audio_playback *pb;
    int ret, err;

    if (rate < 8000 || rate > 48000)
        return -EINVAL;
    pb = calloc(1, sizeof(*pb));
    if (!pb)
        return -ENOMEM;
    pb->rate = rate;
    ret = open_stream(false, rate, paInt16, &pb->stream, &pb->device_rate, &pb->channels);
    if (ret < 0)
        goto error_open;
    pb->chunk = rate / CHUNKS_PER_SECOND;
    pb->conv_cap = (size_t)((uint64_t)pb->chunk * pb->device_rate / rate) * 2 + 64;
    pb->in = malloc(pb->chunk * sizeof(int16_t));
    pb->conv = malloc(pb->conv_cap * sizeof(int16_t));
    pb->inter = malloc(pb->conv_cap * pb->channels * sizeof(int16_t));
    if (!pb->in || !pb->conv || !pb->inter) {
        ret = -ENOMEM;
        goto error_buffers;
    }
    if (pb->device_rate != rate) {
        pb->rs = speex_resampler_init(1, rate, pb->device_rate, 5, &err);
        if (!pb->rs) {
            ret = -ENOMEM;
            goto error_buffers;
        }
        speex_resampler_skip_zeros(pb->rs);
    }
    *out = pb;
    return 0;

error_buffers:
    free(pb->inter);
    free(pb->conv);
    free(pb->in);
    Pa_AbortStream(pb->stream);
    Pa_CloseStream(pb->stream);
error_open:
    free(pb);
    return ret;
}

static int write_device(struct audio_playback *pb, const int16_t *mono, size_t frames)
{
    const int16_t *data = mono;
    PaError pa;

    if (pb->channels > 1) {
        for (size_t i = 0; i < frames; i++)
            for (unsigned c = 0; c < pb->channels; c++)
                pb->inter[i * pb->channels + c] = mono[i];
        data = pb->inter;
    }
    pa = Pa_WriteStream(pb->stream, data, (unsigned long)frames);
    /* An underflow is a gap the listener already heard; keep going. */
    if (pa != paNoError && pa != paOutputUnderflowed) {
        pb->dead = true;
        return AUDIO_ERR_LOST;
    }
    return 0;
}

int audio_playback_write(struct audio_playback *pb, const int16_t *pcm, size_t frames)
{
    while (frames > 0) {
        size_t n = frames < pb->chunk ? frames : pb->chunk;
        int ret;

        if (pb->dead)
            return AUDIO_ERR_LOST;
        if (pb->rs) {
            spx_uint32_t in_len = (spx_uint32_t)n;
            spx_uint32_t out_len = (spx_uint32_t)pb->conv_cap;
            speex_resampler_process_int(pb->rs, 0, pcm, &in_len, pb->conv, &out_len);
            n = in_len;
            ret = write_device(pb, pb->conv, out_len);
        } else {
            ret = write_device(pb, pcm, n);
        }
        if (ret < 0)
            return ret;
        pb->written += n;
        pcm += n;
        frames -= n;
    }
    return 0;
}

int audio_playback_pump(struct audio_playback *pb, audio_source_fn fn, void *user)
{
    int got = fn(user, pb->in, pb->chunk);
    int ret;

    if (got <= 0)
        return got;
    if ((size_t)got > pb->chunk)
        return -EINVAL;
    ret = audio_playback_write(pb, pb->in, (size_t)got);
    return ret < 0 ? ret : got;
}

uint64_t audio_playback_heard(const struct audio_playback *pb)
{
    const PaStreamInfo *info = Pa_GetStreamInfo(pb->stream);
    signed long avail;
    double buffered = 0;

    avail = Pa_GetStreamWriteAvailable(pb->stream);

    /* What is in the buffer has not been heard yet: the buffer's size less
     * the free room, or at worst the whole output latency. */
    if (info)
        buffered = info->outputLatency * pb->rate;
    if (avail >= 0 && info) {
        double total = info->outputLatency * pb->device_rate;
        double used = total - (double)avail;
        buffered = used > 0 ? used * pb->rate / pb->device_rate : 0;
    }
    if (buffered >= (double)pb->written)
        return 0;
    return pb->written - (uint64_t)buffered;
}

int audio_playback_drain(struct audio_playback *pb)
{
    PaError pa;

    if (pb->dead)
        return AUDIO_ERR_LOST;
    if (pb->rs) {
        /* Push the resampler's tail out with a little silence. */
        int16_t zeros[256] = {0};
        spx_uint32_t in_len = sizeof(zeros) / sizeof(zeros[0]);
        spx_uint32_t out_len = (spx_uint32_t)pb->conv_cap;
        speex_resampler_process_int(pb->rs, 0, zeros, &in_len, pb->conv, &out_len);
        if (write_device(pb, pb->conv, out_len) < 0)
            return AUDIO_ERR_LOST;
    }
    /* Pa_StopStream returns once the buffered sound has been played. */
    pa = Pa_StopStream(pb->stream);
    if (pa == paNoError)
        pa = Pa_StartStream(pb->stream);
    if (pa != paNoError) {
        pb->dead = true;
        return AUDIO_ERR_LOST;
    }
    return 0;
}

void audio_playback_destroy(struct audio_playback *pb)
{
    if (!pb)
        return;
    Pa_AbortStream(pb->stream);
    Pa_CloseStream(pb->stream);
    if (pb->rs)
        speex_resampler_destroy(pb->rs);
    free(pb->inter);
    free(pb->conv);
    free(pb->in);
    free(pb);
}
