/*
 * CPace on ristretto255 with SHA-512 (draft-irtf-cfrg-cpace, cipher suite
 * CPACE-RISTR255-SHA512) and the three pairing messages built on it
 * (docs/encryption.md, "Pairing"). tests/e2e/test_cpace.c checks the
 * pieces against the draft's published test vectors.
 */
#include <string.h>

#include "e2e_internal.h"

static const char dsi[] = "CPaceRistretto255";
static const char dsi_isk[] = "CPaceRistretto255_ISK";
static const char pairing_ci[] = "jiashu pairing v1";
static const char ad_inviter[] = "inviter";
static const char ad_joiner[] = "joiner";

#define PAIR_MAGIC 0x4a535031u /* "JSP1" */

size_t je_lv_put(uint8_t *out, size_t at, const uint8_t *field, size_t len)
{
    size_t n = len;

    /* LEB128, as the draft's prepend_len(). */
    do {
        uint8_t b = n & 0x7f;
        n >>= 7;
        out[at++] = n ? (uint8_t)(b | 0x80) : b;
    } while (n);
    if (len)
        memcpy(out + at, field, len);
    return at + len;
}

/* Reads one LEB128-prefixed field of at most max bytes; 0 or JE_ERR_MALFORMED. */
static int lv_get(const uint8_t *in, size_t len, size_t *at, const uint8_t **field,
                  size_t *field_len, size_t max)
{
    size_t n = 0, shift = 0;

    for (;;) {
        if (*at >= len || shift > 21)
            return JE_ERR_MALFORMED;
        uint8_t b = in[(*at)++];
        n |= (size_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80))
            break;
    }
    if (n > max || n > len - *at)
        return JE_ERR_MALFORMED;
    *field = in + *at;
    *field_len = n;
    *at += n;
    return 0;
}

int je_cpace_generator(const uint8_t *prs, size_t prs_len, const uint8_t *ci, size_t ci_len,
                       const uint8_t *sid, size_t sid_len, uint8_t g[32])
{
    uint8_t buf[512], zpad[128] = {0}, hash[64];
    size_t at = 0, dsi_len = sizeof(dsi) - 1, zlen;
    long pad;

    if (prs_len > 100 || ci_len > 100 || sid_len > 100)
        return JE_ERR_MALFORMED;
    /* len_zpad = max(0, s_in_bytes - 1 - len(prepend_len(PRS)) - len(prepend_len(DSI))) */
    pad = 128 - 1 - (long)(prs_len + 1) - (long)(dsi_len + 1);
    zlen = pad > 0 ? (size_t)pad : 0;
    at = je_lv_put(buf, at, (const uint8_t *)dsi, dsi_len);
    at = je_lv_put(buf, at, prs, prs_len);
    at = je_lv_put(buf, at, zpad, zlen);
    at = je_lv_put(buf, at, ci, ci_len);
    at = je_lv_put(buf, at, sid, sid_len);
    crypto_hash_sha512(hash, buf, at);
    crypto_core_ristretto255_from_hash(g, hash);
    sodium_memzero(buf, sizeof(buf));
    sodium_memzero(hash, sizeof(hash));
    return 0;
}

int je_cpace_public(const uint8_t y[32], const uint8_t g[32], uint8_t Y[32])
{
    return crypto_scalarmult_ristretto255(Y, y, g) == 0 ? 0 : JE_ERR_MALFORMED;
}

int je_cpace_isk(const uint8_t y[32], const uint8_t Y_other[32], const uint8_t *sid, size_t sid_len,
                 const uint8_t *msga, size_t msga_len, const uint8_t *msgb, size_t msgb_len,
                 uint8_t isk[64])
{
    crypto_hash_sha512_state st;
    uint8_t K[32], head[256];
    size_t at = 0;

    if (sid_len > 100)
        return JE_ERR_MALFORMED;
    /* scalar_mult_vfy: fails for an encoding that does not decode and for
     * the identity (libsodium refuses both). */
    if (!crypto_core_ristretto255_is_valid_point(Y_other) ||
        crypto_scalarmult_ristretto255(K, y, Y_other) != 0)
        return JE_ERR_MALFORMED;
    at = je_lv_put(head, at, (const uint8_t *)dsi_isk, sizeof(dsi_isk) - 1);
    at = je_lv_put(head, at, sid, sid_len);
    at = je_lv_put(head, at, K, sizeof(K));
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, head, at);
    crypto_hash_sha512_update(&st, msga, msga_len);
    crypto_hash_sha512_update(&st, msgb, msgb_len);
    crypto_hash_sha512_final(&st, isk);
    sodium_memzero(K, sizeof(K));
    sodium_memzero(head, sizeof(head));
    return 0;
}

/* ---- the pairing messages ----------------------------------------------------- */

static bool code_ok(const char *code)
{
    if (!code || strlen(code) != JE_CODE_DIGITS)
        return false;
    for (int i = 0; i < JE_CODE_DIGITS; i++)
        if (code[i] < '0' || code[i] > '9')
            return false;
    return true;
}

int je_pairing_new_code(char code[JE_CODE_DIGITS + 1])
{
    if (je_init() < 0)
        return JE_ERR_CRYPTO;
    for (int i = 0; i < JE_CODE_DIGITS; i++)
        code[i] = (char)('0' + randombytes_uniform(10));
    code[JE_CODE_DIGITS] = '\0';
    return 0;
}

static void random_scalar(uint8_t s[32], const uint8_t *fixed)
{
    if (fixed)
        memcpy(s, fixed, 32);
    else
        randombytes_buf(s, 32);
    /* The draft's sample_scalar(): clear the bits above group_size_bits (252). */
    s[31] &= 0x0f;
}

static void put_magic(uint8_t *p, uint8_t type)
{
    memcpy(p, "JSP1", 4);
    p[4] = type;
}

static bool has_magic(const uint8_t *p, size_t len, uint8_t type)
{
    return len >= 5 && !memcmp(p, "JSP1", 4) && p[4] == type;
}

/* MSGx = prefix_free_cat(Y, AD). */
static size_t cpace_msg(uint8_t *out, const uint8_t Y[32], const char *ad)
{
    size_t at = je_lv_put(out, 0, Y, 32);
    return je_lv_put(out, at, (const uint8_t *)ad, strlen(ad));
}

/* Parses MSGx at in[*at]: Y and an AD equal to expect_ad. */
static int cpace_msg_parse(const uint8_t *in, size_t len, size_t *at, uint8_t Y[32],
                           const char *expect_ad)
{
    const uint8_t *f;
    size_t flen;

    if (lv_get(in, len, at, &f, &flen, 32) || flen != 32)
        return JE_ERR_MALFORMED;
    memcpy(Y, f, 32);
    if (lv_get(in, len, at, &f, &flen, 64) || flen != strlen(expect_ad) ||
        memcmp(f, expect_ad, flen))
        return JE_ERR_MALFORMED;
    return 0;
}

int je_pairing_start(const char *code, struct je_pairing *st, const uint8_t *fixed)
{
    uint8_t g[32], Y[32];
    size_t at;
    int err;

    if (je_init() < 0)
        return JE_ERR_CRYPTO;
    if (!code_ok(code))
        return JE_ERR_MALFORMED;
    memset(st, 0, sizeof(*st));
    st->magic = PAIR_MAGIC;
    st->role = 1;
    memcpy(st->code, code, JE_CODE_DIGITS + 1);
    if (fixed)
        memcpy(st->sid, fixed, 16);
    else
        randombytes_buf(st->sid, 16);
    random_scalar(st->scalar, fixed ? fixed + 16 : NULL);
    err = je_cpace_generator((const uint8_t *)code, JE_CODE_DIGITS, (const uint8_t *)pairing_ci,
                             sizeof(pairing_ci) - 1, st->sid, 16, g);
    if (!err)
        err = je_cpace_public(st->scalar, g, Y);
    if (err)
        goto out;
    put_magic(st->a, 1);
    memcpy(st->a + 5, st->sid, 16);
    at = 21 + cpace_msg(st->a + 21, Y, ad_inviter);
    st->a_len = (uint16_t)at;
out:
    sodium_memzero(g, sizeof(g));
    return err;
}

/* The A || "JSP1" 0x02 || MSGb prefix of B is what box_b authenticates. */
int je_pairing_answer(const char *code, const uint8_t *a, size_t a_len,
                      const struct je_identity *self, const char *name, struct je_pairing *st,
                      const uint8_t *fixed)
{
    uint8_t g[32], Ya[32], Yb[32], k[32], nonce[AEAD_NONCE] = {0}, plain[32 + 32 + 1 + JE_NAME_MAX];
    uint8_t ad[128 + 64];
    size_t at = 21, msgb_at, msgb_len, name_len = name ? strlen(name) : 0, plain_len;
    int err;

    if (je_init() < 0)
        return JE_ERR_CRYPTO;
    if (!code_ok(code) || name_len == 0 || name_len > JE_NAME_MAX)
        return JE_ERR_MALFORMED;
    if (a_len > sizeof(st->a) || !has_magic(a, a_len, 1) || a_len < 21)
        return JE_ERR_MALFORMED;
    memset(st, 0, sizeof(*st));
    st->magic = PAIR_MAGIC;
    st->role = 2;
    memcpy(st->code, code, JE_CODE_DIGITS + 1);
    memcpy(st->sid, a + 5, 16);
    err = cpace_msg_parse(a, a_len, &at, Ya, ad_inviter);
    if (!err && at != a_len)
        err = JE_ERR_MALFORMED;
    if (err)
        return err;
    memcpy(st->a, a, a_len);
    st->a_len = (uint16_t)a_len;
    random_scalar(st->scalar, fixed);
    err = je_cpace_generator((const uint8_t *)code, JE_CODE_DIGITS, (const uint8_t *)pairing_ci,
                             sizeof(pairing_ci) - 1, st->sid, 16, g);
    if (!err)
        err = je_cpace_public(st->scalar, g, Yb);
    if (err)
        goto out;
    put_magic(st->b, 2);
    msgb_at = 5;
    msgb_len = cpace_msg(st->b + msgb_at, Yb, ad_joiner);
    err = je_cpace_isk(st->scalar, Ya, st->sid, 16, a + 21, a_len - 21, st->b + msgb_at, msgb_len,
                       st->isk);
    if (err)
        goto out;
    memcpy(plain, self->sign_pk, 32);
    memcpy(plain + 32, self->box_pk, 32);
    plain[64] = (uint8_t)name_len;
    memcpy(plain + 65, name, name_len);
    plain_len = 65 + name_len;
    memcpy(ad, a, a_len);
    memcpy(ad + a_len, st->b, msgb_at + msgb_len);
    je_kdf(st->isk, 64, "pair joiner", k);
    crypto_aead_xchacha20poly1305_ietf_encrypt(st->b + msgb_at + msgb_len, NULL, plain, plain_len,
                                               ad, a_len + msgb_at + msgb_len, NULL, nonce, k);
    st->b_len = (uint16_t)(msgb_at + msgb_len + plain_len + JE_TAG_BYTES);
out:
    sodium_memzero(k, sizeof(k));
    sodium_memzero(g, sizeof(g));
    return err;
}

int je_pairing_open_answer(struct je_pairing *st, const uint8_t *b, size_t b_len,
                           struct je_peer *peer)
{
    uint8_t Yb[32], k[32], nonce[AEAD_NONCE] = {0}, plain[32 + 32 + 1 + JE_NAME_MAX];
    uint8_t ad[128 + 64];
    unsigned long long plain_len;
    size_t at = 5;
    int err;

    if (st->magic != PAIR_MAGIC || st->role != 1)
        return JE_ERR_MALFORMED;
    if (b_len > sizeof(st->b) || !has_magic(b, b_len, 2))
        return JE_ERR_MALFORMED;
    err = cpace_msg_parse(b, b_len, &at, Yb, ad_joiner);
    if (err)
        return err;
    if (b_len - at < JE_TAG_BYTES + 66 || b_len - at > JE_TAG_BYTES + sizeof(plain))
        return JE_ERR_MALFORMED;
    /* A Yb that does not decode, or the identity, cannot be the peer's. */
    err = je_cpace_isk(st->scalar, Yb, st->sid, 16, st->a + 21, st->a_len - 21u, b + 5, at - 5,
                       st->isk);
    if (err)
        return JE_ERR_CODE_MISMATCH;
    memcpy(ad, st->a, st->a_len);
    memcpy(ad + st->a_len, b, at);
    je_kdf(st->isk, 64, "pair joiner", k);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plain_len, NULL, b + at, b_len - at, ad,
                                                   st->a_len + at, nonce, k) != 0) {
        err = JE_ERR_CODE_MISMATCH;
        goto out;
    }
    if (plain_len < 66 || plain[64] == 0 || plain_len != 65u + plain[64] ||
        plain[64] > JE_NAME_MAX) {
        err = JE_ERR_MALFORMED;
        goto out;
    }
    memcpy(peer->sign_pk, plain, 32);
    memcpy(peer->box_pk, plain + 32, 32);
    memcpy(peer->name, plain + 65, plain[64]);
    peer->name[plain[64]] = '\0';
    memcpy(st->b, b, b_len);
    st->b_len = (uint16_t)b_len;
    memcpy(st->peer_name, peer->name, sizeof(st->peer_name));
out:
    sodium_memzero(k, sizeof(k));
    return err;
}

int je_pairing_confirm(const struct je_pairing *st, const uint8_t device_id[JE_ID_BYTES],
                       const char *token, const uint8_t *roster, size_t roster_len, uint8_t *out,
                       size_t *len)
{
    uint8_t k[32], nonce[AEAD_NONCE] = {0}, plain[JE_PAIR_MSG_MAX], ad[128 + 512 + 5];
    size_t tlen = token ? strlen(token) : 0, plain_len, ad_len;

    if (st->magic != PAIR_MAGIC || st->role != 1 || !st->b_len)
        return JE_ERR_MALFORMED;
    if (tlen == 0 || tlen > 128 || 16 + 1 + tlen + roster_len + 5 + JE_TAG_BYTES > JE_PAIR_MSG_MAX)
        return JE_ERR_MALFORMED;
    memcpy(plain, device_id, 16);
    plain[16] = (uint8_t)tlen;
    memcpy(plain + 17, token, tlen);
    memcpy(plain + 17 + tlen, roster, roster_len);
    plain_len = 17 + tlen + roster_len;
    memcpy(ad, st->a, st->a_len);
    memcpy(ad + st->a_len, st->b, st->b_len);
    put_magic(ad + st->a_len + st->b_len, 3);
    ad_len = st->a_len + st->b_len + 5u;
    put_magic(out, 3);
    je_kdf(st->isk, 64, "pair inviter", k);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + 5, NULL, plain, plain_len, ad, ad_len, NULL,
                                               nonce, k);
    *len = 5 + plain_len + JE_TAG_BYTES;
    sodium_memzero(k, sizeof(k));
    sodium_memzero(plain, sizeof(plain));
    return 0;
}

size_t je_pairing_refusal(uint8_t out[8])
{
    put_magic(out, 4);
    return 5;
}

int je_pairing_finish(const struct je_pairing *st, const uint8_t *c, size_t c_len,
                      uint8_t device_id[JE_ID_BYTES], char *token, size_t token_size,
                      uint8_t *roster, size_t *roster_len)
{
    uint8_t k[32], nonce[AEAD_NONCE] = {0}, plain[JE_PAIR_MSG_MAX], ad[128 + 512 + 5];
    unsigned long long plain_len;
    size_t ad_len, tlen;
    int err = 0;

    if (st->magic != PAIR_MAGIC || st->role != 2)
        return JE_ERR_MALFORMED;
    if (c_len == 5 && has_magic(c, c_len, 4))
        return JE_ERR_PAIRING_REFUSED;
    if (!has_magic(c, c_len, 3) || c_len < 5 + JE_TAG_BYTES + 17 || c_len > JE_PAIR_MSG_MAX)
        return JE_ERR_MALFORMED;
    memcpy(ad, st->a, st->a_len);
    memcpy(ad + st->a_len, st->b, st->b_len);
    put_magic(ad + st->a_len + st->b_len, 3);
    ad_len = st->a_len + st->b_len + 5u;
    je_kdf(st->isk, 64, "pair inviter", k);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plain_len, NULL, c + 5, c_len - 5, ad,
                                                   ad_len, nonce, k) != 0) {
        err = JE_ERR_CODE_MISMATCH;
        goto out;
    }
    tlen = plain[16];
    if (tlen == 0 || tlen + 1 > token_size || 17 + tlen > plain_len ||
        plain_len - 17 - tlen > JE_ROSTER_MAX) {
        err = JE_ERR_MALFORMED;
        goto out;
    }
    for (size_t i = 0; i < tlen; i++)
        if (plain[17 + i] < 0x21 || plain[17 + i] > 0x7e) {
            err = JE_ERR_MALFORMED;
            goto out;
        }
    memcpy(device_id, plain, 16);
    memcpy(token, plain + 17, tlen);
    token[tlen] = '\0';
    *roster_len = (size_t)plain_len - 17 - tlen;
    memcpy(roster, plain + 17 + tlen, *roster_len);
out:
    sodium_memzero(k, sizeof(k));
    sodium_memzero(plain, sizeof(plain));
    return err;
}
