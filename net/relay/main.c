/*
 * jiashu-relay: the store-and-forward server. Runs in the foreground, one
 * log line per request on stderr, stops cleanly on SIGTERM or SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <libintl.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "config.h"
#include "net/relay/relay.h"

/* Marks a string for translation; translated when printed. */
#define N_(s) (s)

/* The usage, one translatable line per option, so that adding an option
 * leaves every other line's translation in place. */
static const char *const usage_head =
    N_("usage: jiashu-relay --listen HOST:PORT --db PATH [options]\n"
       "       jiashu-relay --db DATABASE --migrate | --check\n"
       "\n"
       "Runs a jiashu relay in the foreground (protocol: net/PROTOCOL.md).\n"
       "DATABASE is a SQLite file, or postgresql://... for a PostgreSQL database\n"
       "that several relay processes share (docs/relay-postgresql.md).\n"
       "--migrate brings the database's schema to this version and exits;\n"
       "--check exits 0 when the database answers and has this version's schema.\n"
       "PORT 0 picks a free port; the chosen one is printed on stderr.\n"
       "IPv6 addresses go in brackets: [::1]:8080.\n"
       "\n"
       "options (defaults in brackets):\n");
static const struct {
    const char *option;
    const char *help;
} usage_options[] = {
    {"--web DIR", N_("serve the parents' page from DIR, or 'none' [the one installed]")},
    {"--max-message-bytes N", N_("longest message accepted [6327680]")},
    {"--max-family-bytes N", N_("storage per family [268435456]")},
    {"--max-mailbox N", N_("undelivered messages per device [1000]")},
    {"--max-connections N", N_("simultaneous connections [10000]")},
    {"--max-connections-per-ip N", N_("connections per address [64; 0 = no limit]")},
    {"--header-timeout S", N_("a request's headers must arrive within [10]")},
    {"--min-body-rate N", N_("bytes/s a body averages after 10 s [256; 0 = none]")},
    {"--max-buffered-per-ip N", N_("request body bytes in memory per address [8388608]")},
    {"--trusted-proxy A,B", N_("proxies whose Forwarded/X-Forwarded-For is believed")},
    {"--max-wait S", N_("longest long poll [60]")},
    {"--idle-timeout S", N_("close silent connections [30]")},
    {"--upload-ttl S", N_("partial uploads expire [86400]")},
    {"--invite-ttl S", N_("invites expire [86400]")},
    {"--retention S", N_("kept after every recipient has it [604800]")},
    {"--max-age S", N_("kept at most [2592000]")},
    {"--cleanup-interval S", N_("how often expired things are removed [60]")},
    {"--token-rate R", N_("requests/s per device [20]")},
    {"--token-burst N", N_("requests per device in a burst [100]")},
    {"--join-rate R", N_("join/create attempts/s per address [0.1]")},
    {"--join-burst N", N_("join/create attempts per address in a burst [5]")},
    {"--join-rate-global R", N_("well-formed join attempts/s, all addresses [1]")},
    {"--invite-digits N", N_("length of invite codes, 6..18 [10]")},
    {"--quiet", N_("no per-request log lines")},
    {"--help, --version", ""},
};

static void print_usage(void)
{
    fputs(gettext(usage_head), stdout);
    for (size_t i = 0; i < sizeof usage_options / sizeof usage_options[0]; i++) {
        const char *help = usage_options[i].help[0] ? gettext(usage_options[i].help) : "";
        printf("  %-26s %s\n", usage_options[i].option, help);
    }
}

static int fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("jiashu-relay: ", stderr);
    vfprintf(stderr, gettext(fmt), ap);
    fputc('\n', stderr);
    va_end(ap);
    return status;
}

/* What went wrong with the database, for an operator. */
static const char *db_error(int err)
{
    if (err == -ENOTCONN)
        return N_("the database cannot be reached");
    if (err == -EPROTO)
        return N_("the database's schema is not this relay's version (run --migrate)");
    return ju_strerror(err);
}

static int number(const char *s, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0) || v > max)
        return -1;
    *out = v;
    return 0;
}

/* HOST:PORT or [V6]:PORT into host (in place) and port. */
static int split_listen(char *arg, const char **host, unsigned *port)
{
    char *colon = strrchr(arg, ':');
    if (!colon || colon == arg)
        return -1;
    *colon = '\0';
    char *end;
    errno = 0;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || p > 65535)
        return -1;
    if (arg[0] == '[') {
        size_t n = strlen(arg);
        if (n < 3 || arg[n - 1] != ']')
            return -1;
        arg[n - 1] = '\0';
        arg++;
    }
    *host = arg;
    *port = (unsigned)p;
    return 0;
}

int main(int argc, char **argv)
{
    enum {
        O_MSG = 256,
        O_FAM,
        O_MAILBOX,
        O_CONN,
        O_CONN_IP,
        O_WAIT,
        O_IDLE,
        O_UPLOAD_TTL,
        O_INVITE_TTL,
        O_RETENTION,
        O_MAX_AGE,
        O_CLEANUP,
        O_TOKEN_RATE,
        O_TOKEN_BURST,
        O_JOIN_RATE,
        O_JOIN_BURST,
        O_JOIN_RATE_GLOBAL,
        O_INVITE_DIGITS,
        O_HEADER_TIMEOUT,
        O_MIN_BODY_RATE,
        O_BUFFERED_IP,
        O_QUIET, /* options before this one take a number */
        O_PROXY,
        O_MIGRATE,
        O_CHECK,
    };
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"db", required_argument, NULL, 'd'},
        {"web", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"max-message-bytes", required_argument, NULL, O_MSG},
        {"max-family-bytes", required_argument, NULL, O_FAM},
        {"max-mailbox", required_argument, NULL, O_MAILBOX},
        {"max-connections", required_argument, NULL, O_CONN},
        {"max-connections-per-ip", required_argument, NULL, O_CONN_IP},
        {"max-wait", required_argument, NULL, O_WAIT},
        {"idle-timeout", required_argument, NULL, O_IDLE},
        {"upload-ttl", required_argument, NULL, O_UPLOAD_TTL},
        {"invite-ttl", required_argument, NULL, O_INVITE_TTL},
        {"retention", required_argument, NULL, O_RETENTION},
        {"max-age", required_argument, NULL, O_MAX_AGE},
        {"cleanup-interval", required_argument, NULL, O_CLEANUP},
        {"token-rate", required_argument, NULL, O_TOKEN_RATE},
        {"token-burst", required_argument, NULL, O_TOKEN_BURST},
        {"join-rate", required_argument, NULL, O_JOIN_RATE},
        {"join-burst", required_argument, NULL, O_JOIN_BURST},
        {"join-rate-global", required_argument, NULL, O_JOIN_RATE_GLOBAL},
        {"invite-digits", required_argument, NULL, O_INVITE_DIGITS},
        {"header-timeout", required_argument, NULL, O_HEADER_TIMEOUT},
        {"min-body-rate", required_argument, NULL, O_MIN_BODY_RATE},
        {"max-buffered-per-ip", required_argument, NULL, O_BUFFERED_IP},
        {"trusted-proxy", required_argument, NULL, O_PROXY},
        {"quiet", no_argument, NULL, O_QUIET},
        {"migrate", no_argument, NULL, O_MIGRATE},
        {"check", no_argument, NULL, O_CHECK},
        {NULL, 0, NULL, 0},
    };
    struct jn_relay_config cfg;
    jn_relay_config_init(&cfg);
    char *listen_arg = NULL;
    const char *db = NULL;
    int migrate = 0, check = 0;
    /* The page installed with the relay, unless --web names another folder
     * (a build tree) or "none". */
    const char *web = NULL;
    const char *localedir = getenv("JIASHU_LOCALEDIR");
    int c;
    /* Messages in the operator's language; numbers stay in the C locale. */
    setlocale(LC_MESSAGES, "");
    setlocale(LC_CTYPE, "");
    bindtextdomain("jiashu", localedir && *localedir ? localedir : JIASHU_LOCALEDIR);
    bind_textdomain_codeset("jiashu", "UTF-8");
    textdomain("jiashu");
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        double v = 0;
        if (c >= O_MSG && c < O_QUIET && number(optarg, 1e12, &v) < 0)
            return fail(2, "%s wants a non-negative number, not '%s' (see --help)",
                        argv[optind - 1], optarg);
        switch (c) {
        case 'l':
            listen_arg = optarg;
            break;
        case 'd':
            db = optarg;
            break;
        case 'w':
            web = optarg;
            break;
        case 'h':
            print_usage();
            return 0;
        case 'V':
            printf("jiashu-relay %s\n", JIASHU_VERSION);
            return 0;
        case O_MSG:
            cfg.max_message_bytes = (uint64_t)v;
            break;
        case O_FAM:
            cfg.max_family_bytes = (uint64_t)v;
            break;
        case O_MAILBOX:
            cfg.max_mailbox = (unsigned)v;
            break;
        case O_CONN:
            cfg.max_connections = (unsigned)v;
            break;
        case O_CONN_IP:
            cfg.max_connections_per_ip = (unsigned)v;
            break;
        case O_WAIT:
            cfg.max_wait_s = (unsigned)v;
            break;
        case O_IDLE:
            cfg.idle_timeout_s = (unsigned)v;
            break;
        case O_UPLOAD_TTL:
            cfg.upload_ttl_s = (unsigned)v;
            break;
        case O_INVITE_TTL:
            cfg.invite_ttl_s = (unsigned)v;
            break;
        case O_RETENTION:
            cfg.retention_s = (unsigned)v;
            break;
        case O_MAX_AGE:
            cfg.max_age_s = (unsigned)v;
            break;
        case O_CLEANUP:
            cfg.cleanup_interval_s = (unsigned)v;
            break;
        case O_TOKEN_RATE:
            cfg.token_rate = v;
            break;
        case O_TOKEN_BURST:
            cfg.token_burst = (unsigned)v;
            break;
        case O_JOIN_RATE:
            cfg.join_rate = v;
            break;
        case O_JOIN_BURST:
            cfg.join_burst = (unsigned)v;
            break;
        case O_JOIN_RATE_GLOBAL:
            cfg.join_rate_global = v;
            break;
        case O_INVITE_DIGITS:
            cfg.invite_digits = (unsigned)v;
            break;
        case O_HEADER_TIMEOUT:
            cfg.header_timeout_s = (unsigned)v;
            break;
        case O_MIN_BODY_RATE:
            cfg.min_body_rate = (unsigned)v;
            break;
        case O_BUFFERED_IP:
            cfg.max_buffered_per_ip = (uint64_t)v;
            break;
        case O_PROXY:
            cfg.trusted_proxies = optarg;
            break;
        case O_QUIET:
            cfg.quiet = 1;
            break;
        case O_MIGRATE:
            migrate = 1;
            break;
        case O_CHECK:
            check = 1;
            break;
        default:
            return fail(2, "unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return fail(2, "unexpected argument '%s' (see --help)", argv[optind]);
    if ((migrate || check) && !db)
        return fail(2, "--migrate and --check need --db DATABASE (see --help)");
    if (migrate) {
        int version = 0;
        int err = jn_relay_migrate(db, &version);
        if (err < 0)
            return fail(1, "cannot migrate the database: %s", gettext(db_error(err)));
        fprintf(stderr, "jiashu-relay: the database has schema version %d\n", version);
        return 0;
    }
    if (check) {
        int err = jn_relay_check(db);
        if (err < 0)
            return fail(1, "database check failed: %s", gettext(db_error(err)));
        fprintf(stderr, "jiashu-relay: the database answers and its schema is current\n");
        return 0;
    }
    if (!listen_arg || !db)
        return fail(2, "--listen HOST:PORT and --db PATH are required (see --help)");
    unsigned port;
    if (split_listen(listen_arg, &cfg.host, &port) < 0)
        return fail(2, "--listen wants HOST:PORT, for example 127.0.0.1:8080");
    cfg.port = (uint16_t)port;
    cfg.db_path = db;
    if (!web) {
        struct stat st;
        if (stat(JIASHU_WEBDIR "/files.txt", &st) == 0)
            cfg.web_dir = JIASHU_WEBDIR;
    } else if (strcmp(web, "none")) {
        cfg.web_dir = web;
    }

    /* Signals are taken by sigwait here, never delivered to the server's threads. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* A service starts with a soft limit of 1024 open files and a far
     * higher hard one: every connection is a file, so take what is allowed. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    struct jn_relay *relay;
    int err = jn_relay_create(&cfg, &relay);
    if (err < 0)
        return fail(1, "cannot start on %s:%u with %s: %s", cfg.host, port, db,
                    gettext(ju_strerror(err)));
    int v6 = strchr(cfg.host, ':') != NULL;
    fprintf(stderr, "jiashu-relay: listening on %s%s%s:%u\n", v6 ? "[" : "", cfg.host,
            v6 ? "]" : "", jn_relay_port(relay));
    fflush(stderr);
    int sig = 0;
    sigwait(&set, &sig);
    jn_relay_destroy(relay);
    fprintf(stderr, "jiashu-relay: stopped on signal %d\n", sig);
    return 0;
}
