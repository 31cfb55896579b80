/*
 * Why audio is stored as chunk rows: appends a 10-minute recording's pages
 * (2400 bytes every 800 ms, 24 kbit/s), one transaction per page as a
 * recording commits, in three layouts on the real SQLite (WAL,
 * synchronous=FULL), and prints the time each takes.
 *   rows:   one row per page (what the store does)
 *   concat: one blob per message, UPDATE data = data || page
 *   prealloc: zeroblob of the largest note, then incremental blob writes
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define PAGES      750
#define PAGE_BYTES 2400
#define MAX_NOTE   (600 * 64000 / 8)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static sqlite3 *open_db(const char *dir, const char *name)
{
    char path[512];
    sqlite3 *db;
    snprintf(path, sizeof(path), "%s/%s.db", dir, name);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        exit(1);
    sqlite3_exec(
        db,
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 0;"
        "CREATE TABLE rows (m INTEGER, at INTEGER, data BLOB, PRIMARY KEY (m, at)) WITHOUT ROWID;"
        "CREATE TABLE blobs (m INTEGER PRIMARY KEY, data BLOB)",
        NULL, NULL, NULL);
    return db;
}

/* WAL frames written so far (the WAL is never checkpointed here). */
static double frames(const char *dir, const char *name)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s.db-wal", dir, name);
    if (stat(path, &st) < 0)
        return 0;
    return (double)(st.st_size - 32) / (4096 + 24);
}

static void must(int rc, sqlite3 *db)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE) {
        fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
}

int main(void)
{
    char dir[] = "/tmp/jiashu-bench-chunks.XXXXXX";
    unsigned char page[PAGE_BYTES];
    sqlite3_stmt *stmt;
    double t0;

    if (!mkdtemp(dir))
        return 1;
    memset(page, 0x5a, sizeof(page));

    sqlite3 *db = open_db(dir, "rows");
    must(sqlite3_prepare_v2(db, "INSERT INTO rows VALUES (1, ?, ?)", -1, &stmt, NULL), db);
    t0 = now();
    for (int i = 0; i < PAGES; i++) {
        sqlite3_bind_int64(stmt, 1, (sqlite3_int64)i * PAGE_BYTES);
        sqlite3_bind_blob(stmt, 2, page, PAGE_BYTES, SQLITE_STATIC);
        must(sqlite3_step(stmt), db);
        sqlite3_reset(stmt);
    }
    printf("rows:     %7.1f ms for %d page appends, %5.1f WAL frames per append\n",
           (now() - t0) * 1000, PAGES, frames(dir, "rows") / PAGES);
    sqlite3_finalize(stmt);
    sqlite3_close(db);

    db = open_db(dir, "concat");
    must(sqlite3_exec(db, "INSERT INTO blobs VALUES (1, x'')", NULL, NULL, NULL), db);
    must(sqlite3_prepare_v2(db, "UPDATE blobs SET data = data || ? WHERE m = 1", -1, &stmt, NULL),
         db);
    t0 = now();
    for (int i = 0; i < PAGES; i++) {
        sqlite3_bind_blob(stmt, 1, page, PAGE_BYTES, SQLITE_STATIC);
        must(sqlite3_step(stmt), db);
        sqlite3_reset(stmt);
    }
    printf("concat:   %7.1f ms, %5.1f WAL frames per append (rewrites the whole note)\n",
           (now() - t0) * 1000, frames(dir, "concat") / PAGES);
    sqlite3_finalize(stmt);
    sqlite3_close(db);

    db = open_db(dir, "prealloc");
    sqlite3_blob *blob;
    char sql[96];
    snprintf(sql, sizeof(sql), "INSERT INTO blobs VALUES (1, zeroblob(%d))", MAX_NOTE);
    t0 = now();
    must(sqlite3_exec(db, sql, NULL, NULL, NULL), db);
    for (int i = 0; i < PAGES; i++) {
        must(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), db);
        must(sqlite3_blob_open(db, "main", "blobs", "data", 1, 1, &blob), db);
        must(sqlite3_blob_write(blob, page, PAGE_BYTES, i * PAGE_BYTES), db);
        sqlite3_blob_close(blob);
        must(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db);
    }
    printf("prealloc: %7.1f ms, %5.1f WAL frames per append (and %d KB reserved per recording)\n",
           (now() - t0) * 1000, frames(dir, "prealloc") / PAGES, MAX_NOTE / 1024);
    sqlite3_close(db);

    snprintf(sql, sizeof(sql), "rm -rf '%s'", dir);
    return system(sql) == 0 ? 0 : 1;
}
