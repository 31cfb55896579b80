/*
 * The keypad station's backend. The work on a family's messages is done by
 * this program's own commands (inbox, play, record, sync), run as children
 * with that family's --home: the command line is the project's stable
 * contract, a child that crashes cannot take the screen down with it, and
 * each child can only ever see the one home it was given.
 */
#define _GNU_SOURCE
#include "station_backend.h"
#include "app/audio/audio.h"
#include "station_prompts.h"
#include "station_sound.h"
#include "store/store.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define MAX_HOMES        ST_FAMILIES_MAX
#define MAX_SYNCS        2  /* sync children at once: two cores, shared */
#define MAX_QUEUE        64 /* messages one key plays */
#define ID_MAX           80
#define INBOX_MAX        (4 << 20) /* bytes of `inbox --json` we read at most */
#define USAGE_EVERY      10000     /* ms between two measures of the storage used */
#define COUNT_EVERY      5000      /* ms between two counts of new messages */
#define RECORD_FINISH_MS 15000     /* a recording asked to stop has this long to end */
#define NAME_MAX_BYTES   64
#define ANNOUNCE_MAX_MS  15000 /* how long a letter's introduction may hold it back */

/* A letter queued to play: from `inbox --json`. */
struct letter {
    char id[ID_MAX];
    char from[NAME_MAX_BYTES];
    int64_t position_ms; /* where the listener stopped it last time, 0 from the start */
    int64_t duration_ms;
    int64_t play_after_ms; /* a bedtime letter: not before this Unix time in ms */
    bool bedtime;
};

struct home {
    unsigned number; /* family number; 0 in home mode */
    char path[512];
    pid_t sync_pid;
    int64_t next_sync; /* monotonic ms */
    int64_t last_sync; /* Unix seconds */
};

struct st_backend {
    struct st_backend_config config;
    st_registry *reg;
    char exe[PATH_MAX];
    char root[PATH_MAX];
    char trace[PATH_MAX];
    char audio_dir[PATH_MAX];
    char prompts_dir[PATH_MAX];
    char lang[8];
    st_sound *sound;
    unsigned played_files;
    struct home *homes; /* grows with the registry */
    int nhomes, homes_cap;
    int64_t now, next_usage, next_homes;
    struct st_settings settings;
    bool quiet, full;
    int64_t used_bytes;

    /* The session. Wiped by logout. */
    bool open;
    char session_home[PATH_MAX];
    struct letter queue[MAX_QUEUE];
    int queue_len, queue_pos;
    /* The letter playing: the child plays from play_from_ms, started at
     * play_started (monotonic ms); paused_at while paused. A letter waiting
     * for its introduction to be spoken starts at start_from once the
     * prompt ends (start_wait 1: just queued, 2: waiting for the prompt). */
    int64_t play_from_ms, play_started, paused_at, start_from, start_queued;
    int start_wait;
    bool paused;
    int speed; /* the listener's, in percent; 0 not read yet */
    char last_played[ID_MAX];
    pid_t play_pid, record_pid;
    int64_t record_started;
    int64_t record_stopping; /* when it was asked to stop, 0 if not */
    int record_status;       /* of the recording that ended last */
    char draft[ID_MAX];      /* the reply it left, kept back until sent */
    int count;               /* new letters but bedtime letters, at count_at */
    int64_t count_at;
    /* The bedtime letters not heard yet, at the last reading of the inbox:
     * each counts as new, and is announced, from its time on. */
    struct letter bed[MAX_QUEUE];
    int nbed;
};

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

/* ---- children -------------------------------------------------------------- */

/* Starts EXE --home HOME args... with stdin from /dev/null and stdout and
 * stderr to out_fd (or /dev/null), in its own process group so a key the
 * terminal turns into a signal does not reach it. */
static pid_t spawn(const st_backend *be, const char *home, const char *const *args, int out_fd)
{
    const char *argv[16];
    int n = 0;
    pid_t pid;

    argv[n++] = be->exe;
    argv[n++] = "--home";
    argv[n++] = home;
    for (int i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;

    pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        setpgid(0, 0);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(out_fd >= 0 ? out_fd : null, STDOUT_FILENO);
            /* A child's error line goes where the station's own go, unless
             * that is the terminal the screen is drawn on. */
            if (isatty(STDERR_FILENO))
                dup2(null, STDERR_FILENO);
        }
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        execv(be->exe, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* 1 if it still runs, 0 once it ended (*status its exit status, or 128+signal). */
static int child_running(pid_t pid, int *status)
{
    int ws;
    pid_t r = waitpid(pid, &ws, WNOHANG);

    if (r == 0)
        return 1;
    if (r < 0) {
        *status = 127;
        return 0;
    }
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
    return 0;
}

/* Asks a child to stop with sig, waits up to grace_ms, then kills it. */
static int child_stop(pid_t pid, int sig, int grace_ms)
{
    int status = 0;

    if (pid <= 0)
        return 0;
    kill(pid, sig);
    for (int waited = 0; waited < grace_ms; waited += 20) {
        if (!child_running(pid, &status))
            return status;
        ju_sleep_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 128 + SIGKILL;
}

/* Runs a command and reads its standard output (at most INBOX_MAX bytes).
 * On success *out is a NUL-terminated malloc'd buffer the caller frees. */
static int run_capture(const st_backend *be, const char *home, const char *const *args, char **out)
{
    int fds[2], status = 0, res;
    size_t len = 0, cap = 8192;
    char *buf;
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    buf = malloc(cap);
    if (!buf) {
        res = -ENOMEM;
        goto error_pipe;
    }
    pid = spawn(be, home, args, fds[1]);
    close(fds[1]);
    fds[1] = -1;
    if (pid < 0) {
        res = pid;
        goto error_buf;
    }
    for (;;) {
        ssize_t n;
        if (len + 1 >= cap) {
            char *bigger;
            if (cap >= INBOX_MAX) {
                kill(pid, SIGKILL);
                break;
            }
            bigger = realloc(buf, cap * 2);
            if (!bigger) {
                kill(pid, SIGKILL);
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        n = read(fds[0], buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        free(buf);
        return -EIO;
    }
    *out = buf;
    return 0;

error_buf:
    free(buf);
error_pipe:
    close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    return res;
}

/* ---- a home's inbox ---------------------------------------------------------- */

/* Whether an inbox entry is waiting to be heard, and whether it was heard:
 * `inbox --json` is an array of objects whose "state" is one of the store's
 * state names (docs/schema/inbox.schema.json). */
static void entry_state(json_t *entry, bool *ready, bool *played)
{
    const char *s = json_string_value(json_object_get(entry, "state"));

    *played = s && !strcmp(s, "played");
    *ready = s && !strcmp(s, "ready");
}

/* The wall clock as the program sees it (its test clock included). */
static int64_t wall_now(const st_backend *be)
{
    return ju_wall_ms() + be->config.clock_offset_ms;
}

/* Reads the inbox of home: the messages ready and not heard that may play
 * now, in the order the inbox lists them (oldest first), into ids (or, if
 * ids is NULL, how many of them are not bedtime letters into *n), the
 * newest heard one, and every bedtime letter not heard yet into be->bed. */
static int read_inbox(st_backend *be, const char *home, struct letter *ids, int max, int *n,
                      char *last_played)
{
    int64_t now = wall_now(be);
    static const char *const args[] = {"inbox", "--json", NULL};
    json_t *root, *entries, *entry;
    json_error_t jerr;
    char *text = NULL;
    size_t i;
    int res;

    *n = 0;
    if (last_played)
        last_played[0] = '\0';
    if ((res = run_capture(be, home, args, &text)) < 0)
        return res;
    be->nbed = 0;
    root = json_loads(text, 0, &jerr);
    free(text);
    if (!root)
        return -EPROTO;
    entries = root;
    if (!json_is_array(entries)) {
        json_decref(root);
        return -EPROTO;
    }
    json_array_foreach(entries, i, entry)
    {
        const char *id = json_string_value(json_object_get(entry, "id"));
        bool ready, played;
        if (!id || strlen(id) >= ID_MAX || strchr(id, '/') || id[0] == '-')
            continue;
        entry_state(entry, &ready, &played);
        struct letter found = {0};
        if (ready) {
            const char *from = json_string_value(json_object_get(entry, "from"));
            json_int_t position = json_integer_value(json_object_get(entry, "play_position_ms"));
            json_int_t duration = json_integer_value(json_object_get(entry, "duration_ms"));
            json_int_t after = json_integer_value(json_object_get(entry, "play_after_ms"));
            snprintf(found.id, sizeof(found.id), "%s", id);
            snprintf(found.from, sizeof(found.from), "%s", from ? from : "");
            found.duration_ms = duration > 0 ? duration : 0;
            /* Partly heard: it resumes there (a position at the very end starts over). */
            found.position_ms = position > 0 && position < found.duration_ms ? position : 0;
            found.bedtime = json_object_get(entry, "play_at") != NULL;
            found.play_after_ms = after > 0 ? after : 0;
            if (found.bedtime && be->nbed < MAX_QUEUE)
                be->bed[be->nbed++] = found;
        }
        if (ready && ids && *n < max && found.play_after_ms <= now)
            ids[(*n)++] = found;
        else if (ready && !ids && !found.bedtime)
            (*n)++;
        if (played && last_played)
            snprintf(last_played, ID_MAX, "%s", id);
    }
    json_decref(root);
    return 0;
}

/* ---- sync and storage ---------------------------------------------------------- */

static int64_t dir_bytes(const char *path, int depth)
{
    int64_t total = 0;
    struct dirent *de;
    DIR *dir;

    if (depth > 8)
        return 0;
    dir = opendir(path);
    if (!dir)
        return 0;
    while ((de = readdir(dir)) != NULL) {
        char sub[PATH_MAX];
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >= (int)sizeof(sub))
            continue;
        if (lstat(sub, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode))
            total += dir_bytes(sub, depth + 1);
        else if (S_ISREG(st.st_mode))
            total += (int64_t)st.st_blocks * 512;
    }
    closedir(dir);
    return total;
}

/* Station mode: the homes follow the registry (a family added by the
 * teacher starts syncing at once). */
static int load_homes(st_backend *be)
{
    unsigned *numbers;
    int n;

    if (!be->config.station)
        return 0;
    numbers = calloc(MAX_HOMES, sizeof(*numbers));
    if (!numbers)
        return -ENOMEM;
    n = st_registry_families(be->reg, numbers, MAX_HOMES);
    if (n < 0) {
        free(numbers);
        return n;
    }
    for (int i = 0; i < n; i++) {
        bool known = false;
        for (int j = 0; j < be->nhomes && !known; j++)
            known = be->homes[j].number == numbers[i];
        if (known)
            continue;
        if (be->nhomes == be->homes_cap) {
            int cap = be->homes_cap ? be->homes_cap * 2 : 16;
            struct home *more = realloc(be->homes, (size_t)cap * sizeof(*more));
            if (!more)
                break;
            be->homes = more;
            be->homes_cap = cap;
        }
        struct home *h = &be->homes[be->nhomes];
        memset(h, 0, sizeof(*h));
        h->number = numbers[i];
        if (st_registry_family_home(be->reg, numbers[i], h->path, sizeof(h->path)) < 0)
            continue;
        h->last_sync = st_registry_last_sync(be->reg, numbers[i]);
        h->next_sync = be->now;
        be->nhomes++;
    }
    free(numbers);
    return 0;
}

static void stop_syncs(st_backend *be)
{
    for (int i = 0; i < be->nhomes; i++) {
        if (be->homes[i].sync_pid > 0) {
            child_stop(be->homes[i].sync_pid, SIGTERM, 2000);
            be->homes[i].sync_pid = 0;
        }
    }
}

static void update_conditions(st_backend *be)
{
    time_t t = time(NULL);
    struct tm tm;

    localtime_r(&t, &tm);
    if (be->reg)
        st_registry_get_settings(be->reg, &be->settings);
    else
        be->settings.voice = be->config.home_voice;
    be->quiet = st_quiet_now(&be->settings, tm.tm_hour * 60 + tm.tm_min);
    if (be->now >= be->next_usage) {
        be->used_bytes = dir_bytes(be->root, 0);
        be->next_usage = be->now + USAGE_EVERY;
    }
    be->full = be->settings.quota_mb > 0 && be->used_bytes > be->settings.quota_mb * 1048576;
}

void st_backend_poll(st_backend *be, int64_t now)
{
    static const char *const sync_args[] = {"sync", NULL};
    int running = 0;

    be->now = now;
    if (now >= be->next_homes) {
        load_homes(be);
        update_conditions(be);
        be->next_homes = now + 1000;
    }
    for (int i = 0; i < be->nhomes; i++) {
        struct home *h = &be->homes[i];
        int status;
        if (h->sync_pid <= 0)
            continue;
        if (child_running(h->sync_pid, &status)) {
            running++;
            continue;
        }
        h->sync_pid = 0;
        h->next_sync = now + be->config.sync_interval_ms;
        if (status == 0) {
            h->last_sync = time(NULL);
            if (be->reg)
                st_registry_set_last_sync(be->reg, h->number, h->last_sync);
            if (be->open && !strcmp(h->path, be->session_home))
                be->count_at = 0; /* count again: something may have arrived */
        }
    }
    /* Quiet hours: no sync at all. A full store: no sync either, and the
     * teacher's screen says why, rather than evicting what nobody heard. */
    if (be->quiet || be->full) {
        stop_syncs(be);
        return;
    }
    for (int i = 0; i < be->nhomes && running < MAX_SYNCS; i++) {
        struct home *h = &be->homes[i];
        char log[PATH_MAX];
        int fd;
        if (h->sync_pid > 0 || now < h->next_sync)
            continue;
        if (snprintf(log, sizeof(log), "%s/station-sync.log", h->path) >= (int)sizeof(log))
            continue;
        fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        h->sync_pid = spawn(be, h->path, sync_args, fd);
        if (fd >= 0)
            close(fd);
        if (h->sync_pid < 0) {
            h->sync_pid = 0;
            h->next_sync = now + be->config.sync_interval_ms;
            continue;
        }
        running++;
    }
}

bool st_backend_quiet(const st_backend *be)
{
    return be->quiet;
}

bool st_backend_full(const st_backend *be)
{
    return be->full;
}

/* ---- the core's operations --------------------------------------------------- */

static void trace_line(const st_backend *be, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One line in the test trace, if there is one. */
static void trace_line(const st_backend *be, const char *fmt, ...)
{
    va_list ap;
    FILE *f;

    if (!be->trace[0] || !(f = fopen(be->trace, "a")))
        return;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fclose(f);
}

/* Stops the play child of the letter playing, if any (it keeps its own
 * position in the store, to resume there later). */
static void stop_child(st_backend *be)
{
    if (be->play_pid > 0) {
        child_stop(be->play_pid, SIGTERM, 1000);
        be->play_pid = 0;
    }
    be->play_started = 0;
    be->start_wait = 0;
}

static void stop_audio(st_backend *be)
{
    stop_child(be);
    be->paused = false;
    be->queue_len = be->queue_pos = 0;
    wipe(be->queue, sizeof(be->queue));
}

static void open_session(st_backend *be, const char *home)
{
    snprintf(be->session_home, sizeof(be->session_home), "%s", home);
    be->open = true;
    be->count = -1;
    be->count_at = 0;
    be->speed = 0;
}

static int op_login(void *p, unsigned family, const char *pin, int64_t *wait_ms)
{
    st_backend *be = p;
    char home[PATH_MAX];
    int res;

    if (!be->config.station)
        return -EINVAL;
    res = st_registry_check_family(be->reg, family, pin, wait_ms);
    if (res != 0)
        return res;
    if ((res = st_registry_family_home(be->reg, family, home, sizeof(home))) < 0)
        return res;
    open_session(be, home);
    return 0;
}

static int op_teacher_login(void *p, const char *pin, int64_t *wait_ms)
{
    st_backend *be = p;

    if (!be->config.station)
        return -EINVAL;
    return st_registry_check_teacher(be->reg, pin, wait_ms);
}

static void op_logout(void *p)
{
    st_backend *be = p;

    stop_audio(be);
    if (be->record_pid > 0) {
        child_stop(be->record_pid, SIGINT, RECORD_FINISH_MS); /* kept and sent, never lost */
        be->record_pid = 0;
        be->record_stopping = 0;
    }
    if (be->config.station) {
        be->open = false;
        wipe(be->session_home, sizeof(be->session_home));
    }
    wipe(be->last_played, sizeof(be->last_played));
    wipe(be->draft, sizeof(be->draft)); /* it stays in the store, a draft, unsent */
    wipe(be->bed, sizeof(be->bed));
    be->nbed = 0;
    be->speed = 0;
    be->count = -1;
    be->count_at = 0;
}

/* Bedtime letters of the last reading whose time has come; *first the
 * first of them. */
static int bedtime_due(const st_backend *be, const struct letter **first)
{
    int64_t now = wall_now(be);
    int due = 0;

    for (int i = 0; i < be->nbed; i++) {
        if (be->bed[i].play_after_ms > now)
            continue;
        if (!due++ && first)
            *first = &be->bed[i];
    }
    return due;
}

static int op_new_count(void *p)
{
    st_backend *be = p;
    int64_t now = ju_mono_ms();
    int n;

    if (!be->open)
        return -1;
    if (!be->count_at || now - be->count_at >= COUNT_EVERY) {
        be->count_at = now;
        if (read_inbox(be, be->session_home, NULL, 0, &n, NULL) == 0)
            be->count = n;
    }
    /* A bedtime letter counts from its time on, read from the clock each
     * time: its time comes between two readings of the inbox. */
    return be->count < 0 ? be->count : be->count + bedtime_due(be, NULL);
}

static int op_bedtime(void *p, char *from, size_t size)
{
    st_backend *be = p;
    const struct letter *first = NULL;
    int due;

    if (!be->open)
        return 0;
    due = bedtime_due(be, &first);
    snprintf(from, size, "%s", first ? first->from : "");
    return due;
}

/* The listener's speed in percent, from the family home's setting (the
 * play child reads the same setting). */
static int listener_speed(st_backend *be)
{
    static const char *const args[] = {"config", JS_SETTING_PLAY_SPEED, NULL};
    char *out = NULL;
    double tempo;

    if (be->speed > 0)
        return be->speed;
    be->speed = ST_SPEED_NORMAL;
    if (be->open && run_capture(be, be->session_home, args, &out) == 0) {
        tempo = strtod(out, NULL);
        if (tempo >= SPEED_MIN && tempo <= SPEED_MAX)
            be->speed = tempo < 0.9 ? ST_SPEED_SLOW : tempo > 1.1 ? ST_SPEED_FAST : ST_SPEED_NORMAL;
    }
    free(out);
    return be->speed;
}

/* Starts the child that plays queue[queue_pos] from from_ms. */
static int start_play(st_backend *be, int64_t from_ms)
{
    const struct letter *l = &be->queue[be->queue_pos];
    char out[PATH_MAX + 32], from[24];
    const char *args[] = {"play", l->id, "--from-ms", from, NULL, NULL, NULL};
    pid_t pid;

    if (from_ms < 0 || (l->duration_ms && from_ms >= l->duration_ms))
        from_ms = 0;
    snprintf(from, sizeof(from), "%lld", (long long)from_ms);
    if (be->audio_dir[0]) {
        snprintf(out, sizeof(out), "%s/played-%u.wav", be->audio_dir, ++be->played_files);
        args[4] = "--output";
        args[5] = out;
    }
    if (be->sound) {
        st_sound_hush(be->sound); /* the speaker is the message's now */
        st_sound_wait_idle(be->sound, 1000);
    }
    pid = spawn(be, be->session_home, args, -1);
    if (pid < 0)
        return (int)pid;
    be->play_pid = pid;
    be->play_from_ms = from_ms;
    be->play_started = ju_mono_ms();
    be->start_wait = 0;
    be->paused = false;
    trace_line(be, "play %s from %lld speed %d", l->id, (long long)from_ms, listener_speed(be));
    snprintf(be->last_played, sizeof(be->last_played), "%s", l->id);
    return 0;
}

/* Starts queue[queue_pos] from from_ms once the prompt being spoken (the
 * letter's introduction, or the new speed) has ended: audio_poll starts it. */
static void start_after_prompt(st_backend *be, int64_t from_ms)
{
    stop_child(be);
    be->paused = false;
    be->start_from = from_ms;
    be->start_wait = 1;
    be->start_queued = ju_mono_ms();
}

/* Where the listener is in the letter playing, in ms. */
static int64_t position_now(st_backend *be)
{
    int64_t at;

    if (be->paused)
        return be->paused_at;
    if (be->start_wait)
        return be->start_from;
    if (!be->play_started)
        return 0;
    at = be->play_from_ms + (ju_mono_ms() - be->play_started) * listener_speed(be) / 100;
    if (be->queue[be->queue_pos].duration_ms && at > be->queue[be->queue_pos].duration_ms)
        at = be->queue[be->queue_pos].duration_ms;
    return at;
}

static int op_play_new(void *p)
{
    st_backend *be = p;
    int res, n = 0;

    if (!be->open)
        return -EPERM;
    stop_audio(be);
    if ((res = read_inbox(be, be->session_home, be->queue, MAX_QUEUE, &n, NULL)) < 0)
        return res;
    if (!n)
        return 0;
    /* The bedtime letters whose time has come go first: the home screen
     * announced them, and the one key plays them. */
    for (int i = 0, put = 0; i < n; i++) {
        if (!be->queue[i].bedtime)
            continue;
        struct letter bed = be->queue[i];
        memmove(&be->queue[put + 1], &be->queue[put], (size_t)(i - put) * sizeof(bed));
        be->queue[put++] = bed;
    }
    be->queue_len = n;
    be->queue_pos = 0;
    /* The core introduces the letter aloud; it plays once that is said. */
    start_after_prompt(be, be->queue[0].position_ms);
    return n;
}

static int op_replay_last(void *p)
{
    st_backend *be = p;
    char last[ID_MAX];
    int res, n;

    if (!be->open)
        return -EPERM;
    stop_audio(be);
    if (!be->last_played[0]) {
        if ((res = read_inbox(be, be->session_home, NULL, 0, &n, last)) < 0)
            return res;
        if (!last[0])
            return -ENOENT;
        snprintf(be->last_played, sizeof(be->last_played), "%s", last);
    }
    snprintf(last, sizeof(last), "%s", be->last_played);
    be->queue_len = 1;
    be->queue_pos = 0;
    snprintf(be->queue[0].id, ID_MAX, "%s", last);
    return start_play(be, 0);
}

static int op_audio_poll(void *p, int *index, int *total)
{
    st_backend *be = p;
    int status;

    if (!be->queue_len)
        return 0;
    *index = be->queue_pos + 1;
    *total = be->queue_len;
    if (be->paused)
        return 1;
    if (be->start_wait == 1) {
        be->start_wait = 2; /* the core says who it is from now */
        return 1;
    }
    if (be->start_wait == 2) {
        if (be->sound && st_sound_speaking(be->sound) &&
            ju_mono_ms() - be->start_queued < ANNOUNCE_MAX_MS)
            return 1;
        if (start_play(be, be->start_from) < 0) {
            stop_audio(be);
            return 0;
        }
        return 1;
    }
    if (be->play_pid > 0 && child_running(be->play_pid, &status))
        return 1;
    be->play_pid = 0;
    be->play_started = 0;
    be->count_at = 0;
    if (++be->queue_pos >= be->queue_len) {
        stop_audio(be);
        return 0;
    }
    start_after_prompt(be, be->queue[be->queue_pos].position_ms);
    *index = be->queue_pos + 1;
    return 1;
}

static int op_audio_key(void *p, enum st_play_key key)
{
    st_backend *be = p;
    int64_t at;

    if (!be->queue_len)
        return -ENOENT;
    at = position_now(be);
    switch (key) {
    case ST_PLAY_PAUSE:
        if (be->paused)
            return start_play(be, be->paused_at) < 0 ? -EIO : 0;
        stop_child(be);
        be->paused = true;
        be->paused_at = at;
        trace_line(be, "pause %s at %lld", be->queue[be->queue_pos].id, (long long)at);
        return 1;
    case ST_PLAY_BACK:
        stop_child(be);
        return start_play(be, at > ST_BACK_MS ? at - ST_BACK_MS : 0);
    case ST_PLAY_RESTART:
        stop_child(be);
        return start_play(be, 0);
    case ST_PLAY_NEXT:
        /* This one stays new: its child kept where it stopped, to resume. */
        stop_child(be);
        be->paused = false;
        trace_line(be, "next %s at %lld", be->queue[be->queue_pos].id, (long long)at);
        if (++be->queue_pos >= be->queue_len) {
            stop_audio(be);
            return 0;
        }
        start_after_prompt(be, be->queue[be->queue_pos].position_ms);
        return 0;
    }
    return -EINVAL;
}

static void op_audio_from(void *p, char *name, size_t size)
{
    st_backend *be = p;

    snprintf(name, size, "%s", be->queue_len ? be->queue[be->queue_pos].from : "");
}

static int op_get_speed(void *p)
{
    return listener_speed(p);
}

static int op_set_speed(void *p, int percent)
{
    st_backend *be = p;
    char value[16];
    const char *args[] = {"config", JS_SETTING_PLAY_SPEED, value, NULL};
    char *out = NULL;
    bool playing = be->queue_len > 0;
    int64_t at = playing ? position_now(be) : 0;
    int res;

    if (!be->open)
        return -EPERM;
    if (percent != ST_SPEED_SLOW && percent != ST_SPEED_NORMAL && percent != ST_SPEED_FAST)
        return -EINVAL;
    snprintf(value, sizeof(value), "%.2f", percent / 100.0);
    if ((res = run_capture(be, be->session_home, args, &out)) < 0)
        return res;
    free(out);
    be->speed = percent;
    trace_line(be, "speed %d", percent);
    /* On from where it was, at the new speed, once the new speed is said. */
    if (playing)
        start_after_prompt(be, at);
    return 0;
}

static void op_audio_stop(void *p)
{
    stop_audio(p);
}

/* Where a recording child writes the id of the draft it made. */
static int draft_id_path(const st_backend *be, char *path, size_t size)
{
    if (snprintf(path, size, "%s/station-reply.id", be->session_home) >= (int)size)
        return -ENAMETOOLONG;
    return 0;
}

static int op_record_start(void *p)
{
    st_backend *be = p;
    char seconds[16], in[PATH_MAX + 32], idpath[PATH_MAX];
    const char *args[] = {"record", "--draft", "--max-seconds", seconds, NULL, NULL, NULL};
    pid_t pid;
    int fd, res;

    if (!be->open)
        return -EPERM;
    stop_audio(be);
    snprintf(seconds, sizeof(seconds), "%d", be->config.max_record_seconds);
    if (be->audio_dir[0]) {
        snprintf(in, sizeof(in), "%s/reply.wav", be->audio_dir);
        args[4] = "--input";
        args[5] = in;
    }
    be->record_status = 0;
    be->record_stopping = 0;
    be->draft[0] = '\0';
    if ((res = draft_id_path(be, idpath, sizeof(idpath))) < 0)
        return res;
    fd = open(idpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    if (be->sound)
        st_sound_wait_idle(be->sound, 1000); /* the start beep, not in the reply */
    pid = spawn(be, be->session_home, args, fd);
    close(fd);
    if (pid < 0)
        return (int)pid;
    be->record_pid = pid;
    be->record_started = ju_mono_ms();
    return 0;
}

static int op_record_stop(void *p)
{
    st_backend *be = p;

    /* `record` ends a recording and queues it on SIGINT, as at Ctrl-C;
     * record_poll() follows it to the end. */
    if (be->record_pid > 0 && !be->record_stopping) {
        kill(be->record_pid, SIGINT);
        be->record_stopping = ju_mono_ms();
    }
    return 0;
}

/* The id `record --draft` printed: its one line of output. */
static int read_draft_id(st_backend *be)
{
    char path[PATH_MAX], line[ID_MAX + 2];
    size_t len;
    FILE *f;

    if (draft_id_path(be, path, sizeof(path)) < 0 || !(f = fopen(path, "r")))
        return -EIO;
    if (!fgets(line, sizeof(line), f))
        line[0] = '\0';
    fclose(f);
    len = strcspn(line, "\r\n");
    line[len] = '\0';
    if (!len || len >= ID_MAX || strchr(line, '/') || line[0] == '-')
        return -EIO;
    snprintf(be->draft, sizeof(be->draft), "%s", line);
    return 0;
}

static int op_record_poll(void *p, int *seconds)
{
    st_backend *be = p;
    int status;

    if (be->record_pid <= 0)
        return be->record_status; /* ended: queued (0) or failed */
    *seconds =
        (int)(((be->record_stopping ? be->record_stopping : ju_mono_ms()) - be->record_started) /
              1000);
    if (child_running(be->record_pid, &status)) {
        if (!be->record_stopping || ju_mono_ms() - be->record_stopping < RECORD_FINISH_MS)
            return 1;
        /* It does not end: what it committed is finalised by the next open. */
        status = child_stop(be->record_pid, SIGKILL, 0);
    }
    be->record_pid = 0;
    be->record_stopping = 0;
    be->record_status = status == 0 ? read_draft_id(be) : -EIO;
    return be->record_status;
}

static int run_on_draft(st_backend *be, const char *command)
{
    const char *args[] = {command, be->draft, NULL};
    char *out = NULL;
    int res;

    if (!be->open || !be->draft[0])
        return -ENOENT;
    res = run_capture(be, be->session_home, args, &out);
    free(out);
    return res;
}

static int op_draft_play(void *p)
{
    st_backend *be = p;
    char last[ID_MAX];
    int res;

    if (!be->open || !be->draft[0])
        return -ENOENT;
    stop_audio(be);
    /* Hearing one's own reply is not "the last letter heard". */
    snprintf(last, sizeof(last), "%s", be->last_played);
    be->queue_len = 1;
    be->queue_pos = 0;
    snprintf(be->queue[0].id, ID_MAX, "%s", be->draft);
    res = start_play(be, 0);
    snprintf(be->last_played, sizeof(be->last_played), "%s", last);
    return res;
}

static int op_draft_send(void *p)
{
    st_backend *be = p;
    int res = run_on_draft(be, "send");

    if (res == 0)
        be->draft[0] = '\0';
    return res;
}

static int op_draft_discard(void *p)
{
    st_backend *be = p;
    int res;

    stop_audio(be);
    res = run_on_draft(be, "discard");
    if (res == 0)
        be->draft[0] = '\0';
    return res;
}

static void op_earcon(void *p, enum st_earcon e)
{
    static const char *const names[] = {"key", "error", "ok", "start", "leave", "chime"};
    st_backend *be = p;
    FILE *f;

    if (be->quiet)
        return;
    if (be->trace[0] && (f = fopen(be->trace, "a")) != NULL) {
        fprintf(f, "earcon %s\n", names[e]);
        fclose(f);
    }
    if (be->sound)
        st_sound_play(be->sound, e);
}

/* The earcon a prompt falls back to when its clip is missing. */
static enum st_earcon prompt_earcon(enum st_prompt p)
{
    switch (p) {
    case ST_PROMPT_REFUSED:
    case ST_PROMPT_WAIT:
    case ST_PROMPT_FAILED:
    case ST_PROMPT_KEY_REFUSED:
    case ST_PROMPT_PIN_MISMATCH:
    case ST_PROMPT_BAD_TIME:
        return ST_EARCON_ERROR;
    case ST_PROMPT_SENT:
    case ST_PROMPT_SAVED:
    case ST_PROMPT_ADDED:
    case ST_PROMPT_ARRIVED:
        return ST_EARCON_OK;
    case ST_PROMPT_ALL_DONE:
        return ST_EARCON_LEAVE;
    default:
        return ST_EARCON_KEY;
    }
}

static bool clip_path(const st_backend *be, const char *stem, char *path, size_t size)
{
    return snprintf(path, size, "%s/prompt-%s-%s.opus", be->prompts_dir, be->lang, stem) <
               (int)size &&
           access(path, R_OK) == 0;
}

static void op_say(void *p, enum st_prompt prompt, int number)
{
    static const double tempo[] = {1.0, 0.8, 1.0, 1.25};
    st_backend *be = p;
    const char *id = st_prompt_id(prompt);
    char paths[ST_SOUND_CLIPS][PATH_MAX], stem[96], label[96];
    const char *list[ST_SOUND_CLIPS];
    bool numbered = st_prompt_has_number(prompt), found = true;
    int n = 0, voice = be->settings.voice;
    FILE *f;

    if (!id || be->quiet)
        return;
    if (number < 0)
        number = 0;
    if (number > ST_PROMPT_NUMBER_MAX)
        number = ST_PROMPT_NUMBER_MAX;
    if (numbered)
        snprintf(label, sizeof(label), "%s %s %d", be->lang, id, number);
    else
        snprintf(label, sizeof(label), "%s %s", be->lang, id);
    if (voice != ST_VOICE_OFF) {
        if (numbered) {
            snprintf(stem, sizeof(stem), "%s.a", id);
            found = found && clip_path(be, stem, paths[n], sizeof(paths[n]));
            n++;
            snprintf(stem, sizeof(stem), "num-%d", number);
            found = found && clip_path(be, stem, paths[n], sizeof(paths[n]));
            n++;
            snprintf(stem, sizeof(stem), "%s.b", id);
            found = found && clip_path(be, stem, paths[n], sizeof(paths[n]));
            n++;
        } else {
            found = clip_path(be, id, paths[n], sizeof(paths[n]));
            n++;
        }
    }
    if (be->trace[0] && (f = fopen(be->trace, "a")) != NULL) {
        fprintf(f, "say %s%s\n", label, voice == ST_VOICE_OFF ? " off" : found ? "" : " missing");
        fclose(f);
    }
    if (voice == ST_VOICE_OFF)
        return;
    if (!found) {
        op_earcon(be, prompt_earcon(prompt));
        return;
    }
    for (int i = 0; i < n; i++)
        list[i] = paths[i];
    if (be->sound)
        st_sound_say(be->sound, label, list, n, tempo[voice]);
}

static int op_speaking(void *p)
{
    st_backend *be = p;
    return be->sound && st_sound_speaking(be->sound);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int op_add_family(void *p, const char *invite, const char *pin, unsigned *number)
{
    st_backend *be = p;
    char relay[1024], name[128], home[PATH_MAX];
    const char *setup[] = {"setup", "--relay", relay, "--name", name, NULL};
    const char *join[] = {"family", "join", invite, NULL};
    char *out = NULL;
    int res;

    if (!be->config.station)
        return -EINVAL;
    if ((res = st_registry_get_text(be->reg, "relay", relay, sizeof(relay))) < 0)
        return res;
    if (st_registry_get_text(be->reg, "name", name, sizeof(name)) < 0)
        snprintf(name, sizeof(name), "station");
    if ((res = st_registry_add_family(be->reg, pin, number)) < 0)
        return res;
    if ((res = st_registry_family_home(be->reg, *number, home, sizeof(home))) < 0)
        goto error_family;
    if ((res = run_capture(be, home, setup, &out)) < 0)
        goto error_family;
    free(out);
    if ((res = run_capture(be, home, join, &out)) < 0)
        goto error_family;
    free(out);
    be->next_homes = 0; /* start syncing it on the next poll */
    return 0;

error_family:
    st_registry_remove_family(be->reg, *number);
    if (st_registry_family_home(be->reg, *number, home, sizeof(home)) == 0)
        nftw(home, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    *number = 0;
    return res;
}

static int op_list_families(void *p, struct st_family_row *rows, int max)
{
    st_backend *be = p;
    int n = 0;

    load_homes(be);
    for (int i = 0; i < be->nhomes && n < max; i++) {
        rows[n].number = be->homes[i].number;
        rows[n].bytes = dir_bytes(be->homes[i].path, 0);
        rows[n].last_sync = be->homes[i].last_sync;
        rows[n].unplayed = -1;
        n++;
    }
    return n;
}

static int op_get_settings(void *p, struct st_settings *settings)
{
    st_backend *be = p;

    if (!be->reg)
        return -EINVAL;
    return st_registry_get_settings(be->reg, settings);
}

static int op_set_settings(void *p, const struct st_settings *settings)
{
    st_backend *be = p;
    int res;

    if (!be->reg)
        return -EINVAL;
    if ((res = st_registry_set_settings(be->reg, settings)) < 0)
        return res;
    be->next_homes = 0;
    be->next_usage = 0;
    return 0;
}

static const struct st_backend_ops ops = {
    .login = op_login,
    .teacher_login = op_teacher_login,
    .logout = op_logout,
    .new_count = op_new_count,
    .bedtime = op_bedtime,
    .play_new = op_play_new,
    .replay_last = op_replay_last,
    .audio_poll = op_audio_poll,
    .audio_stop = op_audio_stop,
    .audio_key = op_audio_key,
    .audio_from = op_audio_from,
    .get_speed = op_get_speed,
    .set_speed = op_set_speed,
    .record_start = op_record_start,
    .record_stop = op_record_stop,
    .record_poll = op_record_poll,
    .draft_play = op_draft_play,
    .draft_send = op_draft_send,
    .draft_discard = op_draft_discard,
    .earcon = op_earcon,
    .say = op_say,
    .speaking = op_speaking,
    .add_family = op_add_family,
    .list_families = op_list_families,
    .get_settings = op_get_settings,
    .set_settings = op_set_settings,
};

const struct st_backend_ops *st_backend_ops(void)
{
    return &ops;
}

int st_backend_create(const struct st_backend_config *config, st_registry *reg, st_backend **out)
{
    st_backend *be;
    int res;

    if (config->station && !reg)
        return -EINVAL;
    be = calloc(1, sizeof(*be));
    if (!be)
        return -ENOMEM;
    be->config = *config;
    be->reg = reg;
    be->count = -1;
    be->now = ju_mono_ms();
    if (snprintf(be->exe, sizeof(be->exe), "%s", config->exe) >= (int)sizeof(be->exe) ||
        snprintf(be->root, sizeof(be->root), "%s", config->home) >= (int)sizeof(be->root) ||
        snprintf(be->trace, sizeof(be->trace), "%s",
                 config->trace_path ? config->trace_path : "") >= (int)sizeof(be->trace) ||
        snprintf(be->audio_dir, sizeof(be->audio_dir), "%s",
                 config->audio_dir ? config->audio_dir : "") >= (int)sizeof(be->audio_dir) ||
        snprintf(be->prompts_dir, sizeof(be->prompts_dir), "%s",
                 config->prompts_dir ? config->prompts_dir : "") >= (int)sizeof(be->prompts_dir)) {
        res = -ENAMETOOLONG;
        goto error_be;
    }
    be->config.exe = be->exe;
    be->config.home = be->root;
    be->config.trace_path = be->trace;
    be->config.audio_dir = be->audio_dir;
    be->config.prompts_dir = be->prompts_dir;
    snprintf(be->lang, sizeof(be->lang), "%s",
             config->lang && !strcmp(config->lang, "zh") ? "zh" : "en");
    be->config.lang = be->lang;
    be->settings.voice = config->station ? ST_VOICE_NORMAL : config->home_voice;
    if (!config->station) {
        be->homes = calloc(1, sizeof(*be->homes));
        if (!be->homes) {
            res = -ENOMEM;
            goto error_be;
        }
        if (snprintf(be->homes[0].path, sizeof(be->homes[0].path), "%s", config->home) >=
            (int)sizeof(be->homes[0].path)) {
            free(be->homes);
            res = -ENAMETOOLONG;
            goto error_be;
        }
        be->nhomes = be->homes_cap = 1;
        open_session(be, config->home);
    }
    /* Without sound the station still works: the screen says everything. */
    if (st_sound_create(&be->sound) < 0)
        be->sound = NULL;
    else
        st_sound_set_trace(be->sound, be->trace);
    *out = be;
    return 0;

error_be:
    free(be);
    return res;
}

void st_backend_destroy(st_backend *be)
{
    if (!be)
        return;
    op_logout(be);
    stop_syncs(be);
    st_sound_destroy(be->sound);
    wipe(be->session_home, sizeof(be->session_home));
    free(be->homes);
    free(be);
}
