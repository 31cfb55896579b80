/*
 * What the files of net/e2e share; nothing here leaves the part.
 */
#ifndef JIASHU_NET_E2E_INTERNAL_H
#define JIASHU_NET_E2E_INTERNAL_H

#include <sodium.h>

#include "e2e.h"

#define AEAD_KEY   crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define AEAD_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES

/* KDF(key, label) = HMAC-SHA-512(key, "jiashu v1 " || label)[0..32]. */
void je_kdf(const uint8_t *key, size_t key_len, const char *label, uint8_t out[32]);

static inline void put_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void put_u64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t get_u32le(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}
static inline uint64_t get_u64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

#endif
