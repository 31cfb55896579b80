/*
 * Escaping for the terminal and JSON by jansson: see output.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

/* Length of the well-formed UTF-8 sequence at p (1 to 4), with its code
 * point in *cp; 0 if the bytes there are not UTF-8 (overlong forms,
 * surrogates and values past U+10FFFF included). */
static size_t utf8_sequence(const unsigned char *p, uint32_t *cp)
{
    size_t len, i;
    uint32_t c;

    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2;
        c = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;
        c = p[0] & 0x0f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;
        c = p[0] & 0x07;
    } else {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0; /* also stops at the terminating NUL */
        c = (c << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
        (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

/* Code points a terminal acts on rather than shows: controls, and the
 * bidirectional embeddings, overrides and isolates that reorder a line. */
static bool acts_on_terminal(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f || cp == 0x061c;
}

const char *out_text(const char *s, char *buf, size_t size)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t used = 0;

    if (size == 0)
        return buf;
    while (*p) {
        char piece[16];
        size_t n;
        uint32_t cp;
        size_t len = utf8_sequence(p, &cp);

        if (len == 0) {
            n = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", *p);
            len = 1;
        } else if (acts_on_terminal(cp)) {
            n = (size_t)(cp < 0x80 ? snprintf(piece, sizeof(piece), "\\x%02x", (unsigned)cp)
                                   : snprintf(piece, sizeof(piece), "\\u{%04x}", (unsigned)cp));
        } else if (cp == '\\') {
            n = (size_t)snprintf(piece, sizeof(piece), "\\\\");
        } else {
            memcpy(piece, p, len);
            n = len;
        }
        if (used + n >= size)
            break;
        memcpy(buf + used, piece, n);
        used += n;
        p += len;
    }
    buf[used] = '\0';
    return buf;
}

json_t *out_json_text(const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    json_t *value = json_string((const char *)p);
    char *clean;
    size_t used = 0;

    if (value)
        return value;
    /* Not UTF-8 (a name typed in another encoding): keep what is, mark
     * what is not with U+FFFD, 3 bytes for each bad byte at most. */
    clean = malloc(3 * strlen((const char *)p) + 1);
    if (!clean)
        return NULL;
    while (*p) {
        uint32_t cp;
        size_t len = utf8_sequence(p, &cp);
        if (len == 0) {
            memcpy(clean + used, "\xef\xbf\xbd", 3);
            used += 3;
            p++;
        } else {
            memcpy(clean + used, p, len);
            used += len;
            p += len;
        }
    }
    clean[used] = '\0';
    value = json_string(clean);
    free(clean);
    return value;
}

static int dump(json_t *value, size_t flags)
{
    int res = 0;

    if (!value)
        return -ENOMEM;
    if (json_dumpf(value, stdout, flags) != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
        res = -EIO;
    json_decref(value);
    return res;
}

int out_json_line(json_t *value)
{
    return dump(value, JSON_COMPACT);
}

int out_json_document(json_t *value)
{
    return dump(value, JSON_INDENT(2));
}
