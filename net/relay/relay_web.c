#include "relay_web.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The page weighs under 200 KB compressed; 4 MiB in all (plain and gzip
 * copies) leaves room and bounds what a misconfigured folder can cost. */
#define WEB_MAX_TOTAL (4u << 20)
#define WEB_MAX_FILES 64
#define WEB_NAME_MAX  96

/* Only what the page needs: its own scripts, styles, media from blob:
 * URLs (the letters it plays), and the relay's API on the same origin. */
#define WEB_CSP                                                                                    \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "         \
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

struct web_file {
    char path[WEB_NAME_MAX + 2]; /* "/" + name */
    const char *type;
    unsigned char *plain, *gz;
    size_t plain_len, gz_len;
    char etag[24];
    bool immutable; /* a fingerprinted asset: its name changes with its bytes */
};

struct relay_web {
    struct web_file files[WEB_MAX_FILES];
    size_t count;
    size_t total;
};

static const char *type_of(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".webmanifest", "application/manifest+json"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(dot, types[i].ext))
            return types[i].type;
    return NULL;
}

static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > WEB_NAME_MAX || name[0] == '.' || strstr(name, ".."))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_' || c == '/'))
            return false;
    }
    return true;
}

static int read_all(const char *path, size_t budget, unsigned char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), res = 0;
    struct stat st;
    unsigned char *buf = NULL;

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        res = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        res = -EINVAL;
        goto out;
    }
    if ((uint64_t)st.st_size > budget) {
        res = -EFBIG;
        goto out;
    }
    buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    if (!buf) {
        res = -ENOMEM;
        goto out;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n <= 0) {
            res = n < 0 ? -errno : -EIO;
            goto out;
        }
        got += (size_t)n;
    }
    *out = buf;
    *len = got;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return res;
}

/* FNV-1a over the bytes: an ETag needs to change with the content, not to
 * resist anyone (the files are the operator's own). */
static void etag_of(const unsigned char *b, size_t n, char out[24])
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    snprintf(out, 24, "\"%016llx\"", (unsigned long long)h);
}

static int load_file(struct relay_web *web, const char *dir, const char *name)
{
    struct web_file *f = &web->files[web->count];
    char path[4096];
    int res;

    if (!name_ok(name) || !(f->type = type_of(name)))
        return -EINVAL;
    if (web->count == WEB_MAX_FILES)
        return -EFBIG;
    snprintf(f->path, sizeof f->path, "/%s", name);
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return -ENAMETOOLONG;
    if ((res = read_all(path, WEB_MAX_TOTAL - web->total, &f->plain, &f->plain_len)) < 0)
        return res;
    web->total += f->plain_len;
    strcat(path, ".gz");
    res = read_all(path, WEB_MAX_TOTAL - web->total, &f->gz, &f->gz_len);
    if (res == -ENOENT)
        res = 0; /* served plain only */
    else if (res < 0)
        return res;
    web->total += f->gz_len;
    etag_of(f->plain, f->plain_len, f->etag);
    f->immutable = !strncmp(name, "assets/", 7);
    web->count++;
    return 0;
}

int relay_web_load(const char *dir, struct relay_web **out)
{
    struct relay_web *web = calloc(1, sizeof *web);
    unsigned char *list = NULL;
    size_t list_len;
    char path[4096];
    int res;

    if (!web)
        return -ENOMEM;
    if (snprintf(path, sizeof path, "%s/files.txt", dir) >= (int)sizeof path) {
        res = -ENAMETOOLONG;
        goto fail;
    }
    if ((res = read_all(path, 16384, &list, &list_len)) < 0)
        goto fail;
    char *line = (char *)list, *end = (char *)list + list_len;
    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        if (!nl) {
            res = -EINVAL;
            goto fail;
        }
        *nl = '\0';
        if (*line && (res = load_file(web, dir, line)) < 0)
            goto fail;
        line = nl + 1;
    }
    free(list);
    *out = web;
    return 0;
fail:
    free(list);
    relay_web_free(web);
    return res;
}

void relay_web_free(struct relay_web *web)
{
    if (!web)
        return;
    for (size_t i = 0; i < web->count; i++) {
        free(web->files[i].plain);
        free(web->files[i].gz);
    }
    /* A file that failed half way may hold its plain bytes. */
    if (web->count < WEB_MAX_FILES) {
        free(web->files[web->count].plain);
        free(web->files[web->count].gz);
    }
    free(web);
}

static const struct web_file *find(const struct relay_web *web, const char *url)
{
    if (!strcmp(url, "/"))
        url = "/index.html";
    for (size_t i = 0; i < web->count; i++)
        if (!strcmp(web->files[i].path, url))
            return &web->files[i];
    return NULL;
}

bool relay_web_owns(const struct relay_web *web, const char *url)
{
    return web && find(web, url) != NULL;
}

/* True if the Accept-Encoding header lists gzip (or *) without q=0. */
static bool takes_gzip(struct MHD_Connection *conn)
{
    const char *p = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Encoding");

    while (p && *p) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",;");
        bool named = (n == 4 && !strncasecmp(p, "gzip", 4)) || (n == 1 && *p == '*');
        const char *item_end = p + strcspn(p, ",");
        bool zero = false;
        const char *q = p + n;
        if (*q == ';') {
            q++;
            q += strspn(q, " \t");
            if ((q[0] == 'q' || q[0] == 'Q') && q[1] == '=')
                zero = strtod(q + 2, NULL) <= 0.0;
        }
        if (named)
            return !zero;
        p = item_end;
    }
    return false;
}

enum MHD_Result relay_web_answer(const struct relay_web *web, struct MHD_Connection *conn,
                                 const char *method, const char *url)
{
    const struct web_file *f = find(web, url);
    struct MHD_Response *resp;
    unsigned status = MHD_HTTP_OK;
    bool head = !strcmp(method, "HEAD"), gz = false;
    enum MHD_Result ret;

    if (!f)
        return MHD_NO;
    if (!head && strcmp(method, "GET")) {
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return MHD_NO;
        MHD_add_response_header(resp, "Allow", "GET, HEAD");
        ret = MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
    if (inm && strstr(inm, f->etag)) {
        status = MHD_HTTP_NOT_MODIFIED;
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    } else {
        gz = f->gz && takes_gzip(conn);
        const unsigned char *bytes = gz ? f->gz : f->plain;
        size_t len = gz ? f->gz_len : f->plain_len;
        resp = MHD_create_response_from_buffer(len, (void *)bytes, MHD_RESPMEM_PERSISTENT);
    }
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", f->type);
    MHD_add_response_header(resp, "ETag", f->etag);
    MHD_add_response_header(resp, "Vary", "Accept-Encoding");
    MHD_add_response_header(resp, "Cache-Control",
                            f->immutable ? "public, max-age=31536000, immutable" : "no-cache");
    MHD_add_response_header(resp, "Content-Security-Policy", WEB_CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Permissions-Policy",
                            "microphone=(self), camera=(), geolocation=()");
    if (gz)
        MHD_add_response_header(resp, "Content-Encoding", "gzip");
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}
