/*
 * Data counted on the wire: each message's own counters and a ledger per
 * month and family member, written together in one transaction.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* "YYYY-MM" of now_ms in local time: the month a family pays for. */
static void month_of(int64_t now_ms, char out[32])
{
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;

    if (!localtime_r(&t, &tm))
        memset(&tm, 0, sizeof(tm));
    snprintf(out, 32, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
}

int js_traffic_add(js_store *store, const char *id, uint64_t sent, uint64_t received,
                   int64_t now_ms)
{
    sqlite3_stmt *find;
    char month[32], member[JS_PEER_MAX + 1] = JS_TRAFFIC_DEVICE;
    int64_t row = 0;
    int res;

    if (sent > INT64_MAX / 2 || received > INT64_MAX / 2)
        return JS_ERR_INVALID;
    if (sent == 0 && received == 0)
        return 0;
    month_of(now_ms, month);
    res = js_begin(store);
    if (res < 0)
        return res;
    if (id) {
        /* The outbox first, as js_message_get(): an id this device both
         * sent and holds is its own note. */
        res = js_query_row(store, &find,
                           "SELECT rowid, CASE WHEN box = 0 AND peer = '' THEN '" JS_TRAFFIC_FAMILY
                           "' ELSE peer END FROM messages WHERE id = ? ORDER BY box LIMIT 1",
                           "t", id);
        if (res == 0) {
            const unsigned char *peer = sqlite3_column_text(find, 1);
            row = sqlite3_column_int64(find, 0);
            snprintf(member, sizeof(member), "%s", peer ? (const char *)peer : "");
            sqlite3_finalize(find);
        } else if (res == JS_ERR_NOT_FOUND) {
            res = 0; /* counted for the device alone */
        }
    }
    if (res == 0 && row)
        res = js_run(store,
                     "UPDATE messages SET wire_sent = wire_sent + ?, wire_received ="
                     " wire_received + ? WHERE rowid = ?",
                     "iii", (int64_t)sent, (int64_t)received, row);
    if (res == 0)
        res = js_run(store,
                     "INSERT INTO traffic (month, member, sent, received) VALUES (?1, ?2, ?3, ?4)"
                     " ON CONFLICT (month, member) DO UPDATE SET sent = sent + ?3,"
                     " received = received + ?4",
                     "ttii", month, member, (int64_t)sent, (int64_t)received);
    return js_finish(store, res);
}

int js_traffic_month(js_store *store, int64_t now_ms, js_traffic_fn fn, void *user, uint64_t *total)
{
    sqlite3_stmt *stmt;
    char month[32];
    uint64_t sum = 0;
    int res, rc, count = 0;

    month_of(now_ms, month);
    res = js_prepare(store,
                     "SELECT member, sent, received FROM traffic WHERE month = ?"
                     " ORDER BY member != '', member",
                     &stmt);
    if (res < 0)
        return res;
    sqlite3_bind_text(stmt, 1, month, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct js_traffic t;
        const unsigned char *member = sqlite3_column_text(stmt, 0);
        snprintf(t.member, sizeof(t.member), "%s", member ? (const char *)member : "");
        t.sent = (uint64_t)sqlite3_column_int64(stmt, 1);
        t.received = (uint64_t)sqlite3_column_int64(stmt, 2);
        sum += t.sent + t.received;
        count++;
        if (fn && (res = fn(user, &t)) != 0)
            break;
    }
    if (res == 0 && rc != SQLITE_DONE)
        res = js_sqlite_error(store, rc);
    sqlite3_finalize(stmt);
    if (res)
        return res;
    if (total)
        *total = sum;
    return count;
}
