#define _GNU_SOURCE
/*
 * net/e2e without a network: rosters, sealed notes against every change a
 * relay could make, pairing with the right and the wrong code and with a
 * relay in the middle, receipts.
 */
#include "e2e_fixture.h"

static int failures, passes;

#define CHECK(name, cond)                                                                          \
    do {                                                                                           \
        if (cond) {                                                                                \
            passes++;                                                                              \
        } else {                                                                                   \
            failures++;                                                                            \
            fprintf(stderr, "FAIL %s (%s:%d)\n", name, __FILE__, __LINE__);                        \
        }                                                                                          \
    } while (0)

static struct je_roster roster; /* devices 1 (mama), 2 (nainai), 3 (baba) */
static struct je_identity ids[5];

static int open_as(unsigned reader, const uint8_t *sealed, size_t len, const uint8_t msg_id[16],
                   uint8_t **plain, size_t *plain_len)
{
    struct je_open_params op = {.roster = &roster, .self = &ids[reader]};

    fixture_id(reader, op.self_device_id);
    memcpy(op.expect_message_id, msg_id, 16);
    return je_open(&op, sealed, len, plain, plain_len, NULL);
}

static void test_roster(void)
{
    uint8_t b1[JE_ROSTER_MAX], b2[JE_ROSTER_MAX];
    struct je_roster r1, r2, parsed;
    size_t l1 = fixture_roster(2, 1, 1, &r1, b1), l2;

    CHECK("roster parses", je_roster_parse(b1, l1, &parsed) == 0 && parsed.count == 2);
    CHECK("a first roster signed by its member is accepted", je_roster_accept(NULL, &parsed) == 1);
    CHECK("the same roster again is no change", je_roster_accept(&r1, &parsed) == 0);
    l2 = fixture_roster(3, 2, 2, &r2, b2);
    CHECK("version 2 signed by a member is accepted", je_roster_accept(&r1, &r2) == 1);
    CHECK("going back to version 1 is refused", je_roster_accept(&r2, &r1) == JE_ERR_ROSTER);
    l2 = fixture_roster(3, 2, 4, &r2, b2); /* signed by device 4, not a member of r1 */
    CHECK("a roster signed by a non-member is refused",
          je_roster_accept(&r1, &r2) == JE_ERR_ROSTER);
    b1[20] ^= 1;
    CHECK("a changed roster fails its signature",
          je_roster_parse(b1, l1, &parsed) == JE_ERR_SIGNATURE);
    b1[20] ^= 1;
    CHECK("a cut roster is malformed", je_roster_parse(b1, l1 - 1, &parsed) == JE_ERR_MALFORMED);
    r2.family_id[0] ^= 1;
    CHECK("another family's roster is refused", je_roster_accept(&r1, &r2) == JE_ERR_ROSTER);
    (void)l2;
}

static void test_seal(void)
{
    uint8_t msg_id[16], note[40000], *sealed = NULL, *plain = NULL, *copy;
    struct je_recipient rcpt[2];
    struct je_seal_params sp = {.sender = &ids[1],
                                .created_ms = 1700000000000ull,
                                .recipients = rcpt,
                                .recipient_count = 2,
                                .chunk_size = 4096};
    size_t len, plain_len, hlen = JE_HEADER_FIXED + 2 * JE_RECIPIENT_BYTES;

    for (size_t i = 0; i < sizeof(note); i++)
        note[i] = (uint8_t)(i * 31 + (i >> 8));
    fixture_id(7, msg_id);
    memcpy(sp.message_id, msg_id, 16);
    memcpy(sp.family_id, roster.family_id, 16);
    fixture_id(1, sp.sender_device_id);
    for (int i = 0; i < 2; i++) {
        fixture_id(2 + i, rcpt[i].device_id);
        memcpy(rcpt[i].box_pk, ids[2 + i].box_pk, 32);
    }
    CHECK("seal", je_seal(&sp, note, sizeof(note), &sealed, &len) == 0);
    CHECK("the envelope has the length the format says",
          len == je_sealed_length(sizeof(note), 2, 4096));
    CHECK("no plaintext run in the envelope", !memmem(sealed, len, note + 5000, 32));
    CHECK("each recipient opens it", open_as(2, sealed, len, msg_id, &plain, &plain_len) == 0 &&
                                         plain_len == sizeof(note) &&
                                         !memcmp(plain, note, sizeof(note)));
    free(plain);
    plain = NULL;
    CHECK("the second recipient too", open_as(3, sealed, len, msg_id, &plain, &plain_len) == 0);
    free(plain);
    plain = NULL;
    CHECK("a device it was not sealed for cannot open it",
          open_as(4, sealed, len, msg_id, &plain, &plain_len) == JE_ERR_NOT_FOR_US && !plain);
    {
        uint8_t other[16];
        memcpy(other, msg_id, 16);
        other[0] ^= 1;
        CHECK("listed under another message id: refused as replayed",
              open_as(2, sealed, len, other, &plain, &plain_len) == JE_ERR_REPLAYED);
    }
    copy = malloc(len);
    /* Every byte flipped anywhere is refused, never opened. */
    {
        int opened = 0;
        for (size_t at = 0; at < len; at += 97) {
            memcpy(copy, sealed, len);
            copy[at] ^= 0x40;
            if (open_as(2, copy, len, msg_id, &plain, &plain_len) == 0)
                opened++;
            free(plain);
            plain = NULL;
        }
        CHECK("no flipped byte opens", opened == 0);
    }
    memcpy(copy, sealed, len);
    copy[hlen + 4096 + 16 + 100] ^= 1;
    CHECK("a flipped chunk byte fails the signature first",
          open_as(2, copy, len, msg_id, &plain, &plain_len) == JE_ERR_SIGNATURE);
    /* A chunk dropped from the middle. */
    memcpy(copy, sealed, len);
    memmove(copy + hlen + 4112, copy + hlen + 2 * 4112, len - hlen - 2 * 4112);
    CHECK("a dropped chunk is refused",
          open_as(2, copy, len - 4112, msg_id, &plain, &plain_len) < 0 && !plain);
    CHECK("a cut envelope is refused",
          open_as(2, sealed, len - 100, msg_id, &plain, &plain_len) < 0);
    free(copy);
    /* The chunk layer alone (a member who knows the key forging chunks is
     * stopped by the signature; here the STREAM rules are checked by
     * sealing with a reused header under the same key). */
    {
        struct je_roster other;
        uint8_t b[JE_ROSTER_MAX];
        fixture_roster(3, 1, 1, &other, b);
        other.family_id[0] ^= 1;
        struct je_open_params op = {.roster = &other, .self = &ids[2]};
        fixture_id(2, op.self_device_id);
        memcpy(op.expect_message_id, msg_id, 16);
        CHECK("another family's device refuses it as replayed",
              je_open(&op, sealed, len, &plain, &plain_len, NULL) == JE_ERR_REPLAYED);
    }
    {
        struct je_roster without;
        uint8_t b[JE_ROSTER_MAX];
        fixture_roster(3, 1, 1, &without, b);
        without.members[0].sign_pk[0] ^= 1; /* mama's key is not the one that signed */
        struct je_open_params op = {.roster = &without, .self = &ids[2]};
        fixture_id(2, op.self_device_id);
        memcpy(op.expect_message_id, msg_id, 16);
        CHECK("a sender whose key is not the member's is refused",
              je_open(&op, sealed, len, &plain, &plain_len, NULL) == JE_ERR_NOT_MEMBER);
    }
    free(sealed);
}

/* The STREAM layer on its own: chunks reordered or the last flag moved,
 * under a signature that the attacker (a member knowing the key) remade. */
static void test_stream(void)
{
    struct je_recipient rcpt;
    struct je_seal_params sp = {
        .sender = &ids[1], .recipients = &rcpt, .recipient_count = 1, .chunk_size = 1024};
    uint8_t note[3000], *sealed, *plain = NULL;
    size_t len, plain_len;

    memset(note, 7, sizeof(note));
    fixture_id(2, rcpt.device_id);
    memcpy(rcpt.box_pk, ids[2].box_pk, 32);
    memcpy(sp.family_id, roster.family_id, 16);
    fixture_id(1, sp.sender_device_id);
    fixture_id(8, sp.message_id);
    je_seal(&sp, note, sizeof(note), &sealed, &len);
    size_t hlen = JE_HEADER_FIXED + JE_RECIPIENT_BYTES;
    /* Swap chunks 0 and 1 (same size), then re-sign as the sender would. */
    uint8_t tmp[1040], digest[64], msg[14 + 64];
    memcpy(tmp, sealed + hlen, 1040);
    memcpy(sealed + hlen, sealed + hlen + 1040, 1040);
    memcpy(sealed + hlen + 1040, tmp, 1040);
    crypto_hash_sha512(digest, sealed, len - 64);
    memcpy(msg, "jiashu note v1", 14);
    memcpy(msg + 14, digest, 64);
    crypto_sign_detached(sealed + len - 64, NULL, msg, sizeof(msg), ids[1].sign_sk);
    CHECK("reordered chunks fail to authenticate even under a valid signature",
          open_as(2, sealed, len, sp.message_id, &plain, &plain_len) == JE_ERR_CHUNK);
    /* Put the chunks back in order, then cut after chunk 1 (its last flag
     * is 0) and re-sign. */
    memcpy(tmp, sealed + hlen, 1040);
    memcpy(sealed + hlen, sealed + hlen + 1040, 1040);
    memcpy(sealed + hlen + 1040, tmp, 1040);
    size_t cut = hlen + 2 * 1040 + 64;
    crypto_hash_sha512(digest, sealed, cut - 64);
    memcpy(msg + 14, digest, 64);
    crypto_sign_detached(sealed + cut - 64, NULL, msg, sizeof(msg), ids[1].sign_sk);
    CHECK("a note cut at a chunk boundary fails (no last flag)",
          open_as(2, sealed, cut, sp.message_id, &plain, &plain_len) == JE_ERR_CHUNK);
    free(sealed);
}

static void test_pairing(void)
{
    struct je_pairing inviter, joiner, mallory;
    struct je_peer peer;
    uint8_t c[JE_PAIR_MSG_MAX], rb[JE_ROSTER_MAX], got_roster[JE_ROSTER_MAX], dev[16], want_dev[16];
    struct je_roster r;
    char token[129];
    size_t clen, rlen = fixture_roster(2, 2, 1, &r, rb), got_len;

    fixture_id(2, want_dev);
    CHECK("inviter starts", je_pairing_start("1234567890", &inviter, NULL) == 0);
    CHECK("joiner answers", je_pairing_answer("1234567890", inviter.a, inviter.a_len, &ids[2],
                                              "nainai", &joiner, NULL) == 0);
    CHECK("the inviter opens the answer and learns the joiner's keys",
          je_pairing_open_answer(&inviter, joiner.b, joiner.b_len, &peer) == 0 &&
              !memcmp(peer.sign_pk, ids[2].sign_pk, 32) &&
              !memcmp(peer.box_pk, ids[2].box_pk, 32) && !strcmp(peer.name, "nainai"));
    CHECK("C", je_pairing_confirm(&inviter, want_dev, "tok3n", rb, rlen, c, &clen) == 0);
    CHECK("the joiner opens C", je_pairing_finish(&joiner, c, clen, dev, token, sizeof(token),
                                                  got_roster, &got_len) == 0 &&
                                    !memcmp(dev, want_dev, 16) && !strcmp(token, "tok3n") &&
                                    got_len == rlen && !memcmp(got_roster, rb, rlen));
    c[10] ^= 1;
    CHECK("a changed C does not open",
          je_pairing_finish(&joiner, c, clen, dev, token, sizeof(token), got_roster, &got_len) ==
              JE_ERR_CODE_MISMATCH);

    /* The codes differ by one digit. */
    je_pairing_start("1234567890", &inviter, NULL);
    je_pairing_answer("1234567891", inviter.a, inviter.a_len, &ids[2], "nainai", &joiner, NULL);
    CHECK("a wrong code: the inviter finds out and trusts nothing",
          je_pairing_open_answer(&inviter, joiner.b, joiner.b_len, &peer) == JE_ERR_CODE_MISMATCH);

    /* A relay in the middle: it answers the inviter itself with its own key
     * (it knows the nameplate "1234", and guesses the rest), and offers its
     * own A to the joiner. */
    je_pairing_start("1234567890", &inviter, NULL);
    je_pairing_answer("1234000000", inviter.a, inviter.a_len, &ids[4], "nainai", &mallory, NULL);
    CHECK("a relay that swaps in its own key is found out by the inviter",
          je_pairing_open_answer(&inviter, mallory.b, mallory.b_len, &peer) ==
              JE_ERR_CODE_MISMATCH);
    je_pairing_start("1234000000", &mallory, NULL);
    je_pairing_answer("1234567890", mallory.a, mallory.a_len, &ids[2], "nainai", &joiner, NULL);
    CHECK("... and by the joiner's inviter side it impersonates",
          je_pairing_open_answer(&mallory, joiner.b, joiner.b_len, &peer) == JE_ERR_CODE_MISMATCH);
    /* The relay replaces the joiner's keys inside B (without the code). */
    je_pairing_start("1234567890", &inviter, NULL);
    je_pairing_answer("1234567890", inviter.a, inviter.a_len, &ids[2], "nainai", &joiner, NULL);
    joiner.b[joiner.b_len - 30] ^= 1;
    CHECK("a B whose keys were changed does not open",
          je_pairing_open_answer(&inviter, joiner.b, joiner.b_len, &peer) == JE_ERR_CODE_MISMATCH);
    {
        uint8_t f[8];
        size_t fl = je_pairing_refusal(f);
        CHECK("the refusal is understood",
              je_pairing_finish(&joiner, f, fl, dev, token, sizeof(token), got_roster, &got_len) ==
                  JE_ERR_PAIRING_REFUSED);
    }
    je_wipe(&inviter, sizeof(inviter));
}

static void test_receipts(void)
{
    uint8_t m[16], f[16], d[16], sig[64];

    fixture_id(7, m);
    fixture_id(9, f);
    fixture_id(2, d);
    je_receipt_sign(&ids[2], m, f, d, JE_RECEIPT_PLAYED, sig);
    CHECK("a receipt verifies",
          je_receipt_verify(ids[2].sign_pk, m, f, d, JE_RECEIPT_PLAYED, sig) == 0);
    CHECK("'delivered' is not 'played'",
          je_receipt_verify(ids[2].sign_pk, m, f, d, JE_RECEIPT_DELIVERED, sig) == JE_ERR_RECEIPT);
    CHECK("another device's key does not verify it",
          je_receipt_verify(ids[3].sign_pk, m, f, d, JE_RECEIPT_PLAYED, sig) == JE_ERR_RECEIPT);
    m[0] ^= 1;
    CHECK("another message's receipt does not verify",
          je_receipt_verify(ids[2].sign_pk, m, f, d, JE_RECEIPT_PLAYED, sig) == JE_ERR_RECEIPT);
}

int main(void)
{
    uint8_t b[JE_ROSTER_MAX];

    if (je_init() < 0)
        return 1;
    for (unsigned i = 1; i < 5; i++)
        fixture_identity(i, &ids[i]);
    fixture_roster(3, 1, 1, &roster, b);
    test_roster();
    test_seal();
    test_stream();
    test_pairing();
    test_receipts();
    printf("%d passed, %d failed\n", passes, failures);
    return failures ? 1 : 0;
}
