/*
 * jiashu util-sqlite: what every part that keeps a SQLite database shares
 * (the client's store, the station's registry, the relay's storage). It is
 * a library of its own (jiashu-util-sqlite) so that a part without a
 * database, the codec first, never links SQLite.
 *
 * It knows no schema and no part's error codes: each part hands it a table
 * of its own codes and its own list of migration steps.
 */
#ifndef JIASHU_UTIL_SQLITE_H
#define JIASHU_UTIL_SQLITE_H

#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* What one part answers for each kind of SQLite failure (its JS_ERR_* or
 * -errno codes). */
struct ju_sqlite_codes {
    int disk_full;      /* SQLITE_FULL, or an I/O error with ENOSPC/EDQUOT */
    int read_only;      /* SQLITE_READONLY, or an I/O error with EROFS/EACCES/EPERM */
    int not_a_database; /* SQLITE_NOTADB, SQLITE_CORRUPT, a foreign application_id */
    int too_new;        /* a user_version above the newest this build knows */
    int busy;           /* SQLITE_BUSY, SQLITE_LOCKED */
    int constraint;     /* SQLITE_CONSTRAINT: a UNIQUE, CHECK or foreign key said no */
    int invalid;        /* SQLITE_TOOBIG, SQLITE_RANGE */
    int io;             /* everything else */
};

/* A SQLite result code (plain or extended) and the errno behind it on db
 * (which may be NULL) as the part's code: 0 for SQLITE_OK, SQLITE_ROW and
 * SQLITE_DONE, -ENOMEM for SQLITE_NOMEM. */
int ju_sqlite_error(sqlite3 *db, int rc, const struct ju_sqlite_codes *codes);

/* Runs one statement that returns no rows on db, binding its arguments in
 * order by types: 'i' an int64_t, 't' a text (copied), 'b' a blob as a
 * pointer and a size_t (bound as it is: NULL binds NULL). 0 or the part's
 * code. The one prepare/bind/step/finalize ladder of every part. */
int ju_sqlite_run(sqlite3 *db, const struct ju_sqlite_codes *codes, const char *sql,
                  const char *types, ...);
int ju_sqlite_vrun(sqlite3 *db, const struct ju_sqlite_codes *codes, const char *sql,
                   const char *types, va_list ap);

/* Prepared statements kept for the life of a connection, one per entry of
 * a table of SQL texts the caller owns (as do the stmts array, of count
 * entries, zeroed). */
struct ju_sqlite_cache {
    sqlite3 *db;
    const char *const *sql;
    sqlite3_stmt **stmts;
    size_t count;
};

/* The statement for sql[id], prepared on first use, reset and with its
 * bindings cleared; NULL when SQLite refuses to prepare it. */
sqlite3_stmt *ju_sqlite_cache_get(struct ju_sqlite_cache *cache, size_t id);

/* Finalises every statement prepared so far. */
void ju_sqlite_cache_finish(struct ju_sqlite_cache *cache);

/*
 * The one way a schema moves forward. steps[v] takes a database from
 * PRAGMA user_version v to v + 1; count is the version this build writes.
 * A step that has shipped is never edited: the next change is a new step.
 * All steps from the database's version on run in one BEGIN IMMEDIATE
 * transaction together with the new user_version, so a crash leaves the
 * old schema or the new one and two processes opening at once migrate
 * once. With a non-zero application_id, an empty database gets it and a
 * database with another one is refused (codes->not_a_database).
 */
struct ju_sqlite_schema {
    uint32_t application_id;
    const char *const *steps;
    int count;
};

/* Without writing: whether db is empty, or ours and not newer than this
 * build (0, codes->not_a_database or codes->too_new). For a check before
 * anything else touches the file, such as switching it to WAL. */
int ju_sqlite_check_schema(sqlite3 *db, const struct ju_sqlite_schema *schema,
                           const struct ju_sqlite_codes *codes);

/* Brings db to schema->count; 0 or the part's code. */
int ju_sqlite_migrate(sqlite3 *db, const struct ju_sqlite_schema *schema,
                      const struct ju_sqlite_codes *codes);

#endif
