/*
 * Opening the database: the home directory, the file's identity, the
 * schema and its migrations, and the helpers every other file uses.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* 'jshu': tells our databases from any other SQLite file. */
#define APPLICATION_ID 0x6a736875

/* migrations[v] takes a database from user_version v to v + 1. Never edit
 * a migration that has shipped: add the next one. */
static const char *const migrations[] = {
    /* 0 -> 1: the first schema. Audio lives in chunk rows keyed by the
     * message's rowid and byte position: a recording or a download appends
     * rows, so no write ever rewrites a whole note (SQLite's incremental
     * blob I/O cannot grow a blob), and a range read for an upload touches
     * only the rows it needs. */
    "CREATE TABLE messages ("
    "  rowid INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL,"
    "  box INTEGER NOT NULL CHECK (box IN (0, 1)),"
    "  state TEXT NOT NULL,"
    "  peer TEXT NOT NULL DEFAULT '',"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  duration_ms INTEGER NOT NULL DEFAULT 0,"
    "  length INTEGER NOT NULL DEFAULT 0,"
    "  transferred INTEGER NOT NULL DEFAULT 0,"
    "  play_position_ms INTEGER NOT NULL DEFAULT 0,"
    "  sha256 TEXT NOT NULL DEFAULT '',"
    "  evicted INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (box, id));"
    "CREATE INDEX messages_state ON messages (state);"
    "CREATE TABLE chunks ("
    "  message INTEGER NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  data BLOB NOT NULL,"
    "  PRIMARY KEY (message, at)) WITHOUT ROWID;"
    "CREATE TABLE receipts ("
    "  id INTEGER PRIMARY KEY,"
    "  message_id TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  sent_ms INTEGER,"
    "  UNIQUE (message_id, state));"
    "CREATE TABLE contacts (device_id TEXT PRIMARY KEY, name TEXT NOT NULL);"
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    /* 1 -> 2: named binary values for the parts above the store (the
     * end-to-end keys, the family's roster, sealed envelopes), kept in the
     * same database so that they share its durability, its permissions and
     * its backups, and never sit in a file of their own. */
    "CREATE TABLE blobs ("
    "  kind TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  data BLOB NOT NULL,"
    "  PRIMARY KEY (kind, key)) WITHOUT ROWID;",
    /* 2 -> 3: where playback stopped lives in the message's own column
     * (play_position_ms), no longer in a setting per message
     * ("resume_" and the id with '-' as '_') that outlived its message. */
    "UPDATE messages SET play_position_ms = coalesce((SELECT CAST(value AS INTEGER) FROM settings"
    "  WHERE key = 'resume_' || replace(messages.id, '-', '_')), play_position_ms);"
    "DELETE FROM settings WHERE key GLOB 'resume_*';",
    /* 3 -> 4: what each message cost on the wire, both ways, headers
     * included, and a ledger per month and family member (member '' is
     * the device's own traffic that belongs to no message, such as long
     * polls; '*' a note to the whole family), so the month's total is one
     * small sum however many messages there are, and a data budget can be
     * held against it. */
    "ALTER TABLE messages ADD COLUMN wire_sent INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN wire_received INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE traffic ("
    "  month TEXT NOT NULL,"
    "  member TEXT NOT NULL,"
    "  sent INTEGER NOT NULL DEFAULT 0,"
    "  received INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (month, member)) WITHOUT ROWID;",
    /* 4 -> 5: failed downloads are counted per message, so that bytes
     * that are not a voice note, or a message the relay no longer has,
     * stop being fetched after a few tries instead of at every sync. */
    "ALTER TABLE messages ADD COLUMN fetch_failures INTEGER NOT NULL DEFAULT 0;",
    /* 5 -> 6: bedtime letters. The time travels inside the note (its
     * OpusTags, sealed with the audio); the store keeps what it read there
     * (play_at, minutes after midnight, -1 for none) and, for a received
     * letter, the moment it may play (play_after_ms), fixed when it
     * arrives, so every reader applies one rule. */
    "ALTER TABLE messages ADD COLUMN play_at INTEGER NOT NULL DEFAULT -1;"
    "ALTER TABLE messages ADD COLUMN play_after_ms INTEGER NOT NULL DEFAULT 0;",
    /* 6 -> 7: each note's loudness (BS.1770 integrated, LUFS) and sample
     * peak (dBFS), measured once, so that playback brings every note to
     * one loudness (docs/audio.md); NULL until measured. */
    "ALTER TABLE messages ADD COLUMN loudness_lufs REAL;"
    "ALTER TABLE messages ADD COLUMN peak_dbfs REAL;",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == JS_SCHEMA_VERSION,
               "one migration per schema version");

static const struct ju_sqlite_codes store_codes = {
    .disk_full = JS_ERR_DISK_FULL,
    .read_only = JS_ERR_READ_ONLY,
    .not_a_database = JS_ERR_NOT_A_DATABASE,
    .too_new = JS_ERR_TOO_NEW,
    .busy = JS_ERR_BUSY,
    .constraint = JS_ERR_INVALID,
    .invalid = JS_ERR_INVALID,
    .io = JS_ERR_IO,
};

static const struct ju_sqlite_schema store_schema = {
    .application_id = APPLICATION_ID,
    .steps = migrations,
    .count = JS_SCHEMA_VERSION,
};

int js_sqlite_error(js_store *store, int rc)
{
    return ju_sqlite_error(store ? store->db : NULL, rc, &store_codes);
}

int js_prepare(js_store *store, const char *sql, sqlite3_stmt **stmt)
{
    int rc = sqlite3_prepare_v2(store->db, sql, -1, stmt, NULL);
    return rc == SQLITE_OK ? 0 : js_sqlite_error(store, rc);
}

static int exec(js_store *store, const char *sql)
{
    int rc = sqlite3_exec(store->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : js_sqlite_error(store, rc);
}

int js_begin(js_store *store)
{
    return exec(store, "BEGIN IMMEDIATE");
}

int js_commit(js_store *store)
{
    int res = exec(store, "COMMIT");
    if (res < 0)
        js_rollback(store);
    return res;
}

int js_finish(js_store *store, int res)
{
    if (res < 0) {
        js_rollback(store);
        return res;
    }
    int committed = js_commit(store);
    return committed < 0 ? committed : res;
}

void js_rollback(js_store *store)
{
    if (!sqlite3_get_autocommit(store->db))
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
}

/* The home holds the device token and every message: an existing home
 * open to the group or others (made by hand, `mkdir H`) is tightened to
 * 0700, as a home it creates is. */
static int tighten_home(const char *home, const struct stat *st)
{
    if ((st->st_mode & 077) == 0)
        return 0;
    if (st->st_uid != geteuid())
        return -EPERM; /* not ours to change: refused rather than left open */
    return chmod(home, st->st_mode & 07700) < 0 ? -errno : 0;
}

/* mkdir -p with mode 0700 for what it creates. */
static int make_home(const char *home)
{
    char path[PATH_MAX];
    struct stat st;

    if (stat(home, &st) == 0)
        return S_ISDIR(st.st_mode) ? tighten_home(home, &st) : -ENOTDIR;
    if (strlen(home) >= sizeof(path))
        return -ENAMETOOLONG;
    strcpy(path, home);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
            return errno == EROFS ? JS_ERR_READ_ONLY : -errno;
        *p = '/';
    }
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return errno == EROFS ? JS_ERR_READ_ONLY : -errno;
    return 0;
}

/* A file that is not empty must start with SQLite's magic before SQLite may
 * touch it: this keeps a foreign file exactly as it was. */
static int check_header(const char *path)
{
    static const char magic[16] = "SQLite format 3";
    unsigned char head[16];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    ssize_t got = read(fd, head, sizeof(head));
    int saved = errno;
    close(fd);
    if (got < 0)
        return -saved;
    if (got == 0)
        return 0;
    if (got < (ssize_t)sizeof(head) || memcmp(head, magic, sizeof(magic)))
        return JS_ERR_NOT_A_DATABASE;
    return 0;
}

int js_store_open(const char *home, js_store **out)
{
    char path[PATH_MAX];
    js_store *store;
    int res;

    if (!home || !*home)
        return JS_ERR_INVALID;
    if (snprintf(path, sizeof(path), "%s/jiashu.db", home) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    res = make_home(home);
    if (res < 0)
        return res;
    res = check_header(path);
    if (res < 0)
        return res;
    /* The database and its WAL and shared-memory files (which SQLite makes
     * with the database's mode) are 0600 whatever the umask. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        fchmod(fd, 0600);
        close(fd);
        for (int i = 0; i < 2; i++) {
            char side[PATH_MAX + 8];
            snprintf(side, sizeof(side), "%s%s", path, i ? "-shm" : "-wal");
            chmod(side, 0600);
        }
    } /* else SQLite's own open below says what is wrong (read-only, ...) */

    store = calloc(1, sizeof(*store));
    if (!store)
        return -ENOMEM;
    store->home = strdup(home);
    if (!store->home) {
        res = -ENOMEM;
        goto error_store;
    }
    int rc = sqlite3_open_v2(
        path, &store->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        res = js_sqlite_error(store, rc);
        if (res == JS_ERR_IO && access(home, W_OK) < 0)
            res = JS_ERR_READ_ONLY;
        goto error_db;
    }
    sqlite3_extended_result_codes(store->db, 1);
    sqlite3_busy_timeout(store->db, 10000);
    if (sqlite3_db_readonly(store->db, "main") == 1) {
        res = JS_ERR_READ_ONLY;
        goto error_db;
    }

    res = ju_sqlite_check_schema(store->db, &store_schema, &store_codes);
    if (res < 0)
        goto error_db;

    /* Every commit is one the user would be hurt to lose (a page of a
     * recording, a downloaded range, a receipt): FULL costs one fsync of the
     * WAL per commit, under a millisecond here, at most a few per second. */
    sqlite3_stmt *stmt;
    res = js_prepare(store, "PRAGMA journal_mode = WAL", &stmt);
    if (res < 0)
        goto error_db;
    rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        res = js_sqlite_error(store, rc);
        sqlite3_finalize(stmt);
        goto error_db;
    }
    const char *mode = (const char *)sqlite3_column_text(stmt, 0);
    bool wal = mode && !strcmp(mode, "wal");
    sqlite3_finalize(stmt);
    if (!wal) {
        res = JS_ERR_READ_ONLY;
        goto error_db;
    }
    /* A phone shares its memory: a 1 MB page cache is plenty for appends
     * and for one pass over a listing. */
    res = exec(store, "PRAGMA synchronous = FULL; PRAGMA cache_size = -1024");
    if (res < 0)
        goto error_db;
    res = ju_sqlite_migrate(store->db, &store_schema, &store_codes);
    if (res < 0)
        goto error_db;
    res = js_recover_recordings(store);
    if (res < 0)
        goto error_db;
    store->recovered = res;
    *out = store;
    return 0;

error_db:
    sqlite3_close_v2(store->db);
    free(store->home);
error_store:
    free(store);
    return res;
}

void js_store_destroy(js_store *store)
{
    if (!store)
        return;
    sqlite3_close_v2(store->db);
    free(store->home);
    free(store);
}

int js_store_wake_path(const js_store *store, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/%s", store->home, JS_WAKE_FILE);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

void js_wake_sync(js_store *store)
{
    char path[PATH_MAX];
    if (js_store_wake_path(store, path, sizeof(path)) < 0)
        return;
    /* Opening for writing and closing is the event (IN_CLOSE_WRITE); no
     * byte is written, so the file never grows and costs no disk write. */
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
    if (fd >= 0)
        close(fd);
}

int js_store_recovered(const js_store *store)
{
    return store->recovered;
}

int js_store_recover(js_store *store)
{
    int n = js_recover_recordings(store);
    if (n > 0)
        js_wake_sync(store);
    return n;
}

int js_store_check(js_store *store)
{
    sqlite3_stmt *stmt;
    int res = js_prepare(store, "PRAGMA integrity_check", &stmt);
    if (res < 0)
        return res;
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW)
        res = js_sqlite_error(store, rc);
    else if (strcmp((const char *)sqlite3_column_text(stmt, 0), "ok"))
        res = JS_ERR_NOT_A_DATABASE;
    sqlite3_finalize(stmt);
    return res;
}

/* ---- small helpers ---- */

int js_run(js_store *store, const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    int res = ju_sqlite_vrun(store->db, &store_codes, sql, types, ap);
    va_end(ap);
    return res;
}

int js_message_find(js_store *store, int box, const char *columns, const char *id,
                    sqlite3_stmt **stmt)
{
    char sql[512];
    int res, rc, n;

    n = snprintf(sql, sizeof(sql),
                 box < 0 ? "SELECT %s FROM messages WHERE id = ? ORDER BY box LIMIT 1"
                         : "SELECT %s FROM messages WHERE id = ? AND box = ?",
                 columns);
    if (n < 0 || (size_t)n >= sizeof(sql))
        return JS_ERR_INVALID;
    res = js_prepare(store, sql, stmt);
    if (res < 0)
        return res;
    sqlite3_bind_text(*stmt, 1, id, -1, SQLITE_STATIC);
    if (box >= 0)
        sqlite3_bind_int(*stmt, 2, box);
    rc = sqlite3_step(*stmt);
    if (rc == SQLITE_ROW)
        return 0;
    res = rc == SQLITE_DONE ? JS_ERR_NOT_FOUND : js_sqlite_error(store, rc);
    sqlite3_finalize(*stmt);
    *stmt = NULL;
    return res;
}

int js_message_row(js_store *store, int box, const char *id, int64_t *row, enum js_state *state)
{
    sqlite3_stmt *stmt;
    int res;

    if (!id)
        return JS_ERR_INVALID;
    res = js_message_find(store, box, "rowid, state", id, &stmt);
    if (res < 0)
        return res;
    if (row)
        *row = sqlite3_column_int64(stmt, 0);
    if (state)
        *state = js_state_parse((const char *)sqlite3_column_text(stmt, 1));
    sqlite3_finalize(stmt);
    return 0;
}

int js_chunks_load(js_store *store, int64_t row, unsigned char **data, size_t *len)
{
    sqlite3_stmt *stmt;
    unsigned char *buf = NULL;
    size_t used = 0, cap = 0;
    int res, rc;

    res = js_prepare(store, "SELECT at, data FROM chunks WHERE message = ? ORDER BY at", &stmt);
    if (res < 0)
        return res;
    sqlite3_bind_int64(stmt, 1, row);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(stmt, 1);
        const void *bytes = sqlite3_column_blob(stmt, 1);
        if ((uint64_t)sqlite3_column_int64(stmt, 0) != used || used + n > JS_MAX_NOTE_BYTES) {
            res = JS_ERR_NOT_A_DATABASE; /* a gap or an overlap: rows we never write */
            goto error_buf;
        }
        if (used + n > cap) {
            size_t ncap = cap ? cap * 2 : 64 * 1024;
            while (ncap < used + n)
                ncap *= 2;
            unsigned char *nbuf = realloc(buf, ncap);
            if (!nbuf) {
                res = -ENOMEM;
                goto error_buf;
            }
            buf = nbuf;
            cap = ncap;
        }
        if (n)
            memcpy(buf + used, bytes, n);
        used += n;
    }
    if (rc != SQLITE_DONE) {
        res = js_sqlite_error(store, rc);
        goto error_buf;
    }
    sqlite3_finalize(stmt);
    if (!buf)
        buf = malloc(1);
    if (!buf)
        return -ENOMEM;
    *data = buf;
    *len = used;
    return 0;

error_buf:
    free(buf);
    sqlite3_finalize(stmt);
    return res;
}

int js_uuid(char *out)
{
    unsigned char b[16];
    int res = ju_random_bytes(b, sizeof(b));
    if (res < 0)
        return res;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, JS_ID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return 0;
}

int js_uuid_valid(const char *s)
{
    if (!s || strlen(s) != JS_ID_LEN)
        return 0;
    for (int i = 0; i < JS_ID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}
