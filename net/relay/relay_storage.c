/*
 * What both storage backends decide alike, whatever their database: the
 * order of a PATCH's transaction and a roster's compare-and-swap. Each
 * backend hands its own steps (relay_storage_steps); the decisions between
 * them are written once, here.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "relay_storage.h"

void relay_upload_read_recipients(struct relay_upload *u, const char *list)
{
    const char *r = list;
    while (r && *r && u->n_recipients < RELAY_MAX_RECIPIENTS) {
        size_t n = strcspn(r, ",");
        if (n == RELAY_ID_LEN) {
            memcpy(u->recipients[u->n_recipients], r, n);
            u->recipients[u->n_recipients++][n] = '\0';
        }
        r += n;
        if (*r == ',')
            r++;
    }
}

int relay_storage_upload_write(struct relay_storage *s, const char *upload_id, uint64_t offset,
                               const void *data, size_t len, int64_t now, struct relay_upload *u)
{
    const struct relay_storage_steps *steps = s->steps;
    int err = steps->begin(s);
    if (err < 0)
        return err;
    if ((err = steps->upload_fetch(s, upload_id, u)) < 0)
        goto error_tx;
    if (u->completed || offset != u->offset) {
        err = -ESTALE;
        goto error_tx;
    }
    int completed = steps->upload_append(s, u, offset, data, len, now);
    if (completed == -EBADMSG) {
        /* The bytes are not the message declared: keeping them would only
         * let the sender resume into the same wrong note. */
        steps->rollback(s);
        err = steps->upload_drop(s, upload_id);
        return err < 0 ? err : -EBADMSG;
    }
    if (completed < 0) {
        err = completed;
        goto error_tx;
    }
    if ((err = steps->commit(s)) < 0)
        return err;
    return completed;

error_tx:
    steps->rollback(s);
    return err;
}

/* Whether the roster held (found: 0, or -ENOENT) is the one the writer
 * expects to replace: 0, or -ESTALE. */
static int roster_expected(int found, const void *held, size_t held_len, const uint8_t expect[32])
{
    if (found == -ENOENT)
        return expect ? -ESTALE : 0;
    if (found < 0)
        return found;
    uint8_t sum[32];
    unsigned n = 32;
    EVP_Digest(held, held_len, sum, &n, EVP_sha256(), NULL);
    return expect && CRYPTO_memcmp(sum, expect, 32) == 0 ? 0 : -ESTALE;
}

int relay_storage_roster_put(struct relay_storage *s, const char *family_id, const void *data,
                             size_t len, const uint8_t expect[32])
{
    const struct relay_storage_steps *steps = s->steps;
    void *held = NULL;
    size_t held_len = 0;
    int err = steps->begin(s);
    if (err < 0)
        return err;
    /* Read first, apart: roster_expected's arguments must see what it read. */
    int found = steps->roster_read(s, family_id, &held, &held_len);
    err = roster_expected(found, held, held_len, expect);
    free(held);
    if (err == 0)
        err = steps->roster_write(s, family_id, data, len);
    if (err < 0) {
        steps->rollback(s);
        return err;
    }
    return steps->commit(s);
}
