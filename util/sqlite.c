/* SQLite helpers shared by every part with a database (see sqlite.h). */
#include "sqlite.h"

#include <errno.h>
#include <stdio.h>

int ju_sqlite_error(sqlite3 *db, int rc, const struct ju_sqlite_codes *codes)
{
    int sys = db ? sqlite3_system_errno(db) : 0;

    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_FULL:
        return codes->disk_full;
    case SQLITE_READONLY:
        return codes->read_only;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return codes->not_a_database;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return codes->busy;
    case SQLITE_CONSTRAINT:
        return codes->constraint;
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
        return codes->invalid;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
        if (sys == ENOSPC || sys == EDQUOT)
            return codes->disk_full;
        if (sys == EROFS || sys == EACCES || sys == EPERM)
            return codes->read_only;
        return codes->io;
    }
    return codes->io;
}

int ju_sqlite_vrun(sqlite3 *db, const struct ju_sqlite_codes *codes, const char *sql,
                   const char *types, va_list ap)
{
    sqlite3_stmt *stmt;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return ju_sqlite_error(db, rc, codes);
    for (int i = 0, at = 1; types[i]; i++, at++) {
        if (types[i] == 'i') {
            sqlite3_bind_int64(stmt, at, va_arg(ap, int64_t));
        } else if (types[i] == 't') {
            sqlite3_bind_text(stmt, at, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
        } else {
            const void *blob = va_arg(ap, const void *);
            sqlite3_bind_blob64(stmt, at, blob, va_arg(ap, size_t), SQLITE_STATIC);
        }
    }
    /* mapped before finalize, while the errno behind a failure is the step's */
    int res = ju_sqlite_error(db, sqlite3_step(stmt), codes);
    sqlite3_finalize(stmt);
    return res;
}

int ju_sqlite_run(sqlite3 *db, const struct ju_sqlite_codes *codes, const char *sql,
                  const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    int res = ju_sqlite_vrun(db, codes, sql, types, ap);
    va_end(ap);
    return res;
}

sqlite3_stmt *ju_sqlite_cache_get(struct ju_sqlite_cache *cache, size_t id)
{
    sqlite3_stmt **stmt = &cache->stmts[id];
    if (!*stmt) {
        if (sqlite3_prepare_v3(cache->db, cache->sql[id], -1, SQLITE_PREPARE_PERSISTENT, stmt,
                               NULL) != SQLITE_OK)
            return NULL;
    }
    sqlite3_reset(*stmt);
    sqlite3_clear_bindings(*stmt);
    return *stmt;
}

void ju_sqlite_cache_finish(struct ju_sqlite_cache *cache)
{
    for (size_t i = 0; i < cache->count; i++) {
        sqlite3_finalize(cache->stmts[i]);
        cache->stmts[i] = NULL;
    }
}

static int query_int(sqlite3 *db, const char *sql, int64_t *value,
                     const struct ju_sqlite_codes *codes)
{
    sqlite3_stmt *stmt;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return ju_sqlite_error(db, rc, codes);
    int res = 0;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *value = sqlite3_column_int64(stmt, 0);
    else
        res = rc == SQLITE_DONE ? codes->not_a_database : ju_sqlite_error(db, rc, codes);
    sqlite3_finalize(stmt);
    return res;
}

static int exec(sqlite3 *db, const char *sql, const struct ju_sqlite_codes *codes)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : ju_sqlite_error(db, rc, codes);
}

/* 1 when db is empty (may be made ours), 0 when it is ours at a version
 * this build can open, or the part's code. */
static int identify(sqlite3 *db, const struct ju_sqlite_schema *schema,
                    const struct ju_sqlite_codes *codes, int64_t *version)
{
    int64_t app_id = 0, tables = 0;
    int res;

    if ((res = query_int(db, "PRAGMA user_version", version, codes)) < 0 ||
        (res = query_int(db, "PRAGMA application_id", &app_id, codes)) < 0 ||
        (res = query_int(db, "SELECT count(*) FROM sqlite_master", &tables, codes)) < 0)
        return res;
    if (*version == 0 && app_id == 0 && tables == 0)
        return 1;
    if (schema->application_id && app_id != (int64_t)schema->application_id)
        return codes->not_a_database;
    if (*version > schema->count)
        return codes->too_new;
    return 0;
}

int ju_sqlite_check_schema(sqlite3 *db, const struct ju_sqlite_schema *schema,
                           const struct ju_sqlite_codes *codes)
{
    int64_t version;
    int res = identify(db, schema, codes, &version);
    return res < 0 ? res : 0;
}

int ju_sqlite_migrate(sqlite3 *db, const struct ju_sqlite_schema *schema,
                      const struct ju_sqlite_codes *codes)
{
    int64_t version;
    char sql[64];
    int res = identify(db, schema, codes, &version);

    if (res < 0)
        return res;
    if (res == 0 && version == schema->count)
        return 0;
    if ((res = exec(db, "BEGIN IMMEDIATE", codes)) < 0)
        return res;
    /* Again under the write lock: another process may have migrated. */
    res = identify(db, schema, codes, &version);
    if (res < 0)
        goto error_tx;
    if (res == 1 && schema->application_id) {
        snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", (int)schema->application_id);
        if ((res = exec(db, sql, codes)) < 0)
            goto error_tx;
    }
    for (int64_t v = version; v < schema->count; v++)
        if ((res = exec(db, schema->steps[v], codes)) < 0)
            goto error_tx;
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", schema->count);
    if ((res = exec(db, sql, codes)) < 0)
        goto error_tx;
    if ((res = exec(db, "COMMIT", codes)) < 0)
        goto error_tx;
    return 0;

error_tx:
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return res;
}
