/*
 * jiashu-relay: the store-and-forward server. Runs in the foreground, one
 * log line per request on stderr, stops cleanly on SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <libintl.h>
#include <locale.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "net/relay/relay.h"

/* Marks a string for translation; translated when printed. */
#define N_(s) (s)

/* The usage, one translatable line per option, so that adding an option
 * leaves every other line's translation in place. */
static const char *const usage_head =
    N_("usage: jiashu-relay --listen HOST:PORT --db PATH [options]\n"
       "       jiashu-relay --config FILE [options]\n"
       "       jiashu-relay --db DATABASE --migrate | --check\n"
       "\n"
       "Runs a jiashu relay in the foreground (protocol: net/PROTOCOL.md).\n"
       "DATABASE is a SQLite file, or postgresql://... for a PostgreSQL database\n"
       "that several relay processes share (docs/relay-postgresql.md).\n"
       "--migrate brings the database's schema to this version and exits;\n"
       "--check exits 0 when the database answers and has this version's schema.\n"
       "PORT 0 picks a free port; the chosen one is printed on stderr.\n"
       "HOST is an address or a name (localhost); IPv6 addresses go in\n"
       "brackets: [::1]:8080.\n"
       "--config FILE reads one option a line, \"listen 127.0.0.1:8080\",\n"
       "# starts a comment; options on the command line win.\n"
       "Sizes (N bytes) take K, M, G (2M = 2097152); durations (S seconds)\n"
       "take s, m, h, d, w (7d = 604800).\n"
       "\n"
       "options (defaults in brackets):\n");
static const struct {
    const char *option;
    const char *help;
} usage_options[] = {
    {"--config FILE", N_("options from FILE, one a line [none]")},
    {"--web DIR", N_("serve the parents' page from DIR, or 'none' [the one installed]")},
    {"--max-message-bytes N", N_("longest message accepted [6327680]")},
    {"--max-family-bytes N", N_("storage per family [256M]")},
    {"--max-storage-bytes N", N_("all families together, then 507 [0 = no limit]")},
    {"--min-free-bytes N", N_("disk space kept free, then 507 [256M]")},
    {"--max-families N", N_("families on this relay [10000; 0 = no limit]")},
    {"--max-mailbox N", N_("undelivered messages per device [1000]")},
    {"--max-connections N", N_("simultaneous connections [10000]")},
    {"--max-connections-per-ip N", N_("connections per address [64; 0 = no limit]")},
    {"--header-timeout S", N_("a request's headers must arrive within [10s]")},
    {"--min-body-rate N", N_("bytes/s a body averages after 10 s [256; 0 = none]")},
    {"--max-buffered-per-ip N", N_("request body bytes in memory per address [8M]")},
    {"--trusted-proxy A,B", N_("proxies whose Forwarded/X-Forwarded-For is believed")},
    {"--max-wait S", N_("longest long poll [60s]")},
    {"--idle-timeout S", N_("close silent connections [30s]")},
    {"--upload-ttl S", N_("partial uploads expire [1d]")},
    {"--invite-ttl S", N_("invites expire [1d]")},
    {"--retention S", N_("kept after every recipient has it [7d]")},
    {"--max-age S", N_("kept at most [30d]")},
    {"--cleanup-interval S", N_("how often expired things are removed [60s]")},
    {"--cleanup-batch N", N_("rows removed per transaction [8]")},
    {"--token-rate R", N_("requests/s per device [20]")},
    {"--token-burst N", N_("requests per device in a burst [100]")},
    {"--join-rate R", N_("join/create attempts/s per address [0.1]")},
    {"--join-burst N", N_("join/create attempts per address in a burst [5]")},
    {"--join-rate-global R", N_("well-formed join attempts/s, all addresses [1]")},
    {"--invite-digits N", N_("length of invite codes, 6..18 [10]")},
    {"--quiet", N_("no per-request log lines")},
    {"--log-format F", N_("text, or json: one JSON object a line [text]")},
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

/*
 * The program's lines on stderr: "jiashu-relay: ..." (text), or with
 * --log-format json one JSON object a line, for a log collector:
 *   {"time": "2026-12-01T06:00:00.123Z", "level": "info"|"error",
 *    "pid": N, "msg": "..."}
 * and for each request, instead of msg, "event": "request" with method,
 * route, status, bytes_in, bytes_out, ms and closed / bytes_kept
 * (docs/relay-operations.md). jansson escapes what a string holds; the
 * library already escaped anything a client sent (jn_relay_config.log).
 */
static int log_json;

static void json_time(char *out, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* Writes one JSON object as a line; obj is taken. */
static void emit_json(json_t *obj)
{
    char *text =
        obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(obj);
    if (text) {
        fprintf(stderr, "%s\n", text);
        free(text);
    }
}

static json_t *json_line(const char *level)
{
    char when[40];
    json_time(when, sizeof when);
    return json_pack("{s:s,s:s,s:I}", "time", when, "level", level, "pid", (json_int_t)getpid());
}

/* One line of the program's own (level "info" or "error"). */
static void say(const char *level, const char *msg)
{
    if (!log_json) {
        fprintf(stderr, "jiashu-relay: %s\n", msg);
        return;
    }
    json_t *obj = json_line(level);
    json_t *m = json_string(msg);
    if (!m) { /* not UTF-8: a translation in another charset */
        char ascii[1024];
        size_t i;
        for (i = 0; msg[i] && i + 1 < sizeof ascii; i++)
            ascii[i] = (unsigned char)msg[i] < 0x80 ? msg[i] : '?';
        ascii[i] = '\0';
        m = json_string(ascii);
    }
    if (obj && m)
        json_object_set_new(obj, "msg", m);
    else
        json_decref(m);
    emit_json(obj);
}

static void sayf(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sayf(const char *level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    say(level, msg);
}

/* A request's line as fields (jn_relay_config.log_request). */
static void log_request(void *user, const struct jn_relay_request_log *e)
{
    (void)user;
    json_t *obj = json_line("info");
    if (!obj)
        return;
    json_t *fields =
        json_pack("{s:s,s:s,s:s,s:i,s:I,s:I,s:f,s:b,s:b}", "event", "request", "method", e->method,
                  "route", e->route, "status", (int)e->status, "bytes_in", (json_int_t)e->bytes_in,
                  "bytes_out", (json_int_t)e->bytes_out, "ms", (double)(long)(e->ms * 10) / 10,
                  "closed", e->closed, "bytes_kept", e->bytes_kept);
    if (!fields) /* a method jansson would not take: cannot happen once escaped */
        fields =
            json_pack("{s:s,s:s,s:i}", "event", "request", "method", "?", "status", (int)e->status);
    json_object_update(obj, fields);
    json_decref(fields);
    emit_json(obj);
}

static int fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, gettext(fmt), ap);
    va_end(ap);
    say("error", msg);
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

/* What a number option counts: its unit suffixes follow from it. */
enum unit { UNIT_PLAIN, UNIT_BYTES, UNIT_SECONDS };

/* A non-negative number up to max, with the suffixes of its unit:
 * bytes K M G T (powers of 1024, an optional trailing B or iB), seconds
 * s m h d w. Suffixes are what operators write ("2M", "7d"); a plain number
 * keeps meaning bytes or seconds as before. */
static int number(const char *s, enum unit unit, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v >= 0))
        return -1;
    double scale = 1;
    if (*end && unit == UNIT_BYTES) {
        const char *const prefixes = "KMGT";
        const char *at = strchr(prefixes, toupper((unsigned char)*end));
        if (at) {
            for (const char *p = prefixes; p <= at; p++)
                scale *= 1024;
            end++;
            if (*end == 'i' && end[1] == 'B')
                end += 2;
            else if (*end == 'B')
                end++;
        } else if (*end == 'B') {
            end++;
        }
    } else if (*end && unit == UNIT_SECONDS && !end[1]) {
        switch (*end) {
        case 's':
            scale = 1;
            break;
        case 'm':
            scale = 60;
            break;
        case 'h':
            scale = 3600;
            break;
        case 'd':
            scale = 86400;
            break;
        case 'w':
            scale = 7 * 86400;
            break;
        default:
            return -1;
        }
        end++;
    }
    if (*end || v * scale > max)
        return -1;
    *out = v * scale;
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

/* A name (localhost, relay.example.org) into the numeric address the
 * server binds, IPv4 first when the name has both: the address printed at
 * start is then the one to put in a proxy's configuration. */
static int resolve_host(const char *host, char *numeric, size_t size)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *found = NULL;
    int err = getaddrinfo(host, NULL, &hints, &found);
    if (err != 0)
        return -1;
    const struct addrinfo *pick = found;
    for (const struct addrinfo *a = found; a; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    }
    err = getnameinfo(pick->ai_addr, pick->ai_addrlen, numeric, (socklen_t)size, NULL, 0,
                      NI_NUMERICHOST);
    freeaddrinfo(found);
    return err == 0 ? 0 : -1;
}

/* The folder that will hold the database, or "." */
static void db_folder(const char *db, char *folder, size_t size)
{
    const char *slash = strrchr(db, '/');
    if (!slash)
        snprintf(folder, size, ".");
    else if (slash == db)
        snprintf(folder, size, "/");
    else
        snprintf(folder, size, "%.*s", (int)(slash - db), db);
}

/* One option a line ("listen 127.0.0.1:8080", "retention = 7d"), # comments,
 * into an argument vector for getopt_long as if it came first on the
 * command line. The vector and its strings belong to the caller. */
static int read_config(const char *path, char ***out_argv, int *out_argc, char *why,
                       size_t why_size)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    char **args = NULL;
    int n = 1, lineno = 0, err = -1;
    if (!f) {
        snprintf(why, why_size, "%s", strerror(errno));
        return -1;
    }
    args = calloc(1, sizeof *args);
    if (!args)
        goto out;
    args[0] = strdup("jiashu-relay");
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(why, why_size, "line %d is too long", lineno);
            goto out;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *key = line + strspn(line, " \t\r\n");
        if (!*key)
            continue;
        char *key_end = key + strcspn(key, " \t\r\n=");
        char *value = key_end + strspn(key_end, " \t\r\n=");
        *key_end = '\0';
        size_t vlen = strlen(value);
        while (vlen && strchr(" \t\r\n", value[vlen - 1]))
            value[--vlen] = '\0';
        if (!strcmp(key, "config") || !strcmp(key, "help") || !strcmp(key, "version")) {
            snprintf(why, why_size, "line %d: '%s' cannot be set in a configuration file", lineno,
                     key);
            goto out;
        }
        char **grown = realloc(args, (size_t)(n + 3) * sizeof *args);
        if (!grown)
            goto out;
        args = grown;
        size_t klen = strlen(key) + 3;
        args[n] = malloc(klen);
        if (!args[n])
            goto out;
        snprintf(args[n++], klen, "--%s", key);
        args[n] = NULL;
        if (vlen) {
            args[n] = strdup(value);
            if (!args[n])
                goto out;
            args[++n] = NULL;
        }
    }
    if (ferror(f)) {
        snprintf(why, why_size, "%s", strerror(EIO));
        goto out;
    }
    err = 0;
out:
    fclose(f);
    if (err < 0 && args) {
        for (int i = 0; i < n && args[i]; i++)
            free(args[i]);
        free(args);
        args = NULL;
        n = 0;
    }
    *out_argv = args;
    *out_argc = n;
    return err;
}

static void free_args(char **args, int n)
{
    for (int i = 0; args && i < n; i++)
        free(args[i]);
    free(args);
}

struct settings {
    struct jn_relay_config cfg;
    char *listen_arg;
    const char *db;
    int migrate, check;
    /* The page installed with the relay, unless --web names another folder
     * (a build tree) or "none". */
    const char *web;
};

static int serve(struct settings *set)
{
    struct jn_relay_config *cfg = &set->cfg;
    const char *db = set->db;
    if ((set->migrate || set->check) && !db)
        return fail(2, "--migrate and --check need --db DATABASE (see --help)");
    if (set->migrate) {
        int version = 0;
        int err = jn_relay_migrate(db, &version);
        if (err < 0)
            return fail(1, "cannot migrate the database: %s", gettext(db_error(err)));
        sayf("info", "the database has schema version %d", version);
        return 0;
    }
    if (set->check) {
        int err = jn_relay_check(db);
        if (err < 0)
            return fail(1, "database check failed: %s", gettext(db_error(err)));
        say("info", "the database answers and its schema is current");
        return 0;
    }
    if (!set->listen_arg || !db)
        return fail(2, "--listen HOST:PORT and --db PATH are required (see --help)");
    unsigned port;
    const char *host;
    if (split_listen(set->listen_arg, &host, &port) < 0)
        return fail(2, "--listen wants HOST:PORT, for example 127.0.0.1:8080");
    char numeric[NI_MAXHOST];
    if (resolve_host(host, numeric, sizeof numeric) < 0)
        return fail(2, "--listen: '%s' is neither an address nor a name this machine knows", host);
    cfg->host = numeric;
    cfg->port = (uint16_t)port;
    cfg->db_path = db;
    struct stat st;
    if (!set->web) {
        if (stat(JIASHU_WEBDIR "/files.txt", &st) == 0)
            cfg->web_dir = JIASHU_WEBDIR;
    } else if (strcmp(set->web, "none")) {
        cfg->web_dir = set->web;
    }

    /* A SQLite file's folder must exist; a PostgreSQL URL has none. */
    char folder[4096];
    db_folder(db, folder, sizeof folder);
    if (!strstr(db, "://") && (stat(folder, &st) < 0 || !S_ISDIR(st.st_mode)))
        return fail(1,
                    "--db: the folder %s does not exist; create it (mkdir -m 0700 %s) or "
                    "choose another path",
                    folder, folder);

    /* A service starts with a soft limit of 1024 open files and a far
     * higher hard one: every connection is a file, so take what is allowed. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    /* Signals are taken by sigwait here, never delivered to the server's threads. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct jn_relay *relay;
    int err = jn_relay_create(cfg, &relay);
    if (err < 0)
        return fail(1, "cannot start on %s:%u with %s: %s", cfg->host, port, db,
                    gettext(ju_strerror(err)));
    int v6 = strchr(cfg->host, ':') != NULL;
    sayf("info", "listening on %s%s%s:%u", v6 ? "[" : "", cfg->host, v6 ? "]" : "",
         jn_relay_port(relay));
    fflush(stderr);
    int sig = 0;
    sigwait(&signals, &sig);
    jn_relay_stop(relay);
    uint64_t syncs, acked;
    jn_relay_sync_stats(relay, &syncs, &acked);
    /* The group commit's batch size, for whoever tunes or benchmarks it. */
    sayf("info", "%llu writing requests acknowledged after %llu fdatasyncs",
         (unsigned long long)acked, (unsigned long long)syncs);
    jn_relay_destroy(relay);
    sayf("info", "stopped on signal %d", sig);
    return 0;
}

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
    O_STORAGE,
    O_MIN_FREE,
    O_FAMILIES,
    O_CLEANUP_BATCH,
    O_QUIET, /* options before this one take a number */
    O_PROXY,
    O_CONFIG,
    O_MIGRATE,
    O_CHECK,
    O_LOG_FORMAT,
};

static const struct option opts[] = {
    {"listen", required_argument, NULL, 'l'},
    {"db", required_argument, NULL, 'd'},
    {"config", required_argument, NULL, O_CONFIG},
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
    {"max-storage-bytes", required_argument, NULL, O_STORAGE},
    {"min-free-bytes", required_argument, NULL, O_MIN_FREE},
    {"max-families", required_argument, NULL, O_FAMILIES},
    {"cleanup-batch", required_argument, NULL, O_CLEANUP_BATCH},
    {"trusted-proxy", required_argument, NULL, O_PROXY},
    {"quiet", no_argument, NULL, O_QUIET},
    {"migrate", no_argument, NULL, O_MIGRATE},
    {"check", no_argument, NULL, O_CHECK},
    {"log-format", required_argument, NULL, O_LOG_FORMAT},
    {NULL, 0, NULL, 0},
};

static enum unit unit_of(int option)
{
    switch (option) {
    case O_MSG:
    case O_FAM:
    case O_BUFFERED_IP:
    case O_MIN_BODY_RATE:
    case O_STORAGE:
    case O_MIN_FREE:
        return UNIT_BYTES;
    case O_WAIT:
    case O_IDLE:
    case O_UPLOAD_TTL:
    case O_INVITE_TTL:
    case O_RETENTION:
    case O_MAX_AGE:
    case O_CLEANUP:
    case O_HEADER_TIMEOUT:
        return UNIT_SECONDS;
    default:
        return UNIT_PLAIN;
    }
}

/* Applies the options of one vector (a configuration file's, then the
 * command line's) to settings. Returns -1 to go on, else the exit status. */
static int apply_options(int argc, char **argv, const char *where, struct settings *set)
{
    struct jn_relay_config *cfg = &set->cfg;
    int c, which = 0;
    optind = 0; /* GNU getopt: a fresh scan of a new vector */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, &which)) != -1) {
        double v = 0;
        if (c >= O_MSG && c < O_QUIET && number(optarg, unit_of(c), 1e12, &v) < 0) {
            const char *hint = unit_of(c) == UNIT_BYTES     ? " (bytes; 2M, 512K)"
                               : unit_of(c) == UNIT_SECONDS ? " (seconds; 90s, 15m, 7d)"
                                                            : "";
            return fail(2, "%s--%s wants a non-negative number%s, not '%s' (see --help)", where,
                        opts[which].name, hint, optarg);
        }
        switch (c) {
        case 'l':
            set->listen_arg = optarg;
            break;
        case 'd':
            set->db = optarg;
            break;
        case 'w':
            set->web = optarg;
            break;
        case O_CONFIG:
            break; /* read before every other option */
        case 'h':
            print_usage();
            return 0;
        case 'V':
            printf("jiashu-relay %s\n", JIASHU_VERSION);
            return 0;
        case O_MSG:
            cfg->max_message_bytes = (uint64_t)v;
            break;
        case O_FAM:
            cfg->max_family_bytes = (uint64_t)v;
            break;
        case O_MAILBOX:
            cfg->max_mailbox = (unsigned)v;
            break;
        case O_CONN:
            cfg->max_connections = (unsigned)v;
            break;
        case O_CONN_IP:
            cfg->max_connections_per_ip = (unsigned)v;
            break;
        case O_WAIT:
            cfg->max_wait_s = (unsigned)v;
            break;
        case O_IDLE:
            cfg->idle_timeout_s = (unsigned)v;
            break;
        case O_UPLOAD_TTL:
            cfg->upload_ttl_s = (unsigned)v;
            break;
        case O_INVITE_TTL:
            cfg->invite_ttl_s = (unsigned)v;
            break;
        case O_RETENTION:
            cfg->retention_s = (unsigned)v;
            break;
        case O_MAX_AGE:
            cfg->max_age_s = (unsigned)v;
            break;
        case O_CLEANUP:
            cfg->cleanup_interval_s = (unsigned)v;
            break;
        case O_TOKEN_RATE:
            cfg->token_rate = v;
            break;
        case O_TOKEN_BURST:
            cfg->token_burst = (unsigned)v;
            break;
        case O_JOIN_RATE:
            cfg->join_rate = v;
            break;
        case O_JOIN_BURST:
            cfg->join_burst = (unsigned)v;
            break;
        case O_JOIN_RATE_GLOBAL:
            cfg->join_rate_global = v;
            break;
        case O_INVITE_DIGITS:
            cfg->invite_digits = (unsigned)v;
            break;
        case O_HEADER_TIMEOUT:
            cfg->header_timeout_s = (unsigned)v;
            break;
        case O_MIN_BODY_RATE:
            cfg->min_body_rate = (unsigned)v;
            break;
        case O_BUFFERED_IP:
            cfg->max_buffered_per_ip = (uint64_t)v;
            break;
        case O_STORAGE:
            cfg->max_storage_bytes = (uint64_t)v;
            break;
        case O_MIN_FREE:
            cfg->min_free_bytes = (uint64_t)v;
            break;
        case O_FAMILIES:
            cfg->max_families = (unsigned)v;
            break;
        case O_CLEANUP_BATCH:
            cfg->cleanup_batch = (unsigned)v;
            break;
        case O_PROXY:
            cfg->trusted_proxies = optarg;
            break;
        case O_QUIET:
            cfg->quiet = 1;
            break;
        case O_MIGRATE:
            set->migrate = 1;
            break;
        case O_CHECK:
            set->check = 1;
            break;
        case O_LOG_FORMAT:
            if (strcmp(optarg, "text") && strcmp(optarg, "json"))
                return fail(2, "%s--log-format is text or json, not '%s'", where, optarg);
            log_json = strcmp(optarg, "json") == 0;
            set->cfg.log_request = log_json ? log_request : NULL;
            break;
        default:
            return fail(2, "%sunknown or incomplete option '%s' (see --help)", where,
                        argv[optind - 1]);
        }
    }
    if (optind < argc)
        return fail(2, "%sunexpected argument '%s' (see --help)", where, argv[optind]);
    return -1;
}

/* The --config FILE of the command line, if any (the last one wins). */
static const char *config_path(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            path = argv[++i];
        else if (!strncmp(argv[i], "--config=", 9))
            path = argv[i] + 9;
    }
    return path;
}

/* The relay's log: one line each on stderr, which an init system keeps. */
static void log_line(void *user, const char *line)
{
    (void)user;
    say("info", line);
}

int main(int argc, char **argv)
{
    struct settings set = {0};
    jn_relay_config_init(&set.cfg);
    set.cfg.log = log_line;
    jn_relay_set_log(log_line, NULL);
    const char *localedir = getenv("JIASHU_LOCALEDIR");
    char **file_argv = NULL;
    int file_argc = 0;
    int status;
    /* Messages in the operator's language; numbers stay in the C locale. */
    setlocale(LC_MESSAGES, "");
    setlocale(LC_CTYPE, "");
    bindtextdomain("jiashu", localedir && *localedir ? localedir : JIASHU_LOCALEDIR);
    bind_textdomain_codeset("jiashu", "UTF-8");
    textdomain("jiashu");

    const char *config = config_path(argc, argv);
    if (config) {
        char why[256] = "";
        if (read_config(config, &file_argv, &file_argc, why, sizeof why) < 0)
            return fail(2, "cannot read the configuration %s: %s", config, why);
        char where[1100];
        snprintf(where, sizeof where, "%s: ", config);
        status = apply_options(file_argc, file_argv, where, &set);
        if (status >= 0)
            goto out;
    }
    status = apply_options(argc, argv, "", &set);
    if (status >= 0)
        goto out;
    status = serve(&set);
out:
    free_args(file_argv, file_argc);
    return status;
}
