/*
 * tus 1.0.0 upload client (core, creation, checksum). The rest of the file
 * goes in one PATCH at the offset the server last confirmed. A server that
 * keeps what arrived of a cut request (tus asks it to; ours does) loses
 * nothing to a cut: the client asks (HEAD) where it stands and sends only
 * what follows. Integrity is the whole message's, declared by the caller
 * in the metadata and checked by the server at completion; a per-request
 * Upload-Checksum (sha256) is optional, because a server must drop the
 * bytes of a cut request it cannot check.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "client_internal.h"

/* Upload-Checksum uses SHA-256, which the relay offers next to SHA-1
 * (PROTOCOL.md): the client's one crypto library, libsodium, has no SHA-1,
 * and needs none. */
static void sha256_base64(const unsigned char *data, size_t len, char out[48])
{
    unsigned char digest[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(digest, data, len);
    sodium_bin2base64(out, 48, digest, sizeof(digest), sodium_base64_VARIANT_ORIGINAL);
}

struct patch_progress {
    struct jn_tus_upload *up;
    uint64_t offset;
    uint64_t sent;
};

static void on_patch_progress(void *user, uint64_t sent, uint64_t total)
{
    struct patch_progress *p = user;

    p->sent = sent;
    if (p->up->progress)
        p->up->progress(p->up->user, p->offset + sent, p->up->len);
}

/* with_body: creation-with-upload, the whole file in the creation (one
 * request, one round trip for a note that fits). Only a first creation
 * carries it: a repeat may find the upload already holding bytes, and the
 * relay ignores a body then, so it would cross the link for nothing. */
static int create_upload(jn_http *http, struct jn_tus_upload *up, bool with_body, uint64_t *offset,
                         uint64_t *sent)
{
    struct jn_http_response resp;
    char length[48], meta[1024];
    const char *headers[4] = {"Tus-Resumable: 1.0.0", length, NULL, NULL};
    struct patch_progress pp = {.up = up, .offset = 0};
    struct jn_http_request req = {.method = "POST", .path = up->create_path, .headers = headers};
    int err;

    if (with_body) {
        if (up->len > up->largest_chunk)
            up->largest_chunk = up->len;
        req.body = up->data;
        req.body_len = up->len;
        req.content_type = "application/offset+octet-stream";
        req.progress = on_patch_progress;
        req.progress_user = &pp;
    }

    snprintf(length, sizeof(length), "Upload-Length: %zu", up->len);
    if (up->metadata && *up->metadata) {
        if (strlen(up->metadata) + 20 > sizeof(meta))
            return JN_ERR_TOO_LARGE;
        snprintf(meta, sizeof(meta), "Upload-Metadata: %s", up->metadata);
        headers[2] = meta;
    }
    err = jn_http_request(http, &req, &resp);
    *sent = resp.body_sent;
    up->connections += resp.connects;
    if (err)
        return err;
    if (resp.tus_max_size > 0)
        up->max_size = resp.tus_max_size;
    err = jn_http_status_error(resp.status);
    if (!err && (resp.status != 201 || !resp.location[0]))
        err = JN_ERR_PROTOCOL;
    if (err) {
        up->retry_after_s = resp.retry_after_s;
        goto out;
    }
    if (strlen(resp.location) >= sizeof(up->url)) {
        err = JN_ERR_PROTOCOL;
        goto out;
    }
    /* The PATCHes carry the device token: only to the relay itself. */
    if (!jn_http_same_origin(http, resp.location)) {
        jn_http_set_error(http, "the relay sent the upload to another host, port or scheme");
        err = JN_ERR_PROTOCOL;
        goto out;
    }
    strcpy(up->url, resp.location);
    /* A relay that makes creation idempotent (ours, by message id) answers
     * a repeated creation with where the upload already stands. */
    *offset = resp.upload_offset >= 0 && (uint64_t)resp.upload_offset <= up->len
                  ? (uint64_t)resp.upload_offset
                  : 0;
    if (up->on_location)
        err = up->on_location(up->user, up->url);
out:
    jn_http_response_finish(&resp);
    return err;
}

static int head_offset(jn_http *http, struct jn_tus_upload *up, uint64_t *offset)
{
    struct jn_http_response resp;
    const char *headers[] = {"Tus-Resumable: 1.0.0", NULL};
    struct jn_http_request req = {.method = "HEAD", .path = up->url, .headers = headers};
    int err;

    err = jn_http_request(http, &req, &resp);
    up->connections += resp.connects;
    if (err)
        return err;
    err = jn_http_status_error(resp.status);
    up->retry_after_s = resp.retry_after_s;
    if (!err) {
        if (resp.upload_offset < 0 || (uint64_t)resp.upload_offset > up->len ||
            (resp.upload_length >= 0 && (uint64_t)resp.upload_length != up->len))
            err = JN_ERR_PROTOCOL;
        else
            *offset = (uint64_t)resp.upload_offset;
    }
    jn_http_response_finish(&resp);
    return err;
}

static int patch_chunk(jn_http *http, struct jn_tus_upload *up, uint64_t offset, size_t n,
                       uint64_t *new_offset, uint64_t *sent)
{
    struct jn_http_response resp;
    struct patch_progress pp = {.up = up, .offset = offset};
    char off[48], sum[80], b64[48];
    const char *headers[] = {"Tus-Resumable: 1.0.0", off, up->per_request_checksum ? sum : NULL,
                             NULL};
    struct jn_http_request req = {
        .method = "PATCH",
        .path = up->url,
        .headers = headers,
        .body = up->data + offset,
        .body_len = n,
        .content_type = "application/offset+octet-stream",
        .progress = on_patch_progress,
        .progress_user = &pp,
    };
    int err;

    if (up->per_request_checksum) {
        sha256_base64(up->data + offset, n, b64);
        snprintf(sum, sizeof(sum), "Upload-Checksum: sha256 %s", b64);
    }
    snprintf(off, sizeof(off), "Upload-Offset: %" PRIu64, offset);
    err = jn_http_request(http, &req, &resp);
    *sent = resp.body_sent;
    up->connections += resp.connects;
    if (err)
        return err;
    up->retry_after_s = resp.retry_after_s;
    err = jn_http_status_error(resp.status);
    if (!err) {
        if (resp.upload_offset < 0 || (uint64_t)resp.upload_offset <= offset ||
            (uint64_t)resp.upload_offset > offset + n)
            err = JN_ERR_PROTOCOL;
        else
            *new_offset = (uint64_t)resp.upload_offset;
    }
    jn_http_response_finish(&resp);
    return err;
}

int jn_tus_upload_run(jn_http *http, struct jn_tus_upload *up)
{
    struct jn_backoff backoff;
    unsigned max_attempts = up->max_attempts ? up->max_attempts : 8;
    unsigned failures = 0;
    uint64_t offset = 0, body_out = 0, confirmed = 0;
    bool offset_known = false, created_once = false, progressed;
    int err = 0;

    jn_backoff_init(&backoff, 0, 0);
    up->max_size = -1;
    if (up->url[0] && !jn_http_same_origin(http, up->url))
        up->url[0] = '\0'; /* kept from before the check: begin again at the relay */
    for (;;) {
        up->retry_after_s = -1;
        progressed = false;
        if (!up->url[0]) {
            uint64_t sent = 0;
            /* The body goes with a first creation only, and not under a
             * per-request checksum (which our relay checks against the
             * whole body, so one cut would cost it all). */
            err = create_upload(http, up,
                                !created_once && !up->upload_may_exist &&
                                    !up->per_request_checksum && !up->chunk_size,
                                &offset, &sent);
            created_once = true;
            body_out += sent;
            up->bytes_resent = body_out > up->len ? body_out - up->len : 0;
            if (!err) {
                offset_known = true;
                progressed = offset > confirmed; /* a creation alone moves nothing */
            }
        } else if (!offset_known) {
            err = head_offset(http, up, &offset);
            if (err == JN_ERR_NOT_FOUND || err == JN_ERR_GONE) {
                /* The server forgot the upload (expired, restarted empty):
                 * begin a new one; the message id keeps delivery single. */
                up->url[0] = '\0';
                continue;
            }
            if (!err) {
                offset_known = true;
                /* Only the server's offset moving is progress: a failure
                 * after bytes were sent (a 500 on a full disk, a 460) that
                 * left it where it was counts toward giving up. */
                progressed = offset > confirmed;
            }
        } else if (offset >= up->len) {
            if (up->on_offset)
                err = up->on_offset(up->user, offset);
            return err;
        } else {
            size_t n = up->chunk_size ? up->chunk_size : up->len - offset;
            uint64_t next = offset, sent = 0;

            if (n > up->len - offset)
                n = (size_t)(up->len - offset);
            if (n > up->largest_chunk)
                up->largest_chunk = n;
            err = patch_chunk(http, up, offset, n, &next, &sent);
            /* Whatever crossed beyond the file's length was a repeat. */
            body_out += sent;
            up->bytes_resent = body_out > up->len ? body_out - up->len : 0;
            if (!err) {
                progressed = true;
                offset = next;
                if (up->on_offset)
                    err = up->on_offset(up->user, offset);
                if (err)
                    return err;
            } else {
                offset_known = false;
            }
        }
        if (!err) {
            if (offset_known && offset > confirmed)
                confirmed = offset;
            if (progressed) {
                failures = 0;
                jn_backoff_reset(&backoff);
            }
            continue;
        }
        if (!jn_error_is_transient(err) && err != JN_ERR_PROTOCOL)
            return err;
        /* After a failure nothing is assumed: ask the server where it is. */
        offset_known = false;
        up->interruptions++;
        if (++failures >= max_attempts)
            return jn_error_is_transient(err) ? JN_ERR_GAVE_UP : err;
        jn_http_sleep_ms(http, jn_backoff_next_ms(&backoff, up->retry_after_s));
    }
}

int jn_tus_max_size(jn_http *http, const char *path, uint64_t *bytes)
{
    struct jn_http_response resp;
    const char *headers[] = {"Tus-Resumable: 1.0.0", NULL};
    struct jn_http_request req = {.method = "OPTIONS", .path = path, .headers = headers};
    int err = jn_http_request(http, &req, &resp);

    if (err)
        return err;
    err = jn_http_status_error(resp.status);
    if (!err)
        *bytes = resp.tus_max_size > 0 ? (uint64_t)resp.tus_max_size : 0;
    jn_http_response_finish(&resp);
    return err;
}

int jn_learn_relay_limit(jn_http *http, js_store *store)
{
    uint64_t bytes;
    char text[24];
    int err = jn_tus_max_size(http, "/v1/uploads", &bytes);

    if (err)
        return err;
    if (!bytes)
        return js_setting_set(store, JS_SETTING_RELAY_MAX_UPLOAD, NULL);
    snprintf(text, sizeof(text), "%" PRIu64, bytes);
    return js_setting_set(store, JS_SETTING_RELAY_MAX_UPLOAD, text);
}
