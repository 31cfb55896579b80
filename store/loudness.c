/*
 * Each note's loudness, measured once (when a received note is complete,
 * else at its first playing) and kept with its message, so playback can
 * bring every note to one loudness without decoding it twice.
 */
#include <math.h>

#include "internal.h"

static int bind_loudness(sqlite3_stmt *stmt, const struct jc_loudness *loudness)
{
    if (!isfinite(loudness->integrated_lufs) || !isfinite(loudness->peak_dbfs))
        return JS_ERR_INVALID;
    sqlite3_bind_double(stmt, 1, loudness->integrated_lufs);
    sqlite3_bind_double(stmt, 2, loudness->peak_dbfs);
    return 0;
}

int js_loudness_store_row(js_store *store, int64_t row, const struct jc_loudness *loudness)
{
    sqlite3_stmt *stmt;
    int res = js_prepare(
        store, "UPDATE messages SET loudness_lufs = ?, peak_dbfs = ? WHERE rowid = ?", &stmt);

    if (res < 0)
        return res;
    res = bind_loudness(stmt, loudness);
    sqlite3_bind_int64(stmt, 3, row);
    if (res == 0)
        res = js_sqlite_error(store, sqlite3_step(stmt));
    sqlite3_finalize(stmt);
    return res;
}

int js_message_set_loudness(js_store *store, const char *id, const struct jc_loudness *loudness)
{
    sqlite3_stmt *stmt;
    int res;

    if (!id || !loudness)
        return JS_ERR_INVALID;
    /* the same message js_message_load() plays: the outbox first */
    res = js_prepare(store,
                     "UPDATE messages SET loudness_lufs = ?, peak_dbfs = ? WHERE rowid ="
                     " (SELECT rowid FROM messages WHERE id = ? ORDER BY box LIMIT 1)",
                     &stmt);
    if (res < 0)
        return res;
    res = bind_loudness(stmt, loudness);
    sqlite3_bind_text(stmt, 3, id, -1, SQLITE_TRANSIENT);
    if (res == 0)
        res = js_sqlite_error(store, sqlite3_step(stmt));
    sqlite3_finalize(stmt);
    if (res == 0 && sqlite3_changes(store->db) == 0)
        res = JS_ERR_NOT_FOUND;
    return res;
}

int js_message_loudness(js_store *store, const char *id, struct jc_loudness *out)
{
    sqlite3_stmt *stmt;
    int res;

    if (!id || !out)
        return JS_ERR_INVALID;
    res = js_query_row(store, &stmt,
                       "SELECT loudness_lufs, peak_dbfs FROM messages WHERE id = ?"
                       " ORDER BY box LIMIT 1",
                       "t", id);
    if (res < 0)
        return res;
    if (sqlite3_column_type(stmt, 0) != SQLITE_NULL &&
        sqlite3_column_type(stmt, 1) != SQLITE_NULL) {
        out->integrated_lufs = sqlite3_column_double(stmt, 0);
        out->peak_dbfs = sqlite3_column_double(stmt, 1);
        res = 1;
    }
    sqlite3_finalize(stmt);
    return res;
}
