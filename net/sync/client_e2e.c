/*
 * End-to-end encryption against the relay (docs/encryption.md): founding a
 * family's roster, pairing by code through the relay's mailboxes (as
 * inviter and as joiner), keeping the roster in step, removing a device.
 * The cryptography is net/e2e's; this file only moves its bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client_internal.h"
#include "net/e2e/e2e.h"

#define JOINER_KEY "joiner"

static char *b64(const uint8_t *bytes, size_t len)
{
    size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
    char *out = malloc(n);

    if (out)
        sodium_bin2base64(out, n, bytes, len, sodium_base64_VARIANT_ORIGINAL);
    return out;
}

static int unb64(const char *text, uint8_t *out, size_t cap, size_t *len)
{
    if (!text || sodium_base642bin(out, cap, text, strlen(text), NULL, len, NULL,
                                   sodium_base64_VARIANT_ORIGINAL) != 0)
        return JE_ERR_MALFORMED;
    return 0;
}

static int setting_id(js_store *store, const char *key, uint8_t id[JE_ID_BYTES])
{
    char buf[JS_SETTING_MAX + 1];

    if (js_setting_get(store, key, buf, sizeof(buf)) < 0)
        return JN_ERR_NOT_SET_UP;
    return je_id_parse(buf, id) ? JN_ERR_NOT_SET_UP : 0;
}

/* ---- roster on the relay ---------------------------------------------------- */

/* PUT /v1/roster with If-Match (the held ETag) or If-None-Match: * (first). */
static int put_roster(jn_http *http, js_store *store, const uint8_t *bytes, size_t len, bool first)
{
    char etag[JS_SETTING_MAX + 1] = "", cond[128], sum_hex[65];
    const char *headers[] = {cond, NULL};
    struct jn_http_request req = {.method = "PUT",
                                  .path = "/v1/roster",
                                  .headers = headers,
                                  .body = bytes,
                                  .body_len = len,
                                  .content_type = "application/octet-stream"};
    struct jn_http_response resp;
    uint8_t sum[32];
    int err;

    if (!first && js_setting_get(store, JS_SETTING_ROSTER_ETAG, etag, sizeof(etag)) > 0)
        snprintf(cond, sizeof(cond), "If-Match: \"%s\"", etag);
    else
        snprintf(cond, sizeof(cond), "If-None-Match: *");
    err = jn_http_request(http, &req, &resp);
    if (!err)
        err = jn_http_status_error(resp.status);
    if (!err && resp.status == 412)
        err = JN_ERR_CONFLICT;
    jn_http_response_finish(&resp);
    if (err)
        return err;
    crypto_hash_sha256(sum, bytes, len);
    sodium_bin2hex(sum_hex, sizeof(sum_hex), sum, 32);
    return js_setting_set(store, JS_SETTING_ROSTER_ETAG, sum_hex);
}

struct grow {
    uint8_t buf[JE_ROSTER_MAX];
    size_t len;
};

static int grow_sink(void *user, const unsigned char *bytes, size_t len)
{
    struct grow *g = user;

    if (g->len + len > sizeof(g->buf))
        return JN_ERR_TOO_LARGE;
    memcpy(g->buf + g->len, bytes, len);
    g->len += len;
    return 0;
}

/* Fetches the relay's roster and offers it to the vault: 1 a newer one was
 * kept, 0 nothing new (or none on the relay), or an error. A roster the
 * vault refuses (not signed by a member) is reported, never kept. */
int jn_e2e_roster_refresh(jn_http *http, js_store *store)
{
    char etag[JS_SETTING_MAX + 1] = "", cond[128] = "";
    const char *headers[] = {cond, NULL};
    struct grow *g = calloc(1, sizeof(*g));
    struct jn_http_request req = {
        .method = "GET", .path = "/v1/roster", .sink = grow_sink, .sink_user = g};
    struct jn_http_response resp;
    int err;

    if (!g)
        return -ENOMEM;
    if (js_setting_get(store, JS_SETTING_ROSTER_ETAG, etag, sizeof(etag)) > 0) {
        snprintf(cond, sizeof(cond), "If-None-Match: \"%s\"", etag);
        req.headers = headers;
    }
    err = jn_http_request(http, &req, &resp);
    if (!err && (resp.status == 304 || resp.status == 404))
        goto out;
    if (!err)
        err = jn_http_status_error(resp.status);
    if (!err)
        err = je_vault_offer_roster(store, g->buf, g->len);
    if (err == 1 || err == 0) {
        char hex[65];
        if (strlen(resp.etag) == 64 && (memcpy(hex, resp.etag, 65), 1))
            js_setting_set(store, JS_SETTING_ROSTER_ETAG, hex);
    }
out:
    jn_http_response_finish(&resp);
    free(g);
    return err;
}

/* Signs a new version of the held roster changed by edit(), and puts it on
 * the relay; on a lost race (412) fetches the relay's, and edits that. */
typedef int (*roster_edit_fn)(void *user, struct je_roster *r);

static int change_roster(jn_http *http, js_store *store, const struct je_identity *self,
                         roster_edit_fn edit, void *user, uint8_t *out, size_t *out_len)
{
    struct je_roster *r = malloc(sizeof(*r));
    int err = -ENOMEM;

    if (!r)
        return err;
    for (int attempt = 0; attempt < 4; attempt++) {
        err = je_vault_roster(store, r, NULL, NULL);
        if (!err)
            err = edit(user, r);
        if (err)
            break;
        r->version++;
        err = je_roster_sign(r, self, out, out_len);
        if (!err)
            err = put_roster(http, store, out, *out_len, false);
        if (err == JN_ERR_CONFLICT) {
            int got = jn_e2e_roster_refresh(http, store);
            if (got < 0) {
                err = got;
                break;
            }
            continue;
        }
        if (!err)
            err = je_vault_set_roster(store, out, *out_len);
        break;
    }
    free(r);
    return err;
}

/* ---- founding a family's roster (create, upgrade) ------------------------------ */

int jn_e2e_found_family(jn_http *http, js_store *store)
{
    char name[JS_SETTING_MAX + 1];
    struct je_identity self;
    struct je_roster *r = calloc(1, sizeof(*r));
    uint8_t bytes[JE_ROSTER_MAX];
    size_t len;
    int err;

    if (!r)
        return -ENOMEM;
    err = je_vault_identity_ensure(store, &self);
    if (!err && js_setting_get(store, JS_SETTING_DEVICE_NAME, name, sizeof(name)) < 0)
        snprintf(name, sizeof(name), "me");
    r->version = 1;
    r->count = 1;
    if (!err)
        err = setting_id(store, JS_SETTING_FAMILY_ID, r->family_id);
    if (!err)
        err = setting_id(store, JS_SETTING_DEVICE_ID, r->members[0].device_id);
    if (!err) {
        memcpy(r->members[0].sign_pk, self.sign_pk, 32);
        memcpy(r->members[0].box_pk, self.box_pk, 32);
        snprintf(r->members[0].name, sizeof(r->members[0].name), "%.64s", name);
        err = je_roster_sign(r, &self, bytes, &len);
    }
    if (!err)
        err = put_roster(http, store, bytes, len, true);
    if (!err)
        err = je_vault_set_roster(store, bytes, len);
    je_wipe(&self, sizeof(self));
    free(r);
    return err;
}

/* ---- inviting ------------------------------------------------------------------------- */

int jn_e2e_invite(jn_http *http, js_store *store, char *code)
{
    struct je_pairing st;
    int err = 0;

    if (!je_vault_encrypted(store))
        return JE_ERR_NO_KEYS;
    for (int attempt = 0; attempt < 8; attempt++) {
        char nameplate[JE_NAMEPLATE_DIGITS + 1], *a64;
        json_t *body;

        err = je_pairing_new_code(code);
        if (!err)
            err = je_pairing_start(code, &st, NULL);
        if (err)
            break;
        memcpy(nameplate, code, JE_NAMEPLATE_DIGITS);
        nameplate[JE_NAMEPLATE_DIGITS] = '\0';
        a64 = b64(st.a, st.a_len);
        body = a64 ? json_pack("{s:s,s:s}", "nameplate", nameplate, "msg", a64) : NULL;
        free(a64);
        if (!body) {
            err = -ENOMEM;
            break;
        }
        err = jn_json_call(http, "POST", "/v1/pairings", body, 0, 0, NULL);
        json_decref(body);
        if (err == JN_ERR_CONFLICT)
            continue; /* that nameplate is open already: draw again */
        if (!err)
            err = je_vault_pairing_put(store, nameplate, &st);
        break;
    }
    je_wipe(&st, sizeof(st));
    return err;
}

struct confirm {
    const struct je_peer *peer;
    const uint8_t *device_id;
};

static int add_member(void *user, struct je_roster *r)
{
    struct confirm *c = user;
    struct je_member *m;

    if (r->count >= JE_MAX_MEMBERS)
        return JN_ERR_RELAY_FULL;
    m = &r->members[r->count++];
    memset(m, 0, sizeof(*m));
    memcpy(m->device_id, c->device_id, JE_ID_BYTES);
    memcpy(m->sign_pk, c->peer->sign_pk, 32);
    memcpy(m->box_pk, c->peer->box_pk, 32);
    snprintf(m->name, sizeof(m->name), "%s", c->peer->name);
    return 0;
}

static int put_pairing_message(jn_http *http, const char *nameplate, const uint8_t *msg, size_t len)
{
    char path[64], *m64 = b64(msg, len);
    json_t *body = m64 ? json_pack("{s:s}", "msg", m64) : NULL;
    int err;

    free(m64);
    if (!body)
        return -ENOMEM;
    snprintf(path, sizeof(path), "/v1/pairings/%s", nameplate);
    err = jn_json_call(http, "PUT", path, body, 0, 0, NULL);
    json_decref(body);
    return err;
}

/* The relay joins the new device for us: an invite, redeemed at once in
 * the joiner's name; its id and token travel to it inside C. */
static int join_for(jn_http *http, const char *name, struct jn_family_identity *id)
{
    char code[32];
    int err = jn_family_invite(http, code, sizeof(code));

    if (!err)
        err = jn_family_join(http, code, name, id);
    return err;
}

struct pairing_walk {
    jn_http *http;
    js_store *store;
    jn_e2e_report_fn report;
    void *user;
    char done[JE_MAX_MEMBERS][JE_NAMEPLATE_DIGITS + 1];
    unsigned n_done;
};

static int step_one_pairing(struct pairing_walk *w, const char *nameplate, struct je_pairing *st)
{
    char path[64];
    json_t *answer = NULL;
    const char *msg_b, *msg_c;
    uint8_t b[JE_PAIR_MSG_MAX], c[JE_PAIR_MSG_MAX], roster[JE_ROSTER_MAX];
    size_t b_len, c_len, roster_len;
    struct je_peer peer;
    struct je_identity self;
    struct jn_family_identity joined;
    uint8_t dev[JE_ID_BYTES];
    int err;

    snprintf(path, sizeof(path), "/v1/pairings/%s", nameplate);
    err = jn_json_call(w->http, "GET", path, NULL, 0, 0, &answer);
    if (err == JN_ERR_NOT_FOUND || err == JN_ERR_FORBIDDEN)
        return je_vault_pairing_delete(w->store, nameplate); /* expired */
    if (err)
        return err;
    msg_b = json_string_value(json_object_get(answer, "msg_b"));
    msg_c = json_string_value(json_object_get(answer, "msg_c"));
    if (!msg_b || msg_c) {
        json_decref(answer);
        return msg_c ? je_vault_pairing_delete(w->store, nameplate) : 0;
    }
    err = unb64(msg_b, b, sizeof(b), &b_len);
    json_decref(answer);
    if (!err)
        err = je_pairing_open_answer(st, b, b_len, &peer);
    if (err) {
        /* The codes differ, or someone changed B: refuse loudly, trust nothing. */
        uint8_t f[8];
        size_t fl = je_pairing_refusal(f);
        put_pairing_message(w->http, nameplate, f, fl);
        je_vault_pairing_delete(w->store, nameplate);
        if (w->report)
            w->report(w->user, nameplate, NULL, JE_ERR_CODE_MISMATCH);
        return 0;
    }
    err = je_vault_identity(w->store, &self);
    if (!err)
        err = join_for(w->http, peer.name, &joined);
    if (!err)
        err = je_id_parse(joined.device_id, dev) ? JN_ERR_PROTOCOL : 0;
    if (!err) {
        struct confirm cf = {&peer, dev};
        err = change_roster(w->http, w->store, &self, add_member, &cf, roster, &roster_len);
    }
    if (!err)
        err = je_pairing_confirm(st, dev, joined.token, roster, roster_len, c, &c_len);
    if (!err)
        err = put_pairing_message(w->http, nameplate, c, c_len);
    if (!err)
        err = je_vault_pairing_delete(w->store, nameplate);
    if (!err)
        js_contact_put(w->store, joined.device_id, peer.name);
    je_wipe(&self, sizeof(self));
    je_wipe(&joined, sizeof(joined));
    if (!err && w->report)
        w->report(w->user, nameplate, peer.name, 0);
    return err;
}

static int collect_pairing(void *user, const char *key, const struct je_pairing *st)
{
    struct pairing_walk *w = user;

    (void)st;
    if (w->n_done < JE_MAX_MEMBERS)
        snprintf(w->done[w->n_done++], sizeof(w->done[0]), "%.4s", key);
    return 0;
}

int jn_e2e_pairings_step(jn_http *http, js_store *store, jn_e2e_report_fn report, void *user)
{
    struct pairing_walk *w = calloc(1, sizeof(*w));
    int err;

    if (!w)
        return -ENOMEM;
    w->http = http;
    w->store = store;
    w->report = report;
    w->user = user;
    err = je_vault_pairings(store, collect_pairing, w);
    for (unsigned i = 0; err >= 0 && i < w->n_done; i++) {
        struct je_pairing st;
        if (je_vault_pairing_get(store, w->done[i], &st) == 0) {
            err = step_one_pairing(w, w->done[i], &st);
            je_wipe(&st, sizeof(st));
        }
    }
    free(w);
    return err < 0 ? err : 0;
}

/* ---- joining ----------------------------------------------------------------------- */

int jn_e2e_join(jn_http *http, js_store *store, const char *code, const char *name)
{
    char nameplate[JE_NAMEPLATE_DIGITS + 1], path[80], *b64b = NULL;
    struct je_identity self;
    struct je_pairing st;
    json_t *answer = NULL, *body = NULL;
    uint8_t a[JE_PAIR_MSG_MAX];
    size_t a_len;
    const char *claim, *msg_a;
    int err;

    if (strlen(code) != JE_CODE_DIGITS || strspn(code, "0123456789") != JE_CODE_DIGITS)
        return JE_ERR_MALFORMED;
    memcpy(nameplate, code, JE_NAMEPLATE_DIGITS);
    nameplate[JE_NAMEPLATE_DIGITS] = '\0';
    err = je_vault_identity_ensure(store, &self);
    if (err)
        return err;
    snprintf(path, sizeof(path), "/v1/pairings/%s/claim", nameplate);
    err = jn_json_call(http, "POST", path, NULL, 0, 1, &answer);
    if (err)
        goto out;
    claim = json_string_value(json_object_get(answer, "claim"));
    msg_a = json_string_value(json_object_get(answer, "msg_a"));
    if (!claim || strlen(claim) != 64 || unb64(msg_a, a, sizeof(a), &a_len)) {
        err = JN_ERR_PROTOCOL;
        goto out;
    }
    err = je_pairing_answer(code, a, a_len, &self, name, &st, NULL);
    if (err)
        goto out;
    /* Keep the state before sending B: a crash after the relay took B must
     * still let the next sync finish the pairing. */
    err = je_vault_pairing_put(store, JOINER_KEY, &st);
    if (!err)
        err = js_setting_set(store, JS_SETTING_JOIN_NAMEPLATE, nameplate);
    if (!err)
        err = js_setting_set(store, JS_SETTING_JOIN_CLAIM, claim);
    b64b = err ? NULL : b64(st.b, st.b_len);
    if (!err && !b64b)
        err = -ENOMEM;
    if (!err)
        body = json_pack("{s:s,s:s}", "claim", claim, "msg", b64b);
    if (!err && !body)
        err = -ENOMEM;
    snprintf(path, sizeof(path), "/v1/pairings/%s/answer", nameplate);
    if (!err)
        err = jn_json_call(http, "POST", path, body, 0, 0, NULL);
    if (err == JN_ERR_CONFLICT)
        err = 0; /* answered before (a retry): the pairing goes on */
out:
    json_decref(answer);
    json_decref(body);
    free(b64b);
    je_wipe(&self, sizeof(self));
    je_wipe(&st, sizeof(st));
    return err;
}

bool jn_e2e_join_pending(js_store *store)
{
    char buf[16];

    return js_setting_get(store, JS_SETTING_JOIN_NAMEPLATE, buf, sizeof(buf)) > 0;
}

static void forget_join(js_store *store)
{
    je_vault_pairing_delete(store, JOINER_KEY);
    js_setting_set(store, JS_SETTING_JOIN_NAMEPLATE, NULL);
    js_setting_set(store, JS_SETTING_JOIN_CLAIM, NULL);
}

int jn_e2e_join_finish(jn_http *http, js_store *store)
{
    char nameplate[16], claim[80], path[80], token[129], dev_hex[33], fam_hex[33];
    uint8_t c[JE_PAIR_MSG_MAX], roster_bytes[JE_ROSTER_MAX], dev[JE_ID_BYTES];
    size_t c_len, roster_len;
    struct je_pairing st;
    struct je_identity self;
    struct je_roster *r = NULL;
    const struct je_member *me;
    json_t *body, *answer = NULL;
    const char *msg;
    int err;

    if (js_setting_get(store, JS_SETTING_JOIN_NAMEPLATE, nameplate, sizeof(nameplate)) <= 0 ||
        js_setting_get(store, JS_SETTING_JOIN_CLAIM, claim, sizeof(claim)) <= 0)
        return 0;
    body = json_pack("{s:s}", "claim", claim);
    if (!body)
        return -ENOMEM;
    snprintf(path, sizeof(path), "/v1/pairings/%s/result", nameplate);
    err = jn_json_call(http, "POST", path, body, 0, 0, &answer);
    json_decref(body);
    if (err == JN_ERR_NOT_FOUND) {
        forget_join(store); /* expired before the inviter confirmed */
        return JN_ERR_GONE;
    }
    if (err)
        return err;
    msg = json_string_value(json_object_get(answer, "msg"));
    if (!msg) {
        json_decref(answer);
        return JE_ERR_PENDING;
    }
    err = unb64(msg, c, sizeof(c), &c_len);
    json_decref(answer);
    if (!err)
        err = je_vault_pairing_get(store, JOINER_KEY, &st);
    if (!err)
        err =
            je_pairing_finish(&st, c, c_len, dev, token, sizeof(token), roster_bytes, &roster_len);
    je_wipe(&st, sizeof(st));
    if (err == JE_ERR_CODE_MISMATCH || err == JE_ERR_PAIRING_REFUSED || err == JE_ERR_MALFORMED) {
        forget_join(store);
        return err == JE_ERR_MALFORMED ? JE_ERR_CODE_MISMATCH : err;
    }
    if (err)
        return err;
    /* The roster must carry this device, with its own keys, under the id
     * the inviter gave it, and be signed by one of its members. */
    r = malloc(sizeof(*r));
    err = r ? je_roster_parse(roster_bytes, roster_len, r) : -ENOMEM;
    if (!err)
        err = je_roster_accept(NULL, r) == 1 ? 0 : JE_ERR_ROSTER;
    if (!err)
        err = je_vault_identity(store, &self);
    if (!err) {
        me = je_roster_find(r, dev);
        if (!me || memcmp(me->sign_pk, self.sign_pk, 32) || memcmp(me->box_pk, self.box_pk, 32))
            err = JE_ERR_CODE_MISMATCH;
        je_wipe(&self, sizeof(self));
    }
    if (err) {
        forget_join(store);
        free(r);
        return err;
    }
    je_id_hex(dev, dev_hex);
    je_id_hex(r->family_id, fam_hex);
    err = js_setting_set(store, JS_SETTING_FAMILY_ID, fam_hex);
    if (!err)
        err = js_setting_set(store, JS_SETTING_DEVICE_ID, dev_hex);
    if (!err)
        err = js_setting_set(store, JS_SETTING_DEVICE_TOKEN, token);
    if (!err)
        err = je_vault_set_roster(store, roster_bytes, roster_len);
    for (unsigned i = 0; !err && i < r->count; i++) {
        char hex[33];
        je_id_hex(r->members[i].device_id, hex);
        js_contact_put(store, hex, r->members[i].name);
    }
    if (!err)
        forget_join(store);
    sodium_memzero(token, sizeof(token));
    free(r);
    return err;
}

/* ---- removing a device -------------------------------------------------------------- */

struct removal {
    const char *who;
    char device_hex[33];
    char name[JE_NAME_MAX + 1];
    uint8_t self_id[JE_ID_BYTES];
};

static int drop_member(void *user, struct je_roster *r)
{
    struct removal *rm = user;
    const struct je_member *m = je_roster_find_name(r, rm->who);
    unsigned at;

    if (!m)
        return JS_ERR_NOT_FOUND;
    if (!memcmp(m->device_id, rm->self_id, JE_ID_BYTES) || r->count == 1)
        return JS_ERR_INVALID; /* a device does not remove itself this way */
    je_id_hex(m->device_id, rm->device_hex);
    snprintf(rm->name, sizeof(rm->name), "%s", m->name);
    at = (unsigned)(m - r->members);
    memmove(&r->members[at], &r->members[at + 1], (r->count - at - 1) * sizeof(r->members[0]));
    r->count--;
    return 0;
}

int jn_e2e_remove(jn_http *http, js_store *store, const char *who, char *removed_name,
                  size_t name_size, bool *relay_revoked)
{
    struct removal rm = {.who = who};
    struct je_identity self;
    uint8_t bytes[JE_ROSTER_MAX];
    size_t len;
    char path[80];
    int err;

    *relay_revoked = false;
    err = je_vault_identity(store, &self);
    if (!err)
        err = setting_id(store, JS_SETTING_DEVICE_ID, rm.self_id);
    if (!err)
        err = jn_e2e_roster_refresh(http, store);
    if (err >= 0)
        err = change_roster(http, store, &self, drop_member, &rm, bytes, &len);
    je_wipe(&self, sizeof(self));
    if (err)
        return err;
    snprintf(removed_name, name_size, "%s", rm.name);
    js_contact_remove(store, rm.device_hex);
    snprintf(path, sizeof(path), "/v1/devices/%s", rm.device_hex);
    /* The relay's revocation ends the device's token; only the family's
     * keeper may do it for another device. The roster is what keeps it
     * from reading later notes, whether or not this succeeds. */
    if (jn_json_call(http, "DELETE", path, NULL, 0, 0, NULL) == 0)
        *relay_revoked = true;
    return 0;
}
