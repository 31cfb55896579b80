/*
 * Fuzz target over the relay's own request parsing (net/relay_parse.c):
 * tus headers, Upload-Metadata, Range, bearer tokens, query numbers and the
 * JSON bodies. The first byte picks the parser, the rest is its input.
 *
 * Built with libFuzzer when clang and -Dfuzzing=enabled; otherwise (and
 * always, as the replay program) main() runs each file given on the
 * command line, or each file of the directories given, through the target,
 * and checks that the parser the seed's first byte picks accepts or rejects
 * it as tests/relay/fuzz-verdicts says.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/relay/relay_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs the parser data[0] picks on the rest; 1 if it accepted the input,
 * 0 if it refused it, and aborts if what it accepted breaks a promise. */
static int parse_one(const uint8_t *data, size_t size)
{
    int accepted = 0;

    if (size < 1 || size > 8192)
        return 0;
    char *s = malloc(size);
    if (!s)
        abort();
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    size_t len = size - 1;

    struct relay_metadata md;
    uint8_t buf[32];
    size_t n;
    enum relay_checksum_algo algo;
    uint64_t a, b;
    char code[20], name[65];
    const char *state;
    switch (data[0] % 8) {
    case 0:
        if ((accepted = relay_parse_metadata(s, RELAY_MAX_RECIPIENTS, &md) == 0)) {
            /* What the parser accepts must be what the routes rely on. */
            if (!relay_is_uuid(md.message_id) || md.n_recipients == 0 ||
                md.n_recipients > RELAY_MAX_RECIPIENTS || md.duration_ms > 3600000)
                abort();
            for (unsigned i = 0; i < md.n_recipients; i++)
                if (!relay_is_id(md.recipients[i]))
                    abort();
        }
        break;
    case 1:
        if ((accepted = relay_parse_checksum(s, &algo, buf, &n) == 0) &&
            n != (algo == RELAY_SUM_SHA1 ? 20 : 32))
            abort();
        break;
    case 2: {
        uint64_t size_ = len ? (uint64_t)(unsigned char)s[0] * 1000 : 0;
        if ((accepted = relay_parse_range(s, size_, &a, &b) == 0) && (a > b || b >= size_))
            abort();
        break;
    }
    case 3:
        accepted = relay_parse_bearer(s, buf) == 0;
        break;
    case 4:
        if ((accepted = ju_parse_u64(s, INT64_MAX, &a) == 0) && a > INT64_MAX)
            abort();
        relay_is_id(s);
        relay_is_uuid(s);
        relay_content_type_is(s, "application/offset+octet-stream");
        break;
    case 5:
        if ((accepted = relay_parse_join_body(s, len, 10, code, sizeof code, name) == 0) &&
            (strlen(code) != 10 || strlen(name) == 0 || strlen(name) > 64))
            abort();
        break;
    case 6:
        if ((accepted = relay_parse_receipt_body(s, len, &state) == 0) &&
            strcmp(state, "delivered") != 0 && strcmp(state, "played") != 0)
            abort();
        break;
    default:
        if ((accepted = relay_parse_name_body(s, len, name) == 0) &&
            (strlen(name) == 0 || strlen(name) > 64))
            abort();
        break;
    }
    free(s);
    return accepted;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse_one(data, size);
    return 0;
}

#ifndef JIASHU_LIBFUZZER
/* The verdicts file: "accept NAME" or "reject NAME" a line (what the
 * parser the seed's first byte picks says of it), # comments. */
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
        fprintf(stderr, "fuzz_relay_parse: cannot read the verdicts %s\n", path);
        return -1;
    }
    nverdicts = 0;
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#' || sscanf(line, "%15s %255s", word, name) != 2)
            continue;
        if (nverdicts == MAX_VERDICTS || (strcmp(word, "accept") && strcmp(word, "reject"))) {
            fprintf(stderr, "%s: bad line: %s", path, line);
            fclose(f);
            return -1;
        }
        snprintf(verdicts[nverdicts].name, sizeof(verdicts[nverdicts].name), "%s", name);
        verdicts[nverdicts++].accept = !strcmp(word, "accept");
    }
    fclose(f);
    return 0;
}

static int check_verdict(const char *path, int accepted)
{
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

    if (nverdicts < 0)
        return 0;
    for (int i = 0; i < nverdicts; i++) {
        if (strcmp(verdicts[i].name, name))
            continue;
        verdicts[i].seen = 1;
        if (verdicts[i].accept == accepted)
            return 0;
        fprintf(stderr, "fuzz_relay_parse: seed %s: expected %s, the parser %s it\n", name,
                verdicts[i].accept ? "accept" : "reject", accepted ? "accepts" : "rejects");
        return -1;
    }
    fprintf(stderr, "fuzz_relay_parse: seed %s has no verdict\n", name);
    return -1;
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_relay_parse: cannot open %s\n", path);
        return -1;
    }
    uint8_t data[8192];
    size_t n = fread(data, 1, sizeof data, f);
    fclose(f);
    if (check_verdict(path, parse_one(data, n)) < 0)
        return -1;
    /* Each seed also goes through every parser. */
    for (uint8_t sel = 0; sel < 8 && n > 0; sel++) {
        uint8_t copy[8192];
        memcpy(copy, data, n);
        copy[0] = sel;
        LLVMFuzzerTestOneInput(copy, n);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0, first = 1;

    if (argc > 2 && !strcmp(argv[1], "--verdicts")) {
        if (load_verdicts(argv[2]) < 0)
            return 1;
        first = 3;
    }
    for (int i = first; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (!d) {
            if (run_file(argv[i]) < 0)
                return 1;
            files++;
            continue;
        }
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            if (run_file(path) < 0) {
                closedir(d);
                return 1;
            }
            files++;
        }
        closedir(d);
    }
    if (files == 0) {
        fprintf(stderr, "fuzz_relay_parse: no seed files given\n");
        return 1;
    }
    for (int i = 0; i < nverdicts; i++)
        if (!verdicts[i].seen) {
            fprintf(stderr, "fuzz_relay_parse: the verdicts name %s, which is not a seed\n",
                    verdicts[i].name);
            return 1;
        }
    printf("fuzz_relay_parse: %d seeds replayed\n", files);
    return 0;
}
#endif
