/*
 * The earcon and prompt thread. PortAudio streams are opened for each
 * earcon or prompt and closed after it, so the sound card is free whenever
 * a message plays (a child process plays messages and records replies).
 * A prompt is played 20 ms at a time and checks between two pieces whether
 * a key cut it short, so a key silences it within the device's latency.
 */
#include "station_sound.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/audio/audio.h"
#include "codec/codec.h"

#define RATE       16000
#define MAX_FRAMES (RATE / 2)              /* no earcon is longer than half a second */
#define CLIP_MAX   (1 << 20)               /* bytes of one prompt clip: minutes of speech */
#define PIECE      960                     /* frames at 48 kHz decoded between two checks: 20 ms */
#define DOWN       (JC_DECODE_RATE / RATE) /* prompts play at the earcons' rate */

struct prompt {
    char label[64];
    char paths[ST_SOUND_CLIPS][PATH_MAX];
    int n;
    double tempo;
};

struct st_sound {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool quit, pending, busy, audio;
    bool say_pending, speaking;
    int cut; /* read without the lock between pieces: __atomic */
    enum st_earcon next;
    struct prompt say;
    unsigned played;
    char trace[PATH_MAX];
};

/* A tone of hz for ms, with 5 ms fades so it clicks neither in nor out. */
static size_t tone(int16_t *pcm, size_t at, double hz, int ms, double level)
{
    size_t n = (size_t)RATE * (size_t)ms / 1000, fade = RATE / 200;

    for (size_t i = 0; i < n && at + i < MAX_FRAMES; i++) {
        double env = 1.0;
        if (i < fade)
            env = (double)i / (double)fade;
        else if (n - i < fade)
            env = (double)(n - i) / (double)fade;
        pcm[at + i] = (int16_t)(sin(2.0 * M_PI * hz * (double)i / RATE) * env * level * 32767.0);
    }
    return at + n < MAX_FRAMES ? at + n : MAX_FRAMES;
}

static size_t silence(int16_t *pcm, size_t at, int ms)
{
    size_t n = (size_t)RATE * (size_t)ms / 1000;

    for (size_t i = 0; i < n && at + i < MAX_FRAMES; i++)
        pcm[at + i] = 0;
    return at + n < MAX_FRAMES ? at + n : MAX_FRAMES;
}

static size_t render(enum st_earcon e, int16_t *pcm)
{
    size_t n = 0;

    switch (e) {
    case ST_EARCON_KEY:
        return tone(pcm, 0, 880.0, 60, 0.4);
    case ST_EARCON_ERROR:
        n = tone(pcm, 0, 220.0, 120, 0.5);
        n = silence(pcm, n, 60);
        return tone(pcm, n, 220.0, 120, 0.5);
    case ST_EARCON_START:
        return tone(pcm, 0, 1320.0, 150, 0.5);
    case ST_EARCON_OK:
        return earcon_render(EARCON_NEXT, RATE, pcm, MAX_FRAMES);
    case ST_EARCON_LEAVE:
        return earcon_render(EARCON_END, RATE, pcm, MAX_FRAMES);
    case ST_EARCON_CHIME:
        /* Three soft falling bells, G E C: gentler than any key's sound. */
        n = tone(pcm, 0, 784.0, 120, 0.35);
        n = silence(pcm, n, 30);
        n = tone(pcm, n, 659.3, 120, 0.35);
        n = silence(pcm, n, 30);
        return tone(pcm, n, 523.3, 160, 0.35);
    }
    return 0;
}

static bool cut_now(st_sound *s)
{
    return __atomic_load_n(&s->cut, __ATOMIC_RELAXED) != 0;
}

static int read_clip(const char *path, unsigned char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    size_t got;

    if (!f)
        return -errno;
    buf = malloc(CLIP_MAX);
    if (!buf) {
        fclose(f);
        return -ENOMEM;
    }
    got = fread(buf, 1, CLIP_MAX, f);
    fclose(f);
    *data = buf;
    *len = got;
    return 0;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A prompt's clock: it writes no further ahead of real time than AHEAD_MS,
 * whatever the device's buffer, so a key cuts it within that (plus the
 * device's own latency) and "speaking" means the listener still hears it. */
#define AHEAD_MS 100

struct pacing {
    int64_t start_ms;
    uint64_t frames;
};

static int paced_write(struct audio_playback *pb, struct pacing *pace, const int16_t *pcm, size_t n)
{
    int64_t due = pace->start_ms + (int64_t)(pace->frames * 1000 / RATE) - AHEAD_MS;
    int64_t now = mono_ms();

    if (due > now) {
        struct timespec ts = {.tv_sec = (due - now) / 1000,
                              .tv_nsec = (due - now) % 1000 * 1000000};
        nanosleep(&ts, NULL);
    }
    pace->frames += n;
    return audio_playback_write(pb, pcm, n);
}

/* Plays one clip into pb; false if it was cut short. */
static bool speak_clip(st_sound *s, struct audio_playback *pb, struct pacing *pace,
                       struct speed *sp, const char *path)
{
    int16_t pcm[PIECE], out[PIECE];
    unsigned char *data = NULL;
    jc_decoder *dec = NULL;
    bool whole = false;
    size_t len = 0;

    if (read_clip(path, &data, &len) < 0 || len == 0)
        goto out; /* an empty clip is a side of a number with no words */
    if (jc_decoder_create(data, len, &dec) < 0)
        goto out;
    for (;;) {
        size_t got = 0, n;
        if (cut_now(s))
            goto out;
        if (jc_decoder_read(dec, pcm, PIECE, &got) < 0)
            goto out;
        /* 48 kHz to the earcons' 16 kHz, which every device opens quickly
         * (ALSA's plug devices reserve huge buffers at 48 kHz): a prompt is
         * wideband speech, with nothing above 8 kHz to fold back, so the
         * mean of three samples is filter enough. */
        got /= DOWN;
        for (size_t i = 0; i < got; i++)
            pcm[i] = (int16_t)(((int)pcm[DOWN * i] + pcm[DOWN * i + 1] + pcm[DOWN * i + 2]) / DOWN);
        if (!sp) {
            if (got == 0)
                break;
            if (paced_write(pb, pace, pcm, got) < 0)
                goto out;
            continue;
        }
        if (got == 0)
            speed_flush(sp);
        else if (speed_put(sp, pcm, got) < 0)
            goto out;
        while ((n = speed_take(sp, out, PIECE)) > 0)
            if (cut_now(s) || paced_write(pb, pace, out, n) < 0)
                goto out;
        if (got == 0)
            break;
    }
    whole = true;
out:
    if (dec)
        jc_decoder_destroy(dec);
    free(data);
    return whole || len == 0;
}

static void trace_line(st_sound *s, const char *what, const char *label)
{
    FILE *f;

    if (!s->trace[0] || !(f = fopen(s->trace, "a")))
        return;
    fprintf(f, "%s %s\n", what, label);
    fclose(f);
}

static void speak(st_sound *s, const struct prompt *p)
{
    struct audio_playback *pb = NULL;
    struct speed *sp = NULL;
    struct pacing pace = {mono_ms(), 0};
    bool whole = true;

    if (audio_playback_create(RATE, &pb) < 0) {
        trace_line(s, "mute", p->label); /* no speaker now */
        return;
    }
    for (int i = 0; i < p->n && whole; i++) {
        /* A new stretcher per clip: each clip ends with its own flush. */
        if (p->tempo < 0.99 || p->tempo > 1.01) {
            if (speed_create(RATE, p->tempo, &sp) < 0)
                sp = NULL;
        }
        whole = speak_clip(s, pb, &pace, sp, p->paths[i]);
        speed_destroy(sp);
        sp = NULL;
    }
    if (whole && !cut_now(s))
        audio_playback_drain(pb);
    whole = whole && !cut_now(s);
    audio_playback_destroy(pb);
    trace_line(s, whole ? "spoke" : "cut", p->label);
}

static void *run(void *arg)
{
    st_sound *s = arg;
    int16_t *pcm = malloc(MAX_FRAMES * sizeof(*pcm));

    pthread_mutex_lock(&s->lock);
    while (!s->quit) {
        enum st_earcon e;
        struct audio_playback *pb;
        size_t n;

        if (!s->pending && s->say_pending) {
            struct prompt *p = malloc(sizeof(*p));
            s->say_pending = false;
            if (!p)
                continue;
            *p = s->say;
            s->speaking = true;
            __atomic_store_n(&s->cut, 0, __ATOMIC_RELAXED);
            pthread_mutex_unlock(&s->lock);
            if (s->audio)
                speak(s, p);
            free(p);
            pthread_mutex_lock(&s->lock);
            s->speaking = false;
            pthread_cond_broadcast(&s->wake);
            continue;
        }
        if (!s->pending) {
            pthread_cond_wait(&s->wake, &s->lock);
            continue;
        }
        e = s->next;
        s->pending = false;
        s->busy = true;
        pthread_mutex_unlock(&s->lock);
        /* The speaker may be busy with a message, or absent: that earcon is
         * skipped, the next one tries again. */
        if (pcm && s->audio && (n = render(e, pcm)) > 0 && audio_playback_create(RATE, &pb) == 0) {
            if (audio_playback_write(pb, pcm, n) == 0 && audio_playback_drain(pb) == 0) {
                pthread_mutex_lock(&s->lock);
                s->played++;
                pthread_mutex_unlock(&s->lock);
            }
            audio_playback_destroy(pb);
        }
        pthread_mutex_lock(&s->lock);
        s->busy = false;
        pthread_cond_broadcast(&s->wake);
    }
    pthread_mutex_unlock(&s->lock);
    free(pcm);
    return NULL;
}

int st_sound_create(st_sound **out)
{
    st_sound *s = calloc(1, sizeof(*s));
    int res;

    if (!s)
        return -ENOMEM;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    s->audio = audio_init() == 0;
    if ((res = pthread_create(&s->thread, NULL, run, s)) != 0) {
        if (s->audio)
            audio_finish();
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return -res;
    }
    *out = s;
    return 0;
}

void st_sound_play(st_sound *s, enum st_earcon earcon)
{
    pthread_mutex_lock(&s->lock);
    s->next = earcon;
    s->pending = true;
    if (s->say_pending) /* cut before it began */
        trace_line(s, "cut", s->say.label);
    s->say_pending = false;
    __atomic_store_n(&s->cut, 1, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
}

void st_sound_say(st_sound *s, const char *label, const char *const *paths, int n, double tempo)
{
    pthread_mutex_lock(&s->lock);
    if (s->say_pending)
        trace_line(s, "cut", s->say.label);
    memset(&s->say, 0, sizeof(s->say));
    snprintf(s->say.label, sizeof(s->say.label), "%s", label);
    for (int i = 0; i < n && i < ST_SOUND_CLIPS; i++)
        snprintf(s->say.paths[i], sizeof(s->say.paths[i]), "%s", paths[i]);
    s->say.n = n < ST_SOUND_CLIPS ? n : ST_SOUND_CLIPS;
    s->say.tempo = tempo >= SPEED_MIN && tempo <= SPEED_MAX ? tempo : 1.0;
    s->say_pending = true;
    __atomic_store_n(&s->cut, 1, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
}

void st_sound_hush(st_sound *s)
{
    pthread_mutex_lock(&s->lock);
    if (s->say_pending)
        trace_line(s, "cut", s->say.label);
    s->say_pending = false;
    s->pending = false;
    __atomic_store_n(&s->cut, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&s->lock);
}

bool st_sound_speaking(st_sound *s)
{
    bool speaking;

    pthread_mutex_lock(&s->lock);
    speaking = s->say_pending || s->speaking;
    pthread_mutex_unlock(&s->lock);
    return speaking;
}

void st_sound_set_trace(st_sound *s, const char *path)
{
    pthread_mutex_lock(&s->lock);
    snprintf(s->trace, sizeof(s->trace), "%s", path ? path : "");
    pthread_mutex_unlock(&s->lock);
}

void st_sound_wait_idle(st_sound *s, int timeout_ms)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->lock);
    while ((s->pending || s->busy || s->say_pending || s->speaking) && !s->quit)
        if (pthread_cond_timedwait(&s->wake, &s->lock, &until) != 0)
            break;
    pthread_mutex_unlock(&s->lock);
}

unsigned st_sound_played(st_sound *s)
{
    unsigned n;

    pthread_mutex_lock(&s->lock);
    n = s->played;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void st_sound_destroy(st_sound *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->quit = true;
    __atomic_store_n(&s->cut, 1, __ATOMIC_RELAXED); /* no prompt holds the exit up */
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    if (s->audio)
        audio_finish();
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
