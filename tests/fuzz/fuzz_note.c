/*
 * Fuzz target over what a voice note from outside goes through: the check,
 * the decoder and salvage. Built with libFuzzer when the meson option
 * `fuzzing` is on (clang); otherwise a plain main() replays the seed corpus
 * in every test run, each seed also cut at every length and with every
 * byte flipped, so the damage paths run without a fuzzer. Each seed carries
 * its expected verdict in tests/fuzz/verdicts (accept: jc_note_check()
 * takes it whole; reject: it refuses it), and the replay checks it: a seed
 * without a verdict, or with the wrong one, fails the run.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec/codec.h"

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, #cond);             \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct jc_note_info info;
    jc_decoder *dec = NULL;
    unsigned char *copy;
    int16_t pcm[2048];
    uint64_t total = 0;
    size_t got, usable;
    int checked, res;

    checked = jc_note_check(data, size, &info);
    REQUIRE(checked <= 0);
    res = jc_decoder_create(data, size, &dec);
    REQUIRE(res == checked);
    if (res == 0) {
        REQUIRE(info.samples > 0 && info.samples <= (uint64_t)JC_MAX_NOTE_SECONDS * 48000);
        do {
            res = jc_decoder_read(dec, pcm, 2048, &got);
            REQUIRE(res == 0);
            total += got;
        } while (got > 0);
        /* A healthy note plays exactly as long as the check said. */
        REQUIRE(total == info.samples);
        jc_decoder_destroy(dec);
    } else {
        REQUIRE(dec == NULL);
    }

    copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    if (jc_note_salvage(copy, size, &usable) == 0) {
        REQUIRE(usable <= size);
        REQUIRE(jc_note_check(copy, usable, NULL) == 0);
    }
    free(copy);
    return 0;
}

#ifndef JIASHU_LIBFUZZER
static unsigned long runs;

/* The verdicts file: "accept NAME" or "reject NAME" a line, # comments. */
#define MAX_VERDICTS 256
static struct verdict {
    char name[256];
    int accept;
    int seen;
} verdicts[MAX_VERDICTS];
static int nverdicts = -1; /* -1: no verdicts given */

static int load_verdicts(const char *path)
{
    char line[512], word[16], name[256];
    FILE *f = fopen(path, "r");

    if (!f) {
        fprintf(stderr, "cannot read the verdicts %s\n", path);
        return 1;
    }
    nverdicts = 0;
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#' || sscanf(line, "%15s %255s", word, name) != 2)
            continue;
        if (nverdicts == MAX_VERDICTS || (strcmp(word, "accept") && strcmp(word, "reject"))) {
            fprintf(stderr, "%s: bad line: %s", path, line);
            fclose(f);
            return 1;
        }
        snprintf(verdicts[nverdicts].name, sizeof(verdicts[nverdicts].name), "%s", name);
        verdicts[nverdicts++].accept = !strcmp(word, "accept");
    }
    fclose(f);
    return 0;
}

/* The seed at path is judged as its verdict says; 1 if not. */
static int check_verdict(const char *path, const unsigned char *data, size_t size)
{
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    int accepted = jc_note_check(data, size, NULL) == 0;

    if (nverdicts < 0)
        return 0;
    for (int i = 0; i < nverdicts; i++) {
        if (strcmp(verdicts[i].name, name))
            continue;
        verdicts[i].seen = 1;
        if (verdicts[i].accept == accepted)
            return 0;
        fprintf(stderr, "seed %s: expected %s, the check %s it\n", name,
                verdicts[i].accept ? "accept" : "reject", accepted ? "accepts" : "rejects");
        return 1;
    }
    fprintf(stderr, "seed %s has no verdict in the verdicts file\n", name);
    return 1;
}

static void run(const unsigned char *data, size_t size)
{
    LLVMFuzzerTestOneInput(data, size);
    runs++;
}

static int replay_file(const char *path)
{
    unsigned char *data, *work;
    struct stat st;
    FILE *f;
    size_t n;

    f = fopen(path, "rb");
    if (!f || fstat(fileno(f), &st) != 0 || st.st_size > 1 << 20) {
        fprintf(stderr, "cannot read seed %s\n", path);
        if (f)
            fclose(f);
        return 1;
    }
    data = malloc((size_t)st.st_size + 1);
    work = malloc((size_t)st.st_size + 1);
    if (!data || !work)
        abort();
    n = fread(data, 1, (size_t)st.st_size, f);
    fclose(f);
    if (check_verdict(path, data, n)) {
        free(work);
        free(data);
        return 1;
    }
    run(data, n);
    for (size_t cut = 0; cut < n; cut++)
        run(data, cut);
    for (size_t i = 0; i < n; i++) {
        memcpy(work, data, n);
        work[i] ^= 0xff;
        run(work, n);
    }
    free(work);
    free(data);
    return 0;
}

static int replay(const char *path)
{
    struct stat st;
    int failed = 0;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "no seed at %s\n", path);
        return 1;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *dir = opendir(path);
        struct dirent *e;
        if (!dir)
            return 1;
        while ((e = readdir(dir))) {
            char child[4096];
            if (e->d_name[0] == '.')
                continue;
            snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
            failed |= replay_file(child);
        }
        closedir(dir);
        return failed;
    }
    return replay_file(path);
}

int main(int argc, char **argv)
{
    int failed = 0;

    int first = 1;

    if (argc > 2 && !strcmp(argv[1], "--verdicts")) {
        if (load_verdicts(argv[2]))
            return 1;
        first = 3;
    }
    if (argc <= first) {
        fprintf(stderr, "usage: %s [--verdicts FILE] SEED_FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    for (int i = first; i < argc; i++)
        failed |= replay(argv[i]);
    for (int i = 0; i < nverdicts; i++)
        if (!verdicts[i].seen) {
            fprintf(stderr, "the verdicts name %s, which is not a seed\n", verdicts[i].name);
            failed = 1;
        }
    printf("%lu inputs replayed\n", runs);
    return failed;
}
#endif
