/*
 * The small JSON resources of the relay protocol, with the retry manners:
 * transient failures back off with full jitter, Retry-After is obeyed, and
 * a 4xx that a retry cannot fix ends the call at once.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_internal.h"


static void take_error_message(jn_http *http, const struct jn_http_response *resp)
{
    json_error_t jerr;
    json_t *root, *message;

    if (!resp->body || !resp->body_len)
        goto plain;
    root = json_loadb(resp->body, resp->body_len, 0, &jerr);
    message = root ? json_object_get(json_object_get(root, "error"), "message") : NULL;
    if (json_is_string(message)) {
        char clean[160];
        const char *s = json_string_value(message);
        size_t i;
        /* The relay's words, kept to one printable line. */
        for (i = 0; s[i] && i < sizeof(clean) - 1; i++)
            clean[i] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
        clean[i] = '\0';
        jn_http_set_error(http, "relay says (%ld): %s", resp->status, clean);
        json_decref(root);
        return;
    }
    json_decref(root);
plain:
    jn_http_set_error(http, "relay answered HTTP %ld", resp->status);
}

static int call_once(jn_http *http, const char *method, const char *path, const char *body,
                     long long_poll_s, json_t **out, long *retry_after)
{
    struct jn_http_response resp;
    struct jn_http_request req = {
        .method = method,
        .path = path,
        .body = (const unsigned char *)body,
        .body_len = body ? strlen(body) : 0,
        .content_type = body ? "application/json" : NULL,
        .max_body = JN_MAX_JSON_BYTES,
        .long_poll_s = long_poll_s,
    };
    json_error_t jerr;
    int err;

    *retry_after = -1;
    err = jn_http_request(http, &req, &resp);
    if (err)
        return err;
    *retry_after = resp.retry_after_s;
    err = jn_http_status_error(resp.status);
    if (err) {
        take_error_message(http, &resp);
    } else if (out && resp.body_len > 0) {
        *out = json_loadb(resp.body, resp.body_len, 0, &jerr);
        if (!*out || !json_is_object(*out)) {
            json_decref(*out);
            *out = NULL;
            jn_http_set_error(http, "relay answered something that is not a JSON object");
            err = JN_ERR_PROTOCOL;
        }
    }
    jn_http_response_finish(&resp);
    return err;
}

int jn_json_call(jn_http *http, const char *method, const char *path, json_t *body,
                 long long_poll_s, unsigned max_attempts, json_t **out)
{
    struct jn_backoff backoff;
    char *text = NULL;
    unsigned attempt;
    long retry_after;
    int err;

    if (out)
        *out = NULL;
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        if (!text)
            return -ENOMEM;
    }
    if (!max_attempts)
        max_attempts = 6;
    jn_backoff_init(&backoff, 0, 0);
    for (attempt = 1;; attempt++) {
        err = call_once(http, method, path, text, long_poll_s, out, &retry_after);
        if (!err || !jn_error_is_transient(err) || err == JN_ERR_CONFLICT)
            break;
        if (attempt >= max_attempts) {
            if (max_attempts > 1)
                err = JN_ERR_GAVE_UP;
            break;
        }
        jn_http_sleep_ms(http, jn_backoff_next_ms(&backoff, retry_after));
    }
    free(text);
    return err;
}
