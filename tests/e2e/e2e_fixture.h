/*
 * Deterministic keys and a small family for the e2e tests, the vector
 * generator and the fuzz target: every key comes from a seed, so the bytes
 * they make are the same on every machine (docs/encryption.md, "Test vectors").
 */
#ifndef JIASHU_TESTS_E2E_FIXTURE_H
#define JIASHU_TESTS_E2E_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "net/e2e/e2e.h"

/* Device n's keys: Ed25519 from seed (n, 1, 1, ...), X25519 secret (2, n, 2, 2, ...). */
static inline void fixture_identity(unsigned n, struct je_identity *id)
{
    uint8_t seed[32];

    memset(seed, 1, sizeof(seed));
    seed[0] = (uint8_t)n;
    crypto_sign_seed_keypair(id->sign_pk, id->sign_sk, seed);
    memset(id->box_sk, 2, sizeof(id->box_sk));
    id->box_sk[1] = (uint8_t)n; /* byte 0 loses its low bits to clamping */
    crypto_scalarmult_base(id->box_pk, id->box_sk);
}

static inline void fixture_id(unsigned n, uint8_t id[JE_ID_BYTES])
{
    for (int i = 0; i < JE_ID_BYTES; i++)
        id[i] = (uint8_t)(0x10 * n + i);
}

static const char *const fixture_names[] = {"", "mama", "nainai", "baba", "school"};

/* A roster of devices 1..count (version, family 9), signed by device signer. */
static inline size_t fixture_roster(unsigned count, uint64_t version, unsigned signer,
                                    struct je_roster *r, uint8_t *bytes)
{
    struct je_identity who;
    size_t len = 0;

    memset(r, 0, sizeof(*r));
    r->version = version;
    fixture_id(9, r->family_id);
    r->count = count;
    for (unsigned i = 0; i < count; i++) {
        struct je_identity id;
        fixture_identity(i + 1, &id);
        fixture_id(i + 1, r->members[i].device_id);
        memcpy(r->members[i].sign_pk, id.sign_pk, 32);
        memcpy(r->members[i].box_pk, id.box_pk, 32);
        snprintf(r->members[i].name, sizeof(r->members[i].name), "%s", fixture_names[(i % 4) + 1]);
    }
    fixture_identity(signer, &who);
    if (je_roster_sign(r, &who, bytes, &len))
        abort();
    return len;
}

/* The fixed randomness of a sealed note: key, nonce prefix, ephemeral keys. */
static inline void fixture_random(uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(0xa0 + i * 7);
}

#endif
