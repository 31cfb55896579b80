#define _GNU_SOURCE /* strcasestr */
/*
 * Fuzz target over the sync client's handling of the relay's JSON answers:
 * family creation and joining (identity, token, invite), the member list,
 * invites, and whole sync passes (inbox pages, receipts, error bodies).
 * A responder thread on loopback answers every request with the input's
 * status and body, so the bytes go through libcurl, the client's size
 * limits and its JSON code exactly as a relay's would.
 *
 * Input: byte 0 picks the call, byte 1 the status (200, 201, 400, 404, 429,
 * 500, 507, 200), the rest is the body.
 *
 * Built with libFuzzer when clang and -Dfuzzing; otherwise (and always, as
 * the replay program) main() runs each file given, or each file of the
 * directories given, through the target.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/sync/sync.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static pthread_mutex_t answer_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned answer_status = 200;
static char *answer_body;
static size_t answer_len;
static int listen_fd = -1;
static uint16_t port;
static jn_http *http;
static js_store *store;
static char home[] = "/tmp/jiashu-fuzz-json.XXXXXX";

/* Reads one request (headers, then Content-Length bytes); 0 at EOF. */
static int read_request(int fd)
{
    char buf[65536];
    size_t have = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        if (n <= 0)
            return 0;
        have += (size_t)n;
        buf[have] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) {
            if (have >= sizeof buf - 1)
                return 0;
            continue;
        }
        size_t body = 0;
        char *cl = strcasestr(buf, "\r\nContent-Length:");
        if (cl && cl < end)
            body = strtoul(cl + 17, NULL, 10);
        size_t got = have - (size_t)(end + 4 - buf);
        while (got < body) {
            n = recv(fd, buf, sizeof buf, 0);
            if (n <= 0)
                return 0;
            got += (size_t)n;
        }
        return 1;
    }
}

/* One thread per connection: the sync opens its own next to the one
 * the family calls keep alive. */
static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    {
        while (read_request(fd)) {
            pthread_mutex_lock(&answer_lock);
            char head[256];
            int n = snprintf(head, sizeof head,
                             "HTTP/1.1 %u X\r\nContent-Type: application/json\r\n"
                             "Content-Length: %zu\r\nTus-Resumable: 1.0.0\r\n\r\n",
                             answer_status, answer_len);
            int ok = send(fd, head, (size_t)n, MSG_NOSIGNAL | (answer_len ? MSG_MORE : 0)) == n &&
                     (answer_len == 0 ||
                      send(fd, answer_body, answer_len, MSG_NOSIGNAL) == (ssize_t)answer_len);
            pthread_mutex_unlock(&answer_lock);
            if (!ok)
                break;
        }
        close(fd);
    }
    return NULL;
}

static void *responder(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        pthread_t t;
        if (fd < 0)
            continue;
        if (pthread_create(&t, NULL, serve, (void *)(intptr_t)fd) != 0) {
            close(fd);
            continue;
        }
        pthread_detach(t);
    }
    return NULL;
}

static int on_member(void *user, const char *device_id, const char *name)
{
    (void)user;
    /* What the client hands on must be strings it can print. */
    if (!device_id || !name || strlen(device_id) > 64 || strlen(name) > 1024)
        abort();
    return 0;
}

static void setup(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    pthread_t t;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(listen_fd, 16) < 0 || getsockname(listen_fd, (struct sockaddr *)&a, &len) < 0)
        abort();
    port = ntohs(a.sin_port);
    pthread_create(&t, NULL, responder, NULL);
    pthread_detach(t);

    /* No waiting between retries: every exec is one round of answers. */
    static const struct jn_net_overrides quick = {.backoff_base_ms = 1, .backoff_cap_ms = 1};
    jn_net_set_overrides(&quick);

    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    struct jn_http_config hc = {.base_url = url, .token = "00", .connect_timeout_s = 5};
    if (jn_http_create(&hc, &http) < 0)
        abort();
    if (!mkdtemp(home) || js_store_open(home, &store) < 0)
        abort();
    js_setting_set(store, JS_SETTING_RELAY_URL, url);
    js_setting_set(store, JS_SETTING_DEVICE_TOKEN,
                   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    js_setting_set(store, JS_SETTING_DEVICE_ID, "0123456789abcdef0123456789abcdef");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned statuses[8] = {200, 201, 400, 404, 429, 500, 507, 200};
    if (size < 2 || size > 300000)
        return 0;
    if (!http)
        setup();
    pthread_mutex_lock(&answer_lock);
    answer_status = statuses[data[1] % 8];
    free(answer_body);
    answer_len = size - 2;
    answer_body = malloc(answer_len + 1);
    memcpy(answer_body, data + 2, answer_len);
    pthread_mutex_unlock(&answer_lock);

    struct jn_family_identity id;
    char code[32];
    switch (data[0] % 5) {
    case 0:
        if (jn_family_create(http, "ma", &id) == 0 &&
            (!id.token[0] || !id.device_id[0] || !id.family_id[0]))
            abort();
        break;
    case 1:
        jn_family_join(http, "0123456789", "ma", &id);
        break;
    case 2:
        jn_family_members(http, on_member, NULL);
        break;
    case 3:
        if (jn_family_invite(http, code, sizeof code) == 0 &&
            strspn(code, "0123456789") != strlen(code))
            abort();
        break;
    default: {
        struct jn_sync_config sc = {.store = store, .deadline_s = 5};
        jn_sync *sync;
        struct jn_sync_stats stats;
        if (jn_sync_create(&sc, &sync) == 0) {
            memset(&stats, 0, sizeof stats);
            jn_sync_run(sync, &stats);
            jn_sync_destroy(sync);
        }
        /* Inbox and receipt cursors back to the start, for the next input. */
        js_setting_set(store, JS_SETTING_INBOX_CURSOR, "0");
        js_setting_set(store, JS_SETTING_RECEIPT_CURSOR, "0");
        break;
    }
    }
    return 0;
}

#ifndef JIASHU_LIBFUZZER
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_client_json: cannot open %s\n", path);
        return -1;
    }
    static uint8_t data[300000];
    size_t n = fread(data, 1, sizeof data, f);
    fclose(f);
    /* Each seed as it is, then through every call with its status. */
    LLVMFuzzerTestOneInput(data, n);
    for (uint8_t call = 0; call < 5 && n >= 2; call++) {
        data[0] = call;
        LLVMFuzzerTestOneInput(data, n);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (!d) {
            if (run_file(argv[i]) < 0)
                return 1;
            files++;
            continue;
        }
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            if (run_file(path) < 0) {
                closedir(d);
                return 1;
            }
            files++;
        }
        closedir(d);
    }
    if (files == 0) {
        fprintf(stderr, "fuzz_client_json: no seed files given\n");
        return 1;
    }
    js_store_destroy(store);
    jn_http_destroy(http);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_client_json: could not remove %s\n", home);
    printf("fuzz_client_json: %d seeds replayed\n", files);
    return 0;
}
#endif
