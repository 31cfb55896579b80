/*
 * Recording straight into the outbox, and finalising recordings that a
 * crash interrupted.
 *
 * Every Ogg page the encoder emits is one committed chunk row, and the
 * encoder emits a page at least every JS_RECORDING_PAGE_MS of audio, so a
 * kill or a power cut loses at most that much. A recording is alive while
 * its process holds an flock() on home/.recording-ID.lock; the kernel drops
 * the lock when the process dies, however it dies, which is how the next
 * js_store_open() tells an interrupted recording from one still running.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

struct js_recording {
    js_store *store;
    jc_encoder *encoder;
    int64_t row;
    char id[JS_ID_LEN + 1];
    int lock_fd;
    unsigned rate;
    uint64_t fed_frames;
    uint64_t max_frames;
    uint64_t bytes;
    bool failed;
    bool finished;
    bool draft;           /* finished as a draft, kept back until the person sends it */
    int64_t last_sync_ms; /* monotonic time of the last fsynced page */
};

/* A page's commit is fsynced unless the last fsync was less than this long
 * ago. A microphone yields a page every JS_RECORDING_PAGE_MS, so live, every
 * page is fsynced; only input faster than real time (a file) shares fsyncs
 * between pages. Every commit survives the process being killed either way:
 * only a power cut needs the fsync. */
#define SYNC_GAP_MS 500

/* The bitrate a recording's room is reserved for when the codec picks. */
#define RESERVE_BITRATE 32000
/* Disk space kept free beyond a recording's reserve: WAL and index pages. */
#define DISK_MARGIN (512 * 1024)

int js_recording_lock_path(js_store *store, const char *id, char *buf, size_t size)
{
    if (snprintf(buf, size, "%s/.recording-%s.lock", store->home, id) >= (int)size)
        return -ENAMETOOLONG;
    return 0;
}

static int append_chunk(js_store *store, int64_t row, uint64_t at, const unsigned char *bytes,
                        size_t len)
{
    int res = js_begin(store);
    if (res < 0)
        return res;
    res = js_run(store, "INSERT INTO chunks (message, at, data) VALUES (?, ?, ?)", "iib", row,
                 (int64_t)at, bytes, len);
    if (res == 0)
        res = js_run(store, "UPDATE messages SET length = length + ? WHERE rowid = ?", "ii",
                     (int64_t)len, row);
    return js_finish(store, res);
}

static int set_sync(js_store *store, bool full)
{
    int rc =
        sqlite3_exec(store->db, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
                     NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : js_sqlite_error(store, rc);
}

static int write_page(void *user, const unsigned char *bytes, size_t len)
{
    js_recording *rec = user;
    int64_t now = ju_mono_ms();
    bool full = now - rec->last_sync_ms >= SYNC_GAP_MS;
    int res;

    if (rec->bytes + len > JS_MAX_NOTE_BYTES)
        return JC_ERR_TOO_LONG;
    res = set_sync(rec->store, full);
    if (res < 0)
        return res;
    res = append_chunk(rec->store, rec->row, rec->bytes, bytes, len);
    int restored = set_sync(rec->store, true);
    if (res < 0 || (res = restored) < 0)
        return res;
    if (full)
        rec->last_sync_ms = now;
    rec->bytes += len;
    return 0;
}

static int delete_rows(js_store *store, int64_t row);
static int delete_message(js_store *store, int64_t row);

int js_outbox_discard(js_store *store, const char *id)
{
    struct js_message m;
    int64_t row;
    int res;

    if (!id)
        return JS_ERR_INVALID;
    /* Only what the person kept back and chose to throw away: never a
     * message on its way (checked under the same lock as the delete, since
     * another process may send the draft meanwhile). */
    res = js_begin_change(store, JS_OUTBOX, id, JS_DRAFT, &m, &row);
    if (res < 0)
        return res;
    return js_finish(store, delete_rows(store, row));
}

static int disk_room(js_store *store, uint64_t need)
{
    struct statvfs st;
    if (statvfs(store->home, &st) < 0)
        return 0; /* unknown: SQLite will say so if it runs out */
    if ((uint64_t)st.f_bavail * st.f_frsize < need + DISK_MARGIN)
        return JS_ERR_DISK_FULL;
    return 0;
}

/* Deletes a message and its audio inside the caller's transaction. */
static int delete_rows(js_store *store, int64_t row)
{
    char sql[128];
    snprintf(sql, sizeof(sql),
             "DELETE FROM chunks WHERE message = %lld; DELETE FROM messages WHERE rowid = %lld",
             (long long)row, (long long)row);
    int rc = sqlite3_exec(store->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : js_sqlite_error(store, rc);
}

static int delete_message(js_store *store, int64_t row)
{
    int res = js_begin(store);
    if (res < 0)
        return res;
    return js_finish(store, delete_rows(store, row));
}

int js_recording_create(js_store *store, const struct js_recording_config *config,
                        js_recording **out)
{
    char lock_path[4096], comment[sizeof(JS_PLAY_AT_KEY) + 8];
    js_recording *rec;
    int res, play_at = -1;

    if (!config || config->input_rate < JC_MIN_INPUT_RATE ||
        config->input_rate > JC_MAX_INPUT_RATE || config->max_seconds > JC_MAX_NOTE_SECONDS ||
        (config->to && strlen(config->to) > JS_PEER_MAX) ||
        (config->play_at && js_play_at_parse(config->play_at, &play_at) < 0))
        return JS_ERR_INVALID;
    /* The time travels inside the note, sealed with the audio. */
    snprintf(comment, sizeof(comment), "%s=%s", JS_PLAY_AT_KEY,
             config->play_at ? config->play_at : "");
    unsigned seconds = config->max_seconds ? config->max_seconds : JC_MAX_NOTE_SECONDS;
    uint64_t bitrate =
        config->bitrate > RESERVE_BITRATE ? (uint64_t)config->bitrate : RESERVE_BITRATE;
    /* Room for the longest this recording may run, made before it starts,
     * so it never fails half way for want of quota. */
    uint64_t reserve = seconds * bitrate / 8 * 11 / 10 + 16 * 1024;

    res = disk_room(store, reserve);
    if (res < 0)
        return res;
    res = js_store_make_room(store, reserve);
    if (res < 0)
        return res;

    rec = calloc(1, sizeof(*rec));
    if (!rec)
        return -ENOMEM;
    rec->store = store;
    rec->rate = config->input_rate;
    rec->draft = config->draft;
    rec->max_frames = (uint64_t)seconds * config->input_rate;
    res = js_uuid(rec->id);
    if (res < 0)
        goto error_rec;
    res = js_recording_lock_path(store, rec->id, lock_path, sizeof(lock_path));
    if (res < 0)
        goto error_rec;
    rec->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (rec->lock_fd < 0) {
        res = errno == ENOSPC ? JS_ERR_DISK_FULL : errno == EROFS ? JS_ERR_READ_ONLY : -errno;
        goto error_rec;
    }
    if (flock(rec->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        res = -errno;
        goto error_lock;
    }

    int64_t now = ju_wall_ms();
    res = js_run(store,
                 "INSERT INTO messages (id, box, state, peer, created_ms, updated_ms, play_at)"
                 " VALUES (?, 0, 'recording', ?, ?, ?, ?)",
                 "ttiii", rec->id, config->to ? config->to : "", now, now, (int64_t)play_at);
    if (res < 0)
        goto error_lock;
    rec->row = sqlite3_last_insert_rowid(store->db);

    struct jc_encoder_config enc = {
        .input_rate = config->input_rate,
        .bitrate = config->bitrate,
        .cleanup = config->cleanup,
        .max_page_ms = JS_RECORDING_PAGE_MS,
        .comment = config->play_at ? comment : NULL,
    };
    res = jc_encoder_create(&enc, write_page, rec, &rec->encoder);
    if (res < 0)
        goto error_row;
    *out = rec;
    return 0;

error_row:
    delete_message(store, rec->row);
error_lock:
    unlink(lock_path);
    close(rec->lock_fd);
error_rec:
    free(rec);
    return res;
}

int js_recording_write(js_recording *rec, const float *pcm, size_t frames)
{
    if (rec->failed || rec->finished)
        return JS_ERR_STATE;
    if (rec->fed_frames + frames > rec->max_frames)
        return JC_ERR_TOO_LONG;
    int res = jc_encoder_write(rec->encoder, pcm, frames);
    if (res < 0) {
        rec->failed = true;
        return res;
    }
    rec->fed_frames += frames;
    return 0;
}

uint64_t js_recording_fed_ms(const js_recording *rec)
{
    return rec->fed_frames * 1000 / rec->rate;
}

/* Moves the note from recording to state, inside the caller's transaction,
 * only if nobody finalised it meanwhile. duration_ms < 0 means unknown: the
 * note is decoded to check it and learn its length (a salvaged note). A
 * recording finished normally knows how much was fed and skips that
 * decoding, which would cost a fifth of the encoding time again; the
 * receiving side checks every note it downloads anyway. */
static int seal(js_store *store, int64_t row, const unsigned char *data, size_t len,
                enum js_state state, int64_t duration_ms)
{
    struct jc_note_info info;
    char sha[65];
    int res;

    if (duration_ms < 0) {
        res = jc_note_check(data, len, &info);
        if (res < 0)
            return res;
        duration_ms = (int64_t)(info.samples / 48);
    } else if (len < 4 || memcmp(data, "OggS", 4)) {
        return JC_ERR_NOT_OGG;
    }
    res = js_sha256_hex(data, len, sha);
    if (res < 0)
        return res;
    return js_run(store,
                  "UPDATE messages SET state = ?, length = ?, duration_ms = ?, sha256 = ?,"
                  " updated_ms = ? WHERE rowid = ? AND state = 'recording'",
                  "tiitii", js_state_name(state), (int64_t)len, (int64_t)duration_ms, sha,
                  ju_wall_ms(), row);
}

int js_recording_finish(js_recording *rec, char *id_out)
{
    unsigned char *data;
    size_t len;
    int res;

    if (rec->failed || rec->finished)
        return JS_ERR_STATE;
    res = jc_encoder_finish(rec->encoder);
    if (res < 0)
        goto error;
    res = js_chunks_load(rec->store, rec->row, &data, &len);
    if (res < 0)
        goto error;
    res = js_begin(rec->store);
    if (res == 0) {
        res = seal(rec->store, rec->row, data, len, rec->draft ? JS_DRAFT : JS_READY,
                   (int64_t)js_recording_fed_ms(rec));
        res = res < 0 ? (js_rollback(rec->store), res) : js_commit(rec->store);
    }
    free(data);
    if (res < 0)
        goto error;
    rec->finished = true;
    js_wake_sync(rec->store);
    if (id_out)
        memcpy(id_out, rec->id, JS_ID_LEN + 1);
    return 0;

error:
    rec->failed = true;
    return res;
}

void js_recording_destroy(js_recording *rec, bool discard)
{
    char lock_path[4096];

    if (!rec)
        return;
    jc_encoder_destroy(rec->encoder);
    if (discard && !rec->finished)
        delete_message(rec->store, rec->row);
    /* Unfinished and kept: the lock goes with the process's hold on it, and
     * the next js_store_open() finalises what was committed. Releasing it
     * here lets this same process's next open do that too. */
    if (js_recording_lock_path(rec->store, rec->id, lock_path, sizeof(lock_path)) == 0 &&
        (rec->finished || discard))
        unlink(lock_path);
    close(rec->lock_fd);
    free(rec);
}

/* ---- recovery ---- */

/* Rewrites the chunk rows of row so they hold exactly data[0..len): rows
 * past len go, the row that holds the end is cut, a row whose bytes the
 * salvage changed (the last page's flag and CRC) is rewritten. */
static int trim_chunks(js_store *store, int64_t row, const unsigned char *data, size_t len)
{
    sqlite3_stmt *sel, *upd = NULL, *del = NULL;
    int res, rc;

    res = js_prepare(store, "SELECT at, data FROM chunks WHERE message = ? ORDER BY at", &sel);
    if (res < 0)
        return res;
    res = js_prepare(store, "UPDATE chunks SET data = ? WHERE message = ? AND at = ?", &upd);
    if (res < 0)
        goto error_sel;
    res = js_prepare(store, "DELETE FROM chunks WHERE message = ? AND at = ?", &del);
    if (res < 0)
        goto error_upd;
    sqlite3_bind_int64(sel, 1, row);
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        uint64_t at = (uint64_t)sqlite3_column_int64(sel, 0);
        const unsigned char *old = sqlite3_column_blob(sel, 1);
        size_t n = (size_t)sqlite3_column_bytes(sel, 1);
        sqlite3_stmt *stmt = NULL;
        if (at >= len) {
            stmt = del;
            sqlite3_bind_int64(del, 1, row);
            sqlite3_bind_int64(del, 2, (int64_t)at);
        } else {
            size_t keep = at + n > len ? len - at : n;
            if (keep != n || memcmp(old, data + at, keep)) {
                stmt = upd;
                sqlite3_bind_blob(upd, 1, data + at, (int)keep, SQLITE_TRANSIENT);
                sqlite3_bind_int64(upd, 2, row);
                sqlite3_bind_int64(upd, 3, (int64_t)at);
            }
        }
        if (stmt) {
            res = js_sqlite_error(store, sqlite3_step(stmt));
            sqlite3_reset(stmt);
            if (res < 0)
                goto error_del;
        }
    }
    if (rc != SQLITE_DONE)
        res = js_sqlite_error(store, rc);

error_del:
    sqlite3_finalize(del);
error_upd:
    sqlite3_finalize(upd);
error_sel:
    sqlite3_finalize(sel);
    return res;
}

/* Finalises one interrupted recording. Returns 1 if it became a message,
 * 0 if it held no audio and was dropped (or another process finalised it). */
static int recover_one(js_store *store, int64_t row, enum js_state to)
{
    unsigned char *data;
    size_t len, usable = 0;
    int res, verdict;

    res = js_begin(store);
    if (res < 0)
        return res;
    res = js_chunks_load(store, row, &data, &len);
    if (res < 0)
        goto error_tx;
    verdict = len ? jc_note_salvage(data, len, &usable) : JC_ERR_EMPTY;
    if (verdict < 0) {
        /* Nothing audible survived (killed before the first audio page). */
        char sql[128];
        snprintf(sql, sizeof(sql),
                 "DELETE FROM chunks WHERE message = %lld; DELETE FROM messages WHERE rowid = %lld"
                 " AND state = 'recording'",
                 (long long)row, (long long)row);
        int rc = sqlite3_exec(store->db, sql, NULL, NULL, NULL);
        res = rc == SQLITE_OK ? 0 : js_sqlite_error(store, rc);
    } else {
        res = trim_chunks(store, row, data, usable);
        if (res == 0)
            res = seal(store, row, data, usable, to, -1);
        if (res == 0)
            res = 1;
    }
    free(data);
    if (res < 0)
        goto error_tx;
    int committed = js_commit(store);
    return committed < 0 ? committed : res;

error_tx:
    js_rollback(store);
    return res;
}

int js_recover_recordings(js_store *store)
{
    sqlite3_stmt *stmt;
    int64_t rows[64];
    char ids[64][JS_ID_LEN + 1];
    int n = 0, res, rc, recovered = 0;
    char value[16];
    enum js_state to = JS_READY;

    if (js_setting_get(store, JS_SETTING_RECOVERED_STATE, value, sizeof(value)) > 0 &&
        !strcmp(value, "draft"))
        to = JS_DRAFT;
    res = js_prepare(store,
                     "SELECT rowid, id FROM messages WHERE box = 0 AND state = 'recording'"
                     " ORDER BY rowid LIMIT 64",
                     &stmt);
    if (res < 0)
        return res;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(stmt, 1);
        rows[n] = sqlite3_column_int64(stmt, 0);
        snprintf(ids[n], sizeof(ids[n]), "%s", id ? id : "");
        n++;
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return js_sqlite_error(store, rc);

    for (int i = 0; i < n; i++) {
        char lock_path[4096];
        if (js_recording_lock_path(store, ids[i], lock_path, sizeof(lock_path)) < 0)
            continue;
        int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0 && errno != ENOSPC && errno != EROFS)
            return -errno;
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
            close(fd); /* still being recorded by a live process */
            continue;
        }
        res = recover_one(store, rows[i], to);
        if (res == 0 || res == 1)
            unlink(lock_path);
        if (fd >= 0)
            close(fd);
        if (res < 0)
            return res;
        recovered += res;
    }
    return recovered;
}
