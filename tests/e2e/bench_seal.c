/*
 * CPU time of sealing and opening one voice note (for tests/e2e/bench_e2e.sh):
 * reads NOTE.opus, seals it N times for one recipient and opens it N
 * times, and prints the bytes added and the CPU milliseconds per note.
 */
#include <time.h>

#include "e2e_fixture.h"

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    struct je_identity ids[3];
    struct je_roster r;
    uint8_t rb[JE_ROSTER_MAX], *note, *sealed = NULL, *plain = NULL;
    size_t len, slen = 0, plen;
    int n = argc > 2 ? atoi(argv[2]) : 20;
    FILE *f;

    if (argc < 2 || !(f = fopen(argv[1], "rb")) || je_init() < 0)
        return 2;
    fseek(f, 0, SEEK_END);
    len = (size_t)ftell(f);
    rewind(f);
    note = malloc(len);
    if (fread(note, 1, len, f) != len)
        return 2;
    fclose(f);
    fixture_identity(1, &ids[1]);
    fixture_identity(2, &ids[2]);
    fixture_roster(2, 1, 1, &r, rb);
    struct je_recipient rcpt;
    fixture_id(2, rcpt.device_id);
    memcpy(rcpt.box_pk, ids[2].box_pk, 32);
    struct je_seal_params sp = {.sender = &ids[1], .recipients = &rcpt, .recipient_count = 1};
    memcpy(sp.family_id, r.family_id, 16);
    fixture_id(1, sp.sender_device_id);
    fixture_id(7, sp.message_id);
    double t0 = cpu_ms();
    for (int i = 0; i < n; i++) {
        free(sealed);
        if (je_seal(&sp, note, len, &sealed, &slen))
            return 1;
    }
    double t1 = cpu_ms();
    struct je_open_params op = {.roster = &r, .self = &ids[2]};
    fixture_id(2, op.self_device_id);
    fixture_id(7, op.expect_message_id);
    for (int i = 0; i < n; i++) {
        free(plain);
        if (je_open(&op, sealed, slen, &plain, &plen, NULL) || plen != len)
            return 1;
    }
    double t2 = cpu_ms();
    printf("note_bytes %zu sealed_bytes %zu added_bytes %zu seal_ms %.3f open_ms %.3f\n", len, slen,
           slen - len, (t1 - t0) / n, (t2 - t1) / n);
    free(sealed);
    free(plain);
    free(note);
    return 0;
}
