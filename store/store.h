/*
 * jiashu store: the client's SQLite database (outbox, inbox, transfers,
 * receipts, contacts, settings) with its schema migrations.
 *
 * Errors follow the codec's convention (codec/codec.h): 0 or a negative
 * code; JS_ERR_* codes are the store's own, js_strerror() explains any code.
 */
#ifndef JIASHU_STORE_H
#define JIASHU_STORE_H

#include "codec/codec.h"

#define JS_API __attribute__((visibility("default")))

enum js_error {
    JS_ERR_NOT_A_DATABASE = -2001, /* the file is not a jiashu database, or is damaged */
    JS_ERR_TOO_NEW = -2002,        /* written by a newer jiashu */
};

/* Any code of the project's convention, explained; never NULL. */
JS_API const char *js_strerror(int err);

#endif
