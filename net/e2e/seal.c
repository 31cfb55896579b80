/*
 * Sealed voice notes (docs/encryption.md, "Voice notes: the envelope"):
 * a fresh content key per note, XChaCha20-Poly1305 over fixed-size chunks
 * whose nonce carries the chunk's number and a last-chunk flag (STREAM),
 * the key wrapped for each recipient with X25519, and an Ed25519 signature
 * over the whole. Chunks sit at fixed places, so a reader can resume or
 * fetch any range, and a writer can seal as the note is recorded.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_internal.h"

static const char note_context[] = "jiashu note v1";
static const char receipt_context[] = "jiashu receipt v1";

struct je_sealer {
    uint8_t key[AEAD_KEY];
    uint8_t nonce_prefix[16];
    uint8_t header_hash[32];
    uint64_t counter;
    uint32_t chunk_size;
    bool ended;
    crypto_hash_sha512_state hash; /* header || chunks, for the signature */
    const struct je_identity *sender;
    je_sink_fn sink;
    void *user;
    uint8_t *buf; /* one ciphertext chunk */
};

uint64_t je_sealed_length(uint64_t note_len, unsigned recipient_count, uint32_t chunk_size)
{
    uint64_t chunks;

    if (!chunk_size)
        chunk_size = JE_CHUNK_SIZE;
    chunks = (note_len + chunk_size - 1) / chunk_size;
    return JE_HEADER_FIXED + (uint64_t)recipient_count * JE_RECIPIENT_BYTES + note_len +
           chunks * JE_TAG_BYTES + JE_SIG_BYTES;
}

static void chunk_nonce(const uint8_t prefix[16], uint64_t counter, bool last,
                        uint8_t nonce[AEAD_NONCE])
{
    memcpy(nonce, prefix, 16);
    for (int i = 0; i < 7; i++)
        nonce[16 + i] = (uint8_t)(counter >> (8 * (6 - i)));
    nonce[23] = last ? 1 : 0;
}

/* kw = KDF(X25519(eph_sk, R) || eph_pk || R, "wrap") */
static int wrap_key(const uint8_t shared[32], const uint8_t eph_pk[32], const uint8_t R[32],
                    uint8_t kw[32])
{
    uint8_t ikm[96];

    memcpy(ikm, shared, 32);
    memcpy(ikm + 32, eph_pk, 32);
    memcpy(ikm + 64, R, 32);
    je_kdf(ikm, sizeof(ikm), "wrap", kw);
    sodium_memzero(ikm, sizeof(ikm));
    return 0;
}

static int wrap_for(const uint8_t content_key[32], const struct je_recipient *r,
                    const uint8_t message_id[16], const uint8_t *eph_fixed,
                    uint8_t out[JE_WRAP_BYTES])
{
    uint8_t eph_sk[32], shared[32], kw[32], ad[32], nonce[AEAD_NONCE] = {0};
    int err = 0;

    if (eph_fixed)
        memcpy(eph_sk, eph_fixed, 32);
    else
        randombytes_buf(eph_sk, 32);
    crypto_scalarmult_base(out, eph_sk);
    if (crypto_scalarmult(shared, eph_sk, r->box_pk) != 0) {
        err = JE_ERR_MALFORMED; /* a recipient key of low order */
        goto out;
    }
    wrap_key(shared, out, r->box_pk, kw);
    memcpy(ad, message_id, 16);
    memcpy(ad + 16, r->device_id, 16);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + 32, NULL, content_key, 32, ad, sizeof(ad),
                                               NULL, nonce, kw);
out:
    sodium_memzero(eph_sk, sizeof(eph_sk));
    sodium_memzero(shared, sizeof(shared));
    sodium_memzero(kw, sizeof(kw));
    return err;
}

static int unwrap(const uint8_t wrapped[JE_WRAP_BYTES], const struct je_identity *self,
                  const uint8_t message_id[16], const uint8_t device_id[16], uint8_t key[32])
{
    uint8_t shared[32], kw[32], ad[32], nonce[AEAD_NONCE] = {0};
    unsigned long long n;
    int err = 0;

    if (crypto_scalarmult(shared, self->box_sk, wrapped) != 0)
        return JE_ERR_NOT_FOR_US;
    wrap_key(shared, wrapped, self->box_pk, kw);
    memcpy(ad, message_id, 16);
    memcpy(ad + 16, device_id, 16);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(key, &n, NULL, wrapped + 32, 48, ad, sizeof(ad),
                                                   nonce, kw) != 0 ||
        n != 32)
        err = JE_ERR_NOT_FOR_US;
    sodium_memzero(shared, sizeof(shared));
    sodium_memzero(kw, sizeof(kw));
    return err;
}

int je_sealer_create(const struct je_seal_params *p, je_sink_fn sink, void *user, je_sealer **out)
{
    uint32_t chunk = p->chunk_size ? p->chunk_size : JE_CHUNK_SIZE;
    size_t hlen = JE_HEADER_FIXED + (size_t)p->recipient_count * JE_RECIPIENT_BYTES, at = 0;
    const uint8_t *fixed = p->fixed_random;
    uint8_t *header = NULL, full[64];
    je_sealer *s;
    int err;

    *out = NULL;
    if (je_init() < 0)
        return JE_ERR_CRYPTO;
    if (p->recipient_count == 0 || p->recipient_count > JE_MAX_MEMBERS || chunk < JE_CHUNK_MIN ||
        chunk > JE_CHUNK_MAX || !p->sender)
        return JE_ERR_MALFORMED;
    s = sodium_malloc(sizeof(*s));
    if (!s)
        return -ENOMEM;
    memset(s, 0, sizeof(*s));
    s->buf = malloc(chunk + JE_TAG_BYTES);
    header = malloc(hlen);
    if (!s->buf || !header) {
        err = -ENOMEM;
        goto error;
    }
    s->chunk_size = chunk;
    s->sender = p->sender;
    s->sink = sink;
    s->user = user;
    if (fixed) {
        memcpy(s->key, fixed, 32);
        memcpy(s->nonce_prefix, fixed + 32, 16);
    } else {
        crypto_aead_xchacha20poly1305_ietf_keygen(s->key);
        randombytes_buf(s->nonce_prefix, 16);
    }
    memcpy(header, "JSE1", 4);
    header[4] = 1; /* kind: voice note */
    put_u32le(header + 5, chunk);
    at = 9;
    memcpy(header + at, p->message_id, 16);
    at += 16;
    memcpy(header + at, p->family_id, 16);
    at += 16;
    memcpy(header + at, p->sender_device_id, 16);
    at += 16;
    memcpy(header + at, p->sender->sign_pk, 32);
    at += 32;
    put_u64le(header + at, p->created_ms);
    at += 8;
    memcpy(header + at, s->nonce_prefix, 16);
    at += 16;
    header[at++] = (uint8_t)p->recipient_count;
    for (unsigned i = 0; i < p->recipient_count; i++) {
        memcpy(header + at, p->recipients[i].device_id, 16);
        err = wrap_for(s->key, &p->recipients[i], p->message_id, fixed ? fixed + 48 + 32 * i : NULL,
                       header + at + 16);
        if (err)
            goto error;
        at += JE_RECIPIENT_BYTES;
    }
    crypto_hash_sha512(full, header, hlen);
    memcpy(s->header_hash, full, 32);
    crypto_hash_sha512_init(&s->hash);
    crypto_hash_sha512_update(&s->hash, header, hlen);
    err = sink(user, header, hlen);
    if (err)
        goto error;
    free(header);
    *out = s;
    return 0;

error:
    free(header);
    je_sealer_destroy(s);
    return err;
}

int je_sealer_chunk(je_sealer *s, const uint8_t *note, size_t len, bool last)
{
    uint8_t nonce[AEAD_NONCE];

    if (s->ended || len == 0 || len > s->chunk_size || (!last && len != s->chunk_size) ||
        s->counter >= (1ull << 56))
        return JE_ERR_MALFORMED;
    chunk_nonce(s->nonce_prefix, s->counter, last, nonce);
    crypto_aead_xchacha20poly1305_ietf_encrypt(s->buf, NULL, note, len, s->header_hash, 32, NULL,
                                               nonce, s->key);
    crypto_hash_sha512_update(&s->hash, s->buf, len + JE_TAG_BYTES);
    s->counter++;
    s->ended = last;
    return s->sink(s->user, s->buf, len + JE_TAG_BYTES);
}

int je_sealer_finish(je_sealer *s)
{
    uint8_t digest[64], msg[sizeof(note_context) - 1 + 64], sig[64];

    if (!s->ended)
        return JE_ERR_MALFORMED;
    crypto_hash_sha512_final(&s->hash, digest);
    memcpy(msg, note_context, sizeof(note_context) - 1);
    memcpy(msg + sizeof(note_context) - 1, digest, 64);
    crypto_sign_detached(sig, NULL, msg, sizeof(msg), s->sender->sign_sk);
    return s->sink(s->user, sig, sizeof(sig));
}

void je_sealer_destroy(je_sealer *s)
{
    if (!s)
        return;
    free(s->buf);
    sodium_free(s); /* wipes the content key */
}

struct growing {
    uint8_t *data;
    size_t len, cap;
};

static int append(void *user, const uint8_t *bytes, size_t len)
{
    struct growing *g = user;

    if (g->len + len > g->cap)
        return -EOVERFLOW;
    memcpy(g->data + g->len, bytes, len);
    g->len += len;
    return 0;
}

int je_seal(const struct je_seal_params *params, const uint8_t *note, size_t note_len,
            uint8_t **out, size_t *out_len)
{
    uint32_t chunk = params->chunk_size ? params->chunk_size : JE_CHUNK_SIZE;
    struct growing g = {0};
    je_sealer *s = NULL;
    int err;

    *out = NULL;
    *out_len = 0;
    if (note_len == 0)
        return JE_ERR_MALFORMED;
    g.cap = (size_t)je_sealed_length(note_len, params->recipient_count, chunk);
    g.data = malloc(g.cap);
    if (!g.data)
        return -ENOMEM;
    err = je_sealer_create(params, append, &g, &s);
    for (size_t at = 0; !err && at < note_len; at += chunk) {
        size_t n = note_len - at > chunk ? chunk : note_len - at;
        err = je_sealer_chunk(s, note + at, n, at + n == note_len);
    }
    if (!err)
        err = je_sealer_finish(s);
    je_sealer_destroy(s);
    if (err) {
        free(g.data);
        return err;
    }
    *out = g.data;
    *out_len = g.len;
    return 0;
}

bool je_is_sealed(const uint8_t *bytes, size_t len)
{
    return len >= 4 && !memcmp(bytes, "JSE1", 4);
}

int je_open(const struct je_open_params *p, const uint8_t *sealed, size_t len, uint8_t **out,
            size_t *out_len, struct je_open_info *info)
{
    const uint8_t *message_id, *family_id, *sender_id, *sender_pk, *prefix;
    const struct je_member *sender;
    uint8_t key[AEAD_KEY], full[64], digest[64], nonce[AEAD_NONCE];
    uint8_t msg[sizeof(note_context) - 1 + 64];
    uint32_t chunk;
    uint64_t body, n, stride;
    size_t hlen, count, at, plain_at = 0;
    uint8_t *plain = NULL;
    int err = JE_ERR_NOT_FOR_US;

    *out = NULL;
    *out_len = 0;
    if (je_init() < 0)
        return JE_ERR_CRYPTO;
    /* 1. The header parses and the sizes add up. */
    if (len < JE_HEADER_FIXED || !je_is_sealed(sealed, len) || sealed[4] != 1)
        return JE_ERR_MALFORMED;
    chunk = get_u32le(sealed + 5);
    count = sealed[JE_HEADER_FIXED - 1];
    if (chunk < JE_CHUNK_MIN || chunk > JE_CHUNK_MAX || count == 0 || count > JE_MAX_MEMBERS)
        return JE_ERR_MALFORMED;
    hlen = JE_HEADER_FIXED + count * JE_RECIPIENT_BYTES;
    if (len < hlen + JE_TAG_BYTES + 1 + JE_SIG_BYTES)
        return JE_ERR_MALFORMED;
    body = len - hlen - JE_SIG_BYTES;
    stride = (uint64_t)chunk + JE_TAG_BYTES;
    n = (body + stride - 1) / stride;
    if (body - (n - 1) * stride <= JE_TAG_BYTES)
        return JE_ERR_CHUNK; /* the last chunk is cut to nothing */
    message_id = sealed + 9;
    family_id = sealed + 25;
    sender_id = sealed + 41;
    sender_pk = sealed + 57;
    prefix = sealed + 97;
    /* 2. Ours: this family, the id the relay listed, a member's key. */
    if (memcmp(family_id, p->roster->family_id, 16) || memcmp(message_id, p->expect_message_id, 16))
        return JE_ERR_REPLAYED;
    sender = je_roster_find(p->roster, sender_id);
    if (!sender || memcmp(sender->sign_pk, sender_pk, 32))
        return JE_ERR_NOT_MEMBER;
    /* 3. The signature, over the header and every chunk. */
    crypto_hash_sha512(digest, sealed, len - JE_SIG_BYTES);
    memcpy(msg, note_context, sizeof(note_context) - 1);
    memcpy(msg + sizeof(note_context) - 1, digest, 64);
    if (crypto_sign_verify_detached(sealed + len - JE_SIG_BYTES, msg, sizeof(msg), sender_pk) != 0)
        return JE_ERR_SIGNATURE;
    /* 4. A content key wrapped for this device. */
    for (size_t i = 0; i < count; i++) {
        const uint8_t *r = sealed + JE_HEADER_FIXED + i * JE_RECIPIENT_BYTES;
        if (!memcmp(r, p->self_device_id, 16)) {
            err = unwrap(r + 16, p->self, message_id, p->self_device_id, key);
            break;
        }
    }
    if (err)
        return err;
    /* 5. Every chunk, in order, the last one flagged last. */
    crypto_hash_sha512(full, sealed, hlen);
    plain = malloc((size_t)(body - n * JE_TAG_BYTES));
    if (!plain) {
        err = -ENOMEM;
        goto out;
    }
    at = hlen;
    for (uint64_t i = 0; i < n; i++) {
        size_t clen = (size_t)(i + 1 < n ? stride : body - (n - 1) * stride);
        unsigned long long got;

        chunk_nonce(prefix, i, i + 1 == n, nonce);
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain + plain_at, &got, NULL, sealed + at,
                                                       clen, full, 32, nonce, key) != 0) {
            err = JE_ERR_CHUNK;
            goto out;
        }
        at += clen;
        plain_at += (size_t)got;
    }
    if (info) {
        memcpy(info->sender_device_id, sender_id, 16);
        info->created_ms = get_u64le(sealed + 89);
        info->chunks = (unsigned)n;
    }
    *out = plain;
    *out_len = plain_at;
    plain = NULL;
    err = 0;
out:
    if (plain) {
        sodium_memzero(plain, plain_at);
        free(plain);
    }
    sodium_memzero(key, sizeof(key));
    return err;
}

/* ---- receipts --------------------------------------------------------------- */

static void receipt_message(const uint8_t message_id[16], const uint8_t family_id[16],
                            const uint8_t device_id[16], enum je_receipt_state state,
                            uint8_t msg[sizeof(receipt_context) - 1 + 49])
{
    size_t at = sizeof(receipt_context) - 1;

    memcpy(msg, receipt_context, at);
    memcpy(msg + at, message_id, 16);
    memcpy(msg + at + 16, family_id, 16);
    memcpy(msg + at + 32, device_id, 16);
    msg[at + 48] = (uint8_t)state;
}

int je_receipt_sign(const struct je_identity *self, const uint8_t message_id[JE_ID_BYTES],
                    const uint8_t family_id[JE_ID_BYTES], const uint8_t device_id[JE_ID_BYTES],
                    enum je_receipt_state state, uint8_t sig[JE_SIG_BYTES])
{
    uint8_t msg[sizeof(receipt_context) - 1 + 49];

    if (state != JE_RECEIPT_DELIVERED && state != JE_RECEIPT_PLAYED)
        return JE_ERR_MALFORMED;
    receipt_message(message_id, family_id, device_id, state, msg);
    crypto_sign_detached(sig, NULL, msg, sizeof(msg), self->sign_sk);
    return 0;
}

int je_receipt_verify(const uint8_t sign_pk[JE_SIGN_PK_BYTES],
                      const uint8_t message_id[JE_ID_BYTES], const uint8_t family_id[JE_ID_BYTES],
                      const uint8_t device_id[JE_ID_BYTES], enum je_receipt_state state,
                      const uint8_t sig[JE_SIG_BYTES])
{
    uint8_t msg[sizeof(receipt_context) - 1 + 49];

    if (state != JE_RECEIPT_DELIVERED && state != JE_RECEIPT_PLAYED)
        return JE_ERR_RECEIPT;
    receipt_message(message_id, family_id, device_id, state, msg);
    return crypto_sign_verify_detached(sig, msg, sizeof(msg), sign_pk) == 0 ? 0 : JE_ERR_RECEIPT;
}
