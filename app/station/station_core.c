/*
 * The keypad state machine. Every screen takes only the keys it knows; any
 * other key sounds the error earcon and changes nothing, so a child leaning
 * on the keypad cannot wander into a corner.
 */
#include "station_core.h"

#include <errno.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>

#include "util/util.h"

#define WAIT_MARGIN_MS 300

enum pending_op {
    PENDING_NONE,
    PENDING_ADD_FAMILY,
    PENDING_RECORD_END,   /* a reply asked to stop, being finished */
    PENDING_RECORD_START, /* the record prompt is spoken; then the tone and the microphone */
};

/* How long a spoken prompt may hold back the microphone. */
#define RECORD_PROMPT_MAX_MS 15000

/* Memory that held a PIN is wiped in a way the compiler may not drop. */
static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

static void earcon(struct st_core *core, enum st_earcon e)
{
    if (core->ops->earcon)
        core->ops->earcon(core->be, e);
}

static void say(struct st_core *core, enum st_prompt p, int number)
{
    core->said = p;
    core->said_number = number;
    if (core->ops->say)
        core->ops->say(core->be, p, number);
}

/* A key this screen does not take: the error sound, and why, aloud. */
static void refuse_key(struct st_core *core)
{
    earcon(core, ST_EARCON_ERROR);
    say(core, ST_PROMPT_KEY_REFUSED, 0);
}

static int seconds_of(int64_t ms)
{
    return (int)((ms + 999) / 1000);
}

static void say_count(struct st_core *core, bool arrived)
{
    int n = core->view.new_count;

    if (core->view.bedtime > 0)
        say(core, ST_PROMPT_BEDTIME, 0); /* what the one key plays first */
    else if (arrived)
        say(core, ST_PROMPT_ARRIVED, n);
    else if (n == 1)
        say(core, ST_PROMPT_HOME_ONE, 1);
    else if (n > 1)
        say(core, ST_PROMPT_HOME_COUNT, n);
    else
        say(core, ST_PROMPT_HOME_NONE, 0);
}

/* What a screen says when it opens. Screens with a number say it after
 * the caller has set it (speak_screen). */
static void speak_screen(struct st_core *core)
{
    switch (core->view.screen) {
    case ST_SCREEN_START:
        say(core, ST_PROMPT_START, 0);
        break;
    case ST_SCREEN_PIN:
        say(core, ST_PROMPT_PIN, (int)core->view.family);
        break;
    case ST_SCREEN_HOME:
        say_count(core, false);
        break;
    case ST_SCREEN_BUSY:
        say(core, ST_PROMPT_BUSY, 0);
        break;
    case ST_SCREEN_TEACHER_PIN:
        say(core, ST_PROMPT_TEACHER_PIN, 0);
        break;
    case ST_SCREEN_TEACHER_MENU:
        say(core, ST_PROMPT_TEACHER_MENU, 0);
        break;
    case ST_SCREEN_TEACHER_CODE:
        say(core, ST_PROMPT_TEACHER_CODE, 0);
        break;
    case ST_SCREEN_TEACHER_NEWPIN:
        say(core, core->view.step ? ST_PROMPT_NEWPIN_AGAIN : ST_PROMPT_NEWPIN, 0);
        break;
    case ST_SCREEN_TEACHER_LIST:
        say(core, ST_PROMPT_TEACHER_LIST, core->view.nrows);
        break;
    case ST_SCREEN_TEACHER_QUIET:
        say(core, core->view.step ? ST_PROMPT_QUIET_END : ST_PROMPT_QUIET_START, 0);
        break;
    case ST_SCREEN_TEACHER_QUOTA:
        say(core, ST_PROMPT_QUOTA, 0);
        break;
    case ST_SCREEN_TEACHER_VOICE:
        say(core, ST_PROMPT_VOICE, 0);
        break;
    case ST_SCREEN_REVIEW:
        say(core, core->view.step ? ST_PROMPT_DISCARD_ASK : ST_PROMPT_REVIEW, 0);
        break;
    default: /* PLAYING and RECORDING: the speaker is the letter's, or the microphone listens */
        break;
    }
}

static void clear_entry(struct st_core *core)
{
    wipe(core->view.entry, sizeof(core->view.entry));
}

static void refresh_count(struct st_core *core)
{
    core->view.new_count = core->in_session ? core->ops->new_count(core->be) : -1;
    core->view.bedtime = 0;
    core->view.bedtime_from[0] = '\0';
    if (core->in_session && core->ops->bedtime) {
        int n =
            core->ops->bedtime(core->be, core->view.bedtime_from, sizeof(core->view.bedtime_from));
        core->view.bedtime = n > 0 ? n : 0;
    }
    core->last_count = core->now;
}

/* Opens a screen without a word (the caller speaks). */
static void go_quietly(struct st_core *core, enum st_screen screen)
{
    clear_entry(core);
    core->view.screen = screen;
    core->view.step = 0;
    if (screen == ST_SCREEN_HOME)
        refresh_count(core);
}

static void go(struct st_core *core, enum st_screen screen)
{
    go_quietly(core, screen);
    speak_screen(core);
}

static const enum st_prompt notice_prompts[] = {
    [ST_NOTICE_NONE] = ST_PROMPT_NONE,
    [ST_NOTICE_SENT] = ST_PROMPT_SENT,
    [ST_NOTICE_NOTHING_NEW] = ST_PROMPT_NOTHING_NEW,
    [ST_NOTICE_NOTHING_YET] = ST_PROMPT_NOTHING_YET,
    [ST_NOTICE_FAILED] = ST_PROMPT_FAILED,
    [ST_NOTICE_ADDED] = ST_PROMPT_ADDED,
    [ST_NOTICE_PIN_MISMATCH] = ST_PROMPT_PIN_MISMATCH,
    [ST_NOTICE_PIN_SHORT] = ST_PROMPT_NEWPIN,
    [ST_NOTICE_SAVED] = ST_PROMPT_SAVED,
    [ST_NOTICE_BAD_TIME] = ST_PROMPT_BAD_TIME,
    [ST_NOTICE_DISCARDED] = ST_PROMPT_DISCARDED,
};

static void notice(struct st_core *core, enum st_notice n, int error, enum st_screen after)
{
    clear_entry(core);
    core->view.notice = n;
    core->view.error = error;
    core->view.screen = ST_SCREEN_NOTICE;
    core->after_notice = after;
    core->notice_until = core->now + core->config.notice_ms;
    if (notice_prompts[n] != ST_PROMPT_NONE)
        say(core, notice_prompts[n], n == ST_NOTICE_ADDED ? (int)core->view.family : 0);
}

static enum st_screen rest_screen(const struct st_core *core)
{
    return core->config.station ? ST_SCREEN_START : ST_SCREEN_HOME;
}

void st_core_reset(struct st_core *core)
{
    bool station = core->view.station;

    if (core->view.screen == ST_SCREEN_PLAYING)
        core->ops->audio_stop(core->be);
    if (core->view.screen == ST_SCREEN_RECORDING)
        core->ops->record_stop(core->be);
    if (core->config.station && (core->in_session || core->teacher)) {
        core->ops->logout(core->be);
        core->in_session = false;
    }
    core->teacher = false;
    core->playing_draft = false;
    wipe(&core->view, sizeof(core->view));
    wipe(core->code, sizeof(core->code));
    wipe(core->first_pin, sizeof(core->first_pin));
    core->first_quiet = 0;
    core->pending = PENDING_NONE;
    core->view.station = station;
    core->view.new_count = -1;
    go(core, rest_screen(core));
}

void st_core_init(struct st_core *core, const struct st_config *config,
                  const struct st_backend_ops *ops, void *be, int64_t now)
{
    memset(core, 0, sizeof(*core));
    core->config = *config;
    if (core->config.notice_ms <= 0)
        core->config.notice_ms = 2500;
    core->ops = ops;
    core->be = be;
    core->now = core->last_key = now;
    core->view.station = config->station;
    core->in_session = !config->station; /* home mode: the one family is always open */
    st_core_reset(core);
}

void st_core_finish(struct st_core *core)
{
    st_core_reset(core);
    wipe(core, sizeof(*core));
}

/* Appends a digit to the entry if it fits; false (and the error earcon) if not. */
static bool type_digit(struct st_core *core, int key, size_t max)
{
    size_t len = strlen(core->view.entry);

    if (key < '0' || key > '9' || len >= max) {
        refuse_key(core);
        return false;
    }
    core->view.entry[len] = (char)key;
    core->view.entry[len + 1] = '\0';
    earcon(core, ST_EARCON_KEY);
    return true;
}

/* Backspace: true if a digit was removed, false if the entry was empty. */
static bool erase_digit(struct st_core *core)
{
    size_t len = strlen(core->view.entry);

    if (!len)
        return false;
    core->view.entry[len - 1] = '\0';
    earcon(core, ST_EARCON_KEY);
    return true;
}

static void leave(struct st_core *core)
{
    earcon(core, ST_EARCON_LEAVE);
    st_core_reset(core);
}

static void key_start(struct st_core *core, int key)
{
    if (key >= '0' && key <= '9') {
        type_digit(core, key, ST_NUMBER_MAX);
    } else if (key == ST_KEY_BACK || key == ST_KEY_HASH) {
        if (key == ST_KEY_HASH) {
            clear_entry(core);
            earcon(core, ST_EARCON_KEY);
        } else if (!erase_digit(core)) {
            refuse_key(core);
        }
    } else if (key == ST_KEY_ENTER && core->view.entry[0]) {
        uint64_t number = 0;
        ju_parse_u64(core->view.entry, UINT_MAX, &number); /* digits only, a few of them */
        earcon(core, ST_EARCON_KEY);
        go_quietly(core, ST_SCREEN_PIN);
        core->view.family = (unsigned)number;
        speak_screen(core);
    } else if (key == ST_KEY_STAR && !core->view.entry[0]) {
        earcon(core, ST_EARCON_KEY);
        go(core, ST_SCREEN_TEACHER_PIN);
    } else {
        refuse_key(core);
    }
}

static void refused(struct st_core *core, int64_t wait_ms)
{
    earcon(core, ST_EARCON_ERROR);
    clear_entry(core);
    core->view.screen = ST_SCREEN_REFUSED;
    core->view.wait_ms = wait_ms > 0 ? wait_ms : 0;
    say(core, ST_PROMPT_REFUSED, seconds_of(core->view.wait_ms));
    /* The backend counts its wait from the end of its (slow) check, which
     * is later than this key: the wait here starts on the next tick, and the
     * keypad comes back a little after the backend's own wait ends, so the
     * next PIN is checked (and counted), not refused as too early. */
    core->wait_until = 0;
}

/* PIN and teacher PIN: the same keys, a different check. */
static void key_pin(struct st_core *core, int key, bool teacher)
{
    int64_t wait_ms = 0;
    int res;

    if (key >= '0' && key <= '9') {
        type_digit(core, key, ST_PIN_MAX);
        return;
    }
    if (key == ST_KEY_BACK) {
        if (!erase_digit(core))
            leave(core);
        return;
    }
    if (key == ST_KEY_STAR) {
        leave(core);
        return;
    }
    if (key != ST_KEY_ENTER || strlen(core->view.entry) < ST_PIN_MIN) {
        refuse_key(core);
        return;
    }
    if (teacher)
        res = core->ops->teacher_login(core->be, core->view.entry, &wait_ms);
    else
        res = core->ops->login(core->be, core->view.family, core->view.entry, &wait_ms);
    clear_entry(core);
    if (res == 0) {
        earcon(core, ST_EARCON_OK);
        if (teacher) {
            core->teacher = true;
            go(core, ST_SCREEN_TEACHER_MENU);
        } else {
            core->in_session = true;
            go(core, ST_SCREEN_HOME);
        }
    } else if (res == ST_LOGIN_REFUSED || res == ST_LOGIN_LOCKED) {
        refused(core, wait_ms);
    } else {
        earcon(core, ST_EARCON_ERROR);
        /* A failed check opens nothing: the session stays closed. */
        core->ops->logout(core->be);
        notice(core, ST_NOTICE_FAILED, res < 0 ? res : -EIO, ST_SCREEN_START);
    }
}

/* Who sent the letter now playing, for the screen. */
static void update_from(struct st_core *core)
{
    core->view.from[0] = '\0';
    if (core->ops->audio_from)
        core->ops->audio_from(core->be, core->view.from, sizeof(core->view.from));
}

/* The PLAYING screen for total letters. With announce, each letter is
 * introduced aloud before it plays ("letter 1, from ..."; the name itself
 * is on the screen): the backend starts the letter once the prompt ends. */
static void start_playing(struct st_core *core, int total, bool announce)
{
    go(core, ST_SCREEN_PLAYING);
    core->view.play_index = 1;
    core->view.play_total = total;
    core->view.paused = false;
    core->view.speed = core->ops->get_speed ? core->ops->get_speed(core->be) : ST_SPEED_NORMAL;
    if (core->view.speed <= 0)
        core->view.speed = ST_SPEED_NORMAL;
    core->announce = announce;
    update_from(core);
    if (announce)
        say(core, ST_PROMPT_LETTER, 1);
}

static void key_home(struct st_core *core, int key)
{
    int res;

    /* The key's sound comes first: the speaker is then free for the
     * message, and the start beep is the cue to speak. */
    switch (key) {
    case '1':
        earcon(core, ST_EARCON_KEY);
        res = core->ops->play_new(core->be);
        if (res > 0) {
            start_playing(core, res, true);
        } else {
            if (res < 0)
                earcon(core, ST_EARCON_ERROR);
            notice(core, res < 0 ? ST_NOTICE_FAILED : ST_NOTICE_NOTHING_NEW, res, ST_SCREEN_HOME);
        }
        break;
    case '2':
        /* The prompt says what to do; the microphone opens after it, on
         * the tone (run_pending), so the prompt is not in the reply. */
        earcon(core, ST_EARCON_KEY);
        go_quietly(core, ST_SCREEN_BUSY);
        core->pending = PENDING_RECORD_START;
        core->pending_since = core->now;
        say(core, ST_PROMPT_RECORD, 0);
        break;
    case '3':
        earcon(core, ST_EARCON_KEY);
        res = core->ops->replay_last(core->be);
        if (res == 0) {
            start_playing(core, 1, false);
        } else {
            if (res != -ENOENT)
                earcon(core, ST_EARCON_ERROR);
            notice(core, res == -ENOENT ? ST_NOTICE_NOTHING_YET : ST_NOTICE_FAILED, res,
                   ST_SCREEN_HOME);
        }
        break;
    case ST_KEY_STAR:
        if (core->config.station) {
            leave(core);
            break;
        }
        /* fall through */
    default:
        refuse_key(core);
        break;
    }
}

static void start_recording(struct st_core *core)
{
    int res;

    earcon(core, ST_EARCON_START);
    res = core->ops->record_start(core->be);
    if (res == 0) {
        go(core, ST_SCREEN_RECORDING);
        core->view.record_seconds = 0;
    } else {
        earcon(core, ST_EARCON_ERROR);
        notice(core, ST_NOTICE_FAILED, res, ST_SCREEN_HOME);
    }
}

/* Listen before sending: nothing leaves until 3, nothing is thrown away
 * until * twice. */
static void key_review(struct st_core *core, int key)
{
    int res;

    if (core->view.step == 1 && key != ST_KEY_STAR) {
        earcon(core, ST_EARCON_KEY); /* kept: back to the choices */
        core->view.step = 0;
        speak_screen(core);
        return;
    }
    switch (key) {
    case '1':
        earcon(core, ST_EARCON_KEY);
        res = core->ops->draft_play(core->be);
        if (res < 0) {
            earcon(core, ST_EARCON_ERROR);
            notice(core, ST_NOTICE_FAILED, res, ST_SCREEN_REVIEW);
            break;
        }
        go(core, ST_SCREEN_PLAYING);
        core->view.speed = ST_SPEED_NORMAL;
        core->playing_draft = true;
        core->view.play_index = 1;
        core->view.play_total = 1;
        break;
    case '2':
        /* Record it again: this take goes, as the person asked. */
        earcon(core, ST_EARCON_KEY);
        core->ops->draft_discard(core->be);
        go_quietly(core, ST_SCREEN_BUSY);
        core->pending = PENDING_RECORD_START;
        core->pending_since = core->now;
        say(core, ST_PROMPT_RECORD, 0);
        break;
    case '3':
        res = core->ops->draft_send(core->be);
        earcon(core, res == 0 ? ST_EARCON_OK : ST_EARCON_ERROR);
        notice(core, res == 0 ? ST_NOTICE_SENT : ST_NOTICE_FAILED, res,
               res == 0 ? ST_SCREEN_HOME : ST_SCREEN_REVIEW);
        break;
    case ST_KEY_STAR:
        if (core->view.step == 0) {
            earcon(core, ST_EARCON_KEY);
            core->view.step = 1;
            speak_screen(core);
            break;
        }
        res = core->ops->draft_discard(core->be);
        earcon(core, res == 0 ? ST_EARCON_OK : ST_EARCON_ERROR);
        notice(core, res == 0 ? ST_NOTICE_DISCARDED : ST_NOTICE_FAILED, res,
               res == 0 ? ST_SCREEN_HOME : ST_SCREEN_REVIEW);
        break;
    default:
        refuse_key(core);
        break;
    }
}

/* The speed key steps 100 -> 125 -> 75 -> 100: one key, and the listener
 * hears where it landed. */
static int next_speed(int percent)
{
    if (percent == ST_SPEED_NORMAL)
        return ST_SPEED_FAST;
    if (percent == ST_SPEED_FAST)
        return ST_SPEED_SLOW;
    return ST_SPEED_NORMAL;
}

/* Keys while a letter plays, laid out around 5 as on a phone: 5 pause and
 * go on, 4 back five seconds, 1 from the start, 6 the next letter, 3 the
 * speed. Any other key stops, as before there were playback keys: a
 * listener who presses something is never stuck in a letter. Returns true
 * when the key was one of those. */
static bool playback_key(struct st_core *core, int key)
{
    enum st_play_key play_key;
    int res;

    if (key == '3' && core->ops->set_speed) {
        int speed = next_speed(core->view.speed);
        res = core->ops->set_speed(core->be, speed);
        if (res < 0) {
            earcon(core, ST_EARCON_ERROR);
            say(core, ST_PROMPT_FAILED, 0);
            return true;
        }
        earcon(core, ST_EARCON_KEY);
        core->view.speed = speed;
        core->view.paused = false;
        say(core,
            speed == ST_SPEED_FAST   ? ST_PROMPT_SPEED_FAST
            : speed == ST_SPEED_SLOW ? ST_PROMPT_SPEED_SLOW
                                     : ST_PROMPT_SPEED_NORMAL,
            0);
        return true;
    }
    switch (key) {
    case '5':
        play_key = ST_PLAY_PAUSE;
        break;
    case '4':
        play_key = ST_PLAY_BACK;
        break;
    case '1':
        play_key = ST_PLAY_RESTART;
        break;
    case '6':
        play_key = ST_PLAY_NEXT;
        break;
    default:
        return false;
    }
    if (!core->ops->audio_key)
        return false;
    res = core->ops->audio_key(core->be, play_key);
    if (res < 0) {
        earcon(core, ST_EARCON_ERROR);
        say(core, ST_PROMPT_FAILED, 0);
        return true;
    }
    earcon(core, ST_EARCON_KEY);
    core->view.paused = play_key == ST_PLAY_PAUSE && res == 1;
    if (core->view.paused)
        say(core, ST_PROMPT_PAUSED, 0); /* the speaker is free: say the keys */
    return true;
}

static void key_playing(struct st_core *core, int key)
{
    if (!core->playing_draft && playback_key(core, key))
        return;
    core->ops->audio_stop(core->be);
    if (core->playing_draft) {
        core->playing_draft = false;
        earcon(core, ST_EARCON_KEY);
        go(core, ST_SCREEN_REVIEW);
        return;
    }
    if (key == ST_KEY_STAR && core->config.station) {
        core->view.screen = ST_SCREEN_HOME; /* stopped already; reset must not stop twice */
        leave(core);
        return;
    }
    earcon(core, ST_EARCON_KEY);
    go(core, ST_SCREEN_HOME);
}

static void key_recording(struct st_core *core, int key)
{
    int res;

    if (key == ST_KEY_ENTER || key == '2' || (key == ST_KEY_STAR && core->config.station)) {
        res = core->ops->record_stop(core->be);
        if (key == ST_KEY_STAR) {
            core->view.screen = ST_SCREEN_HOME; /* asked to stop already */
            leave(core);
            return;
        }
        if (res < 0) {
            earcon(core, ST_EARCON_ERROR);
            notice(core, ST_NOTICE_FAILED, res, ST_SCREEN_HOME);
            return;
        }
        earcon(core, ST_EARCON_KEY);
        go(core, ST_SCREEN_BUSY);
        core->pending = PENDING_RECORD_END;
    } else {
        refuse_key(core);
    }
}

static void key_teacher_menu(struct st_core *core, int key)
{
    int n;

    switch (key) {
    case '1':
        earcon(core, ST_EARCON_KEY);
        go(core, ST_SCREEN_TEACHER_CODE);
        break;
    case '2':
        earcon(core, ST_EARCON_KEY);
        n = core->ops->list_families(core->be, core->view.rows, ST_ROWS_MAX);
        go_quietly(core, ST_SCREEN_TEACHER_LIST);
        core->view.nrows = n > 0 ? n : 0;
        core->view.first_row = 0;
        speak_screen(core);
        break;
    case '3':
    case '4':
        earcon(core, ST_EARCON_KEY);
        go(core, key == '3' ? ST_SCREEN_TEACHER_QUIET : ST_SCREEN_TEACHER_QUOTA);
        if (core->ops->get_settings(core->be, &core->view.settings) < 0)
            memset(&core->view.settings, 0, sizeof(core->view.settings));
        break;
    case '5':
        earcon(core, ST_EARCON_KEY);
        if (core->ops->get_settings(core->be, &core->view.settings) < 0)
            memset(&core->view.settings, 0, sizeof(core->view.settings));
        go(core, ST_SCREEN_TEACHER_VOICE);
        break;
    case ST_KEY_STAR:
    case ST_KEY_BACK:
        leave(core);
        break;
    default:
        refuse_key(core);
        break;
    }
}

/* Digits, Backspace and '*' (back to the menu) work the same on every teacher
 * entry screen; returns true when the key was one of those. */
static bool teacher_entry_key(struct st_core *core, int key, size_t max)
{
    if (key >= '0' && key <= '9') {
        type_digit(core, key, max);
        return true;
    }
    if (key == ST_KEY_BACK && erase_digit(core))
        return true;
    if (key == ST_KEY_STAR || key == ST_KEY_BACK) {
        earcon(core, ST_EARCON_KEY);
        wipe(core->code, sizeof(core->code));
        wipe(core->first_pin, sizeof(core->first_pin));
        go(core, ST_SCREEN_TEACHER_MENU);
        return true;
    }
    return false;
}

static void key_teacher_code(struct st_core *core, int key)
{
    if (teacher_entry_key(core, key, ST_CODE_MAX))
        return;
    if (key != ST_KEY_ENTER || strlen(core->view.entry) < 4) {
        refuse_key(core);
        return;
    }
    earcon(core, ST_EARCON_KEY);
    memcpy(core->code, core->view.entry, sizeof(core->code));
    go(core, ST_SCREEN_TEACHER_NEWPIN);
}

static void key_teacher_newpin(struct st_core *core, int key)
{
    if (teacher_entry_key(core, key, ST_PIN_MAX))
        return;
    if (key != ST_KEY_ENTER) {
        refuse_key(core);
        return;
    }
    if (strlen(core->view.entry) < ST_PIN_MIN) {
        earcon(core, ST_EARCON_ERROR);
        say(core, ST_PROMPT_NEWPIN, 0);
        clear_entry(core);
        return;
    }
    if (core->view.step == 0) {
        earcon(core, ST_EARCON_KEY);
        memcpy(core->first_pin, core->view.entry, sizeof(core->first_pin));
        clear_entry(core);
        core->view.step = 1;
        speak_screen(core);
        return;
    }
    if (strcmp(core->first_pin, core->view.entry) != 0) {
        earcon(core, ST_EARCON_ERROR);
        wipe(core->first_pin, sizeof(core->first_pin));
        notice(core, ST_NOTICE_PIN_MISMATCH, 0, ST_SCREEN_TEACHER_NEWPIN);
        return;
    }
    earcon(core, ST_EARCON_KEY);
    /* Joining talks to the relay: draw "please wait" first, run it on the tick. */
    go(core, ST_SCREEN_BUSY);
    core->pending = PENDING_ADD_FAMILY;
}

static void key_teacher_list(struct st_core *core, int key)
{
    const int page = 4;

    if ((key == ST_KEY_HASH || key == '8') && core->view.first_row + page < core->view.nrows) {
        core->view.first_row += page;
        earcon(core, ST_EARCON_KEY);
    } else if (key == '2' && core->view.first_row > 0) {
        core->view.first_row -= page;
        if (core->view.first_row < 0)
            core->view.first_row = 0;
        earcon(core, ST_EARCON_KEY);
    } else if (key == ST_KEY_STAR || key == ST_KEY_BACK || key == ST_KEY_ENTER) {
        earcon(core, ST_EARCON_KEY);
        go(core, ST_SCREEN_TEACHER_MENU);
    } else {
        refuse_key(core);
    }
}

static void save_settings(struct st_core *core)
{
    int res = core->ops->set_settings(core->be, &core->view.settings);

    earcon(core, res == 0 ? ST_EARCON_OK : ST_EARCON_ERROR);
    notice(core, res == 0 ? ST_NOTICE_SAVED : ST_NOTICE_FAILED, res, ST_SCREEN_TEACHER_MENU);
}

static void key_teacher_quiet(struct st_core *core, int key)
{
    uint64_t hhmm = 0;
    int minutes;

    if (teacher_entry_key(core, key, 4))
        return;
    if (key != ST_KEY_ENTER || strlen(core->view.entry) != 4) {
        refuse_key(core);
        return;
    }
    if (ju_parse_u64(core->view.entry, 2359, &hhmm) < 0 || hhmm / 100 > 23 || hhmm % 100 > 59) {
        earcon(core, ST_EARCON_ERROR);
        notice(core, ST_NOTICE_BAD_TIME, 0, ST_SCREEN_TEACHER_QUIET);
        return;
    }
    minutes = (int)(hhmm / 100 * 60 + hhmm % 100);
    if (core->view.step == 0) {
        earcon(core, ST_EARCON_KEY);
        core->first_quiet = minutes;
        clear_entry(core);
        core->view.step = 1;
        speak_screen(core);
        return;
    }
    core->view.settings.quiet_start = core->first_quiet;
    core->view.settings.quiet_end = minutes;
    save_settings(core);
}

static void key_teacher_quota(struct st_core *core, int key)
{
    if (teacher_entry_key(core, key, 7))
        return;
    if (key != ST_KEY_ENTER || !core->view.entry[0]) {
        refuse_key(core);
        return;
    }
    uint64_t quota_mb = 0;
    ju_parse_u64(core->view.entry, 9999999, &quota_mb); /* at most 7 digits */
    core->view.settings.quota_mb = (int64_t)quota_mb;
    save_settings(core);
}

/* Spoken prompts: one key, 0 off, 1 slow, 2 normal, 3 fast. */
static void key_teacher_voice(struct st_core *core, int key)
{
    if (key >= '0' && key <= '3') {
        core->view.settings.voice = key - '0';
        save_settings(core);
    } else if (key == ST_KEY_STAR || key == ST_KEY_BACK) {
        earcon(core, ST_EARCON_KEY);
        go(core, ST_SCREEN_TEACHER_MENU);
    } else {
        refuse_key(core);
    }
}

/* Follows playback: the next letter is introduced; after the last one the
 * home screen says "that was all" (or the reply under review comes back). */
static void poll_playing(struct st_core *core)
{
    int index = 0, total = 0;
    int res = core->ops->audio_poll(core->be, &index, &total);

    core->last_key = core->now; /* listening is not being idle */
    if (res > 0) {
        if (index != core->view.play_index) {
            /* The next letter: who it is from, before it plays. */
            core->view.play_index = index;
            core->view.paused = false;
            update_from(core);
            if (core->announce)
                say(core, ST_PROMPT_LETTER, index);
        }
        core->view.play_total = total;
    } else if (core->playing_draft) {
        core->playing_draft = false;
        go(core, ST_SCREEN_REVIEW);
    } else {
        go_quietly(core, ST_SCREEN_HOME);
        say(core, ST_PROMPT_ALL_DONE, 0);
    }
}

void st_core_key(struct st_core *core, int key, int64_t now)
{
    core->now = now;
    /* A key goes to the screen the listener hears, not to the one the last
     * tick left: if the letter has ended since (the speaker fell silent,
     * "that was all" is due), the key belongs to the home screen, where 3
     * plays the last letter again, not to the ended letter's keys, where 3
     * is the speed and would start it over at another. */
    if (core->view.screen == ST_SCREEN_PLAYING)
        poll_playing(core);
    core->last_key = now;

    switch (core->view.screen) {
    case ST_SCREEN_START:
        key_start(core, key);
        break;
    case ST_SCREEN_PIN:
        key_pin(core, key, false);
        break;
    case ST_SCREEN_TEACHER_PIN:
        key_pin(core, key, true);
        break;
    case ST_SCREEN_REFUSED:
        /* Keys do nothing while the station makes a wrong guesser wait. */
        earcon(core, ST_EARCON_ERROR);
        say(core, ST_PROMPT_WAIT, seconds_of(core->view.wait_ms));
        break;
    case ST_SCREEN_BUSY:
        if (core->pending == PENDING_RECORD_START) {
            /* A key cuts the prompt short: the recording starts now. */
            start_recording(core);
            core->pending = PENDING_NONE;
            break;
        }
        earcon(core, ST_EARCON_ERROR);
        say(core, ST_PROMPT_BUSY, 0);
        break;
    case ST_SCREEN_HOME:
        key_home(core, key);
        break;
    case ST_SCREEN_PLAYING:
        key_playing(core, key);
        break;
    case ST_SCREEN_RECORDING:
        key_recording(core, key);
        break;
    case ST_SCREEN_NOTICE:
        if (key == ST_KEY_STAR && core->config.station) {
            leave(core);
        } else {
            earcon(core, ST_EARCON_KEY);
            go(core, core->after_notice);
        }
        break;
    case ST_SCREEN_TEACHER_MENU:
        key_teacher_menu(core, key);
        break;
    case ST_SCREEN_TEACHER_CODE:
        key_teacher_code(core, key);
        break;
    case ST_SCREEN_TEACHER_NEWPIN:
        key_teacher_newpin(core, key);
        break;
    case ST_SCREEN_TEACHER_LIST:
        key_teacher_list(core, key);
        break;
    case ST_SCREEN_TEACHER_QUIET:
        key_teacher_quiet(core, key);
        break;
    case ST_SCREEN_TEACHER_QUOTA:
        key_teacher_quota(core, key);
        break;
    case ST_SCREEN_TEACHER_VOICE:
        key_teacher_voice(core, key);
        break;
    case ST_SCREEN_REVIEW:
        key_review(core, key);
        break;
    }
}

static void run_pending(struct st_core *core)
{
    unsigned number = 0;
    int res, seconds = 0;

    switch (core->pending) {
    case PENDING_RECORD_START:
        core->last_key = core->now;
        if (core->ops->speaking && core->ops->speaking(core->be) > 0 &&
            core->now - core->pending_since < RECORD_PROMPT_MAX_MS)
            break;
        core->pending = PENDING_NONE;
        start_recording(core);
        break;
    case PENDING_RECORD_END:
        res = core->ops->record_poll(core->be, &seconds);
        core->last_key = core->now;
        if (res > 0)
            break;
        core->pending = PENDING_NONE;
        if (res == 0) {
            earcon(core, ST_EARCON_OK);
            go(core, ST_SCREEN_REVIEW); /* heard before it is sent */
        } else {
            earcon(core, ST_EARCON_ERROR);
            notice(core, ST_NOTICE_FAILED, res, ST_SCREEN_HOME);
        }
        break;
    case PENDING_ADD_FAMILY:
        res = core->ops->add_family(core->be, core->code, core->first_pin, &number);
        wipe(core->code, sizeof(core->code));
        wipe(core->first_pin, sizeof(core->first_pin));
        core->pending = PENDING_NONE;
        core->last_key = core->now; /* the wait was not the teacher's idleness */
        if (res == 0) {
            earcon(core, ST_EARCON_OK);
            core->view.family = number;
            notice(core, ST_NOTICE_ADDED, 0, ST_SCREEN_TEACHER_MENU);
        } else {
            earcon(core, ST_EARCON_ERROR);
            notice(core, ST_NOTICE_FAILED, res, ST_SCREEN_TEACHER_MENU);
        }
        break;
    default:
        core->pending = PENDING_NONE;
        go(core, rest_screen(core));
        break;
    }
}

void st_core_tick(struct st_core *core, int64_t now)
{
    int seconds = 0, res;

    core->now = now;
    switch (core->view.screen) {
    case ST_SCREEN_BUSY:
        run_pending(core);
        return;
    case ST_SCREEN_REFUSED:
        if (!core->wait_until)
            core->wait_until = now + core->view.wait_ms + WAIT_MARGIN_MS;
        core->view.wait_ms =
            core->wait_until - WAIT_MARGIN_MS > now ? core->wait_until - WAIT_MARGIN_MS - now : 0;
        if (now >= core->wait_until)
            st_core_reset(core);
        return;
    case ST_SCREEN_PLAYING:
        poll_playing(core);
        return;
    case ST_SCREEN_RECORDING:
        res = core->ops->record_poll(core->be, &seconds);
        core->last_key = now;
        core->view.record_seconds = seconds;
        if (res == 0) {
            /* It stopped by itself at its longest length: heard before sent. */
            earcon(core, ST_EARCON_OK);
            go(core, ST_SCREEN_REVIEW);
        } else if (res < 0) {
            earcon(core, ST_EARCON_ERROR);
            notice(core, ST_NOTICE_FAILED, res, ST_SCREEN_HOME);
        }
        return;
    case ST_SCREEN_NOTICE:
        if (now >= core->notice_until)
            go(core, core->after_notice);
        break;
    case ST_SCREEN_HOME:
        if (now - core->last_count >= 1000) {
            int before = core->view.new_count, bedtime_before = core->view.bedtime;
            refresh_count(core);
            /* A bedtime letter whose time comes while the home screen shows
             * chimes and is announced; any other letter that arrives is
             * announced at once, aloud. */
            if (core->view.bedtime > bedtime_before) {
                earcon(core, ST_EARCON_CHIME);
                say_count(core, true);
            } else if (before >= 0 && core->view.new_count > before) {
                say_count(core, true);
            }
        }
        break;
    default:
        break;
    }

    if (core->config.idle_ms > 0 && now - core->last_key >= core->config.idle_ms) {
        bool at_rest = core->view.screen == rest_screen(core) && !core->view.entry[0] &&
                       (!core->config.station || (!core->in_session && !core->teacher));
        if (!at_rest) {
            leave(core);
            core->last_key = now;
        }
    }
}
