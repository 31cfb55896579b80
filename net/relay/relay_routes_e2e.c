/*
 * The routes that carry end-to-end encryption's own messages
 * (net/PROTOCOL.md, "Pairing" and "Roster"; docs/encryption.md). The relay
 * never decodes them: pairing messages are base64 text it holds between a
 * family's inviting device and a joining one, the roster is bytes it hands
 * to the family's devices. Nothing here needs, or could use, a key.
 *
 * A pairing is found by its 4-digit nameplate. The inviter (a member)
 * creates it with message A and later reads B and writes C. The joiner has
 * no token yet: it claims the pairing once (the claim is a random
 * capability, stored hashed, and a second claim is refused, so a guesser
 * gets one try per pairing), then answers B and fetches C with the claim.
 */
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "relay_internal.h"
#include "relay_parse.h"

#define E2E_BODY_MAX (RELAY_PAIR_MSG_MAX + 256) /* a JSON body carrying one message */

static int nameplate_ok(const char *s)
{
    if (strlen(s) != 4)
        return 0;
    for (int i = 0; i < 4; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* A body of at most limit bytes of the given type. */
static int expect_body(struct relay_request *r, const char *type, size_t limit)
{
    const char *ct = relay_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    const char *cl = relay_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t n;
    if (!relay_content_type_is(ct, type)) {
        char msg[96];
        snprintf(msg, sizeof msg, "the body must be %s", type);
        relay_error(r, 415, "unsupported_media_type", msg);
        return -1;
    }
    if (cl && (ju_parse_u64(cl, INT64_MAX, &n) < 0 || n > limit)) {
        relay_error(r, 413, "too_large", "the body is larger than allowed");
        return -1;
    }
    r->body_limit = limit;
    return 0;
}

/* The joiner's routes are open to anyone: the join limits apply. */
static int limit_guessers(struct relay_request *r)
{
    unsigned retry;
    if (relay_limit_take(&r->relay->join_limit, relay_peer_key(r), &retry) < 0 ||
        relay_limit_take(&r->relay->join_global, 0, &retry) < 0) {
        relay_error_retry(r, 429, "rate_limited", "too many attempts; wait and try again", retry);
        return -1;
    }
    return 0;
}

void relay_e2e_begin(struct relay_request *r)
{
    const struct relay_storage_ops *ops = relay_st(r)->ops;
    if (!ops->pairing_create || !ops->pairing_get || !ops->pairing_set || !ops->roster_get ||
        !ops->roster_put) {
        relay_error(r, 501, "not_implemented",
                    "this relay's storage keeps no pairings or rosters yet");
        return;
    }
    /* The route table (relay_routes.c) refused any other method already. */
    switch (r->route) {
    case ROUTE_PAIRINGS:
        if (relay_authenticate(r) == 0)
            expect_body(r, "application/json", E2E_BODY_MAX);
        return;
    case ROUTE_PAIRING:
        if (relay_authenticate(r) == 0 && relay_method_is(r, "PUT"))
            expect_body(r, "application/json", E2E_BODY_MAX);
        return;
    case ROUTE_PAIRING_CLAIM:
        limit_guessers(r);
        return;
    case ROUTE_PAIRING_ANSWER:
    case ROUTE_PAIRING_RESULT:
        /* The claim is a 256-bit capability: a device-sized rate limit,
         * keyed by the caller's address, is enough here. */
        {
            unsigned retry;
            if (relay_limit_take(&r->relay->token_limit, relay_peer_key(r), &retry) < 0) {
                relay_error_retry(r, 429, "rate_limited", "too many requests", retry);
                return;
            }
        }
        expect_body(r, "application/json", E2E_BODY_MAX);
        return;
    case ROUTE_ROSTER:
        if (relay_authenticate(r) == 0 && relay_method_is(r, "PUT"))
            expect_body(r, "application/octet-stream", RELAY_ROSTER_MAX);
        return;
    default:
        relay_error(r, 404, "not_found", "no such route");
    }
}

/* "msg" (and "claim", "nameplate") of a JSON body, checked. */
struct e2e_body {
    json_t *json;
    const char *msg, *claim, *nameplate;
};

static int parse_body(struct relay_request *r, struct e2e_body *b, int want_msg, int want_claim,
                      int want_nameplate)
{
    memset(b, 0, sizeof *b);
    b->json = json_loadb(r->body ? r->body : "", r->body_len, 0, NULL);
    b->msg = json_string_value(json_object_get(b->json, "msg"));
    b->claim = json_string_value(json_object_get(b->json, "claim"));
    b->nameplate = json_string_value(json_object_get(b->json, "nameplate"));
    if (!json_is_object(b->json) || (want_msg && !relay_is_base64(b->msg, RELAY_PAIR_MSG_MAX)) ||
        (want_claim && (!b->claim || strlen(b->claim) != 64)) ||
        (want_nameplate && (!b->nameplate || !nameplate_ok(b->nameplate)))) {
        json_decref(b->json);
        b->json = NULL;
        relay_error(r, 400, "malformed", "the body does not have the fields this route needs");
        return -1;
    }
    return 0;
}

static int load_pairing(struct relay_request *r, struct relay_pairing *p)
{
    if (!nameplate_ok(r->arg)) {
        relay_error(r, 404, "not_found", "no such pairing");
        return -1;
    }
    int err = relay_st(r)->ops->pairing_get(relay_st(r), r->arg, (int64_t)time(NULL), p);
    if (relay_storage_answer(r, err, -ENOENT, 404, "not_found", "no such pairing, or it expired") <
        0)
        return -1;
    return 0;
}

/* The joiner's claim matches the one the pairing holds (constant time). */
static int claim_matches(const struct relay_pairing *p, const char *claim_hex)
{
    uint8_t claim[32], hash[32];
    if (!p->claimed || ju_hex_decode(claim_hex, claim, 32) < 0)
        return 0;
    relay_sha256(claim, 32, hash);
    return CRYPTO_memcmp(hash, p->claim_hash, 32) == 0;
}

static json_t *msg_or_null(const char *m)
{
    return m[0] ? json_string(m) : json_null();
}

static void finish_pairings(struct relay_request *r)
{
    const struct jn_relay_config *cfg = &r->relay->cfg;
    struct e2e_body b;
    if (parse_body(r, &b, 1, 0, 1) < 0)
        return;
    int64_t now = (int64_t)time(NULL), expires = now + cfg->invite_ttl_s;
    int err = relay_st(r)->ops->pairing_create(relay_st(r), r->dev.family_id, b.nameplate, b.msg,
                                               expires, now, cfg->max_invites);
    json_decref(b.json);
    if (err == -EEXIST) {
        relay_error(r, 409, "conflict", "that nameplate is in use; draw another");
        return;
    }
    if (err == -ENOSPC) {
        relay_error_retry(r, 429, "rate_limited", "your family has too many open pairings",
                          cfg->invite_ttl_s);
        return;
    }
    if (err < 0) {
        relay_storage_failed(r, 0);
        return;
    }
    r->needs_sync = 1;
    relay_json(r, 201, json_pack("{s:I}", "expires_at", (json_int_t)expires));
}

static void finish_pairing(struct relay_request *r)
{
    struct relay_pairing *p = malloc(sizeof *p);
    if (!p) {
        relay_error(r, 500, "internal", "out of memory");
        return;
    }
    if (load_pairing(r, p) < 0)
        goto out;
    if (strcmp(p->family_id, r->dev.family_id) != 0) {
        relay_error(r, 403, "forbidden", "this pairing belongs to another family");
        goto out;
    }
    if (relay_method_is(r, "GET")) {
        relay_json(r, 200,
                   json_pack("{s:s,s:o,s:o,s:b,s:I}", "msg_a", p->msg_a, "msg_b",
                             msg_or_null(p->msg_b), "msg_c", msg_or_null(p->msg_c), "claimed",
                             p->claimed, "expires_at", (json_int_t)p->expires));
        goto out;
    }
    struct e2e_body b;
    if (parse_body(r, &b, 1, 0, 0) < 0)
        goto out;
    int err = relay_st(r)->ops->pairing_set(relay_st(r), r->arg, "msg_c", b.msg, strlen(b.msg));
    json_decref(b.json);
    if (relay_storage_answer(r, err, -EEXIST, 409, "conflict",
                             "no answer to confirm yet, or it was confirmed already") < 0)
        goto out;
    r->needs_sync = 1;
    relay_respond(r, 204, MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
out:
    free(p);
}

static void finish_claim(struct relay_request *r)
{
    struct relay_pairing *p = malloc(sizeof *p);
    uint8_t claim[32], hash[32];
    char hex[65];
    if (!p) {
        relay_error(r, 500, "internal", "out of memory");
        return;
    }
    if (load_pairing(r, p) < 0)
        goto out;
    if (RAND_bytes(claim, sizeof claim) != 1) {
        relay_error(r, 500, "internal", "no randomness");
        goto out;
    }
    relay_sha256(claim, sizeof claim, hash);
    int err = relay_st(r)->ops->pairing_set(relay_st(r), r->arg, "claim", hash, sizeof hash);
    if (err == -EEXIST) {
        relay_error(r, 409, "conflict", "this pairing was claimed already; ask for a new code");
        goto out;
    }
    if (err < 0) {
        relay_storage_failed(r, 0);
        goto out;
    }
    ju_hex_encode(claim, sizeof claim, hex);
    r->needs_sync = 1;
    relay_json(r, 200, json_pack("{s:s,s:s}", "claim", hex, "msg_a", p->msg_a));
out:
    free(p);
}

static void finish_answer(struct relay_request *r)
{
    struct relay_pairing *p = malloc(sizeof *p);
    struct e2e_body b = {0};
    if (!p) {
        relay_error(r, 500, "internal", "out of memory");
        return;
    }
    if (parse_body(r, &b, r->route == ROUTE_PAIRING_ANSWER, 1, 0) < 0 || load_pairing(r, p) < 0)
        goto out;
    if (!claim_matches(p, b.claim)) {
        relay_error(r, 403, "forbidden", "that is not this pairing's claim");
        goto out;
    }
    if (r->route == ROUTE_PAIRING_RESULT) {
        relay_json(r, 200, json_pack("{s:o}", "msg", msg_or_null(p->msg_c)));
        goto out;
    }
    int err = relay_st(r)->ops->pairing_set(relay_st(r), r->arg, "msg_b", b.msg, strlen(b.msg));
    if (relay_storage_answer(r, err, -EEXIST, 409, "conflict",
                             "this pairing was answered already") < 0)
        goto out;
    r->needs_sync = 1;
    relay_respond(r, 204, MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
out:
    json_decref(b.json);
    free(p);
}

int relay_roster_etag(struct relay_request *r, char hex[65])
{
    void *data = NULL;
    size_t len = 0;
    uint8_t sum[32];

    if (!relay_st(r)->ops->roster_get)
        return 0;
    int err = relay_st(r)->ops->roster_get(relay_st(r), r->dev.family_id, &data, &len);
    if (err == -ENOENT)
        return 0;
    if (err < 0)
        return err;
    relay_sha256(data, len, sum);
    free(data);
    ju_hex_encode(sum, 32, hex);
    return 1;
}

static void finish_roster(struct relay_request *r)
{
    if (relay_method_is(r, "GET")) {
        void *data = NULL;
        size_t len = 0;
        int err = relay_st(r)->ops->roster_get(relay_st(r), r->dev.family_id, &data, &len);
        if (relay_storage_answer(r, err, -ENOENT, 404, "not_found",
                                 "this family has no roster yet") < 0)
            return;
        uint8_t sum[32];
        char etag[67];
        relay_sha256(data, len, sum);
        etag[0] = '"';
        ju_hex_encode(sum, 32, etag + 1);
        etag[65] = '"';
        etag[66] = '\0';
        const char *inm = relay_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
        struct MHD_Response *resp;
        if (inm && strcmp(inm, etag) == 0) {
            free(data);
            resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
            MHD_add_response_header(resp, "ETag", etag);
            relay_respond(r, 304, resp);
            return;
        }
        resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
        MHD_add_response_header(resp, "ETag", etag);
        relay_respond(r, 200, resp);
        return;
    }
    /* PUT: If-Match with the held roster's ETag, or If-None-Match: * for
     * the first; a lost race gets 412 and the device merges and retries. */
    const char *im = relay_header(r, MHD_HTTP_HEADER_IF_MATCH);
    const char *inm = relay_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
    uint8_t expect[32];
    int have_expect = 0;
    if (im) {
        size_t n = strlen(im);
        char hex[65];
        if (n != 66 || im[0] != '"' || im[65] != '"') {
            relay_error(r, 400, "malformed", "If-Match must be the roster's ETag");
            return;
        }
        memcpy(hex, im + 1, 64);
        hex[64] = '\0';
        if (ju_hex_decode(hex, expect, 32) < 0) {
            relay_error(r, 400, "malformed", "If-Match must be the roster's ETag");
            return;
        }
        have_expect = 1;
    } else if (!inm || strcmp(inm, "*") != 0) {
        relay_error(r, 428, "precondition_required", "PUT needs If-Match or If-None-Match: *");
        return;
    }
    if (r->body_len == 0) {
        relay_error(r, 400, "malformed", "an empty roster");
        return;
    }
    int err = relay_st(r)->ops->roster_put(relay_st(r), r->dev.family_id, r->body, r->body_len,
                                           have_expect ? expect : NULL);
    if (err == -ESTALE) {
        relay_error(r, 412, "precondition_failed", "the roster changed; fetch it and try again");
        return;
    }
    if (err < 0) {
        relay_storage_failed(r, 0);
        return;
    }
    r->needs_sync = 1;
    relay_respond(r, 204, MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
}

void relay_e2e_finish(struct relay_request *r)
{
    switch (r->route) {
    case ROUTE_PAIRINGS:
        finish_pairings(r);
        break;
    case ROUTE_PAIRING:
        finish_pairing(r);
        break;
    case ROUTE_PAIRING_CLAIM:
        finish_claim(r);
        break;
    case ROUTE_PAIRING_ANSWER:
    case ROUTE_PAIRING_RESULT:
        finish_answer(r);
        break;
    case ROUTE_ROSTER:
        finish_roster(r);
        break;
    default:
        relay_error(r, 404, "not_found", "no such route");
    }
}
