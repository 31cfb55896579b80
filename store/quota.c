/*
 * The storage quota. What may go, in order: the audio of played inbox
 * messages and of outbox messages the recipient has played, oldest first.
 * Nothing unplayed, unsent or still recording is ever evicted; the row of
 * an evicted message stays (its history), only its audio goes.
 */
#include <stdlib.h>

#include "internal.h"

int js_store_usage(js_store *store, uint64_t *bytes)
{
    sqlite3_stmt *stmt;
    int res =
        js_prepare(store, "SELECT coalesce(sum(length), 0) FROM messages WHERE evicted = 0", &stmt);
    if (res < 0)
        return res;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *bytes = (uint64_t)sqlite3_column_int64(stmt, 0);
    else
        res = js_sqlite_error(store, rc);
    sqlite3_finalize(stmt);
    return res;
}

int js_store_make_room(js_store *store, uint64_t need)
{
    uint64_t quota = js_store_quota(store), used, freed = 0;
    sqlite3_stmt *pick, *drop_chunks, *mark;
    int res, rc, evicted = 0;

    res = js_begin(store);
    if (res < 0)
        return res;
    res = js_store_usage(store, &used);
    if (res < 0)
        goto error_tx;
    if (need > quota) {
        res = JS_ERR_QUOTA;
        goto error_tx;
    }
    if (used + need <= quota) {
        js_rollback(store);
        return 0;
    }
    res = js_prepare(store,
                     "SELECT rowid, length FROM messages WHERE evicted = 0 AND state = 'played'"
                     " ORDER BY created_ms, rowid",
                     &pick);
    if (res < 0)
        goto error_tx;
    res = js_prepare(store, "DELETE FROM chunks WHERE message = ?", &drop_chunks);
    if (res < 0)
        goto error_pick;
    res = js_prepare(store, "UPDATE messages SET evicted = 1 WHERE rowid = ?", &mark);
    if (res < 0)
        goto error_drop;
    while (used - freed + need > quota && (rc = sqlite3_step(pick)) == SQLITE_ROW) {
        int64_t row = sqlite3_column_int64(pick, 0);
        sqlite3_bind_int64(drop_chunks, 1, row);
        sqlite3_bind_int64(mark, 1, row);
        if ((res = js_sqlite_error(store, sqlite3_step(drop_chunks))) < 0 ||
            (res = js_sqlite_error(store, sqlite3_step(mark))) < 0)
            goto error_mark;
        sqlite3_reset(drop_chunks);
        sqlite3_reset(mark);
        freed += (uint64_t)sqlite3_column_int64(pick, 1);
        evicted++;
    }
    if (used - freed + need > quota) {
        /* Evicting everything allowed would not be enough: evict nothing. */
        res = JS_ERR_QUOTA;
        goto error_mark;
    }
    sqlite3_finalize(mark);
    sqlite3_finalize(drop_chunks);
    sqlite3_finalize(pick);
    res = js_commit(store);
    return res < 0 ? res : evicted;

error_mark:
    sqlite3_finalize(mark);
error_drop:
    sqlite3_finalize(drop_chunks);
error_pick:
    sqlite3_finalize(pick);
error_tx:
    js_rollback(store);
    return res;
}
