/*
 * The relay's storage in PostgreSQL, for several relay processes on one
 * database (docs/relay-postgresql.md). Same interface and guarantees as
 * relay_storage_sqlite.c; what differs is how they are kept when writers
 * are other processes:
 *
 * - Exactly one message per message id: a UNIQUE constraint and
 *   INSERT ... ON CONFLICT DO NOTHING; the loser of a race reads the row
 *   the winner committed.
 * - Quotas without read-then-write: a family's bytes move with one
 *   conditional UPDATE (bytes + n <= limit); invite and device counts are
 *   read with the family's row locked; recipients' rows are locked (in id
 *   order, so two deliveries never deadlock) before their mailboxes grow.
 * - Cursors that never skip: a device's mailbox rows are inserted while its
 *   devices row is locked, and a sender's receipts under an advisory lock
 *   of that sender, so a cursor is taken only after every smaller one of
 *   the same mailbox committed. A reader that saw cursor n saw all before.
 * - Durability with group commit: the request handle commits with
 *   synchronous_commit off (its commit returns once written, not flushed);
 *   make_durable() then commits a transaction of its own with a
 *   transaction id on another connection and synchronous_commit on. Its
 *   commit record comes after every commit this process made before, and
 *   PostgreSQL flushes the log up to it before returning: one flush for a
 *   batch of requests, as with SQLite's WAL fdatasync.
 * - Audio: chunk rows (bytea), one per PATCH, written in the transaction
 *   that moves the offset; the measurement behind that is in the docs.
 * - Wake-ups across processes: the transaction that delivers a message or
 *   records a receipt sends NOTIFY; every relay LISTENs on a connection of
 *   its own (listen()).
 * - Rate limits: token buckets in an UNLOGGED table, updated by one
 *   function call, so every process draws from the same bucket.
 * - Cleanup: under pg_try_advisory_xact_lock, so one process at a time.
 *
 * A lost connection is retried at most twice a second; until then calls
 * fail with -ENOTCONN, which the relay answers with 503 and Retry-After.
 */
#include "relay_storage.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHANNEL "jiashu_relay"

enum pq_id {
    Q_FAMILY_INSERT,
    Q_DEVICE_INSERT,
    Q_INVITE_INSERT,
    Q_INVITE_COUNT_LOCKED,
    Q_INVITE_TAKE,
    Q_DEVICE_COUNT_LOCKED,
    Q_DEVICE_BY_TOKEN,
    Q_DEVICE_REVOKE,
    Q_MEMBERS,
    Q_IS_MEMBER,
    Q_FAMILY_USAGE,
    Q_MAILBOX_PENDING,
    Q_UPLOAD_BY_MESSAGE,
    Q_UPLOAD_GET,
    Q_UPLOAD_GET_LOCKED,
    Q_FAMILY_RESERVE,
    Q_PENDING_LOCKED,
    Q_UPLOAD_INSERT,
    Q_CHUNK_INSERT,
    Q_UPLOAD_ADVANCE,
    Q_UPLOAD_COMPLETE,
    Q_RECIPIENTS_LOCK,
    Q_MAILBOX_INSERT,
    Q_NOTIFY,
    Q_UPLOAD_DELETE,
    Q_IS_RECIPIENT,
    Q_CHUNKS,
    Q_INBOX,
    Q_SENDER_LOCK,
    Q_RECEIPT_INSERT,
    Q_MAILBOX_DELIVERED,
    Q_RECEIPTS,
    Q_LIMIT_TAKE,
    Q_NAME_TAKEN,
    Q_PROOF_INSERT,
    Q_COUNT_
};

#define UPLOAD_COLUMNS                                                                             \
    "id, upload_id, message_id, family_id, sender_id, length, received, duration_ms, created, "    \
    "expires, completed, encode(sha256, 'hex'), recipients, metadata, "                            \
    "encode(declared_sha256, 'hex')"

static const char *const pq_text[Q_COUNT_] = {
    [Q_FAMILY_INSERT] = "INSERT INTO families(id, created) VALUES ($1, $2)",
    [Q_DEVICE_INSERT] = "INSERT INTO devices(id, family_id, name, token_hash, joined) "
                        "VALUES ($1, $2, $3, $4, $5)",
    [Q_INVITE_INSERT] = "INSERT INTO invites(code_hash, family_id, expires) VALUES ($1, $2, $3)",
    [Q_INVITE_COUNT_LOCKED] = "SELECT (SELECT count(*) FROM invites WHERE family_id = $1 AND "
                              "expires >= $2) FROM families WHERE id = $1 FOR UPDATE",
    /* Taking an invite deletes it: two joins with one code cannot both win. */
    [Q_INVITE_TAKE] = "DELETE FROM invites WHERE code_hash = $1 RETURNING family_id, expires",
    [Q_DEVICE_COUNT_LOCKED] = "SELECT (SELECT count(*) FROM devices WHERE family_id = $1 AND "
                              "revoked = 0) FROM families WHERE id = $1 FOR UPDATE",
    [Q_DEVICE_BY_TOKEN] = "SELECT id, family_id, name, joined, encode(token_hash, 'hex') "
                          "FROM devices WHERE token_hash = $1 AND revoked = 0",
    [Q_DEVICE_REVOKE] = "UPDATE devices SET revoked = 1 WHERE id = $1 AND family_id = $2 "
                        "AND revoked = 0",
    [Q_MEMBERS] = "SELECT id, family_id, name, joined FROM devices WHERE family_id = $1 "
                  "AND revoked = 0 ORDER BY joined, seq",
    [Q_IS_MEMBER] = "SELECT 1 FROM devices WHERE id = $1 AND family_id = $2 AND revoked = 0",
    [Q_FAMILY_USAGE] = "SELECT bytes FROM families WHERE id = $1",
    [Q_MAILBOX_PENDING] = "SELECT pending FROM devices WHERE id = $1",
    [Q_UPLOAD_BY_MESSAGE] = "SELECT " UPLOAD_COLUMNS " FROM messages WHERE message_id = $1",
    [Q_UPLOAD_GET] = "SELECT " UPLOAD_COLUMNS " FROM messages WHERE upload_id = $1",
    [Q_UPLOAD_GET_LOCKED] = "SELECT " UPLOAD_COLUMNS " FROM messages WHERE upload_id = $1 "
                            "FOR UPDATE",
    [Q_FAMILY_RESERVE] = "UPDATE families SET bytes = bytes + $2 WHERE id = $1 AND "
                         "bytes + $2 <= $3 RETURNING bytes",
    [Q_PENDING_LOCKED] = "SELECT pending FROM devices WHERE id = ANY($1::text[]) ORDER BY id "
                         "FOR UPDATE",
    [Q_UPLOAD_INSERT] =
        "INSERT INTO messages(upload_id, message_id, family_id, sender_id, length, duration_ms, "
        "recipients, metadata, created, expires, declared_sha256) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
        "ON CONFLICT (message_id) DO NOTHING RETURNING id",
    [Q_CHUNK_INSERT] = "INSERT INTO chunks(message, off, data) VALUES ($1, $2, $3)",
    [Q_UPLOAD_ADVANCE] = "UPDATE messages SET received = $2 WHERE id = $1",
    [Q_UPLOAD_COMPLETE] = "UPDATE messages SET completed = $2, sha256 = $3 WHERE id = $1",
    [Q_RECIPIENTS_LOCK] = "SELECT 1 FROM devices WHERE id = ANY($1::text[]) ORDER BY id "
                          "FOR NO KEY UPDATE",
    [Q_MAILBOX_INSERT] = "INSERT INTO mailbox(device_id, message) SELECT unnest($1::text[]), $2 "
                         "ON CONFLICT DO NOTHING",
    [Q_NOTIFY] = "SELECT pg_notify('" CHANNEL "', $1)",
    [Q_UPLOAD_DELETE] = "DELETE FROM messages WHERE upload_id = $1",
    [Q_IS_RECIPIENT] = "SELECT 1 FROM mailbox WHERE message = $1 AND device_id = $2",
    [Q_CHUNKS] = "SELECT off, data FROM chunks WHERE message = $1 AND off < $3 "
                 "AND off + octet_length(data) > $2 ORDER BY off",
    [Q_INBOX] = "SELECT b.cursor, m.message_id, m.sender_id, m.length, m.duration_ms, "
                "m.completed, encode(m.sha256, 'hex') FROM mailbox b JOIN messages m "
                "ON m.id = b.message WHERE b.device_id = $1 AND b.cursor > $2 "
                "ORDER BY b.cursor LIMIT $3",
    [Q_SENDER_LOCK] = "SELECT sender_id, pg_advisory_xact_lock(7, hashtext(sender_id)) "
                      "FROM messages WHERE id = $1",
    [Q_RECEIPT_INSERT] = "INSERT INTO receipts(message, sender_id, device_id, state, at) "
                         "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    [Q_MAILBOX_DELIVERED] = "UPDATE mailbox SET delivered = $3 WHERE message = $1 "
                            "AND device_id = $2 AND delivered = 0",
    [Q_RECEIPTS] = "SELECT r.cursor, m.message_id, r.device_id, r.state, r.at, p.proof "
                   "FROM receipts r JOIN messages m ON m.id = r.message "
                   "LEFT JOIN receipt_proofs p ON p.message = r.message "
                   "AND p.device_id = r.device_id AND p.state = r.state "
                   "WHERE r.sender_id = $1 AND r.cursor > $2 ORDER BY r.cursor LIMIT $3",
    [Q_LIMIT_TAKE] = "SELECT allowed, tokens FROM relay_take($1, $2, $3, $4)",
    /* Names compare as SQLite's NOCASE does: ASCII letters only. */
    [Q_NAME_TAKEN] = "SELECT 1 FROM devices WHERE family_id = $1 AND revoked = 0 "
                     "AND lower(name COLLATE \"C\") = lower($2 COLLATE \"C\")",
    [Q_PROOF_INSERT] = "INSERT INTO receipt_proofs(message, device_id, state, proof) "
                       "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
};

/*
 * Versioned migrations: migrations[i] takes the schema from version i to
 * i + 1, in one transaction, under an advisory lock so that relays started
 * together do not race. schema_version holds the version reached.
 */
static const char *const migrations[] = {
    /* 1: the tables of relay_storage_sqlite.c's version 1, with audio in
     * chunk rows and a sender column on receipts. */
    "CREATE TABLE families(id text PRIMARY KEY, created bigint NOT NULL,"
    "  bytes bigint NOT NULL DEFAULT 0);"
    "CREATE TABLE devices(id text PRIMARY KEY, family_id text NOT NULL REFERENCES families(id),"
    "  name text NOT NULL, token_hash bytea NOT NULL UNIQUE, joined bigint NOT NULL,"
    "  revoked integer NOT NULL DEFAULT 0, pending bigint NOT NULL DEFAULT 0);"
    "CREATE INDEX devices_family ON devices(family_id);"
    "CREATE TABLE invites(code_hash bytea PRIMARY KEY,"
    "  family_id text NOT NULL REFERENCES families(id), expires bigint NOT NULL);"
    "CREATE INDEX invites_family ON invites(family_id);"
    "CREATE TABLE messages(id bigserial PRIMARY KEY, upload_id text NOT NULL UNIQUE,"
    "  message_id text NOT NULL UNIQUE, family_id text NOT NULL, sender_id text NOT NULL,"
    "  length bigint NOT NULL, received bigint NOT NULL DEFAULT 0,"
    "  duration_ms bigint NOT NULL, recipients text NOT NULL, metadata text NOT NULL,"
    "  created bigint NOT NULL, expires bigint NOT NULL, completed bigint NOT NULL DEFAULT 0,"
    "  sha256 bytea);"
    "CREATE INDEX messages_family ON messages(family_id);"
    "CREATE INDEX messages_incomplete ON messages(expires) WHERE completed = 0;"
    "CREATE INDEX messages_completed ON messages(completed) WHERE completed > 0;"
    "CREATE TABLE chunks(message bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
    "  off bigint NOT NULL, data bytea NOT NULL, PRIMARY KEY(message, off));"
    "ALTER TABLE chunks ALTER COLUMN data SET STORAGE EXTERNAL;"
    "CREATE TABLE mailbox(cursor bigserial PRIMARY KEY, device_id text NOT NULL,"
    "  message bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
    "  delivered bigint NOT NULL DEFAULT 0, UNIQUE(device_id, message));"
    "CREATE INDEX mailbox_device ON mailbox(device_id, cursor);"
    "CREATE INDEX mailbox_message ON mailbox(message);"
    "CREATE TABLE receipts(cursor bigserial PRIMARY KEY,"
    "  message bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
    "  sender_id text NOT NULL, device_id text NOT NULL, state text NOT NULL,"
    "  at bigint NOT NULL, UNIQUE(message, device_id, state));"
    "CREATE INDEX receipts_sender ON receipts(sender_id, cursor);"
    /* Counters kept by triggers, so limits cost one row read. A family's
     * bytes grow in upload_create's conditional UPDATE, not here. */
    "CREATE FUNCTION relay_family_bytes_sub() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    "  UPDATE families SET bytes = bytes - OLD.length WHERE id = OLD.family_id;"
    "  RETURN NULL; END $$;"
    "CREATE TRIGGER family_bytes_sub AFTER DELETE ON messages FOR EACH ROW"
    "  EXECUTE FUNCTION relay_family_bytes_sub();"
    "CREATE FUNCTION relay_pending() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    "  IF TG_OP = 'INSERT' THEN"
    "    UPDATE devices SET pending = pending + 1 WHERE id = NEW.device_id;"
    "  ELSIF TG_OP = 'UPDATE' THEN"
    "    IF OLD.delivered = 0 AND NEW.delivered <> 0 THEN"
    "      UPDATE devices SET pending = pending - 1 WHERE id = NEW.device_id; END IF;"
    "  ELSIF OLD.delivered = 0 THEN"
    "    UPDATE devices SET pending = pending - 1 WHERE id = OLD.device_id;"
    "  END IF; RETURN NULL; END $$;"
    "CREATE TRIGGER pending AFTER INSERT OR DELETE OR UPDATE OF delivered ON mailbox"
    "  FOR EACH ROW EXECUTE FUNCTION relay_pending();"
    /* Rate limits: one bucket per limiter slot, shared by every relay;
     * unlogged, since a bucket lost in a crash only refills. */
    "CREATE UNLOGGED TABLE rate_buckets(limiter integer NOT NULL, slot bigint NOT NULL,"
    "  tokens double precision NOT NULL, last_ms bigint NOT NULL, PRIMARY KEY(limiter, slot));"
    "CREATE FUNCTION relay_take(p_limiter integer, p_slot bigint, p_rate double precision,"
    "  p_burst double precision, OUT allowed boolean, OUT tokens double precision)"
    "  LANGUAGE plpgsql AS $$ DECLARE"
    "  now_ms bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;"
    "  have double precision; BEGIN"
    "  INSERT INTO rate_buckets VALUES (p_limiter, p_slot, p_burst, now_ms)"
    "    ON CONFLICT DO NOTHING;"
    "  SELECT least(p_burst, b.tokens + greatest(0, now_ms - b.last_ms) / 1000.0 * p_rate)"
    "    INTO have FROM rate_buckets b WHERE b.limiter = p_limiter AND b.slot = p_slot"
    "    FOR UPDATE;"
    "  allowed := have >= 1;"
    "  tokens := CASE WHEN allowed THEN have - 1 ELSE have END;"
    "  UPDATE rate_buckets b SET tokens = relay_take.tokens,"
    "    last_ms = greatest(b.last_ms, now_ms)"
    "    WHERE b.limiter = p_limiter AND b.slot = p_slot; END $$;"
    /* The key of the rate limits' hash, the same in every process. */
    "CREATE TABLE relay_settings(seed bigint NOT NULL);"
    "INSERT INTO relay_settings VALUES"
    "  (('x' || substr(md5(gen_random_uuid()::text), 1, 16))::bit(64)::bigint);",
    /* 2: end-to-end encryption (docs/encryption.md), as SQLite's 1 -> 3:
     * signed receipts, pairing mailboxes, rosters, the declared SHA-256. */
    "CREATE TABLE receipt_proofs("
    "  message bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
    "  device_id text NOT NULL, state text NOT NULL, proof text NOT NULL,"
    "  UNIQUE(message, device_id, state));"
    "CREATE TABLE pairings(nameplate text PRIMARY KEY, family_id text NOT NULL,"
    "  expires bigint NOT NULL, msg_a text NOT NULL, claim bytea, msg_b text, msg_c text);"
    "CREATE INDEX pairings_family ON pairings(family_id);"
    "CREATE TABLE rosters(family_id text PRIMARY KEY, data bytea NOT NULL);"
    "ALTER TABLE messages ADD COLUMN declared_sha256 bytea;",
    /* 3: a deleted message takes its family's row before its recipients'
     * (as upload_create does), so that cleanup and creations never wait
     * on each other in a circle. Triggers fire in name order, and the
     * foreign keys' cascades (which reach the recipients through mailbox)
     * are named "RI_...": this one now sorts before them. */
    "ALTER TRIGGER family_bytes_sub ON messages RENAME TO \"0_family_bytes_sub\";",
    /* 4: the order devices joined in, as SQLite's rowid keeps it: two
     * devices that join in the same second must not tie, since the oldest
     * live device is the family's keeper (net/PROTOCOL.md). */
    "ALTER TABLE devices ADD COLUMN seq bigserial;",
    /* 5: the cleanup finds messages delivered before the retention through
     * their mailbox entries (as SQLite's schema 3 does). */
    "CREATE INDEX mailbox_delivered ON mailbox(delivered) WHERE delivered > 0;",
};

#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

struct pg_storage {
    struct relay_storage base;
    PGconn *conn;
    char *conninfo;
    int prepared[Q_COUNT_];
    int durable;          /* commits wait for the log flush (the sync handle) */
    int lost;             /* the connection failed; reconnect before the next call */
    uint64_t last_try_ms; /* last reconnection attempt */
    int in_tx;
    uint64_t instance; /* which run of the server we are connected to */
    /* make_durable() may be called from two threads at once (the syncer,
     * and a request thread keeping a cut body); a libpq connection takes
     * one caller at a time. */
    pthread_mutex_t durable_lock;
};

/*
 * The server runs that unflushed commits went to. make_durable() flushes
 * the log of the server it reaches; that covers a commit only if it is the
 * same run of the server (a crash in between loses asynchronous commits).
 * So every commit of a request handle notes its server's run here, and
 * make_durable() takes the notes and fails when another run answered.
 * Process-wide, as a relay process talks to one PostgreSQL server.
 */
static pthread_mutex_t unflushed_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t unflushed_instance; /* 0: nothing noted */
static int unflushed_mixed;         /* commits went to two runs */

static void note_unflushed(struct pg_storage *q)
{
    if (q->durable)
        return;
    pthread_mutex_lock(&unflushed_lock);
    if (!unflushed_instance)
        unflushed_instance = q->instance;
    else if (unflushed_instance != q->instance)
        unflushed_mixed = 1;
    pthread_mutex_unlock(&unflushed_lock);
}

static struct pg_storage *impl(struct relay_storage *s)
{
    return (struct pg_storage *)s;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Marks the connection lost when it is, so the next call reconnects. */
static int failure(struct pg_storage *q, const PGresult *res)
{
    if (PQstatus(q->conn) != CONNECTION_OK) {
        q->lost = 1;
        return -ENOTCONN;
    }
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (state && strcmp(state, "23505") == 0)
        return -EEXIST;
    /* 57P01 admin_shutdown and friends: the server is going away. */
    if (state && (strncmp(state, "57P", 3) == 0 || strncmp(state, "08", 2) == 0)) {
        q->lost = 1;
        return -ENOTCONN;
    }
    relay_log("storage: %.*s", (int)strcspn(PQerrorMessage(q->conn), "\n"),
              PQerrorMessage(q->conn));
    return -EIO;
}

/* FNV-1a of the server's start time: never 0. */
static uint64_t instance_of(const char *start_time)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = start_time; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ull;
    }
    return h ? h : 1;
}

static int session_setup(struct pg_storage *q)
{
    /* The request handle's commits are flushed by make_durable() on another
     * handle (see the top of the file); the sync handle overrides this. */
    PGresult *res = PQexec(q->conn, q->durable ? "SET synchronous_commit = on; SET "
                                                 "client_min_messages = warning"
                                               : "SET synchronous_commit = off; SET "
                                                 "client_min_messages = warning; SET "
                                                 "lock_timeout = '10s'");
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok)
        return -EIO;
    res = PQexec(q->conn, "SELECT pg_postmaster_start_time()::text");
    ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    if (ok)
        q->instance = instance_of(PQgetvalue(res, 0, 0));
    PQclear(res);
    return ok ? 0 : -EIO;
}

/* Reconnects a lost connection, at most twice a second. */
static int ready(struct pg_storage *q)
{
    if (!q->lost && PQstatus(q->conn) == CONNECTION_OK)
        return 0;
    uint64_t now = now_ms();
    if (q->last_try_ms && now - q->last_try_ms < 500)
        return -ENOTCONN;
    q->last_try_ms = now;
    PQreset(q->conn);
    if (PQstatus(q->conn) != CONNECTION_OK || session_setup(q) < 0)
        return -ENOTCONN;
    memset(q->prepared, 0, sizeof q->prepared);
    q->lost = 0;
    q->in_tx = 0;
    relay_log("storage: connected to PostgreSQL again");
    return 0;
}

/*
 * Runs a prepared statement (preparing it on first use on this
 * connection). Parameters are text, except those in binary_mask (bytea,
 * given with their length). Returns the result, or NULL with *err set.
 */
static PGresult *run_q_once(struct pg_storage *q, enum pq_id id, int n, const char *const *vals,
                            const int *lens, unsigned binary_mask, int binary_result, int *err)
{
    char name[8];
    snprintf(name, sizeof name, "q%d", (int)id);
    if ((*err = ready(q)) < 0)
        return NULL;
    if (!q->prepared[id]) {
        PGresult *p = PQprepare(q->conn, name, pq_text[id], 0, NULL);
        if (PQresultStatus(p) != PGRES_COMMAND_OK) {
            *err = failure(q, p);
            PQclear(p);
            return NULL;
        }
        PQclear(p);
        q->prepared[id] = 1;
    }
    int fmts[12] = {0}, lengths[12] = {0};
    for (int i = 0; i < n && i < 12; i++) {
        fmts[i] = (binary_mask >> i) & 1;
        lengths[i] = lens ? lens[i] : 0;
    }
    PGresult *res = PQexecPrepared(q->conn, name, n, vals, lengths, fmts, binary_result);
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        *err = failure(q, res);
        PQclear(res);
        return NULL;
    }
    *err = 0;
    return res;
}

/* A connection found dead by this very call (the server restarted since
 * the last one) is reconnected at once and the call made again, unless a
 * transaction was open: its earlier statements are gone with it. */
static int retry_now(struct pg_storage *q, int err, int *retried)
{
    if (err != -ENOTCONN || q->in_tx || *retried)
        return 0;
    *retried = 1;
    q->last_try_ms = 0;
    return 1;
}

static PGresult *run_q(struct pg_storage *q, enum pq_id id, int n, const char *const *vals,
                       const int *lens, unsigned binary_mask, int binary_result, int *err)
{
    int retried = 0, was_up = !q->lost;
    PGresult *res;
    while (!(res = run_q_once(q, id, n, vals, lens, binary_mask, binary_result, err)) && was_up &&
           retry_now(q, *err, &retried))
        ;
    return res;
}

/* A statement whose rows do not matter: 0, or the error. */
static int run_cmd(struct pg_storage *q, enum pq_id id, int n, const char *const *vals,
                   const int *lens, unsigned binary_mask, long *affected)
{
    int err;
    PGresult *res = run_q(q, id, n, vals, lens, binary_mask, 0, &err);
    if (!res)
        return err;
    if (affected) {
        const char *t = PQcmdTuples(res);
        *affected = t && *t ? strtol(t, NULL, 10) : PQntuples(res);
    }
    PQclear(res);
    return 0;
}

static int simple(struct pg_storage *q, const char *sql)
{
    PGresult *res = PQexec(q->conn, sql);
    int err = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK
                  ? 0
                  : failure(q, res);

    PQclear(res);
    return err;
}

/* simple() outside a transaction, reconnecting as run_q() does. */
static int simple_retry(struct pg_storage *q, const char *sql)
{
    int retried = 0, was_up = !q->lost, err;
    do {
        if ((err = ready(q)) == 0)
            err = simple(q, sql);
    } while (err < 0 && was_up && retry_now(q, err, &retried));
    return err;
}

/* Runs sql, which answers one row (an aggregate, a setting, a lock taken
 * or not): the result, which the caller clears, or NULL and *err. */
static PGresult *one_row(struct pg_storage *q, const char *sql, int *err)
{
    PGresult *res = PQexec(q->conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        *err = failure(q, res);
        PQclear(res);
        return NULL;
    }
    return res;
}

static int begin(struct pg_storage *q)
{
    int err = simple_retry(q, "BEGIN");
    if (err == 0)
        q->in_tx = 1;
    return err;
}

static int commit(struct pg_storage *q)
{
    q->in_tx = 0;
    int err = simple(q, "COMMIT");
    if (err == 0)
        note_unflushed(q);
    return err;
}

static void rollback(struct pg_storage *q)
{
    q->in_tx = 0;
    if (!q->lost)
        simple(q, "ROLLBACK");
}

static void copy_val(char *dst, size_t cap, const PGresult *res, int row, int col)
{
    const char *v = PQgetvalue(res, row, col);
    size_t n = (size_t)PQgetlength(res, row, col);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static int64_t int_val(const PGresult *res, int row, int col)
{
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* A 32-byte value selected as encode(x, 'hex'): 0, or -1 when not one. */
static int hash_val(const PGresult *res, int row, int col, uint8_t out[32])
{
    const char *v = PQgetvalue(res, row, col);
    if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        int hi = hex_nibble(v[2 * i]), lo = hex_nibble(v[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* "{a,b,c}": ids are hex, so they need no quoting in an array literal. */
static void id_array(char *out, size_t cap, const char (*ids)[RELAY_ID_LEN + 1], unsigned n)
{
    size_t pos = 0;
    pos += (size_t)snprintf(out, cap, "{");
    for (unsigned i = 0; i < n && pos < cap; i++)
        pos += (size_t)snprintf(out + pos, cap - pos, "%s%s", i ? "," : "", ids[i]);
    if (pos < cap)
        snprintf(out + pos, cap - pos, "}");
}

#define ID_ARRAY_CAP (RELAY_MAX_RECIPIENTS * (RELAY_ID_LEN + 1) + 3)

static void pg_close(struct relay_storage *s)
{
    struct pg_storage *q = impl(s);
    PQfinish(q->conn);
    free(q->conninfo);
    pthread_mutex_destroy(&q->durable_lock);
    free(q);
}

/* Flushes the log up to a commit of our own, so past every commit this
 * process made before (see the top of the file). */
static int pg_make_durable(struct relay_storage *s)
{
    struct pg_storage *q = impl(s);
    /* The notes are taken before the flush: statements noted later go to
     * the next call, and this one answers for every write before it. */
    pthread_mutex_lock(&unflushed_lock);
    uint64_t instance = unflushed_instance;
    int mixed = unflushed_mixed;
    unflushed_instance = 0;
    unflushed_mixed = 0;
    pthread_mutex_unlock(&unflushed_lock);
    pthread_mutex_lock(&q->durable_lock);
    int err = simple_retry(q, "SELECT pg_current_xact_id()");
    uint64_t flushed_on = q->instance;
    pthread_mutex_unlock(&q->durable_lock);
    if (err < 0)
        return err;
    /* simple_retry() may have reconnected: q->instance is the run that
     * flushed. Writes that went to another run may be lost. */
    if (mixed || (instance && instance != flushed_on))
        return -ENOTCONN;
    return 0;
}

static int pg_checkpoint(struct relay_storage *s)
{
    return 0; /* PostgreSQL checkpoints by itself */
}

static int insert_device(struct pg_storage *q, const struct relay_device *d,
                         const uint8_t token_hash[32])
{
    char joined[24];
    snprintf(joined, sizeof joined, "%lld", (long long)d->joined);
    const char *v[5] = {d->id, d->family_id, d->name, (const char *)token_hash, joined};
    int lens[5] = {0, 0, 0, 32, 0};
    return run_cmd(q, Q_DEVICE_INSERT, 5, v, lens, 1u << 3, NULL);
}

static int insert_invite(struct pg_storage *q, const char *family_id, const uint8_t code_hash[32],
                         int64_t expires)
{
    char ex[24];
    snprintf(ex, sizeof ex, "%lld", (long long)expires);
    const char *v[3] = {(const char *)code_hash, family_id, ex};
    int lens[3] = {32, 0, 0};
    return run_cmd(q, Q_INVITE_INSERT, 3, v, lens, 1u << 0, NULL);
}

/*
 * The relay-wide limits (--max-storage-bytes, --max-families) are sums over
 * every family, which no one row or constraint holds. A transaction that
 * would grow one takes an advisory lock first, then reads the sum in a
 * statement of its own: that statement's snapshot is taken after the lock,
 * so it sees every earlier holder's committed rows, and no other holder
 * can add anything until this transaction ends. Only relays with the limit
 * set take the lock, and only for new families or new uploads. The keys
 * (8, n) are apart from the cleanup's and receipts' (7, n).
 */
enum { TOTAL_BYTES_LOCK = 0, TOTAL_FAMILIES_LOCK = 1 };

static int relay_totals_locked(struct pg_storage *q, int lock, uint64_t *bytes, uint64_t *families)
{
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(8, %d)", lock);
    int err = simple(q, sql);
    if (err < 0)
        return err;
    PGresult *res =
        one_row(q,
                lock == TOTAL_BYTES_LOCK ? "SELECT COALESCE(SUM(bytes), 0), 0 FROM families"
                                         : "SELECT 0, COUNT(*) FROM families",
                &err);
    if (!res)
        return err;
    *bytes = (uint64_t)int_val(res, 0, 0);
    *families = (uint64_t)int_val(res, 0, 1);
    PQclear(res);
    return 0;
}

static int pg_family_create(struct relay_storage *s, const struct relay_device *first,
                            const uint8_t token_hash[32], const uint8_t code_hash[32],
                            int64_t invite_expires, unsigned max_families)
{
    struct pg_storage *q = impl(s);
    int err = begin(q);
    if (err < 0)
        return err;
    if (max_families) {
        uint64_t bytes, families;
        if ((err = relay_totals_locked(q, TOTAL_FAMILIES_LOCK, &bytes, &families)) < 0)
            goto error_tx;
        if (families >= max_families) {
            err = -EUSERS;
            goto error_tx;
        }
    }
    char created[24];
    snprintf(created, sizeof created, "%lld", (long long)first->joined);
    const char *v[2] = {first->family_id, created};
    if ((err = run_cmd(q, Q_FAMILY_INSERT, 2, v, NULL, 0, NULL)) < 0 ||
        (err = insert_device(q, first, token_hash)) < 0 ||
        (err = insert_invite(q, first->family_id, code_hash, invite_expires)) < 0)
        goto error_tx;
    return commit(q);

error_tx:
    rollback(q);
    return err;
}

/* count(*) read with the family's row locked: 0 and *n, or an error. */
static int count_locked(struct pg_storage *q, enum pq_id id, const char *family_id, int64_t now,
                        int64_t *n)
{
    char nows[24];
    snprintf(nows, sizeof nows, "%lld", (long long)now);
    const char *v[2] = {family_id, nows};
    int err;
    PGresult *res = run_q(q, id, id == Q_INVITE_COUNT_LOCKED ? 2 : 1, v, NULL, 0, 0, &err);
    if (!res)
        return err;
    err = PQntuples(res) == 1 ? 0 : -ENOENT;
    if (!err)
        *n = int_val(res, 0, 0);
    PQclear(res);
    return err;
}

static int pg_invite_create(struct relay_storage *s, const char *family_id,
                            const uint8_t code_hash[32], int64_t expires, int64_t now,
                            unsigned max_invites)
{
    struct pg_storage *q = impl(s);
    int err = begin(q);
    if (err < 0)
        return err;
    int64_t n = 0;
    if ((err = count_locked(q, Q_INVITE_COUNT_LOCKED, family_id, now, &n)) < 0)
        goto error_tx;
    if (n >= max_invites) {
        err = -ENOSPC;
        goto error_tx;
    }
    if ((err = insert_invite(q, family_id, code_hash, expires)) < 0)
        goto error_tx;
    return commit(q);

error_tx:
    rollback(q);
    return err;
}

static int exists(struct pg_storage *q, enum pq_id id, int n, const char *const *v);

static int pg_join(struct relay_storage *s, const uint8_t code_hash[32], int64_t now,
                   struct relay_device *dev, const uint8_t token_hash[32], unsigned max_devices)
{
    struct pg_storage *q = impl(s);
    int err = begin(q);
    if (err < 0)
        return err;
    const char *v[1] = {(const char *)code_hash};
    int lens[1] = {32};
    PGresult *res = run_q(q, Q_INVITE_TAKE, 1, v, lens, 1u, 0, &err);
    if (!res)
        goto error_tx;
    if (PQntuples(res) != 1) {
        PQclear(res);
        err = -ENOENT;
        goto error_tx;
    }
    copy_val(dev->family_id, sizeof dev->family_id, res, 0, 0);
    int64_t expires = int_val(res, 0, 1);
    PQclear(res);
    if (expires < now) { /* used or expired, the code is gone either way */
        if ((err = commit(q)) < 0)
            return err;
        return -ETIME;
    }
    int64_t n = 0;
    if ((err = count_locked(q, Q_DEVICE_COUNT_LOCKED, dev->family_id, now, &n)) < 0)
        goto error_tx;
    if (n >= max_devices) {
        err = -ENOSPC;
        goto error_tx;
    }
    /* Names are how the family tells its devices apart: one per live
     * device. The family's row is locked: two joins cannot take one name. */
    const char *nv[2] = {dev->family_id, dev->name};
    if ((err = exists(q, Q_NAME_TAKEN, 2, nv)) != 0) {
        if (err > 0)
            err = -EEXIST;
        goto error_tx;
    }
    dev->joined = now;
    if ((err = insert_device(q, dev, token_hash)) < 0)
        goto error_tx;
    return commit(q);

error_tx:
    rollback(q);
    return err;
}

static int pg_device_by_token(struct relay_storage *s, const uint8_t token_hash[32],
                              struct relay_device *out)
{
    const char *v[1] = {(const char *)token_hash};
    int lens[1] = {32}, err;
    PGresult *res = run_q(impl(s), Q_DEVICE_BY_TOKEN, 1, v, lens, 1u, 0, &err);
    if (!res)
        return err;
    err = -ENOENT;
    uint8_t h[32];
    if (PQntuples(res) == 1) {
        copy_val(out->id, sizeof out->id, res, 0, 0);
        copy_val(out->family_id, sizeof out->family_id, res, 0, 1);
        copy_val(out->name, sizeof out->name, res, 0, 2);
        out->joined = int_val(res, 0, 3);
        /* The index found the row; the comparison that decides is constant time. */
        if (hash_val(res, 0, 4, h) == 0 && CRYPTO_memcmp(h, token_hash, 32) == 0)
            err = 0;
    }
    PQclear(res);
    return err;
}

static int pg_device_revoke(struct relay_storage *s, const char *family_id, const char *device_id)
{
    const char *v[2] = {device_id, family_id};
    long n = 0;
    int err = run_cmd(impl(s), Q_DEVICE_REVOKE, 2, v, NULL, 0, &n);
    if (err < 0)
        return err;
    note_unflushed(impl(s));
    return n == 1 ? 0 : -ENOENT;
}

static int pg_members(struct relay_storage *s, const char *family_id,
                      int (*cb)(void *ctx, const struct relay_device *d), void *ctx)
{
    const char *v[1] = {family_id};
    int err;
    PGresult *res = run_q(impl(s), Q_MEMBERS, 1, v, NULL, 0, 0, &err);
    if (!res)
        return err;
    for (int i = 0; i < PQntuples(res) && err == 0; i++) {
        struct relay_device d;
        copy_val(d.id, sizeof d.id, res, i, 0);
        copy_val(d.family_id, sizeof d.family_id, res, i, 1);
        copy_val(d.name, sizeof d.name, res, i, 2);
        d.joined = int_val(res, i, 3);
        err = cb(ctx, &d);
    }
    PQclear(res);
    return err < 0 ? err : 0;
}

/* 1 when the statement returns a row, 0 when not. */
static int exists(struct pg_storage *q, enum pq_id id, int n, const char *const *v)
{
    int err;
    PGresult *res = run_q(q, id, n, v, NULL, 0, 0, &err);
    if (!res)
        return err;
    int found = PQntuples(res) > 0;
    PQclear(res);
    return found;
}

static int pg_is_member(struct relay_storage *s, const char *family_id, const char *device_id)
{
    const char *v[2] = {device_id, family_id};
    return exists(impl(s), Q_IS_MEMBER, 2, v);
}

static int single_u64(struct pg_storage *q, enum pq_id id, const char *key, uint64_t *out)
{
    const char *v[1] = {key};
    int err;
    PGresult *res = run_q(q, id, 1, v, NULL, 0, 0, &err);
    if (!res)
        return err;
    err = PQntuples(res) == 1 ? 0 : -ENOENT;
    *out = err ? 0 : (uint64_t)int_val(res, 0, 0);
    PQclear(res);
    return err;
}

static int pg_family_usage(struct relay_storage *s, const char *family_id, uint64_t *bytes)
{
    return single_u64(impl(s), Q_FAMILY_USAGE, family_id, bytes);
}

static int pg_relay_usage(struct relay_storage *s, uint64_t *bytes, uint64_t *families)
{
    int err;
    PGresult *res =
        one_row(impl(s), "SELECT COALESCE(SUM(bytes), 0), COUNT(*) FROM families", &err);
    if (!res)
        return err;
    *bytes = (uint64_t)int_val(res, 0, 0);
    *families = (uint64_t)int_val(res, 0, 1);
    PQclear(res);
    return 0;
}

static int pg_mailbox_pending(struct relay_storage *s, const char *device_id, uint64_t *count)
{
    return single_u64(impl(s), Q_MAILBOX_PENDING, device_id, count);
}

static void read_upload(const PGresult *res, struct relay_upload *u)
{
    memset(u, 0, sizeof *u);
    u->rowid = int_val(res, 0, 0);
    copy_val(u->upload_id, sizeof u->upload_id, res, 0, 1);
    copy_val(u->message_id, sizeof u->message_id, res, 0, 2);
    copy_val(u->family_id, sizeof u->family_id, res, 0, 3);
    copy_val(u->sender_id, sizeof u->sender_id, res, 0, 4);
    u->length = (uint64_t)int_val(res, 0, 5);
    u->offset = (uint64_t)int_val(res, 0, 6);
    u->duration_ms = (uint64_t)int_val(res, 0, 7);
    u->created = int_val(res, 0, 8);
    u->expires = int_val(res, 0, 9);
    u->completed = int_val(res, 0, 10);
    hash_val(res, 0, 11, u->sha256);
    u->has_declared_sha256 = hash_val(res, 0, 14, u->declared_sha256) == 0;
    relay_upload_read_recipients(u, PQgetvalue(res, 0, 12));
    copy_val(u->metadata, sizeof u->metadata, res, 0, 13);
}

static int fetch_upload(struct pg_storage *q, enum pq_id id, const char *key,
                        struct relay_upload *out)
{
    const char *v[1] = {key};
    int err;
    PGresult *res = run_q(q, id, 1, v, NULL, 0, 0, &err);
    if (!res)
        return err;
    err = PQntuples(res) == 1 ? 0 : -ENOENT;
    if (!err)
        read_upload(res, out);
    PQclear(res);
    return err;
}

static int write_in_tx(struct pg_storage *q, struct relay_upload *u, uint64_t offset,
                       const void *data, size_t len, int64_t now);

/* The repeated creation of an existing message id: 1 and u filled, or
 * -EEXIST when another sender holds it. */
static int existing_upload(struct pg_storage *q, struct relay_upload *u)
{
    struct relay_upload *old = malloc(sizeof *old);
    if (!old)
        return -ENOMEM;
    int err = fetch_upload(q, Q_UPLOAD_BY_MESSAGE, u->message_id, old);
    if (err == 0) {
        if (strcmp(old->sender_id, u->sender_id) != 0)
            err = -EEXIST;
        else {
            *u = *old;
            err = 1;
        }
    }
    free(old);
    return err;
}

static int pg_upload_create(struct relay_storage *s, struct relay_upload *u, const void *first,
                            size_t first_len, int64_t now, uint64_t max_family_bytes,
                            uint64_t max_storage_bytes, unsigned max_mailbox)
{
    struct pg_storage *q = impl(s);
    /* Most repeated creations are a client resuming: no transaction for them. */
    int err = existing_upload(q, u);
    if (err != -ENOENT)
        return err;
    if ((err = begin(q)) < 0)
        return err;
    char len_s[24], max_s[24], dur_s[24], created_s[24], expires_s[24];
    snprintf(len_s, sizeof len_s, "%llu", (unsigned long long)u->length);
    snprintf(max_s, sizeof max_s, "%llu", (unsigned long long)max_family_bytes);
    snprintf(dur_s, sizeof dur_s, "%llu", (unsigned long long)u->duration_ms);
    snprintf(created_s, sizeof created_s, "%lld", (long long)u->created);
    snprintf(expires_s, sizeof expires_s, "%lld", (long long)u->expires);

    /* The family's bytes grow only when they stay within the limit, in one
     * statement: two relays cannot both take the last bytes. */
    const char *rv[3] = {u->family_id, len_s, max_s};
    long n = 0;
    if ((err = run_cmd(q, Q_FAMILY_RESERVE, 3, rv, NULL, 0, &n)) < 0)
        goto error_tx;
    if (n != 1) {
        err = -ENOSPC;
        goto error_tx;
    }
    /* The sum includes the bytes just reserved: this transaction's own. */
    if (max_storage_bytes) {
        uint64_t held, families;
        if ((err = relay_totals_locked(q, TOTAL_BYTES_LOCK, &held, &families)) < 0)
            goto error_tx;
        if (held > max_storage_bytes) {
            err = -ENOBUFS;
            goto error_tx;
        }
    }
    char ids[ID_ARRAY_CAP];
    id_array(ids, sizeof ids, (const char(*)[RELAY_ID_LEN + 1]) u->recipients, u->n_recipients);
    const char *pv[1] = {ids};
    PGresult *res = run_q(q, Q_PENDING_LOCKED, 1, pv, NULL, 0, 0, &err);
    if (!res)
        goto error_tx;
    for (int i = 0; i < PQntuples(res); i++)
        if (int_val(res, i, 0) >= (int64_t)max_mailbox)
            err = -EDQUOT;
    PQclear(res);
    if (err < 0)
        goto error_tx;

    char recipients[RELAY_MAX_RECIPIENTS * (RELAY_ID_LEN + 1) + 1];
    size_t pos = 0;
    recipients[0] = '\0';
    for (unsigned i = 0; i < u->n_recipients; i++)
        pos += (size_t)snprintf(recipients + pos, sizeof recipients - pos, "%s%s", i ? "," : "",
                                u->recipients[i]);
    const char *iv[11] = {u->upload_id,
                          u->message_id,
                          u->family_id,
                          u->sender_id,
                          len_s,
                          dur_s,
                          recipients,
                          u->metadata,
                          created_s,
                          expires_s,
                          u->has_declared_sha256 ? (const char *)u->declared_sha256 : NULL};
    int ilens[11] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32};
    res = run_q(q, Q_UPLOAD_INSERT, 11, iv, ilens, 1u << 10, 0, &err);
    if (!res)
        goto error_tx;
    if (PQntuples(res) != 1) {
        /* Another relay created this message id meanwhile: ON CONFLICT
         * waited for its commit, so the row is there to read. */
        PQclear(res);
        rollback(q);
        err = existing_upload(q, u);
        return err == -ENOENT ? -EIO : err;
    }
    u->rowid = int_val(res, 0, 0);
    PQclear(res);
    u->offset = 0;
    int completed = 0;
    if (first_len && (completed = write_in_tx(q, u, 0, first, first_len, now)) < 0) {
        err = completed;
        goto error_tx;
    }
    if ((err = commit(q)) < 0)
        return err;
    return completed ? 2 : 0;

error_tx:
    rollback(q);
    return err;
}

static int pg_upload_get(struct relay_storage *s, const char *upload_id, struct relay_upload *out)
{
    return fetch_upload(impl(s), Q_UPLOAD_GET, upload_id, out);
}

static int pg_upload_by_message(struct relay_storage *s, const char *message_id,
                                struct relay_upload *out)
{
    return fetch_upload(impl(s), Q_UPLOAD_BY_MESSAGE, message_id, out);
}

/* Calls fn for each stored piece of [offset, offset + len) of a message. */
static int each_piece(struct pg_storage *q, int64_t rowid, uint64_t offset, uint64_t len,
                      int (*fn)(void *ctx, uint64_t at, const void *p, size_t n), void *ctx)
{
    char id_s[24], from_s[24], to_s[24];
    snprintf(id_s, sizeof id_s, "%lld", (long long)rowid);
    snprintf(from_s, sizeof from_s, "%llu", (unsigned long long)offset);
    snprintf(to_s, sizeof to_s, "%llu", (unsigned long long)(offset + len));
    const char *v[3] = {id_s, from_s, to_s};
    int err;
    PGresult *res = run_q(q, Q_CHUNKS, 3, v, NULL, 0, 1, &err);
    if (!res)
        return err;
    uint64_t covered = offset;
    for (int i = 0; i < PQntuples(res) && err == 0; i++) {
        uint64_t off_be;
        if (PQgetlength(res, i, 0) != 8) {
            err = -EIO;
            break;
        }
        memcpy(&off_be, PQgetvalue(res, i, 0), 8);
        uint64_t off = be64toh(off_be);
        uint64_t n = (uint64_t)PQgetlength(res, i, 1);
        const char *p = PQgetvalue(res, i, 1);
        if (off > covered) { /* a hole: never written */
            err = -EIO;
            break;
        }
        uint64_t skip = covered - off;
        if (skip >= n)
            continue;
        uint64_t take = n - skip;
        if (take > offset + len - covered)
            take = offset + len - covered;
        err = fn(ctx, covered, p + skip, (size_t)take);
        covered += take;
    }
    PQclear(res);
    if (err == 0 && covered != offset + len)
        err = -EIO;
    return err;
}

static int digest_piece(void *ctx, uint64_t at, const void *p, size_t n)
{
    return EVP_DigestUpdate(ctx, p, n) ? 0 : -EIO;
}

/* Writes len bytes at offset as a chunk row, in the open transaction, and
 * delivers the message when they complete it: 1 then, 0 otherwise. */
static int write_in_tx(struct pg_storage *q, struct relay_upload *u, uint64_t offset,
                       const void *data, size_t len, int64_t now)
{
    int err;
    if (len > u->length - offset)
        return -EFBIG;
    char id_s[24], off_s[24], now_s[24];
    snprintf(id_s, sizeof id_s, "%lld", (long long)u->rowid);
    snprintf(off_s, sizeof off_s, "%llu", (unsigned long long)offset);
    snprintf(now_s, sizeof now_s, "%lld", (long long)now);
    if (len) {
        const char *v[3] = {id_s, off_s, data};
        int lens[3] = {0, 0, (int)len};
        if ((err = run_cmd(q, Q_CHUNK_INSERT, 3, v, lens, 1u << 2, NULL)) < 0)
            return err;
    }
    u->offset = offset + len;
    char newoff_s[24];
    snprintf(newoff_s, sizeof newoff_s, "%llu", (unsigned long long)u->offset);
    const char *av[2] = {id_s, newoff_s};
    if ((err = run_cmd(q, Q_UPLOAD_ADVANCE, 2, av, NULL, 0, NULL)) < 0)
        return err;
    if (u->offset != u->length)
        return 0;

    if (offset == 0) { /* the whole message is in hand: no need to read it back */
        unsigned n = 32;
        if (!EVP_Digest(data, len, u->sha256, &n, EVP_sha256(), NULL))
            return -EIO;
    } else {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        if (!md)
            return -ENOMEM;
        unsigned n = 32;
        err = EVP_DigestInit_ex(md, EVP_sha256(), NULL) ? 0 : -EIO;
        if (!err)
            err = each_piece(q, u->rowid, 0, u->length, digest_piece, md);
        if (!err && !EVP_DigestFinal_ex(md, u->sha256, &n))
            err = -EIO;
        EVP_MD_CTX_free(md);
        if (err < 0)
            return err;
    }
    if (u->has_declared_sha256 && memcmp(u->sha256, u->declared_sha256, 32) != 0)
        return -EBADMSG; /* the caller rolls back: nothing is delivered */
    /* Delivery happens once: only on the write that moved the offset to the
     * end, inside its transaction, which holds the upload's row lock. */
    u->completed = now;
    const char *cv[3] = {id_s, now_s, (const char *)u->sha256};
    int clens[3] = {0, 0, 32};
    if ((err = run_cmd(q, Q_UPLOAD_COMPLETE, 3, cv, clens, 1u << 2, NULL)) < 0)
        return err;
    char ids[ID_ARRAY_CAP];
    id_array(ids, sizeof ids, (const char(*)[RELAY_ID_LEN + 1]) u->recipients, u->n_recipients);
    const char *lv[1] = {ids};
    const char *mv[2] = {ids, id_s};
    if ((err = run_cmd(q, Q_RECIPIENTS_LOCK, 1, lv, NULL, 0, NULL)) < 0 ||
        (err = run_cmd(q, Q_MAILBOX_INSERT, 2, mv, NULL, 0, NULL)) < 0)
        return err;
    /* "i <ids>": wakes the recipients' long polls on every relay, on commit. */
    char payload[ID_ARRAY_CAP + 2];
    snprintf(payload, sizeof payload, "i %s", ids);
    const char *nv[1] = {payload};
    if ((err = run_cmd(q, Q_NOTIFY, 1, nv, NULL, 0, NULL)) < 0)
        return err;
    return 1;
}

static int pg_upload_fetch(struct relay_storage *s, const char *upload_id, struct relay_upload *u)
{
    /* The row lock orders PATCHes of one upload arriving at two relays. */
    return fetch_upload(impl(s), Q_UPLOAD_GET_LOCKED, upload_id, u);
}

static int pg_upload_append(struct relay_storage *s, struct relay_upload *u, uint64_t offset,
                            const void *data, size_t len, int64_t now)
{
    return write_in_tx(impl(s), u, offset, data, len, now);
}

static int pg_upload_drop(struct relay_storage *s, const char *upload_id)
{
    const char *v[1] = {upload_id};
    int err = run_cmd(impl(s), Q_UPLOAD_DELETE, 1, v, NULL, 0, NULL);
    if (err == 0)
        note_unflushed(impl(s));
    return err;
}

static int pg_upload_delete(struct relay_storage *s, const char *upload_id)
{
    const char *v[1] = {upload_id};
    long n = 0;
    int err = run_cmd(impl(s), Q_UPLOAD_DELETE, 1, v, NULL, 0, &n);
    if (err < 0)
        return err;
    note_unflushed(impl(s));
    return n ? 0 : -ENOENT;
}

static int pg_message_get(struct relay_storage *s, const char *message_id, struct relay_upload *out)
{
    int err = fetch_upload(impl(s), Q_UPLOAD_BY_MESSAGE, message_id, out);
    if (err == 0 && !out->completed)
        return -ENOENT;
    return err;
}

static int pg_is_recipient(struct relay_storage *s, int64_t rowid, const char *device_id)
{
    char id_s[24];
    snprintf(id_s, sizeof id_s, "%lld", (long long)rowid);
    const char *v[2] = {id_s, device_id};
    return exists(impl(s), Q_IS_RECIPIENT, 2, v);
}

struct copy_ctx {
    uint8_t *buf;
    uint64_t start;
};

static int copy_piece(void *ctx, uint64_t at, const void *p, size_t n)
{
    struct copy_ctx *c = ctx;
    memcpy(c->buf + (at - c->start), p, n);
    return 0;
}

static int pg_message_read(struct relay_storage *s, int64_t rowid, uint64_t offset, void *buf,
                           size_t len)
{
    struct copy_ctx c = {buf, offset};
    return each_piece(impl(s), rowid, offset, len, copy_piece, &c);
}

/* Runs one page query of id (key, the cursor after which rows start, at
 * most limit rows) and hands each row to row(), until one answers non-zero;
 * 0 or the first negative answer. */
static int each_page_row(struct pg_storage *q, enum pq_id id, const char *key, int64_t after,
                         unsigned limit, int (*row)(const PGresult *res, int i, void *ctx),
                         void *ctx)
{
    char after_s[24], limit_s[16];
    snprintf(after_s, sizeof after_s, "%lld", (long long)after);
    snprintf(limit_s, sizeof limit_s, "%u", limit);
    const char *v[3] = {key, after_s, limit_s};
    int err;
    PGresult *res = run_q(q, id, 3, v, NULL, 0, 0, &err);
    if (!res)
        return err;
    for (int i = 0; i < PQntuples(res) && err == 0; i++)
        err = row(res, i, ctx);
    PQclear(res);
    return err < 0 ? err : 0;
}

struct inbox_page {
    int (*cb)(void *ctx, const struct relay_inbox_entry *e);
    void *ctx;
};

static int inbox_row(const PGresult *res, int i, void *ctx)
{
    struct inbox_page *page = ctx;
    struct relay_inbox_entry e;
    memset(&e, 0, sizeof e);
    e.cursor = int_val(res, i, 0);
    copy_val(e.message_id, sizeof e.message_id, res, i, 1);
    copy_val(e.sender_id, sizeof e.sender_id, res, i, 2);
    e.length = (uint64_t)int_val(res, i, 3);
    e.duration_ms = (uint64_t)int_val(res, i, 4);
    e.created = int_val(res, i, 5);
    hash_val(res, i, 6, e.sha256);
    return page->cb(page->ctx, &e);
}

static int pg_inbox(struct relay_storage *s, const char *device_id, int64_t after, unsigned limit,
                    int (*cb)(void *ctx, const struct relay_inbox_entry *e), void *ctx)
{
    struct inbox_page page = {cb, ctx};
    return each_page_row(impl(s), Q_INBOX, device_id, after, limit, inbox_row, &page);
}

static int pg_receipt_add(struct relay_storage *s, int64_t rowid, const char *device_id,
                          const char *state, const char *proof, int64_t now)
{
    struct pg_storage *q = impl(s);
    int err = begin(q);
    if (err < 0)
        return err;
    char id_s[24], now_s[24], sender[RELAY_ID_LEN + 1];
    snprintf(id_s, sizeof id_s, "%lld", (long long)rowid);
    snprintf(now_s, sizeof now_s, "%lld", (long long)now);
    /* The sender's lock: its receipt cursors are taken in commit order. */
    const char *lv[1] = {id_s};
    PGresult *res = run_q(q, Q_SENDER_LOCK, 1, lv, NULL, 0, 0, &err);
    if (!res)
        goto error_tx;
    if (PQntuples(res) != 1) {
        PQclear(res);
        err = -ENOENT;
        goto error_tx;
    }
    copy_val(sender, sizeof sender, res, 0, 0);
    PQclear(res);
    long added = 0, n = 0;
    /* "rejected" stands instead of "delivered": the device has it, will
     * never play it, and the relay may drop it like a delivered one. */
    const char *first = strcmp(state, "rejected") == 0 ? "rejected" : "delivered";
    const char *dv[5] = {id_s, sender, device_id, first, now_s};
    if ((err = run_cmd(q, Q_RECEIPT_INSERT, 5, dv, NULL, 0, &n)) < 0)
        goto error_tx;
    added += n;
    if (strcmp(state, "played") == 0) {
        const char *pv[5] = {id_s, sender, device_id, "played", now_s};
        if ((err = run_cmd(q, Q_RECEIPT_INSERT, 5, pv, NULL, 0, &n)) < 0)
            goto error_tx;
        added += n;
    }
    if (proof) {
        const char *fv[4] = {id_s, device_id, state, proof};
        if ((err = run_cmd(q, Q_PROOF_INSERT, 4, fv, NULL, 0, NULL)) < 0)
            goto error_tx;
    }
    const char *mv[3] = {id_s, device_id, now_s};
    if ((err = run_cmd(q, Q_MAILBOX_DELIVERED, 3, mv, NULL, 0, NULL)) < 0)
        goto error_tx;
    if (added) {
        char payload[RELAY_ID_LEN + 3];
        snprintf(payload, sizeof payload, "r %s", sender);
        const char *nv[1] = {payload};
        if ((err = run_cmd(q, Q_NOTIFY, 1, nv, NULL, 0, NULL)) < 0)
            goto error_tx;
    }
    if ((err = commit(q)) < 0)
        return err;
    return added ? 1 : 0;

error_tx:
    rollback(q);
    return err;
}

struct receipts_page {
    int (*cb)(void *ctx, const struct relay_receipt *r);
    void *ctx;
};

static int receipt_row(const PGresult *res, int i, void *ctx)
{
    struct receipts_page *page = ctx;
    struct relay_receipt r;
    r.cursor = int_val(res, i, 0);
    copy_val(r.message_id, sizeof r.message_id, res, i, 1);
    copy_val(r.device_id, sizeof r.device_id, res, i, 2);
    const char *state = PQgetvalue(res, i, 3);
    r.state = strcmp(state, "played") == 0     ? "played"
              : strcmp(state, "rejected") == 0 ? "rejected"
                                               : "delivered";
    r.at = int_val(res, i, 4);
    copy_val(r.proof, sizeof r.proof, res, i, 5);
    return page->cb(page->ctx, &r);
}

static int pg_receipts(struct relay_storage *s, const char *sender_id, int64_t after,
                       unsigned limit, int (*cb)(void *ctx, const struct relay_receipt *r),
                       void *ctx)
{
    struct receipts_page page = {cb, ctx};
    return each_page_row(impl(s), Q_RECEIPTS, sender_id, after, limit, receipt_row, &page);
}

/* Runs a cleanup DELETE with its parameters; *count gets the rows. */
static int delete_count(struct pg_storage *q, const char *sql, int n, const char *const *v,
                        unsigned *count)
{
    PGresult *res = PQexecParams(q->conn, sql, n, NULL, v, NULL, NULL, 0);
    int err = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : failure(q, res);
    if (!err)
        *count = (unsigned)strtoul(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return err;
}

static int pg_cleanup(struct relay_storage *s, int64_t now, int64_t retention, int64_t max_age,
                      unsigned batch, struct relay_cleanup_counts *counts)
{
    struct pg_storage *q = impl(s);
    memset(counts, 0, sizeof *counts);
    int err = begin(q);
    if (err < 0)
        return err;
    /* One relay at a time cleans; the others find the lock taken and skip
     * this round. The lock goes with the transaction, even on a crash. */
    PGresult *res = one_row(q, "SELECT pg_try_advisory_xact_lock(7, 0)", &err);
    if (!res)
        goto error_tx;
    int mine = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!mine) {
        rollback(q);
        return 0;
    }
    char now_s[24], age_s[24], ret_s[24], batch_s[16];
    snprintf(now_s, sizeof now_s, "%lld", (long long)now);
    snprintf(age_s, sizeof age_s, "%lld", (long long)max_age);
    snprintf(ret_s, sizeof ret_s, "%lld", (long long)retention);
    snprintf(batch_s, sizeof batch_s, "%u", batch);
    const char *v2[2] = {now_s, batch_s};
    const char *v3[3] = {now_s, age_s, batch_s}, *v3r[3] = {now_s, ret_s, batch_s};
    unsigned aged = 0, kept_out = 0;
    /* At most `batch` rows of each kind: other relays' writers wait for
     * the rows this transaction locks. */
    if ((err = delete_count(q,
                            "DELETE FROM messages WHERE id IN (SELECT id FROM messages"
                            " WHERE completed = 0 AND expires < $1 LIMIT $2)",
                            2, v2, &counts->uploads)) < 0 ||
        (err = delete_count(q,
                            "DELETE FROM invites WHERE ctid IN (SELECT ctid FROM invites"
                            " WHERE expires < $1 LIMIT $2)",
                            2, v2, &counts->invites)) < 0 ||
        (err = delete_count(q,
                            "DELETE FROM pairings WHERE ctid IN (SELECT ctid FROM pairings"
                            " WHERE expires < $1 LIMIT $2)",
                            2, v2, &(unsigned){0})) < 0 ||
        (err = delete_count(q,
                            "DELETE FROM messages WHERE id IN (SELECT id FROM messages"
                            " WHERE completed > 0 AND completed < $1::bigint - $2::bigint"
                            " LIMIT $3::bigint)",
                            3, v3, &aged)) < 0 ||
        /* Found from the mailbox entries delivered before the retention
         * (an index range), not by testing every message: with 1,000,000
         * messages that test was a scan of both tables a minute. */
        (err = delete_count(q,
                            "DELETE FROM messages WHERE id IN (SELECT b.message FROM mailbox b"
                            " JOIN messages m ON m.id = b.message"
                            " WHERE b.delivered > 0 AND b.delivered < $1::bigint - $2::bigint"
                            " AND m.completed > 0"
                            " AND NOT EXISTS (SELECT 1 FROM mailbox o WHERE o.message = m.id"
                            "  AND (o.delivered = 0 OR o.delivered >= $1::bigint - $2::bigint))"
                            " LIMIT $3::bigint)",
                            3, v3r, &kept_out)) < 0)
        goto error_tx;
    counts->messages = aged + kept_out;
    /* Not commit(): nobody waits for the cleanup's writes to be durable,
     * so they are not noted for make_durable(). */
    q->in_tx = 0;
    return simple(q, "COMMIT");

error_tx:
    rollback(q);
    return err;
}

static int pg_ping(struct relay_storage *s, int probe)
{
    struct pg_storage *q = impl(s);
    if (!probe)
        return q->lost || PQstatus(q->conn) != CONNECTION_OK ? -ENOTCONN : 0;
    return simple_retry(q, "SELECT 1");
}

static int pg_limit_take(struct relay_storage *s, unsigned limiter, uint64_t slot, double rate,
                         double burst, unsigned *retry_after)
{
    char l_s[16], slot_s[24], rate_s[32], burst_s[32];
    snprintf(l_s, sizeof l_s, "%u", limiter);
    snprintf(slot_s, sizeof slot_s, "%lld", (long long)(slot & INT64_MAX));
    snprintf(rate_s, sizeof rate_s, "%.17g", rate);
    snprintf(burst_s, sizeof burst_s, "%.17g", burst);
    const char *v[4] = {l_s, slot_s, rate_s, burst_s};
    int err;
    PGresult *res = run_q(impl(s), Q_LIMIT_TAKE, 4, v, NULL, 0, 0, &err);
    if (!res)
        return err;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return -EIO;
    }
    int allowed = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    double tokens = strtod(PQgetvalue(res, 0, 1), NULL);
    PQclear(res);
    if (allowed)
        return 0;
    double wait = rate > 0 ? (1.0 - tokens) / rate : 3600;
    *retry_after = (unsigned)wait + 1;
    return -EAGAIN;
}

static int pg_shared_seed(struct relay_storage *s, uint64_t *seed)
{
    struct pg_storage *q = impl(s);
    int err = ready(q);
    if (err < 0)
        return err;
    PGresult *res = one_row(q, "SELECT seed FROM relay_settings", &err);
    if (!res)
        return err;
    *seed = (uint64_t)int_val(res, 0, 0);
    PQclear(res);
    return 0;
}

/* One notification: "i id,id,..." or "r id". */
static void dispatch(const char *payload, void (*wake)(void *ctx, int kind, const char *device_id),
                     void *ctx)
{
    int kind = payload[0] == 'i' ? RELAY_EVENT_INBOX : payload[0] == 'r' ? RELAY_EVENT_RECEIPTS : 0;
    if (!kind || payload[1] != ' ')
        return;
    const char *p = payload + 2;
    if (*p == '{')
        p++;
    while (*p && *p != '}') {
        size_t n = strcspn(p, ",}");
        if (n == RELAY_ID_LEN) {
            char id[RELAY_ID_LEN + 1];
            memcpy(id, p, n);
            id[n] = '\0';
            wake(ctx, kind, id);
        }
        p += n;
        if (*p == ',')
            p++;
    }
}

static int pg_listen(struct relay_storage *s, int stop_fd,
                     void (*wake)(void *ctx, int kind, const char *device_id), void *ctx)
{
    struct pg_storage *q = impl(s);
    int listening = 0;
    for (;;) {
        if (!listening || q->lost || PQstatus(q->conn) != CONNECTION_OK) {
            listening = 0;
            if (ready(q) == 0 && simple(q, "LISTEN " CHANNEL) == 0) {
                listening = 1;
                /* Whatever was sent while we were away is lost: every long
                 * poll looks again. */
                wake(ctx, RELAY_EVENT_ALL, NULL);
            }
        }
        struct pollfd fds[2] = {{stop_fd, POLLIN, 0}, {PQsocket(q->conn), POLLIN, 0}};
        int nfds = listening && fds[1].fd >= 0 ? 2 : 1;
        int n = poll(fds, (nfds_t)nfds, listening ? -1 : 500);
        if (n < 0 && errno != EINTR)
            return -errno;
        if (fds[0].revents)
            return 0;
        if (nfds == 2 && fds[1].revents) {
            if (!PQconsumeInput(q->conn)) {
                q->lost = 1;
                continue;
            }
            PGnotify *nt;
            while ((nt = PQnotifies(q->conn)) != NULL) {
                dispatch(nt->extra, wake, ctx);
                PQfreemem(nt);
            }
        }
    }
}

/* ---- end-to-end: pairings and rosters (rare requests: unprepared) ---- */

/* One statement with text parameters (binary where binary_mask says). */
static PGresult *adhoc(struct pg_storage *q, const char *sql, int n, const char *const *vals,
                       const int *lens, unsigned binary_mask, int *err)
{
    int fmts[8] = {0}, lengths[8] = {0};
    for (int i = 0; i < n && i < 8; i++) {
        fmts[i] = (binary_mask >> i) & 1;
        lengths[i] = lens ? lens[i] : 0;
    }
    if ((*err = ready(q)) < 0)
        return NULL;
    PGresult *res = PQexecParams(q->conn, sql, n, NULL, vals, lengths, fmts, 0);
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        *err = failure(q, res);
        PQclear(res);
        return NULL;
    }
    *err = 0;
    return res;
}

static int adhoc_cmd(struct pg_storage *q, const char *sql, int n, const char *const *vals,
                     const int *lens, unsigned binary_mask, long *affected)
{
    int err;
    PGresult *res = adhoc(q, sql, n, vals, lens, binary_mask, &err);
    if (!res)
        return err;
    if (affected)
        *affected = strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return 0;
}

static int pg_pairing_create(struct relay_storage *s, const char *family_id, const char *nameplate,
                             const char *msg_a, int64_t expires, int64_t now, unsigned max_open)
{
    struct pg_storage *q = impl(s);
    char now_s[24], exp_s[24];
    snprintf(now_s, sizeof now_s, "%lld", (long long)now);
    snprintf(exp_s, sizeof exp_s, "%lld", (long long)expires);
    int err = begin(q);
    if (err < 0)
        return err;
    /* An expired pairing frees its nameplate at once. */
    const char *dv[2] = {nameplate, now_s};
    if ((err = adhoc_cmd(q, "DELETE FROM pairings WHERE nameplate = $1 AND expires < $2", 2, dv,
                         NULL, 0, NULL)) < 0)
        goto error_tx;
    /* Counted with the family's row locked: the limit holds across relays. */
    const char *cv[2] = {family_id, now_s};
    PGresult *res = adhoc(q,
                          "SELECT (SELECT count(*) FROM pairings WHERE family_id = $1 AND "
                          "expires >= $2) FROM families WHERE id = $1 FOR UPDATE",
                          2, cv, NULL, 0, &err);
    if (!res)
        goto error_tx;
    int64_t open = PQntuples(res) == 1 ? int_val(res, 0, 0) : 0;
    PQclear(res);
    if (open >= max_open) {
        err = -ENOSPC;
        goto error_tx;
    }
    const char *iv[4] = {nameplate, family_id, exp_s, msg_a};
    if ((err = adhoc_cmd(q,
                         "INSERT INTO pairings(nameplate, family_id, expires, msg_a) "
                         "VALUES ($1, $2, $3, $4)",
                         4, iv, NULL, 0, NULL)) < 0)
        goto error_tx;
    return commit(q);

error_tx:
    rollback(q);
    return err;
}

static int pg_pairing_get(struct relay_storage *s, const char *nameplate, int64_t now,
                          struct relay_pairing *out)
{
    char now_s[24];
    snprintf(now_s, sizeof now_s, "%lld", (long long)now);
    const char *v[2] = {nameplate, now_s};
    int err;
    PGresult *res = adhoc(impl(s),
                          "SELECT family_id, expires, msg_a, encode(claim, 'hex'), msg_b, msg_c "
                          "FROM pairings WHERE nameplate = $1 AND expires >= $2",
                          2, v, NULL, 0, &err);
    if (!res)
        return err;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return -ENOENT;
    }
    memset(out, 0, sizeof *out);
    snprintf(out->nameplate, sizeof out->nameplate, "%s", nameplate);
    copy_val(out->family_id, sizeof out->family_id, res, 0, 0);
    out->expires = int_val(res, 0, 1);
    copy_val(out->msg_a, sizeof out->msg_a, res, 0, 2);
    out->claimed = hash_val(res, 0, 3, out->claim_hash) == 0;
    copy_val(out->msg_b, sizeof out->msg_b, res, 0, 4);
    copy_val(out->msg_c, sizeof out->msg_c, res, 0, 5);
    PQclear(res);
    return 0;
}

static int pg_pairing_set(struct relay_storage *s, const char *nameplate, const char *field,
                          const void *value, size_t len)
{
    struct pg_storage *q = impl(s);
    int claim = strcmp(field, "claim") == 0;
    const char *sql = claim
                          ? "UPDATE pairings SET claim = $2 WHERE nameplate = $1 AND claim IS NULL"
                      : strcmp(field, "msg_b") == 0
                          ? "UPDATE pairings SET msg_b = $2 WHERE nameplate = $1 AND msg_b IS NULL"
                          : "UPDATE pairings SET msg_c = $2 WHERE nameplate = $1 AND msg_c IS NULL"
                            " AND msg_b IS NOT NULL";
    char *text = NULL;
    if (!claim) { /* base64 text, not NUL-terminated as given */
        if (!(text = malloc(len + 1)))
            return -ENOMEM;
        memcpy(text, value, len);
        text[len] = '\0';
    }
    const char *v[2] = {nameplate, claim ? (const char *)value : text};
    int lens[2] = {0, (int)len};
    long changed = 0;
    int err = adhoc_cmd(q, sql, 2, v, lens, claim ? 2u : 0u, &changed);
    free(text);
    if (err < 0)
        return err;
    note_unflushed(q);
    return changed ? 0 : -EEXIST;
}

static int roster_read(struct pg_storage *q, const char *family_id, void **data, size_t *len)
{
    const char *v[1] = {family_id};
    int err;
    PGresult *res = adhoc(q, "SELECT data FROM rosters WHERE family_id = $1", 1, v, NULL, 0, &err);
    if (!res)
        return err;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return -ENOENT;
    }
    size_t n = 0;
    unsigned char *bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 0), &n);
    PQclear(res);
    if (!bytes)
        return -ENOMEM;
    *data = malloc(n ? n : 1);
    if (*data)
        memcpy(*data, bytes, n);
    PQfreemem(bytes);
    if (!*data)
        return -ENOMEM;
    *len = n;
    return 0;
}

static int pg_roster_get(struct relay_storage *s, const char *family_id, void **data, size_t *len)
{
    return roster_read(impl(s), family_id, data, len);
}

static int pg_roster_read_locked(struct relay_storage *s, const char *family_id, void **data,
                                 size_t *len)
{
    struct pg_storage *q = impl(s);
    /* The family's row lock orders two relays replacing the roster at once:
     * the second sees the first's roster and its expectation fails. */
    const char *fv[1] = {family_id};
    int err = adhoc_cmd(q, "SELECT 1 FROM families WHERE id = $1 FOR UPDATE", 1, fv, NULL, 0, NULL);
    if (err < 0)
        return err;
    return roster_read(q, family_id, data, len);
}

static int pg_roster_write(struct relay_storage *s, const char *family_id, const void *data,
                           size_t len)
{
    const char *v[2] = {family_id, data};
    int lens[2] = {0, (int)len};
    return adhoc_cmd(impl(s),
                     "INSERT INTO rosters(family_id, data) VALUES ($1, $2) "
                     "ON CONFLICT (family_id) DO UPDATE SET data = EXCLUDED.data",
                     2, v, lens, 2u, NULL);
}

static int pg_begin(struct relay_storage *s)
{
    return begin(impl(s));
}

static int pg_commit(struct relay_storage *s)
{
    return commit(impl(s));
}

static void pg_rollback(struct relay_storage *s)
{
    rollback(impl(s));
}

static const struct relay_storage_steps pg_steps = {
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .upload_fetch = pg_upload_fetch,
    .upload_append = pg_upload_append,
    .upload_drop = pg_upload_drop,
    .roster_read = pg_roster_read_locked,
    .roster_write = pg_roster_write,
};

static const struct relay_storage_ops pg_ops = {
    .close = pg_close,
    .make_durable = pg_make_durable,
    .checkpoint = pg_checkpoint,
    .family_create = pg_family_create,
    .invite_create = pg_invite_create,
    .join = pg_join,
    .device_by_token = pg_device_by_token,
    .device_revoke = pg_device_revoke,
    .members = pg_members,
    .is_member = pg_is_member,
    .family_usage = pg_family_usage,
    .relay_usage = pg_relay_usage,
    .mailbox_pending = pg_mailbox_pending,
    .upload_create = pg_upload_create,
    .upload_get = pg_upload_get,
    .upload_by_message = pg_upload_by_message,
    .upload_write = relay_storage_upload_write,
    .upload_delete = pg_upload_delete,
    .message_get = pg_message_get,
    .is_recipient = pg_is_recipient,
    .message_read = pg_message_read,
    .inbox = pg_inbox,
    .receipt_add = pg_receipt_add,
    .receipts = pg_receipts,
    .cleanup = pg_cleanup,
    .pairing_create = pg_pairing_create,
    .pairing_get = pg_pairing_get,
    .pairing_set = pg_pairing_set,
    .roster_get = pg_roster_get,
    .roster_put = relay_storage_roster_put,
    .ping = pg_ping,
    .limit_take = pg_limit_take,
    .shared_seed = pg_shared_seed,
    .listen = pg_listen,
};

/* The schema's version: 0 for an empty database. */
static int schema_version(struct pg_storage *q, int *version)
{
    PGresult *res = PQexec(q->conn, "SELECT max(version) FROM schema_version");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        int missing = state && strcmp(state, "42P01") == 0; /* undefined_table */
        PQclear(res);
        if (!missing)
            return failure(q, NULL);
        *version = 0;
        return 0;
    }
    *version = PQgetisnull(res, 0, 0) ? 0 : (int)int_val(res, 0, 0);
    PQclear(res);
    return 0;
}

static int migrate(struct pg_storage *q, int *version)
{
    int err = simple(q, "BEGIN");
    if (err < 0)
        return err;
    /* Relays started at once wait here for the first to finish. */
    if ((err = simple(q, "SELECT pg_advisory_xact_lock(7, 1)")) < 0 ||
        (err = simple(q, "CREATE TABLE IF NOT EXISTS schema_version(version integer PRIMARY KEY,"
                         " applied timestamptz NOT NULL DEFAULT now())")) < 0 ||
        (err = schema_version(q, version)) < 0)
        goto error_tx;
    if (*version > SCHEMA_VERSION) {
        relay_log("the database has schema version %d, newer than this relay's %d", *version,
                  SCHEMA_VERSION);
        err = -EPROTO;
        goto error_tx;
    }
    for (int v = *version; v < SCHEMA_VERSION; v++) {
        char record[96];
        snprintf(record, sizeof record, "INSERT INTO schema_version(version) VALUES (%d)", v + 1);
        if ((err = simple(q, migrations[v])) < 0 || (err = simple(q, record)) < 0)
            goto error_tx;
        relay_log("database schema migrated to version %d", v + 1);
    }
    *version = SCHEMA_VERSION;
    return simple(q, "COMMIT");

error_tx:
    simple(q, "ROLLBACK");
    return err;
}

int relay_storage_pg_open(const char *conninfo, int flags, struct relay_storage **out)
{
    int err = -ENOMEM;
    struct pg_storage *q = calloc(1, sizeof *q);
    if (!q)
        return err;
    q->base.ops = &pg_ops;
    q->base.steps = &pg_steps;
    pthread_mutex_init(&q->durable_lock, NULL);
    if (!(q->conninfo = strdup(conninfo)))
        goto error_q;
    q->conn = PQconnectdb(conninfo);
    if (PQstatus(q->conn) != CONNECTION_OK) {
        relay_log("storage: %.*s", (int)strcspn(PQerrorMessage(q->conn), "\n"),
                  PQerrorMessage(q->conn));
        err = -ENOTCONN;
        goto error_conn;
    }
    q->durable = (flags & RELAY_OPEN_DURABLE) != 0;
    if ((err = session_setup(q)) < 0)
        goto error_conn;
    int version = 0;
    if (flags & RELAY_OPEN_MIGRATE)
        err = migrate(q, &version);
    else
        err = schema_version(q, &version);
    if (err < 0)
        goto error_conn;
    if (version != SCHEMA_VERSION) { /* the program says so: -EPROTO */
        err = -EPROTO;
        goto error_conn;
    }
    *out = &q->base;
    return 0;

error_conn:
    PQfinish(q->conn);
    free(q->conninfo);
error_q:
    pthread_mutex_destroy(&q->durable_lock);
    free(q);
    return err;
}

int relay_storage_pg_version(void)
{
    return SCHEMA_VERSION;
}
