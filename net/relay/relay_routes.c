/*
 * The routes of relay protocol v1 (net/PROTOCOL.md). Each route checks its
 * headers on the first call (so a bad request is refused before its body
 * is read), then does its work when the body has arrived. Storage is only
 * reached through relay_storage.h.
 */
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "relay_internal.h"
#include "relay_parse.h"

#define PAGE 100 /* inbox entries or receipts per answer */

static void random_hex(char *out, size_t bytes)
{
    uint8_t b[32];
    if (ju_random_bytes(b, bytes) < 0)
        abort(); /* no randomness means no safe tokens: better not to run */
    ju_hex_encode(b, bytes, out);
}

/* The digests, fetched from OpenSSL once: EVP_sha256() makes every
 * EVP_Digest() look its implementation up again, which costs more than
 * hashing a token. */
static EVP_MD *md_sha256, *md_sha1;
static pthread_once_t digests_fetched = PTHREAD_ONCE_INIT;

static void fetch_digests(void)
{
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
}

static const EVP_MD *digest(int algo)
{
    pthread_once(&digests_fetched, fetch_digests);
    if (algo == RELAY_SUM_SHA1)
        return md_sha1 ? md_sha1 : EVP_sha1();
    return md_sha256 ? md_sha256 : EVP_sha256();
}

static void sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned n = 32;
    EVP_Digest(data, len, out, &n, digest(RELAY_SUM_SHA256), NULL);
}

/* A new device token: 32 random bytes, handed out in hex; only the hash
 * of the bytes is kept. */
static void new_token(char hex[65], uint8_t hash[32])
{
    uint8_t t[32];
    if (ju_random_bytes(t, sizeof t) < 0)
        abort();
    ju_hex_encode(t, sizeof t, hex);
    sha256(t, sizeof t, hash);
}

/* An invite code: digits from rejection-sampled random bytes, so every
 * code is equally likely. */
static void new_code(char *code, unsigned digits, uint8_t hash[32])
{
    for (unsigned i = 0; i < digits;) {
        uint8_t b;
        if (ju_random_bytes(&b, 1) < 0)
            abort();
        if (b < 250)
            code[i++] = (char)('0' + b % 10);
    }
    code[digits] = '\0';
    sha256(code, digits, hash);
}

static void http_date(int64_t t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static int authenticate(struct relay_request *r)
{
    uint8_t token[32], hash[32];
    const char *h = relay_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h) {
        relay_error(r, 401, "unauthorized", "this route needs Authorization: Bearer <token>");
        return -1;
    }
    if (relay_parse_bearer(h, token) < 0) {
        relay_error(r, 401, "unauthorized", "the Authorization header is not a device token");
        return -1;
    }
    sha256(token, sizeof token, hash);
    int err = relay_st(r)->ops->device_by_token(relay_st(r), hash, &r->dev);
    if (relay_storage_answer(r, err, -ENOENT, 401, "unauthorized",
                             "unknown or revoked device token") < 0)
        return -1;
    unsigned retry;
    if (relay_limit_take(&r->relay->token_limit, relay_key(r->relay, r->dev.id, RELAY_ID_LEN),
                         &retry) < 0) {
        relay_error_retry(r, 429, "rate_limited", "too many requests from this device", retry);
        return -1;
    }
    r->authed = 1;
    return 0;
}

/* Content-Length, when given: -1 when absent, -2 when malformed. */
static int64_t content_length(struct relay_request *r)
{
    const char *h = relay_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t n;
    if (!h)
        return -1;
    if (ju_parse_u64(h, INT64_MAX, &n) < 0)
        return -2;
    return (int64_t)n;
}

/* Sets up a JSON body: checks its type and announced size. */
static int expect_json(struct relay_request *r, int required)
{
    int64_t len = content_length(r);
    const char *ct = relay_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!required && (len == 0 || (len == -1 && !ct)))
        return 0;
    if (!relay_content_type_is(ct, "application/json")) {
        relay_error(r, 415, "unsupported_media_type", "the body must be application/json");
        return -1;
    }
    if (len >= 0 && (uint64_t)len > r->relay->cfg.max_json_bytes) {
        relay_error(r, 413, "too_large", "the JSON body is larger than allowed");
        return -1;
    }
    r->body_limit = r->relay->cfg.max_json_bytes;
    return 0;
}

static int method_not_allowed(struct relay_request *r, const char *allow)
{
    relay_error_full(r, 405, "method_not_allowed", "this route does not take that method", 0,
                     "Allow", allow);
    return -1;
}

static void tus_options(struct relay_request *r)
{
    char max[24];
    snprintf(max, sizeof max, "%llu", (unsigned long long)r->relay->cfg.max_message_bytes);
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Tus-Version", "1.0.0");
    MHD_add_response_header(resp, "Tus-Extension",
                            "creation,creation-with-upload,checksum,termination,expiration");
    MHD_add_response_header(resp, "Tus-Checksum-Algorithm", "sha1,sha256");
    MHD_add_response_header(resp, "Tus-Max-Size", max);
    relay_respond(r, 204, resp);
}

/* Loads r->arg as an upload of the caller: 404, 403 or 410 otherwise. */
static int load_own_upload(struct relay_request *r)
{
    if (!relay_is_id(r->arg)) {
        relay_error(r, 404, "not_found", "no such upload");
        return -1;
    }
    r->upload = malloc(sizeof *r->upload);
    if (!r->upload) {
        relay_error(r, 500, "internal", "out of memory");
        return -1;
    }
    int err = relay_st(r)->ops->upload_get(relay_st(r), r->arg, r->upload);
    if (relay_storage_answer(r, err, -ENOENT, 404, "not_found", "no such upload") < 0)
        return -1;
    if (strcmp(r->upload->family_id, r->dev.family_id) != 0 ||
        strcmp(r->upload->sender_id, r->dev.id) != 0) {
        relay_error(r, 403, "forbidden", "this upload belongs to another device");
        return -1;
    }
    if (!r->upload->completed && r->upload->expires < (int64_t)time(NULL)) {
        relay_error(r, 410, "expired", "this upload expired; create it again");
        return -1;
    }
    return 0;
}

/* The checksum and offset headers of a PATCH (or creation-with-upload). */
static int expect_upload_bytes(struct relay_request *r, uint64_t offset)
{
    if (!relay_content_type_is(relay_header(r, MHD_HTTP_HEADER_CONTENT_TYPE),
                               "application/offset+octet-stream")) {
        relay_error(r, 415, "unsupported_media_type",
                    "upload bytes must be application/offset+octet-stream");
        return -1;
    }
    const char *sum = relay_header(r, "Upload-Checksum");
    if (sum) {
        enum relay_checksum_algo algo;
        int err = relay_parse_checksum(sum, &algo, r->checksum, &r->checksum_len);
        if (err == -ENOTSUP) {
            relay_error(r, 400, "malformed", "unsupported checksum algorithm (sha1, sha256)");
            return -1;
        }
        if (err < 0) {
            relay_error(r, 400, "malformed", "Upload-Checksum is not '<algorithm> <base64>'");
            return -1;
        }
        r->has_checksum = 1;
        r->checksum_algo = algo;
    }
    uint64_t room = r->upload->length - offset;
    int64_t len = content_length(r);
    if (len == -2) {
        relay_error(r, 400, "malformed", "Content-Length is not a number");
        return -1;
    }
    if (len >= 0 && (uint64_t)len > room) {
        relay_error(r, 413, "too_large", "the body goes past Upload-Length");
        return -1;
    }
    r->body_limit = (size_t)room;
    r->patch_offset = offset;
    relay_receiving_start(r);
    return 0;
}

/* r asks where its upload stands (HEAD, a repeated creation): 1 when it
 * waits for a request still bringing bytes of the same message; else 0
 * with r->upload read again, -1 after answering a storage failure. */
static int settle_upload(struct relay_request *r)
{
    if (relay_upload_wait(r, r->upload->message_id))
        return 1;
    char upload_id[RELAY_ID_LEN + 1];
    memcpy(upload_id, r->upload->upload_id, sizeof upload_id);
    int err = relay_st(r)->ops->upload_get(relay_st(r), upload_id, r->upload);
    if (relay_storage_answer(r, err, -ENOENT, 404, "not_found", "no such upload") < 0)
        return -1;
    return 0;
}

/* The whole message does not hash to the sha256 its creation declared. */
static void message_mismatch(struct relay_request *r)
{
    relay_error(r, 460, "message_checksum_mismatch",
                "the message's bytes do not match the sha256 in its Upload-Metadata; the upload "
                "was discarded: create it again");
}

static void relay_full(struct relay_request *r, const char *why, uint64_t held,
                       uint64_t free_bytes);

/* Answers a failed upload_create. */
static void creation_failed(struct relay_request *r, int err)
{
    if (err == -ENOBUFS) { /* the relay-wide limit, as the storage counted it */
        uint64_t held = 0, families;
        if (relay_st(r)->ops->relay_usage(relay_st(r), &held, &families) < 0)
            held = r->relay->cfg.max_storage_bytes;
        relay_full(r, "max-storage-bytes", held, 0);
    } else if (err == -EEXIST)
        relay_error(r, 409, "conflict", "another device already used this message id");
    else if (err == -ENOSPC)
        relay_error(r, 507, "storage_full", "your family's storage on this relay is full");
    else if (err == -EDQUOT)
        relay_error(r, 507, "storage_full", "a recipient's mailbox is full");
    else if (err == -EBADMSG)
        message_mismatch(r);
    else
        relay_storage_failed(r, 0);
}

/* The relay as a whole can take `length` more bytes: under
 * max_storage_bytes, and leaving min_free_bytes free on the SQLite file's
 * file system. Otherwise 507, and one line for the operator (again only
 * after the relay had room once more). */
static int relay_has_room(struct relay_request *r, uint64_t length)
{
    struct jn_relay *relay = r->relay;
    const struct jn_relay_config *cfg = &relay->cfg;
    const char *why = NULL;
    uint64_t held = 0, families;
    if (cfg->max_storage_bytes) {
        if (relay_st(r)->ops->relay_usage(relay_st(r), &held, &families) < 0) {
            relay_storage_failed(r, 0);
            return -1;
        }
        if (held + length > cfg->max_storage_bytes)
            why = "max-storage-bytes";
    }
    struct statvfs fs;
    if (!why && cfg->min_free_bytes && relay->db_dir[0] && statvfs(relay->db_dir, &fs) == 0 &&
        (uint64_t)fs.f_bavail * fs.f_frsize < cfg->min_free_bytes + length)
        why = "min-free-bytes";
    if (!why) {
        relay->storage_full_logged = 0;
        return 0;
    }
    relay_full(r, why, held, (uint64_t)fs.f_bavail * fs.f_frsize);
    return -1;
}

/* 507 for a relay out of room (`why` names the option), and one line for
 * the operator, again only after the relay had room once more. The routes
 * check before the body arrives; upload_create checks again against what
 * every process wrote since (-ENOBUFS), and answers the same. */
static void relay_full(struct relay_request *r, const char *why, uint64_t held, uint64_t free_bytes)
{
    struct jn_relay *relay = r->relay;
    const struct jn_relay_config *cfg = &relay->cfg;
    if (!relay->storage_full_logged) {
        relay->storage_full_logged = 1;
        if (strcmp(why, "max-storage-bytes") == 0)
            relay_log("storage full: the relay holds %llu of its --max-storage-bytes %llu; new "
                      "uploads get 507 until messages expire or the limit is raised",
                      (unsigned long long)held, (unsigned long long)cfg->max_storage_bytes);
        else
            relay_log("storage full: %llu bytes free where the database is, under "
                      "--min-free-bytes %llu; new uploads get 507 until space is freed",
                      (unsigned long long)free_bytes, (unsigned long long)cfg->min_free_bytes);
    }
    relay_error(r, 507, "relay_storage_full",
                "this relay is full; the message stays on your device: try again later");
}

static void begin_create_upload(struct relay_request *r)
{
    struct jn_relay *relay = r->relay;
    const struct jn_relay_config *cfg = &relay->cfg;
    uint64_t length;
    if (relay_header(r, "Upload-Defer-Length")) {
        relay_error(r, 400, "malformed", "Upload-Defer-Length is not supported");
        return;
    }
    const char *h = relay_header(r, "Upload-Length");
    if (!h) {
        relay_error(r, 400, "malformed", "Upload-Length is required");
        return;
    }
    int err = ju_parse_u64(h, UINT64_MAX, &length);
    if (err == -EINVAL) {
        relay_error(r, 400, "malformed", "Upload-Length is not a non-negative number");
        return;
    }
    if (err < 0 || length > cfg->max_message_bytes) {
        relay_error(r, 413, "too_large", "the message is longer than this relay accepts");
        return;
    }
    if (length == 0) {
        relay_error(r, 400, "malformed", "an empty message carries nothing");
        return;
    }
    const char *meta = relay_header(r, "Upload-Metadata");
    if (meta && strlen(meta) > cfg->max_metadata_bytes) {
        relay_error(r, 413, "too_large", "Upload-Metadata is larger than allowed");
        return;
    }
    struct relay_metadata md;
    if (!meta || relay_parse_metadata(meta, cfg->max_recipients, &md) < 0) {
        relay_error(r, 400, "malformed",
                    "Upload-Metadata needs message_id (UUID), recipients and duration_ms");
        return;
    }
    for (unsigned i = 0; i < md.n_recipients; i++) {
        err = relay_st(r)->ops->is_member(relay_st(r), r->dev.family_id, md.recipients[i]);
        if (err < 0) {
            relay_storage_failed(r, 0);
            return;
        }
        if (err == 0) {
            relay_error(r, 403, "forbidden", "a recipient is not a device of your family");
            return;
        }
    }

    r->upload = calloc(1, sizeof *r->upload);
    if (!r->upload) {
        relay_error(r, 500, "internal", "out of memory");
        return;
    }
    struct relay_upload *u = r->upload;
    random_hex(u->upload_id, RELAY_ID_LEN / 2);
    memcpy(u->message_id, md.message_id, sizeof u->message_id);
    memcpy(u->family_id, r->dev.family_id, sizeof u->family_id);
    memcpy(u->sender_id, r->dev.id, sizeof u->sender_id);
    u->length = length;
    u->duration_ms = md.duration_ms;
    u->created = (int64_t)time(NULL);
    u->expires = u->created + cfg->upload_ttl_s;
    u->n_recipients = md.n_recipients;
    memcpy(u->recipients, md.recipients, sizeof md.recipients);
    u->has_declared_sha256 = md.has_sha256;
    memcpy(u->declared_sha256, md.sha256, sizeof u->declared_sha256);
    snprintf(u->metadata, sizeof u->metadata, "%s", meta);

    /* Repeated creations must still find their upload, limits or not. */
    struct relay_upload *old = malloc(sizeof *old);
    if (!old) {
        relay_error(r, 500, "internal", "out of memory");
        return;
    }
    err = relay_st(r)->ops->upload_by_message(relay_st(r), u->message_id, old);
    free(old);
    if (err < 0 && err != -ENOENT) {
        relay_storage_failed(r, 0);
        return;
    }
    int known = err == 0;
    if (!known) {
        uint64_t used;
        if (relay_st(r)->ops->family_usage(relay_st(r), r->dev.family_id, &used) < 0) {
            relay_storage_failed(r, 0);
            return;
        }
        if (used + length > cfg->max_family_bytes) {
            relay_error(r, 507, "storage_full", "your family's storage on this relay is full");
            return;
        }
        if (relay_has_room(r, length) < 0)
            return;
        for (unsigned i = 0; i < md.n_recipients; i++) {
            uint64_t pending;
            if (relay_st(r)->ops->mailbox_pending(relay_st(r), md.recipients[i], &pending) < 0) {
                relay_storage_failed(r, 0);
                return;
            }
            if (pending >= cfg->max_mailbox) {
                relay_error(r, 507, "storage_full", "a recipient's mailbox is full");
                return;
            }
        }
    }
    /* creation-with-upload: a new upload is made at the end, with its bytes,
     * in one transaction; an existing one only takes them at offset 0. */
    int64_t len = content_length(r);
    int has_body = len > 0 || (len == -1 && (relay_header(r, MHD_HTTP_HEADER_CONTENT_TYPE) ||
                                             relay_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING)));
    if (has_body && expect_upload_bytes(r, 0) < 0)
        return;
    if (has_body && !known) {
        r->deferred_create = 1;
        return;
    }
    /* A request still bringing this message's bytes (its sender was
     * killed; its kernel sends on) is waited for: created here first, the
     * upload would not take them. finish_uploads() creates it then. */
    if (!has_body && relay_upload_wait(r, u->message_id)) {
        r->deferred_create = 1;
        return;
    }
    err = relay_st(r)->ops->upload_create(relay_st(r), u, NULL, 0, (int64_t)time(NULL),
                                          cfg->max_family_bytes, cfg->max_storage_bytes,
                                          cfg->max_mailbox);
    r->needs_sync = err >= 0; /* a repeat may find a creation not yet durable */
    if (err < 0)
        creation_failed(r, err);
}

static void begin_patch(struct relay_request *r)
{
    if (load_own_upload(r) < 0)
        return;
    const char *h = relay_header(r, "Upload-Offset");
    uint64_t offset;
    if (!h) {
        relay_error(r, 400, "malformed", "Upload-Offset is required");
        return;
    }
    int err = ju_parse_u64(h, INT64_MAX, &offset);
    if (err < 0) {
        relay_error(r, 400, "malformed", "Upload-Offset is not a non-negative number");
        return;
    }
    if (r->upload->completed || offset != r->upload->offset) {
        relay_error(r, 409, "offset_conflict", "Upload-Offset is not where this upload stands");
        return;
    }
    expect_upload_bytes(r, offset);
}

/* ---- beginnings: what a route checks before its body is read ---- */

static void begin_join_or_create(struct relay_request *r)
{
    /* The per-address bucket is taken now, before the body is read;
     * the relay-wide ones only once the body is well formed (see
     * take_global), so one address sending garbage spends nobody's
     * attempts but its own. */
    unsigned retry;
    struct relay_limiter *l =
        r->route == ROUTE_JOIN ? &r->relay->join_limit : &r->relay->create_limit;
    if (relay_limit_take(l, r->client_key, &retry) < 0) {
        relay_error_retry(r, 429, "rate_limited", "too many attempts; wait and try again", retry);
        return;
    }
    expect_json(r, 1);
}

static void begin_tus(struct relay_request *r)
{
    if (relay_method_is(r, "OPTIONS")) {
        /* Answered in finish: libmicrohttpd closes a connection whose
         * answer was queued before the request was read, and a client
         * asks this right before it uploads on the same connection. */
        r->tus_options = 1;
        return;
    }
    const char *v = relay_header(r, "Tus-Resumable");
    if (!v || strcmp(v, "1.0.0") != 0) {
        relay_error(r, 412, "precondition_failed", "Tus-Resumable: 1.0.0 is required");
        return;
    }
    if (authenticate(r) < 0)
        return;
    if (r->route == ROUTE_UPLOADS)
        begin_create_upload(r);
    else if (relay_method_is(r, "PATCH"))
        begin_patch(r);
    else
        load_own_upload(r);
}

static void begin_authed_json(struct relay_request *r)
{
    if (authenticate(r) < 0)
        return;
    expect_json(r, r->route == ROUTE_RECEIPT_POST);
}

static void begin_authed(struct relay_request *r)
{
    authenticate(r);
}

/* ---- the routes ---- */

static void finish_families(struct relay_request *r);
static void finish_invites(struct relay_request *r);
static void finish_join(struct relay_request *r);
static void finish_family(struct relay_request *r);
static void finish_device(struct relay_request *r);
static void finish_uploads(struct relay_request *r);
static void finish_upload(struct relay_request *r);
static void finish_poll(struct relay_request *r);
static void finish_message(struct relay_request *r);
static void finish_receipt(struct relay_request *r);

/* Every route of the relay, in the order paths are tried: a path without
 * suffix is matched whole; one with a suffix (maybe "") is prefix, one id,
 * suffix. methods is the Allow list of a 405; begin runs once the headers
 * are in, finish once the body is. Adding a route: an enum value in
 * relay_internal.h, a row here, its handlers. */
static const struct relay_route_def routes[] = {
    {ROUTE_FAMILIES, "/v1/families", NULL, "/v1/families", "POST", begin_join_or_create,
     finish_families},
    {ROUTE_INVITES, "/v1/invites", NULL, "/v1/invites", "POST", begin_authed_json, finish_invites},
    {ROUTE_JOIN, "/v1/join", NULL, "/v1/join", "POST", begin_join_or_create, finish_join},
    {ROUTE_FAMILY, "/v1/family", NULL, "/v1/family", "GET", begin_authed, finish_family},
    {ROUTE_UPLOADS, "/v1/uploads", NULL, "/v1/uploads", "POST, OPTIONS", begin_tus, finish_uploads},
    {ROUTE_INBOX, "/v1/inbox", NULL, "/v1/inbox", "GET", begin_authed, finish_poll},
    {ROUTE_RECEIPTS, "/v1/receipts", NULL, "/v1/receipts", "GET", begin_authed, finish_poll},
    {ROUTE_PAIRINGS, "/v1/pairings", NULL, "/v1/pairings", "POST", relay_e2e_begin,
     relay_e2e_finish},
    {ROUTE_ROSTER, "/v1/roster", NULL, "/v1/roster", "GET, PUT", relay_e2e_begin, relay_e2e_finish},
    {ROUTE_UPLOAD, "/v1/uploads/", "", "/v1/uploads/{id}", "HEAD, PATCH, DELETE, OPTIONS",
     begin_tus, finish_upload},
    {ROUTE_DEVICE, "/v1/devices/", "", "/v1/devices/{id}", "DELETE", begin_authed, finish_device},
    {ROUTE_RECEIPT_POST, "/v1/messages/", "/receipts", "/v1/messages/{id}/receipts", "POST",
     begin_authed_json, finish_receipt},
    {ROUTE_MESSAGE, "/v1/messages/", "", "/v1/messages/{id}", "GET, HEAD", begin_authed,
     finish_message},
    {ROUTE_PAIRING_CLAIM, "/v1/pairings/", "/claim", "/v1/pairings/{nameplate}/claim", "POST",
     relay_e2e_begin, relay_e2e_finish},
    {ROUTE_PAIRING_ANSWER, "/v1/pairings/", "/answer", "/v1/pairings/{nameplate}/answer", "POST",
     relay_e2e_begin, relay_e2e_finish},
    {ROUTE_PAIRING_RESULT, "/v1/pairings/", "/result", "/v1/pairings/{nameplate}/result", "POST",
     relay_e2e_begin, relay_e2e_finish},
    {ROUTE_PAIRING, "/v1/pairings/", "", "/v1/pairings/{nameplate}", "GET, PUT", relay_e2e_begin,
     relay_e2e_finish},
};

const struct relay_route_def *relay_routes(size_t *count)
{
    *count = sizeof routes / sizeof routes[0];
    return routes;
}

static const struct relay_route_def *route_def(enum relay_route route)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (routes[i].route == route)
            return &routes[i];
    return NULL;
}

const char *relay_route_name(enum relay_route route)
{
    const struct relay_route_def *def = route_def(route);
    return def ? def->name : "(no route)";
}

/* Whether method is one of the comma-separated list. */
static int method_in(const char *method, const char *list)
{
    size_t n = strlen(method);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, method, n) == 0)
            return 1;
        if (!end)
            break;
        p = end + 1;
        while (*p == ' ')
            p++;
    }
    return 0;
}

void relay_route_begin(struct relay_request *r)
{
    const struct relay_route_def *def = route_def(r->route);
    if (!def) {
        relay_error(r, 404, "not_found", "no such route");
        return;
    }
    if (!method_in(r->method, def->methods)) {
        method_not_allowed(r, def->methods);
        return;
    }
    def->begin(r);
}

/* A relay-wide bucket, taken by well-formed requests only. */
static int take_global(struct relay_request *r, struct relay_limiter *l)
{
    unsigned retry;
    if (relay_limit_take(l, 0, &retry) < 0) {
        relay_error_retry(r, 429, "rate_limited", "too many attempts on this relay; wait", retry);
        return -1;
    }
    return 0;
}

static void finish_families(struct relay_request *r)
{
    const struct jn_relay_config *cfg = &r->relay->cfg;
    struct relay_device d;
    memset(&d, 0, sizeof d);
    if (relay_parse_name_body(r->body, r->body_len, d.name) < 0) {
        relay_error(r, 400, "malformed", "the body must be {\"name\": \"1 to 64 bytes\"}");
        return;
    }
    if (take_global(r, &r->relay->create_global) < 0)
        return;
    char token[65], code[20];
    uint8_t token_hash[32], code_hash[32];
    random_hex(d.family_id, RELAY_ID_LEN / 2);
    random_hex(d.id, RELAY_ID_LEN / 2);
    new_token(token, token_hash);
    new_code(code, cfg->invite_digits, code_hash);
    d.joined = (int64_t)time(NULL);
    int64_t expires = d.joined + cfg->invite_ttl_s;
    /* The count and the creation are one transaction (storage): relays
     * creating families at once cannot pass the limit together. */
    int err = relay_st(r)->ops->family_create(relay_st(r), &d, token_hash, code_hash, expires,
                                              cfg->max_families);
    if (err == -EUSERS) {
        relay_log("families full: the relay has its --max-families %u; new families get 507",
                  cfg->max_families);
        relay_error(r, 507, "relay_families_full",
                    "this relay takes no new families; ask its operator");
        return;
    }
    if (err < 0) {
        relay_storage_failed(r, 0);
        return;
    }
    r->needs_sync = 1;
    relay_json(r, 201,
               json_pack("{s:s,s:s,s:s,s:{s:s,s:I}}", "family_id", d.family_id, "device_id", d.id,
                         "token", token, "invite", "code", code, "expires_at",
                         (json_int_t)expires));
}

static void finish_invites(struct relay_request *r)
{
    const struct jn_relay_config *cfg = &r->relay->cfg;
    char code[20];
    uint8_t hash[32];
    new_code(code, cfg->invite_digits, hash);
    int64_t now = (int64_t)time(NULL), expires = now + cfg->invite_ttl_s;
    int err = relay_st(r)->ops->invite_create(relay_st(r), r->dev.family_id, hash, expires, now,
                                              cfg->max_invites);
    if (err == 0)
        r->needs_sync = 1;
    if (err == -ENOSPC) {
        relay_error_retry(r, 429, "rate_limited", "your family has too many open invites",
                          cfg->invite_ttl_s);
        return;
    }
    if (err < 0) {
        relay_storage_failed(r, 0);
        return;
    }
    relay_json(r, 201, json_pack("{s:s,s:I}", "code", code, "expires_at", (json_int_t)expires));
}

static void finish_join(struct relay_request *r)
{
    const struct jn_relay_config *cfg = &r->relay->cfg;
    struct relay_device d;
    char code[20];
    memset(&d, 0, sizeof d);
    if (relay_parse_join_body(r->body, r->body_len, cfg->invite_digits, code, sizeof code, d.name) <
        0) {
        relay_error(r, 400, "malformed",
                    "the body must be {\"code\": \"digits\", \"name\": \"...\"}");
        return;
    }
    if (take_global(r, &r->relay->join_global) < 0)
        return;
    uint8_t code_hash[32], token_hash[32];
    char token[65];
    sha256(code, strlen(code), code_hash);
    random_hex(d.id, RELAY_ID_LEN / 2);
    new_token(token, token_hash);
    int err = relay_st(r)->ops->join(relay_st(r), code_hash, (int64_t)time(NULL), &d, token_hash,
                                     cfg->max_devices);
    if (err == -ENOENT) {
        relay_error(r, 404, "not_found", "no such invite, or it was used");
        return;
    }
    if (err == -ETIME) {
        relay_error(r, 410, "expired", "this invite expired; ask for a new one");
        return;
    }
    if (err == -ENOSPC) {
        relay_error(r, 507, "storage_full", "the family has as many devices as this relay allows");
        return;
    }
    if (relay_storage_answer(r, err, -EEXIST, 409, "conflict",
                             "a device of this family already has that name") < 0)
        return;
    relay_json(
        r, 201,
        json_pack("{s:s,s:s,s:s}", "family_id", d.family_id, "device_id", d.id, "token", token));
}

static int add_member(void *ctx, const struct relay_device *d)
{
    return json_array_append_new(ctx, json_pack("{s:s,s:s,s:I}", "device_id", d->id, "name",
                                                d->name, "joined_at", (json_int_t)d->joined))
               ? -ENOMEM
               : 0;
}

static void finish_family(struct relay_request *r)
{
    json_t *members = json_array();
    if (!members ||
        relay_st(r)->ops->members(relay_st(r), r->dev.family_id, add_member, members) < 0) {
        json_decref(members);
        relay_storage_failed(r, 0);
        return;
    }
    relay_json(r, 200,
               json_pack("{s:s,s:s,s:o}", "family_id", r->dev.family_id, "device_id", r->dev.id,
                         "members", members));
}

/* Keeps the first member listed: the family's oldest live device. */
static int note_keeper(void *ctx, const struct relay_device *d)
{
    char *keeper = ctx;
    if (!keeper[0])
        memcpy(keeper, d->id, RELAY_ID_LEN + 1);
    return 0;
}

static void finish_device(struct relay_request *r)
{
    if (!relay_is_id(r->arg)) {
        relay_error(r, 404, "not_found", "no such device in your family");
        return;
    }
    /* Who may remove whom (net/PROTOCOL.md): a device removes itself; the
     * family's keeper, its oldest live device (the one that created it,
     * while it is there), removes anyone. */
    if (strcmp(r->arg, r->dev.id) != 0) {
        char keeper[RELAY_ID_LEN + 1] = "";
        if (relay_st(r)->ops->members(relay_st(r), r->dev.family_id, note_keeper, keeper) < 0) {
            relay_storage_failed(r, 0);
            return;
        }
        if (strcmp(keeper, r->dev.id) != 0) {
            int member = relay_st(r)->ops->is_member(relay_st(r), r->dev.family_id, r->arg);
            if (member < 0)
                relay_storage_failed(r, 0);
            else if (member == 0)
                relay_error(r, 404, "not_found", "no such device in your family");
            else
                relay_error(r, 403, "forbidden",
                            "only the family's keeper (its oldest device) removes other devices");
            return;
        }
    }
    int err = relay_st(r)->ops->device_revoke(relay_st(r), r->dev.family_id, r->arg);
    r->needs_sync = err == 0;
    if (relay_storage_answer(r, err, -ENOENT, 404, "not_found", "no such device in your family") <
        0)
        return;
    relay_respond(r, 204, MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
}

static void upload_headers(struct relay_request *r, struct MHD_Response *resp)
{
    char v[64];
    snprintf(v, sizeof v, "%llu", (unsigned long long)r->upload->offset);
    MHD_add_response_header(resp, "Upload-Offset", v);
    if (!r->upload->completed) {
        http_date(r->upload->expires, v, sizeof v);
        MHD_add_response_header(resp, "Upload-Expires", v);
    }
}

/* Answers 460 and returns -1 when the body does not match Upload-Checksum. */
static int check_checksum(struct relay_request *r)
{
    if (r->has_checksum) {
        uint8_t got[32];
        unsigned n = 0;
        const EVP_MD *md = digest(r->checksum_algo);
        if (!EVP_Digest(r->body ? r->body : "", r->body_len, got, &n, md, NULL) ||
            n != r->checksum_len || memcmp(got, r->checksum, n) != 0) {
            relay_error(r, 460, "checksum_mismatch", "the bytes do not match Upload-Checksum");
            return -1;
        }
    }
    return 0;
}

/* Writes the body at r->patch_offset; answers only on failure. */
static int write_bytes(struct relay_request *r)
{
    if (check_checksum(r) < 0)
        return -1;
    if (r->body_len == 0)
        return 0;
    char upload_id[RELAY_ID_LEN + 1];
    memcpy(upload_id, r->upload->upload_id, sizeof upload_id);
    int err = relay_st(r)->ops->upload_write(relay_st(r), upload_id, r->patch_offset, r->body,
                                             r->body_len, (int64_t)time(NULL), r->upload);
    if (err == -ESTALE) {
        relay_error(r, 409, "offset_conflict", "Upload-Offset is not where this upload stands");
        return -1;
    }
    if (err == -EBADMSG) {
        r->needs_sync = 1; /* the upload was deleted */
        message_mismatch(r);
        return -1;
    }
    if (err < 0) {
        relay_storage_failed(r, 0);
        return -1;
    }
    r->needs_sync = 1;
    r->wake_recipients = err == 1;
    return 0;
}

/* A PATCH (or a creation with bytes) whose connection ended before its
 * body did: the bytes that arrived are kept, as tus asks, so a cut costs
 * nothing twice. Bytes under an Upload-Checksum cannot be checked without
 * the rest and are dropped; the whole message's sha256 still guards the
 * rest. They are made durable here, before this thread answers anything
 * else, so the next request on the upload sees an offset that survives a
 * power cut. Returns 1 when something was kept. */
int relay_route_abandoned(struct relay_request *r)
{
    if (r->responded || r->held_resp || r->has_checksum || r->body_len == 0 || !r->upload ||
        r->body_too_large || r->body_over_budget)
        return 0;
    int err;
    const struct jn_relay_config *cfg = &r->relay->cfg;
    if (r->deferred_create)
        err = relay_st(r)->ops->upload_create(relay_st(r), r->upload, r->body, r->body_len,
                                              (int64_t)time(NULL), cfg->max_family_bytes,
                                              cfg->max_storage_bytes, cfg->max_mailbox);
    else if (relay_method_is(r, "PATCH") ||
             (r->route == ROUTE_UPLOADS && r->patch_offset == r->upload->offset))
        err = relay_st(r)->ops->upload_write(relay_st(r), r->upload->upload_id, r->patch_offset,
                                             r->body, r->body_len, (int64_t)time(NULL), r->upload);
    else
        return 0;
    if (err < 0)
        return 0;
    if (r->relay->sync_st->ops->make_durable(r->relay->sync_st) < 0)
        return 0;
    if (err == (r->deferred_create ? 2 : 1))
        for (unsigned i = 0; i < r->upload->n_recipients; i++)
            relay_wake(r->relay, r->upload->recipients[i], WAIT_INBOX);
    return 1;
}

static void finish_uploads(struct relay_request *r)
{
    if (r->tus_options) {
        tus_options(r);
        return;
    }
    if (r->deferred_create) {
        if (check_checksum(r) < 0)
            return;
        const struct jn_relay_config *cfg = &r->relay->cfg;
        int err = relay_st(r)->ops->upload_create(relay_st(r), r->upload, r->body, r->body_len,
                                                  (int64_t)time(NULL), cfg->max_family_bytes,
                                                  cfg->max_storage_bytes, cfg->max_mailbox);
        if (err < 0) {
            creation_failed(r, err);
            return;
        }
        r->needs_sync = 1;
        r->wake_recipients = err == 2;
    } else if (r->body_len && !r->upload->completed && r->patch_offset == r->upload->offset) {
        if (write_bytes(r) < 0)
            return;
    } else if (!r->body_len && settle_upload(r) != 0) {
        return;
    }
    char location[64], max[24];
    snprintf(location, sizeof location, "/v1/uploads/%s", r->upload->upload_id);
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Location", location);
    upload_headers(r, resp);
    /* The limit OPTIONS gives, here too: a client that learns it from
     * every creation need not ask before each upload (bytes are paid). */
    snprintf(max, sizeof max, "%llu", (unsigned long long)r->relay->cfg.max_message_bytes);
    MHD_add_response_header(resp, "Tus-Max-Size", max);
    relay_respond(r, 201, resp);
}

static void finish_upload(struct relay_request *r)
{
    if (r->tus_options) {
        tus_options(r);
        return;
    }
    if (relay_method_is(r, "HEAD")) {
        if (settle_upload(r) != 0)
            return;
        char v[24];
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        snprintf(v, sizeof v, "%llu", (unsigned long long)r->upload->length);
        MHD_add_response_header(resp, "Upload-Length", v);
        if (r->upload->metadata[0])
            MHD_add_response_header(resp, "Upload-Metadata", r->upload->metadata);
        upload_headers(r, resp);
        relay_respond(r, 200, resp);
        return;
    }
    if (relay_method_is(r, "DELETE")) {
        if (r->upload->completed) {
            relay_error(r, 409, "conflict", "this upload is complete: the message was delivered");
            return;
        }
        if (relay_st(r)->ops->upload_delete(relay_st(r), r->upload->upload_id) < 0) {
            relay_storage_failed(r, 0);
            return;
        }
        r->needs_sync = 1;
        relay_respond(r, 204, MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
        return;
    }
    if (write_bytes(r) < 0)
        return;
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    upload_headers(r, resp);
    relay_respond(r, 204, resp);
}

/* after and wait from the query; answers 400 itself. */
static int poll_args(struct relay_request *r, int64_t *after, unsigned *wait)
{
    uint64_t a = 0, w = 0;
    const char *qa = relay_query(r, "after"), *qw = relay_query(r, "wait");
    if (qa && ju_parse_u64(qa, INT64_MAX, &a) < 0) {
        relay_error(r, 400, "malformed", "after must be a cursor from a previous answer");
        return -1;
    }
    if (qw && ju_parse_u64(qw, 86400, &w) < 0) {
        relay_error(r, 400, "malformed", "wait must be a number of seconds");
        return -1;
    }
    *after = (int64_t)a;
    *wait = w > r->relay->cfg.max_wait_s ? r->relay->cfg.max_wait_s : (unsigned)w;
    return 0;
}

/* A page of the inbox or of receipts, written as JSON straight into one
 * buffer: these are the routes devices poll, and building a jansson tree
 * per entry only to serialise it cost more than the database did. */
struct page {
    char *buf;
    size_t len, cap;
    int failed;
    int64_t cursor;
    unsigned n;
};

static int page_room(struct page *p, size_t n)
{
    if (p->failed)
        return -1;
    if (p->len + n + 1 <= p->cap)
        return 0;
    size_t cap = p->cap ? p->cap : 512;
    while (cap < p->len + n + 1)
        cap *= 2;
    char *nb = realloc(p->buf, cap);
    if (!nb) {
        p->failed = 1;
        return -1;
    }
    p->buf = nb;
    p->cap = cap;
    return 0;
}

static void page_put(struct page *p, const char *s, size_t n)
{
    if (page_room(p, n) < 0)
        return;
    memcpy(p->buf + p->len, s, n);
    p->len += n;
    p->buf[p->len] = '\0';
}

#define PAGE_PUT(p, literal) page_put(p, literal, sizeof literal - 1)

static void page_int(struct page *p, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%lld", (long long)v);
    page_put(p, t, (size_t)n);
}

/* A JSON string. What is put here are ids and states the relay checked
 * when it stored them, but quotes, backslashes and control characters are
 * escaped all the same, so the answer is JSON whatever the database holds. */
static void page_str(struct page *p, const char *s)
{
    size_t n = strlen(s);
    if (page_room(p, 6 * n + 2) < 0)
        return;
    char *w = p->buf + p->len;
    *w++ = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            *w++ = '\\';
            *w++ = (char)*c;
        } else if (*c < 0x20) {
            w += sprintf(w, "\\u%04x", *c);
        } else {
            *w++ = (char)*c;
        }
    }
    *w++ = '"';
    *w = '\0';
    p->len = (size_t)(w - p->buf);
}

/* Opens the next object of a page's array (a comma before all but the
 * first) with the cursor every entry starts with. */
static void page_entry_begin(struct page *p, int64_t cursor)
{
    p->cursor = cursor;
    if (p->n++)
        PAGE_PUT(p, ",");
    PAGE_PUT(p, "{\"cursor\":");
    page_int(p, cursor);
}

/* ,"name": before a value of the entry being written. */
static void page_key(struct page *p, const char *name)
{
    PAGE_PUT(p, ",\"");
    page_put(p, name, strlen(name));
    PAGE_PUT(p, "\":");
}

static void page_field_int(struct page *p, const char *name, int64_t v)
{
    page_key(p, name);
    page_int(p, v);
}

static void page_field_str(struct page *p, const char *name, const char *s)
{
    page_key(p, name);
    page_str(p, s);
}

/* Closes the entry; -ENOMEM, which ends the listing, once the page could
 * not grow. */
static int page_entry_end(struct page *p)
{
    PAGE_PUT(p, "}");
    return p->failed ? -ENOMEM : 0;
}

static int add_inbox_entry(void *ctx, const struct relay_inbox_entry *e)
{
    struct page *p = ctx;
    char sha[65];
    ju_hex_encode(e->sha256, 32, sha);
    page_entry_begin(p, e->cursor);
    page_field_str(p, "message_id", e->message_id);
    page_field_str(p, "from", e->sender_id);
    page_field_int(p, "length", (int64_t)e->length);
    page_field_int(p, "duration_ms", (int64_t)e->duration_ms);
    page_field_str(p, "sha256", sha);
    page_field_int(p, "sent_at", e->created);
    return page_entry_end(p);
}

static int add_receipt(void *ctx, const struct relay_receipt *rc)
{
    struct page *p = ctx;
    page_entry_begin(p, rc->cursor);
    page_field_str(p, "message_id", rc->message_id);
    page_field_str(p, "device_id", rc->device_id);
    page_field_str(p, "state", rc->state);
    page_field_int(p, "at", rc->at);
    if (rc->proof[0])
        page_field_str(p, "proof", rc->proof);
    return page_entry_end(p);
}

static void finish_poll(struct relay_request *r)
{
    int64_t after;
    unsigned wait;
    if (poll_args(r, &after, &wait) < 0)
        return;
    int inbox = r->route == ROUTE_INBOX;
    struct page p = {.cursor = after};
    struct page receipts = {.cursor = -1}; /* with the inbox, when asked */
    if (inbox)
        PAGE_PUT(&p, "{\"messages\":[");
    else
        PAGE_PUT(&p, "{\"receipts\":[");
    int err =
        p.failed ? -ENOMEM
        : inbox  ? relay_st(r)->ops->inbox(relay_st(r), r->dev.id, after, PAGE, add_inbox_entry, &p)
                 : relay_st(r)->ops->receipts(relay_st(r), r->dev.id, after, PAGE, add_receipt, &p);
    if (err == -ENOMEM)
        goto error_memory;
    if (err < 0)
        goto error_storage;
    /* receipts_after on the inbox: the answer also carries the receipts on
     * this device's own messages above that cursor, and a long poll also
     * ends on one, so a client learns everything that came to it in one
     * request (one round trip on a 2G link, not two). */
    const char *qr = inbox ? relay_query(r, "receipts_after") : NULL;
    if (qr) {
        uint64_t ra;
        if (ju_parse_u64(qr, INT64_MAX, &ra) < 0) {
            relay_error(r, 400, "malformed", "receipts_after must be a cursor");
            goto out;
        }
        receipts.cursor = (int64_t)ra;
        err = relay_st(r)->ops->receipts(relay_st(r), r->dev.id, receipts.cursor, PAGE, add_receipt,
                                         &receipts);
        if (err == -ENOMEM || receipts.failed)
            goto error_memory;
        if (err < 0)
            goto error_storage;
    }
    if (p.n == 0 && receipts.n == 0 && wait > 0 && !r->woken &&
        relay_wait(r, inbox ? (qr ? WAIT_INBOX | WAIT_RECEIPTS : WAIT_INBOX) : WAIT_RECEIPTS,
                   wait) == 0)
        goto out; /* answered when resumed */
    PAGE_PUT(&p, "],\"cursor\":");
    page_int(&p, p.cursor);
    if (qr) {
        PAGE_PUT(&p, ",\"receipts\":[");
        if (receipts.len)
            page_put(&p, receipts.buf, receipts.len);
        PAGE_PUT(&p, "],\"receipts_cursor\":");
        page_int(&p, receipts.cursor);
        if (receipts.n)
            PAGE_PUT(&p, ",\"receipts_pending\":true");
        else
            PAGE_PUT(&p, ",\"receipts_pending\":false");
        /* And the roster's ETag: a client holding that one asks nothing
         * more; one holding another fetches the roster. */
        char roster[65];
        err = relay_roster_etag(r, roster);
        if (err < 0)
            goto error_storage;
        if (err)
            page_field_str(&p, "roster", roster);
    }
    PAGE_PUT(&p, "}");
    if (p.failed)
        goto error_memory;
    free(receipts.buf);
    relay_json_text(r, 200, p.buf, p.len); /* takes the buffer */
    return;

error_storage:
    relay_storage_failed(r, 0);
    goto out;
error_memory:
    relay_error(r, 500, "internal", "out of memory");
out:
    free(receipts.buf);
    free(p.buf);
}

/* The message in r->arg, if the caller may see it: its sender or a recipient. */
static int load_message(struct relay_request *r, struct relay_upload *m)
{
    char id[RELAY_UUID_LEN + 1];
    if (!relay_is_uuid(r->arg)) {
        relay_error(r, 404, "not_found", "no such message");
        return -1;
    }
    for (int i = 0; i <= RELAY_UUID_LEN; i++)
        id[i] = (char)(r->arg[i] >= 'A' && r->arg[i] <= 'F' ? r->arg[i] - 'A' + 'a' : r->arg[i]);
    int err = relay_st(r)->ops->message_get(relay_st(r), id, m);
    if (relay_storage_answer(r, err, -ENOENT, 404, "not_found", "no such message") < 0)
        return -1;
    if (strcmp(m->family_id, r->dev.family_id) != 0) {
        relay_error(r, 403, "forbidden", "this message is not for your family");
        return -1;
    }
    int sender = strcmp(m->sender_id, r->dev.id) == 0;
    err = relay_st(r)->ops->is_recipient(relay_st(r), m->rowid, r->dev.id);
    if (err < 0) {
        relay_storage_failed(r, 0);
        return -1;
    }
    if (!sender && !err) {
        relay_error(r, 403, "forbidden", "this message is not addressed to this device");
        return -1;
    }
    return err; /* 1: a recipient */
}

static void finish_message(struct relay_request *r)
{
    struct relay_upload *m = malloc(sizeof *m);
    if (!m) {
        relay_error(r, 500, "internal", "out of memory");
        return;
    }
    if (load_message(r, m) < 0)
        goto out;
    char etag[70], sha[65];
    ju_hex_encode(m->sha256, 32, sha);
    snprintf(etag, sizeof etag, "\"%s\"", sha);
    const char *inm = relay_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (inm && (strcmp(inm, etag) == 0 || strcmp(inm, "*") == 0)) {
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "ETag", etag);
        relay_respond(r, 304, resp);
        goto out;
    }
    uint64_t first = 0, last = m->length - 1;
    const char *range = relay_header(r, MHD_HTTP_HEADER_RANGE);
    const char *if_range = relay_header(r, MHD_HTTP_HEADER_IF_RANGE);
    int partial = 0;
    if (range && (!if_range || strcmp(if_range, etag) == 0)) {
        int err = relay_parse_range(range, m->length, &first, &last);
        if (err == -ERANGE) {
            char cr[48];
            snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)m->length);
            relay_error_full(r, 416, "range_not_satisfiable", "the Range is outside the message", 0,
                             "Content-Range", cr);
            goto out;
        }
        partial = err == 0;
        if (!partial) {
            first = 0;
            last = m->length - 1;
        }
    }
    size_t n = (size_t)(last - first + 1);
    char *buf = malloc(n);
    if (!buf) {
        relay_error(r, 500, "internal", "out of memory");
        goto out;
    }
    if (relay_st(r)->ops->message_read(relay_st(r), m->rowid, first, buf, n) < 0) {
        free(buf);
        relay_storage_failed(r, 0);
        goto out;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(n, buf, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
    MHD_add_response_header(resp, "Accept-Ranges", "bytes");
    MHD_add_response_header(resp, "ETag", etag);
    if (partial) {
        char cr[80];
        snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)first,
                 (unsigned long long)last, (unsigned long long)m->length);
        MHD_add_response_header(resp, "Content-Range", cr);
    }
    r->bytes_out += n;
    relay_respond(r, partial ? 206 : 200, resp);
out:
    free(m);
}

static void finish_receipt(struct relay_request *r)
{
    const char *state;
    if (relay_parse_receipt_body(r->body, r->body_len, &state) < 0) {
        relay_error(r, 400, "malformed",
                    "the body must be {\"state\": \"delivered\"|\"played\"|\"rejected\"}");
        return;
    }
    /* The recipient's signature (docs/encryption.md, "Receipts"), kept and
     * passed on as it came: base64, at most RELAY_PROOF_MAX characters. */
    char proof[RELAY_PROOF_MAX + 1] = "";
    {
        json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
        const char *p = json_string_value(json_object_get(j, "proof"));
        int ok = !p || relay_is_base64(p, RELAY_PROOF_MAX);
        if (ok && p)
            snprintf(proof, sizeof proof, "%s", p);
        json_decref(j);
        if (!ok) {
            relay_error(r, 400, "malformed", "proof must be base64, at most 128 characters");
            return;
        }
    }
    struct relay_upload *m = malloc(sizeof *m);
    if (!m) {
        relay_error(r, 500, "internal", "out of memory");
        return;
    }
    int err = load_message(r, m);
    if (err == 0)
        relay_error(r, 403, "forbidden", "only a recipient sends receipts");
    if (err <= 0)
        goto out;
    err = relay_st(r)->ops->receipt_add(relay_st(r), m->rowid, r->dev.id, state,
                                        proof[0] ? proof : NULL, (int64_t)time(NULL));
    if (err < 0) {
        relay_storage_failed(r, 0);
        goto out;
    }
    r->needs_sync = 1;
    if (err == 1)
        memcpy(r->wake_sender, m->sender_id, sizeof r->wake_sender);
    relay_respond(r, 204, MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
out:
    free(m);
}

void relay_route_finish(struct relay_request *r)
{
    const struct relay_route_def *def = route_def(r->route);
    if (!def) {
        relay_error(r, 404, "not_found", "no such route");
        return;
    }
    def->finish(r);
}

int relay_authenticate(struct relay_request *r)
{
    return authenticate(r);
}

uint64_t relay_peer_key(struct relay_request *r)
{
    return r->client_key;
}

void relay_sha256(const void *data, size_t len, uint8_t out[32])
{
    sha256(data, len, out);
}
