/*
 * Resumable, verified download: Range from the bytes already held, then the
 * SHA-256 of the whole against the ETag. Bytes that fail the check are
 * thrown away and fetched again; nothing unverified is ever handed on.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "sync.h"

struct fetch {
    struct jn_download *d;
    struct jn_http_response *resp;
    bool started;
    bool discard;  /* an error answer: its body is not audio */
    uint64_t skip; /* bytes of a full answer already held */
};


static int on_bytes(void *user, const unsigned char *bytes, size_t len)
{
    struct fetch *f = user;
    struct jn_download *d = f->d;
    int err;

    if (!f->started) {
        f->started = true;
        if (f->resp->status == 200 && d->offset > 0) {
            /* The server ignored the Range and sends it all: the bytes
             * already held are skipped (the SHA-256 check at the end
             * guards against a body that changed). */
            f->skip = d->offset;
        } else if (f->resp->status == 206) {
            if (f->resp->range_start < 0 || (uint64_t)f->resp->range_start != d->offset)
                return JN_ERR_PROTOCOL;
        } else if (f->resp->status != 200) {
            f->discard = true;
        }
    }
    if (f->discard)
        return 0;
    if (f->skip) {
        size_t n = f->skip < len ? (size_t)f->skip : len;
        f->skip -= n;
        bytes += n;
        len -= n;
        if (!len)
            return 0;
    }
    if (d->offset + len > d->max_len)
        return JN_ERR_TOO_LARGE;
    err = d->write(d->user, d->offset, bytes, len);
    if (err)
        return err;
    d->offset += len;
    if (d->progress)
        d->progress(d->user, d->offset, d->total);
    return 0;
}

static bool etag_is_sha256(const char *etag, char out[65])
{
    const char *hex = etag;
    size_t i;

    if (strncasecmp(hex, "sha256:", 7) == 0 || strncasecmp(hex, "sha256-", 7) == 0)
        hex += 7;
    if (strlen(hex) != 64)
        return false;
    for (i = 0; i < 64; i++) {
        char c = hex[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
        out[i] = c;
    }
    out[64] = '\0';
    return true;
}

static int verify(struct jn_download *d, const char *expected)
{
    const unsigned char *bytes;
    unsigned char digest[crypto_hash_sha256_BYTES];
    char hex[65];
    size_t len;
    int err;

    err = d->read_all(d->user, &bytes, &len);
    if (err)
        return err;
    if (len != d->total)
        return JN_ERR_CHECKSUM;
    crypto_hash_sha256(digest, bytes, len);
    ju_hex_encode(digest, sizeof(digest), hex);
    return strcmp(hex, expected) == 0 ? 0 : JN_ERR_CHECKSUM;
}

int jn_download_run(jn_http *http, struct jn_download *d)
{
    struct jn_backoff backoff;
    unsigned max_attempts = d->max_attempts ? d->max_attempts : 8;
    unsigned failures = 0;
    int err;

    jn_backoff_init(&backoff, 0, 0);
    d->total = 0;
    for (;;) {
        struct jn_http_response resp;
        struct fetch f = {.d = d, .resp = &resp};
        char range[64];
        const char *headers[] = {range, NULL};
        struct jn_http_request req = {
            .method = "GET",
            .path = d->path,
            .headers = d->offset > 0 ? headers : NULL,
            .sink = on_bytes,
            .sink_user = &f,
        };
        long retry_after = -1;
        uint64_t before = d->offset;

        snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-", d->offset);
        err = jn_http_request(http, &req, &resp);
        if (!err) {
            retry_after = resp.retry_after_s;
            if (resp.status == 416 && d->offset > 0) {
                /* Everything was already here but unverified: check it, and
                 * if it fails, start over. */
                err = JN_ERR_CHECKSUM;
            } else {
                err = jn_http_status_error(resp.status);
            }
            if (!err) {
                if (resp.status == 206 && resp.range_total >= 0)
                    d->total = (uint64_t)resp.range_total;
                else if (resp.status == 200 && resp.content_length >= 0)
                    d->total = (uint64_t)resp.content_length;
                else
                    d->total = d->offset;
                if (!etag_is_sha256(resp.etag, d->sha256))
                    err = JN_ERR_PROTOCOL;
                else if (d->offset < d->total)
                    err = JN_ERR_NETWORK; /* cut short without libcurl noticing */
                else if (d->total > d->max_len)
                    err = JN_ERR_TOO_LARGE;
                else if ((err = verify(d, d->sha256)) == JN_ERR_CHECKSUM)
                    d->corrupt_fetches++;
            }
            if (err == JN_ERR_CHECKSUM) {
                int terr = d->truncate(d->user);
                if (terr)
                    err = terr;
                d->offset = 0;
            }
        }
        jn_http_response_finish(&resp);
        if (!err)
            return 0;
        if (!jn_error_is_transient(err) && err != JN_ERR_PROTOCOL)
            return err;
        d->interruptions++;
        if (d->offset > before) {
            /* A cut after progress is the network's way; only a run of
             * fruitless attempts counts towards giving up. */
            failures = 0;
            jn_backoff_reset(&backoff);
        }
        if (++failures >= max_attempts)
            return jn_error_is_transient(err) ? JN_ERR_GAVE_UP : err;
        jn_http_sleep_ms(http, jn_backoff_next_ms(&backoff, retry_after));
    }
}
