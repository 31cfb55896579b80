#include "playback.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/audio/audio.h"
#include "commands.h"
#include "keys.h"
#include "util/util.h"

enum outcome {
    OUTCOME_FINISHED,
    OUTCOME_STOPPED,
};

struct player {
    js_store *store;
    struct audio_playback *pb;
    unsigned rate;
    double tempo; /* 1.0, or the listener's speed (JS_SETTING_PLAY_SPEED) */
    bool interactive;
};

struct note {
    jc_decoder *dec;
    struct speed *sp; /* NULL at normal speed */
    bool flushed;     /* the decoder ended and the stretcher was told */
    int16_t in[960];
};

static int pull(void *user, int16_t *pcm, size_t max_frames)
{
    struct note *note = user;
    size_t got;
    int ret;

    if (!note->sp) {
        ret = jc_decoder_read(note->dec, pcm, max_frames, &got);
        return ret < 0 ? ret : (int)got;
    }
    for (;;) {
        got = speed_take(note->sp, pcm, max_frames);
        if (got > 0 || note->flushed)
            return (int)got;
        ret = jc_decoder_read(note->dec, note->in, sizeof(note->in) / sizeof(note->in[0]), &got);
        if (ret < 0)
            return ret;
        if (got == 0) {
            speed_flush(note->sp);
            note->flushed = true;
            continue;
        }
        ret = speed_put(note->sp, note->in, got);
        if (ret < 0)
            return ret;
    }
}

double playback_gain_db(js_store *store, const char *id, const unsigned char *data, size_t len)
{
    struct jc_loudness loudness;
    int known = js_message_loudness(store, id, &loudness);

    if (known < 0)
        return 0.0;
    if (known == 0) {
        if (jc_note_loudness(data, len, &loudness) < 0)
            return 0.0;
        /* If it cannot be kept, it is measured again next time. */
        js_message_set_loudness(store, id, &loudness);
    }
    return jc_loudness_gain_db(&loudness, JC_LOUDNESS_TARGET_LUFS);
}

double playback_speed(js_store *store)
{
    char value[32];
    char *end;
    double tempo;

    if (js_setting_get(store, JS_SETTING_PLAY_SPEED, value, sizeof(value)) < 0)
        return 1.0;
    tempo = strtod(value, &end);
    if (*end || !(tempo >= SPEED_MIN && tempo <= SPEED_MAX))
        return 1.0;
    return tempo;
}

static int ensure_device(struct player *p, unsigned rate)
{
    if (p->pb && p->rate == rate)
        return 0;
    audio_playback_destroy(p->pb);
    p->pb = NULL;
    p->rate = rate;
    return audio_playback_create(rate, &p->pb);
}

static void draw(const struct player *p, uint64_t at_ms, uint64_t total_ms, bool paused)
{
    unsigned at = (unsigned)(at_ms / 1000), total = (unsigned)(total_ms / 1000);

    printf("\r%s %02u:%02u / %02u:%02u  %s ", paused ? "||" : "|>", at / 60, at % 60, total / 60,
           total % 60, paused ? _("paused, space resumes") : _("Enter stops, space pauses"));
    fflush(stdout);
}

/* Frames heard since the count was before; the device's estimate of what
 * is still buffered wobbles, so it never goes below zero. */
static uint64_t heard_since(const struct player *p, uint64_t before)
{
    uint64_t now = audio_playback_heard(p->pb);
    return now > before ? now - before : 0;
}

/* Plays one note from start_ms. *heard_ms receives how far the listener
 * got. Returns an outcome or a negative code. */
static int play_note(struct player *p, const char *id, const unsigned char *data, size_t len,
                     uint64_t start_ms, uint64_t total_ms, uint64_t *heard_ms)
{
    struct note note = {0};
    uint64_t before;
    bool paused = false;
    int ret;

    *heard_ms = start_ms;
    ret = jc_decoder_create(data, len, &note.dec);
    if (ret < 0)
        return ret;
    ret = jc_decoder_set_gain(note.dec, playback_gain_db(p->store, id, data, len));
    if (ret < 0)
        goto error_decoder;
    ret = ensure_device(p, jc_decoder_rate(note.dec));
    if (ret < 0)
        goto error_decoder;
    if (start_ms > 0) {
        ret = jc_decoder_seek(note.dec, start_ms * p->rate / 1000);
        if (ret < 0)
            goto error_decoder;
    }
    if (p->tempo != 1.0) {
        ret = speed_create(p->rate, p->tempo, &note.sp);
        if (ret < 0)
            goto error_decoder;
    }
    before = audio_playback_heard(p->pb);
    for (;;) {
        enum key_event key = keys_poll();
        uint64_t heard = heard_since(p, before);

        *heard_ms = start_ms + (uint64_t)((double)heard * 1000 * p->tempo / p->rate);
        if (key == KEY_STOP) {
            ret = OUTCOME_STOPPED;
            break;
        }
        if (key == KEY_PAUSE)
            paused = !paused;
        if (p->interactive)
            draw(p, *heard_ms, total_ms, paused);
        if (paused) {
            ju_sleep_ms(50);
            continue;
        }
        ret = audio_playback_pump(p->pb, pull, &note);
        if (ret < 0) {
            *heard_ms =
                start_ms + (uint64_t)((double)heard_since(p, before) * 1000 * p->tempo / p->rate);
            goto error_decoder;
        }
        if (ret == 0) {
            ret = audio_playback_drain(p->pb);
            if (ret < 0)
                goto error_decoder;
            *heard_ms = total_ms > start_ms ? total_ms : start_ms;
            ret = OUTCOME_FINISHED;
            break;
        }
    }
    if (p->interactive)
        printf("\n");

error_decoder:
    speed_destroy(note.sp);
    jc_decoder_destroy(note.dec);
    return ret;
}

static int play_earcon(struct player *p, enum earcon which)
{
    size_t frames = earcon_frames(which, p->rate);
    int16_t *pcm = malloc(frames * sizeof(int16_t));
    int ret;

    if (!pcm)
        return -ENOMEM;
    frames = earcon_render(which, p->rate, pcm, frames);
    ret = audio_playback_write(p->pb, pcm, frames);
    if (ret == 0)
        ret = audio_playback_drain(p->pb);
    free(pcm);
    return ret;
}

/* Heard to the end, or so nearly that nothing that matters was missed. */
static bool nearly_whole(uint64_t heard_ms, uint64_t total_ms)
{
    uint64_t slack = total_ms / 10 < 1000 ? total_ms / 10 : 1000;
    return heard_ms + slack >= total_ms;
}

int playback_pace(js_store *store, const struct js_message *m, uint64_t from_ms)
{
    double tempo = playback_speed(store);
    int64_t start = ju_mono_ms();
    uint64_t at = from_ms;
    int ret = 1;

    keys_init();
    while (at < m->duration_ms) {
        if (keys_poll() == KEY_STOP) {
            ret = nearly_whole(at, m->duration_ms) ? 1 : 0;
            break;
        }
        ju_sleep_ms(20);
        at = from_ms + (uint64_t)((double)(ju_mono_ms() - start) * tempo);
    }
    keys_finish();
    if (ret == 0)
        return js_message_set_position(store, m->id, at) < 0 ? -EIO : 0;
    js_message_set_position(store, m->id, 0);
    return 1;
}

int playback_run(js_store *store, const struct js_message *first, bool next,
                 int64_t clock_offset_ms)
{
    struct player p = {
        .store = store, .tempo = playback_speed(store), .interactive = keys_interactive()};
    struct js_message m = *first;
    int ret, outcome, more, status = 1;

    ret = audio_init();
    if (ret < 0)
        return app_fail("play: %s", app_strerror(ret));
    keys_init();
    for (;;) {
        struct jc_note_info info;
        unsigned char *data;
        uint64_t start_ms, heard_ms = 0, total_ms;
        size_t len;

        ret = js_message_load(store, m.id, &data, &len);
        if (ret < 0) {
            app_fail("play %s: %s", m.id, app_strerror(ret));
            goto error_keys;
        }
        ret = jc_note_check(data, len, &info);
        total_ms = ret < 0 ? m.duration_ms : (uint64_t)(info.seconds * 1000);
        start_ms = m.play_position_ms;
        if (start_ms >= total_ms)
            start_ms = 0;
        ret = ret < 0 ? ret : play_note(&p, m.id, data, len, start_ms, total_ms, &heard_ms);
        free(data);
        if (ret < 0) {
            if (ret == AUDIO_ERR_LOST)
                js_message_set_position(store, m.id, heard_ms);
            /* Closed first: PortAudio traces closing a dead device on
             * stderr, and the line that says what happened comes last. */
            audio_playback_destroy(p.pb);
            p.pb = NULL;
            app_fail("play %s: %s", m.id, app_strerror(ret));
            goto error_keys;
        }
        outcome = ret;
        if (outcome == OUTCOME_STOPPED && !nearly_whole(heard_ms, total_ms)) {
            js_message_set_position(store, m.id, heard_ms);
            break;
        }
        js_message_set_position(store, m.id, 0);
        if (m.box == JS_INBOX) {
            ret = js_inbox_mark_played(store, m.id, total_ms);
            if (ret < 0) {
                app_fail("play %s: %s", m.id, app_strerror(ret));
                goto error_keys;
            }
        }
        printf("%s\n", m.id);
        fflush(stdout);
        if (!next || outcome == OUTCOME_STOPPED)
            break;
        more = js_inbox_next(store, ju_wall_ms() + clock_offset_ms, &m);
        if (more < 0 && more != JS_ERR_NOT_FOUND) {
            app_fail("play: %s", app_strerror(more));
            goto error_keys;
        }
        ret = play_earcon(&p, more == 0 ? EARCON_NEXT : EARCON_END);
        if (ret < 0) {
            app_fail("play: %s", app_strerror(ret));
            goto error_keys;
        }
        if (more < 0)
            break;
    }
    status = 0;

error_keys:
    keys_finish();
    audio_playback_destroy(p.pb);
    audio_finish();
    return status;
}
