#include "app/audio/audio.h"
#include "util/util.h"

#include <alsa/asoundlib.h>
#include <errno.h>
#include <fcntl.h>
#include <portaudio.h>
#include <speex/speex_resampler.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One chunk is a tenth of a second: short enough for a lively level meter
 * and a quick reaction to a key, long enough to keep wake-ups rare. */
#define CHUNKS_PER_SECOND   10
#define MAX_DEVICE_RATE     192000
#define MAX_DEVICE_CHANNELS 2

static int init_count;
static int null_fd = -1;   /* /dev/null, kept open while PortAudio runs */
static int stderr_fd = -1; /* the real stderr while it is muted */

static void alsa_silent(const char *file, int line, const char *function, int err, const char *fmt,
                        ...)
{
}

/* ALSA and JACK print a screenful while PortAudio probes devices that do not
 * exist, and PortAudio's ALSA code prints its own trace of every failure; a
 * program must say at most one line. ALSA's messages go through its error
 * handler; JACK and PortAudio write straight to stderr, so stderr points at
 * /dev/null whenever PortAudio runs (two dup2() calls per chunk). */
static void mute_stderr(void)
{
    if (null_fd < 0 || stderr_fd >= 0)
        return;
    stderr_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (stderr_fd >= 0)
        dup2(null_fd, STDERR_FILENO);
}

static void unmute_stderr(void)
{
    if (stderr_fd < 0)
        return;
    dup2(stderr_fd, STDERR_FILENO);
    close(stderr_fd);
    stderr_fd = -1;
}

int audio_init(void)
{
    PaError pa;

    if (init_count++ > 0)
        return 0;
    snd_lib_error_set_handler(alsa_silent);
    /* Never start a JACK server as a side effect of looking for a microphone. */
    setenv("JACK_NO_START_SERVER", "1", 0);
    null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    mute_stderr();
    pa = Pa_Initialize();
    unmute_stderr();
    if (pa != paNoError) {
        init_count = 0;
        if (null_fd >= 0)
            close(null_fd);
        null_fd = -1;
        return AUDIO_ERR_INIT;
    }
    return 0;
}

void audio_finish(void)
{
    if (init_count == 0 || --init_count > 0)
        return;
    mute_stderr();
    Pa_Terminate();
    unmute_stderr();
    if (null_fd >= 0)
        close(null_fd);
    null_fd = -1;
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

    mute_stderr();
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
    unmute_stderr();
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

    mute_stderr();
    pa = Pa_OpenStream(stream, input ? &params : NULL, input ? NULL : &params, device_rate,
                       (unsigned long)(device_rate / CHUNKS_PER_SECOND), paClipOff, NULL, NULL);
    if (pa == paNoError) {
        pa = Pa_StartStream(*stream);
        if (pa != paNoError)
            Pa_CloseStream(*stream);
    }
    unmute_stderr();
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
    mute_stderr();
    pa = Pa_ReadStream(cap->stream, cap->raw, cap->chunk);
    unmute_stderr();
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
    mute_stderr();
    /* Abort, not stop: a vanished device may never finish draining. */
    Pa_AbortStream(cap->stream);
    Pa_CloseStream(cap->stream);
    unmute_stderr();
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
    mute_stderr();
    pa = Pa_WriteStream(pb->stream, data, (unsigned long)frames);
    unmute_stderr();
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

    mute_stderr();
    avail = Pa_GetStreamWriteAvailable(pb->stream);
    unmute_stderr();

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
    mute_stderr();
    pa = Pa_StopStream(pb->stream);
    if (pa == paNoError)
        pa = Pa_StartStream(pb->stream);
    unmute_stderr();
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
    mute_stderr();
    Pa_AbortStream(pb->stream);
    Pa_CloseStream(pb->stream);
    unmute_stderr();
    if (pb->rs)
        speex_resampler_destroy(pb->rs);
    free(pb->inter);
    free(pb->conv);
    free(pb->in);
    free(pb);
}
