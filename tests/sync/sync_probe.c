/*
 * Drives the sync client's transfer layer from a test script:
 *   sync_probe upload BASE CREATE_PATH FILE [CHUNK [URLFILE]]
 *   sync_probe download BASE PATH OUT
 * Prints one line of key=value figures on success, one error line otherwise.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/sync/sync.h"

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc(n > 0 ? (size_t)n : 1);
    if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return data;
}

static int save_url(void *user, const char *url)
{
    const char *path = user;
    FILE *f;

    if (!path)
        return 0;
    f = fopen(path, "w");
    if (!f)
        return -errno;
    fprintf(f, "%s\n", url);
    return fclose(f) ? -errno : 0;
}

static int upload(jn_http *http, int argc, char **argv)
{
    struct jn_tus_upload up = {.create_path = argv[3], .metadata = "filename dGVzdA=="};
    uint64_t sent, received;
    int err;

    up.data = read_file(argv[4], &up.len);
    if (!up.data)
        return -errno;
    if (argc > 5)
        up.chunk_size = strtoul(argv[5], NULL, 10);
    if (argc > 6) {
        size_t n = 0;
        unsigned char *old = read_file(argv[6], &n);
        if (old && n > 1 && n < sizeof(up.url)) {
            memcpy(up.url, old, n - 1); /* drop the newline */
            up.url[n - 1] = '\0';
        }
        free(old);
        up.on_location = save_url;
        up.user = argv[6];
    }
    up.max_attempts = 30;
    err = jn_tus_upload_run(http, &up);
    jn_http_counters(http, &sent, &received);
    if (!err)
        printf("url=%s resent=%" PRIu64
               " interruptions=%u connections=%u largest_chunk=%zu sent=%" PRIu64
               " received=%" PRIu64 " len=%zu\n",
               up.url, up.bytes_resent, up.interruptions, up.connections, up.largest_chunk, sent,
               received, up.len);
    free((void *)up.data);
    return err;
}

struct buffer {
    unsigned char *data;
    size_t len;
};

static int buf_write(void *user, uint64_t at, const unsigned char *bytes, size_t len)
{
    struct buffer *b = user;
    unsigned char *grown = realloc(b->data, (size_t)at + len);

    if (!grown)
        return -ENOMEM;
    b->data = grown;
    memcpy(b->data + at, bytes, len);
    b->len = (size_t)at + len;
    return 0;
}

static int buf_truncate(void *user)
{
    ((struct buffer *)user)->len = 0;
    return 0;
}

static int buf_read_all(void *user, const unsigned char **bytes, size_t *len)
{
    struct buffer *b = user;
    *bytes = b->data;
    *len = b->len;
    return 0;
}

static int download(jn_http *http, char **argv)
{
    struct buffer b = {0};
    struct jn_download d = {
        .path = argv[3],
        .max_len = 16u << 20,
        .write = buf_write,
        .truncate = buf_truncate,
        .read_all = buf_read_all,
        .user = &b,
        .max_attempts = 30,
    };
    FILE *f;
    int err;

    err = jn_download_run(http, &d);
    if (!err) {
        f = fopen(argv[4], "wb");
        if (!f || fwrite(b.data, 1, b.len, f) != b.len || fclose(f))
            err = -EIO;
        else
            printf("corrupt_fetches=%u interruptions=%u len=%zu sha256=%s\n", d.corrupt_fetches,
                   d.interruptions, b.len, d.sha256);
    }
    free(b.data);
    return err;
}

int main(int argc, char **argv)
{
    struct jn_http_config config = {0};
    jn_http *http;
    int err;

    if (argc < 5 || (strcmp(argv[1], "upload") && strcmp(argv[1], "download"))) {
        fprintf(stderr, "usage: sync_probe upload|download BASE PATH FILE...\n");
        return 2;
    }
    config.base_url = argv[2];
    {
        /* This program reads the environment the tests set, as jiashu does. */
        struct jn_net_overrides net = {.ca_file = getenv("CURL_CA_BUNDLE")};
        const char *t = getenv("JIASHU_NET_TIMEOUTS"), *b = getenv("JIASHU_BACKOFF_MS");
        if (t)
            sscanf(t, "%ld,%ld,%ld", &net.connect_timeout_s, &net.low_speed_bytes,
                   &net.low_speed_time_s);
        if (b)
            sscanf(b, "%u,%u", &net.backoff_base_ms, &net.backoff_cap_ms);
        jn_net_set_overrides(&net);
    }
    err = jn_http_create(&config, &http);
    if (!err)
        err = strcmp(argv[1], "upload") == 0 ? upload(http, argc, argv) : download(http, argv);
    if (err)
        fprintf(stderr, "sync_probe: %s (%s)\n", ju_strerror(err),
                http ? jn_http_last_error(http) : "");
    jn_http_destroy(http);
    return err ? 1 : 0;
}
