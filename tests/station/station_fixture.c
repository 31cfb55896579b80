/*
 * Test set-up for a station without a relay:
 *
 *   station-fixture STATION_HOME add PIN          adds a family with a PIN, as
 *                                                 the teacher's screen does after
 *                                                 joining; prints its number
 *   station-fixture HOME deliver NOTE.opus SENDER puts a voice note into HOME's
 *                                                 inbox, ready, as sync does after
 *                                                 a download; prints its id
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "station_registry.h"
#include "store/store.h"

static int add(const char *home, const char *pin)
{
    st_registry *reg;
    unsigned number;
    int res;

    if ((res = st_registry_create(home, false, &reg)) < 0) {
        fprintf(stderr, "station-fixture: %s: %s\n", home, ju_strerror(res));
        return 1;
    }
    res = st_registry_add_family(reg, pin, &number);
    st_registry_destroy(reg);
    if (res < 0) {
        fprintf(stderr, "station-fixture: add: %s\n", ju_strerror(res));
        return 1;
    }
    printf("%u\n", number);
    return 0;
}

static int deliver(const char *home, const char *path, const char *sender)
{
    unsigned char digest[SHA256_DIGEST_LENGTH], *data;
    char hex[65], id[JS_ID_LEN + 1];
    js_store *store;
    long len;
    int res;
    FILE *f = fopen(path, "rb");

    if (!f || fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) < 0) {
        fprintf(stderr, "station-fixture: cannot read %s\n", path);
        return 1;
    }
    data = malloc((size_t)len);
    if (!data || fread(data, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "station-fixture: cannot read %s\n", path);
        return 1;
    }
    fclose(f);
    SHA256(data, (size_t)len, digest);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    if ((res = js_store_open(home, &store)) < 0 || (res = js_uuid(id)) < 0 ||
        (res = js_inbox_announce(store, id, sender, (uint64_t)len, hex)) < 0 ||
        (res = js_inbox_write(store, id, 0, data, (size_t)len)) < 0 ||
        (res = js_inbox_complete(store, id)) < 0) {
        fprintf(stderr, "station-fixture: deliver: %s\n", ju_strerror(res));
        return 1;
    }
    js_store_destroy(store);
    free(data);
    printf("%s\n", id);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[2], "add"))
        return add(argv[1], argv[3]);
    if (argc == 5 && !strcmp(argv[2], "deliver"))
        return deliver(argv[1], argv[3], argv[4]);
    fprintf(stderr, "usage: station-fixture STATION_HOME add PIN\n"
                    "       station-fixture HOME deliver NOTE.opus SENDER\n");
    return 2;
}
