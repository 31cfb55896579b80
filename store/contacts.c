/*
 * The family's members, as the relay lists them: device id and name.
 */
#include <string.h>

#include "internal.h"

static bool text_ok(const char *s)
{
    return s && *s && strlen(s) <= JS_PEER_MAX;
}

int js_contact_put(js_store *store, const char *device_id, const char *name)
{
    if (!text_ok(device_id) || !text_ok(name))
        return JS_ERR_INVALID;
    return js_run(store,
                  "INSERT INTO contacts (device_id, name) VALUES (?, ?)"
                  " ON CONFLICT (device_id) DO UPDATE SET name = excluded.name",
                  "tt", device_id, name);
}

int js_contact_remove(js_store *store, const char *device_id)
{
    if (!text_ok(device_id))
        return JS_ERR_INVALID;
    int res = js_run(store, "DELETE FROM contacts WHERE device_id = ?", "t", device_id);
    if (res == 0 && sqlite3_changes(store->db) == 0)
        res = JS_ERR_NOT_FOUND;
    return res;
}

static void fill(sqlite3_stmt *stmt, struct js_contact *c)
{
    const char *id = (const char *)sqlite3_column_text(stmt, 0);
    const char *name = (const char *)sqlite3_column_text(stmt, 1);
    memset(c, 0, sizeof(*c));
    strncpy(c->device_id, id ? id : "", JS_PEER_MAX);
    strncpy(c->name, name ? name : "", JS_PEER_MAX);
}

int js_contact_find(js_store *store, const char *id_or_name, struct js_contact *out)
{
    sqlite3_stmt *stmt;
    if (!text_ok(id_or_name))
        return JS_ERR_NOT_FOUND;
    int res = js_query_row(store, &stmt,
                           "SELECT device_id, name FROM contacts WHERE device_id = ?1 OR name = ?1"
                           " ORDER BY device_id <> ?1 LIMIT 1",
                           "t", id_or_name);
    if (res < 0)
        return res;
    fill(stmt, out);
    sqlite3_finalize(stmt);
    return 0;
}

int js_contacts_list(js_store *store, js_contact_fn fn, void *user)
{
    sqlite3_stmt *stmt;
    struct js_contact c;
    int rc, count = 0;
    int res =
        js_prepare(store, "SELECT device_id, name FROM contacts ORDER BY name, device_id", &stmt);
    if (res < 0)
        return res;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        fill(stmt, &c);
        count++;
        if (fn && (res = fn(user, &c))) {
            sqlite3_finalize(stmt);
            return res;
        }
    }
    res = rc == SQLITE_DONE ? count : js_sqlite_error(store, rc);
    sqlite3_finalize(stmt);
    return res;
}
