/*
 * Puts a voice note into a store's inbox as if sync had downloaded it (the
 * network is not what the playback tests are about):
 *   inbox_put HOME FILE.opus SHA256_HEX SENDER
 * Prints the new message's id.
 */
#include <stdio.h>
#include <stdlib.h>

#include "store/store.h"

int main(int argc, char **argv)
{
    char id[JS_ID_LEN + 1];
    unsigned char *data;
    js_store *store;
    FILE *f;
    long len;
    int ret;

    if (argc != 5) {
        fprintf(stderr, "usage: inbox_put HOME FILE.opus SHA256_HEX SENDER\n");
        return 2;
    }
    f = fopen(argv[2], "rb");
    if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET))
        return 1;
    data = malloc((size_t)len);
    if (!data || fread(data, 1, (size_t)len, f) != (size_t)len)
        return 1;
    fclose(f);
    ret = js_store_open(argv[1], &store);
    if (ret == 0)
        ret = js_uuid(id);
    if (ret == 0)
        ret = js_inbox_announce(store, id, argv[4], (uint64_t)len, argv[3]);
    if (ret == 0)
        ret = js_inbox_write(store, id, 0, data, (size_t)len);
    if (ret == 0)
        ret = js_inbox_complete(store, id);
    if (ret < 0) {
        fprintf(stderr, "inbox_put: %s\n", ju_strerror(ret));
        return 1;
    }
    printf("%s\n", id);
    js_store_destroy(store);
    free(data);
    return 0;
}
