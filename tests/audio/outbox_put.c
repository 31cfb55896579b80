/*
 * Puts a voice note made elsewhere (`jiashu encode --no-cleanup`, as a
 * recorder without the clean-up's level control leaves it) into a store's
 * outbox for the whole family, to be sent by the next sync:
 *   outbox_put HOME FILE.opus
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

    if (argc != 3) {
        fprintf(stderr, "usage: outbox_put HOME FILE.opus\n");
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
    if (ret == 0) {
        ret = js_outbox_add(store, data, (size_t)len, NULL, id);
        js_store_destroy(store);
    }
    free(data);
    if (ret < 0) {
        fprintf(stderr, "outbox_put: %s\n", ju_strerror(ret));
        return 1;
    }
    printf("%s\n", id);
    return 0;
}
