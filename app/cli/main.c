/*
 * jiashu: the command line. Resolves the home directory once and hands the
 * rest of the arguments to the command named on the line.
 */
#include "config.h"

#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/audio/audio.h"
#include "commands.h"

static const struct {
    const char *name;
    app_command_fn run;
} commands[] = {
    {"encode", cmd_encode}, {"decode", cmd_decode},   {"setup", cmd_setup},
    {"family", cmd_family}, {"record", cmd_record},   {"sync", cmd_sync},
    {"inbox", cmd_inbox},   {"outbox", cmd_outbox},   {"play", cmd_play},
    {"export", cmd_export}, {"station", cmd_station}, {"config", cmd_config},
};

static const char *const usage_text =
    N_("Usage: jiashu [--home DIR] COMMAND [ARGS]\n"
       "\n"
       "Voice letters between a family's phones, kept safe until they are heard.\n"
       "\n"
       "  encode IN.wav OUT.opus [--bitrate BPS] [--no-cleanup]\n"
       "  decode IN.opus OUT.wav\n"
       "  setup --relay URL --name NAME\n"
       "  family create | invite | join CODE [--wait S] [--plain]\n"
       "  family remove NAME | upgrade\n"
       "  family [--json]           list the members\n"
       "  record [--to NAME] [--max-seconds N] [--input FILE.wav]\n"
       "  sync [--watch] [--json] [--deadline S]  one pass (at most S seconds, 180), or keep going\n"
       "  inbox [--json]\n"
       "  outbox [--json]\n"
       "  play (ID | --next) [--output FILE.wav]\n"
       "  export ID FILE.opus\n"
       "  station                   the keypad screen\n"
       "\n"
       "The home directory is --home, else $JIASHU_HOME, else $XDG_DATA_HOME/jiashu\n"
       "(~/.local/share/jiashu).\n");

static void vreport(const char *fmt, va_list ap, const char *suffix)
{
    fputs("jiashu: ", stderr);
    vfprintf(stderr, gettext(fmt), ap);
    fputs(*suffix ? gettext(suffix) : "", stderr);
    fputc('\n', stderr);
}

const char *app_strerror(int err)
{
    return gettext(ju_strerror(err));
}

int app_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap, "");
    va_end(ap);
    return 1;
}

int app_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap, N_(" (see 'jiashu --help')"));
    va_end(ap);
    return 2;
}

/* --home beats JIASHU_HOME beats $XDG_DATA_HOME/jiashu beats
 * ~/.local/share/jiashu. The result lives as long as the process. */
static const char *resolve_home(const char *option, char *buf, size_t size)
{
    const char *env = getenv("JIASHU_HOME");
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *user_home = getenv("HOME");

    if (option && *option)
        return option;
    if (env && *env)
        return env;
    if (xdg && *xdg && xdg[0] == '/') {
        snprintf(buf, size, "%s/jiashu", xdg);
        return buf;
    }
    if (user_home && *user_home) {
        snprintf(buf, size, "%s/.local/share/jiashu", user_home);
        return buf;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *home_option = NULL;
    char home_buf[4096];
    struct app_context ctx = {0};
    int arg = 1;
    /* JIASHU_LOCALEDIR finds the translations of a build that is not
     * installed (the tests use it). */
    const char *localedir = getenv("JIASHU_LOCALEDIR");

    /* Messages and characters in the user's language; numbers (durations in
     * listings that scripts read) stay in the C locale. */
    setlocale(LC_MESSAGES, "");
    setlocale(LC_CTYPE, "");
    bindtextdomain("jiashu", localedir && *localedir ? localedir : JIASHU_LOCALEDIR);
    bind_textdomain_codeset("jiashu", "UTF-8");
    textdomain("jiashu");

    while (arg < argc && argv[arg][0] == '-') {
        if (!strcmp(argv[arg], "--help") || !strcmp(argv[arg], "-h")) {
            fputs(_(usage_text), stdout);
            return 0;
        } else if (!strcmp(argv[arg], "--version")) {
            printf("jiashu %s\n", JIASHU_VERSION);
            return 0;
        } else if (!strcmp(argv[arg], "--home")) {
            if (arg + 1 >= argc)
                return app_usage("--home needs a directory");
            home_option = argv[arg + 1];
            arg += 2;
        } else if (!strncmp(argv[arg], "--home=", 7)) {
            home_option = argv[arg] + 7;
            arg++;
        } else {
            return app_usage("unknown option '%s'", argv[arg]);
        }
    }
    if (arg >= argc)
        return app_usage("no command given");

    ctx.home = resolve_home(home_option, home_buf, sizeof(home_buf));
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (!strcmp(argv[arg], commands[i].name)) {
            if (!ctx.home)
                return app_fail("no home directory: set --home, JIASHU_HOME or HOME");
            return commands[i].run(&ctx, argc - arg, argv + arg);
        }
    }
    return app_usage("unknown command '%s'", argv[arg]);
}
