/*
 * The keypad state machine, driven key by key with a fake backend: the
 * backend is the edge these tests are not about (the program's tests in
 * tmux drive the real one).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "station_core.h"

static int failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__, __LINE__, __func__, #cond); \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

struct fake {
    /* what the world holds */
    unsigned good_family;
    const char *good_pin, *teacher_pin;
    int64_t refuse_wait;
    int new_messages;
    int playing_left; /* polls before playback ends */
    int play_total;
    bool recording, stopping;
    int finish_polls;      /* polls a stopped recording takes to be queued */
    int record_polls_left; /* -1: runs until stopped */
    /* what the core did */
    int logins, teacher_logins, logouts, plays, stops, records, sends, adds, earcons;
    unsigned login_family;
    char login_pin[16];
    char add_code[32], add_pin[16];
    struct st_settings saved;
    bool open;
    /* what was said, in order */
    enum st_prompt said[256];
    int said_number[256];
    int nsaid;
    int speaking_polls;                /* polls of speaking() that still say 1 */
    int drafts, draft_plays, discards; /* drafts kept back, played, thrown away */
    /* keys during playback */
    bool paused;
    enum st_play_key play_keys[32];
    int nplay_keys;
    int speeds[2]; /* per family: good_family, then 13; 0 never set */
    /* bedtime letters whose time has come, and the chimes heard */
    int bedtime_due;
    int chimes;
};

static int f_login(void *p, unsigned family, const char *pin, int64_t *wait_ms)
{
    struct fake *f = p;
    f->logins++;
    f->login_family = family;
    snprintf(f->login_pin, sizeof(f->login_pin), "%s", pin);
    if ((family == f->good_family && !strcmp(pin, f->good_pin)) ||
        (family == 13 && !strcmp(pin, "5555"))) {
        f->open = true;
        return 0;
    }
    *wait_ms = f->refuse_wait;
    return ST_LOGIN_REFUSED;
}

static int f_teacher_login(void *p, const char *pin, int64_t *wait_ms)
{
    struct fake *f = p;
    f->teacher_logins++;
    if (!strcmp(pin, f->teacher_pin))
        return 0;
    *wait_ms = f->refuse_wait;
    return ST_LOGIN_REFUSED;
}

static void f_logout(void *p)
{
    struct fake *f = p;
    f->logouts++;
    f->open = false;
    if (f->recording) { /* the session's end keeps a reply being recorded, as a draft */
        f->recording = false;
        f->drafts++;
    }
}

static int f_audio_key(void *p, enum st_play_key key)
{
    struct fake *f = p;
    int index;
    if (f->playing_left <= 0)
        return -ENOENT;
    if (f->nplay_keys < 32)
        f->play_keys[f->nplay_keys++] = key;
    if (key == ST_PLAY_PAUSE) {
        f->paused = !f->paused;
        return f->paused;
    }
    f->paused = false;
    if (key == ST_PLAY_NEXT) {
        index = f->play_total - (f->playing_left - 1) / 3;
        f->playing_left = (f->play_total - index) * 3; /* the next letter's first poll */
    }
    return 0;
}

static void f_audio_from(void *p, char *name, size_t size)
{
    struct fake *f = p;
    snprintf(name, size, "%s", f->playing_left > 0 ? "Mama" : "");
}

static int *f_speed_of(struct fake *f)
{
    return &f->speeds[f->login_family == 13 ? 1 : 0];
}

static int f_get_speed(void *p)
{
    struct fake *f = p;
    return *f_speed_of(f) ? *f_speed_of(f) : ST_SPEED_NORMAL;
}

static int f_set_speed(void *p, int percent)
{
    struct fake *f = p;
    *f_speed_of(f) = percent;
    return 0;
}

static int f_new_count(void *p)
{
    struct fake *f = p;
    return f->open ? f->new_messages : -1;
}

static int f_play_new(void *p)
{
    struct fake *f = p;
    f->plays++;
    f->play_total = f->new_messages;
    f->playing_left = f->new_messages * 3;
    return f->new_messages;
}

static int f_replay_last(void *p)
{
    struct fake *f = p;
    if (!f->plays)
        return -ENOENT;
    f->play_total = 1;
    f->playing_left = 3;
    return 0;
}

/* Playback moves on only as time passes, in ticks(); a poll made for a key
 * sees where it is. */
static bool ticking;

static int f_audio_poll(void *p, int *index, int *total)
{
    struct fake *f = p;
    if (f->playing_left <= 0)
        return 0;
    if (f->paused || !ticking) {
        *total = f->play_total;
        *index = f->play_total - (f->playing_left - 1) / 3;
        return 1;
    }
    f->playing_left--;
    *total = f->play_total;
    *index = f->play_total - f->playing_left / 3;
    if (f->playing_left == 0) {
        f->new_messages = 0;
        return 0;
    }
    return 1;
}

static void f_audio_stop(void *p)
{
    struct fake *f = p;
    f->stops++;
    f->playing_left = 0;
    f->paused = false;
}

static int f_record_start(void *p)
{
    struct fake *f = p;
    f->records++;
    f->recording = true;
    return 0;
}

static int f_record_stop(void *p)
{
    struct fake *f = p;
    if (f->recording && !f->stopping) {
        f->stopping = true;
        f->finish_polls = 2;
    }
    return 0;
}

static int f_record_poll(void *p, int *seconds)
{
    struct fake *f = p;
    *seconds = 3;
    if (!f->recording)
        return 0;
    if (f->stopping ? f->finish_polls-- > 0 : f->record_polls_left != 0) {
        if (!f->stopping && f->record_polls_left > 0)
            f->record_polls_left--;
        return 1;
    }
    f->recording = false;
    f->stopping = false;
    f->drafts++; /* kept back until the person sends it */
    return 0;
}

static void f_earcon(void *p, enum st_earcon e)
{
    struct fake *f = p;
    f->earcons++;
    f->chimes += e == ST_EARCON_CHIME;
}

static int f_bedtime(void *p, char *from, size_t size)
{
    struct fake *f = p;
    snprintf(from, size, "%s", f->open && f->bedtime_due ? "Mama" : "");
    return f->open ? f->bedtime_due : 0;
}

static int f_add_family(void *p, const char *invite, const char *pin, unsigned *number)
{
    struct fake *f = p;
    f->adds++;
    snprintf(f->add_code, sizeof(f->add_code), "%s", invite);
    snprintf(f->add_pin, sizeof(f->add_pin), "%s", pin);
    *number = 7;
    return 0;
}

static int f_list(void *p, struct st_family_row *rows, int max)
{
    (void)p;
    for (int i = 0; i < 6 && i < max; i++) {
        rows[i].number = (unsigned)i + 1;
        rows[i].bytes = 1000 * (i + 1);
        rows[i].last_sync = 0;
        rows[i].unplayed = -1;
    }
    return 6;
}

static int f_get_settings(void *p, struct st_settings *s)
{
    struct fake *f = p;
    *s = f->saved;
    return 0;
}

static int f_set_settings(void *p, const struct st_settings *s)
{
    struct fake *f = p;
    f->saved = *s;
    return 0;
}

static void f_say(void *p, enum st_prompt prompt, int number)
{
    struct fake *f = p;
    if (f->nsaid < 256) {
        f->said[f->nsaid] = prompt;
        f->said_number[f->nsaid] = number;
        f->nsaid++;
    }
}

static int f_speaking(void *p)
{
    struct fake *f = p;
    if (f->speaking_polls > 0) {
        f->speaking_polls--;
        return 1;
    }
    return 0;
}

static int f_draft_play(void *p)
{
    struct fake *f = p;
    if (!f->drafts)
        return -ENOENT;
    f->draft_plays++;
    f->playing_left = 3;
    f->play_total = 1;
    return 0;
}

static int f_draft_send(void *p)
{
    struct fake *f = p;
    if (!f->drafts)
        return -ENOENT;
    f->drafts--;
    f->sends++;
    return 0;
}

static int f_draft_discard(void *p)
{
    struct fake *f = p;
    if (!f->drafts)
        return -ENOENT;
    f->drafts--;
    f->discards++;
    return 0;
}

static const struct st_backend_ops fake_ops = {
    .draft_play = f_draft_play,
    .draft_send = f_draft_send,
    .draft_discard = f_draft_discard,
    .say = f_say,
    .speaking = f_speaking,
    .login = f_login,
    .teacher_login = f_teacher_login,
    .logout = f_logout,
    .new_count = f_new_count,
    .bedtime = f_bedtime,
    .play_new = f_play_new,
    .replay_last = f_replay_last,
    .audio_poll = f_audio_poll,
    .audio_stop = f_audio_stop,
    .audio_key = f_audio_key,
    .audio_from = f_audio_from,
    .get_speed = f_get_speed,
    .set_speed = f_set_speed,
    .record_start = f_record_start,
    .record_stop = f_record_stop,
    .record_poll = f_record_poll,
    .earcon = f_earcon,
    .add_family = f_add_family,
    .list_families = f_list,
    .get_settings = f_get_settings,
    .set_settings = f_set_settings,
};

static int64_t now;

static void setup(struct st_core *core, struct fake *f, bool station)
{
    struct st_config config = {.station = station, .idle_ms = 30000, .notice_ms = 1000};

    memset(f, 0, sizeof(*f));
    f->good_family = 12;
    f->good_pin = "7391";
    f->teacher_pin = "2468";
    f->refuse_wait = 2000;
    f->new_messages = 2;
    f->record_polls_left = -1;
    if (!station)
        f->open = true;
    now = 1000000;
    st_core_init(core, &config, &fake_ops, f, now);
}

static void keys(struct st_core *core, const char *s)
{
    for (; *s; s++) {
        now += 100;
        st_core_key(core, *s == '\r' ? ST_KEY_ENTER : *s == '<' ? ST_KEY_BACK : *s, now);
    }
}

static void ticks(struct st_core *core, int64_t ms)
{
    ticking = true;
    for (int64_t t = 0; t < ms; t += 100) {
        now += 100;
        st_core_tick(core, now);
    }
    ticking = false;
}

static bool memory_holds(const void *mem, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    const char *m = mem;
    for (size_t i = 0; i + n <= len; i++)
        if (!memcmp(m + i, needle, n))
            return true;
    return false;
}

static void login_opens_only_the_typed_family(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, true);
    CHECK(core.view.screen == ST_SCREEN_START);
    CHECK(core.view.new_count == -1);
    keys(&core, "12\r");
    CHECK(core.view.screen == ST_SCREEN_PIN);
    CHECK(core.view.family == 12);
    keys(&core, "7391\r");
    CHECK(f.logins == 1);
    CHECK(f.login_family == 12);
    CHECK(!strcmp(f.login_pin, "7391"));
    CHECK(core.view.screen == ST_SCREEN_HOME);
    CHECK(core.view.new_count == 2);
    /* The PIN is gone from the core's memory once it was checked. */
    CHECK(!memory_holds(&core, sizeof(core), "7391"));
    st_core_finish(&core);
}

static void wrong_pin_is_refused_and_keys_wait(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, true);
    keys(&core, "12\r1111\r");
    CHECK(core.view.screen == ST_SCREEN_REFUSED);
    CHECK(core.view.wait_ms == 2000);
    CHECK(f.logins == 1);
    CHECK(f.logouts == 0 || !f.open);
    /* Keys during the wait do nothing: no new try reaches the backend. */
    keys(&core, "12\r7391\r");
    CHECK(f.logins == 1);
    CHECK(core.view.screen == ST_SCREEN_REFUSED);
    ticks(&core, 1000);
    CHECK(core.view.screen == ST_SCREEN_REFUSED);
    CHECK(core.view.wait_ms > 0 && core.view.wait_ms < 2000);
    ticks(&core, 1100);
    CHECK(core.view.screen == ST_SCREEN_REFUSED);
    CHECK(core.view.wait_ms == 0);
    ticks(&core, 300);
    CHECK(core.view.screen == ST_SCREEN_START);
    CHECK(core.view.entry[0] == '\0');
    CHECK(core.view.family == 0);
    keys(&core, "12\r7391\r");
    CHECK(core.view.screen == ST_SCREEN_HOME);
    st_core_finish(&core);
}

static void short_pin_is_not_even_tried(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, true);
    keys(&core, "12\r739\r");
    CHECK(f.logins == 0);
    CHECK(core.view.screen == ST_SCREEN_PIN);
    keys(&core, "123456789"); /* longer than ST_PIN_MAX: the ninth is refused */
    CHECK(strlen(core.view.entry) == ST_PIN_MAX);
    st_core_finish(&core);
}

static void idle_timeout_forgets_the_family(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, true);
    keys(&core, "12\r7391\r");
    CHECK(core.view.screen == ST_SCREEN_HOME);
    ticks(&core, 29000);
    CHECK(core.view.screen == ST_SCREEN_HOME);
    ticks(&core, 1200);
    CHECK(core.view.screen == ST_SCREEN_START);
    CHECK(f.logouts >= 1);
    CHECK(!f.open);
    CHECK(core.view.family == 0);
    CHECK(core.view.new_count == -1);
    CHECK(!core.in_session);
    /* Half-typed numbers are forgotten too. */
    keys(&core, "45");
    ticks(&core, 31000);
    CHECK(core.view.entry[0] == '\0');
    st_core_finish(&core);
}

static void idle_timeout_waits_for_playback(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, true);
    keys(&core, "12\r7391\r");
    f.new_messages = 200; /* a long listen: 600 polls */
    keys(&core, "1");
    CHECK(core.view.screen == ST_SCREEN_PLAYING);
    ticks(&core, 40000);
    CHECK(core.view.screen == ST_SCREEN_PLAYING);
    CHECK(f.logouts == 0);
    st_core_finish(&core);
}

static void one_key_plays_all_new_in_order(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, false);
    CHECK(core.view.screen == ST_SCREEN_HOME);
    CHECK(core.view.new_count == 2);
    keys(&core, "1");
    CHECK(f.plays == 1);
    CHECK(core.view.screen == ST_SCREEN_PLAYING);
    CHECK(core.view.play_total == 2);
    ticks(&core, 200);
    CHECK(core.view.play_index == 1);
    ticks(&core, 300);
    CHECK(core.view.play_index == 2);
    ticks(&core, 300);
    CHECK(core.view.screen == ST_SCREEN_HOME);
    CHECK(core.view.new_count == 0);
    keys(&core, "1");
    CHECK(core.view.screen == ST_SCREEN_NOTICE);
    CHECK(core.view.notice == ST_NOTICE_NOTHING_NEW);
    keys(&core, "3");
    CHECK(core.view.screen == ST_SCREEN_HOME); /* a key ends the notice */
    keys(&core, "3");
    CHECK(core.view.screen == ST_SCREEN_PLAYING);
    CHECK(core.view.play_total == 1);
    keys(&core, "#"); /* any key stops */
    CHECK(f.stops == 1);
    CHECK(core.view.screen == ST_SCREEN_HOME);
    st_core_finish(&core);
}

static void replay_with_nothing_heard_says_so(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, false);
    keys(&core, "3");
    CHECK(core.view.screen == ST_SCREEN_NOTICE);
    CHECK(core.view.notice == ST_NOTICE_NOTHING_YET);
    ticks(&core, 1100);
    CHECK(core.view.screen == ST_SCREEN_HOME);
    st_core_finish(&core);
}

static void record_then_send(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, false);
    keys(&core, "2");
    CHECK(core.view.screen == ST_SCREEN_BUSY); /* the prompt first, then the microphone */
    ticks(&core, 100);
    CHECK(f.records == 1);
    CHECK(core.view.screen == ST_SCREEN_RECORDING);
    ticks(&core, 500);
    CHECK(core.view.record_seconds == 3);
    keys(&core, "\r");
    CHECK(core.view.screen == ST_SCREEN_BUSY); /* being finished: keys wait */
    keys(&core, "1");
    CHECK(f.plays == 0);
    ticks(&core, 300);
    /* Heard before it is sent: nothing leaves on its own. */
    CHECK(core.view.screen == ST_SCREEN_REVIEW);
    CHECK(f.drafts == 1 && f.sends == 0);
    ticks(&core, 20000);
    CHECK(f.sends == 0);
    keys(&core, "3");
    CHECK(f.sends == 1);
    CHECK(core.view.screen == ST_SCREEN_NOTICE && core.view.notice == ST_NOTICE_SENT);
    ticks(&core, 1100);
    CHECK(core.view.screen == ST_SCREEN_HOME);

    /* Other keys do not stop it. */
    keys(&core, "2");
    ticks(&core, 100);
    keys(&core, "<1#");
    CHECK(f.recording);
    CHECK(core.view.screen == ST_SCREEN_RECORDING);
    keys(&core, "2");
    ticks(&core, 300);
    CHECK(core.view.screen == ST_SCREEN_REVIEW);
    CHECK(!f.recording);
    keys(&core, "3");
    CHECK(f.sends == 2);

    /* A recording that reaches its longest length is kept for review too. */
    ticks(&core, 1100);
    f.record_polls_left = 2;
    keys(&core, "2");
    ticks(&core, 600);
    CHECK(core.view.screen == ST_SCREEN_REVIEW);
    CHECK(f.sends == 2);
    keys(&core, "3");
    CHECK(f.sends == 3);
    CHECK(core.view.notice == ST_NOTICE_SENT);
    st_core_finish(&core);
}

static void star_leaves_and_stops_everything(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, true);
    keys(&core, "12\r7391\r2");
    ticks(&core, 100);
    CHECK(core.view.screen == ST_SCREEN_RECORDING);
    keys(&core, "*");
    CHECK(f.drafts == 1 && f.sends == 0); /* a reply begun is kept, unsent, when the child leaves */
    CHECK(!f.recording);
    CHECK(core.view.screen == ST_SCREEN_START);
    CHECK(!f.open);

    keys(&core, "12\r7391\r1");
    CHECK(core.view.screen == ST_SCREEN_PLAYING);
    keys(&core, "*");
    CHECK(f.stops >= 1);
    CHECK(core.view.screen == ST_SCREEN_START);
    CHECK(!f.open);
    st_core_finish(&core);
}

static void home_mode_has_no_pin_and_no_leaving(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, false);
    CHECK(core.view.screen == ST_SCREEN_HOME);
    keys(&core, "*");
    CHECK(core.view.screen == ST_SCREEN_HOME);
    CHECK(f.logouts == 0);
    ticks(&core, 40000);
    CHECK(core.view.screen == ST_SCREEN_HOME);
    CHECK(core.view.new_count == 2);
    CHECK(f.logins == 0);
    st_core_finish(&core);
}

static void every_key_answers_with_a_sound(void)
{
    struct st_core core;
    struct fake f;
    const char *typed = "12<2\r73<91\r#*9";
    int before;

    setup(&core, &f, true);
    before = f.earcons;
    keys(&core, typed);
    CHECK(f.earcons - before >= (int)strlen(typed));
    st_core_finish(&core);
}

static void teacher_adds_a_family(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, true);
    keys(&core, "*");
    CHECK(core.view.screen == ST_SCREEN_TEACHER_PIN);
    keys(&core, "2468\r");
    CHECK(core.view.screen == ST_SCREEN_TEACHER_MENU);
    keys(&core, "1");
    CHECK(core.view.screen == ST_SCREEN_TEACHER_CODE);
    keys(&core, "48213377\r");
    CHECK(core.view.screen == ST_SCREEN_TEACHER_NEWPIN);
    keys(&core, "5555\r5556\r");
    CHECK(core.view.notice == ST_NOTICE_PIN_MISMATCH);
    CHECK(f.adds == 0);
    ticks(&core, 1100);
    CHECK(core.view.screen == ST_SCREEN_TEACHER_NEWPIN);
    keys(&core, "5555\r5555\r");
    CHECK(core.view.screen == ST_SCREEN_BUSY);
    ticks(&core, 100);
    CHECK(f.adds == 1);
    CHECK(!strcmp(f.add_code, "48213377"));
    CHECK(!strcmp(f.add_pin, "5555"));
    CHECK(core.view.notice == ST_NOTICE_ADDED);
    CHECK(core.view.family == 7);
    CHECK(!memory_holds(&core, sizeof(core), "5555"));
    ticks(&core, 1100);
    CHECK(core.view.screen == ST_SCREEN_TEACHER_MENU);
    st_core_finish(&core);
}

static void teacher_sets_quiet_hours_and_quota(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, true);
    keys(&core, "*2468\r3");
    CHECK(core.view.screen == ST_SCREEN_TEACHER_QUIET);
    keys(&core, "2575\r"); /* not a time */
    CHECK(core.view.notice == ST_NOTICE_BAD_TIME);
    ticks(&core, 1100);
    keys(&core, "2200\r0630\r");
    CHECK(core.view.notice == ST_NOTICE_SAVED);
    CHECK(f.saved.quiet_start == 22 * 60);
    CHECK(f.saved.quiet_end == 6 * 60 + 30);
    ticks(&core, 1100);
    keys(&core, "4");
    CHECK(core.view.screen == ST_SCREEN_TEACHER_QUOTA);
    CHECK(core.view.settings.quiet_start == 22 * 60);
    keys(&core, "250\r");
    CHECK(f.saved.quota_mb == 250);
    CHECK(f.saved.quiet_start == 22 * 60); /* the quota keeps the quiet hours */
    st_core_finish(&core);
}

static void teacher_list_pages(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, true);
    keys(&core, "*2468\r2");
    CHECK(core.view.screen == ST_SCREEN_TEACHER_LIST);
    CHECK(core.view.nrows == 6);
    CHECK(core.view.first_row == 0);
    keys(&core, "#");
    CHECK(core.view.first_row == 4);
    keys(&core, "#"); /* no further page */
    CHECK(core.view.first_row == 4);
    keys(&core, "2");
    CHECK(core.view.first_row == 0);
    keys(&core, "*");
    CHECK(core.view.screen == ST_SCREEN_TEACHER_MENU);
    /* The teacher's screens time out like any other. */
    ticks(&core, 31000);
    CHECK(core.view.screen == ST_SCREEN_START);
    CHECK(!core.teacher);
    CHECK(core.view.nrows == 0);
    st_core_finish(&core);
}

static void wrong_teacher_pin_waits_too(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, true);
    keys(&core, "*1357\r");
    CHECK(core.view.screen == ST_SCREEN_REFUSED);
    keys(&core, "*2468\r");
    CHECK(f.teacher_logins == 1);
    ticks(&core, 2500);
    CHECK(core.view.screen == ST_SCREEN_START);
    st_core_finish(&core);
}

static void other_keys_change_nothing(void)
{
    struct st_core core;
    struct fake f;
    struct st_view before;

    setup(&core, &f, true);
    keys(&core, "12");
    before = core.view;
    keys(&core, "abc/+");
    CHECK(!memcmp(&before, &core.view, sizeof(before)));
    st_core_finish(&core);
}

static bool said(const struct fake *f, enum st_prompt p, int number)
{
    for (int i = 0; i < f->nsaid; i++)
        if (f->said[i] == p && (number < 0 || f->said_number[i] == number))
            return true;
    return false;
}

static enum st_prompt last_said(const struct fake *f)
{
    return f->nsaid ? f->said[f->nsaid - 1] : ST_PROMPT_NONE;
}

static void every_screen_is_spoken(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, true);
    CHECK(last_said(&f) == ST_PROMPT_START);
    keys(&core, "12\r");
    CHECK(last_said(&f) == ST_PROMPT_PIN && f.said_number[f.nsaid - 1] == 12);
    keys(&core, "1111\r");
    CHECK(last_said(&f) == ST_PROMPT_REFUSED && f.said_number[f.nsaid - 1] == 2);
    keys(&core, "5");
    CHECK(last_said(&f) == ST_PROMPT_WAIT);
    ticks(&core, 2500);
    CHECK(last_said(&f) == ST_PROMPT_START);
    keys(&core, "12\r7391\r");
    CHECK(last_said(&f) == ST_PROMPT_HOME_COUNT && f.said_number[f.nsaid - 1] == 2);
    keys(&core, "9"); /* a key this screen does not take */
    CHECK(last_said(&f) == ST_PROMPT_KEY_REFUSED);
    keys(&core, "1");
    CHECK(core.view.screen == ST_SCREEN_PLAYING);
    ticks(&core, 3000);
    CHECK(core.view.screen == ST_SCREEN_HOME);
    CHECK(last_said(&f) == ST_PROMPT_ALL_DONE); /* "that was all" at the end */
    keys(&core, "2");
    CHECK(last_said(&f) == ST_PROMPT_RECORD);
    ticks(&core, 100);
    keys(&core, "2");
    CHECK(last_said(&f) == ST_PROMPT_BUSY);
    ticks(&core, 300);
    CHECK(last_said(&f) == ST_PROMPT_REVIEW);
    keys(&core, "3");
    CHECK(last_said(&f) == ST_PROMPT_SENT);
    keys(&core, "#");
    f.new_messages = 0;
    ticks(&core, 6000);
    keys(&core, "1");
    CHECK(last_said(&f) == ST_PROMPT_NOTHING_NEW);
    keys(&core, "*");
    CHECK(last_said(&f) == ST_PROMPT_START);

    /* The teacher's screens. */
    keys(&core, "*");
    CHECK(last_said(&f) == ST_PROMPT_TEACHER_PIN);
    keys(&core, "2468\r");
    CHECK(last_said(&f) == ST_PROMPT_TEACHER_MENU);
    keys(&core, "2");
    CHECK(last_said(&f) == ST_PROMPT_TEACHER_LIST && f.said_number[f.nsaid - 1] == 6);
    keys(&core, "*3");
    CHECK(last_said(&f) == ST_PROMPT_QUIET_START);
    keys(&core, "2561\r");
    CHECK(last_said(&f) == ST_PROMPT_BAD_TIME);
    ticks(&core, 1100);
    keys(&core, "2200\r");
    CHECK(last_said(&f) == ST_PROMPT_QUIET_END);
    keys(&core, "0600\r");
    CHECK(last_said(&f) == ST_PROMPT_SAVED);
    ticks(&core, 1100);
    keys(&core, "4");
    CHECK(last_said(&f) == ST_PROMPT_QUOTA);
    keys(&core, "*1");
    CHECK(last_said(&f) == ST_PROMPT_TEACHER_CODE);
    keys(&core, "12345\r");
    CHECK(last_said(&f) == ST_PROMPT_NEWPIN);
    keys(&core, "1234\r");
    CHECK(last_said(&f) == ST_PROMPT_NEWPIN_AGAIN);
    keys(&core, "4321\r");
    CHECK(last_said(&f) == ST_PROMPT_PIN_MISMATCH);
    CHECK(said(&f, ST_PROMPT_NEWPIN, -1));
    st_core_finish(&core);
}

static void teacher_turns_prompts_off_and_sets_their_speed(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, true);
    keys(&core, "*2468\r5");
    CHECK(core.view.screen == ST_SCREEN_TEACHER_VOICE);
    CHECK(last_said(&f) == ST_PROMPT_VOICE);
    keys(&core, "7"); /* only 0..3 */
    CHECK(last_said(&f) == ST_PROMPT_KEY_REFUSED);
    keys(&core, "0");
    CHECK(f.saved.voice == ST_VOICE_OFF);
    ticks(&core, 1100);
    keys(&core, "53");
    CHECK(f.saved.voice == ST_VOICE_FAST);
    st_core_finish(&core);
}

static void a_key_cuts_the_record_prompt_short(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, false);
    f.speaking_polls = 1000;
    keys(&core, "2");
    ticks(&core, 2000);
    CHECK(f.records == 0); /* the microphone waits for the prompt to end */
    CHECK(core.view.screen == ST_SCREEN_BUSY);
    keys(&core, "5");
    CHECK(f.records == 1);
    CHECK(core.view.screen == ST_SCREEN_RECORDING);
    keys(&core, "2");
    ticks(&core, 300);
    keys(&core, "3");
    CHECK(f.sends == 1);

    /* A prompt that never ends does not hold the microphone for ever. */
    ticks(&core, 1100);
    f.speaking_polls = 1000000;
    keys(&core, "2");
    ticks(&core, 16000);
    CHECK(f.records == 2);
    st_core_finish(&core);
}

static void a_letter_that_arrives_is_announced(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, false);
    CHECK(last_said(&f) == ST_PROMPT_HOME_COUNT);
    f.new_messages = 3;
    ticks(&core, 1100);
    CHECK(last_said(&f) == ST_PROMPT_ARRIVED && f.said_number[f.nsaid - 1] == 3);
    CHECK(core.view.new_count == 3);
    /* Fewer (one was heard elsewhere) is not an arrival. */
    f.new_messages = 1;
    f.nsaid = 0;
    ticks(&core, 1100);
    CHECK(core.view.new_count == 1);
    CHECK(!said(&f, ST_PROMPT_ARRIVED, -1));
    st_core_finish(&core);
}

/* A key pressed as the last letter ends, before a tick saw it end, goes to
 * the home screen the listener now hears about ("that was all"): 3 plays
 * the letter again, it does not change the speed of a letter that is over. */
static void a_key_as_the_last_letter_ends_goes_to_the_home_screen(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, false);
    f.new_messages = 1;
    keys(&core, "1");
    CHECK(core.view.screen == ST_SCREEN_PLAYING);
    ticks(&core, 200);
    f.playing_left = 0; /* it ends between two ticks */
    f.new_messages = 0;
    f.nsaid = 0;
    keys(&core, "3");
    CHECK(said(&f, ST_PROMPT_ALL_DONE, -1));
    CHECK(f.speeds[0] == 0); /* not the speed key */
    CHECK(core.view.screen == ST_SCREEN_PLAYING && core.view.speed == ST_SPEED_NORMAL);
    CHECK(f.play_total == 1 && f.playing_left == 3); /* the last letter, again */
    st_core_finish(&core);
}

/* A bedtime letter makes no sound before its time; when its time comes
 * while the home screen shows it chimes once, is announced, and 1 plays. */
static void a_bedtime_letter_chimes_when_its_time_comes(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, false);
    f.new_messages = 0; /* the backend counts a waiting bedtime letter nowhere */
    ticks(&core, 1100);
    f.nsaid = 0;
    ticks(&core, 5000);
    CHECK(f.chimes == 0 && f.nsaid == 0 && core.view.bedtime == 0);
    f.bedtime_due = 1;
    f.new_messages = 1;
    ticks(&core, 1100);
    CHECK(f.chimes == 1);
    CHECK(last_said(&f) == ST_PROMPT_BEDTIME && !said(&f, ST_PROMPT_ARRIVED, -1));
    CHECK(core.view.bedtime == 1 && !strcmp(core.view.bedtime_from, "Mama"));
    ticks(&core, 5000);
    CHECK(f.chimes == 1); /* once */
    keys(&core, "1");
    CHECK(core.view.screen == ST_SCREEN_PLAYING && f.plays == 1);
    st_core_finish(&core);
}

static void listen_before_sending(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, true);
    keys(&core, "12\r7391\r2");
    ticks(&core, 100);
    keys(&core, "2");
    ticks(&core, 300);
    CHECK(core.view.screen == ST_SCREEN_REVIEW);
    CHECK(last_said(&f) == ST_PROMPT_REVIEW);
    /* 1: heard back, then the choices again; a key during it stops it. */
    keys(&core, "1");
    CHECK(f.draft_plays == 1 && core.view.screen == ST_SCREEN_PLAYING);
    ticks(&core, 1000);
    CHECK(core.view.screen == ST_SCREEN_REVIEW);
    CHECK(last_said(&f) == ST_PROMPT_REVIEW);
    keys(&core, "1");
    keys(&core, "9");
    CHECK(core.view.screen == ST_SCREEN_REVIEW);
    /* * once asks, any other key keeps it. */
    keys(&core, "*");
    CHECK(core.view.step == 1 && last_said(&f) == ST_PROMPT_DISCARD_ASK);
    CHECK(f.discards == 0);
    keys(&core, "5");
    CHECK(core.view.step == 0 && f.discards == 0 && f.drafts == 1);
    /* The idle timeout is no choice: the draft stays, unsent. */
    ticks(&core, 31000);
    CHECK(core.view.screen == ST_SCREEN_START);
    CHECK(f.drafts == 1 && f.sends == 0 && f.discards == 0);

    /* 2: again (this take goes, as asked); * twice throws the new one away. */
    keys(&core, "12\r7391\r2");
    ticks(&core, 100);
    keys(&core, "2");
    ticks(&core, 300);
    CHECK(f.drafts == 2);
    keys(&core, "2");
    CHECK(f.discards == 1);
    ticks(&core, 100);
    CHECK(core.view.screen == ST_SCREEN_RECORDING);
    keys(&core, "2");
    ticks(&core, 300);
    CHECK(core.view.screen == ST_SCREEN_REVIEW);
    keys(&core, "**");
    CHECK(f.discards == 2 && f.sends == 0);
    CHECK(core.view.screen == ST_SCREEN_NOTICE && core.view.notice == ST_NOTICE_DISCARDED);
    CHECK(last_said(&f) == ST_PROMPT_DISCARDED);
    st_core_finish(&core);
}

static void keys_during_playback(void)
{
    struct st_core core;
    struct fake f;

    setup(&core, &f, true);
    f.new_messages = 3;
    keys(&core, "12\r7391\r");
    f.nsaid = 0;
    keys(&core, "1");
    CHECK(core.view.screen == ST_SCREEN_PLAYING && core.view.play_index == 1);
    /* Who it is from, before it plays: aloud in general, the name on screen. */
    CHECK(said(&f, ST_PROMPT_LETTER, 1));
    CHECK(!strcmp(core.view.from, "Mama"));
    CHECK(core.view.speed == ST_SPEED_NORMAL);
    /* 5 pauses: nothing moves however long, and the keys are said. */
    keys(&core, "5");
    CHECK(core.view.paused && f.paused);
    CHECK(last_said(&f) == ST_PROMPT_PAUSED);
    ticks(&core, 20000);
    CHECK(core.view.screen == ST_SCREEN_PLAYING && core.view.play_index == 1);
    CHECK(core.view.screen == ST_SCREEN_PLAYING); /* a pause is not idleness */
    keys(&core, "5");
    CHECK(!core.view.paused && !f.paused);
    /* 4 back five seconds, 1 from the start: the letter goes on. */
    keys(&core, "41");
    CHECK(f.nplay_keys == 4 && f.play_keys[2] == ST_PLAY_BACK && f.play_keys[3] == ST_PLAY_RESTART);
    CHECK(core.view.screen == ST_SCREEN_PLAYING && f.stops == 0);
    /* 3 steps the speed: 125, 75, 100, 125, each said. */
    keys(&core, "3");
    CHECK(core.view.speed == ST_SPEED_FAST && last_said(&f) == ST_PROMPT_SPEED_FAST);
    keys(&core, "3");
    CHECK(core.view.speed == ST_SPEED_SLOW && last_said(&f) == ST_PROMPT_SPEED_SLOW);
    keys(&core, "3");
    CHECK(core.view.speed == ST_SPEED_NORMAL && last_said(&f) == ST_PROMPT_SPEED_NORMAL);
    keys(&core, "3");
    CHECK(f.speeds[0] == ST_SPEED_FAST);
    /* 6: the next letter, introduced before it plays. */
    keys(&core, "6");
    CHECK(f.play_keys[f.nplay_keys - 1] == ST_PLAY_NEXT);
    ticks(&core, 100);
    CHECK(core.view.play_index == 2);
    CHECK(last_said(&f) == ST_PROMPT_LETTER && f.said_number[f.nsaid - 1] == 2);
    /* Any other key stops. */
    keys(&core, "9");
    CHECK(core.view.screen == ST_SCREEN_HOME && f.stops == 1);
    /* The speed is the listener's: family 13 hears at its own, family 12
     * at the one it chose. */
    keys(&core, "*");
    keys(&core, "13\r5555\r");
    f.new_messages = 2;
    keys(&core, "1");
    CHECK(core.view.screen == ST_SCREEN_PLAYING && core.view.speed == ST_SPEED_NORMAL);
    keys(&core, "*");
    keys(&core, "12\r7391\r1");
    CHECK(core.view.screen == ST_SCREEN_PLAYING && core.view.speed == ST_SPEED_FAST);
    /* 6 on the last letter ends with "that was all". */
    keys(&core, "66");
    ticks(&core, 200);
    CHECK(core.view.screen == ST_SCREEN_HOME && last_said(&f) == ST_PROMPT_ALL_DONE);
    st_core_finish(&core);
}

int main(void)
{
    keys_during_playback();
    listen_before_sending();
    every_screen_is_spoken();
    teacher_turns_prompts_off_and_sets_their_speed();
    a_key_cuts_the_record_prompt_short();
    a_letter_that_arrives_is_announced();
    a_bedtime_letter_chimes_when_its_time_comes();
    a_key_as_the_last_letter_ends_goes_to_the_home_screen();
    login_opens_only_the_typed_family();
    wrong_pin_is_refused_and_keys_wait();
    short_pin_is_not_even_tried();
    idle_timeout_forgets_the_family();
    idle_timeout_waits_for_playback();
    one_key_plays_all_new_in_order();
    replay_with_nothing_heard_says_so();
    record_then_send();
    star_leaves_and_stops_everything();
    home_mode_has_no_pin_and_no_leaving();
    every_key_answers_with_a_sound();
    teacher_adds_a_family();
    teacher_sets_quiet_hours_and_quota();
    teacher_list_pages();
    wrong_teacher_pin_waits_too();
    other_keys_change_nothing();
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
