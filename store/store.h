/*
 * jiashu store: the client's SQLite database (outbox, inbox, receipts,
 * contacts, settings) with its schema migrations.
 *
 * One database per home directory (home/jiashu.db), WAL mode, every commit
 * synchronous=FULL. Audio lives with its message as chunk rows, appended as
 * a recording or a download goes, so nothing ever rewrites a whole note.
 *
 * Errors follow the codec's convention (codec/codec.h): 0 or a negative
 * code; JS_ERR_* codes are the store's own, ju_strerror() explains any code.
 * A failed call leaves the database as it was (each call is one transaction).
 *
 * A js_store is used by one thread at a time. Several processes may open
 * the same home; SQLite serialises their writes.
 */
#ifndef JIASHU_STORE_H
#define JIASHU_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "codec/codec.h"

#define JS_API __attribute__((visibility("default")))

enum js_error {
    JS_ERR_NOT_A_DATABASE = -2001, /* the file is not a jiashu database, or is damaged */
    JS_ERR_TOO_NEW = -2002,        /* written by a newer jiashu */
    JS_ERR_READ_ONLY = -2003,      /* the home or the database cannot be written */
    JS_ERR_DISK_FULL = -2004,      /* the disk holding the home is full */
    JS_ERR_QUOTA = -2005,          /* the quota is used by messages that may not be evicted */
    JS_ERR_NOT_FOUND = -2006,      /* no message (contact, setting) by that id */
    JS_ERR_STATE = -2007,          /* the message is not in a state that allows this */
    JS_ERR_INVALID = -2008,        /* an argument out of range (too long, malformed) */
    JS_ERR_CHECKSUM = -2009,       /* downloaded bytes do not match the announced SHA-256 */
    JS_ERR_BUSY = -2010,           /* another program holds the database too long */
    JS_ERR_IO = -2011,             /* the disk failed to read or write */
    JS_ERR_EVICTED = -2012,        /* the message's audio was removed to make room */
};

/* Sizes. Every string the store accepts is bounded; longer is JS_ERR_INVALID. */
#define JS_ID_LEN      36   /* a UUID in text, 8-4-4-4-12 lower-case hex */
#define JS_PEER_MAX    127  /* a device id or a contact name, bytes */
#define JS_SETTING_MAX 1023 /* a setting's value, bytes */
/* The largest voice note the store accepts: the codec's, which every size
 * limit derives from. */
#define JS_MAX_NOTE_BYTES ((uint64_t)JC_MAX_NOTE_BYTES)
/* The schema version this build writes (PRAGMA user_version). */
#define JS_SCHEMA_VERSION 7

/* ---- Opening ------------------------------------------------------------ */

typedef struct js_store js_store;

/* Opens (creating if needed, mode 0700) the home directory and its database
 * home/jiashu.db, migrates the schema forward and finalises every recording
 * that was interrupted (a crash, a kill, a power cut) into a playable
 * message: state ready, or draft if the setting recovered_state says so.
 * A recording still running in another process is left alone.
 *
 * Errors: JS_ERR_NOT_A_DATABASE (damaged or foreign file: it is not touched),
 * JS_ERR_TOO_NEW, JS_ERR_READ_ONLY, JS_ERR_DISK_FULL, JS_ERR_BUSY, -errno.
 * On success *out is a new store, freed with js_store_destroy(). */
JS_API int js_store_open(const char *home, js_store **out);
JS_API void js_store_destroy(js_store *store);

/* Runs PRAGMA integrity_check: 0 if ok, JS_ERR_NOT_A_DATABASE otherwise. */
JS_API int js_store_check(js_store *store);

/* Number of interrupted recordings the last js_store_open() finalised. */
JS_API int js_store_recovered(const js_store *store);

/* Finalises interrupted recordings now, as js_store_open() does; for a
 * program that keeps the store open for long (the sync engine, the station).
 * Returns how many became messages. */
JS_API int js_store_recover(js_store *store);

/* Work for the sync appeared: a message became ready to send (recorded,
 * added, released from draft, recovered) or a played mark was queued. After
 * such a commit the store rewrites the empty file JS_WAKE_FILE in its home,
 * so a watching sync (another process) waits on it with inotify
 * (IN_CLOSE_WRITE) instead of polling the database. Writes the sync makes
 * itself (offsets, states, delivered receipts) do not touch it. The path
 * goes to buf; 0, or -ENAMETOOLONG. */
#define JS_WAKE_FILE "sync-wake"
JS_API int js_store_wake_path(const js_store *store, char *buf, size_t size);

/* ---- Messages ----------------------------------------------------------- */

enum js_box { JS_OUTBOX = 0, JS_INBOX = 1 };

/* Outbox: recording -> ready -> uploading(offset) -> sent -> delivered -> played,
 *         and draft (a recovered recording kept back) -> ready.
 * Inbox:  announced -> downloading(offset) -> ready -> played.
 * Each is one bit so a listing can ask for several. */
enum js_state {
    JS_RECORDING = 1 << 0,
    JS_DRAFT = 1 << 1,
    JS_READY = 1 << 2,
    JS_UPLOADING = 1 << 3,
    JS_SENT = 1 << 4,
    JS_DELIVERED = 1 << 5,
    JS_PLAYED = 1 << 6,
    JS_ANNOUNCED = 1 << 7,
    JS_DOWNLOADING = 1 << 8,
    JS_REFUSED = 1 << 9, /* inbox: its bytes were never a voice note; not fetched again */
};
#define JS_ANY_STATE 0x3ffu

/* "ready", "uploading", ...; "unknown" for anything else. */
JS_API const char *js_state_name(enum js_state state);

struct js_message {
    char id[JS_ID_LEN + 1]; /* UUID; for the inbox, the id the sender made */
    enum js_box box;
    enum js_state state;
    char peer[JS_PEER_MAX + 1]; /* outbox: recipient (name or device id, "" = family);
                                   inbox: sender device id */
    int64_t created_ms;         /* Unix time, milliseconds */
    int64_t updated_ms;         /* last change of state */
    uint64_t duration_ms;       /* playable length; 0 until known */
    uint64_t length;            /* bytes of audio (inbox: the announced length) */
    uint64_t offset;            /* bytes uploaded / downloaded so far */
    uint64_t play_position_ms;  /* where playback stopped, to resume there */
    char sha256[65];            /* hex, "" until known */
    bool evicted;               /* audio removed by the quota policy */
    /* Bytes this message cost on the wire, headers and repeats included:
     * its uploads or downloads and its receipts (js_traffic_add()). */
    uint64_t wire_sent;
    uint64_t wire_received;
    /* A bedtime letter: the time it is for, in minutes after midnight
     * (local time on the device that plays it), from the note's
     * JS_PLAY_AT_KEY comment; -1 for an ordinary letter. */
    int play_at;
    /* Inbox, a bedtime letter that is here: not played by itself (autoplay,
     * "all new") before this Unix time in ms; 0 for any other message. */
    int64_t play_after_ms;
};

/* Called once per message, in creation order (oldest first). A non-zero
 * return stops the listing and is returned by the list call. */
typedef int (*js_message_fn)(void *user, const struct js_message *message);

/* Lists the messages of one box whose state is in state_mask (a set of
 * enum js_state bits, JS_ANY_STATE for all). Returns the number listed, or
 * a negative code (or the callback's non-zero return). */
JS_API int js_messages_list(js_store *store, enum js_box box, unsigned state_mask, js_message_fn fn,
                            void *user);

/* Fills *out with the message whose id is id (in either box; the outbox
 * first); JS_ERR_NOT_FOUND if there is none. */
JS_API int js_message_get(js_store *store, const char *id, struct js_message *out);

/* Copies up to len bytes of a message's audio from offset into buf (a
 * range, for an upload chunk); *got is 0 at the end. JS_ERR_EVICTED if the
 * audio is gone. Reads the bytes stored so far, whatever the state. */
JS_API int js_message_read(js_store *store, const char *id, uint64_t offset, unsigned char *buf,
                           size_t len, size_t *got);

/* Loads a message's whole audio. On success *data is a malloc()ed buffer
 * the caller frees, *len its size. Only for ready (or later) messages:
 * JS_ERR_STATE otherwise, JS_ERR_EVICTED if the audio is gone. */
JS_API int js_message_load(js_store *store, const char *id, unsigned char **data, size_t *len);

/* ---- Outbox transitions (the sync engine drives these) ------------------- */

/* Puts an encoded voice note (checked with jc_note_check()) into the outbox
 * as ready, for recipient to (NULL: the family). The store copies data.
 * JS_ERR_QUOTA if there is no room even after evicting what may go. */
JS_API int js_outbox_add(js_store *store, const unsigned char *data, size_t len, const char *to,
                         char *id_out);

/* draft -> ready: the user chose to send a kept-back recording. */
JS_API int js_outbox_release(js_store *store, const char *id);

/* Deletes a draft and its audio: the person chose to throw it away.
 * JS_ERR_STATE for anything but a draft (nothing on its way is ever
 * deleted), JS_ERR_NOT_FOUND for an unknown id. */
JS_API int js_outbox_discard(js_store *store, const char *id);

/* ready|uploading -> uploading at offset (0..length). Moving back (the
 * relay lost part of an upload) is allowed. */
JS_API int js_outbox_set_offset(js_store *store, const char *id, uint64_t offset);

/* Forward moves only: uploading(length) -> sent, sent -> delivered,
 * sent|delivered -> played. A receipt that arrives late (delivered after
 * played) or twice changes nothing and returns 0. JS_ERR_STATE for a move
 * that skips the upload (sent before every byte was uploaded). */
JS_API int js_outbox_mark(js_store *store, const char *id, enum js_state state);

/* ---- Inbox ---------------------------------------------------------------- */

/* Records that the relay holds message id (a UUID) from sender, length
 * bytes whose SHA-256 is sha256_hex. Idempotent: announcing a known id
 * returns 1 and changes nothing; a new one returns 0 and is "announced".
 * The length is reserved against the quota, evicting what the policy
 * allows; JS_ERR_QUOTA if there is no room (try again after playing),
 * JS_ERR_INVALID for a length over JS_MAX_NOTE_BYTES or a malformed id. */
JS_API int js_inbox_announce(js_store *store, const char *id, const char *sender, uint64_t length,
                             const char *sha256_hex);

/* Stores downloaded bytes at offset, which must not be past what is stored
 * (offset <= message offset); bytes already held are skipped, so a retried
 * range is harmless. announced -> downloading(offset + len). JS_ERR_INVALID
 * if the bytes would run past the announced length. */
JS_API int js_inbox_write(js_store *store, const char *id, uint64_t offset,
                          const unsigned char *data, size_t len);

/* downloading(length) -> ready, once the bytes match the announced SHA-256
 * and jc_note_check() accepts them; measures the note's loudness
 * (js_message_loudness()) and queues a "delivered" receipt. On a
 * mismatch (JS_ERR_CHECKSUM) or a damaged note (a JC_ERR_*) the bytes are
 * dropped and the message goes back to announced(0) to be fetched again. */
JS_API int js_inbox_complete(js_store *store, const char *id);

/* Like js_inbox_complete() for a message that arrives sealed (net/e2e):
 * once the stored bytes match the announced SHA-256, open() turns them into
 * the voice note (a malloc()ed buffer the store frees). On success the
 * sealed bytes are replaced by the note, which jc_note_check() must accept,
 * the length and SHA-256 become the note's, the state ready, and a
 * "delivered" receipt is queued, in one transaction. If open() fails its
 * code is returned, and like a checksum mismatch the bytes are dropped and
 * the message goes back to announced(0): the caller decides whether it is
 * ever fetched again. */
typedef int (*js_open_fn)(void *user, const unsigned char *sealed, size_t len, unsigned char **note,
                          size_t *note_len);
JS_API int js_inbox_complete_opened(js_store *store, const char *id, js_open_fn open, void *user);

/* A download of an announced (or downloading) message failed for good this
 * time: why is JS_FETCH_BAD_BYTES (they were not the voice note announced)
 * or JS_FETCH_GONE (the relay answered 404). The message's failures are
 * counted (in the store, so across syncs); at `limit` of them a message
 * with bad bytes becomes refused (its audio dropped, out of the quota, a
 * "rejected" receipt queued) and one the relay no longer has is removed.
 * Returns 0 while it stays queued, 1 when it left the queue. */
enum js_fetch_failure { JS_FETCH_BAD_BYTES = 1, JS_FETCH_GONE = 2 };
JS_API int js_inbox_fetch_failed(js_store *store, const char *id, enum js_fetch_failure why,
                                 unsigned limit);

/* A note's loudness (codec.h), measured once and kept with its message
 * (either box, the outbox first, as js_message_load): a received note's
 * when it is complete, any other's when the player first measures it.
 * js_message_loudness() returns 1 and fills *out when it is known, 0 when
 * it was never measured; JS_ERR_NOT_FOUND. */
JS_API int js_message_loudness(js_store *store, const char *id, struct jc_loudness *out);
JS_API int js_message_set_loudness(js_store *store, const char *id,
                                   const struct jc_loudness *loudness);

/* Records where playback stopped (ms from the start, for resuming). The
 * first call moves ready -> played and queues a "played" receipt; later
 * calls only move the position. */
JS_API int js_inbox_mark_played(js_store *store, const char *id, uint64_t position_ms);

/* Where playback of a message (either box, the outbox first, as
 * js_message_load) stopped, in ms, kept for resuming; 0 starts over. Moves
 * no state. JS_ERR_NOT_FOUND. */
JS_API int js_message_set_position(js_store *store, const char *id, uint64_t position_ms);

/* The oldest ready (unplayed) inbox message that is not a bedtime letter
 * waiting for its time at now_ms (Unix ms): 0 and *out filled, or
 * JS_ERR_NOT_FOUND. */
JS_API int js_inbox_next(js_store *store, int64_t now_ms, struct js_message *out);

/* ---- Bedtime letters -------------------------------------------------------- */

/* A note for bedtime carries the comment JS_PLAY_AT_KEY=HH:MM in its
 * OpusTags, written when it is recorded (js_recording_config.play_at) and
 * sealed with the audio, so the relay never sees it. The store reads it
 * when a note comes in (js_inbox_complete*, js_outbox_add). A received
 * bedtime letter may play from HH:MM local time on the day it arrived, or
 * at once if it arrived after HH:MM that day: a letter for tonight that
 * comes late in the evening is still tonight's, never held for tomorrow
 * (docs/station.md). */
#define JS_PLAY_AT_KEY "JIASHU_PLAY_AT"

/* "HH:MM" (two digits each, 00:00 to 23:59) into minutes after midnight;
 * JS_ERR_INVALID for anything else. */
JS_API int js_play_at_parse(const char *text, int *minutes);

/* ---- Receipts to send ----------------------------------------------------- */

struct js_receipt {
    int64_t id; /* the store's handle, for js_receipt_sent() */
    char message_id[JS_ID_LEN + 1];
    enum js_state state; /* JS_DELIVERED or JS_PLAYED */
    int64_t created_ms;
};

typedef int (*js_receipt_fn)(void *user, const struct js_receipt *receipt);

/* Lists receipts not yet sent, oldest first; returns the count. */
JS_API int js_receipts_pending(js_store *store, js_receipt_fn fn, void *user);
/* The relay has the receipt: it is not listed again. */
JS_API int js_receipt_sent(js_store *store, int64_t receipt_id);

/* ---- Contacts (family members) -------------------------------------------- */

struct js_contact {
    char device_id[JS_PEER_MAX + 1];
    char name[JS_PEER_MAX + 1];
};

typedef int (*js_contact_fn)(void *user, const struct js_contact *contact);

/* Adds or renames a member. */
JS_API int js_contact_put(js_store *store, const char *device_id, const char *name);
JS_API int js_contact_remove(js_store *store, const char *device_id);
/* By device id, else by name (exact): 0 and *out, or JS_ERR_NOT_FOUND. */
JS_API int js_contact_find(js_store *store, const char *id_or_name, struct js_contact *out);
/* In name order; returns the count. */
JS_API int js_contacts_list(js_store *store, js_contact_fn fn, void *user);

/* ---- Settings ------------------------------------------------------------- */

/* Every setting the project keeps, named here once with the values it
 * takes: js_setting_set refuses a key not in this list and a value its kind
 * does not allow, so a misspelt key or a hand-typed value fails at once
 * instead of being ignored by the part that reads it later. */
#define JS_SETTING_RELAY_URL      "relay_url"      /* text: the relay's base URL */
#define JS_SETTING_CA_FILE        "ca_file"        /* text: a CA bundle for the relay */
#define JS_SETTING_DEVICE_ID      "device_id"      /* text: this device on the relay */
#define JS_SETTING_DEVICE_TOKEN   "device_token"   /* text: its bearer token */
#define JS_SETTING_DEVICE_NAME    "device_name"    /* text: the name it joined with */
#define JS_SETTING_FAMILY_ID      "family_id"      /* text */
#define JS_SETTING_INBOX_CURSOR   "inbox_cursor"   /* number: the relay's inbox position */
#define JS_SETTING_RECEIPT_CURSOR "receipt_cursor" /* number: the receipts position */
/* The relay's Tus-Max-Size in bytes, learned at setup and sync; absent when
 * not known yet or when the relay states none. */
#define JS_SETTING_RELAY_MAX_UPLOAD "relay_max_upload_bytes"
/* Bytes of audio the store may hold (default JS_DEFAULT_QUOTA, at least
 * JS_MIN_QUOTA). */
#define JS_SETTING_QUOTA "quota_bytes"
/* What an interrupted recording becomes: "ready" (default) or "draft". */
#define JS_SETTING_RECOVERED_STATE "recovered_state"
/* Megabytes a month the sync may spend before it postpones large
 * downloads (0..JS_MAX_DATA_BUDGET_MB); absent: no budget. */
#define JS_SETTING_DATA_BUDGET "data_budget_mb"
#define JS_MAX_DATA_BUDGET_MB  1000000
/* "HH:MM-HH:MM" during which the sync neither sends nor fetches. */
#define JS_SETTING_QUIET_HOURS "quiet_hours"
/* The listener's playback speed, a decimal between 0.5 and 2. */
#define JS_SETTING_PLAY_SPEED "play_speed"
/* The longest live recording in seconds (1..JC_MAX_NOTE_SECONDS). */
#define JS_SETTING_RECORD_MAX_SECONDS "record_max_seconds"
/* A pairing in progress and the family list last seen (text). */
#define JS_SETTING_JOIN_NAMEPLATE "e2e_join_nameplate"
#define JS_SETTING_JOIN_CLAIM     "e2e_join_claim"
#define JS_SETTING_ROSTER_ETAG    "e2e_roster_etag"

enum js_setting_kind {
    JS_SETTING_TEXT,      /* any text up to JS_SETTING_MAX bytes */
    JS_SETTING_NUMBER,    /* a decimal integer in [min, max] */
    JS_SETTING_DECIMAL,   /* a decimal number in [min, max], e.g. "1.25" */
    JS_SETTING_CHOICE,    /* one of the space-separated words in choices */
    JS_SETTING_TIME_SPAN, /* "HH:MM-HH:MM", two different times */
};

struct js_setting_spec {
    const char *key;
    enum js_setting_kind kind;
    double min, max;     /* NUMBER and DECIMAL */
    const char *choices; /* CHOICE */
};

/* The spec of a key, or NULL for a key the project does not keep. */
JS_API const struct js_setting_spec *js_setting_spec(const char *key);
/* Whether js_setting_set would take this value for this key. */
JS_API bool js_setting_valid(const char *key, const char *value);
/* A setting read as a number: 0, JS_ERR_NOT_FOUND when unset, or
 * JS_ERR_INVALID when the stored text is not a number of its kind's range
 * (written by hand into the database). */
JS_API int js_setting_get_number(js_store *store, const char *key, uint64_t *out);

#define JS_DEFAULT_QUOTA (64u * 1024 * 1024)
#define JS_MIN_QUOTA     (64u * 1024)

/* Copies the value into buf (NUL-terminated) and returns its length, or
 * JS_ERR_NOT_FOUND; JS_ERR_INVALID if size is too small. */
JS_API int js_setting_get(js_store *store, const char *key, char *buf, size_t size);
/* Sets (value != NULL) or deletes (NULL) a setting; JS_ERR_INVALID for a
 * key not listed above or a value its kind does not take. */
JS_API int js_setting_set(js_store *store, const char *key, const char *value);
/* The quota in force (the setting, or the default). */
JS_API uint64_t js_store_quota(js_store *store);
/* Bytes of audio held, counting announced inbox lengths and recordings. */
JS_API int js_store_usage(js_store *store, uint64_t *bytes);

/* ---- Data counted on the wire ------------------------------------------- */

/* Adds what one exchange with the relay cost (bytes sent and received on
 * the connection, headers included) to message id's counters and to the
 * ledger of the month that now_ms falls in (local time), under the
 * message's family member: the sender of an inbox message, the recipient
 * of an outbox one (JS_TRAFFIC_FAMILY for the whole family). id NULL, or
 * an id this store does not hold, counts as the device's own traffic
 * (JS_TRAFFIC_DEVICE). One transaction; 0 or a store code. */
#define JS_TRAFFIC_DEVICE ""
#define JS_TRAFFIC_FAMILY "*"
JS_API int js_traffic_add(js_store *store, const char *id, uint64_t sent, uint64_t received,
                          int64_t now_ms);

struct js_traffic {
    char member[JS_PEER_MAX + 1]; /* a device id or a name, or the two markers above */
    uint64_t sent;
    uint64_t received;
};
typedef int (*js_traffic_fn)(void *user, const struct js_traffic *traffic);

/* The ledger of the month now_ms falls in, one call per member, the
 * device's own line first; *total (if not NULL) gets the month's bytes
 * both ways. Returns the number of members listed, or a code. */
JS_API int js_traffic_month(js_store *store, int64_t now_ms, js_traffic_fn fn, void *user,
                            uint64_t *total);

/* ---- Blobs ---------------------------------------------------------------- */

/* Named binary values that the parts above the store keep in its database
 * (net/e2e: device keys, the family's roster, sealed envelopes). The store
 * neither reads nor explains them. kind and key are 1..64 bytes of
 * [A-Za-z0-9_.-]; a value is at most JS_BLOB_MAX bytes. */
#define JS_BLOB_MAX ((uint64_t)JU_MAX_UPLOAD_BYTES)

/* Sets (replacing) a value; the store copies data. */
JS_API int js_blob_put(js_store *store, const char *kind, const char *key, const void *data,
                       size_t len);
/* On success *data is a malloc()ed copy the caller frees (and wipes, for a
 * secret), *len its size; JS_ERR_NOT_FOUND if there is none. */
JS_API int js_blob_get(js_store *store, const char *kind, const char *key, unsigned char **data,
                       size_t *len);
/* Deletes a value; deleting one that is not there is not an error. */
JS_API int js_blob_delete(js_store *store, const char *kind, const char *key);

typedef int (*js_blob_fn)(void *user, const char *key, const unsigned char *data, size_t len);
/* Calls fn for every value of kind, in key order; returns the count, or
 * fn's non-zero return. */
JS_API int js_blob_list(js_store *store, const char *kind, js_blob_fn fn, void *user);

/* ---- Quota ---------------------------------------------------------------- */

/* Makes room for need more bytes under the quota by evicting, oldest first,
 * the audio of played inbox messages and of played outbox messages (the
 * rows stay, marked evicted). Never touches anything unplayed or unsent.
 * Returns the number evicted, or JS_ERR_QUOTA (nothing evicted then) if
 * even evicting everything allowed would not make room. */
JS_API int js_store_make_room(js_store *store, uint64_t need);

/* ---- Recording ------------------------------------------------------------ */

struct js_recording_config {
    unsigned input_rate;  /* Hz of the PCM fed in, JC_MIN_INPUT_RATE..JC_MAX_INPUT_RATE */
    int bitrate;          /* 0: the codec's voice-note default */
    bool cleanup;         /* the codec's speech clean-up */
    unsigned max_seconds; /* the longest this recording may run, 1..JC_MAX_NOTE_SECONDS;
                             0 means JC_MAX_NOTE_SECONDS. Room for it is made up front. */
    const char *to;       /* recipient (name or device id), NULL for the whole family */
    bool draft;           /* finish as a draft (listened to before it is sent), not ready */
    const char *play_at;  /* "HH:MM": a bedtime letter (JS_PLAY_AT_KEY), or NULL */
};

typedef struct js_recording js_recording;

/* Starts a message in the outbox (state recording). Before anything is
 * written it makes room for max_seconds under the quota and checks the disk:
 * JS_ERR_QUOTA / JS_ERR_DISK_FULL then, and nothing changed. On success
 * *out is the recording; it holds a lock that tells other processes it is
 * alive. */
JS_API int js_recording_create(js_store *store, const struct js_recording_config *config,
                               js_recording **out);
/* Feeds mono float PCM at config->input_rate, in any chunk size (a
 * microphone's period). Every Ogg page the codec emits is committed at
 * once, and the codec emits one at least every JS_RECORDING_PAGE_MS of
 * audio, so a killed process loses at most that much. A page's commit is
 * also fsynced unless the previous fsync was under 500 ms ago, which at a
 * microphone's pace never happens: a power cut loses no more either. Only
 * input fed faster than real time shares fsyncs. JC_ERR_TOO_LONG past
 * max_seconds. After an error the recording can only be destroyed; what it
 * committed is finalised by the next js_store_open(). */
JS_API int js_recording_write(js_recording *rec, const float *pcm, size_t frames);
/* Milliseconds of audio fed so far. */
JS_API uint64_t js_recording_fed_ms(const js_recording *rec);
/* Encodes the rest, commits the last page and moves the message to ready.
 * On success copies the message id into id_out (JS_ID_LEN + 1 bytes) if not
 * NULL. */
JS_API int js_recording_finish(js_recording *rec, char *id_out);
/* Frees the recording. One not finished stays in the store as an
 * interrupted recording, finalised by the next js_store_open(); pass
 * discard = true to delete it instead. */
JS_API void js_recording_destroy(js_recording *rec, bool discard);

#define JS_RECORDING_PAGE_MS 800

/* Generates a random UUID (version 4) into out (JS_ID_LEN + 1 bytes). */
JS_API int js_uuid(char *out);

#endif
