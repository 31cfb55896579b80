/*
 * The relay's storage in one SQLite database (WAL, synchronous=NORMAL, and a
 * WAL fdatasync the caller asks for before it acknowledges anything).
 *
 * Commits run with synchronous=NORMAL: a commit is atomic and survives the
 * process being killed. make_durable() then fdatasync()s the WAL through a
 * descriptor of its own, which makes every commit written before it
 * durable; the relay calls it once for a batch of requests, from another
 * thread, before answering them (group commit). Automatic checkpoints are
 * off: the relay's sync thread runs them on a handle of its own, so the
 * thread that answers requests never waits for the database file's fsync.
 * Checkpoints sync the WAL and the database themselves.
 *
 * The handles of one process (requests, cleanup, sync) read at once;
 * their writes take turns on a process-wide mutex.
 *
 * Audio lives in the row of its message: the creation stores what came with
 * it (often everything) and each PATCH appends its bytes, in the same
 * transaction that moves the offset; nothing is allocated for bytes only
 * announced. So an offset the relay acknowledged always has its bytes on
 * disk, and a crash between two PATCHes leaves the offset of the last
 * acknowledged one.
 */
#include "relay_storage.h"

#include "util/sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum sql_id {
    SQL_FAMILY_INSERT,
    SQL_DEVICE_INSERT,
    SQL_INVITE_INSERT,
    SQL_INVITE_COUNT,
    SQL_INVITE_GET,
    SQL_INVITE_DELETE,
    SQL_DEVICE_COUNT,
    SQL_NAME_TAKEN,
    SQL_DEVICE_BY_TOKEN,
    SQL_DEVICE_REVOKE,
    SQL_MEMBERS,
    SQL_IS_MEMBER,
    SQL_FAMILY_USAGE,
    SQL_MAILBOX_PENDING,
    SQL_UPLOAD_BY_MESSAGE,
    SQL_UPLOAD_INSERT,
    SQL_UPLOAD_GET,
    SQL_UPLOAD_ADVANCE,
    SQL_UPLOAD_APPEND,
    SQL_UPLOAD_COMPLETE,
    SQL_MAILBOX_INSERT,
    SQL_UPLOAD_DELETE,
    SQL_IS_RECIPIENT,
    SQL_INBOX,
    SQL_RECEIPT_INSERT,
    SQL_MAILBOX_DELIVERED,
    SQL_RECEIPTS,
    SQL_COUNT_
};

#define UPLOAD_COLUMNS                                                                             \
    "id, upload_id, message_id, family_id, sender_id, length, received, duration_ms, created, "    \
    "expires, completed, sha256, recipients, metadata"

static const char *const sql_text[SQL_COUNT_] = {
    [SQL_FAMILY_INSERT] = "INSERT INTO families(id, created) VALUES (?1, ?2)",
    [SQL_DEVICE_INSERT] = "INSERT INTO devices(id, family_id, name, token_hash, joined) "
                          "VALUES (?1, ?2, ?3, ?4, ?5)",
    [SQL_INVITE_INSERT] = "INSERT INTO invites(code_hash, family_id, expires) VALUES (?1, ?2, ?3)",
    [SQL_INVITE_COUNT] = "SELECT count(*) FROM invites WHERE family_id = ?1 AND expires >= ?2",
    [SQL_INVITE_GET] = "SELECT family_id, expires FROM invites WHERE code_hash = ?1",
    [SQL_INVITE_DELETE] = "DELETE FROM invites WHERE code_hash = ?1",
    [SQL_DEVICE_COUNT] = "SELECT count(*) FROM devices WHERE family_id = ?1 AND revoked = 0",
    [SQL_NAME_TAKEN] = "SELECT 1 FROM devices WHERE family_id = ?1 AND revoked = 0 "
                       "AND name = ?2 COLLATE NOCASE",
    [SQL_DEVICE_BY_TOKEN] = "SELECT id, family_id, name, joined, token_hash FROM devices "
                            "WHERE token_hash = ?1 AND revoked = 0",
    [SQL_DEVICE_REVOKE] = "UPDATE devices SET revoked = 1 WHERE id = ?1 AND family_id = ?2 "
                          "AND revoked = 0",
    [SQL_MEMBERS] = "SELECT id, family_id, name, joined FROM devices WHERE family_id = ?1 "
                    "AND revoked = 0 ORDER BY joined, rowid",
    [SQL_IS_MEMBER] = "SELECT 1 FROM devices WHERE id = ?1 AND family_id = ?2 AND revoked = 0",
    [SQL_FAMILY_USAGE] = "SELECT bytes FROM families WHERE id = ?1",
    [SQL_MAILBOX_PENDING] = "SELECT pending FROM devices WHERE id = ?1",
    [SQL_UPLOAD_BY_MESSAGE] = "SELECT " UPLOAD_COLUMNS " FROM messages WHERE message_id = ?1",
    [SQL_UPLOAD_INSERT] =
        "INSERT INTO messages(upload_id, message_id, family_id, sender_id, length, duration_ms, "
        "recipients, metadata, created, expires, data, sha256) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, coalesce(?11, X''), ?12)",
    [SQL_UPLOAD_GET] = "SELECT " UPLOAD_COLUMNS " FROM messages WHERE upload_id = ?1",
    [SQL_UPLOAD_ADVANCE] = "UPDATE messages SET received = ?2 WHERE id = ?1",
    /* || reads blobs as text; the CAST keeps the bytes as they are. */
    [SQL_UPLOAD_APPEND] = "UPDATE messages SET data = CAST(data || ?2 AS BLOB) WHERE id = ?1",
    [SQL_UPLOAD_COMPLETE] = "UPDATE messages SET completed = ?2, sha256 = ?3 WHERE id = ?1",
    [SQL_MAILBOX_INSERT] = "INSERT OR IGNORE INTO mailbox(device_id, message) VALUES (?1, ?2)",
    [SQL_UPLOAD_DELETE] = "DELETE FROM messages WHERE upload_id = ?1",
    [SQL_IS_RECIPIENT] = "SELECT 1 FROM mailbox WHERE message = ?1 AND device_id = ?2",
    [SQL_INBOX] = "SELECT b.cursor, m.message_id, m.sender_id, m.length, m.duration_ms, "
                  "m.completed, m.sha256 FROM mailbox b JOIN messages m ON m.id = b.message "
                  "WHERE b.device_id = ?1 AND b.cursor > ?2 ORDER BY b.cursor LIMIT ?3",
    [SQL_RECEIPT_INSERT] = "INSERT OR IGNORE INTO receipts(message, device_id, state, at) "
                           "VALUES (?1, ?2, ?3, ?4)",
    [SQL_MAILBOX_DELIVERED] = "UPDATE mailbox SET delivered = ?3 WHERE message = ?1 "
                              "AND device_id = ?2 AND delivered = 0",
    [SQL_RECEIPTS] = "SELECT r.cursor, m.message_id, r.device_id, r.state, r.at, p.proof "
                     "FROM receipts r JOIN messages m ON m.id = r.message "
                     "LEFT JOIN receipt_proofs p ON p.message = r.message "
                     "AND p.device_id = r.device_id AND p.state = r.state "
                     "WHERE m.sender_id = ?1 AND "
                     "r.cursor > ?2 ORDER BY r.cursor LIMIT ?3",
};

/* schema_steps[v] takes the database from user_version v to v + 1
 * (util/sqlite.h); a step that has shipped is never edited. */
static const char *const schema_steps[] = {
    /* 0 -> 1: the first schema. */
    "CREATE TABLE IF NOT EXISTS families(id TEXT PRIMARY KEY, created INTEGER NOT NULL,"
    "  bytes INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS devices(id TEXT PRIMARY KEY,"
    "  family_id TEXT NOT NULL REFERENCES families(id), name TEXT NOT NULL,"
    "  token_hash BLOB NOT NULL UNIQUE, joined INTEGER NOT NULL,"
    "  revoked INTEGER NOT NULL DEFAULT 0, pending INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS devices_family ON devices(family_id);"
    "CREATE TABLE IF NOT EXISTS invites(code_hash BLOB PRIMARY KEY,"
    "  family_id TEXT NOT NULL REFERENCES families(id), expires INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS invites_family ON invites(family_id);"
    "CREATE TABLE IF NOT EXISTS messages(id INTEGER PRIMARY KEY,"
    "  upload_id TEXT NOT NULL UNIQUE, message_id TEXT NOT NULL UNIQUE,"
    "  family_id TEXT NOT NULL, sender_id TEXT NOT NULL, length INTEGER NOT NULL,"
    "  received INTEGER NOT NULL DEFAULT 0, duration_ms INTEGER NOT NULL,"
    "  recipients TEXT NOT NULL, metadata TEXT NOT NULL, created INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL, completed INTEGER NOT NULL DEFAULT 0, sha256 BLOB,"
    "  data BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS messages_family ON messages(family_id);"
    "CREATE INDEX IF NOT EXISTS messages_sender ON messages(sender_id);"
    "CREATE TABLE IF NOT EXISTS mailbox(cursor INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  device_id TEXT NOT NULL,"
    "  message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
    "  delivered INTEGER NOT NULL DEFAULT 0, UNIQUE(device_id, message));"
    "CREATE INDEX IF NOT EXISTS mailbox_device ON mailbox(device_id, cursor);"
    "CREATE INDEX IF NOT EXISTS mailbox_message ON mailbox(message);"
    "CREATE TABLE IF NOT EXISTS receipts(cursor INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
    "  device_id TEXT NOT NULL, state TEXT NOT NULL, at INTEGER NOT NULL,"
    "  UNIQUE(message, device_id, state));"
    /* Usage counters kept by triggers, so limits cost one row read. */
    "CREATE TRIGGER IF NOT EXISTS family_bytes_add AFTER INSERT ON messages BEGIN"
    "  UPDATE families SET bytes = bytes + NEW.length WHERE id = NEW.family_id; END;"
    "CREATE TRIGGER IF NOT EXISTS family_bytes_sub AFTER DELETE ON messages BEGIN"
    "  UPDATE families SET bytes = bytes - OLD.length WHERE id = OLD.family_id; END;"
    "CREATE TRIGGER IF NOT EXISTS pending_add AFTER INSERT ON mailbox BEGIN"
    "  UPDATE devices SET pending = pending + 1 WHERE id = NEW.device_id; END;"
    "CREATE TRIGGER IF NOT EXISTS pending_delivered AFTER UPDATE OF delivered ON mailbox"
    "  WHEN OLD.delivered = 0 AND NEW.delivered != 0 BEGIN"
    "  UPDATE devices SET pending = pending - 1 WHERE id = NEW.device_id; END;"
    "CREATE TRIGGER IF NOT EXISTS pending_sub AFTER DELETE ON mailbox WHEN OLD.delivered = 0 BEGIN"
    "  UPDATE devices SET pending = pending - 1 WHERE id = OLD.device_id; END;",
    /* 1 -> 2: end-to-end encryption (docs/encryption.md): the recipients'
     * signed receipts, pairing mailboxes and each family's roster, all
     * opaque to the relay. */
    "CREATE TABLE IF NOT EXISTS receipt_proofs("
    "  message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
    "  device_id TEXT NOT NULL, state TEXT NOT NULL, proof TEXT NOT NULL,"
    "  UNIQUE(message, device_id, state));"
    "CREATE TABLE IF NOT EXISTS pairings(nameplate TEXT PRIMARY KEY,"
    "  family_id TEXT NOT NULL, expires INTEGER NOT NULL, msg_a TEXT NOT NULL,"
    "  claim BLOB, msg_b TEXT, msg_c TEXT);"
    "CREATE INDEX IF NOT EXISTS pairings_family ON pairings(family_id);"
    "CREATE TABLE IF NOT EXISTS rosters(family_id TEXT PRIMARY KEY, data BLOB NOT NULL);",
    /* 2 -> 3: the cleanup finds what it removes through indexes. It used
     * to scan every message row (each holds part of its audio, so a page
     * or more per message) under the writers' lock once a minute: with
     * 100,000 messages that scan stalled every upload for seconds. */
    "CREATE INDEX IF NOT EXISTS messages_partial_expires ON messages(expires) WHERE completed = 0;"
    "CREATE INDEX IF NOT EXISTS messages_completed ON messages(completed) WHERE completed > 0;"
    "CREATE INDEX IF NOT EXISTS mailbox_delivered ON mailbox(delivered) WHERE delivered > 0;",
};

static const struct ju_sqlite_schema relay_schema = {
    .steps = schema_steps,
    .count = sizeof(schema_steps) / sizeof(schema_steps[0]),
};

/* Storage errors as relay_storage.h promises them: -EEXIST for a row that
 * is already there, -EIO for the rest (the relay answers 500). */
static const struct ju_sqlite_codes relay_codes = {
    .disk_full = -EIO,
    .read_only = -EIO,
    .not_a_database = -EIO,
    .too_new = -EIO,
    .busy = -EIO,
    .constraint = -EEXIST,
    .invalid = -EIO,
    .io = -EIO,
};

struct sqlite_storage {
    struct relay_storage base;
    sqlite3 *db;
    int wal_fd;
    sqlite3_stmt *stmts[SQL_COUNT_];
    struct ju_sqlite_cache cache;
};

static struct sqlite_storage *impl(struct relay_storage *s)
{
    return (struct sqlite_storage *)s;
}

/* A cached statement, reset and ready to bind; NULL on a database error. */
static sqlite3_stmt *get(struct relay_storage *s, enum sql_id id)
{
    struct sqlite_storage *q = impl(s);
    sqlite3_stmt *st = ju_sqlite_cache_get(&q->cache, id);
    if (!st)
        relay_log("storage: %s", sqlite3_errmsg(q->db));
    return st;
}

static int exec(struct relay_storage *s, const char *sql)
{
    if (sqlite3_exec(impl(s)->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        relay_log("storage: %s", sqlite3_errmsg(impl(s)->db));
        return -EIO;
    }
    return 0;
}

/* Steps a statement that returns no row. */
static int run(sqlite3_stmt *st)
{
    if (!st)
        return -EIO;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : ju_sqlite_error(sqlite3_db_handle(st), rc, &relay_codes);
}

/* Writers of this process take turns on this mutex rather than in
 * SQLite's busy handler, which sleeps whole milliseconds between tries:
 * the relay's request and cleanup threads write through connections of
 * their own.
 * Every BEGIN IMMEDIATE holds it until its COMMIT or ROLLBACK, and every
 * write outside a transaction holds it for its statement. */
static pthread_mutex_t writer = PTHREAD_MUTEX_INITIALIZER;

static int begin(struct relay_storage *s)
{
    pthread_mutex_lock(&writer);
    int err = exec(s, "BEGIN IMMEDIATE");
    if (err < 0)
        pthread_mutex_unlock(&writer);
    return err;
}

static int commit(struct relay_storage *s)
{
    int err = exec(s, "COMMIT");
    if (err < 0)
        exec(s, "ROLLBACK");
    pthread_mutex_unlock(&writer);
    return err;
}

static void rollback(struct relay_storage *s)
{
    exec(s, "ROLLBACK");
    pthread_mutex_unlock(&writer);
}

/* A single write statement outside a transaction. */
static int run_write(sqlite3_stmt *st)
{
    pthread_mutex_lock(&writer);
    int err = run(st);
    pthread_mutex_unlock(&writer);
    return err;
}

static int64_t single_int(sqlite3_stmt *st, int *err)
{
    int64_t v = 0;
    *err = -EIO;
    if (!st)
        return 0;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
        *err = 0;
    } else if (rc == SQLITE_DONE) {
        *err = -ENOENT;
    }
    sqlite3_reset(st);
    return v;
}

static void copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, t, n);
    dst[n] = '\0';
}

static void bind_text(sqlite3_stmt *st, int i, const char *t)
{
    sqlite3_bind_text(st, i, t, -1, SQLITE_STATIC);
}

static void sq_close(struct relay_storage *s)
{
    struct sqlite_storage *q = impl(s);
    ju_sqlite_cache_finish(&q->cache);
    sqlite3_close(q->db);
    if (q->wal_fd >= 0)
        close(q->wal_fd);
    free(q);
}

static int sq_make_durable(struct relay_storage *s)
{
    return fdatasync(impl(s)->wal_fd) == 0 ? 0 : -errno;
}

static int sq_checkpoint(struct relay_storage *s)
{
    int rc = sqlite3_wal_checkpoint_v2(impl(s)->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return rc == SQLITE_OK || rc == SQLITE_BUSY ? 0 : -EIO;
}

static int insert_device(struct relay_storage *s, const struct relay_device *d,
                         const uint8_t token_hash[32])
{
    sqlite3_stmt *st = get(s, SQL_DEVICE_INSERT);
    if (!st)
        return -EIO;
    bind_text(st, 1, d->id);
    bind_text(st, 2, d->family_id);
    bind_text(st, 3, d->name);
    sqlite3_bind_blob(st, 4, token_hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, d->joined);
    return run(st);
}

static int insert_invite(struct relay_storage *s, const char *family_id,
                         const uint8_t code_hash[32], int64_t expires)
{
    sqlite3_stmt *st = get(s, SQL_INVITE_INSERT);
    if (!st)
        return -EIO;
    sqlite3_bind_blob(st, 1, code_hash, 32, SQLITE_STATIC);
    bind_text(st, 2, family_id);
    sqlite3_bind_int64(st, 3, expires);
    return run(st);
}

static int sq_relay_usage(struct relay_storage *s, uint64_t *bytes, uint64_t *families);

static int sq_family_create(struct relay_storage *s, const struct relay_device *first,
                            const uint8_t token_hash[32], const uint8_t code_hash[32],
                            int64_t invite_expires, unsigned max_families)
{
    int err = begin(s);
    if (err < 0)
        return err;
    if (max_families) {
        uint64_t held, families;
        if ((err = sq_relay_usage(s, &held, &families)) < 0)
            goto error_tx;
        if (families >= max_families) {
            err = -EUSERS;
            goto error_tx;
        }
    }
    sqlite3_stmt *st = get(s, SQL_FAMILY_INSERT);
    if (!st) {
        err = -EIO;
        goto error_tx;
    }
    bind_text(st, 1, first->family_id);
    sqlite3_bind_int64(st, 2, first->joined);
    if ((err = run(st)) < 0 || (err = insert_device(s, first, token_hash)) < 0 ||
        (err = insert_invite(s, first->family_id, code_hash, invite_expires)) < 0)
        goto error_tx;
    return commit(s);

error_tx:
    rollback(s);
    return err;
}

static int sq_invite_create(struct relay_storage *s, const char *family_id,
                            const uint8_t code_hash[32], int64_t expires, int64_t now,
                            unsigned max_invites)
{
    int err = begin(s);
    if (err < 0)
        return err;
    sqlite3_stmt *st = get(s, SQL_INVITE_COUNT);
    if (!st) {
        err = -EIO;
        goto error_tx;
    }
    bind_text(st, 1, family_id);
    sqlite3_bind_int64(st, 2, now);
    int64_t n = single_int(st, &err);
    if (err < 0)
        goto error_tx;
    if (n >= max_invites) {
        err = -ENOSPC;
        goto error_tx;
    }
    if ((err = insert_invite(s, family_id, code_hash, expires)) < 0)
        goto error_tx;
    return commit(s);

error_tx:
    rollback(s);
    return err;
}

static int sq_join(struct relay_storage *s, const uint8_t code_hash[32], int64_t now,
                   struct relay_device *dev, const uint8_t token_hash[32], unsigned max_devices)
{
    int err = begin(s);
    if (err < 0)
        return err;
    sqlite3_stmt *st = get(s, SQL_INVITE_GET);
    if (!st) {
        err = -EIO;
        goto error_tx;
    }
    sqlite3_bind_blob(st, 1, code_hash, 32, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        err = rc == SQLITE_DONE ? -ENOENT : -EIO;
        goto error_tx;
    }
    copy_text(dev->family_id, sizeof dev->family_id, st, 0);
    int64_t expires = sqlite3_column_int64(st, 1);
    sqlite3_reset(st);

    /* Used or expired, the code is gone either way. */
    st = get(s, SQL_INVITE_DELETE);
    if (!st) {
        err = -EIO;
        goto error_tx;
    }
    sqlite3_bind_blob(st, 1, code_hash, 32, SQLITE_STATIC);
    if ((err = run(st)) < 0)
        goto error_tx;
    if (expires < now) {
        if ((err = commit(s)) < 0)
            return err;
        return -ETIME;
    }
    st = get(s, SQL_DEVICE_COUNT);
    if (!st) {
        err = -EIO;
        goto error_tx;
    }
    bind_text(st, 1, dev->family_id);
    int64_t n = single_int(st, &err);
    if (err < 0)
        goto error_tx;
    if (n >= max_devices) {
        err = -ENOSPC;
        goto error_tx;
    }
    /* Names are how the family tells its devices apart: one per live device. */
    st = get(s, SQL_NAME_TAKEN);
    if (!st) {
        err = -EIO;
        goto error_tx;
    }
    bind_text(st, 1, dev->family_id);
    bind_text(st, 2, dev->name);
    single_int(st, &err);
    if (err == 0) {
        err = -EEXIST;
        goto error_tx;
    }
    if (err != -ENOENT)
        goto error_tx;
    dev->joined = now;
    if ((err = insert_device(s, dev, token_hash)) < 0)
        goto error_tx;
    return commit(s);

error_tx:
    rollback(s);
    return err;
}

static int sq_device_by_token(struct relay_storage *s, const uint8_t token_hash[32],
                              struct relay_device *out)
{
    sqlite3_stmt *st = get(s, SQL_DEVICE_BY_TOKEN);
    if (!st)
        return -EIO;
    sqlite3_bind_blob(st, 1, token_hash, 32, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int err = rc == SQLITE_DONE ? -ENOENT : -EIO;
    if (rc == SQLITE_ROW) {
        copy_text(out->id, sizeof out->id, st, 0);
        copy_text(out->family_id, sizeof out->family_id, st, 1);
        copy_text(out->name, sizeof out->name, st, 2);
        out->joined = sqlite3_column_int64(st, 3);
        const void *h = sqlite3_column_blob(st, 4);
        /* The index found the row; the comparison that decides is constant time. */
        err = (h && sqlite3_column_bytes(st, 4) == 32 && CRYPTO_memcmp(h, token_hash, 32) == 0)
                  ? 0
                  : -ENOENT;
    }
    sqlite3_reset(st);
    return err;
}

static int sq_device_revoke(struct relay_storage *s, const char *family_id, const char *device_id)
{
    sqlite3_stmt *st = get(s, SQL_DEVICE_REVOKE);
    if (!st)
        return -EIO;
    bind_text(st, 1, device_id);
    bind_text(st, 2, family_id);
    int err = run_write(st);
    if (err < 0)
        return err;
    return sqlite3_changes(impl(s)->db) == 1 ? 0 : -ENOENT;
}

static int sq_members(struct relay_storage *s, const char *family_id,
                      int (*cb)(void *ctx, const struct relay_device *d), void *ctx)
{
    sqlite3_stmt *st = get(s, SQL_MEMBERS);
    if (!st)
        return -EIO;
    bind_text(st, 1, family_id);
    int rc, err = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct relay_device d;
        copy_text(d.id, sizeof d.id, st, 0);
        copy_text(d.family_id, sizeof d.family_id, st, 1);
        copy_text(d.name, sizeof d.name, st, 2);
        d.joined = sqlite3_column_int64(st, 3);
        if ((err = cb(ctx, &d)) < 0)
            break;
    }
    if (err == 0 && rc != SQLITE_DONE)
        err = -EIO;
    sqlite3_reset(st);
    return err;
}

static int sq_is_member(struct relay_storage *s, const char *family_id, const char *device_id)
{
    sqlite3_stmt *st = get(s, SQL_IS_MEMBER);
    if (!st)
        return -EIO;
    bind_text(st, 1, device_id);
    bind_text(st, 2, family_id);
    int err;
    single_int(st, &err);
    return err == 0 ? 1 : err == -ENOENT ? 0 : err;
}

static int sq_family_usage(struct relay_storage *s, const char *family_id, uint64_t *bytes)
{
    sqlite3_stmt *st = get(s, SQL_FAMILY_USAGE);
    if (!st)
        return -EIO;
    bind_text(st, 1, family_id);
    int err;
    *bytes = (uint64_t)single_int(st, &err);
    return err;
}

static int sq_relay_usage(struct relay_storage *s, uint64_t *bytes, uint64_t *families)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(impl(s)->db, "SELECT COALESCE(SUM(bytes), 0), COUNT(*) FROM families",
                           -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *bytes = (uint64_t)sqlite3_column_int64(st, 0);
        *families = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -EIO;
}

static int sq_mailbox_pending(struct relay_storage *s, const char *device_id, uint64_t *count)
{
    sqlite3_stmt *st = get(s, SQL_MAILBOX_PENDING);
    if (!st)
        return -EIO;
    bind_text(st, 1, device_id);
    int err;
    *count = (uint64_t)single_int(st, &err);
    return err;
}

static void read_upload(sqlite3_stmt *st, struct relay_upload *u)
{
    memset(u, 0, sizeof *u);
    u->rowid = sqlite3_column_int64(st, 0);
    copy_text(u->upload_id, sizeof u->upload_id, st, 1);
    copy_text(u->message_id, sizeof u->message_id, st, 2);
    copy_text(u->family_id, sizeof u->family_id, st, 3);
    copy_text(u->sender_id, sizeof u->sender_id, st, 4);
    u->length = (uint64_t)sqlite3_column_int64(st, 5);
    u->offset = (uint64_t)sqlite3_column_int64(st, 6);
    u->duration_ms = (uint64_t)sqlite3_column_int64(st, 7);
    u->created = sqlite3_column_int64(st, 8);
    u->expires = sqlite3_column_int64(st, 9);
    u->completed = sqlite3_column_int64(st, 10);
    /* Until completion the column holds the hash the sender declared (a
     * column of its own after the audio would make every read of the row
     * walk the audio's overflow pages). */
    if (sqlite3_column_bytes(st, 11) == 32) {
        memcpy(u->completed ? u->sha256 : u->declared_sha256, sqlite3_column_blob(st, 11), 32);
        u->has_declared_sha256 = !u->completed;
    }
    relay_upload_read_recipients(u, (const char *)sqlite3_column_text(st, 12));
    copy_text(u->metadata, sizeof u->metadata, st, 13);
}

static int fetch_upload(struct relay_storage *s, enum sql_id id, const char *key,
                        struct relay_upload *out)
{
    sqlite3_stmt *st = get(s, id);
    if (!st)
        return -EIO;
    bind_text(st, 1, key);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_upload(st, out);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

static int write_in_tx(struct relay_storage *s, struct relay_upload *u, uint64_t offset,
                       const void *data, size_t len, int blob_holds_data, int64_t now);

static int sq_upload_create(struct relay_storage *s, struct relay_upload *u, const void *first,
                            size_t first_len, int64_t now, uint64_t max_family_bytes,
                            uint64_t max_storage_bytes, unsigned max_mailbox)
{
    int err = begin(s);
    if (err < 0)
        return err;
    struct relay_upload *old = malloc(sizeof *old);
    if (!old) {
        err = -ENOMEM;
        goto error_tx;
    }
    err = fetch_upload(s, SQL_UPLOAD_BY_MESSAGE, u->message_id, old);
    if (err == 0) {
        /* A repeated creation: the client resumes the upload it already has. */
        if (strcmp(old->sender_id, u->sender_id) != 0) {
            err = -EEXIST;
            goto error_old;
        }
        *u = *old;
        free(old);
        rollback(s);
        return 1;
    }
    free(old);
    if (err != -ENOENT)
        goto error_tx;
    /* The routes checked the limits before reading the body; here they
     * hold against every write made since, by any thread. */
    uint64_t used, pending;
    if ((err = sq_family_usage(s, u->family_id, &used)) < 0)
        goto error_tx;
    if (used + u->length > max_family_bytes) {
        err = -ENOSPC;
        goto error_tx;
    }
    if (max_storage_bytes) {
        uint64_t held, families;
        if ((err = sq_relay_usage(s, &held, &families)) < 0)
            goto error_tx;
        if (held + u->length > max_storage_bytes) {
            err = -ENOBUFS;
            goto error_tx;
        }
    }
    for (unsigned i = 0; i < u->n_recipients; i++) {
        if ((err = sq_mailbox_pending(s, u->recipients[i], &pending)) < 0)
            goto error_tx;
        if (pending >= max_mailbox) {
            err = -EDQUOT;
            goto error_tx;
        }
    }

    char recipients[RELAY_MAX_RECIPIENTS * (RELAY_ID_LEN + 1) + 1];
    size_t pos = 0;
    for (unsigned i = 0; i < u->n_recipients; i++)
        pos += (size_t)snprintf(recipients + pos, sizeof recipients - pos, "%s%s", i ? "," : "",
                                u->recipients[i]);
    recipients[pos] = '\0';

    sqlite3_stmt *st = get(s, SQL_UPLOAD_INSERT);
    if (!st) {
        err = -EIO;
        goto error_tx;
    }
    bind_text(st, 1, u->upload_id);
    bind_text(st, 2, u->message_id);
    bind_text(st, 3, u->family_id);
    bind_text(st, 4, u->sender_id);
    sqlite3_bind_int64(st, 5, (int64_t)u->length);
    sqlite3_bind_int64(st, 6, (int64_t)u->duration_ms);
    bind_text(st, 7, recipients);
    bind_text(st, 8, u->metadata);
    sqlite3_bind_int64(st, 9, u->created);
    sqlite3_bind_int64(st, 10, u->expires);
    if (u->has_declared_sha256)
        sqlite3_bind_blob(st, 12, u->declared_sha256, 32, SQLITE_STATIC);
    /* A whole message goes straight into the row, written once. */
    int whole = first_len && first_len == u->length;
    if (whole)
        sqlite3_bind_blob(st, 11, first, (int)first_len, SQLITE_STATIC);
    if ((err = run(st)) < 0)
        goto error_tx;
    u->rowid = sqlite3_last_insert_rowid(impl(s)->db);
    u->offset = 0;
    int completed = 0;
    if (first_len && (completed = write_in_tx(s, u, 0, first, first_len, whole, now)) < 0) {
        err = completed;
        goto error_tx;
    }
    if ((err = commit(s)) < 0)
        return err;
    return completed ? 2 : 0;

error_old:
    free(old);
error_tx:
    rollback(s);
    return err;
}

static int sq_upload_get(struct relay_storage *s, const char *upload_id, struct relay_upload *out)
{
    return fetch_upload(s, SQL_UPLOAD_GET, upload_id, out);
}

static int sq_upload_by_message(struct relay_storage *s, const char *message_id,
                                struct relay_upload *out)
{
    return fetch_upload(s, SQL_UPLOAD_BY_MESSAGE, message_id, out);
}

static int hash_blob(struct relay_storage *s, sqlite3_blob *b, uint64_t length, uint8_t out[32])
{
    int err = -EIO;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return -ENOMEM;
    if (!EVP_DigestInit_ex(md, EVP_sha256(), NULL))
        goto error_md;
    unsigned char buf[16384];
    for (uint64_t off = 0; off < length;) {
        int n = (int)(length - off < sizeof buf ? length - off : sizeof buf);
        if (sqlite3_blob_read(b, buf, n, (int)off) != SQLITE_OK ||
            !EVP_DigestUpdate(md, buf, (size_t)n))
            goto error_md;
        off += (uint64_t)n;
    }
    unsigned len = 32;
    if (!EVP_DigestFinal_ex(md, out, &len))
        goto error_md;
    err = 0;
error_md:
    EVP_MD_CTX_free(md);
    return err;
}

/* Writes len bytes at offset into u's blob, in the open transaction, and
 * delivers the message when they complete it: 1 then, 0 otherwise. */
static int write_in_tx(struct relay_storage *s, struct relay_upload *u, uint64_t offset,
                       const void *data, size_t len, int blob_holds_data, int64_t now)
{
    struct sqlite_storage *q = impl(s);
    int err;
    if (len > u->length - offset)
        return -EFBIG;
    sqlite3_blob *b = NULL;
    /* The row's audio grows by what arrived: nothing is reserved for bytes
     * a client only announced (a header-only creation of 2 MiB used to
     * allocate 2 MiB at once). Voice notes are small enough that appending
     * rewrites at most 2 MiB, and most arrive in one request. */
    if (!blob_holds_data && len) {
        sqlite3_stmt *st = get(s, SQL_UPLOAD_APPEND);
        if (!st)
            return -EIO;
        sqlite3_bind_int64(st, 1, u->rowid);
        sqlite3_bind_blob(st, 2, data, (int)len, SQLITE_STATIC);
        if ((err = run(st)) < 0)
            return err;
    }
    u->offset = offset + len;
    int completed = u->offset == u->length;
    if (completed) {
        if (offset == 0) { /* the whole message is in hand: no need to read it back */
            unsigned n = 32;
            err = EVP_Digest(data, len, u->sha256, &n, EVP_sha256(), NULL) ? 0 : -EIO;
        } else if (sqlite3_blob_open(q->db, "main", "messages", "data", u->rowid, 0, &b) !=
                   SQLITE_OK) {
            err = -EIO;
        } else {
            err = hash_blob(s, b, u->length, u->sha256);
        }
        if (err < 0)
            goto error_blob;
        if (u->has_declared_sha256 && memcmp(u->sha256, u->declared_sha256, 32) != 0) {
            err = -EBADMSG; /* the caller rolls back: nothing is delivered */
            goto error_blob;
        }
    }
    sqlite3_blob_close(b);
    b = NULL;

    sqlite3_stmt *st = get(s, SQL_UPLOAD_ADVANCE);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, u->rowid);
    sqlite3_bind_int64(st, 2, (int64_t)u->offset);
    if ((err = run(st)) < 0)
        return err;
    if (!completed)
        return 0;
    /* Delivery happens once: only on the write that moved the offset to the
     * end, inside its transaction. */
    u->completed = now;
    st = get(s, SQL_UPLOAD_COMPLETE);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, u->rowid);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_blob(st, 3, u->sha256, 32, SQLITE_STATIC);
    if ((err = run(st)) < 0)
        return err;
    for (unsigned i = 0; i < u->n_recipients; i++) {
        st = get(s, SQL_MAILBOX_INSERT);
        if (!st)
            return -EIO;
        bind_text(st, 1, u->recipients[i]);
        sqlite3_bind_int64(st, 2, u->rowid);
        if ((err = run(st)) < 0)
            return err;
    }
    return 1;

error_blob:
    sqlite3_blob_close(b);
    return err;
}

static int sq_upload_fetch(struct relay_storage *s, const char *upload_id, struct relay_upload *u)
{
    return fetch_upload(s, SQL_UPLOAD_GET, upload_id, u);
}

static int sq_upload_append(struct relay_storage *s, struct relay_upload *u, uint64_t offset,
                            const void *data, size_t len, int64_t now)
{
    return write_in_tx(s, u, offset, data, len, 0, now);
}

static int sq_upload_drop(struct relay_storage *s, const char *upload_id)
{
    sqlite3_stmt *del = get(s, SQL_UPLOAD_DELETE);
    bind_text(del, 1, upload_id);
    return run_write(del);
}

static int sq_upload_delete(struct relay_storage *s, const char *upload_id)
{
    sqlite3_stmt *st = get(s, SQL_UPLOAD_DELETE);
    if (!st)
        return -EIO;
    bind_text(st, 1, upload_id);
    int err = run_write(st);
    if (err < 0)
        return err;
    return sqlite3_changes(impl(s)->db) ? 0 : -ENOENT;
}

static int sq_message_get(struct relay_storage *s, const char *message_id, struct relay_upload *out)
{
    int err = fetch_upload(s, SQL_UPLOAD_BY_MESSAGE, message_id, out);
    if (err == 0 && !out->completed)
        return -ENOENT;
    return err;
}

static int sq_is_recipient(struct relay_storage *s, int64_t rowid, const char *device_id)
{
    sqlite3_stmt *st = get(s, SQL_IS_RECIPIENT);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, rowid);
    bind_text(st, 2, device_id);
    int err;
    single_int(st, &err);
    return err == 0 ? 1 : err == -ENOENT ? 0 : err;
}

static int sq_message_read(struct relay_storage *s, int64_t rowid, uint64_t offset, void *buf,
                           size_t len)
{
    sqlite3_blob *b = NULL;
    if (sqlite3_blob_open(impl(s)->db, "main", "messages", "data", rowid, 0, &b) != SQLITE_OK) {
        sqlite3_blob_close(b);
        return -ENOENT;
    }
    int rc = sqlite3_blob_read(b, buf, (int)len, (int)offset);
    sqlite3_blob_close(b);
    return rc == SQLITE_OK ? 0 : -EIO;
}

static int sq_inbox(struct relay_storage *s, const char *device_id, int64_t after, unsigned limit,
                    int (*cb)(void *ctx, const struct relay_inbox_entry *e), void *ctx)
{
    sqlite3_stmt *st = get(s, SQL_INBOX);
    if (!st)
        return -EIO;
    bind_text(st, 1, device_id);
    sqlite3_bind_int64(st, 2, after);
    sqlite3_bind_int64(st, 3, limit);
    int rc, err = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct relay_inbox_entry e;
        memset(&e, 0, sizeof e);
        e.cursor = sqlite3_column_int64(st, 0);
        copy_text(e.message_id, sizeof e.message_id, st, 1);
        copy_text(e.sender_id, sizeof e.sender_id, st, 2);
        e.length = (uint64_t)sqlite3_column_int64(st, 3);
        e.duration_ms = (uint64_t)sqlite3_column_int64(st, 4);
        e.created = sqlite3_column_int64(st, 5);
        if (sqlite3_column_bytes(st, 6) == 32)
            memcpy(e.sha256, sqlite3_column_blob(st, 6), 32);
        if ((err = cb(ctx, &e)) < 0)
            break;
    }
    if (err == 0 && rc != SQLITE_DONE)
        err = -EIO;
    sqlite3_reset(st);
    return err;
}

static int add_receipt(struct relay_storage *s, int64_t rowid, const char *device_id,
                       const char *state, int64_t now, int *added)
{
    sqlite3_stmt *st = get(s, SQL_RECEIPT_INSERT);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, rowid);
    bind_text(st, 2, device_id);
    bind_text(st, 3, state);
    sqlite3_bind_int64(st, 4, now);
    int err = run(st);
    if (err == 0 && sqlite3_changes(impl(s)->db))
        *added = 1;
    return err;
}

static int add_proof(struct relay_storage *s, int64_t rowid, const char *device_id,
                     const char *state, const char *proof)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(impl(s)->db,
                           "INSERT OR IGNORE INTO receipt_proofs(message, device_id, state, proof)"
                           " VALUES (?1, ?2, ?3, ?4)",
                           -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(st, 1, rowid);
    bind_text(st, 2, device_id);
    bind_text(st, 3, state);
    bind_text(st, 4, proof);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

static int sq_receipt_add(struct relay_storage *s, int64_t rowid, const char *device_id,
                          const char *state, const char *proof, int64_t now)
{
    int added = 0, err = begin(s);
    if (err < 0)
        return err;
    if (proof && (err = add_proof(s, rowid, device_id, state, proof)) < 0)
        goto error_tx;
    /* "rejected" stands instead of "delivered": the device has it, will
     * never play it, and the relay may drop it like a delivered one. */
    if ((err = add_receipt(s, rowid, device_id,
                           strcmp(state, "rejected") == 0 ? "rejected" : "delivered", now,
                           &added)) < 0)
        goto error_tx;
    if (strcmp(state, "played") == 0 &&
        (err = add_receipt(s, rowid, device_id, "played", now, &added)) < 0)
        goto error_tx;
    sqlite3_stmt *st = get(s, SQL_MAILBOX_DELIVERED);
    if (!st) {
        err = -EIO;
        goto error_tx;
    }
    sqlite3_bind_int64(st, 1, rowid);
    bind_text(st, 2, device_id);
    sqlite3_bind_int64(st, 3, now);
    if ((err = run(st)) < 0)
        goto error_tx;
    if ((err = commit(s)) < 0)
        return err;
    return added;

error_tx:
    rollback(s);
    return err;
}

static int sq_receipts(struct relay_storage *s, const char *sender_id, int64_t after,
                       unsigned limit, int (*cb)(void *ctx, const struct relay_receipt *r),
                       void *ctx)
{
    sqlite3_stmt *st = get(s, SQL_RECEIPTS);
    if (!st)
        return -EIO;
    bind_text(st, 1, sender_id);
    sqlite3_bind_int64(st, 2, after);
    sqlite3_bind_int64(st, 3, limit);
    int rc, err = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct relay_receipt r;
        r.cursor = sqlite3_column_int64(st, 0);
        copy_text(r.message_id, sizeof r.message_id, st, 1);
        copy_text(r.device_id, sizeof r.device_id, st, 2);
        const char *state = (const char *)sqlite3_column_text(st, 3);
        r.state = state && strcmp(state, "played") == 0     ? "played"
                  : state && strcmp(state, "rejected") == 0 ? "rejected"
                                                            : "delivered";
        r.at = sqlite3_column_int64(st, 4);
        copy_text(r.proof, sizeof r.proof, st, 5);
        if ((err = cb(ctx, &r)) < 0)
            break;
    }
    if (err == 0 && rc != SQLITE_DONE)
        err = -EIO;
    sqlite3_reset(st);
    return err;
}

static int changes_of(struct relay_storage *s, const char *sql, int64_t a, int64_t b, int64_t c,
                      int64_t d, unsigned *count)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(impl(s)->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(st, 1, a);
    if (sqlite3_bind_parameter_count(st) >= 2)
        sqlite3_bind_int64(st, 2, b);
    if (sqlite3_bind_parameter_count(st) >= 3)
        sqlite3_bind_int64(st, 3, c);
    if (sqlite3_bind_parameter_count(st) >= 4)
        sqlite3_bind_int64(st, 4, d);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return -EIO;
    *count = (unsigned)sqlite3_changes(impl(s)->db);
    return 0;
}

/* ---- end-to-end: pairings and rosters (rare requests: ad-hoc statements) ---- */

static sqlite3_stmt *prepare(struct relay_storage *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(impl(s)->db, sql, -1, &st, NULL) != SQLITE_OK) {
        relay_log("storage: %s", sqlite3_errmsg(impl(s)->db));
        return NULL;
    }
    return st;
}

static int sq_pairing_create(struct relay_storage *s, const char *family_id, const char *nameplate,
                             const char *msg_a, int64_t expires, int64_t now, unsigned max_open)
{
    sqlite3_stmt *st = NULL;
    int err = begin(s);
    if (err < 0)
        return err;
    /* An expired pairing frees its nameplate at once. */
    if (!(st = prepare(s, "DELETE FROM pairings WHERE nameplate = ?1 AND expires < ?2")))
        goto error_io;
    bind_text(st, 1, nameplate);
    sqlite3_bind_int64(st, 2, now);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto error_io;
    sqlite3_finalize(st);
    if (!(st = prepare(s, "SELECT count(*) FROM pairings WHERE family_id = ?1 AND expires >= ?2")))
        goto error_io;
    bind_text(st, 1, family_id);
    sqlite3_bind_int64(st, 2, now);
    if (sqlite3_step(st) != SQLITE_ROW)
        goto error_io;
    if (sqlite3_column_int64(st, 0) >= max_open) {
        err = -ENOSPC;
        goto error_tx;
    }
    sqlite3_finalize(st);
    if (!(st = prepare(s, "INSERT INTO pairings(nameplate, family_id, expires, msg_a)"
                          " VALUES (?1, ?2, ?3, ?4)")))
        goto error_io;
    bind_text(st, 1, nameplate);
    bind_text(st, 2, family_id);
    sqlite3_bind_int64(st, 3, expires);
    bind_text(st, 4, msg_a);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT) {
        err = -EEXIST;
        goto error_tx;
    }
    if (rc != SQLITE_DONE)
        goto error_io;
    sqlite3_finalize(st);
    return commit(s);

error_io:
    err = -EIO;
error_tx:
    sqlite3_finalize(st);
    rollback(s);
    return err;
}

static int sq_pairing_get(struct relay_storage *s, const char *nameplate, int64_t now,
                          struct relay_pairing *out)
{
    sqlite3_stmt *st = prepare(s, "SELECT family_id, expires, msg_a, claim, msg_b, msg_c"
                                  " FROM pairings WHERE nameplate = ?1 AND expires >= ?2");
    if (!st)
        return -EIO;
    bind_text(st, 1, nameplate);
    sqlite3_bind_int64(st, 2, now);
    int rc = sqlite3_step(st), err = 0;
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        snprintf(out->nameplate, sizeof out->nameplate, "%s", nameplate);
        copy_text(out->family_id, sizeof out->family_id, st, 0);
        out->expires = sqlite3_column_int64(st, 1);
        copy_text(out->msg_a, sizeof out->msg_a, st, 2);
        if (sqlite3_column_bytes(st, 3) == 32) {
            out->claimed = 1;
            memcpy(out->claim_hash, sqlite3_column_blob(st, 3), 32);
        }
        copy_text(out->msg_b, sizeof out->msg_b, st, 4);
        copy_text(out->msg_c, sizeof out->msg_c, st, 5);
    } else {
        err = rc == SQLITE_DONE ? -ENOENT : -EIO;
    }
    sqlite3_finalize(st);
    return err;
}

static int sq_pairing_set(struct relay_storage *s, const char *nameplate, const char *field,
                          const void *value, size_t len)
{
    const char *sql = strcmp(field, "claim") == 0
                          ? "UPDATE pairings SET claim = ?2 WHERE nameplate = ?1 AND claim IS NULL"
                      : strcmp(field, "msg_b") == 0
                          ? "UPDATE pairings SET msg_b = ?2 WHERE nameplate = ?1 AND msg_b IS NULL"
                          : "UPDATE pairings SET msg_c = ?2 WHERE nameplate = ?1 AND msg_c IS NULL"
                            " AND msg_b IS NOT NULL";
    sqlite3_stmt *st = prepare(s, sql);
    if (!st)
        return -EIO;
    bind_text(st, 1, nameplate);
    if (strcmp(field, "claim") == 0)
        sqlite3_bind_blob(st, 2, value, (int)len, SQLITE_STATIC);
    else
        sqlite3_bind_text(st, 2, value, (int)len, SQLITE_STATIC);
    pthread_mutex_lock(&writer);
    int rc = sqlite3_step(st);
    int changed = sqlite3_changes(impl(s)->db);
    pthread_mutex_unlock(&writer);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return -EIO;
    return changed ? 0 : -EEXIST;
}

static int sq_roster_get(struct relay_storage *s, const char *family_id, void **data, size_t *len)
{
    sqlite3_stmt *st = prepare(s, "SELECT data FROM rosters WHERE family_id = ?1");
    if (!st)
        return -EIO;
    bind_text(st, 1, family_id);
    int rc = sqlite3_step(st), err = 0;
    if (rc == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        *data = malloc(n ? n : 1);
        if (!*data)
            err = -ENOMEM;
        else {
            memcpy(*data, sqlite3_column_blob(st, 0), n);
            *len = n;
        }
    } else {
        err = rc == SQLITE_DONE ? -ENOENT : -EIO;
    }
    sqlite3_finalize(st);
    return err;
}

static int sq_roster_write(struct relay_storage *s, const char *family_id, const void *data,
                           size_t len)
{
    sqlite3_stmt *st =
        prepare(s, "INSERT OR REPLACE INTO rosters(family_id, data) VALUES (?1, ?2)");
    if (!st)
        return -EIO;
    bind_text(st, 1, family_id);
    sqlite3_bind_blob(st, 2, data, (int)len, SQLITE_STATIC);
    int err = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    sqlite3_finalize(st);
    return err;
}

/* Hands up to `pages` free pages back to the file system, in a write of
 * its own (a database created with auto_vacuum=INCREMENTAL; in an older one
 * this does nothing). */
static int give_back_pages(struct relay_storage *s, int pages)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA incremental_vacuum(%d)", pages);
    pthread_mutex_lock(&writer);
    int err = exec(s, sql);
    pthread_mutex_unlock(&writer);
    return err;
}

static int sq_cleanup(struct relay_storage *s, int64_t now, int64_t retention, int64_t max_age,
                      unsigned batch, struct relay_cleanup_counts *counts)
{
    int err = begin(s);
    if (err < 0)
        return err;
    memset(counts, 0, sizeof *counts);
    /* Each kind at most `batch` rows (?4): a 2 MiB upload is some 500
     * overflow pages to free, and the request thread waits for this
     * transaction. */
    if ((err = changes_of(s,
                          "DELETE FROM messages WHERE id IN (SELECT id FROM messages"
                          " WHERE completed = 0 AND expires < ?1 LIMIT ?4)",
                          now, 0, 0, batch, &counts->uploads)) < 0 ||
        (err = changes_of(s,
                          "DELETE FROM invites WHERE rowid IN (SELECT rowid FROM invites"
                          " WHERE expires < ?1 LIMIT ?4)",
                          now, 0, 0, batch, &counts->invites)) < 0 ||
        (err = changes_of(s,
                          "DELETE FROM pairings WHERE rowid IN (SELECT rowid FROM pairings"
                          " WHERE expires < ?1 LIMIT ?4)",
                          now, 0, 0, batch, &(unsigned){0})) < 0 ||
        (err = changes_of(s,
                          "DELETE FROM messages WHERE id IN (SELECT id FROM messages"
                          " WHERE completed > 0 AND completed < ?1 - ?2 LIMIT ?4)",
                          now, max_age, 0, batch, &counts->messages)) < 0)
        goto error_tx;
    /* Delivered long enough ago to every recipient: found from the
     * delivered mailbox entries old enough (index), not from every message. */
    unsigned settled = 0;
    if ((err =
             changes_of(s,
                        "DELETE FROM messages WHERE id IN (SELECT DISTINCT b.message FROM mailbox b"
                        "  WHERE b.delivered > 0 AND b.delivered < ?1 - ?3"
                        "  AND NOT EXISTS (SELECT 1 FROM mailbox c WHERE c.message = b.message"
                        "   AND (c.delivered = 0 OR c.delivered >= ?1 - ?3))"
                        "  AND EXISTS (SELECT 1 FROM messages m WHERE m.id = b.message"
                        "   AND m.completed > 0) LIMIT ?4)",
                        now, max_age, retention, batch, &settled)) < 0)
        goto error_tx;
    counts->messages += settled;
    if ((err = commit(s)) < 0)
        return err;
    /* What the batch freed, back to the file system a step at a time
     * (4 MiB of 4 KiB pages at most), so the database shrinks after a
     * burst rather than keeping its largest size for ever. */
    if (counts->uploads || counts->messages) {
        give_back_pages(s, 1024);
        /* And the WAL back to nothing: journal_size_limit trims it only
         * when the next write starts it over. The sync thread's passive
         * checkpoints leave little for this one to copy. */
        pthread_mutex_lock(&writer);
        sqlite3_wal_checkpoint_v2(impl(s)->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        pthread_mutex_unlock(&writer);
    }
    return 0;

error_tx:
    rollback(s);
    return err;
}

static int sq_ping(struct relay_storage *s, int probe)
{
    return probe ? exec(s, "SELECT 1") : 0;
}

static const struct relay_storage_steps sqlite_steps = {
    .begin = begin,
    .commit = commit,
    .rollback = rollback,
    .upload_fetch = sq_upload_fetch,
    .upload_append = sq_upload_append,
    .upload_drop = sq_upload_drop,
    .roster_read = sq_roster_get,
    .roster_write = sq_roster_write,
};

static const struct relay_storage_ops sqlite_ops = {
    .close = sq_close,
    .make_durable = sq_make_durable,
    .checkpoint = sq_checkpoint,
    .family_create = sq_family_create,
    .invite_create = sq_invite_create,
    .join = sq_join,
    .device_by_token = sq_device_by_token,
    .device_revoke = sq_device_revoke,
    .members = sq_members,
    .is_member = sq_is_member,
    .family_usage = sq_family_usage,
    .relay_usage = sq_relay_usage,
    .mailbox_pending = sq_mailbox_pending,
    .upload_create = sq_upload_create,
    .upload_get = sq_upload_get,
    .upload_by_message = sq_upload_by_message,
    .upload_write = relay_storage_upload_write,
    .upload_delete = sq_upload_delete,
    .message_get = sq_message_get,
    .is_recipient = sq_is_recipient,
    .message_read = sq_message_read,
    .inbox = sq_inbox,
    .receipt_add = sq_receipt_add,
    .receipts = sq_receipts,
    .cleanup = sq_cleanup,
    .ping = sq_ping,
    .pairing_create = sq_pairing_create,
    .pairing_get = sq_pairing_get,
    .pairing_set = sq_pairing_set,
    .roster_get = sq_roster_get,
    .roster_put = relay_storage_roster_put,
};

static pthread_once_t configured = PTHREAD_ONCE_INIT;

/* Before SQLite's first use: no memory statistics, which every allocation
 * of every thread would update under one global mutex. When SQLite was
 * already initialised (by other code of the process) this fails harmlessly. */
static void configure_sqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* The database holds token and invite hashes and every family's audio: it
 * is created 0600 in a directory created 0700, whatever the umask, and an
 * existing database (and its WAL and shared-memory files, which SQLite
 * creates with the database's mode) is brought back to 0600. An existing
 * directory keeps its mode: it may be the operator's, shared on purpose. */
static int private_files(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return -ENOMEM;
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0700) == 0 && chmod(dir, 0700) < 0) {
            free(dir);
            return -errno;
        }
    }
    free(dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    int err = fchmod(fd, 0600) < 0 ? -errno : 0;
    close(fd);
    static const char *const suffixes[] = {"-wal", "-shm"};
    for (size_t i = 0; i < 2 && err == 0; i++) {
        char *side = sqlite3_mprintf("%s%s", path, suffixes[i]);
        if (!side)
            return -ENOMEM;
        if (chmod(side, 0600) < 0 && errno != ENOENT)
            err = -errno;
        sqlite3_free(side);
    }
    return err;
}

int relay_storage_sqlite_open(const char *path, struct relay_storage **out)
{
    int err = -ENOMEM;
    struct sqlite_storage *q = calloc(1, sizeof *q);
    if (!q)
        return err;
    q->base.ops = &sqlite_ops;
    q->base.steps = &sqlite_steps;
    q->wal_fd = -1;
    pthread_once(&configured, configure_sqlite);
    if (private_files(path) < 0) {
        err = -EIO;
        goto error_db;
    }
    /* NOMUTEX: a handle is used by one thread at a time (relay_storage.h),
     * so SQLite need not lock each call on it. */
    if (sqlite3_open_v2(path, &q->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        err = -EIO;
        goto error_db;
    }
    sqlite3_busy_timeout(q->db, 5000);
    if (sqlite3_exec(q->db,
                     "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL; "
                     "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                     "PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=4194304;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        err = -EIO;
        goto error_db;
    }
    q->cache = (struct ju_sqlite_cache){q->db, sql_text, q->stmts, SQL_COUNT_};
    if ((err = ju_sqlite_migrate(q->db, &relay_schema, &relay_codes)) < 0) {
        relay_log("storage: %s", sqlite3_errmsg(q->db));
        goto error_db;
    }
    /* Reading the schema opened the WAL, so it exists; it stays while the
     * relay holds a connection. Its directory entry is made durable once. */
    char *wal = sqlite3_mprintf("%s-wal", sqlite3_db_filename(q->db, "main"));
    if (!wal) {
        err = -ENOMEM;
        goto error_db;
    }
    q->wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
    sqlite3_free(wal);
    if (q->wal_fd < 0 || fdatasync(q->wal_fd) < 0) {
        err = -EIO;
        goto error_db;
    }
    char *dir = strdup(sqlite3_db_filename(q->db, "main"));
    if (!dir) {
        err = -ENOMEM;
        goto error_db;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    int dfd = open(slash ? (*dir ? dir : "/") : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (dfd < 0 || fsync(dfd) < 0) {
        if (dfd >= 0)
            close(dfd);
        err = -EIO;
        goto error_db;
    }
    close(dfd);
    *out = &q->base;
    return 0;

error_db:
    sqlite3_close(q->db);
    if (q->wal_fd >= 0)
        close(q->wal_fd);
    free(q);
    return err;
}
