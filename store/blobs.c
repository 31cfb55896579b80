/*
 * Named binary values for the parts above the store (store.h, "Blobs").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static bool name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

int js_blob_put(js_store *store, const char *kind, const char *key, const void *data, size_t len)
{
    if (!name_ok(kind) || !name_ok(key) || len > JS_BLOB_MAX || (!data && len))
        return JS_ERR_INVALID;
    /* "" for no bytes: an empty blob, not NULL */
    return js_run(store, "INSERT OR REPLACE INTO blobs (kind, key, data) VALUES (?, ?, ?)", "ttb",
                  kind, key, len ? data : "", len);
}

int js_blob_get(js_store *store, const char *kind, const char *key, unsigned char **data,
                size_t *len)
{
    sqlite3_stmt *stmt;
    int res;

    *data = NULL;
    *len = 0;
    if (!name_ok(kind) || !name_ok(key))
        return JS_ERR_NOT_FOUND;
    res = js_query_row(store, &stmt, "SELECT data FROM blobs WHERE kind = ? AND key = ?", "tt",
                       kind, key);
    if (res < 0)
        return res;
    size_t n = (size_t)sqlite3_column_bytes(stmt, 0);
    unsigned char *copy = malloc(n ? n : 1);
    if (!copy) {
        res = -ENOMEM;
    } else {
        if (n)
            memcpy(copy, sqlite3_column_blob(stmt, 0), n);
        *data = copy;
        *len = n;
    }
    sqlite3_finalize(stmt);
    return res;
}

int js_blob_delete(js_store *store, const char *kind, const char *key)
{
    if (!name_ok(kind) || !name_ok(key))
        return JS_ERR_INVALID;
    return js_run(store, "DELETE FROM blobs WHERE kind = ? AND key = ?", "tt", kind, key);
}

int js_blob_list(js_store *store, const char *kind, js_blob_fn fn, void *user)
{
    sqlite3_stmt *stmt;
    int res, rc, count = 0;

    if (!name_ok(kind))
        return JS_ERR_INVALID;
    res = js_prepare(store, "SELECT key, data FROM blobs WHERE kind = ? ORDER BY key", &stmt);
    if (res < 0)
        return res;
    sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        count++;
        if (fn && (res = fn(user, (const char *)sqlite3_column_text(stmt, 0),
                            sqlite3_column_blob(stmt, 1), (size_t)sqlite3_column_bytes(stmt, 1)))) {
            sqlite3_finalize(stmt);
            return res;
        }
    }
    res = rc == SQLITE_DONE ? count : js_sqlite_error(store, rc);
    sqlite3_finalize(stmt);
    return res;
}
