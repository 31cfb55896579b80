/*
 * Messages of both boxes: listing, reading audio, and every state
 * transition the sync engine and the player drive.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static const struct {
    enum js_state state;
    const char *name;
} state_names[] = {
    {JS_RECORDING, "recording"}, {JS_DRAFT, "draft"},         {JS_READY, "ready"},
    {JS_UPLOADING, "uploading"}, {JS_SENT, "sent"},           {JS_DELIVERED, "delivered"},
    {JS_PLAYED, "played"},       {JS_ANNOUNCED, "announced"}, {JS_DOWNLOADING, "downloading"},
    {JS_REFUSED, "refused"},
};

const char *js_state_name(enum js_state state)
{
    for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
        if (state_names[i].state == state)
            return state_names[i].name;
    return "unknown";
}

enum js_state js_state_parse(const char *name)
{
    for (size_t i = 0; name && i < sizeof(state_names) / sizeof(state_names[0]); i++)
        if (!strcmp(state_names[i].name, name))
            return state_names[i].state;
    return 0;
}

static void copy_text(char *dst, size_t size, const unsigned char *src)
{
    size_t n = src ? strlen((const char *)src) : 0;
    if (n >= size)
        n = size - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

#define MESSAGE_COLUMNS                                                                            \
    "id, box, state, peer, created_ms, updated_ms, duration_ms, length, transferred, "             \
    "play_position_ms, sha256, evicted, wire_sent, wire_received, play_at, play_after_ms"
#define MESSAGE_COLUMN_COUNT 16

static void read_message(sqlite3_stmt *stmt, struct js_message *m)
{
    memset(m, 0, sizeof(*m));
    copy_text(m->id, sizeof(m->id), sqlite3_column_text(stmt, 0));
    m->box = sqlite3_column_int(stmt, 1) ? JS_INBOX : JS_OUTBOX;
    m->state = js_state_parse((const char *)sqlite3_column_text(stmt, 2));
    copy_text(m->peer, sizeof(m->peer), sqlite3_column_text(stmt, 3));
    m->created_ms = sqlite3_column_int64(stmt, 4);
    m->updated_ms = sqlite3_column_int64(stmt, 5);
    m->duration_ms = (uint64_t)sqlite3_column_int64(stmt, 6);
    m->length = (uint64_t)sqlite3_column_int64(stmt, 7);
    m->offset = (uint64_t)sqlite3_column_int64(stmt, 8);
    m->play_position_ms = (uint64_t)sqlite3_column_int64(stmt, 9);
    copy_text(m->sha256, sizeof(m->sha256), sqlite3_column_text(stmt, 10));
    m->evicted = sqlite3_column_int(stmt, 11) != 0;
    m->wire_sent = (uint64_t)sqlite3_column_int64(stmt, 12);
    m->wire_received = (uint64_t)sqlite3_column_int64(stmt, 13);
    m->play_at = sqlite3_column_int(stmt, 14);
    m->play_after_ms = sqlite3_column_int64(stmt, 15);
}

int js_play_at_parse(const char *text, int *minutes)
{
    if (!text || strlen(text) != 5 || text[2] != ':')
        return JS_ERR_INVALID;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (text[i] < '0' || text[i] > '9'))
            return JS_ERR_INVALID;
    int hours = (text[0] - '0') * 10 + text[1] - '0';
    int mins = (text[3] - '0') * 10 + text[4] - '0';
    if (hours > 23 || mins > 59)
        return JS_ERR_INVALID;
    *minutes = hours * 60 + mins;
    return 0;
}

/* The bedtime a note carries in its tags, in minutes; -1 for none, and for
 * a comment that is not a time (the letter then plays as any other). */
static int note_play_at(const unsigned char *note, size_t len)
{
    char text[8];
    int minutes;

    if (jc_note_comment(note, len, JS_PLAY_AT_KEY, text, sizeof(text)) != 1 ||
        js_play_at_parse(text, &minutes) < 0)
        return -1;
    return minutes;
}

/* When a bedtime letter that arrived at arrived_ms may play: at its time on
 * the (local) day it arrived, or at once if that time has passed. */
static int64_t play_after(int64_t arrived_ms, int minutes)
{
    time_t t = (time_t)(arrived_ms / 1000);
    struct tm tm;
    int64_t at;

    if (minutes < 0 || !localtime_r(&t, &tm))
        return 0;
    tm.tm_hour = minutes / 60;
    tm.tm_min = minutes % 60;
    tm.tm_sec = 0;
    tm.tm_isdst = -1;
    t = mktime(&tm);
    if (t == (time_t)-1)
        return arrived_ms;
    at = (int64_t)t * 1000;
    return at > arrived_ms ? at : arrived_ms;
}

int js_messages_list(js_store *store, enum js_box box, unsigned state_mask, js_message_fn fn,
                     void *user)
{
    sqlite3_stmt *stmt;
    struct js_message m;
    int res, rc, count = 0;

    res = js_prepare(
        store, "SELECT " MESSAGE_COLUMNS " FROM messages WHERE +box = ? ORDER BY rowid", &stmt);
    if (res < 0)
        return res;
    sqlite3_bind_int(stmt, 1, box == JS_INBOX);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        read_message(stmt, &m);
        if (!(m.state & state_mask))
            continue;
        count++;
        if (fn) {
            res = fn(user, &m);
            if (res) {
                sqlite3_finalize(stmt);
                return res;
            }
        }
    }
    res = rc == SQLITE_DONE ? count : js_sqlite_error(store, rc);
    sqlite3_finalize(stmt);
    return res;
}

/* One message of a box (or of either with box < 0, the outbox first), and
 * its row when row is not NULL. */
static int get_message(js_store *store, int box, const char *id, struct js_message *out,
                       int64_t *row)
{
    sqlite3_stmt *stmt;
    int res = js_message_find(store, box, MESSAGE_COLUMNS ", rowid", id, &stmt);
    if (res < 0)
        return res;
    read_message(stmt, out);
    if (row)
        *row = sqlite3_column_int64(stmt, MESSAGE_COLUMN_COUNT);
    sqlite3_finalize(stmt);
    return 0;
}

int js_message_get(js_store *store, const char *id, struct js_message *out)
{
    if (!id || strlen(id) > JS_ID_LEN)
        return JS_ERR_NOT_FOUND;
    return get_message(store, -1, id, out, NULL);
}

int js_message_read(js_store *store, const char *id, uint64_t offset, unsigned char *buf,
                    size_t len, size_t *got)
{
    struct js_message m;
    sqlite3_stmt *stmt;
    int64_t row;
    int res, rc;

    *got = 0;
    if (!id || strlen(id) > JS_ID_LEN)
        return JS_ERR_NOT_FOUND;
    res = get_message(store, -1, id, &m, &row);
    if (res < 0)
        return res;
    if (m.evicted)
        return JS_ERR_EVICTED;
    res = js_prepare(store,
                     "SELECT at, data FROM chunks WHERE message = ?1 AND at < ?3 AND"
                     " at >= coalesce((SELECT max(at) FROM chunks WHERE message = ?1 AND at <= ?2),"
                     " 0) ORDER BY at",
                     &stmt);
    if (res < 0)
        return res;
    sqlite3_bind_int64(stmt, 1, row);
    sqlite3_bind_int64(stmt, 2, (int64_t)offset);
    sqlite3_bind_int64(stmt, 3, (int64_t)(offset + len));
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        uint64_t at = (uint64_t)sqlite3_column_int64(stmt, 0);
        const unsigned char *data = sqlite3_column_blob(stmt, 1);
        uint64_t n = (uint64_t)sqlite3_column_bytes(stmt, 1);
        uint64_t from = offset + *got;
        if (at + n <= from)
            continue;
        if (at > from)
            break; /* a gap: only stored bytes, in order */
        uint64_t take = at + n - from;
        if (take > len - *got)
            take = len - *got;
        memcpy(buf + *got, data + (from - at), take);
        *got += take;
        if (*got == len)
            break;
    }
    res = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? 0 : js_sqlite_error(store, rc);
    sqlite3_finalize(stmt);
    return res;
}

int js_message_load(js_store *store, const char *id, unsigned char **data, size_t *len)
{
    struct js_message m;
    int64_t row;
    int res = JS_ERR_NOT_FOUND;
    if (id && strlen(id) <= JS_ID_LEN)
        res = get_message(store, -1, id, &m, &row);
    if (res < 0)
        return res;
    if (m.state & (JS_RECORDING | JS_ANNOUNCED | JS_DOWNLOADING))
        return JS_ERR_STATE;
    if (m.evicted)
        return JS_ERR_EVICTED;
    if (res < 0)
        return res;
    return js_chunks_load(store, row, data, len);
}

static int set_state(js_store *store, int64_t row, enum js_state state)
{
    return js_run(store, "UPDATE messages SET state = ?, updated_ms = ? WHERE rowid = ?", "tii",
                  js_state_name(state), ju_wall_ms(), row);
}

/* The state of a transfer and how many of its bytes have gone or come. */
static int set_progress(js_store *store, int64_t row, enum js_state state, uint64_t transferred)
{
    return js_run(store,
                  "UPDATE messages SET state = ?, transferred = ?, updated_ms = ? WHERE rowid = ?",
                  "tiii", js_state_name(state), (int64_t)transferred, ju_wall_ms(), row);
}

static int queue_receipt(js_store *store, const char *id, enum js_state state)
{
    return js_run(store,
                  "INSERT OR IGNORE INTO receipts (message_id, state, created_ms) VALUES (?, ?, ?)",
                  "tti", id, js_state_name(state), ju_wall_ms());
}

int js_begin_change(js_store *store, int box, const char *id, unsigned states, struct js_message *m,
                    int64_t *row)
{
    int res = js_begin(store);
    if (res < 0)
        return res;
    res = get_message(store, box, id, m, row);
    if (res == 0 && !(m->state & states))
        res = JS_ERR_STATE;
    if (res < 0)
        js_rollback(store);
    return res;
}

/* ---- outbox ---- */

int js_outbox_release(js_store *store, const char *id)
{
    enum js_state state = 0;
    int64_t row;
    int res = js_begin(store);
    if (res < 0)
        return res;
    res = js_message_row(store, JS_OUTBOX, id, &row, &state);
    if (res < 0 || state == JS_READY)
        goto out;
    res = JS_ERR_STATE;
    if (state != JS_DRAFT)
        goto out;
    res = set_state(store, row, JS_READY);
out:
    res = js_finish(store, res);
    if (res == 0 && state == JS_DRAFT)
        js_wake_sync(store);
    return res;
}

int js_outbox_set_offset(js_store *store, const char *id, uint64_t offset)
{
    struct js_message m;
    int64_t row;
    int res = js_begin_change(store, JS_OUTBOX, id, JS_READY | JS_UPLOADING, &m, &row);
    if (res < 0)
        return res;
    res = JS_ERR_INVALID;
    if (offset > m.length)
        goto out;
    res = set_progress(store, row, JS_UPLOADING, offset);
out:
    return js_finish(store, res);
}

/* Position of each outbox state on the way out; a receipt only moves forward. */
static int outbox_rank(enum js_state s)
{
    switch (s) {
    case JS_SENT:
        return 1;
    case JS_DELIVERED:
        return 2;
    case JS_PLAYED:
        return 3;
    default:
        return 0;
    }
}

int js_outbox_mark(js_store *store, const char *id, enum js_state state)
{
    struct js_message m;
    int64_t row;
    int res;

    if (!outbox_rank(state))
        return JS_ERR_INVALID;
    res = js_begin(store);
    if (res < 0)
        return res;
    res = get_message(store, JS_OUTBOX, id, &m, &row);
    if (res < 0 || outbox_rank(m.state) >= outbox_rank(state))
        goto out; /* unknown, or a late or repeated receipt */
    /* The relay delivers only complete uploads, so leaving the upload needs
     * every byte to have been sent. */
    res = JS_ERR_STATE;
    if (m.state != JS_UPLOADING ? !outbox_rank(m.state) : m.offset != m.length)
        goto out;
    res = set_state(store, row, state);
out:
    return js_finish(store, res);
}

/* ---- inbox ---- */

static bool hex64(const char *s)
{
    if (!s || strlen(s) != 64)
        return false;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

int js_inbox_announce(js_store *store, const char *id, const char *sender, uint64_t length,
                      const char *sha256_hex)
{
    int res;

    if (!js_uuid_valid(id) || !sender || strlen(sender) > JS_PEER_MAX || !hex64(sha256_hex) ||
        length == 0 || length > JS_MAX_NOTE_BYTES)
        return JS_ERR_INVALID;
    res = js_message_row(store, JS_INBOX, id, NULL, NULL);
    if (res == 0)
        return 1;
    if (res != JS_ERR_NOT_FOUND)
        return res;
    res = js_store_make_room(store, length);
    if (res < 0)
        return res;
    int64_t now = ju_wall_ms();
    res =
        js_run(store,
               "INSERT INTO messages (id, box, state, peer, created_ms, updated_ms, length, sha256)"
               " VALUES (?, 1, 'announced', ?, ?, ?, ?, ?)",
               "ttiiit", id, sender, now, now, (int64_t)length, sha256_hex);
    if (res == JS_ERR_INVALID) /* announced by another process meanwhile */
        return 1;
    return res;
}

#define CHUNK_MAX (64 * 1024)

/* Stores len bytes of a message's audio from byte position at, as chunk
 * rows of at most CHUNK_MAX bytes, inside the caller's transaction. */
static int insert_chunks(js_store *store, int64_t row, uint64_t at, const unsigned char *data,
                         size_t len)
{
    sqlite3_stmt *stmt;
    int res = js_prepare(store, "INSERT INTO chunks (message, at, data) VALUES (?, ?, ?)", &stmt);
    if (res < 0)
        return res;
    for (size_t done = 0; done < len && res == 0;) {
        size_t n = len - done > CHUNK_MAX ? CHUNK_MAX : len - done;
        sqlite3_bind_int64(stmt, 1, row);
        sqlite3_bind_int64(stmt, 2, (int64_t)(at + done));
        sqlite3_bind_blob(stmt, 3, data + done, (int)n, SQLITE_STATIC);
        res = js_sqlite_error(store, sqlite3_step(stmt));
        sqlite3_reset(stmt);
        done += n;
    }
    sqlite3_finalize(stmt);
    return res;
}

int js_inbox_write(js_store *store, const char *id, uint64_t offset, const unsigned char *data,
                   size_t len)
{
    struct js_message m;
    int64_t row;
    int res;

    res = js_begin_change(store, JS_INBOX, id, JS_ANNOUNCED | JS_DOWNLOADING, &m, &row);
    if (res < 0)
        return res;
    res = JS_ERR_INVALID;
    if (offset > m.offset || len > m.length || offset + len > m.length)
        goto out;
    size_t skip = (size_t)(m.offset - offset);
    uint64_t at = m.offset + (len - skip);
    res = insert_chunks(store, row, m.offset, data + skip, len - skip);
    if (res == 0)
        res = set_progress(store, row, JS_DOWNLOADING, at);
out:
    return js_finish(store, res);
}

/* Whether the row still holds a whole download: asked again once the write
 * lock is held, because the check and decoding before it ran without it
 * (another process may have completed or restarted the message since). */
static int still_downloaded(js_store *store, int64_t row, uint64_t length)
{
    sqlite3_stmt *stmt;
    int res = js_prepare(store,
                         "SELECT state = 'downloading' AND transferred = ? FROM messages"
                         " WHERE rowid = ?",
                         &stmt);
    if (res < 0)
        return res;
    sqlite3_bind_int64(stmt, 1, (int64_t)length);
    sqlite3_bind_int64(stmt, 2, row);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        res = sqlite3_column_int(stmt, 0);
    else
        res = rc == SQLITE_DONE ? 0 : js_sqlite_error(store, rc);
    sqlite3_finalize(stmt);
    return res;
}

/* An inbox download whose bytes have all arrived, loaded and checked
 * against the length and checksum it was announced with. Returns 1 when it
 * was completed already (nothing loaded), 0 with *data (the caller frees
 * it) and *verdict (0, or why the bytes are wrong), or a negative code. */
static int load_download(js_store *store, const char *id, struct js_message *m, int64_t *row,
                         unsigned char **data, size_t *len, int *verdict)
{
    char sha[65];
    int res = get_message(store, JS_INBOX, id, m, row);
    if (res < 0)
        return res;
    if (m->state & (JS_READY | JS_PLAYED))
        return 1;
    if (m->state != JS_DOWNLOADING || m->offset != m->length)
        return JS_ERR_STATE;
    res = js_chunks_load(store, *row, data, len);
    if (res < 0)
        return res;
    *verdict = js_sha256_hex(*data, *len, sha);
    if (*verdict == 0 && (*len != m->length || strcmp(sha, m->sha256)))
        *verdict = JS_ERR_CHECKSUM;
    return 0;
}

/* What marking an arrived note ready records, found before the
 * transaction so that the lock is not held while the note is decoded. */
struct arrived_note {
    struct jc_note_info info;
    struct jc_loudness loudness;
    bool measured;
    int play_at; /* minutes, or -1 to play at once */
};

/* Checks an arrived note and reads what it asks of the player; 0 or why it
 * cannot be played. */
static int examine_note(const unsigned char *note, size_t len, struct arrived_note *out)
{
    /* Checked and measured in one decoding, here in the background of a
     * sync rather than when someone waits for it to play; a note left
     * unmeasured is measured by the player. */
    int verdict = jc_note_check_loudness(note, len, &out->info, &out->loudness, &out->measured);
    if (verdict == 0)
        out->play_at = note_play_at(note, len);
    return verdict;
}

/* Opens the transaction that completes a download, if its row is still the
 * download that was checked: 1 inside the transaction, 0 when it was
 * completed elsewhere meanwhile, or a negative code (neither in a
 * transaction). */
static int begin_completion(js_store *store, int64_t row, uint64_t length)
{
    int res = js_begin(store);
    if (res < 0)
        return res;
    res = still_downloaded(store, row, length);
    if (res <= 0)
        js_rollback(store);
    return res;
}

/* Marks the arrived note of length bytes (sha256 in hex) ready to play,
 * keeps its loudness and queues the receipt that tells the sender. */
static int mark_arrived(js_store *store, const char *id, int64_t row, uint64_t length,
                        const char *sha256, const struct arrived_note *note)
{
    int64_t now = ju_wall_ms();
    int res =
        js_run(store,
               "UPDATE messages SET state = 'ready', duration_ms = ?, length = ?,"
               " transferred = ?, sha256 = ?, updated_ms = ?, play_at = ?,"
               " play_after_ms = ? WHERE rowid = ?",
               "iiitiiii", (int64_t)(note->info.samples / 48), (int64_t)length, (int64_t)length,
               sha256, now, (int64_t)note->play_at, play_after(now, note->play_at), row);
    if (res == 0 && note->measured)
        res = js_loudness_store_row(store, row, &note->loudness);
    if (res == 0)
        res = queue_receipt(store, id, JS_DELIVERED);
    return res;
}

/* js_inbox_complete() when open is NULL (the stored bytes are the note),
 * js_inbox_complete_opened() otherwise. */
static int complete_download(js_store *store, const char *id, js_open_fn open, void *user)
{
    struct js_message m;
    struct arrived_note arrived = {.play_at = -1};
    unsigned char *data, *note = NULL;
    size_t len, note_len = 0;
    char note_sha[65];
    const char *sha = NULL;
    int64_t row;
    int res, verdict;

    res = load_download(store, id, &m, &row, &data, &len, &verdict);
    if (res != 0)
        return res < 0 ? res : 0;
    if (!open) {
        note = data;
        note_len = len;
        sha = m.sha256;
    } else {
        if (verdict == 0)
            verdict = open(user, data, len, &note, &note_len);
        free(data);
        sha = note_sha;
    }
    if (verdict == 0)
        verdict = examine_note(note, note_len, &arrived);
    if (verdict == 0 && open)
        verdict = js_sha256_hex(note, note_len, note_sha);

    res = begin_completion(store, row, m.length);
    if (res <= 0) {
        verdict = 0; /* done elsewhere meanwhile (res 0), or an error */
        goto out;
    }
    /* Opened, the note replaces the sealed bytes: what is played, exported
     * and counted against the quota from now on is the voice note itself.
     * Otherwise the stored bytes are the note and stay. */
    res = verdict < 0 || open ? js_run(store, "DELETE FROM chunks WHERE message = ?", "i", row) : 0;
    if (res == 0 && verdict < 0) {
        /* Fetched again from the start: the bytes are wrong, not the id. */
        res = set_progress(store, row, JS_ANNOUNCED, 0);
    } else if (res == 0) {
        if (open)
            res = insert_chunks(store, row, 0, note, note_len);
        if (res == 0)
            res = mark_arrived(store, id, row, note_len, sha, &arrived);
    }
    res = js_finish(store, res);
out:
    if (open && note)
        memset(note, 0, note_len); /* the plaintext of a sealed note */
    free(note);
    return res < 0 ? res : verdict;
}

int js_inbox_complete(js_store *store, const char *id)
{
    return complete_download(store, id, NULL, NULL);
}

int js_inbox_fetch_failed(js_store *store, const char *id, enum js_fetch_failure why,
                          unsigned limit)
{
    enum js_state state;
    int64_t row, failures = 0;
    sqlite3_stmt *stmt;
    int res = js_message_row(store, JS_INBOX, id, &row, &state);
    if (res < 0)
        return res;
    if (!(state & (JS_ANNOUNCED | JS_DOWNLOADING)))
        return JS_ERR_STATE;
    if ((why != JS_FETCH_BAD_BYTES && why != JS_FETCH_GONE) || limit < 1)
        return JS_ERR_INVALID;
    res = js_begin(store);
    if (res < 0)
        return res;
    res = js_run(store, "UPDATE messages SET fetch_failures = fetch_failures + 1 WHERE rowid = ?",
                 "i", row);
    if (res == 0 && (res = js_prepare(store, "SELECT fetch_failures FROM messages WHERE rowid = ?",
                                      &stmt)) == 0) {
        sqlite3_bind_int64(stmt, 1, row);
        if (sqlite3_step(stmt) == SQLITE_ROW)
            failures = sqlite3_column_int64(stmt, 0);
        sqlite3_finalize(stmt);
    }
    int gone = res == 0 && failures >= (int64_t)limit;
    if (gone)
        res = js_run(store, "DELETE FROM chunks WHERE message = ?", "i", row);
    if (gone && res == 0 && why == JS_FETCH_GONE)
        res = js_run(store, "DELETE FROM messages WHERE rowid = ?", "i", row);
    else if (gone && res == 0) {
        /* Kept, so that it is never announced again and the inbox can say
         * so; its audio is gone, so it holds no quota. */
        res = js_run(store,
                     "UPDATE messages SET state = 'refused', transferred = 0, evicted = 1,"
                     " updated_ms = ? WHERE rowid = ?",
                     "ii", ju_wall_ms(), row);
        if (res == 0)
            res = queue_receipt(store, id, JS_REFUSED);
    }
    if (res < 0) {
        js_rollback(store);
        return res;
    }
    res = js_commit(store);
    return res < 0 ? res : gone;
}

int js_inbox_complete_opened(js_store *store, const char *id, js_open_fn open, void *user)
{
    return complete_download(store, id, open, user);
}

int js_message_set_position(js_store *store, const char *id, uint64_t position_ms)
{
    int res;

    if (!id || position_ms > INT64_MAX)
        return JS_ERR_INVALID;
    /* One statement: the row is found and written at once. */
    res = js_run(store,
                 "UPDATE messages SET play_position_ms = ?1 WHERE rowid ="
                 " (SELECT rowid FROM messages WHERE id = ?2 ORDER BY box LIMIT 1)",
                 "it", (int64_t)position_ms, id);
    if (res == 0 && sqlite3_changes(store->db) == 0)
        res = JS_ERR_NOT_FOUND;
    return res;
}

int js_inbox_mark_played(js_store *store, const char *id, uint64_t position_ms)
{
    struct js_message m;
    int64_t row;
    int res;

    if (!id)
        return JS_ERR_INVALID;
    res = js_begin_change(store, JS_INBOX, id, JS_READY | JS_PLAYED, &m, &row);
    if (res < 0)
        return res;
    res = js_run(store,
                 "UPDATE messages SET state = 'played', play_position_ms = ?,"
                 " updated_ms = CASE state WHEN 'played' THEN updated_ms ELSE ?2 END"
                 " WHERE rowid = ?3",
                 "iii", (int64_t)position_ms, ju_wall_ms(), row);
    if (res == 0 && m.state == JS_READY)
        res = queue_receipt(store, id, JS_PLAYED);
    res = js_finish(store, res);
    if (res == 0 && m.state == JS_READY)
        js_wake_sync(store);
    return res;
}

int js_inbox_next(js_store *store, int64_t now_ms, struct js_message *out)
{
    sqlite3_stmt *stmt;
    int res = js_query_row(store, &stmt,
                           "SELECT " MESSAGE_COLUMNS " FROM messages WHERE box = 1 AND"
                           " state = 'ready' AND play_after_ms <= ? ORDER BY rowid LIMIT 1",
                           "i", now_ms);
    if (res < 0)
        return res;
    read_message(stmt, out);
    sqlite3_finalize(stmt);
    return 0;
}

/* ---- receipts ---- */

int js_receipts_pending(js_store *store, js_receipt_fn fn, void *user)
{
    sqlite3_stmt *stmt;
    struct js_receipt r;
    int res, rc, count = 0;

    res = js_prepare(store,
                     "SELECT id, message_id, state, created_ms FROM receipts"
                     " WHERE sent_ms IS NULL ORDER BY id",
                     &stmt);
    if (res < 0)
        return res;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        memset(&r, 0, sizeof(r));
        r.id = sqlite3_column_int64(stmt, 0);
        copy_text(r.message_id, sizeof(r.message_id), sqlite3_column_text(stmt, 1));
        r.state = js_state_parse((const char *)sqlite3_column_text(stmt, 2));
        r.created_ms = sqlite3_column_int64(stmt, 3);
        count++;
        if (fn && (res = fn(user, &r))) {
            sqlite3_finalize(stmt);
            return res;
        }
    }
    res = rc == SQLITE_DONE ? count : js_sqlite_error(store, rc);
    sqlite3_finalize(stmt);
    return res;
}

int js_receipt_sent(js_store *store, int64_t receipt_id)
{
    int res = js_run(store, "UPDATE receipts SET sent_ms = ? WHERE id = ? AND sent_ms IS NULL",
                     "ii", ju_wall_ms(), receipt_id);
    if (res < 0 || sqlite3_changes(store->db) > 0)
        return res;
    /* Nothing changed: sent before (fine), or no such receipt. */
    sqlite3_stmt *stmt;
    res = js_prepare(store, "SELECT 1 FROM receipts WHERE id = ?", &stmt);
    if (res < 0)
        return res;
    sqlite3_bind_int64(stmt, 1, receipt_id);
    int rc = sqlite3_step(stmt);
    res = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? JS_ERR_NOT_FOUND : js_sqlite_error(store, rc);
    sqlite3_finalize(stmt);
    return res;
}

int js_outbox_add(js_store *store, const unsigned char *data, size_t len, const char *to,
                  char *id_out)
{
    struct jc_note_info info;
    char id[JS_ID_LEN + 1], sha[65];
    int64_t row, now = ju_wall_ms();
    int res;

    if (!data || len == 0 || len > JS_MAX_NOTE_BYTES || (to && strlen(to) > JS_PEER_MAX))
        return JS_ERR_INVALID;
    res = jc_note_check(data, len, &info);
    if (res < 0)
        return res;
    if ((res = js_sha256_hex(data, len, sha)) < 0 || (res = js_uuid(id)) < 0)
        return res;
    res = js_store_make_room(store, len);
    if (res < 0)
        return res;
    res = js_begin(store);
    if (res < 0)
        return res;
    res = js_run(store,
                 "INSERT INTO messages (id, box, state, peer, created_ms, updated_ms, duration_ms,"
                 " length, sha256, play_at) VALUES (?, 0, 'ready', ?, ?, ?, ?, ?, ?, ?)",
                 "ttiiiiti", id, to ? to : "", now, now, (int64_t)(info.samples / 48), (int64_t)len,
                 sha, (int64_t)note_play_at(data, len));
    if (res < 0)
        goto error_tx;
    row = sqlite3_last_insert_rowid(store->db);
    res = insert_chunks(store, row, 0, data, len);
    if (res < 0)
        goto error_tx;
    res = js_commit(store);
    if (res == 0)
        js_wake_sync(store);
    if (res == 0 && id_out)
        memcpy(id_out, id, sizeof(id));
    return res;

error_tx:
    js_rollback(store);
    return res;
}
