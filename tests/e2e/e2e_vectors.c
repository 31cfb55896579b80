/*
 * Prints the format's test vectors (docs/encryption.md, "Test vectors")
 * from fixed keys and randomness: a roster, a sealed note, the three
 * pairing messages and a receipt. With a folder argument it also writes
 * each one as a fuzz seed there. tests/e2e/vectors.txt holds the expected
 * output; the test e2e_vectors_are_stable compares the two.
 */
#include "e2e_fixture.h"

static void print_hex(const char *name, const uint8_t *b, size_t n)
{
    printf("%s (%zu bytes):\n", name, n);
    for (size_t i = 0; i < n; i++)
        printf("%s%02x%s", i % 32 == 0 ? "  " : "", b[i], i % 32 == 31 || i + 1 == n ? "\n" : "");
}

static void seed(const char *dir, const char *name, uint8_t kind, const uint8_t *b, size_t n)
{
    char path[512];
    FILE *f;

    if (!dir)
        return;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f)
        return;
    fputc(kind, f);
    fwrite(b, 1, n, f);
    fclose(f);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : NULL;
    struct je_identity ids[4];
    struct je_roster r;
    uint8_t rb[JE_ROSTER_MAX], rnd[48 + 32 * 2], note[100], *sealed, msg_id[16], sig[64];
    struct je_recipient rcpt[2];
    struct je_seal_params sp = {.created_ms = 1767225600000ull,
                                .recipients = rcpt,
                                .recipient_count = 2,
                                .chunk_size = 1024};
    size_t rlen, slen;

    if (je_init() < 0)
        return 1;
    for (unsigned i = 1; i < 4; i++)
        fixture_identity(i, &ids[i]);
    printf("# jiashu e2e format v1 test vectors (tests/e2e/e2e_vectors.c)\n");
    printf("# device n: Ed25519 seed = n || 31 x 0x01; X25519 secret = 0x02 || n || 30 x 0x02\n");
    printf("# device id n = bytes (0x10*n + i) for i in 0..15; family id = device id 9\n");
    for (unsigned i = 1; i < 4; i++) {
        char label[64];
        snprintf(label, sizeof(label), "device %u sign_pk", i);
        print_hex(label, ids[i].sign_pk, 32);
        snprintf(label, sizeof(label), "device %u box_pk", i);
        print_hex(label, ids[i].box_pk, 32);
    }

    rlen = fixture_roster(3, 1, 1, &r, rb);
    printf("\n# roster: version 1, devices 1 mama, 2 nainai, 3 baba, signed by device 1\n");
    print_hex("roster", rb, rlen);
    seed(dir, "roster.bin", 0, rb, rlen);

    for (size_t i = 0; i < sizeof(note); i++)
        note[i] = (uint8_t)i;
    fixture_random(rnd, sizeof(rnd));
    fixture_id(7, msg_id);
    memcpy(sp.message_id, msg_id, 16);
    memcpy(sp.family_id, r.family_id, 16);
    fixture_id(1, sp.sender_device_id);
    sp.sender = &ids[1];
    sp.fixed_random = rnd;
    for (int i = 0; i < 2; i++) {
        fixture_id(2 + i, rcpt[i].device_id);
        memcpy(rcpt[i].box_pk, ids[2 + i].box_pk, 32);
    }
    printf("\n# sealed note: 100 bytes 00 01 .. 63 from device 1 to devices 2 and 3,\n"
           "# message id = id 7, chunk_size 1024, created_ms 1767225600000,\n"
           "# fixed randomness byte i = 0xa0 + 7 i: content key = bytes 0..31,\n"
           "# nonce prefix = 32..47, ephemeral secrets = 48..79 and 80..111\n");
    print_hex("randomness", rnd, sizeof(rnd));
    if (je_seal(&sp, note, sizeof(note), &sealed, &slen))
        return 1;
    print_hex("envelope", sealed, slen);
    seed(dir, "envelope.bin", 1, sealed, slen);
    free(sealed);

    {
        struct je_pairing inv, joi;
        struct je_peer peer;
        uint8_t fixed_a[48], fixed_b[32], c[JE_PAIR_MSG_MAX], dev[16];
        size_t clen;
        fixture_random(fixed_a, sizeof(fixed_a));
        memset(fixed_b, 0x5b, sizeof(fixed_b));
        printf("\n# pairing with code 1234567890: sid = randomness 0..15, inviter scalar =\n"
               "# randomness 16..47 (top 4 bits cleared), joiner scalar = 32 x 0x5b (same),\n"
               "# joiner = device 2 named nainai; C gives device id 2, token \"t0k3n\" and the "
               "roster\n");
        je_pairing_start("1234567890", &inv, fixed_a);
        je_pairing_answer("1234567890", inv.a, inv.a_len, &ids[2], "nainai", &joi, fixed_b);
        je_pairing_open_answer(&inv, joi.b, joi.b_len, &peer);
        fixture_id(2, dev);
        je_pairing_confirm(&inv, dev, "t0k3n", rb, rlen, c, &clen);
        print_hex("A", inv.a, inv.a_len);
        print_hex("B", joi.b, joi.b_len);
        print_hex("ISK", inv.isk, 64);
        print_hex("C", c, clen);
        seed(dir, "pair_a.bin", 2, inv.a, inv.a_len);
        seed(dir, "pair_b.bin", 3, joi.b, joi.b_len);
        seed(dir, "pair_c.bin", 4, c, clen);
    }
    je_receipt_sign(&ids[2], msg_id, r.family_id, rcpt[0].device_id, JE_RECEIPT_PLAYED, sig);
    printf("\n# receipt: device 2 played message id 7\n");
    print_hex("proof", sig, 64);
    return 0;
}
