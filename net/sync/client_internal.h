/*
 * Shared inside the sync client (net/http_client.c, net/client_*.c,
 * net/sync*.c); not part of net.h.
 */
#ifndef JIASHU_NET_CLIENT_INTERNAL_H
#define JIASHU_NET_CLIENT_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "sync.h"

/* Largest JSON answer the client reads (an inbox page of 100 entries fits). */
#define JN_MAX_JSON_BYTES (256 * 1024)

/* true when a URL a relay handed out (an upload's Location) is on the
 * relay's own origin: a path, or the same scheme, host and port. The
 * client sends its token only there. */
bool jn_http_same_origin(const jn_http *http, const char *location);

/* Replaces the one-line description of the last failure. */
void jn_http_set_error(jn_http *http, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One JSON exchange with retries: body (borrowed, may be NULL) is sent as
 * application/json; a 2xx answer's JSON object goes to *out (owned by the
 * caller; NULL for an empty body) if out is not NULL. Transient failures
 * are retried with backoff up to max_attempts times (0: 6), then
 * JN_ERR_GAVE_UP (a single attempt returns its own error); the relay's
 * error message becomes jn_http_last_error(). */
/* What the program set with jn_net_set_overrides(); never NULL. */
const struct jn_net_overrides *jn_net_overrides_get(void);

int jn_json_call(jn_http *http, const char *method, const char *path, json_t *body,
                 long long_poll_s, unsigned max_attempts, json_t **out);

/* jn_family_members() with max_attempts (0: jn_json_call's default). */
int jn_family_members_tries(jn_http *http, unsigned max_attempts, jn_member_fn fn, void *user);

#endif
