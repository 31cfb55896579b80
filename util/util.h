/*
 * jiashu util: the helpers every part shares, at the bottom of the stack.
 * It knows nothing of voice notes, stores or relays; every other part may
 * include this header, and this header includes no other part.
 *
 * Errors, across the whole project: a function that can fail returns 0 (or
 * a count, where said) on success and a negative code on failure, either
 * -errno (-ENOMEM, -EIO, ...) or a code from one part's range below.
 * ju_strerror() explains any of them; it is the one table of messages, so a
 * part never includes another part's header just to explain an error.
 */
#ifndef JIASHU_UTIL_H
#define JIASHU_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Each part owns one thousand codes, counted down from its base. */
enum ju_error_range {
    JU_ERR_CODEC_BASE = -1000, /* codec/codec.h: JC_ERR_* */
    JU_ERR_STORE_BASE = -2000, /* store/store.h: JS_ERR_* */
    JU_ERR_RELAY_BASE = -3000, /* net/relay/relay.h: JN_ERR_* of the server */
    JU_ERR_SYNC_BASE = -3100,  /* net/sync/sync.h: JN_ERR_* of the client */
    JU_ERR_AUDIO_BASE = -4000, /* app/audio/audio.h: AUDIO_ERR_* */
    JU_ERR_E2E_BASE = -5000,   /* net/e2e/e2e.h: JE_ERR_* */
};

/* One sentence a user can act on, in English (programs translate it with
 * gettext, domain "jiashu"); never NULL. */
const char *ju_strerror(int err);

#endif
