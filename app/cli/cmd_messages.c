/*
 * The commands that work on the message store: record, outbox, inbox,
 * export, play.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "app/audio/audio.h"
#include "commands.h"
#include "net/e2e/e2e.h"
#include "live_record.h"
#include "net/sync/sync.h"
#include "output.h"
#include "playback.h"
#include "store/store.h"
#include "util/util.h"

static int open_store(const struct app_context *ctx, js_store **store)
{
    int res = js_store_open(ctx->home, store);
    if (res < 0)
        return app_fail("cannot open the message store in %s: %s", ctx->home, app_strerror(res));
    return 0;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    uint64_t v;
    if (ju_parse_u64(s, max, &v) < 0)
        return false;
    *out = (unsigned long)v;
    return true;
}

/* ---- ids ---- */

struct prefix_match {
    const char *prefix;
    size_t len;
    char id[JS_ID_LEN + 1];
    int count;
};

static int match_prefix(void *user, const struct js_message *m)
{
    struct prefix_match *p = user;
    if (strncasecmp(m->id, p->prefix, p->len) == 0) {
        if (p->count++ == 0)
            snprintf(p->id, sizeof(p->id), "%s", m->id);
    }
    return 0;
}

/* A message named by its id or by a short prefix of it, as the progress
 * lines print them: the whole id into out, or one line and 1 when no
 * message or more than one starts with it. */
static int resolve_id(js_store *store, const char *what, const char *given, char out[JS_ID_LEN + 1])
{
    struct prefix_match p = {.prefix = given, .len = strlen(given)};
    if (p.len == 0 || p.len > JS_ID_LEN)
        return app_fail("%s: '%s' is not a message id", what, given);
    js_messages_list(store, JS_OUTBOX, ~0u, match_prefix, &p);
    js_messages_list(store, JS_INBOX, ~0u, match_prefix, &p);
    if (p.count == 0)
        return app_fail("%s %s: %s", what, given, app_strerror(JS_ERR_NOT_FOUND));
    if (p.count > 1)
        return app_fail("%s: %d messages start with '%s'; give more of the id", what, p.count,
                        given);
    memcpy(out, p.id, JS_ID_LEN + 1);
    return 0;
}

/* ---- record ---- */

/* The family's members from the relay into the store's contacts: 0, or
 * JN_ERR_NOT_SET_UP, or the exchange's error. A short connect timeout: a
 * person is waiting to speak. */
static int refresh_family(js_store *store)
{
    struct jn_sync_config config = {.store = store, .connect_timeout_s = 5};
    jn_sync *sync;
    int res = jn_sync_create(&config, &sync);
    if (res < 0)
        return res;
    res = jn_sync_refresh_family(sync);
    jn_sync_destroy(sync);
    return res;
}

/* What a microphone delivers per period: 20 ms. */
#define PERIOD_MS 20

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Whether the relay (its Tus-Max-Size, learned at setup and sync) would
 * refuse the longest note this recording may make; says so in one line.
 * Better now than a recording that meets 413 at every sync for ever. */
static bool relay_would_refuse(js_store *store, const jc_wav_reader *reader,
                               unsigned long max_seconds, unsigned long bitrate)
{
    char text[24];
    uint64_t limit, seconds = max_seconds ? max_seconds : JC_MAX_NOTE_SECONDS;

    if (js_setting_get(store, JS_SETTING_RELAY_MAX_UPLOAD, text, sizeof(text)) <= 0 ||
        ju_parse_u64(text, UINT64_MAX, &limit) < 0)
        return false; /* not known yet: the relay says at the first sync */
    if (reader) {
        uint64_t rate = jc_wav_reader_rate(reader);
        uint64_t file_seconds = (jc_wav_reader_frames(reader) + rate - 1) / rate;
        if (file_seconds < seconds)
            seconds = file_seconds;
    }
    if (!bitrate)
        bitrate = JC_DEFAULT_BITRATE;
    /* Sealed for end-to-end encryption, a note grows by at most this. */
    uint64_t bound = JU_NOTE_BYTES_BOUND(seconds, bitrate) + JU_SEAL_OVERHEAD_BYTES;
    if (bound <= limit)
        return false;
    app_fail("record: %" PRIu64 " s at %lu bit/s may take up to %" PRIu64 " bytes, more than "
             "the relay accepts (%" PRIu64 "); record shorter (--max-seconds) or at a lower "
             "--bitrate",
             seconds, bitrate, bound, limit);
    return true;
}

/* Records one note (from the file or the microphone) into the store as
 * config says; prints its id and leaves it in id. Returns the exit status. */
static int record_once(js_store *store, const struct js_recording_config *config, const char *input,
                       jc_wav_reader *reader, unsigned long max_seconds, char id[JS_ID_LEN + 1])
{
    js_recording *rec;
    float *pcm;
    int res, status = 1;

    stop_requested = 0;
    res = js_recording_create(store, config, &rec);
    if (res < 0)
        return app_fail("record: cannot start: %s", app_strerror(res));
    if (!input) {
        /* The microphone, through the same store recording as a file. */
        bool discard;
        status = live_record_run(rec, (unsigned)max_seconds, &discard, id);
        js_recording_destroy(rec, discard);
        return status;
    }

    /* The same path a microphone takes: one period of PCM at a time. The
     * trace line is printed before a period is fed, so whoever reads it
     * knows that everything before it was handed to the store. */
    size_t period = config->input_rate * PERIOD_MS / 1000;
    uint64_t limit =
        (uint64_t)(max_seconds ? max_seconds : JC_MAX_NOTE_SECONDS) * config->input_rate;
    uint64_t fed = 0;
    const char *trace = getenv("JIASHU_RECORD_TRACE");
    const char *pace = getenv("JIASHU_RECORD_PACE_US");
    unsigned long pace_us = 0;
    if (pace)
        parse_uint(pace, 10000000, &pace_us);
    pcm = malloc(period * sizeof(*pcm));
    if (!pcm) {
        app_fail("record: %s", app_strerror(-ENOMEM));
        goto error_rec;
    }
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    while (!stop_requested && fed < limit) {
        size_t got, want = limit - fed < period ? (size_t)(limit - fed) : period;
        res = jc_wav_reader_read(reader, pcm, want, &got);
        if (res < 0) {
            app_fail("%s: %s", input, app_strerror(res));
            goto error_pcm;
        }
        if (got == 0)
            break;
        if (trace) {
            printf("fed up to %llu ms\n", (unsigned long long)js_recording_fed_ms(rec));
            fflush(stdout);
        }
        res = js_recording_write(rec, pcm, got);
        if (res < 0) {
            app_fail("record: stopped after %.1f s: %s", js_recording_fed_ms(rec) / 1000.0,
                     app_strerror(res));
            goto error_pcm;
        }
        fed += got;
        if (pace_us)
            usleep((useconds_t)pace_us);
    }
    res = js_recording_finish(rec, id);
    if (res < 0) {
        app_fail("record: cannot finish: %s", app_strerror(res));
        goto error_pcm;
    }
    if (trace) /* the moment the note was kept, on the clock sync events carry */
        printf("finished at %lld ms\n", (long long)ju_wall_ms());
    printf("%s\n", id);
    fflush(stdout);
    status = 0;

error_pcm:
    free(pcm);
error_rec:
    js_recording_destroy(rec, false);
    return status;
}

enum review_choice {
    REVIEW_SENT,
    REVIEW_DISCARDED,
    REVIEW_KEPT, /* no choice made (the terminal closed, Ctrl-C): a draft still */
    REVIEW_AGAIN,
};

static volatile sig_atomic_t review_interrupted;

static void on_review_signal(int sig)
{
    (void)sig;
    review_interrupted = 1;
}

/* One key from the terminal, without Enter; -1 when the input ends or
 * Ctrl-C is pressed. */
static int read_key(void)
{
    struct termios saved, raw;
    unsigned char c;
    ssize_t n;
    bool restore = tcgetattr(STDIN_FILENO, &saved) == 0;

    if (restore) {
        raw = saved;
        raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    }
    do
        n = review_interrupted ? -1 : read(STDIN_FILENO, &c, 1);
    while (n < 0 && errno == EINTR && !review_interrupted);
    if (restore)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    return n == 1 ? c : -1;
}

/* Listen before sending: 1 listen, 2 record again, 3 send, * throw away
 * (asked twice). Nothing is sent or thrown away but by the person's own
 * key; any way out without a choice keeps the note as a draft. */
static int review_draft(js_store *store, const char *id)
{
    struct sigaction sa = {0}, saved_int, saved_term;
    struct js_message m;
    int key, res, choice = REVIEW_KEPT;

    review_interrupted = 0;
    sa.sa_handler = on_review_signal; /* no SA_RESTART: a read returns at Ctrl-C */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &saved_int);
    sigaction(SIGTERM, &sa, &saved_term);
    for (;;) {
        printf("%s\n", _("Not sent yet. 1 listen, 2 record again, 3 send, * throw away"));
        fflush(stdout);
        key = read_key();
        if (key == '1') {
            if ((res = js_message_get(store, id, &m)) < 0) {
                app_fail("record: %s", app_strerror(res));
                continue;
            }
            m.play_position_ms = 0;
            playback_run(store, &m, false, 0);
            js_message_set_position(store, id, 0);
        } else if (key == '2') {
            /* This take goes, as the person asked, and another is made. */
            if ((res = js_outbox_discard(store, id)) < 0) {
                app_fail("record: %s", app_strerror(res));
                continue;
            }
            choice = REVIEW_AGAIN;
            break;
        } else if (key == '3') {
            if ((res = js_outbox_release(store, id)) < 0) {
                app_fail("record: %s", app_strerror(res));
                continue;
            }
            printf("%s\n", _("Sent: it goes with the next sync."));
            choice = REVIEW_SENT;
            break;
        } else if (key == '*') {
            printf("%s\n", _("Press * again to throw it away; any other key keeps it."));
            fflush(stdout);
            key = read_key();
            if (key != '*') {
                if (key < 0)
                    break;
                continue;
            }
            if ((res = js_outbox_discard(store, id)) < 0) {
                app_fail("record: %s", app_strerror(res));
                continue;
            }
            printf("%s\n", _("Thrown away."));
            choice = REVIEW_DISCARDED;
            break;
        } else if (key < 0) {
            break;
        }
    }
    if (choice == REVIEW_KEPT)
        printf(_("Not sent: kept as a draft; 'jiashu send %s' sends it.\n"), id);
    fflush(stdout);
    sigaction(SIGINT, &saved_int, NULL);
    sigaction(SIGTERM, &saved_term, NULL);
    return choice;
}

int cmd_record(const struct app_context *ctx, int argc, char **argv)
{
    const char *to = NULL, *input = NULL;
    unsigned long max_seconds = 0, bitrate = 0;
    struct js_contact contact;
    struct js_recording_config config = {.cleanup = true};
    char id[JS_ID_LEN + 1];
    jc_wav_reader *reader;
    js_store *store;
    bool review;
    int res, status = 1;

    for (int i = 1; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (!strcmp(argv[i], "--to") && has_value) {
            to = argv[++i];
        } else if (!strcmp(argv[i], "--max-seconds") && has_value) {
            if (!parse_uint(argv[++i], JC_MAX_NOTE_SECONDS, &max_seconds) || max_seconds == 0)
                return app_usage("--max-seconds must be 1..%d", JC_MAX_NOTE_SECONDS);
        } else if (!strcmp(argv[i], "--bitrate") && has_value) {
            if (!parse_uint(argv[++i], 64000, &bitrate))
                return app_usage("--bitrate must be a number of bit/s");
        } else if (!strcmp(argv[i], "--input") && has_value) {
            input = argv[++i];
        } else if (!strcmp(argv[i], "--at") && has_value) {
            /* A bedtime letter: kept quiet on the listener's device until
             * this local time, then announced and played on one key. */
            int minutes;
            config.play_at = argv[++i];
            if (js_play_at_parse(config.play_at, &minutes) < 0)
                return app_usage("record: --at needs a time HH:MM from 00:00 to 23:59, not '%s'",
                                 config.play_at);
        } else if (!strcmp(argv[i], "--draft")) {
            /* Kept back until `send ID`: heard before it is sent. */
            config.draft = true;
        } else {
            return app_usage("record: unexpected '%s'", argv[i]);
        }
    }
    reader = NULL;
    res = input ? jc_wav_reader_create(input, &reader) : 0;
    if (res < 0)
        return app_fail("%s: %s", input, app_strerror(res));
    if (open_store(ctx, &store))
        goto error_reader;
    if (to) {
        char self[JS_PEER_MAX + 1] = "";
        res = js_contact_find(store, to, &contact);
        if (res == JS_ERR_NOT_FOUND) {
            /* Someone may have joined a moment ago: ask the relay now. */
            res = refresh_family(store);
            if (res == JN_ERR_NOT_SET_UP) {
                res = JS_ERR_NOT_FOUND;
            } else if (res < 0 && jn_error_is_transient(res)) {
                app_fail("record: no family member called '%s' is known here, and the relay "
                         "cannot be reached to ask (offline)",
                         to);
                goto error_store;
            } else {
                res = js_contact_find(store, to, &contact);
            }
        }
        if (res == 0 && js_setting_get(store, JS_SETTING_DEVICE_ID, self, sizeof(self)) > 0 &&
            !strcmp(contact.device_id, self)) {
            app_fail("record: '%s' is you; a note goes to someone else in the family", to);
            goto error_store;
        }
        if (res == 0) {
            to = contact.device_id;
        } else if (res != JS_ERR_NOT_FOUND || js_contacts_list(store, NULL, NULL) > 0) {
            app_fail("record: no family member called '%s'", to);
            goto error_store;
        } else if (strlen(to) > JS_PEER_MAX) {
            app_fail("record: the name '%s' is too long", to);
            goto error_store;
        }
    }
    config.input_rate = input ? jc_wav_reader_rate(reader) : AUDIO_RATE;
    if (!input && !max_seconds)
        max_seconds = live_record_max_seconds(store);
    if (relay_would_refuse(store, reader, max_seconds, bitrate))
        goto error_store;
    config.bitrate = (int)bitrate;
    config.max_seconds = (unsigned)max_seconds;
    config.to = to;
    /* On a terminal the person hears the note before it goes (listen
     * before sending): it is kept back as a draft until they choose. From
     * a script, nothing asks: it is queued at once, as it always was. */
    review = !config.draft && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    if (review)
        config.draft = true;
    for (;;) {
        status = record_once(store, &config, input, reader, max_seconds, id);
        if (status || !review)
            break;
        res = review_draft(store, id);
        if (res != REVIEW_AGAIN) {
            status = res < 0 ? 1 : 0;
            break;
        }
        if (input) { /* the same file again, from its start */
            jc_wav_reader_destroy(reader);
            reader = NULL;
            if ((res = jc_wav_reader_create(input, &reader)) < 0) {
                status = app_fail("%s: %s", input, app_strerror(res));
                break;
            }
        }
    }

error_store:
    js_store_destroy(store);
error_reader:
    jc_wav_reader_destroy(reader);
    return status;
}

/* ---- drafts: listened to before they are sent ---- */

/* send ID: the person chose to send a draft. discard ID: the person chose
 * to throw it away. Neither touches a message that is not a draft. */
static int draft_command(const struct app_context *ctx, int argc, char **argv, bool send)
{
    js_store *store;
    int res;

    if (argc != 2 || argv[1][0] == '-')
        return app_usage(send ? "send needs the id of a draft" : "discard needs the id of a draft");
    if (open_store(ctx, &store))
        return 1;
    res = send ? js_outbox_release(store, argv[1]) : js_outbox_discard(store, argv[1]);
    js_store_destroy(store);
    if (res == JS_ERR_STATE)
        return app_fail(send ? "send %s: it is not a draft"
                             : "discard %s: only a draft can be thrown away",
                        argv[1]);
    if (res < 0)
        return app_fail("%s %s: %s", send ? "send" : "discard", argv[1], app_strerror(res));
    printf("%s\n", argv[1]);
    return 0;
}

int cmd_send(const struct app_context *ctx, int argc, char **argv)
{
    return draft_command(ctx, argc, argv, true);
}

int cmd_discard(const struct app_context *ctx, int argc, char **argv)
{
    return draft_command(ctx, argc, argv, false);
}

/* ---- listings ---- */

struct listing {
    js_store *store;
    int64_t now_ms; /* the program's clock, for bedtime letters still waiting */
    bool json;
    json_t *array;  /* --json: the messages, printed at the end */
    int64_t minute; /* of l->when */
    char when[32];
    int count;
    struct js_contact *contacts;
    int ncontacts;
    int cap;
};

static int keep_contact(void *user, const struct js_contact *c)
{
    struct listing *l = user;
    if (l->ncontacts == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        struct js_contact *n = realloc(l->contacts, (size_t)cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        l->contacts = n;
        l->cap = cap;
    }
    l->contacts[l->ncontacts++] = *c;
    return 0;
}

static const char *peer_name(const struct listing *l, const char *peer)
{
    for (int i = 0; i < l->ncontacts; i++)
        if (!strcmp(l->contacts[i].device_id, peer))
            return l->contacts[i].name;
    return peer;
}

/* One message as docs/schema/inbox.schema.json and outbox.schema.json say. */
static json_t *message_json(const struct listing *l, const struct js_message *m)
{
    json_t *o = json_object();

    if (!o)
        return NULL;
    if (json_object_set_new(o, "id", out_json_text(m->id)) ||
        json_object_set_new(o, "state", json_string(js_state_name(m->state))) ||
        json_object_set_new(o, m->box == JS_OUTBOX ? "to" : "from",
                            out_json_text(peer_name(l, m->peer))) ||
        (m->box == JS_INBOX && json_object_set_new(o, "from_device", out_json_text(m->peer))) ||
        json_object_set_new(o, "duration_ms", json_integer((json_int_t)m->duration_ms)) ||
        json_object_set_new(o, "bytes", json_integer((json_int_t)m->length)) ||
        json_object_set_new(o, "offset", json_integer((json_int_t)m->offset)) ||
        json_object_set_new(o, "created_ms", json_integer((json_int_t)m->created_ms)) ||
        json_object_set_new(o, "play_position_ms", json_integer((json_int_t)m->play_position_ms)) ||
        json_object_set_new(o, "sha256", json_string(m->sha256)) ||
        json_object_set_new(o, "evicted", json_boolean(m->evicted)) ||
        json_object_set_new(o, "wire_sent", json_integer((json_int_t)m->wire_sent)) ||
        json_object_set_new(o, "wire_received", json_integer((json_int_t)m->wire_received))) {
        json_decref(o);
        return NULL;
    }
    if (m->box == JS_OUTBOX && m->state == JS_PLAYED &&
        json_object_set_new(o, "played_ms", json_integer((json_int_t)m->updated_ms))) {
        json_decref(o);
        return NULL;
    }
    if (m->play_at >= 0) {
        char at[8];
        snprintf(at, sizeof(at), "%02d:%02d", m->play_at / 60 % 24, m->play_at % 60);
        if (json_object_set_new(o, "play_at", json_string(at)) ||
            (m->box == JS_INBOX && m->play_after_ms > 0 &&
             json_object_set_new(o, "play_after_ms", json_integer((json_int_t)m->play_after_ms)))) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static int print_message(void *user, const struct js_message *m)
{
    struct listing *l = user;
    const char *peer = peer_name(l, m->peer);
    /* A received note is marked: opened from an envelope ('E'), refused
     * ('R', never played), or neither: plain, from before encryption. */
    char e2e = 0;
    int reason = 0;

    if (m->box == JS_INBOX && je_vault_inbox_status(l->store, m->id, &e2e, &reason) != 0)
        e2e = 0;
    if (l->json) {
        json_t *o = message_json(l, m);
        if (o && m->box == JS_INBOX &&
            (json_object_set_new(o, "encrypted", json_boolean(e2e == 'E')) ||
             (e2e == 'R' && json_object_set_new(o, "refused", json_string(ju_strerror(reason)))))) {
            json_decref(o);
            o = NULL;
        }
        if (!o || json_array_append_new(l->array, o))
            return -ENOMEM;
    } else {
        char state[32], id[OUT_TEXT_SIZE(JS_ID_LEN)], who[OUT_TEXT_SIZE(JS_PEER_MAX)];
        /* 10,000 rows must list in a blink on a slow phone: the date is
         * formatted once per minute, the duration without floating point. */
        int64_t minute = m->created_ms / 60000;
        if (minute != l->minute) {
            time_t t = (time_t)(minute * 60);
            struct tm tm;
            localtime_r(&t, &tm);
            strftime(l->when, sizeof(l->when), "%Y-%m-%d %H:%M", &tm);
            l->minute = minute;
        }
        if (m->state & (JS_UPLOADING | JS_DOWNLOADING))
            snprintf(state, sizeof(state), "%s %llu%%", js_state_name(m->state),
                     m->length ? (unsigned long long)(m->offset * 100 / m->length) : 0ULL);
        else if (m->box == JS_OUTBOX && m->state == JS_PLAYED) {
            /* The sender sees when it was heard (when the receipt came). */
            time_t t = (time_t)(m->updated_ms / 1000);
            struct tm tm;
            char at[16] = "";
            if (localtime_r(&t, &tm))
                strftime(at, sizeof(at), "%m-%d %H:%M", &tm);
            snprintf(state, sizeof(state), "played %s", at);
        } else
            snprintf(state, sizeof(state), "%s%s", e2e == 'R' ? "refused" : js_state_name(m->state),
                     e2e == 'R' || m->state == JS_REFUSED ? " (unplayable)"
                     : m->evicted                         ? " (removed)"
                     : m->box == JS_INBOX && !e2e && (m->state & (JS_READY | JS_PLAYED)) ? " plain"
                                                                                         : "");
        uint64_t tenths = (m->duration_ms + 50) / 100;
        /* What it cost on the wire, both ways, in kB (whole tenths). */
        uint64_t wire = (m->wire_sent + m->wire_received + 50) / 100;
        char bedtime[96] = "";
        if (m->play_at >= 0) {
            char at[8];
            snprintf(at, sizeof(at), "%02d:%02d", m->play_at / 60 % 24, m->play_at % 60);
            snprintf(bedtime, sizeof(bedtime), "  ");
            snprintf(bedtime + 2, sizeof(bedtime) - 2,
                     m->box == JS_INBOX && m->state == JS_READY && m->play_after_ms > l->now_ms
                         ? _("bedtime letter for %s, waiting")
                         : _("bedtime letter for %s"),
                     at);
        }
        printf("%s  %-20s %4llu.%llu s  %5llu.%llu kB  %s  %s%s\n", out_text(m->id, id, sizeof(id)),
               state, (unsigned long long)(tenths / 10), (unsigned long long)(tenths % 10),
               (unsigned long long)(wire / 10), (unsigned long long)(wire % 10), l->when,
               *peer ? out_text(peer, who, sizeof(who)) : (m->box == JS_OUTBOX ? "(family)" : "?"),
               bedtime);
    }
    l->count++;
    return 0;
}

static int list_box(const struct app_context *ctx, int argc, char **argv, enum js_box box)
{
    struct listing l = {.minute = -1, .now_ms = ju_wall_ms() + ctx->clock_offset_ms};
    js_store *store;
    int res;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            l.json = true;
        else
            return app_usage("%s: unexpected '%s'", argv[0], argv[i]);
    }
    if (open_store(ctx, &store))
        return 1;
    l.store = store;
    res = js_contacts_list(store, keep_contact, &l);
    if (res >= 0 && l.json && !(l.array = json_array()))
        res = -ENOMEM;
    if (res >= 0)
        res = js_messages_list(store, box, JS_ANY_STATE, print_message, &l);
    if (res >= 0 && l.json) {
        res = out_json_document(l.array);
        l.array = NULL;
    }
    json_decref(l.array);
    free(l.contacts);
    js_store_destroy(store);
    if (res < 0)
        return app_fail("%s: %s", argv[0], app_strerror(res));
    if (fflush(stdout) != 0)
        return app_fail("%s: %s", argv[0], strerror(errno));
    return 0;
}

int cmd_outbox(const struct app_context *ctx, int argc, char **argv)
{
    return list_box(ctx, argc, argv, JS_OUTBOX);
}

int cmd_inbox(const struct app_context *ctx, int argc, char **argv)
{
    return list_box(ctx, argc, argv, JS_INBOX);
}

/* ---- export, play ---- */

/* Writes the file next to its final name and renames it over, so a reader
 * never sees half a file. */
static int write_file(const char *path, const unsigned char *data, size_t len)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return -errno;
    size_t put = fwrite(data, 1, len, f);
    int err = put == len ? 0 : -errno;
    if (fflush(f) != 0 && !err)
        err = -errno;
    if (fclose(f) != 0 && !err)
        err = -errno;
    if (!err && rename(tmp, path) < 0)
        err = -errno;
    if (err)
        unlink(tmp);
    return err ? (err == 0 ? -EIO : err) : 0;
}

int cmd_export(const struct app_context *ctx, int argc, char **argv)
{
    unsigned char *data;
    size_t len;
    js_store *store;
    int res;

    if (argc != 3)
        return app_usage("export needs a message id and a file name");
    char id[JS_ID_LEN + 1];
    if (open_store(ctx, &store))
        return 1;
    if (resolve_id(store, "export", argv[1], id)) {
        js_store_destroy(store);
        return 1;
    }
    res = js_message_load(store, id, &data, &len);
    js_store_destroy(store);
    if (res < 0)
        return app_fail("export %s: %s", argv[1], app_strerror(res));
    res = write_file(argv[2], data, len);
    free(data);
    if (res < 0)
        return app_fail("%s: %s", argv[2], app_strerror(res));
    return 0;
}

/* The note as it would play (gain_db applied) into a WAV file. */
static int decode_to_wav(const unsigned char *data, size_t len, double gain_db, const char *path)
{
    jc_decoder *dec;
    int16_t *pcm = NULL;
    size_t frames = 0, cap = 0, got;
    int res = jc_decoder_create(data, len, &dec);
    if (res < 0)
        return res;
    res = jc_decoder_set_gain(dec, gain_db);
    if (res < 0)
        goto error_pcm;
    for (;;) {
        if (cap - frames < 4800) {
            size_t ncap = cap ? cap * 2 : 48000;
            int16_t *n = realloc(pcm, ncap * sizeof(*pcm));
            if (!n) {
                res = -ENOMEM;
                goto error_pcm;
            }
            pcm = n;
            cap = ncap;
        }
        res = jc_decoder_read(dec, pcm + frames, cap - frames, &got);
        if (res < 0)
            goto error_pcm;
        if (got == 0)
            break;
        frames += got;
    }
    res = jc_wav_write(path, pcm, frames, jc_decoder_rate(dec));

error_pcm:
    free(pcm);
    jc_decoder_destroy(dec);
    return res;
}

/* A note still on the relay (postponed by the data budget or quiet
 * hours, or not fetched yet) is fetched now: the person asked for it. */
static int fetch_now(const struct app_context *ctx, js_store *store, struct js_message *m)
{
    struct jn_sync_config config = {
        .store = store, .deadline_s = 60, .clock_offset_ms = ctx->clock_offset_ms};
    jn_sync *sync;
    int res = je_init() < 0 ? JE_ERR_CRYPTO : jn_sync_create(&config, &sync);

    if (res < 0)
        return res;
    res = jn_sync_fetch(sync, m->id);
    jn_sync_destroy(sync);
    if (!res)
        res = js_message_get(store, m->id, m);
    return res;
}

int cmd_play(const struct app_context *ctx, int argc, char **argv)
{
    const char *id = NULL, *output = NULL;
    bool next = false, from_given = false;
    uint64_t from_ms = 0;
    struct js_message m;
    unsigned char *data;
    size_t len;
    js_store *store;
    int res, status = 1;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--next"))
            next = true;
        else if (!strcmp(argv[i], "--output") && i + 1 < argc)
            output = argv[++i];
        else if (!strcmp(argv[i], "--from-ms") && i + 1 < argc) {
            if (ju_parse_u64(argv[++i], UINT64_MAX, &from_ms) < 0)
                return app_usage("play: --from-ms needs a number of milliseconds");
            from_given = true;
        } else if (argv[i][0] != '-' && !id)
            id = argv[i];
        else
            return app_usage("play: unexpected '%s'", argv[i]);
    }
    if (next == (id != NULL))
        return app_usage("play needs a message id or --next");
    char full_id[JS_ID_LEN + 1];
    if (open_store(ctx, &store))
        return 1;
    if (!next && resolve_id(store, "play", id, full_id))
        goto error_store;
    /* A bedtime letter named by its id plays at any time (the listener
     * chose it); --next, the autoplay, waits for its time. */
    res = next ? js_inbox_next(store, ju_wall_ms() + ctx->clock_offset_ms, &m)
               : js_message_get(store, full_id, &m);
    if (res < 0) {
        app_fail("play: %s",
                 res == JS_ERR_NOT_FOUND && next ? _("no new messages") : app_strerror(res));
        goto error_store;
    }
    if (m.box == JS_INBOX && (m.state & (JS_ANNOUNCED | JS_DOWNLOADING))) {
        res = fetch_now(ctx, store, &m);
        if (res < 0) {
            app_fail("play %s: %s", m.id, app_strerror(res));
            goto error_store;
        }
    }
    if (from_given) /* where to start, instead of where the listener stopped last */
        m.play_position_ms = from_ms;
    if (!output) {
        status = playback_run(store, &m, next, ctx->clock_offset_ms);
        goto error_store;
    }
    res = js_message_load(store, m.id, &data, &len);
    if (res < 0) {
        app_fail("play %s: %s", m.id, app_strerror(res));
        goto error_store;
    }
    res = decode_to_wav(data, len, playback_gain_db(store, m.id, data, len), output);
    free(data);
    if (res < 0) {
        app_fail("play %s: %s", m.id, app_strerror(res));
        goto error_store;
    }
    /* Tests of the keys during playback: the file stands in for the
     * speaker, and the message takes its own length to "play". */
    if (getenv("JIASHU_PLAY_REALTIME")) {
        res = playback_pace(store, &m, m.play_position_ms);
        if (res <= 0) {
            status = res < 0 ? app_fail("play %s: %s", m.id, app_strerror(res)) : 0;
            goto error_store;
        }
    }
    if (m.box == JS_INBOX) {
        res = js_inbox_mark_played(store, m.id, m.duration_ms);
        if (res < 0) {
            app_fail("play %s: %s", m.id, app_strerror(res));
            goto error_store;
        }
    }
    printf("%s\n", m.id);
    status = 0;

error_store:
    js_store_destroy(store);
    return status;
}
