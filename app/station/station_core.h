/*
 * The keypad station's core: the state machine behind the screen.
 *
 * The core knows nothing of the terminal, the sound card, the store or the
 * network. It takes keys and clock ticks, asks a backend (a table of
 * functions) to do the work, and keeps a view (struct st_view) that the
 * screen draws. The program and the unit tests drive the same core; the
 * tests give it a fake backend.
 *
 * Two modes:
 *  - home mode: one family, no PIN. The home screen shows the number of new
 *    messages; 1 plays them all in order, 2 records a reply (Enter or 2
 *    again sends it), 3 replays the last one. While a letter plays, 5
 *    pauses and goes on, 4 goes back five seconds, 1 starts it again, 6
 *    goes to the next, 3 steps the speed (100, 125, 75 percent, kept per
 *    family home); any other key stops.
 *  - station mode: many families. The start screen asks for a family number
 *    and a PIN; then the family's home screen as above, with * to leave.
 *    '*' on the start screen asks for the teacher's PIN, which opens the
 *    teacher's menu. After the idle timeout every screen returns to the
 *    start and the session is forgotten.
 *
 * Every key answers with an earcon (backend->earcon), and every screen,
 * refused key, error and notice is also spoken (backend->say), so the
 * device can be used without reading.
 */
#ifndef JIASHU_APP_STATION_CORE_H
#define JIASHU_APP_STATION_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Keys. Digits are '0'..'9'. */
enum st_key {
    ST_KEY_STAR = '*',
    ST_KEY_HASH = '#',
    ST_KEY_ENTER = '\n',
    ST_KEY_BACK = 0x7f,
};

enum st_screen {
    ST_SCREEN_START,          /* station: type your family number */
    ST_SCREEN_PIN,            /* station: type your PIN */
    ST_SCREEN_REFUSED,        /* station: wrong number or PIN, wait */
    ST_SCREEN_HOME,           /* a family's messages: count, 1 play, 2 record, 3 again */
    ST_SCREEN_PLAYING,        /* playing message index of total */
    ST_SCREEN_RECORDING,      /* recording; Enter or 2 stops and sends */
    ST_SCREEN_NOTICE,         /* a short notice (sent, nothing to play, failure) */
    ST_SCREEN_BUSY,           /* please wait: an operation runs on the next tick */
    ST_SCREEN_TEACHER_PIN,    /* the teacher's PIN */
    ST_SCREEN_TEACHER_MENU,   /* 1 add family, 2 families, 3 quiet hours, 4 quota */
    ST_SCREEN_TEACHER_CODE,   /* add a family: the invite code */
    ST_SCREEN_TEACHER_NEWPIN, /* add a family: its PIN, then again */
    ST_SCREEN_TEACHER_LIST,   /* families: storage and last sync */
    ST_SCREEN_TEACHER_QUIET,  /* quiet hours: HHMM start, then HHMM end */
    ST_SCREEN_TEACHER_QUOTA,  /* storage quota in MB */
    ST_SCREEN_TEACHER_VOICE,  /* spoken prompts: off, slow, normal, fast */
    ST_SCREEN_REVIEW,         /* a reply recorded: 1 listen, 2 again, 3 send, * throw away */
};

/* Short notices; the screen turns them into words. */
enum st_notice {
    ST_NOTICE_NONE,
    ST_NOTICE_SENT,         /* the reply is in the outbox */
    ST_NOTICE_NOTHING_NEW,  /* 1 with no new message */
    ST_NOTICE_NOTHING_YET,  /* 3 with nothing heard yet */
    ST_NOTICE_FAILED,       /* the backend failed; detail in view.error */
    ST_NOTICE_ADDED,        /* teacher: family view.family added */
    ST_NOTICE_PIN_MISMATCH, /* teacher: the two PINs differ */
    ST_NOTICE_PIN_SHORT,    /* PIN shorter than ST_PIN_MIN */
    ST_NOTICE_SAVED,        /* teacher: setting saved */
    ST_NOTICE_BAD_TIME,     /* teacher: not an HHMM time */
    ST_NOTICE_DISCARDED,    /* the reply was thrown away, as asked twice */
};

enum st_earcon {
    ST_EARCON_KEY,   /* a key was taken */
    ST_EARCON_ERROR, /* a key was refused, or something failed */
    ST_EARCON_OK,    /* done: logged in, sent, saved */
    ST_EARCON_START, /* recording starts */
    ST_EARCON_LEAVE, /* back to the start screen */
    ST_EARCON_CHIME, /* a bedtime letter's time has come */
};

/* Spoken prompts (station_prompts.h has their words); ids are stable file names. */
enum st_prompt {
    ST_PROMPT_NONE,
    ST_PROMPT_START,        /* type your family number */
    ST_PROMPT_PIN,          /* {n}: family number; type your PIN */
    ST_PROMPT_REFUSED,      /* wrong number or PIN; {n} seconds to wait */
    ST_PROMPT_WAIT,         /* a key while refused: {n} seconds left */
    ST_PROMPT_HOME_NONE,    /* no new letters; the keys */
    ST_PROMPT_HOME_ONE,     /* one new letter; press 1 */
    ST_PROMPT_HOME_COUNT,   /* {n} new letters; press 1 */
    ST_PROMPT_ARRIVED,      /* a letter came while the home screen showed; {n} new */
    ST_PROMPT_ALL_DONE,     /* that was all; 3 again, 2 reply */
    ST_PROMPT_RECORD,       /* after the tone, speak; 2 when done */
    ST_PROMPT_BUSY,         /* please wait */
    ST_PROMPT_SENT,         /* the reply will be sent */
    ST_PROMPT_NOTHING_NEW,  /* 1 with nothing new */
    ST_PROMPT_NOTHING_YET,  /* 3 with nothing heard yet */
    ST_PROMPT_FAILED,       /* something did not work */
    ST_PROMPT_KEY_REFUSED,  /* that key does nothing here */
    ST_PROMPT_TEACHER_PIN,  /* teacher: type your PIN */
    ST_PROMPT_TEACHER_MENU, /* the menu's keys */
    ST_PROMPT_TEACHER_CODE, /* type the invite code */
    ST_PROMPT_NEWPIN,       /* a PIN for the new family */
    ST_PROMPT_NEWPIN_AGAIN, /* the same PIN again */
    ST_PROMPT_TEACHER_LIST, /* {n} families */
    ST_PROMPT_ADDED,        /* family {n} added */
    ST_PROMPT_PIN_MISMATCH, /* the two PINs differ */
    ST_PROMPT_SAVED,        /* saved */
    ST_PROMPT_BAD_TIME,     /* not a time */
    ST_PROMPT_QUIET_START,  /* start of quiet hours */
    ST_PROMPT_QUIET_END,    /* end of quiet hours */
    ST_PROMPT_QUOTA,        /* storage quota in MB */
    ST_PROMPT_VOICE,        /* spoken prompts: 0 off, 1 slow, 2 normal, 3 fast */
    ST_PROMPT_REVIEW,       /* 1 listen, 2 record again, 3 send, * throw away */
    ST_PROMPT_DISCARD_ASK,  /* * again throws it away, any other key keeps it */
    ST_PROMPT_DISCARDED,    /* thrown away */
    ST_PROMPT_LETTER,       /* before each letter: letter {n}, from (the name is on the screen) */
    ST_PROMPT_PAUSED,       /* paused; the keys during playback */
    ST_PROMPT_SPEED_SLOW,   /* the speed key: now 75 percent */
    ST_PROMPT_SPEED_NORMAL, /* now 100 percent */
    ST_PROMPT_SPEED_FAST,   /* now 125 percent */
    ST_PROMPT_BEDTIME,      /* a bedtime letter has come (the name is on the screen); press 1 */
    ST_PROMPT_COUNT
};

/* Keys while a letter plays (st_backend_ops.audio_key). */
enum st_play_key {
    ST_PLAY_PAUSE,   /* pause, or go on where it paused */
    ST_PLAY_BACK,    /* back ST_BACK_MS */
    ST_PLAY_RESTART, /* this letter again from its start */
    ST_PLAY_NEXT,    /* on to the next letter; this one stays new, to resume later */
};

#define ST_BACK_MS 5000
/* Playback speeds in percent, in the order the speed key steps through them. */
#define ST_SPEED_SLOW   75
#define ST_SPEED_NORMAL 100
#define ST_SPEED_FAST   125

/* Spoken prompts setting (st_settings.voice). */
enum st_voice {
    ST_VOICE_OFF = 0,
    ST_VOICE_SLOW = 1,
    ST_VOICE_NORMAL = 2,
    ST_VOICE_FAST = 3,
};

#define ST_NUMBER_MAX 6 /* digits of a family number */
#define ST_PIN_MIN    4
#define ST_PIN_MAX    8
#define ST_CODE_MAX   16 /* digits of an invite code */
#define ST_ROWS_MAX   64 /* families listed on the teacher's screen */

/* Login outcomes other than 0 (logged in). */
enum st_login {
    ST_LOGIN_REFUSED = 1, /* wrong number or PIN; *wait_ms before the next try */
    ST_LOGIN_LOCKED = 2,  /* still waiting from an earlier refusal; *wait_ms left */
};

struct st_family_row {
    unsigned number;
    int64_t bytes;     /* storage used by the family's home */
    int64_t last_sync; /* Unix seconds of the last successful sync, 0 never */
    int unplayed;      /* messages not heard yet, -1 unknown */
};

struct st_settings {
    int quiet_start; /* minutes after midnight; start == end means no quiet hours */
    int quiet_end;
    int64_t quota_mb; /* 0 means no quota */
    int voice;        /* enum st_voice: spoken prompts off, or their speed */
};

/* What the core asks of the world. Every function gets the backend's own
 * pointer first. Functions return 0 or a negative error code unless said. */
struct st_backend_ops {
    /* Station mode: checks a family number and PIN and, on success, opens
     * that family's session (the only family any later call may touch).
     * Returns 0, ST_LOGIN_REFUSED or ST_LOGIN_LOCKED (with *wait_ms), or < 0. */
    int (*login)(void *be, unsigned family, const char *pin, int64_t *wait_ms);
    /* Same for the teacher's PIN; opens no family. */
    int (*teacher_login)(void *be, const char *pin, int64_t *wait_ms);
    /* Ends the session: stops any sound, forgets the family. */
    void (*logout)(void *be);
    /* New (unplayed) messages of the session's family; < 0 unknown. A
     * bedtime letter counts only from its time on (docs/station.md). */
    int (*new_count)(void *be);
    /* Bedtime letters whose time has come and that are not heard yet, and
     * the sender's name of the first into from (size bytes; "" unknown).
     * Optional (NULL: none). */
    int (*bedtime)(void *be, char *from, size_t size);
    /* Starts playing every new message: the bedtime letters whose time has
     * come first, then the others, oldest first. Returns how many will play
     * (0: nothing new), or < 0. */
    int (*play_new)(void *be);
    /* Starts playing the last message heard again; -ENOENT if none. */
    int (*replay_last)(void *be);
    /* While sound plays: 1 and *index (1-based) of *total, or 0 when done. */
    int (*audio_poll)(void *be, int *index, int *total);
    /* Stops any playback now. */
    void (*audio_stop)(void *be);
    /* A key while a letter plays. ST_PLAY_PAUSE returns 1 when now paused,
     * 0 when playing again; the others 0; all < 0 on failure. Paused
     * playback still counts as playing for audio_poll. Optional (NULL:
     * every key stops playback). */
    int (*audio_key)(void *be, enum st_play_key key);
    /* The sender's name of the letter audio_poll reports, into name
     * (size bytes); "" when unknown. Optional. */
    void (*audio_from)(void *be, char *name, size_t size);
    /* The listener's playback speed in percent (ST_SPEED_*), remembered
     * per family home; set_speed also applies to the letter playing now.
     * Optional (NULL: always normal). */
    int (*get_speed)(void *be);
    int (*set_speed)(void *be, int percent);
    /* Starts recording a reply. record_stop() asks it to end, without
     * waiting: the reply is then finished and kept as a draft, which
     * record_poll() reports; it is sent only by draft_send(). A reply once
     * begun is never thrown away unasked: leaving, or the session ending,
     * stops it and keeps it as a draft. */
    int (*record_start)(void *be);
    int (*record_stop)(void *be);
    /* *seconds recorded so far; returns 1 while the recording runs or is
     * being finished, 0 once the reply is queued (also when it stopped by
     * itself at its longest length), or < 0 if it failed. */
    int (*record_poll)(void *be, int *seconds);
    /* The draft the last recording left: play it (audio_poll follows it),
     * send it, or throw it away. */
    int (*draft_play)(void *be);
    int (*draft_send)(void *be);
    int (*draft_discard)(void *be);
    /* A short sound; the backend keeps quiet during quiet hours. */
    void (*earcon)(void *be, enum st_earcon earcon);
    /* Speaks a prompt (number: its {n}, else ignored), after any earcon
     * asked for before it. A newer earcon or prompt cuts it short: a key
     * interrupts a prompt. Optional (NULL: earcons only). */
    void (*say)(void *be, enum st_prompt prompt, int number);
    /* 1 while a prompt is being spoken. Optional (NULL: never). */
    int (*speaking)(void *be);
    /* Teacher: joins a family by invite code and gives it a PIN; *number is
     * its new family number. */
    int (*add_family)(void *be, const char *invite, const char *pin, unsigned *number);
    /* Teacher: fills up to max rows; returns how many. */
    int (*list_families)(void *be, struct st_family_row *rows, int max);
    int (*get_settings)(void *be, struct st_settings *settings);
    int (*set_settings)(void *be, const struct st_settings *settings);
};

/* Everything the screen draws. Nothing here outlives a session: logout
 * wipes it. */
struct st_view {
    enum st_screen screen;
    bool station;                /* station mode (else home mode) */
    char entry[ST_CODE_MAX + 1]; /* digits typed on the current screen */
    unsigned family;             /* the session's family number (station), or the added one */
    int new_count;               /* -1 unknown */
    int bedtime;                 /* HOME: bedtime letters come due, not heard yet */
    char bedtime_from[64];       /* HOME: who sent the first of them, "" unknown */
    int play_index, play_total;
    bool paused;   /* PLAYING: paused by the listener */
    int speed;     /* PLAYING: percent, ST_SPEED_* */
    char from[64]; /* PLAYING: who sent the letter, "" unknown */
    int record_seconds;
    enum st_notice notice;
    int error;       /* with ST_NOTICE_FAILED */
    int64_t wait_ms; /* REFUSED: time left before keys work again */
    int step;        /* NEWPIN and QUIET: 0 first entry, 1 second */
    struct st_settings settings;
    struct st_family_row rows[ST_ROWS_MAX];
    int nrows, first_row; /* teacher list, first row shown */
};

struct st_config {
    bool station;
    int64_t idle_ms;   /* back to the start after this long without a key */
    int64_t notice_ms; /* how long a notice stays */
};

struct st_core {
    struct st_view view;
    struct st_config config;
    const struct st_backend_ops *ops;
    void *be;
    int64_t now, last_key, notice_until, wait_until, last_count;
    enum st_screen after_notice;    /* where a notice leads */
    char code[ST_CODE_MAX + 1];     /* teacher: the invite code being added */
    char first_pin[ST_PIN_MAX + 1]; /* teacher: the new PIN, first time */
    int first_quiet;
    int pending; /* the operation a BUSY screen runs on the next tick */
    int64_t pending_since;
    enum st_prompt said; /* the last prompt asked for, and its number (for the tests) */
    int said_number;
    bool teacher;
    bool in_session;
    bool playing_draft; /* PLAYING the reply under review: back to REVIEW after */
    bool announce;      /* PLAYING new letters: each is introduced aloud */
};

/* Sets up a core on caller memory; now is a monotonic clock in ms. */
void st_core_init(struct st_core *core, const struct st_config *config,
                  const struct st_backend_ops *ops, void *be, int64_t now);
/* Ends any session and wipes the core's memory. */
void st_core_finish(struct st_core *core);
/* A key: '0'..'9', '*', '#', ST_KEY_ENTER or ST_KEY_BACK. Others are ignored. */
void st_core_key(struct st_core *core, int key, int64_t now);
/* Time passes: notices expire, waits count down, audio progresses, the idle
 * timeout fires, a BUSY operation runs. Call it every 100 ms or so. */
void st_core_tick(struct st_core *core, int64_t now);
/* Leaves any session for the start screen (station) or the home screen. */
void st_core_reset(struct st_core *core);

#endif
