/*
 * jiashu config KEY [VALUE]: reads or sets one of the store's settings
 * (the list and the values each takes are in store/store.h). A bad key or
 * value is refused at once, before the home is touched, instead of being
 * ignored later by the part that reads it; "off" removes a setting.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "net/sync/sync.h"
#include "store/store.h"

/* What a setting of this spec takes, said to the person who typed a bad
 * value. */
static void describe(const struct js_setting_spec *spec, char *buf, size_t size)
{
    switch (spec->kind) {
    case JS_SETTING_TEXT:
        snprintf(buf, size, _("text of at most %d bytes"), JS_SETTING_MAX);
        break;
    case JS_SETTING_NUMBER:
        snprintf(buf, size, _("a whole number from %.0f to %.0f, or off"), spec->min, spec->max);
        break;
    case JS_SETTING_DECIMAL:
        snprintf(buf, size, _("a number from %g to %g, or off"), spec->min, spec->max);
        break;
    case JS_SETTING_CHOICE:
        snprintf(buf, size, _("one of: %s, or off"), spec->choices);
        break;
    case JS_SETTING_TIME_SPAN:
        snprintf(buf, size, "%s", _("HH:MM-HH:MM with two different times, or off"));
        break;
    }
}

int cmd_config(const struct app_context *ctx, int argc, char **argv)
{
    char value[JS_SETTING_MAX + 1];
    js_store *store;
    int res;

    if (argc < 2 || argc > 3)
        return app_usage("config needs a setting name, and a value to set it");
    const struct js_setting_spec *spec = js_setting_spec(argv[1]);
    if (!spec)
        return app_fail("config: there is no setting called '%s'", argv[1]);
    /* "off" removes a setting that has a default or means "none" when
     * absent; text settings take "off" as text. */
    bool off = argc == 3 && spec->kind != JS_SETTING_TEXT && !strcmp(argv[2], "off");
    if (argc == 3 && !off && !js_setting_valid(argv[1], argv[2])) {
        describe(spec, value, sizeof(value));
        return app_fail("config: %s wants %s, not '%s'", argv[1], value, argv[2]);
    }
    res = js_store_open(ctx->home, &store);
    if (res < 0)
        return app_fail("cannot open the message store in %s: %s", ctx->home, app_strerror(res));
    if (off) {
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
        if (res == JS_ERR_NOT_FOUND &&
            (!strcmp(argv[1], JS_SETTING_DATA_BUDGET) || !strcmp(argv[1], JS_SETTING_QUIET_HOURS)))
            res = snprintf(value, sizeof(value), "off");
    }
    js_store_destroy(store);
    if (res == JS_ERR_NOT_FOUND)
        return app_fail("config: %s is not set", argv[1]);
    if (res < 0)
        return app_fail("config: %s", app_strerror(res));
    if (argc == 2)
        printf("%s\n", value);
    return 0;
}
