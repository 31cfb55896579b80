/*
 * Start-up, identifiers, device keys and the one KDF.
 */
#include <string.h>

#include "e2e_internal.h"

int je_init(void)
{
    return sodium_init() < 0 ? JE_ERR_CRYPTO : 0;
}

void je_wipe(void *p, size_t n)
{
    if (p && n)
        sodium_memzero(p, n);
}

void je_kdf(const uint8_t *key, size_t key_len, const char *label, uint8_t out[32])
{
    crypto_auth_hmacsha512_state st;
    uint8_t full[crypto_auth_hmacsha512_BYTES];
    static const char prefix[] = "jiashu v1 ";

    crypto_auth_hmacsha512_init(&st, key, key_len);
    crypto_auth_hmacsha512_update(&st, (const uint8_t *)prefix, sizeof(prefix) - 1);
    crypto_auth_hmacsha512_update(&st, (const uint8_t *)label, strlen(label));
    crypto_auth_hmacsha512_final(&st, full);
    memcpy(out, full, 32);
    sodium_memzero(full, sizeof(full));
    sodium_memzero(&st, sizeof(st));
}

int je_id_parse(const char *text, uint8_t out[JE_ID_BYTES])
{
    size_t n = text ? strlen(text) : 0, got = 0;

    if (n != 32 && n != 36)
        return JE_ERR_MALFORMED;
    for (size_t i = 0; i < n;) {
        if (n == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
            if (text[i] != '-')
                return JE_ERR_MALFORMED;
            i++;
            continue;
        }
        int hi = ju_hex_digit((unsigned char)text[i]),
            lo = i + 1 < n ? ju_hex_digit((unsigned char)text[i + 1]) : -1;
        if (hi < 0 || lo < 0 || got == JE_ID_BYTES)
            return JE_ERR_MALFORMED;
        out[got++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    return got == JE_ID_BYTES ? 0 : JE_ERR_MALFORMED;
}

void je_id_hex(const uint8_t id[JE_ID_BYTES], char out[33])
{
    sodium_bin2hex(out, 33, id, JE_ID_BYTES);
}

void je_id_uuid(const uint8_t id[JE_ID_BYTES], char out[37])
{
    char hex[33];
    size_t o = 0;

    je_id_hex(id, hex);
    for (size_t i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20)
            out[o++] = '-';
        out[o++] = hex[i];
    }
    out[o] = '\0';
}

int je_identity_generate(struct je_identity *out)
{
    if (je_init() < 0)
        return JE_ERR_CRYPTO;
    crypto_sign_keypair(out->sign_pk, out->sign_sk);
    crypto_box_keypair(out->box_pk, out->box_sk);
    return 0;
}
