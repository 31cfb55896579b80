/*
 * The earcon thread. PortAudio streams are opened for each earcon and
 * closed after it, so the sound card is free whenever a message plays (a
 * child process plays messages and records replies).
 */
#include "station_sound.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/audio/audio.h"

#define RATE       16000
#define MAX_FRAMES (RATE / 2) /* no earcon is longer than half a second */

struct st_sound {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool quit, pending, busy, audio;
    enum st_earcon next;
    unsigned played;
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
    }
    return 0;
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
    pthread_cond_broadcast(&s->wake);
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
    while ((s->pending || s->busy) && !s->quit)
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
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    if (s->audio)
        audio_finish();
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
