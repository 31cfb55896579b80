/*
 * What the jiashu program prints of text it did not write itself: message
 * ids, names and device ids come from the relay or another phone, so they
 * may hold quotes, newlines or terminal escape sequences. Human-readable
 * output shows them through out_text(); --json output is built with jansson
 * from out_json_text(), so it is always one valid JSON document.
 * The shapes of every --json output are in docs/schema/ (docs/json.md).
 */
#ifndef JIASHU_APP_OUTPUT_H
#define JIASHU_APP_OUTPUT_H

#include <jansson.h>
#include <stddef.h>

/* s made safe for a terminal: C0 and C1 controls, DEL, bidirectional
 * overrides and bytes that are not UTF-8 become \xNN or \u{NNNN}, and a
 * backslash becomes "\\"; everything else (Chinese included) is kept.
 * Written into buf (size bytes, cut short if too small); returns buf. */
const char *out_text(const char *s, char *buf, size_t size);

/* A buffer large enough for out_text() of a string of n bytes. */
#define OUT_TEXT_SIZE(n) (4 * (n) + 1)

/* A JSON string holding s; bytes that are not UTF-8 become U+FFFD. NULL
 * only when memory runs out. */
json_t *out_json_text(const char *s);

/* Prints value as one line of compact JSON (object keys in the order they
 * were set) and flushes; returns 0 or -errno. Takes the reference. */
int out_json_line(json_t *value);

/* Prints value indented by two spaces, then a newline; takes the reference. */
int out_json_document(json_t *value);

#endif
