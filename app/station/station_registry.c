/*
 * The station's registry in SQLite. PINs are short, so the hash is slow and
 * memory-hard on purpose (Argon2id through libsodium's crypto_pwhash, the
 * client program's one crypto library) and guessing is slowed further by
 * the limiter, whose state is in the same database so that pulling the plug
 * does not reset it.
 *
 * Registries written before schema step 2 hold PBKDF2-HMAC-SHA256 hashes
 * (salt, hash, iterations). Those are still checked, with PBKDF2 built on
 * libsodium's HMAC-SHA256, and a PIN that matches one is hashed again with
 * Argon2id on the spot: no station is locked out, and each PIN leaves
 * PBKDF2 the first time it is typed.
 */
#include "station_registry.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>
#include <sqlite3.h>

#include "util/sqlite.h"
#include "util/util.h"

#include "store/store.h"

#define SALT_LEN 16
#define HASH_LEN 32
#define TEACHER  0 /* the owner of the teacher's PIN in the pins table */

/* Argon2id's cost for a PIN: OWASP's minimum (19 MiB, two passes). A PIN
 * has few digits, so the limiter does most of the work; the hash must only
 * make an offline guess cost something. libsodium's "interactive" level
 * (64 MiB) took 1.6 s a check on the loaded two-core build machine; these
 * settings took 0.21 to 0.33 s there, against 0.15 to 0.18 s for the PBKDF2
 * at 150000 iterations they replace. */
#define ST_PWHASH_OPSLIMIT 2
#define ST_PWHASH_MEMLIMIT (19u << 20)

struct st_registry {
    sqlite3 *db;
    char *home;
    int64_t delay_base, delay_cap;
};

/* schema_steps[v] takes the registry from user_version v to v + 1
 * (util/sqlite.h); a step that has shipped is never edited. */
static const char *const schema_steps[] = {
    /* 0 -> 1: the first schema. */
    "CREATE TABLE IF NOT EXISTS pins ("
    "  owner INTEGER PRIMARY KEY," /* 0 the teacher, N family N */
    "  salt BLOB NOT NULL, hash BLOB NOT NULL, iterations INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS families ("
    "  number INTEGER PRIMARY KEY CHECK (number > 0),"
    "  added INTEGER NOT NULL, last_sync INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value);",
    /* 1 -> 2: Argon2id hashes in libsodium's string form (which carries
     * the salt and the cost); NULL in a row still holding PBKDF2. */
    "ALTER TABLE pins ADD COLUMN pwhash TEXT;",
};

static const struct ju_sqlite_schema registry_schema = {
    .steps = schema_steps,
    .count = sizeof(schema_steps) / sizeof(schema_steps[0]),
};

/* The registry speaks -errno, and the store's words for a file that is not
 * ours or is from a newer version. */
static const struct ju_sqlite_codes registry_codes = {
    .disk_full = -ENOSPC,
    .read_only = -EROFS,
    .not_a_database = JS_ERR_NOT_A_DATABASE,
    .too_new = JS_ERR_TOO_NEW,
    .busy = -EBUSY,
    .constraint = -EEXIST,
    .invalid = -EINVAL,
    .io = -EIO,
};

static int sql_error(sqlite3 *db, int rc)
{
    return ju_sqlite_error(db, rc, &registry_codes);
}

/* One statement that returns no rows (util/sqlite.h, ju_sqlite_run). */
static int run(st_registry *reg, const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    int res = ju_sqlite_vrun(reg->db, &registry_codes, sql, types, ap);
    va_end(ap);
    return res;
}

bool st_registry_exists(const char *station_home)
{
    char path[PATH_MAX];
    struct stat st;

    if (snprintf(path, sizeof(path), "%s/" ST_REGISTRY_FILE, station_home) >= (int)sizeof(path))
        return false;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int st_registry_create(const char *station_home, bool create, st_registry **out)
{
    char path[PATH_MAX];
    st_registry *reg;
    int rc, res;

    if (snprintf(path, sizeof(path), "%s/families", station_home) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    if (create) {
        if (mkdir(station_home, 0700) < 0 && errno != EEXIST)
            return -errno;
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
            return -errno;
    }
    snprintf(path, sizeof(path), "%s/" ST_REGISTRY_FILE, station_home);
    if (!create && !st_registry_exists(station_home))
        return -ENOENT;

    reg = calloc(1, sizeof(*reg));
    if (!reg)
        return -ENOMEM;
    if (sodium_init() < 0)
        return -ENOMEM;
    reg->delay_base = ST_DEFAULT_DELAY_MS;
    reg->delay_cap = ST_DEFAULT_DELAY_CAP;
    reg->home = strdup(station_home);
    if (!reg->home) {
        res = -ENOMEM;
        goto error_reg;
    }
    rc = sqlite3_open_v2(path, &reg->db, SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0),
                         NULL);
    if (rc != SQLITE_OK) {
        res = sql_error(reg->db, rc);
        goto error_db;
    }
    chmod(path, 0600);
    sqlite3_busy_timeout(reg->db, 5000);
    if ((res = ju_sqlite_check_schema(reg->db, &registry_schema, &registry_codes)) < 0)
        goto error_db;
    sqlite3_exec(reg->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, NULL);
    if ((res = ju_sqlite_migrate(reg->db, &registry_schema, &registry_codes)) < 0)
        goto error_db;
    *out = reg;
    return 0;

error_db:
    sqlite3_close(reg->db);
    free(reg->home);
error_reg:
    free(reg);
    return res;
}

void st_registry_destroy(st_registry *reg)
{
    if (!reg)
        return;
    sqlite3_close(reg->db);
    free(reg->home);
    free(reg);
}

void st_registry_set_delays(st_registry *reg, int64_t base_ms, int64_t cap_ms)
{
    reg->delay_base = base_ms >= 0 ? base_ms : ST_DEFAULT_DELAY_MS;
    reg->delay_cap = cap_ms >= reg->delay_base ? cap_ms : reg->delay_base;
}

const char *st_registry_home(const st_registry *reg)
{
    return reg->home;
}

/* ---- settings ------------------------------------------------------------ */

static int get_int(st_registry *reg, const char *key, int64_t *value)
{
    sqlite3_stmt *stmt;
    int rc =
        sqlite3_prepare_v2(reg->db, "SELECT value FROM settings WHERE key = ?", -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return sql_error(reg->db, rc);
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : sql_error(reg->db, rc);
}

static int set_int(st_registry *reg, const char *key, int64_t value)
{
    return run(reg, "INSERT OR REPLACE INTO settings VALUES (?, ?)", "ti", key, value);
}

int st_registry_get_text(st_registry *reg, const char *key, char *buf, size_t size)
{
    sqlite3_stmt *stmt;
    const unsigned char *text;
    int rc, res;

    rc = sqlite3_prepare_v2(reg->db, "SELECT value FROM settings WHERE key = ?", -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return sql_error(reg->db, rc);
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW && (text = sqlite3_column_text(stmt, 0)) != NULL) {
        res = snprintf(buf, size, "%s", (const char *)text) >= (int)size ? -ENAMETOOLONG : 0;
    } else {
        res = rc == SQLITE_ROW || rc == SQLITE_DONE ? -ENOENT : sql_error(reg->db, rc);
    }
    sqlite3_finalize(stmt);
    return res;
}

int st_registry_set_text(st_registry *reg, const char *key, const char *value)
{
    return run(reg, "INSERT OR REPLACE INTO settings VALUES (?, ?)", "tt", key, value);
}

int st_registry_get_settings(st_registry *reg, struct st_settings *settings)
{
    int64_t v;
    int res;

    memset(settings, 0, sizeof(*settings));
    if ((res = get_int(reg, "quiet_start", &v)) == 0)
        settings->quiet_start = (int)(v % 1440);
    else if (res != -ENOENT)
        return res;
    if ((res = get_int(reg, "quiet_end", &v)) == 0)
        settings->quiet_end = (int)(v % 1440);
    else if (res != -ENOENT)
        return res;
    if ((res = get_int(reg, "quota_mb", &v)) == 0)
        settings->quota_mb = v > 0 ? v : 0;
    else if (res != -ENOENT)
        return res;
    /* Spoken prompts are on unless the teacher turned them off. */
    settings->voice = ST_VOICE_NORMAL;
    if ((res = get_int(reg, "voice", &v)) == 0)
        settings->voice = v >= ST_VOICE_OFF && v <= ST_VOICE_FAST ? (int)v : ST_VOICE_NORMAL;
    else if (res != -ENOENT)
        return res;
    return 0;
}

int st_registry_set_settings(st_registry *reg, const struct st_settings *settings)
{
    int res;

    if (settings->quiet_start < 0 || settings->quiet_start >= 1440 || settings->quiet_end < 0 ||
        settings->quiet_end >= 1440 || settings->quota_mb < 0 || settings->quota_mb > 10000000 ||
        settings->voice < ST_VOICE_OFF || settings->voice > ST_VOICE_FAST)
        return -EINVAL;
    sqlite3_exec(reg->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if ((res = set_int(reg, "quiet_start", settings->quiet_start)) < 0 ||
        (res = set_int(reg, "quiet_end", settings->quiet_end)) < 0 ||
        (res = set_int(reg, "quota_mb", settings->quota_mb)) < 0 ||
        (res = set_int(reg, "voice", settings->voice)) < 0) {
        sqlite3_exec(reg->db, "ROLLBACK", NULL, NULL, NULL);
        return res;
    }
    sqlite3_exec(reg->db, "COMMIT", NULL, NULL, NULL);
    return 0;
}

bool st_quiet_now(const struct st_settings *settings, int minute_of_day)
{
    int s = settings->quiet_start, e = settings->quiet_end;

    if (s == e)
        return false;
    if (s < e)
        return minute_of_day >= s && minute_of_day < e;
    return minute_of_day >= s || minute_of_day < e;
}

/* ---- PINs ------------------------------------------------------------------ */

static bool pin_valid(const char *pin)
{
    size_t len = strlen(pin);

    if (len < ST_PIN_MIN || len > ST_PIN_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (pin[i] < '0' || pin[i] > '9')
            return false;
    return true;
}

/* PBKDF2-HMAC-SHA256 (RFC 8018) with one 32-byte block, for the hashes
 * written before Argon2id. The keyed HMAC state is computed once and copied
 * for each iteration, as OpenSSL does, so a check costs what it used to. */
static void pbkdf2_sha256(const char *pin, const unsigned char *salt, int iterations,
                          unsigned char out[HASH_LEN])
{
    crypto_auth_hmacsha256_state keyed, st;
    unsigned char u[HASH_LEN];
    static const unsigned char block_one[4] = {0, 0, 0, 1};

    crypto_auth_hmacsha256_init(&keyed, (const unsigned char *)pin, strlen(pin));
    st = keyed;
    crypto_auth_hmacsha256_update(&st, salt, SALT_LEN);
    crypto_auth_hmacsha256_update(&st, block_one, sizeof(block_one));
    crypto_auth_hmacsha256_final(&st, u);
    memcpy(out, u, HASH_LEN);
    for (int i = 1; i < iterations; i++) {
        st = keyed;
        crypto_auth_hmacsha256_update(&st, u, sizeof(u));
        crypto_auth_hmacsha256_final(&st, u);
        for (int j = 0; j < HASH_LEN; j++)
            out[j] ^= u[j];
    }
    sodium_memzero(&keyed, sizeof(keyed));
    sodium_memzero(&st, sizeof(st));
    sodium_memzero(u, sizeof(u));
}

static int store_pin(st_registry *reg, int64_t owner, const char *pin)
{
    char pwhash[crypto_pwhash_STRBYTES];

    if (!pin_valid(pin))
        return -EINVAL;
    if (crypto_pwhash_str(pwhash, pin, strlen(pin), ST_PWHASH_OPSLIMIT, ST_PWHASH_MEMLIMIT) != 0)
        return -ENOMEM;
    return run(reg,
               "INSERT OR REPLACE INTO pins (owner, salt, hash, iterations, pwhash)"
               " VALUES (?, x'', x'', 0, ?)",
               "it", owner, pwhash);
}

int st_registry_set_teacher_pin(st_registry *reg, const char *pin)
{
    return store_pin(reg, TEACHER, pin);
}

/* 1 if the PIN matches owner's hash, 0 if not or if owner has none. An
 * unknown owner still costs one full derivation, so timing tells nothing.
 * A match against a PBKDF2 hash rewrites it as Argon2id. */
static int pin_matches(st_registry *reg, int64_t owner, const char *pin)
{
    unsigned char salt[SALT_LEN] = {0}, want[HASH_LEN] = {0}, got[HASH_LEN];
    char pwhash[crypto_pwhash_STRBYTES] = "";
    int iterations = ST_PBKDF2_ITERATIONS, found = 0, rc, res;
    sqlite3_stmt *stmt;
    const unsigned char *text;

    rc = sqlite3_prepare_v2(reg->db,
                            "SELECT salt, hash, iterations, pwhash FROM pins WHERE owner = ? AND "
                            "(owner = 0 OR owner IN (SELECT number FROM families))",
                            -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return sql_error(reg->db, rc);
    sqlite3_bind_int64(stmt, 1, owner);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW && (text = sqlite3_column_text(stmt, 3)) != NULL) {
        /* Only our own cost: a hostile file must not make one check take
         * hours or gigabytes. */
        if (snprintf(pwhash, sizeof(pwhash), "%s", (const char *)text) < (int)sizeof(pwhash) &&
            crypto_pwhash_str_needs_rehash(pwhash, ST_PWHASH_OPSLIMIT, ST_PWHASH_MEMLIMIT) == 0)
            found = 2;
    } else if (rc == SQLITE_ROW && sqlite3_column_bytes(stmt, 0) == SALT_LEN &&
               sqlite3_column_bytes(stmt, 1) == HASH_LEN) {
        int it = sqlite3_column_int(stmt, 2);
        memcpy(salt, sqlite3_column_blob(stmt, 0), SALT_LEN);
        memcpy(want, sqlite3_column_blob(stmt, 1), HASH_LEN);
        /* A hostile file must not make one check take hours. */
        if (it >= 1000 && it <= 10 * ST_PBKDF2_ITERATIONS) {
            iterations = it;
            found = 1;
        }
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sqlite3_finalize(stmt);
        return sql_error(reg->db, rc);
    }
    sqlite3_finalize(stmt);
    if (found == 2) {
        res = pin_valid(pin) && crypto_pwhash_str_verify(pwhash, pin, strlen(pin)) == 0;
    } else if (found == 1) {
        pbkdf2_sha256(pin_valid(pin) ? pin : "0000", salt, iterations, got);
        res = pin_valid(pin) && sodium_memcmp(got, want, HASH_LEN) == 0;
        if (res && (rc = store_pin(reg, owner, pin)) < 0)
            res = rc;
    } else {
        /* Nobody's: spend what a check costs. */
        static const unsigned char no_salt[crypto_pwhash_SALTBYTES];
        if (crypto_pwhash(got, sizeof(got), "0000", 4, no_salt, ST_PWHASH_OPSLIMIT,
                          ST_PWHASH_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0)
            return -ENOMEM;
        res = 0;
    }
    sodium_memzero(got, sizeof(got));
    sodium_memzero(want, sizeof(want));
    return res;
}

static int64_t delay_for(const st_registry *reg, int64_t failures)
{
    int64_t d = reg->delay_base;

    for (int64_t i = 1; i < failures && d < reg->delay_cap; i++)
        d *= 2;
    return d < reg->delay_cap ? d : reg->delay_cap;
}

static int check(st_registry *reg, int64_t owner, const char *pin, int64_t *wait_ms)
{
    int64_t failures = 0, until = 0, now = ju_wall_ms();
    int res, match;

    *wait_ms = 0;
    if ((res = get_int(reg, "pin_locked_until", &until)) < 0 && res != -ENOENT)
        return res;
    /* A clock set back must not lock the station for ever: never wait more than the cap. */
    if (until > now + reg->delay_cap)
        until = now + reg->delay_cap;
    if (until > now) {
        *wait_ms = until - now;
        return ST_LOGIN_LOCKED;
    }
    match = pin_matches(reg, owner, pin);
    if (match < 0)
        return match;
    if ((res = get_int(reg, "pin_failures", &failures)) < 0 && res != -ENOENT)
        return res;
    if (match) {
        if (failures && (res = set_int(reg, "pin_failures", 0)) < 0)
            return res;
        return 0;
    }
    failures++;
    *wait_ms = delay_for(reg, failures);
    sqlite3_exec(reg->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    /* Counted from the end of the check: a slow device's long hash must not
     * eat into the wait. */
    if ((res = set_int(reg, "pin_failures", failures)) < 0 ||
        (res = set_int(reg, "pin_locked_until", ju_wall_ms() + *wait_ms)) < 0) {
        sqlite3_exec(reg->db, "ROLLBACK", NULL, NULL, NULL);
        return res;
    }
    sqlite3_exec(reg->db, "COMMIT", NULL, NULL, NULL);
    return ST_LOGIN_REFUSED;
}

int st_registry_check_teacher(st_registry *reg, const char *pin, int64_t *wait_ms)
{
    return check(reg, TEACHER, pin, wait_ms);
}

int st_registry_check_family(st_registry *reg, unsigned number, const char *pin, int64_t *wait_ms)
{
    /* Family 0 is nobody's (it is the teacher's slot): refused like any unknown number. */
    return check(reg, number ? (int64_t)number : -1, pin, wait_ms);
}

/* ---- families -------------------------------------------------------------- */

int st_registry_family_home(const st_registry *reg, unsigned number, char *buf, size_t size)
{
    if (snprintf(buf, size, "%s/families/%u", reg->home, number) >= (int)size)
        return -ENAMETOOLONG;
    return 0;
}

int st_registry_add_family(st_registry *reg, const char *pin, unsigned *number)
{
    char home[PATH_MAX];
    sqlite3_stmt *stmt;
    int64_t next = 1;
    int rc, res;

    if (!pin_valid(pin))
        return -EINVAL;
    rc = sqlite3_exec(reg->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return sql_error(reg->db, rc);
    rc = sqlite3_prepare_v2(reg->db, "SELECT COALESCE(MAX(number), 0) + 1 FROM families", -1, &stmt,
                            NULL);
    if (rc != SQLITE_OK) {
        res = sql_error(reg->db, rc);
        goto error_tx;
    }
    if (sqlite3_step(stmt) == SQLITE_ROW)
        next = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    if (next > ST_FAMILIES_MAX) {
        res = -ENOSPC;
        goto error_tx;
    }
    res = run(reg, "INSERT INTO families (number, added) VALUES (?, ?)", "ii", next,
              (int64_t)(ju_wall_ms() / 1000));
    if (res < 0)
        goto error_tx;
    if ((res = store_pin(reg, next, pin)) < 0)
        goto error_tx;
    if ((res = st_registry_family_home(reg, (unsigned)next, home, sizeof(home))) < 0)
        goto error_tx;
    if (mkdir(home, 0700) < 0 && errno != EEXIST) {
        res = -errno;
        goto error_tx;
    }
    rc = sqlite3_exec(reg->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        res = sql_error(reg->db, rc);
        goto error_tx;
    }
    *number = (unsigned)next;
    return 0;

error_tx:
    sqlite3_exec(reg->db, "ROLLBACK", NULL, NULL, NULL);
    return res;
}

int st_registry_remove_family(st_registry *reg, unsigned number)
{
    int res, changes;

    if (!number)
        return -ENOENT;
    sqlite3_exec(reg->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    res = run(reg, "DELETE FROM families WHERE number = ?", "i", (int64_t)number);
    if (res < 0)
        goto error_tx;
    changes = sqlite3_changes(reg->db);
    res = run(reg, "DELETE FROM pins WHERE owner = ?", "i", (int64_t)number);
    if (res < 0)
        goto error_tx;
    sqlite3_exec(reg->db, "COMMIT", NULL, NULL, NULL);
    return changes ? 0 : -ENOENT;

error_tx:
    sqlite3_exec(reg->db, "ROLLBACK", NULL, NULL, NULL);
    return res;
}

int st_registry_families(st_registry *reg, unsigned *numbers, int max)
{
    sqlite3_stmt *stmt;
    int rc, n = 0;

    rc = sqlite3_prepare_v2(reg->db, "SELECT number FROM families ORDER BY number LIMIT ?", -1,
                            &stmt, NULL);
    if (rc != SQLITE_OK)
        return sql_error(reg->db, rc);
    sqlite3_bind_int(stmt, 1, max);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && n < max) {
        int64_t v = sqlite3_column_int64(stmt, 0);
        if (v > 0 && v <= ST_FAMILIES_MAX)
            numbers[n++] = (unsigned)v;
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? n : sql_error(reg->db, rc);
}

int st_registry_set_last_sync(st_registry *reg, unsigned number, int64_t when)
{
    return run(reg, "UPDATE families SET last_sync = ? WHERE number = ?", "ii", when,
               (int64_t)number);
}

int64_t st_registry_last_sync(st_registry *reg, unsigned number)
{
    sqlite3_stmt *stmt;
    int64_t when = 0;

    if (sqlite3_prepare_v2(reg->db, "SELECT last_sync FROM families WHERE number = ?", -1, &stmt,
                           NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(stmt, 1, number);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        when = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return when;
}
