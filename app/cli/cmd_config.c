/*
 * jiashu config KEY [VALUE]: reads or sets one of the store's settings.
 * The settings the sync reads (data_budget_mb, quiet_hours) are checked
 * here, so a typo is refused at once instead of being ignored later;
 * "off" removes them.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "net/sync/sync.h"
#include "store/store.h"

/* JS_ERR_INVALID for a value the sync would not understand. */
static int check_sync_setting(const char *key, const char *value)
{
    uint64_t mb;
    int start, end;

    if (!strcmp(key, JN_SETTING_DATA_BUDGET))
        return ju_parse_u64(value, JN_MAX_DATA_BUDGET_MB, &mb) == 0 ? 0 : JS_ERR_INVALID;
    if (!strcmp(key, JN_SETTING_QUIET_HOURS))
        return jn_quiet_hours_parse(value, &start, &end);
    return 0;
}

static bool is_sync_setting(const char *key)
{
    return !strcmp(key, JN_SETTING_DATA_BUDGET) || !strcmp(key, JN_SETTING_QUIET_HOURS);
}

int cmd_config(const struct app_context *ctx, int argc, char **argv)
{
    char value[JS_SETTING_MAX + 1];
    js_store *store;
    int res;

    if (argc < 2 || argc > 3)
        return app_usage("config needs a setting name, and a value to set it");
    if (argc == 3 && is_sync_setting(argv[1]) && strcmp(argv[2], "off") &&
        check_sync_setting(argv[1], argv[2]) < 0)
        return app_fail("config: %s wants %s, not '%s'", argv[1],
                        !strcmp(argv[1], JN_SETTING_DATA_BUDGET)
                            ? _("whole megabytes (0 to 1000000), or off")
                            : _("HH:MM-HH:MM with two different times, or off"),
                        argv[2]);
    res = js_store_open(ctx->home, &store);
    if (res < 0)
        return app_fail("cannot open the message store in %s: %s", ctx->home, app_strerror(res));
    if (argc == 3 && is_sync_setting(argv[1]) && !strcmp(argv[2], "off")) {
        res = js_setting_set(store, argv[1], NULL);
        if (res == JS_ERR_NOT_FOUND)
            res = 0;
    } else if (argc == 3) {
        res = js_setting_set(store, argv[1], argv[2]);
    } else if (!strcmp(argv[1], JS_SETTING_QUOTA)) {
        res = snprintf(value, sizeof(value), "%llu", (unsigned long long)js_store_quota(store));
    } else if (!strcmp(argv[1], JS_SETTING_RECOVERED_STATE)) {
        res = js_setting_get(store, argv[1], value, sizeof(value));
        if (res == JS_ERR_NOT_FOUND)
            res = snprintf(value, sizeof(value), "ready");
    } else if (!strcmp(argv[1], JS_SETTING_DEVICE_TOKEN)) {
        res = js_setting_get(store, argv[1], value, sizeof(value));
        if (res >= 0)
            res = snprintf(value, sizeof(value), "(set)");
    } else {
        res = js_setting_get(store, argv[1], value, sizeof(value));
        if (res == JS_ERR_NOT_FOUND && is_sync_setting(argv[1]))
            res = snprintf(value, sizeof(value), "off");
    }
    js_store_destroy(store);
    if (res == JS_ERR_NOT_FOUND)
        return app_fail("config: %s is not set", argv[1]);
    if (res == JS_ERR_INVALID)
        return app_fail("config: invalid value for %s", argv[1]);
    if (res < 0)
        return app_fail("config: %s", app_strerror(res));
    if (argc == 2)
        printf("%s\n", value);
    return 0;
}
