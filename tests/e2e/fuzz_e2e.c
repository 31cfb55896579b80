/*
 * Fuzz target over every parser of the end-to-end formats: the first byte
 * picks one (0 roster, 1 sealed note, 2 pairing message A as the joiner
 * reads it, 3 B as the inviter reads it, 4 C as the joiner reads it), the
 * rest is its input. The states are those of tests/e2e/e2e_vectors.c, so
 * the seeds in tests/e2e/fuzz-seeds (written by that program) open, and
 * their cuts and byte flips reach the checks behind each step. Built with
 * libFuzzer when the meson option `fuzzing` is on; otherwise main()
 * replays the seeds, each cut at every length and with every byte flipped.
 */
#include <dirent.h>
#include <sys/stat.h>

#include "e2e_fixture.h"

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, #cond);             \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static struct je_identity ids[4];
static struct je_roster roster;
static struct je_pairing inviter, joiner;
static int ready;

static void setup(void)
{
    uint8_t fixed_a[48], fixed_b[32], rb[JE_ROSTER_MAX];

    REQUIRE(je_init() == 0);
    for (unsigned i = 1; i < 4; i++)
        fixture_identity(i, &ids[i]);
    fixture_roster(3, 1, 1, &roster, rb);
    fixture_random(fixed_a, sizeof(fixed_a));
    memset(fixed_b, 0x5b, sizeof(fixed_b));
    REQUIRE(je_pairing_start("1234567890", &inviter, fixed_a) == 0);
    REQUIRE(je_pairing_answer("1234567890", inviter.a, inviter.a_len, &ids[2], "nainai", &joiner,
                              fixed_b) == 0);
    ready = 1;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (!ready)
        setup();
    if (size < 1)
        return 0;
    const uint8_t *in = data + 1;
    size_t n = size - 1;

    switch (data[0] % 5) {
    case 0: {
        struct je_roster r;
        int res = je_roster_parse(in, n, &r);
        REQUIRE(res <= 0);
        if (res == 0) {
            REQUIRE(r.count >= 1 && r.count <= JE_MAX_MEMBERS);
            REQUIRE(je_roster_accept(&roster, &r) <= 1);
        }
        break;
    }
    case 1: {
        struct je_open_params op = {.roster = &roster, .self = &ids[2]};
        uint8_t *plain = NULL;
        size_t plain_len = 0;
        fixture_id(2, op.self_device_id);
        fixture_id(7, op.expect_message_id);
        int res = je_open(&op, in, n, &plain, &plain_len, NULL);
        REQUIRE(res <= 0);
        REQUIRE((res == 0) == (plain != NULL));
        if (plain) {
            REQUIRE(plain_len < n);
            free(plain);
        }
        break;
    }
    case 2: {
        struct je_pairing st;
        int res = je_pairing_answer("1234567890", in, n, &ids[2], "nainai", &st, NULL);
        REQUIRE(res <= 0);
        REQUIRE(res != 0 || st.b_len <= sizeof(st.b));
        break;
    }
    case 3: {
        struct je_pairing st = inviter;
        struct je_peer peer;
        int res = je_pairing_open_answer(&st, in, n, &peer);
        REQUIRE(res <= 0);
        if (res == 0)
            REQUIRE(strlen(peer.name) >= 1 && strlen(peer.name) <= JE_NAME_MAX);
        break;
    }
    case 4: {
        uint8_t dev[16], rb[JE_ROSTER_MAX];
        char token[129];
        size_t rlen = 0;
        int res = je_pairing_finish(&joiner, in, n, dev, token, sizeof(token), rb, &rlen);
        REQUIRE(res <= 0);
        if (res == 0)
            REQUIRE(rlen <= JE_ROSTER_MAX && strlen(token) >= 1);
        break;
    }
    }
    return 0;
}

#ifndef JIASHU_LIBFUZZER
static unsigned replay(const unsigned char *data, size_t size)
{
    unsigned char *copy = malloc(size ? size : 1);
    unsigned runs = 0;

    LLVMFuzzerTestOneInput(data, size);
    for (size_t cut = 1; cut < size; cut++, runs++)
        LLVMFuzzerTestOneInput(data, cut);
    for (size_t at = 1; at < size; at++) {
        memcpy(copy, data, size);
        copy[at] ^= (unsigned char)(1u << (at % 8));
        LLVMFuzzerTestOneInput(copy, size);
        runs++;
    }
    free(copy);
    return runs + 1;
}

int main(int argc, char **argv)
{
    DIR *dir;
    struct dirent *e;
    unsigned files = 0, runs = 0;

    if (argc != 2 || !(dir = opendir(argv[1]))) {
        fprintf(stderr, "usage: %s SEED_DIR\n", argv[0]);
        return 2;
    }
    while ((e = readdir(dir))) {
        char path[4096];
        struct stat st;
        FILE *f;
        unsigned char *buf;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
        if (stat(path, &st) || !S_ISREG(st.st_mode) || !(f = fopen(path, "rb")))
            continue;
        buf = malloc((size_t)st.st_size + 1);
        size_t got = fread(buf, 1, (size_t)st.st_size, f);
        fclose(f);
        runs += replay(buf, got);
        /* The same bytes through every other parser too. */
        for (unsigned k = 1; k < 5; k++) {
            buf[0] = (unsigned char)(buf[0] + 1);
            LLVMFuzzerTestOneInput(buf, got);
            runs++;
        }
        free(buf);
        files++;
    }
    closedir(dir);
    printf("%u seeds, %u runs\n", files, runs);
    printf("%u passed, 0 failed\n", files ? files : 0);
    return files ? 0 : 1;
}
#endif
