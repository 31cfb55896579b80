/*
 * jiashu station: the keypad screen.
 *
 *   jiashu [--home DIR] station                 run the screen
 *   jiashu [--home DIR] station init --relay URL [--name NAME]
 *                                               make DIR a station for many
 *                                               families; the teacher's PIN
 *                                               is read from standard input
 *
 * A home with a station registry runs in station mode (family number and
 * PIN, the teacher's screen); any other home runs in home mode, the one
 * family of that home with no PIN.
 */
#include "commands.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app/station/station.h"
#include "config.h"
#include "util/util.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* The locale messages follow, as the C library picks it: the first of
 * LC_ALL, LC_MESSAGES and LANG that is set and not empty. */
static const char *messages_locale(void)
{
    static const char *const vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return v;
    }
    return NULL;
}

/* A whole number from the environment within [min, max], else fallback. */
static int64_t env_number(const char *name, int64_t fallback, int64_t min, int64_t max)
{
    const char *v = getenv(name);
    int64_t n;

    if (!v || ju_parse_i64(v, min, max, &n) < 0)
        return fallback;
    return n;
}

static const char *explain(int err)
{
    return ju_strerror(err);
}

static int read_pin(char *pin, size_t size)
{
    size_t len;

    if (!fgets(pin, (int)size, stdin))
        return -EINVAL;
    len = strcspn(pin, "\r\n");
    pin[len] = '\0';
    if (len < ST_PIN_MIN || len > ST_PIN_MAX || strspn(pin, "0123456789") != len)
        return -EINVAL;
    return 0;
}

static int station_init(const struct app_context *ctx, int argc, char **argv)
{
    const char *relay = NULL, *name = "station";
    char pin[64];
    st_registry *reg;
    int res;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--relay") && i + 1 < argc)
            relay = argv[++i];
        else if (!strcmp(argv[i], "--name") && i + 1 < argc)
            name = argv[++i];
        else
            return app_usage("station init: unexpected '%s'", argv[i]);
    }
    if (!relay)
        return app_usage("station init needs --relay URL");
    if (strncmp(relay, "http://", 7) && strncmp(relay, "https://", 8))
        return app_usage("station init: the relay must be an http:// or https:// URL");
    if (strlen(name) > 64 || !*name)
        return app_usage("station init: the name must be 1 to 64 bytes");
    if (read_pin(pin, sizeof(pin)) < 0)
        return app_fail("station init: the teacher's PIN (4 to 8 digits) is read from standard "
                        "input");
    if ((res = st_registry_create(ctx->home, true, &reg)) < 0)
        return app_fail("station init: %s: %s", ctx->home, ju_strerror(res));
    if ((res = st_registry_set_teacher_pin(reg, pin)) < 0 ||
        (res = st_registry_set_text(reg, "relay", relay)) < 0 ||
        (res = st_registry_set_text(reg, "name", name)) < 0) {
        memset(pin, 0, sizeof(pin));
        st_registry_destroy(reg);
        return app_fail("station init: %s", ju_strerror(res));
    }
    memset(pin, 0, sizeof(pin));
    st_registry_destroy(reg);
    return 0;
}

static int self_exe(char *buf, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);

    if (n <= 0 || (size_t)n >= size - 1)
        return -ENAMETOOLONG;
    buf[n] = '\0';
    return 0;
}

/* Where the spoken prompts are: $JIASHU_PROMPTS_DIR, else beside this
 * program in a build tree (app/cli/jiashu -> app/station/prompts), else
 * where they are installed. */
static void prompts_dir(const char *exe, char *out, size_t size)
{
    const char *env = getenv("JIASHU_PROMPTS_DIR");
    char build[PATH_MAX];
    const char *slash = strrchr(exe, '/');
    struct stat st;

    if (env && *env) {
        snprintf(out, size, "%s", env);
        return;
    }
    if (slash &&
        snprintf(build, sizeof(build), "%.*s/../station/prompts", (int)(slash - exe), exe) <
            (int)sizeof(build) &&
        stat(build, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(out, size, "%s", build);
        return;
    }
    snprintf(out, size, "%s", JIASHU_PROMPTSDIR);
}

static int run_screen(const struct app_context *ctx)
{
    struct st_backend_config bc = {0};
    struct st_config cc = {0};
    struct st_screen_info info = {0};
    struct st_view shown;
    struct st_core *core;
    struct sigaction sa;
    st_registry *reg = NULL;
    st_backend *be = NULL;
    char exe[PATH_MAX], prompts[PATH_MAX];
    bool shown_quiet = false, shown_full = false;
    int64_t last_draw = 0;
    int res;

    if ((res = self_exe(exe, sizeof(exe))) < 0)
        return app_fail("station: cannot find this program: %s", ju_strerror(res));
    bc.station = st_registry_exists(ctx->home);
    if (bc.station) {
        if ((res = st_registry_create(ctx->home, false, &reg)) < 0)
            return app_fail("station: %s: %s", ctx->home, ju_strerror(res));
        st_registry_set_delays(
            reg, env_number("JIASHU_STATION_PIN_DELAY_MS", ST_DEFAULT_DELAY_MS, 0, 3600000),
            env_number("JIASHU_STATION_PIN_DELAY_CAP_MS", ST_DEFAULT_DELAY_CAP, 0, 86400000));
    } else {
        struct stat st;
        if (stat(ctx->home, &st) < 0 || !S_ISDIR(st.st_mode))
            return app_fail("station: %s is not a jiashu home (run 'jiashu setup' first)",
                            ctx->home);
    }
    /* Before anything opens the sound card or starts a child. */
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        res = app_fail("station: the keypad screen needs a terminal");
        goto error_reg;
    }
    bc.home = ctx->home;
    bc.exe = exe;
    bc.sync_interval_ms = env_number("JIASHU_STATION_SYNC_SECONDS", 30, 1, 86400) * 1000;
    bc.max_record_seconds = (int)env_number("JIASHU_STATION_MAX_RECORD_SECONDS", 120, 1, 600);
    bc.trace_path = getenv("JIASHU_STATION_TRACE");
    bc.audio_dir = getenv("JIASHU_STATION_AUDIO_DIR");
    prompts_dir(exe, prompts, sizeof(prompts));
    bc.prompts_dir = prompts;
    bc.lang = st_text_lang_for(messages_locale()) == ST_LANG_ZH ? "zh" : "en";
    /* Home mode has no teacher: JIASHU_STATION_VOICE (0 off, 1 slow,
     * 2 normal, 3 fast) stands in for the teacher's setting. */
    bc.home_voice = (int)env_number("JIASHU_STATION_VOICE", ST_VOICE_NORMAL, 0, 3);
    bc.clock_offset_ms = ctx->clock_offset_ms;
    if ((res = st_backend_create(&bc, reg, &be)) < 0) {
        res = app_fail("station: %s", ju_strerror(res));
        goto error_reg;
    }
    core = calloc(1, sizeof(*core));
    if (!core) {
        res = app_fail("station: %s", ju_strerror(-ENOMEM));
        goto error_backend;
    }
    if ((res = st_screen_open()) < 0) {
        res = app_fail("station: the keypad screen needs a terminal");
        goto error_core;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    cc.station = bc.station;
    cc.idle_ms = env_number("JIASHU_STATION_IDLE_SECONDS", 60, 1, 86400) * 1000;
    cc.notice_ms = env_number("JIASHU_STATION_NOTICE_MS", 2500, 500, 60000);
    info.lang = st_text_lang_for(messages_locale());
    info.strerror = explain;
    st_backend_poll(be, ju_mono_ms());
    st_core_init(core, &cc, st_backend_ops(), be, ju_mono_ms());
    memset(&shown, 0xff, sizeof(shown));

    while (!stop_requested) {
        int key = st_screen_read_key(100);
        int64_t now = ju_mono_ms();
        enum st_screen was;

        /* Every key that is waiting is taken now, so keys typed while the
         * keypad is refused are spent while it is refused, not after. */
        for (int n = 0; key >= 0 && n < 64; n++) {
            st_core_key(core, key, now);
            key = st_screen_read_key(0);
        }
        /* A key may have taken long (a PIN's hash): the clock moved on. */
        now = ju_mono_ms();
        was = core->view.screen;
        st_core_tick(core, now);
        if (was == ST_SCREEN_REFUSED && core->view.screen != ST_SCREEN_REFUSED)
            st_screen_flush_input();
        st_backend_poll(be, now);
        info.quiet = st_backend_quiet(be);
        info.full = st_backend_full(be);
        /* Redraw on any change, and every second in case the terminal was disturbed. */
        if (memcmp(&shown, &core->view, sizeof(shown)) || info.quiet != shown_quiet ||
            info.full != shown_full || now - last_draw >= 1000) {
            st_screen_draw(&core->view, &info);
            shown = core->view;
            shown_quiet = info.quiet;
            shown_full = info.full;
            last_draw = now;
        }
    }
    res = 0;
    st_core_finish(core);
    memset(&shown, 0, sizeof(shown));
    st_screen_close();
error_core:
    free(core);
error_backend:
    st_backend_destroy(be);
error_reg:
    st_registry_destroy(reg);
    return res;
}

int cmd_station(const struct app_context *ctx, int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs("Usage: jiashu [--home DIR] station            the keypad screen\n"
              "       jiashu [--home DIR] station init --relay URL [--name NAME]\n"
              "                                               (teacher's PIN on stdin)\n",
              stdout);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "init"))
        return station_init(ctx, argc - 1, argv + 1);
    if (argc > 1)
        return app_usage("station: unexpected '%s'", argv[1]);
    return run_screen(ctx);
}
