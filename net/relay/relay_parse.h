/*
 * Parsing of everything a client sends the relay that the relay itself
 * interprets: tus headers, Upload-Metadata, Range, bearer tokens, query
 * values and JSON bodies. Pure functions over bounded input, no I/O: the
 * fuzz target (tests/relay/fuzz_relay_parse.c) drives them directly.
 *
 * Each returns 0 on success or -EINVAL when the input is malformed, unless
 * it says otherwise. Inputs are NUL-terminated strings unless a length is
 * given; none is retained. Numbers and hex go through util.h
 * (ju_parse_u64, ju_hex_*), as everywhere else.
 */
#ifndef JIASHU_NET_RELAY_PARSE_H
#define JIASHU_NET_RELAY_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "relay_storage.h"
#include "util/util.h"

/* 1 when s is an id the relay hands out (32 lowercase hex digits). */
int relay_is_id(const char *s);
/* 1 when s is 1..max characters of standard base64 (padding allowed at the end only). */
int relay_is_base64(const char *s, size_t max);
/* 1 when s is a UUID in its canonical 36-character form (any case). */
int relay_is_uuid(const char *s);

/* "Bearer <64 hex digits>" into the 32 token bytes. */
int relay_parse_bearer(const char *hdr, uint8_t token[32]);

struct relay_metadata {
    char message_id[RELAY_UUID_LEN + 1];
    uint64_t duration_ms;
    unsigned n_recipients;
    char recipients[RELAY_MAX_RECIPIENTS][RELAY_ID_LEN + 1];
    int has_sha256;    /* the client declared the whole message's SHA-256 */
    uint8_t sha256[32];
};

/* tus Upload-Metadata: "key base64,key base64". Needs message_id (a UUID),
 * recipients (ids separated by commas, at most max_recipients, no repeats)
 * and duration_ms (at most one hour); sha256 (64 hex digits, the whole
 * message's) is optional; other keys are ignored. */
int relay_parse_metadata(const char *hdr, unsigned max_recipients, struct relay_metadata *out);

enum relay_checksum_algo { RELAY_SUM_SHA1 = 1, RELAY_SUM_SHA256 = 2 };

/* tus Upload-Checksum: "<algorithm> <base64 digest>". -ENOTSUP for an
 * algorithm the relay does not offer. */
int relay_parse_checksum(const char *hdr, enum relay_checksum_algo *algo, uint8_t digest[32],
                         size_t *digest_len);

/* A Range header against a representation of `size` bytes: 0 and the
 * inclusive byte span (an end past the message is clamped to its last
 * byte); 1 when the header is to be ignored (absent, not bytes, several
 * ranges, malformed); -ERANGE when it starts past the end (416). */
int relay_parse_range(const char *hdr, uint64_t size, uint64_t *first, uint64_t *last);

/* 1 when a Content-Type header names `type` (parameters such as charset
 * allowed after ';'), 0 otherwise, including when hdr is NULL. */
int relay_content_type_is(const char *hdr, const char *type);

/* The client address a reverse proxy appended: the last element of
 * Forwarded's for= (RFC 7239; quotes, [v6] brackets and a port removed) or,
 * without Forwarded, of X-Forwarded-For. 0 with the address text in out
 * (not yet checked to be an address), -EINVAL when neither names one. */
int relay_forwarded_client(const char *forwarded, const char *x_forwarded_for, char *out,
                           size_t cap);

/* 1 when n bytes of UTF-8 hold no C0 or C1 control character and no
 * bidirectional mark, embedding, override or isolate; 0 otherwise. */
int relay_name_is_printable(const char *s, size_t n);

/* JSON bodies. name: 1 to 64 bytes of UTF-8 that relay_name_is_printable. */
int relay_parse_name_body(const char *body, size_t len, char name[65]);
int relay_parse_join_body(const char *body, size_t len, unsigned digits, char *code,
                          size_t code_cap, char name[65]);
int relay_parse_receipt_body(const char *body, size_t len, const char **state);

#endif
