/*
 * jiashu e2e: end-to-end encryption of a family's voice notes (format
 * version 1, docs/encryption.md): each device's keys, the signed member
 * list (roster), pairing by a 10-digit code through CPace on ristretto255,
 * sealed notes (a fresh key per note, XChaCha20-Poly1305 in STREAM chunks,
 * the key wrapped for each recipient with X25519, signed with Ed25519) and
 * signed receipts.
 *
 * What it does not know: HTTP, the relay's routes, audio. The functions on
 * bytes do no I/O at all (the fuzz targets and test vectors call them
 * directly); the je_vault_* functions keep keys, the roster and pairing
 * state in the client's store (store/store.h, "Blobs"), which is the only
 * place a secret key is ever written.
 *
 * Errors follow util/util.h: 0 or a negative code, JE_ERR_* below or a
 * store code; ju_strerror() explains any. Every JE_ERR_* that refuses a
 * message is one sentence a person can read. Secrets handed out (struct
 * je_identity, pairing state) are the caller's to wipe (je_wipe()).
 *
 * Thread rule: call je_init() once before anything else; after that every
 * function may be called from any thread on its own data.
 */
#ifndef JIASHU_NET_E2E_H
#define JIASHU_NET_E2E_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/util.h"

#define JE_API __attribute__((visibility("default")))

enum je_error {
    JE_ERR_MALFORMED = -5001,       /* not a well-formed envelope, roster or pairing message */
    JE_ERR_NOT_MEMBER = -5002,      /* signed by a key that is not a current member's */
    JE_ERR_SIGNATURE = -5003,       /* the signature does not verify */
    JE_ERR_NOT_FOR_US = -5004,      /* no content key was wrapped for this device */
    JE_ERR_CHUNK = -5005,           /* a chunk failed to authenticate: changed, dropped, cut */
    JE_ERR_REPLAYED = -5006,        /* sealed for another family or under another message id */
    JE_ERR_CODE_MISMATCH = -5007,   /* pairing: the codes differ, or a message was changed */
    JE_ERR_ROSTER = -5008,          /* a roster not newer, not signed by a member, not ours */
    JE_ERR_NOT_ENCRYPTED = -5009,   /* a plain note in a family that encrypts */
    JE_ERR_NO_KEYS = -5010,         /* this home has no keys or no roster (an old family) */
    JE_ERR_CRYPTO = -5011,          /* libsodium failed to start */
    JE_ERR_REMOVED = -5012,         /* this device is not in the family's roster */
    JE_ERR_RECEIPT = -5013,         /* a receipt's proof does not verify */
    JE_ERR_PAIRING_REFUSED = -5014, /* the inviter refused the pairing */
    JE_ERR_PENDING = -5015,         /* a pairing still waits for the other side */
};

/* Sizes of the format (docs/encryption.md). */
#define JE_ID_BYTES         16 /* a relay id (32 hex digits) or a message UUID */
#define JE_SIGN_PK_BYTES    32
#define JE_SIGN_SK_BYTES    64
#define JE_BOX_PK_BYTES     32
#define JE_BOX_SK_BYTES     32
#define JE_SIG_BYTES        64
#define JE_TAG_BYTES        16
#define JE_WRAP_BYTES       80 /* eph_pk 32 + sealed content key 32 + tag 16 */
#define JE_MAX_MEMBERS      32 /* = the relay's max_recipients and max_devices */
#define JE_NAME_MAX         64
#define JE_CHUNK_SIZE       16384 /* plaintext bytes per chunk that this build writes */
#define JE_CHUNK_MIN        1024
#define JE_CHUNK_MAX        (1024 * 1024)
#define JE_HEADER_FIXED     114 /* header bytes before the recipients */
#define JE_RECIPIENT_BYTES  (JE_ID_BYTES + JE_WRAP_BYTES)
#define JE_PAIR_MSG_MAX     4096 /* the largest pairing message (the relay's limit too) */
#define JE_CODE_DIGITS      10
#define JE_NAMEPLATE_DIGITS 4
#define JE_ROSTER_MAX       (4 + 8 + 16 + 1 + JE_MAX_MEMBERS * (16 + 32 + 32 + 1 + JE_NAME_MAX) + 32 + 64)

/* Starts libsodium; 0 or JE_ERR_CRYPTO. Safe to call more than once. */
JE_API int je_init(void);
/* Overwrites n bytes at p so the compiler cannot skip it. */
JE_API void je_wipe(void *p, size_t n);

/* "0123...ef" (32 hex digits) or a UUID (36 characters, any case) into 16
 * bytes; JE_ERR_MALFORMED otherwise. */
JE_API int je_id_parse(const char *text, uint8_t out[JE_ID_BYTES]);
/* 16 bytes into 32 lower-case hex digits (out: 33 bytes). */
JE_API void je_id_hex(const uint8_t id[JE_ID_BYTES], char out[33]);
/* 16 bytes into a lower-case UUID (out: 37 bytes). */
JE_API void je_id_uuid(const uint8_t id[JE_ID_BYTES], char out[37]);

/* ---- keys ------------------------------------------------------------------ */

struct je_identity {
    uint8_t sign_pk[JE_SIGN_PK_BYTES];
    uint8_t sign_sk[JE_SIGN_SK_BYTES];
    uint8_t box_pk[JE_BOX_PK_BYTES];
    uint8_t box_sk[JE_BOX_SK_BYTES];
};

/* Two new key pairs (Ed25519 and X25519) from the system's CSPRNG. */
JE_API int je_identity_generate(struct je_identity *out);

/* ---- roster ------------------------------------------------------------------ */

struct je_member {
    uint8_t device_id[JE_ID_BYTES];
    uint8_t sign_pk[JE_SIGN_PK_BYTES];
    uint8_t box_pk[JE_BOX_PK_BYTES];
    char name[JE_NAME_MAX + 1];
};

struct je_roster {
    uint64_t version;
    uint8_t family_id[JE_ID_BYTES];
    unsigned count;
    struct je_member members[JE_MAX_MEMBERS];
    uint8_t signer_pk[JE_SIGN_PK_BYTES];
    uint8_t signature[JE_SIG_BYTES];
};

/* Signs roster (setting signer_pk and signature) with signer's key, then
 * writes its bytes into out (JE_ROSTER_MAX bytes) and their count into
 * *len. JE_ERR_MALFORMED for a count of 0 or above JE_MAX_MEMBERS, a name
 * empty or too long, or a device id or key listed twice. */
JE_API int je_roster_sign(struct je_roster *roster, const struct je_identity *signer, uint8_t *out,
                          size_t *len);
/* Parses the bytes of a roster exactly and checks its own signature
 * (not yet whether the signer may sign: je_roster_accept()). */
JE_API int je_roster_parse(const uint8_t *bytes, size_t len, struct je_roster *out);
/* Whether candidate may replace current (NULL: the device has none yet;
 * then candidate must be signed by one of its own members): same family,
 * a higher version (or the same bytes), signed by a member of current.
 * Returns 1 if candidate is new, 0 if it is current itself, or JE_ERR_ROSTER. */
JE_API int je_roster_accept(const struct je_roster *current, const struct je_roster *candidate);
/* The member with that device id (or NULL). */
JE_API const struct je_member *je_roster_find(const struct je_roster *roster,
                                              const uint8_t device_id[JE_ID_BYTES]);
/* The member with that name (exact) or device id in hex (or NULL). */
JE_API const struct je_member *je_roster_find_name(const struct je_roster *roster,
                                                   const char *name_or_hex_id);

/* ---- sealed notes ------------------------------------------------------------ */

struct je_recipient {
    uint8_t device_id[JE_ID_BYTES];
    uint8_t box_pk[JE_BOX_PK_BYTES];
};

struct je_seal_params {
    uint8_t message_id[JE_ID_BYTES];
    uint8_t family_id[JE_ID_BYTES];
    uint8_t sender_device_id[JE_ID_BYTES];
    const struct je_identity *sender;
    uint64_t created_ms;
    uint32_t chunk_size; /* 0: JE_CHUNK_SIZE */
    const struct je_recipient *recipients;
    unsigned recipient_count; /* 1..JE_MAX_MEMBERS */
    /* Test vectors only: fixed randomness (content key 32, nonce prefix 16,
     * then 32 bytes of ephemeral secret per recipient). NULL: the CSPRNG. */
    const uint8_t *fixed_random;
};

/* The envelope's length for a note of note_len bytes. */
JE_API uint64_t je_sealed_length(uint64_t note_len, unsigned recipient_count, uint32_t chunk_size);

/* Encrypting as the note is made: je_sealer_create() writes the header,
 * each je_sealer_chunk() one chunk (exactly chunk_size bytes of note, or
 * 1..chunk_size for the last), je_sealer_finish() the signature. Output
 * goes to the sink in order; the sealer holds the content key and wipes it
 * when destroyed. */
typedef struct je_sealer je_sealer;
typedef int (*je_sink_fn)(void *user, const uint8_t *bytes, size_t len);
JE_API int je_sealer_create(const struct je_seal_params *params, je_sink_fn sink, void *user,
                            je_sealer **out);
JE_API int je_sealer_chunk(je_sealer *sealer, const uint8_t *note, size_t len, bool last);
JE_API int je_sealer_finish(je_sealer *sealer);
JE_API void je_sealer_destroy(je_sealer *sealer);

/* Seals a whole note; *out is malloc()ed (the caller frees), *out_len its size. */
JE_API int je_seal(const struct je_seal_params *params, const uint8_t *note, size_t note_len,
                   uint8_t **out, size_t *out_len);

struct je_open_params {
    const struct je_roster *roster; /* the reader's current roster */
    const struct je_identity *self;
    uint8_t self_device_id[JE_ID_BYTES];
    uint8_t expect_message_id[JE_ID_BYTES]; /* the id the relay listed it under */
};

struct je_open_info {
    uint8_t sender_device_id[JE_ID_BYTES];
    uint64_t created_ms;
    unsigned chunks;
};

/* Checks everything (docs/encryption.md, "Opening": header, family and id,
 * sender a member, signature, a key for us, every chunk in order) and only
 * then returns the note: *out malloc()ed, *out_len its size. On any failure
 * nothing is returned and the code says why (JE_ERR_MALFORMED, _REPLAYED,
 * _NOT_MEMBER, _SIGNATURE, _NOT_FOR_US, _CHUNK). */
JE_API int je_open(const struct je_open_params *params, const uint8_t *sealed, size_t len,
                   uint8_t **out, size_t *out_len, struct je_open_info *info);
/* Whether bytes start like an envelope (the magic "JSE1"). */
JE_API bool je_is_sealed(const uint8_t *bytes, size_t len);

/* ---- receipts ----------------------------------------------------------------- */

enum je_receipt_state { JE_RECEIPT_DELIVERED = 1, JE_RECEIPT_PLAYED = 2 };

JE_API int je_receipt_sign(const struct je_identity *self, const uint8_t message_id[JE_ID_BYTES],
                           const uint8_t family_id[JE_ID_BYTES],
                           const uint8_t device_id[JE_ID_BYTES], enum je_receipt_state state,
                           uint8_t sig[JE_SIG_BYTES]);
/* 0 if sig is device_id's (key sign_pk) word on that state; JE_ERR_RECEIPT. */
JE_API int je_receipt_verify(const uint8_t sign_pk[JE_SIGN_PK_BYTES],
                             const uint8_t message_id[JE_ID_BYTES],
                             const uint8_t family_id[JE_ID_BYTES],
                             const uint8_t device_id[JE_ID_BYTES], enum je_receipt_state state,
                             const uint8_t sig[JE_SIG_BYTES]);

/* ---- pairing (CPace) --------------------------------------------------------- */

/* Everything one side keeps between the steps of a pairing (it may be
 * days): secret, kept in the store and wiped when done. No pointers, so it
 * is stored as it is. */
struct je_pairing {
    uint32_t magic;
    uint8_t role; /* 1 inviter, 2 joiner */
    char code[JE_CODE_DIGITS + 1];
    uint8_t sid[16];
    uint8_t scalar[32];
    uint8_t isk[64];
    uint16_t a_len, b_len;
    uint8_t a[128];
    uint8_t b[512];
    char peer_name[JE_NAME_MAX + 1];
};

struct je_peer {
    uint8_t sign_pk[JE_SIGN_PK_BYTES];
    uint8_t box_pk[JE_BOX_PK_BYTES];
    char name[JE_NAME_MAX + 1];
};

/* A new code: the nameplate (4 random digits) then 6 secret digits, into
 * code (11 bytes). */
JE_API int je_pairing_new_code(char code[JE_CODE_DIGITS + 1]);
/* Inviter, step 1: message A for code into st->a. fixed (test vectors
 * only, else NULL): sid 16 then scalar 32 bytes. */
JE_API int je_pairing_start(const char *code, struct je_pairing *st, const uint8_t *fixed);
/* Joiner, step 2: from A and the typed code, message B (into st->b) that
 * carries self's public keys and name, encrypted under the CPace key.
 * JE_ERR_MALFORMED for an A that does not parse or whose point is invalid. */
JE_API int je_pairing_answer(const char *code, const uint8_t *a, size_t a_len,
                             const struct je_identity *self, const char *name,
                             struct je_pairing *st, const uint8_t *fixed);
/* Inviter, step 3: opens B; the joiner's keys and name into *peer.
 * JE_ERR_CODE_MISMATCH when it does not open (the codes differ, or the
 * relay changed a message): nothing from it may be trusted. */
JE_API int je_pairing_open_answer(struct je_pairing *st, const uint8_t *b, size_t b_len,
                                  struct je_peer *peer);
/* Inviter, step 3: message C for the joiner: its relay device id and token
 * and the signed roster (bytes), into out (JE_PAIR_MSG_MAX), *len. */
JE_API int je_pairing_confirm(const struct je_pairing *st, const uint8_t device_id[JE_ID_BYTES],
                              const char *token, const uint8_t *roster, size_t roster_len,
                              uint8_t *out, size_t *len);
/* The inviter's refusal F (5 bytes) into out. */
JE_API size_t je_pairing_refusal(uint8_t out[8]);
/* Joiner, step 4: opens C. JE_ERR_PAIRING_REFUSED for F, JE_ERR_CODE_MISMATCH
 * when it does not open. token: at least 129 bytes; roster: JE_ROSTER_MAX. */
JE_API int je_pairing_finish(const struct je_pairing *st, const uint8_t *c, size_t c_len,
                             uint8_t device_id[JE_ID_BYTES], char *token, size_t token_size,
                             uint8_t *roster, size_t *roster_len);

/* CPace (CPACE-RISTR255-SHA512, draft-irtf-cfrg-cpace) pieces, exposed for
 * its published test vectors. */
JE_API int je_cpace_generator(const uint8_t *prs, size_t prs_len, const uint8_t *ci, size_t ci_len,
                              const uint8_t *sid, size_t sid_len, uint8_t g[32]);
/* Y = y * g; JE_ERR_MALFORMED if g is not a valid point. */
JE_API int je_cpace_public(const uint8_t y[32], const uint8_t g[32], uint8_t Y[32]);
/* K = y * Y_other, then ISK = SHA-512(prefix_free_cat(DSI_ISK, sid, K) || msga || msgb);
 * JE_ERR_MALFORMED if Y_other does not decode or K is the identity. */
JE_API int je_cpace_isk(const uint8_t y[32], const uint8_t Y_other[32], const uint8_t *sid,
                        size_t sid_len, const uint8_t *msga, size_t msga_len, const uint8_t *msgb,
                        size_t msgb_len, uint8_t isk[64]);
/* prefix_free_cat of one field appended at out[*at] (LEB128 length, then bytes). */
JE_API size_t je_lv_put(uint8_t *out, size_t at, const uint8_t *field, size_t len);

/* ---- the device's vault in its store ------------------------------------------------ */

/* The device's keys: JE_ERR_NO_KEYS if it has none. */
JE_API int je_vault_identity(js_store *store, struct je_identity *out);
/* Makes and keeps the device's keys unless it has them; fills *out. */
JE_API int je_vault_identity_ensure(js_store *store, struct je_identity *out);
/* The roster the device holds: JE_ERR_NO_KEYS if none. bytes/len (optional,
 * JE_ROSTER_MAX) receive its encoding. */
JE_API int je_vault_roster(js_store *store, struct je_roster *out, uint8_t *bytes, size_t *len);
/* Replaces the roster after je_roster_accept() said yes (or for the first). */
JE_API int je_vault_set_roster(js_store *store, const uint8_t *bytes, size_t len);
/* Offers a roster received from anywhere: parsed, accepted against the one
 * held, kept if newer. Returns 1 kept, 0 no change, or a JE_ERR_*. */
JE_API int je_vault_offer_roster(js_store *store, const uint8_t *bytes, size_t len);
/* Whether this home's family encrypts (it holds a roster). */
JE_API bool je_vault_encrypted(js_store *store);

/* Pairing state by name ("joiner", or an inviter's pairing id). */
JE_API int je_vault_pairing_put(js_store *store, const char *key, const struct je_pairing *st);
JE_API int je_vault_pairing_get(js_store *store, const char *key, struct je_pairing *st);
JE_API int je_vault_pairing_delete(js_store *store, const char *key);
typedef int (*je_pairing_fn)(void *user, const char *key, const struct je_pairing *st);
/* Every pending pairing this device started as inviter. */
JE_API int je_vault_pairings(js_store *store, je_pairing_fn fn, void *user);

/* What became of a received message id: 'E' opened from an envelope, 'R'
 * refused (then *reason is its JE_ERR_*), or JS_ERR_NOT_FOUND. */
JE_API int je_vault_inbox_mark(js_store *store, const char *message_id, char what, int reason);
JE_API int je_vault_inbox_status(js_store *store, const char *message_id, char *what, int *reason);

/* A sealed envelope kept for an outbox message until the relay holds it. */
JE_API int je_vault_sealed_put(js_store *store, const char *message_id, const uint8_t *bytes,
                               size_t len);
JE_API int je_vault_sealed_get(js_store *store, const char *message_id, uint8_t **bytes,
                               size_t *len);
JE_API int je_vault_sealed_delete(js_store *store, const char *message_id);

#endif
