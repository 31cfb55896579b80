/*
 * Settings: one table names every key the project keeps and the values it
 * takes (store.h), and every write is checked against it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const struct js_setting_spec specs[] = {
    {JS_SETTING_RELAY_URL, JS_SETTING_TEXT, 0, 0, NULL},
    {JS_SETTING_CA_FILE, JS_SETTING_TEXT, 0, 0, NULL},
    {JS_SETTING_DEVICE_ID, JS_SETTING_TEXT, 0, 0, NULL},
    {JS_SETTING_DEVICE_TOKEN, JS_SETTING_TEXT, 0, 0, NULL},
    {JS_SETTING_DEVICE_NAME, JS_SETTING_TEXT, 0, 0, NULL},
    {JS_SETTING_FAMILY_ID, JS_SETTING_TEXT, 0, 0, NULL},
    /* Relay cursors are int64 on the wire. */
    {JS_SETTING_INBOX_CURSOR, JS_SETTING_NUMBER, 0, 9.2e18, NULL},
    {JS_SETTING_RECEIPT_CURSOR, JS_SETTING_NUMBER, 0, 9.2e18, NULL},
    {JS_SETTING_RELAY_MAX_UPLOAD, JS_SETTING_NUMBER, 1, 1.8e19, NULL},
    /* 2^48 bytes: beyond any card, far below where the sums overflow. */
    {JS_SETTING_QUOTA, JS_SETTING_NUMBER, JS_MIN_QUOTA, 281474976710656.0, NULL},
    {JS_SETTING_RECOVERED_STATE, JS_SETTING_CHOICE, 0, 0, "ready draft"},
    {JS_SETTING_DATA_BUDGET, JS_SETTING_NUMBER, 0, JS_MAX_DATA_BUDGET_MB, NULL},
    {JS_SETTING_QUIET_HOURS, JS_SETTING_TIME_SPAN, 0, 0, NULL},
    {JS_SETTING_PLAY_SPEED, JS_SETTING_DECIMAL, 0.5, 2.0, NULL},
    {JS_SETTING_RECORD_MAX_SECONDS, JS_SETTING_NUMBER, 1, JC_MAX_NOTE_SECONDS, NULL},
    {JS_SETTING_JOIN_NAMEPLATE, JS_SETTING_TEXT, 0, 0, NULL},
    {JS_SETTING_JOIN_CLAIM, JS_SETTING_TEXT, 0, 0, NULL},
    {JS_SETTING_ROSTER_ETAG, JS_SETTING_TEXT, 0, 0, NULL},
};

const struct js_setting_spec *js_setting_spec(const char *key)
{
    for (size_t i = 0; key && i < sizeof(specs) / sizeof(specs[0]); i++)
        if (!strcmp(specs[i].key, key))
            return &specs[i];
    return NULL;
}

static bool is_choice(const char *choices, const char *value)
{
    size_t n = strlen(value);
    for (const char *c = choices; n && *c;) {
        size_t word = strcspn(c, " ");
        if (word == n && !strncmp(c, value, n))
            return true;
        c += word + (c[word] == ' ');
    }
    return false;
}

static bool value_valid(const struct js_setting_spec *spec, const char *value);

bool js_setting_valid(const char *key, const char *value)
{
    const struct js_setting_spec *spec = js_setting_spec(key);
    return spec && value && value_valid(spec, value);
}

static bool value_valid(const struct js_setting_spec *spec, const char *value)
{
    uint64_t number;
    int start, end;
    char *tail;

    if (strlen(value) > JS_SETTING_MAX)
        return false;
    switch (spec->kind) {
    case JS_SETTING_TEXT:
        return true;
    case JS_SETTING_NUMBER:
        return ju_parse_u64(value, UINT64_MAX, &number) == 0 && (double)number >= spec->min &&
               (double)number <= spec->max;
    case JS_SETTING_DECIMAL: {
        /* Digits and one point only: no exponent, sign, space or "nan". */
        if (!*value || strspn(value, "0123456789.") != strlen(value))
            return false;
        double d = strtod(value, &tail);
        return !*tail && isfinite(d) && d >= spec->min && d <= spec->max;
    }
    case JS_SETTING_CHOICE:
        return is_choice(spec->choices, value);
    case JS_SETTING_TIME_SPAN:
        return ju_parse_time_span(value, &start, &end) == 0;
    }
    return false;
}

int js_setting_get(js_store *store, const char *key, char *buf, size_t size)
{
    sqlite3_stmt *stmt;
    int res;

    if (!js_setting_spec(key))
        return JS_ERR_INVALID;
    res = js_query_row(store, &stmt, "SELECT value FROM settings WHERE key = ?", "t", key);
    if (res < 0)
        return res;
    const char *v = (const char *)sqlite3_column_text(stmt, 0);
    size_t n = v ? strlen(v) : 0;
    if (n + 1 > size) {
        res = JS_ERR_INVALID;
    } else {
        memcpy(buf, v ? v : "", n + 1);
        res = (int)n;
    }
    sqlite3_finalize(stmt);
    return res;
}

int js_setting_set(js_store *store, const char *key, const char *value)
{
    const struct js_setting_spec *spec = js_setting_spec(key);

    if (!spec || (value && !value_valid(spec, value)))
        return JS_ERR_INVALID;
    if (!value)
        return js_run(store, "DELETE FROM settings WHERE key = ?", "t", key);
    return js_run(store,
                  "INSERT INTO settings (key, value) VALUES (?, ?)"
                  " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                  "tt", key, value);
}

int js_setting_get_number(js_store *store, const char *key, uint64_t *out)
{
    const struct js_setting_spec *spec = js_setting_spec(key);
    char buf[32];
    uint64_t number;

    if (!spec || spec->kind != JS_SETTING_NUMBER)
        return JS_ERR_INVALID;
    int res = js_setting_get(store, key, buf, sizeof(buf));
    if (res < 0)
        return res;
    if (!value_valid(spec, buf) || ju_parse_u64(buf, UINT64_MAX, &number) < 0)
        return JS_ERR_INVALID;
    *out = number;
    return 0;
}

uint64_t js_store_quota(js_store *store)
{
    uint64_t quota;
    return js_setting_get_number(store, JS_SETTING_QUOTA, &quota) == 0 ? quota : JS_DEFAULT_QUOTA;
}
