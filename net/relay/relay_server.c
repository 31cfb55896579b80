/*
 * The relay's HTTP server: libmicrohttpd in epoll mode on one internal
 * thread, which runs every route, so storage and rate limits need no locks.
 * Long polls suspend their connection; a timer thread resumes them at their
 * deadline and runs the periodic cleanup on its own storage handle.
 */
#include "relay_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "relay_parse.h"

/* The program's log callback (jn_relay_config.log), for every file of the
 * relay: one relay per process. */
static void (*log_fn)(void *user, const char *line);
static void *log_user;

void jn_relay_set_log(void (*log)(void *user, const char *line), void *user)
{
    log_fn = log;
    log_user = user;
}

/* Length of the valid UTF-8 sequence at p (1 to 4 bytes, at most n), or 0:
 * shortest forms only, no surrogates, nothing past U+10FFFF (as jansson
 * checks it, so an escaped line is always a valid JSON string). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

/* src into dst with what is not printable or not UTF-8 as \\xNN (see
 * jn_relay_config.log); cut short rather than past cap. */
static void relay_log_escape(char *dst, size_t cap, const char *src)
{
    const unsigned char *p = (const unsigned char *)src;
    size_t n = strlen(src), at = 0;
    if (!cap)
        return;
    for (size_t i = 0; i < n;) {
        size_t len = p[i] >= 0x80 ? utf8_len(p + i, n - i) : 1;
        int plain = p[i] >= 0x80 ? len > 0 : p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\';
        size_t need = plain ? len : 4;
        if (at + need >= cap)
            break;
        if (plain)
            memcpy(dst + at, p + i, len);
        else
            snprintf(dst + at, 5, "\\x%02x", p[i]);
        at += need;
        i += plain ? len : 1;
    }
    dst[at] = '\0';
}

/* Every line goes out escaped: request lines carry the client's method,
 * and storage errors what the database echoed, so neither can end a line,
 * move a terminal's cursor or hand a log reader invalid UTF-8. */
void relay_log(const char *fmt, ...)
{
    char line[512], escaped[1024];
    va_list ap;

    if (!log_fn)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    relay_log_escape(escaped, sizeof escaped, line);
    log_fn(log_user, escaped);
}

void jn_relay_config_init(struct jn_relay_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->host = "127.0.0.1";
    /* Every note a client can record, at the longest and the highest
     * bitrate, sealed: a lower default records fine and then meets 413 at
     * every sync, for ever. */
    cfg->max_message_bytes = JU_MAX_UPLOAD_BYTES;
    cfg->max_family_bytes = 256u << 20;
    cfg->min_free_bytes = 256u << 20;
    cfg->max_families = 10000;
    cfg->max_mailbox = 1000;
    cfg->max_devices = 32;
    cfg->max_recipients = 32;
    cfg->max_invites = 10;
    cfg->max_metadata_bytes = 1024;
    cfg->max_json_bytes = 4096;
    cfg->max_header_bytes = 16384;
    cfg->max_buffered_bytes = 64u << 20;
    cfg->max_buffered_per_ip = 8u << 20;
    cfg->max_connections = 10000;
    cfg->max_connections_per_ip = 64;
    cfg->header_timeout_s = 10;
    cfg->idle_timeout_s = 30;
    cfg->max_request_s = 120;
    cfg->min_body_rate = 256;
    cfg->max_wait_s = 60;
    cfg->invite_digits = 10;
    cfg->invite_ttl_s = 86400;
    cfg->upload_ttl_s = 86400;
    cfg->retention_s = 7 * 86400;
    cfg->max_age_s = 30 * 86400;
    cfg->cleanup_interval_s = 60;
    cfg->cleanup_batch = 8;
    cfg->token_rate = 20;
    cfg->token_burst = 100;
    cfg->join_rate = 0.1;
    cfg->join_burst = 5;
    cfg->join_rate_global = 1;
    cfg->join_burst_global = 30;
    cfg->create_rate_global = 0.1;
    cfg->create_burst_global = 20;
}

/* FNV-1a over the data, keyed by a per-process random seed so that nobody
 * can aim at a chosen bucket. */
uint64_t relay_key(const struct jn_relay *relay, const void *data, size_t len)
{
    uint64_t h = 1469598103934665603ull ^ relay->seed;
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static int limiter_init(struct relay_limiter *l, unsigned slots, double rate, unsigned burst)
{
    l->slots = calloc(slots, sizeof *l->slots);
    if (!l->slots)
        return -ENOMEM;
    l->n_slots = slots;
    l->rate = rate;
    l->burst = burst ? burst : 1;
    for (unsigned i = 0; i < slots; i++)
        l->slots[i].tokens = l->burst;
    return 0;
}

static void limiter_finish(struct relay_limiter *l)
{
    free(l->slots);
}

int relay_limit_take(struct relay_limiter *l, uint64_t key, unsigned *retry_after)
{
    if (l->shared) {
        int err = l->shared->ops->limit_take(l->shared, l->id, key % l->n_slots, l->rate, l->burst,
                                             retry_after);
        if (err == 0 || err == -EAGAIN)
            return err;
        /* The database is away: this process's own buckets hold meanwhile. */
    }
    struct relay_bucket *b = &l->slots[key % l->n_slots];
    uint64_t now = (uint64_t)ju_mono_ms();
    if (b->last_ms) {
        b->tokens += (double)(now - b->last_ms) / 1000.0 * l->rate;
        if (b->tokens > l->burst)
            b->tokens = l->burst;
    }
    b->last_ms = now;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    double wait = l->rate > 0 ? (1.0 - b->tokens) / l->rate : 3600;
    *retry_after = (unsigned)wait + 1;
    return -EAGAIN;
}

static void after_durable(struct relay_request *r)
{
    if (r->sync_err)
        return;
    if (r->wake_recipients && r->upload)
        for (unsigned i = 0; i < r->upload->n_recipients; i++)
            relay_wake(r->relay, r->upload->recipients[i], WAIT_INBOX);
    if (r->wake_sender[0])
        relay_wake(r->relay, r->wake_sender, WAIT_RECEIPTS);
}

/* Holds r until the syncer made its writes durable: 0 when suspended, -1
 * when the syncer has stopped and the sync was done here instead. */
static int await_sync(struct relay_request *r)
{
    struct jn_relay *relay = r->relay;
    pthread_mutex_lock(&relay->lock);
    if (!relay->sync_stop) {
        r->snext = relay->sync_pending;
        relay->sync_pending = r;
        MHD_suspend_connection(r->conn);
        pthread_cond_signal(&relay->sync_cond);
        pthread_mutex_unlock(&relay->lock);
        return 0;
    }
    pthread_mutex_unlock(&relay->lock);
    r->sync_err = relay->sync_st->ops->make_durable(relay->sync_st);
    r->synced = 1;
    after_durable(r);
    return -1;
}

/* One fdatasync for every request that wrote since the last one. */
static void *syncer_main(void *arg)
{
    struct jn_relay *relay = arg;
    uint64_t last_checkpoint = (uint64_t)ju_mono_ms();
    pthread_mutex_lock(&relay->lock);
    for (;;) {
        while (!relay->sync_pending && !relay->sync_stop)
            pthread_cond_wait(&relay->sync_cond, &relay->lock);
        if (!relay->sync_pending)
            break;
        struct relay_request *batch = relay->sync_pending;
        relay->sync_pending = NULL;
        pthread_mutex_unlock(&relay->lock);
        int err = relay->sync_st->ops->make_durable(relay->sync_st);
        if (err < 0)
            relay_log("cannot sync the database: %s", ju_strerror(err));
        uint64_t n = 0;
        for (struct relay_request *r = batch; r; r = r->snext)
            n++;
        pthread_mutex_lock(&relay->lock);
        relay->syncs++;
        relay->synced_requests += n;
        pthread_mutex_unlock(&relay->lock);
        for (struct relay_request *r = batch, *next; r; r = next) {
            next = r->snext; /* r may be freed once resumed */
            r->sync_err = err;
            r->synced = 1;
            after_durable(r);
            MHD_resume_connection(r->conn);
        }
        /* Checkpoint at most once a second, between batches: the requests
         * keep coming in on the other thread meanwhile. */
        uint64_t now = (uint64_t)ju_mono_ms();
        if (now - last_checkpoint >= 1000) {
            last_checkpoint = now;
            if (relay->sync_st->ops->checkpoint(relay->sync_st) < 0)
                relay_log("checkpoint failed");
        }
        pthread_mutex_lock(&relay->lock);
    }
    pthread_mutex_unlock(&relay->lock);
    relay->sync_st->ops->checkpoint(relay->sync_st);
    return NULL;
}

void relay_storage_failed(struct relay_request *r, int err)
{
    struct relay_storage *st = r->relay->st;
    if (err == -ENOTCONN || st->ops->ping(st, 0) == -ENOTCONN)
        relay_error_retry(r, 503, "unavailable", "the relay's database cannot be reached now", 1);
    else
        relay_error(r, 500, "internal", "the relay could not read or write its storage");
}

int relay_storage_answer(struct relay_request *r, int err, int expected, unsigned status,
                         const char *code, const char *message)
{
    if (err >= 0)
        return 0;
    if (err == expected)
        relay_error(r, status, code, message);
    else
        relay_storage_failed(r, 0);
    return -1;
}

void relay_respond(struct relay_request *r, unsigned status, struct MHD_Response *resp)
{
    if (r->responded || !resp) {
        MHD_destroy_response(resp);
        return;
    }
    if (r->needs_sync && !r->synced) {
        r->held_resp = resp;
        r->held_status = status;
        if (await_sync(r) == 0)
            return; /* answered when resumed */
        r->held_resp = NULL;
        if (r->sync_err) {
            MHD_destroy_response(resp);
            relay_storage_failed(r, r->sync_err);
            return;
        }
    }
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (r->close_after)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    if (r->route == ROUTE_UPLOADS || r->route == ROUTE_UPLOAD)
        MHD_add_response_header(resp, "Tus-Resumable", "1.0.0");
    r->responded = 1;
    r->status = status;
    MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
}

void relay_json_text(struct relay_request *r, unsigned status, char *text, size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    r->bytes_out += len;
    relay_respond(r, status, resp);
}

void relay_json(struct relay_request *r, unsigned status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        static const char oom[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Content-Type", "application/json");
        r->bytes_out += sizeof oom - 1;
        relay_respond(r, 500, resp);
        return;
    }
    relay_json_text(r, status, text, strlen(text));
}

/* The one place an error body is built: {"error":{"code","message"}}. */
void relay_error_full(struct relay_request *r, unsigned status, const char *code,
                      const char *message, unsigned retry_after, const char *extra_name,
                      const char *extra_value)
{
    json_t *body = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return;
    size_t n = strlen(text);
    struct MHD_Response *resp = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    if (retry_after) {
        char v[16];
        snprintf(v, sizeof v, "%u", retry_after);
        MHD_add_response_header(resp, "Retry-After", v);
    }
    if (status == 412)
        MHD_add_response_header(resp, "Tus-Version", "1.0.0");
    if (extra_name)
        MHD_add_response_header(resp, extra_name, extra_value);
    r->bytes_out += n;
    relay_respond(r, status, resp);
}

void relay_error_retry(struct relay_request *r, unsigned status, const char *code,
                       const char *message, unsigned retry_after)
{
    relay_error_full(r, status, code, message, retry_after, NULL, NULL);
}

void relay_error(struct relay_request *r, unsigned status, const char *code, const char *message)
{
    relay_error_full(r, status, code, message, 0, NULL, NULL);
}

static void timespec_at(struct timespec *ts, uint64_t ms)
{
    ts->tv_sec = (time_t)(ms / 1000);
    ts->tv_nsec = (long)(ms % 1000) * 1000000L;
}

static void unlink_waiter(struct jn_relay *relay, struct relay_request *r)
{
    if (r->wprev)
        r->wprev->wnext = r->wnext;
    else
        relay->waiters = r->wnext;
    if (r->wnext)
        r->wnext->wprev = r->wprev;
    r->wprev = r->wnext = NULL;
    r->waiting = 0;
    r->woken = 1;
    relay->n_waiters--;
}

int relay_wait(struct relay_request *r, unsigned kind, unsigned seconds)
{
    struct jn_relay *relay = r->relay;
    pthread_mutex_lock(&relay->lock);
    if (relay->stopping) {
        pthread_mutex_unlock(&relay->lock);
        return -ECANCELED;
    }
    r->wait_kind = kind;
    r->deadline_ms = (uint64_t)ju_mono_ms() + (uint64_t)seconds * 1000u;
    r->waiting = 1;
    r->wprev = NULL;
    r->wnext = relay->waiters;
    if (relay->waiters)
        relay->waiters->wprev = r;
    relay->waiters = r;
    relay->n_waiters++;
    /* Suspended under the lock, so no resume can come before the suspend. */
    MHD_suspend_connection(r->conn);
    pthread_cond_signal(&relay->cond);
    pthread_mutex_unlock(&relay->lock);
    return 0;
}

void relay_wake(struct jn_relay *relay, const char *device_id, enum relay_wait_kind kind)
{
    pthread_mutex_lock(&relay->lock);
    for (struct relay_request *w = relay->waiters, *next; w; w = next) {
        next = w->wnext;
        if ((w->wait_kind & kind) && strcmp(w->dev.id, device_id) == 0) {
            unlink_waiter(relay, w);
            MHD_resume_connection(w->conn);
        }
    }
    pthread_mutex_unlock(&relay->lock);
}

/* Every waiter looks again (after the listener lost notifications). */
static void wake_all(struct jn_relay *relay)
{
    pthread_mutex_lock(&relay->lock);
    while (relay->waiters) {
        struct relay_request *w = relay->waiters;
        unlink_waiter(relay, w);
        MHD_resume_connection(w->conn);
    }
    pthread_mutex_unlock(&relay->lock);
}

static void on_event(void *ctx, int kind, const char *device_id)
{
    struct jn_relay *relay = ctx;
    if (kind == RELAY_EVENT_ALL || !device_id)
        wake_all(relay);
    else
        relay_wake(relay, device_id, (enum relay_wait_kind)kind);
}

/* Wakes this process's long polls for what other processes stored. */
static void *listener_main(void *arg)
{
    struct jn_relay *relay = arg;
    int err =
        relay->listen_st->ops->listen(relay->listen_st, relay->listen_stop[0], on_event, relay);
    if (err < 0)
        relay_log("the listener stopped: %s", ju_strerror(err));
    return NULL;
}

static void list_unlink(struct relay_request **head, struct relay_request *r)
{
    if (r->rv_prev)
        r->rv_prev->rv_next = r->rv_next;
    else
        *head = r->rv_next;
    if (r->rv_next)
        r->rv_next->rv_prev = r->rv_prev;
    r->rv_prev = r->rv_next = NULL;
}

static void list_push(struct relay_request **head, struct relay_request *r)
{
    r->rv_prev = NULL;
    r->rv_next = *head;
    if (*head)
        (*head)->rv_prev = r;
    *head = r;
}

void relay_receiving_start(struct relay_request *r)
{
    if (r->receiving || r->upload_waiting)
        return;
    r->receiving = 1;
    list_push(&r->relay->receivers, r);
}

static void resume_upload_waiters(struct jn_relay *relay)
{
    while (relay->upload_waiters) {
        struct relay_request *w = relay->upload_waiters;
        list_unlink(&relay->upload_waiters, w);
        w->upload_waiting = 0;
        MHD_resume_connection(w->conn);
    }
}

void relay_receiving_end(struct relay_request *r)
{
    if (!r->receiving)
        return;
    r->receiving = 0;
    list_unlink(&r->relay->receivers, r);
    /* Few waiters, rarely: each checks again when it runs. */
    resume_upload_waiters(r->relay);
}

int relay_upload_wait(struct relay_request *r, const char *message_id)
{
    struct jn_relay *relay = r->relay;
    if (relay->stopped)
        return 0;
    for (struct relay_request *o = relay->receivers; o; o = o->rv_next)
        if (o != r && o->upload && strcmp(o->upload->message_id, message_id) == 0) {
            r->upload_waiting = 1;
            list_push(&relay->upload_waiters, r);
            MHD_suspend_connection(r->conn);
            return 1;
        }
    return 0;
}

/* Removes what expired in batches of cfg.cleanup_batch rows, each its own
 * short transaction: the request thread waits at most for one batch (256
 * expired 2 MiB uploads in one transaction held it for 1.7 s). */
static void run_cleanup(struct jn_relay *relay)
{
    struct relay_cleanup_counts total = {0}, c;
    unsigned batches = 0, batch = relay->cfg.cleanup_batch;
    int err;
    for (;;) {
        err = relay->cleanup_st->ops->cleanup(relay->cleanup_st, (int64_t)time(NULL),
                                              relay->cfg.retention_s, relay->cfg.max_age_s, batch,
                                              &c);
        if (err < 0)
            break;
        batches++;
        total.uploads += c.uploads;
        total.messages += c.messages;
        total.invites += c.invites;
        if (c.uploads < batch && c.messages < batch && c.invites < batch)
            break;
        pthread_mutex_lock(&relay->lock);
        int stopping = relay->stopping;
        pthread_mutex_unlock(&relay->lock);
        if (stopping)
            break;
        /* Let the request thread's writers in between two batches. */
        sched_yield();
    }
    if (err < 0)
        relay_log("cleanup failed: %s", ju_strerror(err));
    if (!relay->cfg.quiet && (total.uploads || total.messages || total.invites))
        relay_log("cleanup removed %u expired uploads, %u messages, %u invites in %u batches",
                  total.uploads, total.messages, total.invites, batches);
}

static uint64_t reap_slow_headers(struct jn_relay *relay);

/* Ends long polls at their deadline and runs the cleanup; sleeps on a
 * condition variable in between, never polls. */
static void *timer_main(void *arg)
{
    struct jn_relay *relay = arg;
    uint64_t next_cleanup =
        (uint64_t)ju_mono_ms() + (uint64_t)relay->cfg.cleanup_interval_s * 1000u;
    pthread_mutex_lock(&relay->lock);
    while (!relay->stopping) {
        uint64_t now = (uint64_t)ju_mono_ms(), next = next_cleanup;
        for (struct relay_request *w = relay->waiters, *nx; w; w = nx) {
            nx = w->wnext;
            if (w->deadline_ms <= now) {
                unlink_waiter(relay, w);
                MHD_resume_connection(w->conn);
            } else if (w->deadline_ms < next) {
                next = w->deadline_ms;
            }
        }
        if (relay->cfg.header_timeout_s) {
            pthread_mutex_unlock(&relay->lock);
            uint64_t reap = reap_slow_headers(relay);
            pthread_mutex_lock(&relay->lock);
            /* At most a second late, so a deadline is never missed by much
             * while connections come and go between wake-ups. */
            if (!reap || reap > now + 1000)
                reap = now + 1000;
            if (reap && reap < next)
                next = reap;
        }
        if (now >= next_cleanup) {
            pthread_mutex_unlock(&relay->lock);
            run_cleanup(relay);
            pthread_mutex_lock(&relay->lock);
            next_cleanup = (uint64_t)ju_mono_ms() + (uint64_t)relay->cfg.cleanup_interval_s * 1000u;
            continue;
        }
        struct timespec ts;
        timespec_at(&ts, next);
        pthread_cond_timedwait(&relay->cond, &relay->lock, &ts);
    }
    pthread_mutex_unlock(&relay->lock);
    return NULL;
}

/* The bytes that identify an address to the per-address limits: an IPv4
 * address, or an IPv6 /64 (one household's prefix). 0 when not IP. */
static size_t addr_key_bytes(const struct sockaddr *sa, struct relay_addr *out)
{
    memset(out, 0, sizeof *out);
    if (sa && sa->sa_family == AF_INET) {
        out->family = AF_INET;
        memcpy(out->bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 4;
    }
    if (sa && sa->sa_family == AF_INET6) {
        out->family = AF_INET6;
        memcpy(out->bytes, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return 8;
    }
    return 0;
}

static int is_proxy(const struct jn_relay *relay, const struct sockaddr *sa)
{
    struct relay_addr a;
    if (!relay->n_proxies || !addr_key_bytes(sa, &a))
        return 0;
    for (unsigned i = 0; i < relay->n_proxies; i++)
        if (relay->proxies[i].family == a.family &&
            memcmp(relay->proxies[i].bytes, a.bytes, a.family == AF_INET ? 4 : 16) == 0)
            return 1;
    return 0;
}

static uint64_t addr_key(const struct jn_relay *relay, const struct relay_addr *a, size_t n)
{
    return n ? relay_key(relay, a->bytes, n) : 0;
}

static unsigned slot_of(uint64_t key)
{
    return (unsigned)(key % RELAY_ADDR_SLOTS);
}

/* Refused at accept, before any memory or file is spent on it: a
 * connection beyond its address's share. Trusted proxies carry many
 * clients and are not counted. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *sa, socklen_t len)
{
    struct jn_relay *relay = cls;
    struct relay_addr a;
    size_t n = addr_key_bytes(sa, &a);
    if (!relay->cfg.max_connections_per_ip || !n || is_proxy(relay, sa))
        return MHD_YES;
    return relay->conns_per_slot[slot_of(addr_key(relay, &a, n))] <
                   relay->cfg.max_connections_per_ip
               ? MHD_YES
               : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct jn_relay *relay = cls;
    struct relay_conn *c = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        c = calloc(1, sizeof *c);
        if (!c)
            return; /* untracked: only the idle timeout closes it */
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ca =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = ca ? ca->client_addr : NULL;
        struct relay_addr a;
        c->fd = fd ? fd->connect_fd : -1;
        c->since_ms = (uint64_t)ju_mono_ms();
        c->slot = slot_of(addr_key(relay, &a, addr_key_bytes(sa, &a)));
        c->proxy = is_proxy(relay, sa);
        if (!c->proxy)
            relay->conns_per_slot[c->slot]++;
        pthread_mutex_lock(&relay->conn_lock);
        c->next = relay->conns;
        if (c->next)
            c->next->prev = c;
        relay->conns = c;
        relay->n_conns++;
        pthread_mutex_unlock(&relay->conn_lock);
        *socket_context = c;
        return;
    }
    if (!c)
        return;
    /* libmicrohttpd tells of the close before it closes the descriptor:
     * once unlinked here, the timer thread can no longer touch c->fd. */
    pthread_mutex_lock(&relay->conn_lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        relay->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    relay->n_conns--;
    pthread_mutex_unlock(&relay->conn_lock);
    if (!c->proxy)
        relay->conns_per_slot[c->slot]--;
    free(c);
    *socket_context = NULL;
}

static void conn_set_in_request(struct jn_relay *relay, struct relay_conn *c, int in_request)
{
    if (!c)
        return;
    pthread_mutex_lock(&relay->conn_lock);
    c->in_request = in_request;
    if (!in_request)
        c->since_ms = (uint64_t)ju_mono_ms();
    pthread_mutex_unlock(&relay->conn_lock);
}

/* Closes the connections whose header block has not arrived within
 * header_timeout_s: libmicrohttpd's own timeout is an idle timeout, which a
 * client sending one header line every few seconds never reaches. The
 * shutdown() makes libmicrohttpd see the end of the stream and close it on
 * its own thread. Returns when to look again (0: no connection to watch).
 * The clock is read under conn_lock, under which every since_ms is written
 * (or its connection linked), so no since_ms is later than now: with a now
 * read earlier, a request that finished in between made now - since_ms
 * wrap around, and a busy keep-alive connection was cut as if its headers
 * were late. */
static uint64_t reap_slow_headers(struct jn_relay *relay)
{
    uint64_t limit = (uint64_t)relay->cfg.header_timeout_s * 1000u, next = 0;
    pthread_mutex_lock(&relay->conn_lock);
    uint64_t now = (uint64_t)ju_mono_ms();
    for (struct relay_conn *c = relay->conns; c; c = c->next) {
        if (c->in_request || c->fd < 0)
            continue;
        if (c->since_ms + limit <= now) {
            shutdown(c->fd, SHUT_RDWR);
            c->fd = -1;
        } else if (!next || c->since_ms + limit < next) {
            next = c->since_ms + limit;
        }
    }
    pthread_mutex_unlock(&relay->conn_lock);
    return next;
}

/* The address a request counts against: the peer's, or, when the peer is a
 * trusted proxy, the last address its Forwarded or X-Forwarded-For header
 * names (the one that proxy added; earlier ones are the client's word). */
static uint64_t client_key(struct jn_relay *relay, struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    struct relay_addr a;
    size_t n = addr_key_bytes(sa, &a);
    if (!is_proxy(relay, sa))
        return addr_key(relay, &a, n);
    char text[64];
    if (relay_forwarded_client(
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Forwarded"),
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For"), text,
            sizeof text) == 0) {
        struct relay_addr f;
        memset(&f, 0, sizeof f);
        if (inet_pton(AF_INET, text, f.bytes) == 1)
            return relay_key(relay, f.bytes, 4);
        if (inet_pton(AF_INET6, text, f.bytes) == 1)
            return relay_key(relay, f.bytes, 8);
    }
    return addr_key(relay, &a, n); /* a proxy that names nobody is one client */
}

static const char *route_of(const char *url, enum relay_route *route, char *arg, size_t cap)
{
    size_t count;
    const struct relay_route_def *routes = relay_routes(&count);
    *route = ROUTE_UNKNOWN;
    arg[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        const struct relay_route_def *def = &routes[i];
        if (!def->suffix) {
            if (strcmp(url, def->prefix) != 0)
                continue;
            *route = def->route;
            return NULL;
        }
        size_t pl = strlen(def->prefix), sl = strlen(def->suffix);
        size_t ul = strlen(url);
        if (ul <= pl + sl || strncmp(url, def->prefix, pl) != 0 ||
            strcmp(url + ul - sl, def->suffix) != 0)
            continue;
        size_t n = ul - pl - sl;
        if (!sl && memchr(url + pl, '/', n))
            continue;
        *route = def->route;
        /* Ids are hex or UUIDs: anything else ("..", "/", NUL) is refused here. */
        if (n >= cap)
            return "the id in the path is too long";
        for (size_t k = 0; k < n; k++) {
            char c = url[pl + k];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '-'))
                return "the id in the path has characters no id has";
        }
        memcpy(arg, url + pl, n);
        arg[n] = '\0';
        return NULL;
    }
    return NULL;
}

/* Memory for bodies is budgeted relay-wide and per client address, so one
 * address cannot hold what every other client needs. */
static int reserve_body(struct relay_request *r, uint64_t n)
{
    struct jn_relay *relay = r->relay;
    uint64_t *mine = &relay->buffered_per_slot[r->client_slot];
    if (relay->buffered + n > relay->cfg.max_buffered_bytes ||
        *mine + n > relay->cfg.max_buffered_per_ip)
        return -EAGAIN;
    relay->buffered += n;
    *mine += n;
    r->reserved += n;
    return 0;
}

/* The next capacity of a body: twice what has arrived, from 64 KiB, and
 * never more than its Content-Length. Only bytes that came count: a header
 * announcing 2 MiB reserves 64 KiB until the bytes follow (a whole message
 * costs five reallocations, no more). */
static size_t next_capacity(struct relay_request *r, size_t need)
{
    size_t cap = r->body_cap ? r->body_cap : 65536;
    while (cap < need)
        cap *= 2;
    const char *h =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t announced;
    if (h && ju_parse_u64(h, r->body_limit, &announced) == 0 && announced >= need &&
        announced < cap)
        cap = (size_t)announced;
    if (cap > r->body_limit)
        cap = r->body_limit;
    return cap;
}

/* GET /healthz, for load balancers: 200 while this relay takes requests
 * and reaches its database, 503 while it stops or cannot. Not a route of
 * the protocol: no token, no rate limit, nothing about families. */
static void health(struct relay_request *r)
{
    struct jn_relay *relay = r->relay;
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        relay_error(r, 405, "method_not_allowed", "the health check is GET");
        return;
    }
    pthread_mutex_lock(&relay->lock);
    int stopping = relay->stopping;
    pthread_mutex_unlock(&relay->lock);
    if (stopping) {
        relay_error_retry(r, 503, "stopping", "this relay is stopping", 1);
        return;
    }
    if (relay->st->ops->ping(relay->st, 1) < 0) {
        relay_error_retry(r, 503, "unavailable", "the relay's database cannot be reached now", 1);
        return;
    }
    static const char ok[] = "{\"status\":\"ok\"}";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof ok - 1, (void *)ok, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    r->bytes_out += sizeof ok - 1;
    relay_respond(r, 200, resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct jn_relay *relay = cls;
    struct relay_request *r = *con_cls;
    if (!r) {
        /* The parents' page: static files from memory, no request state. */
        if (relay_web_owns(relay->web, url))
            return relay_web_answer(relay->web, conn, method, url);
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        r->relay = relay;
        r->conn = conn;
        r->t0_us = (uint64_t)ju_mono_us();
        r->body_t0_ms = r->t0_us / 1000u;
        const union MHD_ConnectionInfo *sc =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        r->tcp = sc ? sc->socket_context : NULL;
        conn_set_in_request(relay, r->tcp, 1);
        r->client_key = client_key(relay, conn);
        r->client_slot = slot_of(r->client_key);
        snprintf(r->method, sizeof r->method, "%s", method);
        if (strcmp(url, "/healthz") == 0) {
            health(r);
            return MHD_YES;
        }
        /* Both framings at once is how requests are smuggled past a proxy
         * that reads the other one (RFC 9112 section 6.3): refused, and the
         * connection is closed after the answer since its framing is unknown. */
        if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH) &&
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
            r->close_after = 1;
            relay_error(r, 400, "malformed",
                        "Content-Length and Transfer-Encoding together are refused");
            return MHD_YES;
        }
        const char *bad = route_of(url, &r->route, r->arg, sizeof r->arg);
        if (r->route == ROUTE_UNKNOWN) {
            relay_error(r, 404, "not_found", "no such route");
            return MHD_YES;
        }
        if (bad) {
            relay_error(r, 400, "malformed", bad);
            return MHD_YES;
        }
        relay_route_begin(r);
        return MHD_YES;
    }

    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        r->bytes_in += n;
        uint64_t elapsed = (uint64_t)ju_mono_ms() - r->body_t0_ms;
        if (elapsed > (uint64_t)relay->cfg.max_request_s * 1000u)
            return MHD_NO; /* too slow: drop the connection */
        /* A body that trickles holds a connection and its memory for
         * nothing: after a 10 s grace, it must average min_body_rate. */
        if (relay->cfg.min_body_rate && elapsed > 10000 &&
            r->bytes_in * 1000u < (uint64_t)relay->cfg.min_body_rate * (elapsed - 10000))
            return MHD_NO;
        if (r->responded || r->body_too_large || r->body_over_budget)
            return MHD_YES; /* the answer is decided; the rest is read and dropped */
        if (n > r->body_limit - r->body_len) {
            r->body_too_large = 1;
            return MHD_YES;
        }
        if (r->body_len + n > r->body_cap) {
            size_t cap = next_capacity(r, r->body_len + n);
            if (cap > r->reserved && reserve_body(r, cap - r->reserved) < 0) {
                r->body_over_budget = 1;
                return MHD_YES;
            }
            char *nb = realloc(r->body, cap);
            if (!nb) {
                r->body_over_budget = 1;
                return MHD_YES;
            }
            r->body = nb;
            r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, upload_data, n);
        r->body_len += n;
        return MHD_YES;
    }

    if (r->responded)
        return MHD_YES;
    if (r->held_resp) { /* resumed after the group commit */
        struct MHD_Response *resp = r->held_resp;
        r->held_resp = NULL;
        if (r->sync_err) {
            MHD_destroy_response(resp);
            relay_storage_failed(r, r->sync_err);
        } else {
            relay_respond(r, r->held_status, resp);
        }
        return MHD_YES;
    }
    if (r->body_too_large) {
        relay_error(r, 413, "too_large", "the request body is larger than allowed");
        return MHD_YES;
    }
    relay_receiving_end(r);
    if (r->body_over_budget) {
        relay_error_retry(r, 429, "busy", "the relay holds too many request bodies now", 1);
        return MHD_YES;
    }
    relay_route_finish(r);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct jn_relay *relay = cls;
    struct relay_request *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    int kept = toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && relay_route_abandoned(r);
    relay_receiving_end(r);
    if (r->upload_waiting) { /* only while the relay stops */
        list_unlink(&relay->upload_waiters, r);
        r->upload_waiting = 0;
    }
    if (!relay->cfg.quiet) {
        /* Never the headers, never the query: tokens stay out of logs. */
        double ms = (double)((uint64_t)ju_mono_us() - r->t0_us) / 1000.0;
        int closed = toe != MHD_REQUEST_TERMINATED_COMPLETED_OK;
        if (relay->cfg.log_request) {
            char method[4 * sizeof r->method];
            relay_log_escape(method, sizeof method, r->method);
            struct jn_relay_request_log entry = {
                .method = method,
                .route = relay_route_name(r->route),
                .status = r->responded ? r->status : 0,
                .bytes_in = r->bytes_in,
                .bytes_out = r->bytes_out,
                .ms = ms,
                .closed = closed,
                .bytes_kept = closed && kept,
            };
            relay->cfg.log_request(relay->cfg.log_user, &entry);
        } else {
            relay_log("%s %s %u %llu %llu %.1fms%s", r->method, relay_route_name(r->route),
                      r->responded ? r->status : 0, (unsigned long long)r->bytes_in,
                      (unsigned long long)r->bytes_out, ms,
                      !closed ? ""
                      : kept  ? " (connection closed; bytes kept)"
                              : " (connection closed)");
        }
    }
    relay->buffered -= r->reserved;
    relay->buffered_per_slot[r->client_slot] -= r->reserved;
    conn_set_in_request(relay, r->tcp, 0);
    if (r->held_resp)
        MHD_destroy_response(r->held_resp);
    free(r->body);
    free(r->upload);
    free(r);
}

/* Percent-decoding in place, like libmicrohttpd's own, except that %00 is
 * kept as it is: a NUL would cut the path short and hide what follows. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    char *w = s;
    for (const char *p = s; *p; p++) {
        int hi, lo;
        if (*p == '%' && (hi = ju_hex_digit(p[1])) >= 0 && (lo = ju_hex_digit(p[2])) >= 0 &&
            (hi || lo)) {
            *w++ = (char)(hi << 4 | lo);
            p += 2;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    /* libmicrohttpd's own complaints (malformed requests) are answered with
     * a status already; keeping them out of the log keeps one line a request. */
}

static int parse_address(const char *host, uint16_t port, struct sockaddr_storage *ss,
                         socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        *len = sizeof *a4;
        return AF_INET;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *len = sizeof *a6;
        return AF_INET6;
    }
    return -EINVAL;
}

static int check_config(const struct jn_relay_config *c)
{
    if (!c->db_path || !c->host || c->invite_digits < 6 || c->invite_digits > 18 ||
        c->max_recipients < 1 || c->max_recipients > RELAY_MAX_RECIPIENTS ||
        c->max_metadata_bytes > 1024 || c->max_metadata_bytes < 64 || c->max_json_bytes < 64 ||
        c->max_header_bytes < 2048 || c->max_message_bytes < 1 ||
        c->max_message_bytes > (1u << 30) || c->max_wait_s > 3600 || c->cleanup_interval_s < 1 ||
        c->cleanup_batch < 1 || c->max_connections < 1 || c->max_request_s < 1 ||
        c->idle_timeout_s < 1 || c->token_rate <= 0 || c->join_rate <= 0 ||
        c->join_rate_global <= 0 || c->max_buffered_bytes < c->max_message_bytes ||
        c->max_buffered_per_ip < c->max_message_bytes || c->create_rate_global <= 0)
        return JN_ERR_CONFIG;
    return 0;
}

int relay_storage_is_pg(const char *db)
{
    return strncmp(db, "postgresql://", 13) == 0 || strncmp(db, "postgres://", 11) == 0;
}

/* The database argument picks the storage: a PostgreSQL URI, or a file. */
static int open_storage(const char *db, int flags, struct relay_storage **out)
{
    if (relay_storage_is_pg(db))
        return relay_storage_pg_open(db, flags, out);
    return relay_storage_sqlite_open(db, out);
}

static void close_listener(struct jn_relay *relay)
{
    if (relay->listen_st)
        relay->listen_st->ops->close(relay->listen_st);
    relay->listen_st = NULL;
    for (int i = 0; i < 2; i++)
        if (relay->listen_stop[i] >= 0)
            close(relay->listen_stop[i]);
    relay->listen_stop[0] = relay->listen_stop[1] = -1;
}

int jn_relay_migrate(const char *db, int *version)
{
    struct relay_storage *st;
    int err = open_storage(db, RELAY_OPEN_MIGRATE, &st);
    if (err < 0)
        return err == -ENOTCONN || err == -EPROTO ? err : JN_ERR_STORAGE;
    *version = relay_storage_is_pg(db) ? relay_storage_pg_version() : 1;
    st->ops->close(st);
    return 0;
}

int jn_relay_check(const char *db)
{
    struct relay_storage *st;
    int err = open_storage(db, 0, &st);
    if (err < 0)
        return err == -ENOTCONN || err == -EPROTO ? err : JN_ERR_STORAGE;
    err = st->ops->ping(st, 1);
    st->ops->close(st);
    return err;
}

/* "a,b,c" into relay->proxies; JN_ERR_CONFIG for anything not a numeric
 * address. */
static int parse_proxies(struct jn_relay *relay, const char *list)
{
    while (list && *list) {
        size_t n = strcspn(list, ",");
        char one[64];
        if (n == 0 || n >= sizeof one || relay->n_proxies == RELAY_MAX_PROXIES)
            return JN_ERR_CONFIG;
        memcpy(one, list, n);
        one[n] = '\0';
        struct relay_addr *a = &relay->proxies[relay->n_proxies];
        if (inet_pton(AF_INET, one, a->bytes) == 1)
            a->family = AF_INET;
        else if (inet_pton(AF_INET6, one, a->bytes) == 1)
            a->family = AF_INET6;
        else
            return JN_ERR_CONFIG;
        relay->n_proxies++;
        list += n;
        if (*list == ',')
            list++;
    }
    return 0;
}

/* Connections the open-file limit leaves room for: beyond it accept()
 * fails and libmicrohttpd stops accepting anyone for a while, so the
 * connection limit is kept under it and excess connections are refused at
 * once instead. 64 descriptors stay for the database, the listening socket
 * and epoll. */
static unsigned connection_limit(unsigned wanted)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
        return wanted;
    if (rl.rlim_cur <= 128)
        return 64;
    uint64_t room = (uint64_t)rl.rlim_cur - 64;
    return room < wanted ? (unsigned)room : wanted;
}

int jn_relay_create(const struct jn_relay_config *cfg, struct jn_relay **out)
{
    int err = check_config(cfg);
    if (err < 0)
        return err;
    struct jn_relay *relay = calloc(1, sizeof *relay);
    if (!relay)
        return -ENOMEM;
    relay->cfg = *cfg;
    if (cfg->log)
        jn_relay_set_log(cfg->log, cfg->log_user);
    if (!relay_storage_is_pg(cfg->db_path)) {
        snprintf(relay->db_dir, sizeof relay->db_dir, "%s", cfg->db_path);
        char *slash = strrchr(relay->db_dir, '/');
        if (!slash)
            snprintf(relay->db_dir, sizeof relay->db_dir, ".");
        else if (slash == relay->db_dir)
            slash[1] = '\0';
        else
            *slash = '\0';
    }
    relay->cfg.host = NULL;
    relay->cfg.db_path = NULL;
    relay->cfg.web_dir = NULL;
    if (cfg->web_dir && relay_web_load(cfg->web_dir, &relay->web) < 0) {
        err = JN_ERR_WEB;
        goto error_relay;
    }
    if ((err = ju_random_bytes(&relay->seed, sizeof relay->seed)) < 0) {
        goto error_relay;
    }
    if (parse_proxies(relay, cfg->trusted_proxies) < 0) {
        err = JN_ERR_CONFIG;
        goto error_relay;
    }
    relay->cfg.trusted_proxies = NULL;
    relay->connection_limit = connection_limit(cfg->max_connections);
    err = -ENOMEM;
    relay->buffered_per_slot = calloc(RELAY_ADDR_SLOTS, sizeof *relay->buffered_per_slot);
    relay->conns_per_slot = calloc(RELAY_ADDR_SLOTS, sizeof *relay->conns_per_slot);
    if (!relay->buffered_per_slot || !relay->conns_per_slot ||
        limiter_init(&relay->create_global, 1, cfg->create_rate_global, cfg->create_burst_global) <
            0 ||
        limiter_init(&relay->token_limit, 65536, cfg->token_rate, cfg->token_burst) < 0 ||
        limiter_init(&relay->join_limit, 16384, cfg->join_rate, cfg->join_burst) < 0 ||
        limiter_init(&relay->join_global, 1, cfg->join_rate_global, cfg->join_burst_global) < 0 ||
        limiter_init(&relay->create_limit, 16384, cfg->join_rate, cfg->join_burst) < 0)
        goto error_limits;

    relay->listen_stop[0] = relay->listen_stop[1] = -1;
    if (open_storage(cfg->db_path, RELAY_OPEN_MIGRATE, &relay->st) < 0) {
        err = JN_ERR_STORAGE;
        goto error_limits;
    }
    if (open_storage(cfg->db_path, 0, &relay->cleanup_st) < 0) {
        err = JN_ERR_STORAGE;
        goto error_st;
    }
    if (open_storage(cfg->db_path, RELAY_OPEN_DURABLE, &relay->sync_st) < 0) {
        err = JN_ERR_STORAGE;
        goto error_cleanup_st;
    }
    if (relay->st->ops->listen &&
        (open_storage(cfg->db_path, 0, &relay->listen_st) < 0 || pipe(relay->listen_stop) < 0)) {
        err = JN_ERR_STORAGE;
        goto error_listen_st;
    }
    /* Shared limits: the buckets and their hash key come from the database,
     * so a device or an address is counted the same on every relay. */
    if (relay->st->ops->limit_take && relay->st->ops->shared_seed) {
        if (relay->st->ops->shared_seed(relay->st, &relay->seed) < 0) {
            err = JN_ERR_STORAGE;
            goto error_listen_st;
        }
        struct relay_limiter *ls[] = {&relay->token_limit, &relay->join_limit, &relay->join_global,
                                      &relay->create_limit};
        for (unsigned i = 0; i < sizeof ls / sizeof ls[0]; i++) {
            ls[i]->shared = relay->st;
            ls[i]->id = i + 1;
        }
    }

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&relay->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&relay->sync_cond, NULL);
    pthread_mutex_init(&relay->lock, NULL);
    pthread_mutex_init(&relay->conn_lock, NULL);

    struct sockaddr_storage ss;
    socklen_t sslen;
    int family = parse_address(cfg->host, cfg->port, &ss, &sslen);
    if (family < 0) {
        err = JN_ERR_CONFIG;
        goto error_sync;
    }
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (family == AF_INET6)
        flags |= MHD_USE_IPv6;
    relay->mhd = MHD_start_daemon(
        flags, cfg->port, on_accept, relay, on_request, relay, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, relay->connection_limit,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, relay, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)cfg->idle_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)cfg->max_header_bytes, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, relay, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        relay, MHD_OPTION_UNESCAPE_CALLBACK, unescape, relay, MHD_OPTION_END);
    if (!relay->mhd) {
        err = JN_ERR_LISTEN;
        goto error_sync;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(relay->mhd, MHD_DAEMON_INFO_BIND_PORT);
    relay->port = info ? info->port : cfg->port;

    if (pthread_create(&relay->timer, NULL, timer_main, relay) != 0) {
        err = -EAGAIN;
        goto error_mhd;
    }
    relay->timer_started = 1;
    if (pthread_create(&relay->syncer, NULL, syncer_main, relay) != 0) {
        err = -EAGAIN;
        goto error_timer;
    }
    relay->syncer_started = 1;
    if (relay->listen_st) {
        if (pthread_create(&relay->listener, NULL, listener_main, relay) != 0) {
            err = -EAGAIN;
            goto error_syncer;
        }
        relay->listener_started = 1;
    }
    *out = relay;
    return 0;

error_syncer:
    pthread_mutex_lock(&relay->lock);
    relay->sync_stop = 1;
    pthread_cond_signal(&relay->sync_cond);
    pthread_mutex_unlock(&relay->lock);
    pthread_join(relay->syncer, NULL);
error_timer:
    pthread_mutex_lock(&relay->lock);
    relay->stopping = 1;
    pthread_cond_broadcast(&relay->cond);
    pthread_mutex_unlock(&relay->lock);
    pthread_join(relay->timer, NULL);
error_mhd:
    MHD_stop_daemon(relay->mhd);
error_sync:
    pthread_mutex_destroy(&relay->lock);
    pthread_mutex_destroy(&relay->conn_lock);
    pthread_cond_destroy(&relay->cond);
    pthread_cond_destroy(&relay->sync_cond);
error_listen_st:
    close_listener(relay);
    relay->sync_st->ops->close(relay->sync_st);
error_cleanup_st:
    relay->cleanup_st->ops->close(relay->cleanup_st);
error_st:
    relay->st->ops->close(relay->st);
error_limits:
    limiter_finish(&relay->create_global);
    free(relay->buffered_per_slot);
    free(relay->conns_per_slot);
    limiter_finish(&relay->token_limit);
    limiter_finish(&relay->join_limit);
    limiter_finish(&relay->join_global);
    limiter_finish(&relay->create_limit);
error_relay:
    relay_web_free(relay->web);
    free(relay);
    return err;
}

uint16_t jn_relay_port(const struct jn_relay *relay)
{
    return relay->port;
}

void jn_relay_stop(struct jn_relay *relay)
{
    if (!relay || relay->stopped)
        return;
    relay->stopped = 1;
    MHD_quiesce_daemon(relay->mhd);
    pthread_mutex_lock(&relay->lock);
    /* Waiters for an upload are the MHD thread's: it resumes them itself
     * when their receivers end, which the stop below brings about. */
    relay->stopping = 1;
    while (relay->waiters) {
        struct relay_request *w = relay->waiters;
        unlink_waiter(relay, w);
        MHD_resume_connection(w->conn);
    }
    pthread_cond_broadcast(&relay->cond);
    pthread_mutex_unlock(&relay->lock);
    if (relay->timer_started)
        pthread_join(relay->timer, NULL);
    relay->timer_started = 0;
    /* The syncer answers what it holds, then requests sync inline. */
    pthread_mutex_lock(&relay->lock);
    relay->sync_stop = 1;
    pthread_cond_signal(&relay->sync_cond);
    pthread_mutex_unlock(&relay->lock);
    if (relay->syncer_started)
        pthread_join(relay->syncer, NULL);
    relay->syncer_started = 0;
    if (relay->listener_started) {
        ssize_t w = write(relay->listen_stop[1], "x", 1);
        (void)w;
        pthread_join(relay->listener, NULL);
    }
    relay->listener_started = 0;

    /* Let the requests in flight (and the long polls just woken) answer. */
    for (int i = 0; i < 50; i++) {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(relay->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (!info || info->num_connections == 0)
            break;
        ju_sleep_ms(100);
    }
    MHD_stop_daemon(relay->mhd);
    relay->mhd = NULL;
}

void jn_relay_sync_stats(const struct jn_relay *relay, uint64_t *syncs, uint64_t *requests)
{
    pthread_mutex_lock((pthread_mutex_t *)&relay->lock);
    *syncs = relay->syncs;
    *requests = relay->synced_requests;
    pthread_mutex_unlock((pthread_mutex_t *)&relay->lock);
}

void jn_relay_destroy(struct jn_relay *relay)
{
    if (!relay)
        return;
    jn_relay_stop(relay);
    close_listener(relay);
    relay->sync_st->ops->close(relay->sync_st);
    relay->cleanup_st->ops->close(relay->cleanup_st);
    relay->st->ops->close(relay->st);
    pthread_mutex_destroy(&relay->lock);
    pthread_mutex_destroy(&relay->conn_lock);
    pthread_cond_destroy(&relay->cond);
    pthread_cond_destroy(&relay->sync_cond);
    limiter_finish(&relay->create_global);
    free(relay->buffered_per_slot);
    free(relay->conns_per_slot);
    limiter_finish(&relay->token_limit);
    limiter_finish(&relay->join_limit);
    limiter_finish(&relay->join_global);
    limiter_finish(&relay->create_limit);
    relay_web_free(relay->web);
    free(relay);
}
