/*
 * jiashu: the command line. Resolves the home directory once and hands the
 * rest of the arguments to the command named on the line.
 */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/audio/audio.h"
#include "commands.h"
#include "net/sync/sync.h"
#include "util/util.h"

static const struct {
    const char *name;
    app_command_fn run;
} commands[] = {
    {"encode", cmd_encode}, {"decode", cmd_decode},   {"setup", cmd_setup},
    {"family", cmd_family}, {"record", cmd_record},   {"sync", cmd_sync},
    {"inbox", cmd_inbox},   {"outbox", cmd_outbox},   {"play", cmd_play},
    {"export", cmd_export}, {"station", cmd_station}, {"config", cmd_config},
    {"send", cmd_send},     {"discard", cmd_discard}, {"data", cmd_data},
};

static const char *const usage_text = N_(
    "Usage: jiashu [--home DIR] COMMAND [ARGS]\n"
    "\n"
    "Voice letters between a family's phones, kept safe until they are heard.\n"
    "\n"
    "  encode IN.wav OUT.opus [--bitrate BPS] [--no-cleanup]\n"
    "  decode IN.opus OUT.wav\n"
    "  setup --relay URL --name NAME\n"
    "  family create | invite | join CODE [--wait S] [--plain]\n"
    "  family remove NAME | upgrade\n"
    "  family [--json]           list the members\n"
    "  record [--to NAME] [--max-seconds N] [--input FILE.wav] [--draft] [--at HH:MM]\n"
    "  send ID | discard ID      send a draft, or throw it away\n"
    "  sync [--watch] [--json] [--deadline S]  one pass (at most S seconds, 180), or keep going\n"
    "  inbox [--json]\n"
    "  outbox [--json]\n"
    "  play (ID | --next) [--output FILE.wav]\n"
    "  export ID FILE.opus\n"
    "  data [--json]             this month's data, per family member\n"
    "  config KEY [VALUE|off]    e.g. data_budget_mb 50, quiet_hours 22:00-07:00\n"
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

/* "A,B" or "A,B,C" of whole numbers into n values; 0 or -EINVAL. */
static int parse_list(const char *text, uint64_t *values, int n)
{
    char buf[64];
    char *p = buf, *comma;

    if (!text || strlen(text) >= sizeof(buf))
        return -EINVAL;
    strcpy(buf, text);
    for (int i = 0; i < n; i++) {
        comma = strchr(p, ',');
        if ((comma != NULL) != (i < n - 1))
            return -EINVAL;
        if (comma)
            *comma = '\0';
        if (ju_parse_u64(p, 86400000, &values[i]) < 0)
            return -EINVAL;
        p = comma + 1;
    }
    return 0;
}

/* ALSA's and JACK's messages, when JIASHU_AUDIO_TRACE asks for them. */
static void audio_trace(void *user, const char *line)
{
    (void)user;
    fprintf(stderr, "jiashu: audio: %s\n", line);
}

/* The libraries read no environment: what the tests and a debugging user
 * set there is read here, once, and handed down. */
static void configure_from_environment(void)
{
    struct jn_net_overrides net = {0};
    uint64_t v[3];
    const char *rate = getenv("JIASHU_AUDIO_RATE");
    const char *audio_trace_on = getenv("JIASHU_AUDIO_TRACE");

    net.ca_file = getenv("CURL_CA_BUNDLE");
    if (parse_list(getenv("JIASHU_NET_TIMEOUTS"), v, 3) == 0) { /* CONNECT_S,LOW_BYTES,LOW_S */
        net.connect_timeout_s = (long)v[0];
        net.low_speed_bytes = (long)v[1];
        net.low_speed_time_s = (long)v[2];
    }
    if (parse_list(getenv("JIASHU_BACKOFF_MS"), v, 2) == 0) { /* BASE_MS,CAP_MS */
        net.backoff_base_ms = (unsigned)v[0];
        net.backoff_cap_ms = (unsigned)v[1];
    }
    net.trace_http = getenv("JIASHU_HTTP_TRACE") != NULL;
    jn_net_set_overrides(&net);
    if (rate && ju_parse_u64(rate, 192000, &v[0]) == 0)
        audio_force_device_rate((unsigned)v[0]);
    /* Looking for a microphone never starts a JACK server (record, play and
     * the station all open the sound card). An explicit setting wins. */
    setenv("JACK_NO_START_SERVER", "1", 0);
    /* A user has no use for ALSA's and JACK's chatter about devices that are
     * not there; a developer chasing a sound problem asks for it. */
    if (audio_trace_on && *audio_trace_on)
        audio_set_log(audio_trace, NULL);
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
    configure_from_environment();

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
    {
        const char *now = getenv("JIASHU_NOW");
        uint64_t s;
        if (now && *now && ju_parse_u64(now, INT64_MAX / 1000, &s) == 0)
            ctx.clock_offset_ms = (int64_t)s * 1000 - ju_wall_ms();
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (!strcmp(argv[arg], commands[i].name)) {
            if (!ctx.home)
                return app_fail("no home directory: set --home, JIASHU_HOME or HOME");
            return commands[i].run(&ctx, argc - arg, argv + arg);
        }
    }
    return app_usage("unknown command '%s'", argv[arg]);
}
