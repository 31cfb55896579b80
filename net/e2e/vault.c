/*
 * The device's end-to-end state in its store (store.h, "Blobs"): its keys,
 * the family's roster, pending pairings, what became of received notes, and
 * sealed envelopes waiting for upload. Secret bytes are wiped from every
 * buffer they pass through.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_internal.h"

#define KIND        "e2e"
#define KIND_PAIR   "e2e_pairing"
#define KIND_INBOX  "e2e_inbox"
#define KIND_SEALED "e2e_sealed"

static void free_secret(unsigned char *p, size_t n)
{
    if (p) {
        sodium_memzero(p, n);
        free(p);
    }
}

int je_vault_identity(js_store *store, struct je_identity *out)
{
    unsigned char *data;
    size_t len;
    int err = js_blob_get(store, KIND, "identity", &data, &len);

    if (err == JS_ERR_NOT_FOUND)
        return JE_ERR_NO_KEYS;
    if (err)
        return err;
    if (len != sizeof(*out))
        err = JE_ERR_MALFORMED;
    else
        memcpy(out, data, sizeof(*out));
    free_secret(data, len);
    return err;
}

int je_vault_identity_ensure(js_store *store, struct je_identity *out)
{
    int err = je_vault_identity(store, out);

    if (err != JE_ERR_NO_KEYS)
        return err;
    err = je_identity_generate(out);
    if (!err)
        err = js_blob_put(store, KIND, "identity", out, sizeof(*out));
    return err;
}

int je_vault_roster(js_store *store, struct je_roster *out, uint8_t *bytes, size_t *len)
{
    unsigned char *data;
    size_t n;
    int err = js_blob_get(store, KIND, "roster", &data, &n);

    if (err == JS_ERR_NOT_FOUND)
        return JE_ERR_NO_KEYS;
    if (err)
        return err;
    err = je_roster_parse(data, n, out);
    if (!err && bytes) {
        memcpy(bytes, data, n);
        *len = n;
    }
    free(data);
    return err;
}

int je_vault_set_roster(js_store *store, const uint8_t *bytes, size_t len)
{
    return js_blob_put(store, KIND, "roster", bytes, len);
}

int je_vault_offer_roster(js_store *store, const uint8_t *bytes, size_t len)
{
    struct je_roster *held = malloc(sizeof(*held)), *offered = malloc(sizeof(*offered));
    int err, verdict;

    if (!held || !offered) {
        err = -ENOMEM;
        goto out;
    }
    err = je_roster_parse(bytes, len, offered);
    if (err)
        goto out;
    err = je_vault_roster(store, held, NULL, NULL);
    if (err && err != JE_ERR_NO_KEYS)
        goto out;
    verdict = je_roster_accept(err ? NULL : held, offered);
    err = verdict < 0 ? verdict : 0;
    if (verdict == 1)
        err = je_vault_set_roster(store, bytes, len);
    if (!err)
        err = verdict;
out:
    free(held);
    free(offered);
    return err;
}

bool je_vault_encrypted(js_store *store)
{
    unsigned char *data;
    size_t len;

    if (js_blob_get(store, KIND, "roster", &data, &len) != 0)
        return false;
    free(data);
    return true;
}

int je_vault_pairing_put(js_store *store, const char *key, const struct je_pairing *st)
{
    return js_blob_put(store, KIND_PAIR, key, st, sizeof(*st));
}

int je_vault_pairing_get(js_store *store, const char *key, struct je_pairing *st)
{
    unsigned char *data;
    size_t len;
    int err = js_blob_get(store, KIND_PAIR, key, &data, &len);

    if (err)
        return err;
    if (len != sizeof(*st))
        err = JE_ERR_MALFORMED;
    else
        memcpy(st, data, sizeof(*st));
    free_secret(data, len);
    return err;
}

int je_vault_pairing_delete(js_store *store, const char *key)
{
    return js_blob_delete(store, KIND_PAIR, key);
}

struct pairing_walk {
    je_pairing_fn fn;
    void *user;
};

static int walk_pairing(void *user, const char *key, const unsigned char *data, size_t len)
{
    struct pairing_walk *w = user;
    struct je_pairing st;
    int err;

    if (len != sizeof(st))
        return 0;
    memcpy(&st, data, sizeof(st));
    err = st.role == 1 ? w->fn(w->user, key, &st) : 0;
    sodium_memzero(&st, sizeof(st));
    return err;
}

int je_vault_pairings(js_store *store, je_pairing_fn fn, void *user)
{
    struct pairing_walk w = {fn, user};

    return js_blob_list(store, KIND_PAIR, walk_pairing, &w);
}

int je_vault_inbox_mark(js_store *store, const char *message_id, char what, int reason)
{
    char value[32];
    int n = snprintf(value, sizeof(value), "%c%d", what, reason);

    return js_blob_put(store, KIND_INBOX, message_id, value, (size_t)n);
}

int je_vault_inbox_status(js_store *store, const char *message_id, char *what, int *reason)
{
    unsigned char *data;
    size_t len;
    char value[32] = "";
    int err = js_blob_get(store, KIND_INBOX, message_id, &data, &len);

    if (err)
        return err;
    if (len > 0 && len < sizeof(value))
        memcpy(value, data, len);
    free(data);
    *what = value[0];
    *reason = value[0] ? atoi(value + 1) : 0;
    return 0;
}

int je_vault_sealed_put(js_store *store, const char *message_id, const uint8_t *bytes, size_t len)
{
    return js_blob_put(store, KIND_SEALED, message_id, bytes, len);
}

int je_vault_sealed_get(js_store *store, const char *message_id, uint8_t **bytes, size_t *len)
{
    return js_blob_get(store, KIND_SEALED, message_id, bytes, len);
}

int je_vault_sealed_delete(js_store *store, const char *message_id)
{
    return js_blob_delete(store, KIND_SEALED, message_id);
}
