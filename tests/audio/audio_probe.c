/*
 * Drives the audio device module from the command line so the shell tests
 * can record from and play to a virtual ALSA device through real PortAudio
 * streams:
 *   audio_probe record SECONDS OUT.raw     16 kHz S16_LE mono from the microphone
 *   audio_probe play IN.raw RATE           S16_LE mono at RATE to the speaker
 *   audio_probe earcon next|end RATE       one earcon to the speaker
 * Errors are one line on stderr, "audio_probe: <explanation>", exit 1.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/audio/audio.h"

struct sink {
    FILE *file;
    size_t frames, limit;
};

static int to_file(void *user, const float *mono, size_t frames)
{
    struct sink *sink = user;
    int16_t pcm[4096];

    for (size_t done = 0; done < frames;) {
        size_t n = frames - done < 4096 ? frames - done : 4096;
        for (size_t i = 0; i < n; i++) {
            float v = mono[done + i] * 32767.0f;
            pcm[i] = (int16_t)lrintf(v > 32767.0f ? 32767.0f : v < -32768.0f ? -32768.0f : v);
        }
        if (fwrite(pcm, sizeof(int16_t), n, sink->file) != n)
            return -EIO;
        done += n;
    }
    sink->frames += frames;
    return 0;
}

struct source {
    FILE *file;
};

static int from_file(void *user, int16_t *pcm, size_t max_frames)
{
    struct source *source = user;
    return (int)fread(pcm, sizeof(int16_t), max_frames, source->file);
}

static int fail(int err)
{
    fprintf(stderr, "audio_probe: %s\n", ju_strerror(err));
    return 1;
}

static int record(double seconds, const char *path)
{
    struct audio_capture *cap;
    struct sink sink = {0};
    int ret;

    sink.file = fopen(path, "wb");
    if (!sink.file)
        return fail(-errno);
    sink.limit = (size_t)(seconds * AUDIO_RATE);
    ret = audio_capture_create(&cap);
    if (ret < 0) {
        fclose(sink.file);
        return fail(ret);
    }
    printf("device rate %u\n", audio_capture_device_rate(cap));
    while (sink.frames < sink.limit) {
        ret = audio_capture_pump(cap, to_file, &sink);
        if (ret < 0)
            break;
    }
    audio_capture_destroy(cap);
    fclose(sink.file);
    printf("captured %zu frames\n", sink.frames);
    return ret < 0 ? fail(ret) : 0;
}

static int play(const char *path, unsigned rate)
{
    struct audio_playback *pb;
    struct source source;
    int ret;

    source.file = fopen(path, "rb");
    if (!source.file)
        return fail(-errno);
    ret = audio_playback_create(rate, &pb);
    if (ret < 0) {
        fclose(source.file);
        return fail(ret);
    }
    while ((ret = audio_playback_pump(pb, from_file, &source)) > 0)
        ;
    if (ret == 0)
        ret = audio_playback_drain(pb);
    printf("heard %llu frames\n", (unsigned long long)audio_playback_heard(pb));
    audio_playback_destroy(pb);
    fclose(source.file);
    return ret < 0 ? fail(ret) : 0;
}

static int earcon(const char *name, unsigned rate)
{
    enum earcon which = strcmp(name, "end") ? EARCON_NEXT : EARCON_END;
    size_t frames = earcon_frames(which, rate);
    int16_t *pcm = malloc(frames * sizeof(int16_t));
    struct audio_playback *pb;
    int ret;

    if (!pcm)
        return fail(-ENOMEM);
    frames = earcon_render(which, rate, pcm, frames);
    ret = audio_playback_create(rate, &pb);
    if (ret == 0) {
        ret = audio_playback_write(pb, pcm, frames);
        if (ret == 0)
            ret = audio_playback_drain(pb);
        audio_playback_destroy(pb);
    }
    free(pcm);
    return ret < 0 ? fail(ret) : 0;
}

int main(int argc, char **argv)
{
    int ret, status;

    if (argc != 4) {
        fprintf(stderr, "audio_probe: usage: record SECONDS OUT.raw | play IN.raw RATE | "
                        "earcon next|end RATE\n");
        return 2;
    }
    /* As jiashu does: the program keeps JACK from starting a server, and
     * reads the test's forced rate and hands it down. */
    setenv("JACK_NO_START_SERVER", "1", 0);
    if (getenv("JIASHU_AUDIO_RATE"))
        audio_force_device_rate((unsigned)atoi(getenv("JIASHU_AUDIO_RATE")));
    ret = audio_init();
    if (ret < 0)
        return fail(ret);
    if (!strcmp(argv[1], "record"))
        status = record(atof(argv[2]), argv[3]);
    else if (!strcmp(argv[1], "play"))
        status = play(argv[2], (unsigned)atoi(argv[3]));
    else if (!strcmp(argv[1], "earcon"))
        status = earcon(argv[2], (unsigned)atoi(argv[3]));
    else
        status = 2;
    audio_finish();
    return status;
}
