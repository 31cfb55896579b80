/*
 * HTTP for the sync client: one libcurl easy handle driven through a multi
 * handle, so the connection is kept alive between requests and an idle long
 * poll sleeps in one poll() call instead of curl_easy_perform()'s one-second
 * ticks.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "client_internal.h"

#define DEFAULT_MAX_BODY (64 * 1024)

struct jn_http {
    CURLM *multi;
    CURL *easy;
    char *base_url;
    char *token;
    char *ca_file;
    long connect_timeout_s;
    long low_speed_bytes;
    long low_speed_time_s;
    char errbuf[CURL_ERROR_SIZE];
    char last_error[CURL_ERROR_SIZE + 64];
    uint64_t sent;
    uint64_t received;
    int64_t last_ok_ms; /* when the last exchange completed (monotonic), 0 never */
    unsigned connections;
    int64_t deadline_ms; /* monotonic; 0: none */
    int wake_fd;         /* ends a long poll when readable; -1: none */
    jn_traffic_fn on_traffic;
    void *traffic_user;
};

struct transfer {
    const struct jn_http_request *req;
    size_t body_at; /* request body bytes handed to libcurl */
    struct jn_http_response *resp;
    size_t cap;
    size_t max_body;
    int sink_error;
    bool too_large;
    CURL *easy;
    bool trace;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_result;

static void global_init(void)
{
    global_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

bool jn_error_is_transient(int err)
{
    switch (err) {
    case JN_ERR_NETWORK:
    case JN_ERR_CONFLICT:
    case JN_ERR_RATE_LIMITED:
    case JN_ERR_CHECKSUM:
    case JN_ERR_SERVER:
    case JN_ERR_RELAY_FULL:
        return true;
    }
    return false;
}

int jn_http_status_error(long status)
{
    if (status >= 200 && status < 300)
        return 0;
    switch (status) {
    case 400:
        return JN_ERR_BAD_REQUEST;
    case 401:
        return JN_ERR_UNAUTHORIZED;
    case 403:
        return JN_ERR_FORBIDDEN;
    case 404:
        return JN_ERR_NOT_FOUND;
    case 408:
        return JN_ERR_NETWORK;
    case 409:
        return JN_ERR_CONFLICT;
    case 410:
        return JN_ERR_GONE;
    case 413:
        return JN_ERR_TOO_LARGE;
    case 429:
        return JN_ERR_RATE_LIMITED;
    case 460:
        return JN_ERR_CHECKSUM;
    case 507:
        return JN_ERR_RELAY_FULL;
    }
    if (status >= 500 && status < 600)
        return JN_ERR_SERVER;
    if (status == 0)
        return JN_ERR_NETWORK;
    return status >= 400 && status < 500 ? JN_ERR_HTTP : JN_ERR_PROTOCOL;
}

static char *dup_or_null(const char *s, int *err)
{
    char *copy;

    if (!s)
        return NULL;
    copy = strdup(s);
    if (!copy)
        *err = -ENOMEM;
    return copy;
}

int jn_http_create(const struct jn_http_config *config, jn_http **out)
{
    jn_http *http;
    const char *ca = config->ca_file;
    size_t n;
    int err = 0;

    *out = NULL;
    if (!config->base_url || (strncmp(config->base_url, "http://", 7) != 0 &&
                              strncmp(config->base_url, "https://", 8) != 0))
        return JN_ERR_URL;
    pthread_once(&global_once, global_init);
    if (global_result != CURLE_OK)
        return -ENOMEM;

    http = calloc(1, sizeof(*http));
    if (!http)
        return -ENOMEM;
    if (!ca || !*ca)
        ca = jn_net_overrides_get()->ca_file;
    http->base_url = dup_or_null(config->base_url, &err);
    http->token = dup_or_null(config->token, &err);
    http->ca_file = ca && *ca ? dup_or_null(ca, &err) : NULL;
    if (err)
        goto error_strings;
    n = strlen(http->base_url);
    while (n > 0 && http->base_url[n - 1] == '/')
        http->base_url[--n] = '\0';
    http->connect_timeout_s = config->connect_timeout_s > 0 ? config->connect_timeout_s : 30;
    http->low_speed_bytes = config->low_speed_bytes > 0 ? config->low_speed_bytes : 1;
    http->low_speed_time_s = config->low_speed_time_s > 0 ? config->low_speed_time_s : 45;
    const struct jn_net_overrides *o = jn_net_overrides_get();
    if (o->connect_timeout_s > 0 && o->low_speed_bytes > 0 && o->low_speed_time_s > 0) {
        http->connect_timeout_s = o->connect_timeout_s;
        http->low_speed_bytes = o->low_speed_bytes;
        http->low_speed_time_s = o->low_speed_time_s;
    }

    http->wake_fd = -1;
    http->multi = curl_multi_init();
    if (!http->multi) {
        err = -ENOMEM;
        goto error_strings;
    }
    /* One connection to the relay, reused; never a second one in parallel. */
    curl_multi_setopt(http->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
    curl_multi_setopt(http->multi, CURLMOPT_MAXCONNECTS, 1L);
    http->easy = curl_easy_init();
    if (!http->easy) {
        err = -ENOMEM;
        goto error_multi;
    }
    *out = http;
    return 0;

error_multi:
    curl_multi_cleanup(http->multi);
error_strings:
    free(http->ca_file);
    free(http->token);
    free(http->base_url);
    free(http);
    return err;
}

void jn_http_destroy(jn_http *http)
{
    if (!http)
        return;
    curl_easy_cleanup(http->easy);
    curl_multi_cleanup(http->multi);
    free(http->ca_file);
    free(http->token);
    free(http->base_url);
    free(http);
}

int jn_http_set_token(jn_http *http, const char *token)
{
    char *copy = NULL;

    if (token) {
        copy = strdup(token);
        if (!copy)
            return -ENOMEM;
    }
    free(http->token);
    http->token = copy;
    return 0;
}

void jn_http_set_error(jn_http *http, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(http->last_error, sizeof(http->last_error), fmt, ap);
    va_end(ap);
}

void jn_http_set_wake_fd(jn_http *http, int fd)
{
    http->wake_fd = fd;
}

void jn_http_set_traffic_fn(jn_http *http, jn_traffic_fn fn, void *user)
{
    http->on_traffic = fn;
    http->traffic_user = user;
}

unsigned jn_http_connections(const jn_http *http)
{
    return http->connections;
}

const char *jn_http_last_error(const jn_http *http)
{
    return http->last_error;
}

void jn_http_counters(const jn_http *http, uint64_t *sent, uint64_t *received)
{
    if (sent)
        *sent = http->sent;
    if (received)
        *received = http->received;
}

/* Where the scheme and authority of an http(s) URL end; NULL if it is not one. */
static const char *origin_end(const char *url)
{
    const char *p;
    if (strncasecmp(url, "http://", 7) == 0)
        p = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        p = url + 8;
    else
        return NULL;
    return p + strcspn(p, "/?#");
}

bool jn_http_same_origin(const jn_http *http, const char *location)
{
    if (location[0] == '/')
        return location[1] != '/' && location[1] != '\\'; /* "//host/..." names another host */
    const char *a = origin_end(location), *b = origin_end(http->base_url);
    if (!a || !b || a - location != b - http->base_url)
        return false;
    /* Scheme and host compare without case; the port and any user part
     * must be exactly the relay's. */
    return strncasecmp(location, http->base_url, (size_t)(a - location)) == 0 &&
           (*a == '/' || *a == '\0');
}

void jn_http_set_deadline(jn_http *http, int64_t mono_ms)
{
    http->deadline_ms = mono_ms;
}

void jn_http_sleep_ms(jn_http *http, unsigned ms)
{
    if (http->deadline_ms) {
        int64_t left = http->deadline_ms - (int64_t)ju_mono_ms();
        if (left <= 0)
            return;
        if ((int64_t)ms > left)
            ms = (unsigned)left;
    }
    ju_sleep_ms(ms);
}

void jn_http_response_finish(struct jn_http_response *response)
{
    free(response->body);
    response->body = NULL;
    response->body_len = 0;
}

static void response_reset_headers(struct jn_http_response *r)
{
    r->retry_after_s = -1;
    r->upload_offset = -1;
    r->upload_length = -1;
    r->range_start = -1;
    r->range_total = -1;
    r->content_length = -1;
    r->tus_max_size = -1;
    r->location[0] = '\0';
    r->etag[0] = '\0';
    r->tus_resumable[0] = '\0';
}

/* A header's number (the line is trimmed already), or -1. */
static int64_t parse_i64(const char *s)
{
    int64_t v;
    return ju_parse_i64(s, 0, INT64_MAX, &v) == 0 ? v : -1;
}

static void copy_value(char *dst, size_t size, const char *value)
{
    size_t n = strlen(value);

    if (n >= size)
        n = size - 1; /* a value this long is not one we would use anyway */
    memcpy(dst, value, n);
    dst[n] = '\0';
}

static size_t on_header(char *buffer, size_t size, size_t nitems, void *user)
{
    struct transfer *t = user;
    struct jn_http_response *r = t->resp;
    size_t len = size * nitems;
    char line[1024];
    char *colon, *value, *end;

    if (len >= sizeof(line))
        return len; /* longer than any header we read: ignore it */
    memcpy(line, buffer, len);
    line[len] = '\0';
    end = line + len;
    while (end > line && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        *--end = '\0';
    if (strncmp(line, "HTTP/", 5) == 0) {
        /* A new status line (after a 100 Continue): forget earlier headers. */
        response_reset_headers(r);
        return len;
    }
    colon = strchr(line, ':');
    if (!colon)
        return len;
    *colon = '\0';
    value = colon + 1;
    while (*value == ' ' || *value == '\t')
        value++;

    if (strcasecmp(line, "Retry-After") == 0) {
        int64_t v = parse_i64(value);
        /* An HTTP date instead of seconds: a minute is a fair reading. */
        r->retry_after_s = v >= 0 ? (v > 86400 ? 86400 : (long)v) : 60;
    } else if (strcasecmp(line, "Upload-Offset") == 0) {
        r->upload_offset = parse_i64(value);
    } else if (strcasecmp(line, "Upload-Length") == 0) {
        r->upload_length = parse_i64(value);
    } else if (strcasecmp(line, "Content-Length") == 0) {
        r->content_length = parse_i64(value);
    } else if (strcasecmp(line, "Tus-Max-Size") == 0) {
        r->tus_max_size = parse_i64(value);
    } else if (strcasecmp(line, "Location") == 0) {
        copy_value(r->location, sizeof(r->location), value);
    } else if (strcasecmp(line, "Tus-Resumable") == 0) {
        copy_value(r->tus_resumable, sizeof(r->tus_resumable), value);
    } else if (strcasecmp(line, "ETag") == 0) {
        char *v = value;
        size_t n;
        if (strncmp(v, "W/", 2) == 0)
            v += 2;
        if (*v == '"')
            v++;
        n = strlen(v);
        if (n > 0 && v[n - 1] == '"')
            v[n - 1] = '\0';
        copy_value(r->etag, sizeof(r->etag), v);
    } else if (strcasecmp(line, "Content-Range") == 0) {
        long long a, b;
        char total[32];
        if (sscanf(value, "bytes %lld-%lld/%31s", &a, &b, total) == 3 && a >= 0 && b >= a) {
            r->range_start = a;
            r->range_total = strcmp(total, "*") == 0 ? -1 : parse_i64(total);
        }
    }
    return len;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    struct transfer *t = user;
    struct jn_http_response *r = t->resp;
    size_t len = size * nmemb;

    if (len == 0)
        return 0;
    if (t->req->sink) {
        /* The status is known before the first body byte; the sink sees it
         * (and the headers) through the response being filled. */
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r->status);
        int err = t->req->sink(t->req->sink_user, (const unsigned char *)data, len);
        if (err < 0) {
            t->sink_error = err;
            return 0;
        }
        return len;
    }
    if (r->body_len + len > t->max_body) {
        t->too_large = true;
        return 0;
    }
    if (r->body_len + len + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        char *grown;
        while (cap < r->body_len + len + 1)
            cap *= 2;
        grown = realloc(r->body, cap);
        if (!grown) {
            t->sink_error = -ENOMEM;
            return 0;
        }
        r->body = grown;
        t->cap = cap;
    }
    memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return len;
}

static size_t on_read(char *buffer, size_t size, size_t nitems, void *user)
{
    struct transfer *t = user;
    size_t n = size * nitems, left = t->req->body_len - t->body_at;

    if (n > left)
        n = left;
    if (n)
        memcpy(buffer, t->req->body + t->body_at, n);
    t->body_at += n;
    return n;
}

/* libcurl silently sends a request again on a fresh connection when a
 * reused one died before any answer, rewinding the body: for an upload cut
 * in the middle that resends every byte, though the relay kept what
 * arrived. Refusing the rewind once bytes went out makes the cut an error
 * instead, and the tus client asks where the upload stands. */
static int on_seek(void *user, curl_off_t offset, int origin)
{
    struct transfer *t = user;

    if (origin == SEEK_SET && offset == 0 && t->body_at == 0)
        return CURL_SEEKFUNC_OK;
    return CURL_SEEKFUNC_CANTSEEK;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct transfer *t = user;

    if (t->req->progress)
        t->req->progress(t->req->progress_user, (uint64_t)ulnow, (uint64_t)ultotal);
    return 0;
}

/* Counts what really crosses the connection, including the requests libcurl
 * silently repeats on a fresh connection when a reused one died. */
static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *user)
{
    struct transfer *t = user;
    struct jn_http_response *r = t->resp;

    switch (type) {
    case CURLINFO_HEADER_OUT:
        r->bytes_sent += size;
        break;
    case CURLINFO_DATA_OUT:
        r->bytes_sent += size;
        r->body_sent += size;
        break;
    case CURLINFO_HEADER_IN:
    case CURLINFO_DATA_IN:
        r->bytes_received += size;
        break;
    default:
        break;
    }
    if (t->trace && type == CURLINFO_HEADER_OUT) {
        /* The token opens the whole account: a trace pasted into a bug
         * report must not carry it. */
        for (size_t at = 0; at < size;) {
            const char *line = data + at;
            const char *nl = memchr(line, '\n', size - at);
            size_t n = nl ? (size_t)(nl - line) + 1 : size - at;
            if (n >= 14 && strncasecmp(line, "Authorization:", 14) == 0)
                fprintf(stderr, "> Authorization: Bearer [redacted]\r\n");
            else
                fprintf(stderr, "> %.*s", (int)n, line);
            at += n;
        }
    } else if (t->trace && type != CURLINFO_DATA_OUT && type != CURLINFO_DATA_IN &&
               type != CURLINFO_SSL_DATA_IN && type != CURLINFO_SSL_DATA_OUT)
        fprintf(stderr, "%c %.*s",
                type == CURLINFO_TEXT        ? '*'
                : type == CURLINFO_HEADER_IN ? '<'
                                             : '>',
                (int)size, data);
    return 0;
}

static bool is_tls_failure(CURLcode code)
{
    switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
        return true;
    default:
        return false;
    }
}

/* Drives the transfer; 1 when wake_fd (if >= 0) became readable first:
 * the transfer is then abandoned. */
static int perform(jn_http *http, int wake_fd, CURLcode *result)
{
    CURLMcode mc;
    CURLMsg *msg;
    int running = 1, left, woken = 0;
    struct curl_waitfd extra = {.fd = wake_fd, .events = CURL_WAIT_POLLIN};

    *result = CURLE_OK;
    mc = curl_multi_add_handle(http->multi, http->easy);
    if (mc != CURLM_OK)
        return -ENOMEM;
    while (running) {
        mc = curl_multi_perform(http->multi, &running);
        if (mc != CURLM_OK)
            break;
        if (!running)
            break;
        /* libcurl shortens this to its own next timer; while a long poll
         * waits, that is the overall timeout, so the process sleeps. */
        extra.revents = 0;
        mc = curl_multi_poll(http->multi, wake_fd >= 0 ? &extra : NULL, wake_fd >= 0 ? 1 : 0,
                             600000, NULL);
        if (mc != CURLM_OK)
            break;
        if (extra.revents) {
            woken = 1;
            break;
        }
    }
    *result = mc == CURLM_OK ? CURLE_OK : CURLE_OUT_OF_MEMORY;
    while ((msg = curl_multi_info_read(http->multi, &left)))
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == http->easy)
            *result = msg->data.result;
    curl_multi_remove_handle(http->multi, http->easy);
    return woken;
}

static struct curl_slist *append(struct curl_slist *list, const char *line, int *err)
{
    struct curl_slist *grown;

    if (*err)
        return list;
    grown = curl_slist_append(list, line);
    if (!grown) {
        *err = -ENOMEM;
        return list;
    }
    return grown;
}

int jn_http_request(jn_http *http, const struct jn_http_request *req, struct jn_http_response *resp)
{
    struct transfer t = {.req = req, .resp = resp, .easy = http->easy};
    struct curl_slist *headers = NULL;
    char *url = NULL, *auth = NULL, ctype[128];
    const char *method = req->method ? req->method : "GET";
    CURLcode code;
    CURL *h = http->easy;
    long connects = 0;
    int err = 0;

    memset(resp, 0, sizeof(*resp));
    response_reset_headers(resp);
    http->last_error[0] = '\0';
    http->errbuf[0] = '\0';
    t.max_body = req->max_body ? req->max_body : DEFAULT_MAX_BODY;

    if (strncmp(req->path, "http://", 7) == 0 || strncmp(req->path, "https://", 8) == 0) {
        url = strdup(req->path);
    } else {
        size_t n = strlen(http->base_url) + strlen(req->path) + 2;
        url = malloc(n);
        if (url)
            snprintf(url, n, "%s%s%s", http->base_url, req->path[0] == '/' ? "" : "/", req->path);
    }
    if (!url)
        return -ENOMEM;

    /* Drop libcurl's default Accept header and "Expect: 100-continue" (a
     * wasted round trip on 2G); a body with no type says none. */
    headers = append(headers, "Accept:", &err);
    headers = append(headers, "Expect:", &err);
    if (req->content_type) {
        snprintf(ctype, sizeof(ctype), "Content-Type: %s", req->content_type);
        headers = append(headers, ctype, &err);
    } else {
        headers = append(headers, "Content-Type:", &err);
    }
    if (http->token) {
        size_t n = strlen(http->token) + 32;
        auth = malloc(n);
        if (!auth)
            err = -ENOMEM;
        else
            snprintf(auth, n, "Authorization: Bearer %s", http->token);
        headers = append(headers, auth ? auth : "", &err);
    }
    for (const char *const *line = req->headers; line && *line; line++)
        headers = append(headers, *line, &err);
    if (err)
        goto error_headers;

    /* reset keeps the live connection, so the next request reuses it. */
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, http->errbuf);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, http->connect_timeout_s);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 60L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 30L);
    t.trace = jn_net_overrides_get()->trace_http;
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, &t);
    if (http->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, http->ca_file);
    if (req->long_poll_s > 0) {
        long total = req->long_poll_s + http->connect_timeout_s + 30L;
        curl_easy_setopt(h, CURLOPT_TIMEOUT, total);
        /* libcurl arms its connect timer even on a reused connection, which
         * would wake an idle long poll once for nothing. On a connection
         * that just worked (the relay keeps it 30 s), only the overall
         * timer is left. */
        if (http->last_ok_ms && ju_mono_ms() - http->last_ok_ms < 20000)
            curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, total);
    } else {
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, http->low_speed_bytes);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, http->low_speed_time_s);
    }
    if (http->deadline_ms) {
        /* The whole sync has a deadline: no request outlives it. */
        int64_t left = http->deadline_ms - (int64_t)ju_mono_ms();
        if (left <= 0) {
            err = JN_ERR_GAVE_UP;
            jn_http_set_error(http, "the sync ran out of time before the relay answered");
            goto error_headers;
        }
        if (req->long_poll_s <= 0 ||
            left < (req->long_poll_s + http->connect_timeout_s + 30L) * 1000L)
            curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left);
        if (req->long_poll_s > 0 && http->connect_timeout_s * 1000 > left)
            curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)left);
    }
    if (req->progress) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
    }
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "OPTIONS") == 0 && !req->body_len) {
        /* No body, so no "Content-Length: 0" either: bytes are paid for. */
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        if (req->body && req->body_len) {
            curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(h, CURLOPT_READDATA, &t);
            curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
            curl_easy_setopt(h, CURLOPT_SEEKDATA, &t);
        } else {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        }
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }

    err = perform(http, req->long_poll_s > 0 ? http->wake_fd : -1, &code);
    if (err < 0)
        goto error_headers;
    bool woken = err == 1;
    err = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
    resp->connects = (unsigned)connects;
    http->connections += (unsigned)connects;
    http->sent += resp->bytes_sent;
    http->received += resp->bytes_received;
    if (http->on_traffic && (resp->bytes_sent || resp->bytes_received))
        http->on_traffic(http->traffic_user, resp->bytes_sent, resp->bytes_received);

    if (woken) {
        snprintf(http->last_error, sizeof(http->last_error), "the wait was ended by news here");
        err = -EINTR;
        free(resp->body);
        resp->body = NULL;
        resp->body_len = 0;
    } else if (code == CURLE_OK) {
        http->last_ok_ms = ju_mono_ms();
    } else {
        if (t.too_large) {
            err = JN_ERR_TOO_LARGE;
            snprintf(http->last_error, sizeof(http->last_error), "answer longer than %zu bytes",
                     t.max_body);
        } else if (t.sink_error) {
            err = t.sink_error;
        } else {
            snprintf(http->last_error, sizeof(http->last_error), "%s",
                     http->errbuf[0] ? http->errbuf : curl_easy_strerror(code));
            if (is_tls_failure(code))
                err = JN_ERR_TLS;
            else if (code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL)
                err = JN_ERR_URL;
            else if (code == CURLE_OUT_OF_MEMORY)
                err = -ENOMEM;
            else
                err = JN_ERR_NETWORK;
        }
        free(resp->body);
        resp->body = NULL;
        resp->body_len = 0;
    }

error_headers:
    curl_slist_free_all(headers);
    free(auth);
    free(url);
    return err;
}
