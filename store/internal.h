/*
 * What the store's own files share; nothing here leaves store/.
 */
#ifndef JIASHU_STORE_INTERNAL_H
#define JIASHU_STORE_INTERNAL_H

#include <sqlite3.h>

#include "util/sqlite.h"
#include "util/util.h"

#include "store.h"

struct js_store {
    sqlite3 *db;
    char *home;
    int recovered;
};

/* Turns a SQLite result (and the errno behind it) into a JS_ERR_* / -errno. */
int js_sqlite_error(js_store *store, int rc);

/* Tells a watching sync that there is work (store.h, JS_WAKE_FILE). A
 * failure is ignored: the sync's long poll still ends in time. */
void js_wake_sync(js_store *store);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK; 0 or a store code. */
int js_begin(js_store *store);
int js_commit(js_store *store);
void js_rollback(js_store *store);
/* Ends the transaction js_begin started: commits when res is not an error
 * (and returns res, or the commit's error), rolls back otherwise. Each
 * state change reads and writes inside one BEGIN IMMEDIATE, because the
 * sync, the player and the station share one store from several
 * processes: a row checked outside it may have moved before the write. */
int js_finish(js_store *store, int res);

/* Prepares sql; 0 or a store code. */
int js_prepare(js_store *store, const char *sql, sqlite3_stmt **stmt);

/* Runs one statement that returns no rows, binding its arguments in order
 * by types: 'i' an int64_t, 't' a text (copied), 'b' a blob as a pointer
 * and a size_t (bound as it is: NULL binds NULL). 0 or a store code. */
int js_run(js_store *store, const char *sql, const char *types, ...);

/* Prepares sql, binds its arguments as js_run does and steps to its first
 * row: 0 with *stmt on it (the caller reads it and finalizes it), or
 * JS_ERR_NOT_FOUND when there is none or a store code, with nothing left to
 * finalize. */
int js_query_row(js_store *store, sqlite3_stmt **stmt, const char *sql, const char *types, ...);

/* Steps to the message of box (of either with box < 0, the outbox first)
 * whose id is id, selecting columns: 0 with *stmt on its row (the caller
 * finalizes it), or JS_ERR_NOT_FOUND or a store code with nothing left to
 * finalize. */
int js_message_find(js_store *store, int box, const char *columns, const char *id,
                    sqlite3_stmt **stmt);

/* The message's row (rowid) in box by id, and its state; JS_ERR_NOT_FOUND. */
int js_message_row(js_store *store, int box, const char *id, int64_t *row, enum js_state *state);

/* Opens the BEGIN IMMEDIATE of a state change and finds its message there
 * (store.h's js_message, and its row) by box and id, in one of the states
 * of the mask states: 0 inside the transaction, which the caller ends with
 * js_finish(); or JS_ERR_NOT_FOUND, JS_ERR_STATE or a store code with none
 * open. */
int js_begin_change(js_store *store, int box, const char *id, unsigned states, struct js_message *m,
                    int64_t *row);

/* Keeps a note's loudness with its row, inside the caller's transaction. */
int js_loudness_store_row(js_store *store, int64_t row, const struct jc_loudness *loudness);

/* Loads every stored byte of a message row, in order. *data is malloc()ed. */
int js_chunks_load(js_store *store, int64_t row, unsigned char **data, size_t *len);

/* State names <-> bits. */
enum js_state js_state_parse(const char *name);

/* Hex SHA-256 of data into out (65 bytes). */
int js_sha256_hex(const unsigned char *data, size_t len, char *out);

/* Whether s is a well-formed lower-case UUID. */
int js_uuid_valid(const char *s);

/* Interrupted recordings: finalises those no process is recording into. */
int js_recover_recordings(js_store *store);

/* The lock file path of a recording: home/.recording-ID.lock. */
int js_recording_lock_path(js_store *store, const char *id, char *buf, size_t size);

#endif
