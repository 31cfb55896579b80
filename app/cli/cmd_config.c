/*
 * jiashu config KEY [VALUE]: reads or sets one of the store's settings.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "store/store.h"

int cmd_config(const struct app_context *ctx, int argc, char **argv)
{
    char value[JS_SETTING_MAX + 1];
    js_store *store;
    int res;

    if (argc < 2 || argc > 3)
        return app_usage("config needs a setting name, and a value to set it");
    res = js_store_open(ctx->home, &store);
    if (res < 0)
        return app_fail("cannot open the message store in %s: %s", ctx->home, app_strerror(res));
    if (argc == 3) {
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
