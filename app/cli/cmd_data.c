/*
 * jiashu data [--json]: what this month's sync cost on the wire, per
 * family member, and the device's own traffic that belongs to no message
 * (long polls, the family list, receipts from others), against the
 * monthly budget if one is set. Families pay by the megabyte.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "net/sync/sync.h"
#include "output.h"
#include "store/store.h"
#include "util/util.h"

struct row {
    char who[JS_PEER_MAX + 1]; /* a name, a device id, or a marker (store.h) */
    uint64_t sent, received;
};

struct tally {
    js_store *store;
    struct row *rows;
    size_t count, cap;
};

/* Ledger rows name a member by device id (what arrived) or by the name a
 * note was sent to: both become the name, so one person is one line. */
static int add_row(void *user, const struct js_traffic *t)
{
    struct tally *tally = user;
    struct js_contact c;
    const char *who = t->member;

    if (who[0] && strcmp(who, JS_TRAFFIC_FAMILY) && js_contact_find(tally->store, who, &c) == 0)
        who = c.name;
    for (size_t i = 0; i < tally->count; i++) {
        if (!strcmp(tally->rows[i].who, who)) {
            tally->rows[i].sent += t->sent;
            tally->rows[i].received += t->received;
            return 0;
        }
    }
    if (tally->count == tally->cap) {
        size_t cap = tally->cap ? tally->cap * 2 : 8;
        struct row *grown = realloc(tally->rows, cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        tally->rows = grown;
        tally->cap = cap;
    }
    struct row *r = &tally->rows[tally->count++];
    snprintf(r->who, sizeof(r->who), "%s", who);
    r->sent = t->sent;
    r->received = t->received;
    return 0;
}

static const char *label(const char *who, char *buf, size_t size)
{
    if (!who[0])
        return _("(this phone's own sync)");
    if (!strcmp(who, JS_TRAFFIC_FAMILY))
        return _("(notes to the whole family)");
    return out_text(who, buf, size);
}

/* budget: bytes, -1 for none. */
static json_t *data_json(const char *month, const struct tally *t, uint64_t total, int64_t budget)
{
    json_t *members = json_array(), *o;

    if (!members)
        return NULL;
    for (size_t i = 0; i < t->count; i++) {
        const struct row *r = &t->rows[i];
        json_t *m =
            json_pack("{s:o, s:I, s:I}", "member", r->who[0] ? out_json_text(r->who) : json_null(),
                      "sent", (json_int_t)r->sent, "received", (json_int_t)r->received);
        if (!m || json_array_append_new(members, m)) {
            json_decref(members);
            return NULL;
        }
    }
    o = json_pack("{s:s, s:I, s:o, s:o}", "month", month, "total", (json_int_t)total,
                  "budget_bytes", budget >= 0 ? json_integer((json_int_t)budget) : json_null(),
                  "members", members);
    return o;
}

int cmd_data(const struct app_context *ctx, int argc, char **argv)
{
    struct tally tally = {0};
    char month[32], setting[JS_SETTING_MAX + 1], who[OUT_TEXT_SIZE(JS_PEER_MAX)];
    uint64_t total = 0, budget = 0, mb;
    bool json = false, budget_set = false;
    js_store *store;
    int res;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else
            return app_usage("data: unexpected '%s'", argv[i]);
    }
    res = js_store_open(ctx->home, &store);
    if (res < 0)
        return app_fail("cannot open the message store in %s: %s", ctx->home, app_strerror(res));
    tally.store = store;
    int64_t now = ju_wall_ms() + ctx->clock_offset_ms;
    time_t t = (time_t)(now / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(month, sizeof(month), "%Y-%m", &tm);
    if (js_setting_get(store, JS_SETTING_DATA_BUDGET, setting, sizeof(setting)) > 0 &&
        ju_parse_u64(setting, JS_MAX_DATA_BUDGET_MB, &mb) == 0) {
        budget = mb * 1000000;
        budget_set = true;
    }
    res = js_traffic_month(store, now, add_row, &tally, &total);
    if (res >= 0 && json) {
        res = out_json_document(data_json(month, &tally, total, budget_set ? (int64_t)budget : -1));
    } else if (res >= 0) {
        printf(_("%s: %.1f kB on the wire, sent and received"), month, (double)total / 1000.0);
        if (budget)
            printf(_(" of a %llu MB budget (%llu%%)"), (unsigned long long)(budget / 1000000),
                   (unsigned long long)(total * 100 / budget));
        else if (budget_set)
            printf(_(", with a budget of 0 MB: only small notes are fetched"));
        printf("\n");
        for (size_t i = 0; i < tally.count; i++) {
            const struct row *r = &tally.rows[i];
            printf("  %-28s %9.1f kB  (%.1f kB sent, %.1f kB received)\n",
                   label(r->who, who, sizeof(who)), (double)(r->sent + r->received) / 1000.0,
                   (double)r->sent / 1000.0, (double)r->received / 1000.0);
        }
    }
    free(tally.rows);
    js_store_destroy(store);
    if (res < 0)
        return app_fail("data: %s", app_strerror(res));
    if (fflush(stdout) != 0)
        return app_fail("data: %s", strerror(errno));
    return 0;
}
