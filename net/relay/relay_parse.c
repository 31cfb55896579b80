#define _GNU_SOURCE /* strcasestr */
#include "relay_parse.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <strings.h>

int relay_is_id(const char *s)
{
    if (!s || strlen(s) != RELAY_ID_LEN)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

int relay_is_uuid(const char *s)
{
    if (!s || strlen(s) != RELAY_UUID_LEN)
        return 0;
    for (int i = 0; i < RELAY_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (ju_hex_digit((unsigned char)s[i]) < 0) {
            return 0;
        }
    }
    return 1;
}

int relay_parse_bearer(const char *hdr, uint8_t token[32])
{
    if (!hdr || strncasecmp(hdr, "Bearer ", 7) != 0)
        return -EINVAL;
    return ju_hex_decode(hdr + 7, token, 32);
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Standard base64, padding optional; decodes n input bytes into out (cap
 * bytes) and sets *outlen. */
static int b64decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
    size_t total = n, pads = 0;
    while (n && in[n - 1] == '=') {
        n--;
        pads++;
    }
    if (n % 4 == 1 || pads > 2 || (pads && total % 4 != 0))
        return -EINVAL;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)in[i]);
        if (v < 0)
            return -EINVAL;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -EINVAL;
            out[o++] = (uint8_t)(acc >> bits);
        }
        acc &= 0xffu;
    }
    *outlen = o;
    return 0;
}

static int parse_recipients(const char *v, size_t n, unsigned max, struct relay_metadata *out)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && v[j] != ',')
            j++;
        if (j - i != RELAY_ID_LEN || out->n_recipients >= max ||
            out->n_recipients >= RELAY_MAX_RECIPIENTS)
            return -EINVAL;
        char id[RELAY_ID_LEN + 1];
        memcpy(id, v + i, RELAY_ID_LEN);
        id[RELAY_ID_LEN] = '\0';
        if (!relay_is_id(id))
            return -EINVAL;
        for (unsigned k = 0; k < out->n_recipients; k++)
            if (strcmp(out->recipients[k], id) == 0)
                return -EINVAL;
        memcpy(out->recipients[out->n_recipients++], id, sizeof id);
        i = j + 1;
        if (j < n && i == n) /* a trailing comma */
            return -EINVAL;
    }
    return out->n_recipients ? 0 : -EINVAL;
}

int relay_parse_metadata(const char *hdr, unsigned max_recipients, struct relay_metadata *out)
{
    memset(out, 0, sizeof *out);
    if (!hdr)
        return -EINVAL;
    int have_id = 0, have_rcpt = 0, have_dur = 0;
    const char *p = hdr;
    char keys[32][33];
    unsigned nkeys = 0;
    while (*p) {
        size_t plen = strcspn(p, ",");
        size_t klen = strcspn(p, " ,");
        if (klen == 0 || klen > 32 || nkeys >= 32)
            return -EINVAL;
        for (size_t i = 0; i < klen; i++)
            if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f)
                return -EINVAL;
        for (unsigned k = 0; k < nkeys; k++)
            if (strlen(keys[k]) == klen && memcmp(keys[k], p, klen) == 0)
                return -EINVAL;
        memcpy(keys[nkeys], p, klen);
        keys[nkeys++][klen] = '\0';

        uint8_t val[1024];
        size_t vlen = 0;
        if (klen < plen) {
            const char *v = p + klen + 1;
            size_t n = plen - klen - 1;
            if (memchr(v, ' ', n) || b64decode(v, n, val, sizeof val, &vlen) < 0)
                return -EINVAL;
        }
        const char *key = keys[nkeys - 1];
        if (strcmp(key, "message_id") == 0) {
            if (vlen != RELAY_UUID_LEN)
                return -EINVAL;
            memcpy(out->message_id, val, vlen);
            out->message_id[vlen] = '\0';
            if (!relay_is_uuid(out->message_id))
                return -EINVAL;
            for (char *c = out->message_id; *c; c++)
                if (*c >= 'A' && *c <= 'F')
                    *c = (char)(*c - 'A' + 'a');
            have_id = 1;
        } else if (strcmp(key, "recipients") == 0) {
            if (parse_recipients((const char *)val, vlen, max_recipients, out) < 0)
                return -EINVAL;
            have_rcpt = 1;
        } else if (strcmp(key, "duration_ms") == 0) {
            char num[24];
            if (vlen == 0 || vlen >= sizeof num)
                return -EINVAL;
            memcpy(num, val, vlen);
            num[vlen] = '\0';
            if (ju_parse_u64(num, 3600000, &out->duration_ms) < 0)
                return -EINVAL;
            have_dur = 1;
        } else if (strcmp(key, "sha256") == 0) {
            if (vlen != 64)
                return -EINVAL;
            for (int i = 0; i < 32; i++) {
                int a = ju_hex_digit(val[2 * i]), b = ju_hex_digit(val[2 * i + 1]);
                if (a < 0 || b < 0)
                    return -EINVAL;
                out->sha256[i] = (uint8_t)(a << 4 | b);
            }
            out->has_sha256 = 1;
        }
        p += plen;
        if (*p == ',') {
            p++;
            if (!*p)
                return -EINVAL;
        }
    }
    return have_id && have_rcpt && have_dur ? 0 : -EINVAL;
}

int relay_parse_checksum(const char *hdr, enum relay_checksum_algo *algo, uint8_t digest[32],
                         size_t *digest_len)
{
    if (!hdr)
        return -EINVAL;
    const char *sp = strchr(hdr, ' ');
    if (!sp || strchr(sp + 1, ' '))
        return -EINVAL;
    size_t alen = (size_t)(sp - hdr), want;
    if (alen == 4 && strncasecmp(hdr, "sha1", 4) == 0) {
        *algo = RELAY_SUM_SHA1;
        want = 20;
    } else if (alen == 6 && strncasecmp(hdr, "sha256", 6) == 0) {
        *algo = RELAY_SUM_SHA256;
        want = 32;
    } else {
        for (size_t i = 0; i < alen; i++)
            if ((unsigned char)hdr[i] <= ' ')
                return -EINVAL;
        return alen && alen <= 32 ? -ENOTSUP : -EINVAL;
    }
    size_t n = strlen(sp + 1);
    if (n > 64 || b64decode(sp + 1, n, digest, 32, digest_len) < 0 || *digest_len != want)
        return -EINVAL;
    return 0;
}

/* Decimal digits of any length, saturating at UINT64_MAX: a position past
 * every message is still a position. -EINVAL when not all digits. */
static int range_number(const char *s, size_t n, uint64_t *out)
{
    if (n == 0)
        return -EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        unsigned d = (unsigned)(s[i] - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
    }
    *out = v;
    return 0;
}

int relay_parse_range(const char *hdr, uint64_t size, uint64_t *first, uint64_t *last)
{
    /* RFC 9110 section 14.2: a Range that is not understood is ignored (the
     * whole message, 200); only a valid one that starts past the end is 416. */
    if (!hdr || strncmp(hdr, "bytes=", 6) != 0)
        return 1;
    const char *spec = hdr + 6;
    if (strchr(spec, ','))
        return 1;
    const char *dash = strchr(spec, '-');
    if (!dash)
        return 1;
    size_t alen = (size_t)(dash - spec), blen = strlen(dash + 1);
    uint64_t x, y;
    if (alen == 0) { /* the last y bytes */
        if (range_number(dash + 1, blen, &y) < 0)
            return 1;
        if (y == 0 || size == 0)
            return -ERANGE;
        *first = y >= size ? 0 : size - y;
        *last = size - 1;
        return 0;
    }
    if (range_number(spec, alen, &x) < 0)
        return 1;
    if (blen == 0) {
        y = size ? size - 1 : 0;
    } else {
        if (range_number(dash + 1, blen, &y) < 0 || y < x)
            return 1;
    }
    if (x >= size)
        return -ERANGE;
    if (y >= size) /* clamped to the end, however far past it */
        y = size - 1;
    *first = x;
    *last = y;
    return 0;
}

int relay_content_type_is(const char *hdr, const char *type)
{
    if (!hdr)
        return 0;
    size_t n = strlen(type);
    if (strncasecmp(hdr, type, n) != 0)
        return 0;
    const char *rest = hdr + n;
    while (*rest == ' ')
        rest++;
    return *rest == '\0' || *rest == ';';
}

/* Copies [s, s+n) trimmed of spaces and tabs into out. */
static int copy_trimmed(const char *s, size_t n, char *out, size_t cap)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= cap)
        return -EINVAL;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

int relay_forwarded_client(const char *forwarded, const char *x_forwarded_for, char *out,
                           size_t cap)
{
    if (forwarded) {
        /* The last for= of the whole header, whichever element holds it. */
        const char *last = NULL;
        for (const char *p = forwarded; (p = strcasestr(p, "for=")); p += 4)
            if (p == forwarded || p[-1] == ';' || p[-1] == ',' || p[-1] == ' ')
                last = p + 4;
        if (!last)
            return -EINVAL;
        size_t n = strcspn(last, ";,");
        char v[80];
        if (copy_trimmed(last, n, v, sizeof v) < 0)
            return -EINVAL;
        char *a = v;
        size_t len = strlen(a);
        if (a[0] == '"') {
            if (len < 2 || a[len - 1] != '"')
                return -EINVAL;
            a[--len] = '\0';
            a++;
            len--;
        }
        if (a[0] == '[') { /* "[v6]" or "[v6]:port" */
            char *close = strchr(a, ']');
            if (!close)
                return -EINVAL;
            *close = '\0';
            a++;
        } else {
            char *colon = strchr(a, ':');
            if (colon && !strchr(colon + 1, ':'))
                *colon = '\0'; /* v4:port */
        }
        return copy_trimmed(a, strlen(a), out, cap);
    }
    if (x_forwarded_for) {
        const char *comma = strrchr(x_forwarded_for, ',');
        const char *last = comma ? comma + 1 : x_forwarded_for;
        return copy_trimmed(last, strlen(last), out, cap);
    }
    return -EINVAL;
}

int relay_name_is_printable(const char *s, size_t n)
{
    /* jansson has checked that s is UTF-8; what is left to refuse are the
     * characters that change how the rest of a line looks when a client
     * prints the name: C0 and DEL, C1 (U+0080..U+009F, which terminals
     * read as escape sequences), and the bidirectional marks, embeddings,
     * overrides and isolates (U+061C, U+200E/F, U+202A..E, U+2066..9). */
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f)
            return 0;
        if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
            return 0;
        if (p[i] == 0xd8 && i + 1 < n && p[i + 1] == 0x9c)
            return 0;
        if (p[i] == 0xe2 && i + 2 < n) {
            unsigned cp = (unsigned)(p[i + 1] & 0x3f) << 6 | (p[i + 2] & 0x3f);
            cp |= 0x2000;
            if (cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
                (cp >= 0x2066 && cp <= 0x2069))
                return 0;
        }
    }
    return 1;
}

static json_t *load(const char *body, size_t len)
{
    if (!body || len == 0)
        return NULL;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int take_name(json_t *j, char name[65])
{
    json_t *v = json_object_get(j, "name");
    if (!json_is_string(v))
        return -EINVAL;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n > 64 || strlen(s) != n || !relay_name_is_printable(s, n))
        return -EINVAL;
    memcpy(name, s, n + 1);
    return 0;
}

int relay_parse_name_body(const char *body, size_t len, char name[65])
{
    json_t *j = load(body, len);
    if (!j)
        return -EINVAL;
    int err = take_name(j, name);
    json_decref(j);
    return err;
}

int relay_parse_join_body(const char *body, size_t len, unsigned digits, char *code,
                          size_t code_cap, char name[65])
{
    json_t *j = load(body, len);
    if (!j)
        return -EINVAL;
    int err = take_name(j, name);
    json_t *c = json_object_get(j, "code");
    if (err == 0) {
        err = -EINVAL;
        if (json_is_string(c) && json_string_length(c) == digits && digits < code_cap) {
            const char *s = json_string_value(c);
            err = 0;
            for (unsigned i = 0; i < digits; i++)
                if (s[i] < '0' || s[i] > '9')
                    err = -EINVAL;
            if (err == 0)
                memcpy(code, s, digits + 1);
        }
    }
    json_decref(j);
    return err;
}

int relay_parse_receipt_body(const char *body, size_t len, const char **state)
{
    json_t *j = load(body, len);
    if (!j)
        return -EINVAL;
    const char *s = json_string_value(json_object_get(j, "state"));
    int err = -EINVAL;
    if (s && strcmp(s, "delivered") == 0) {
        *state = "delivered";
        err = 0;
    } else if (s && strcmp(s, "played") == 0) {
        *state = "played";
        err = 0;
    } else if (s && strcmp(s, "rejected") == 0) {
        *state = "rejected";
        err = 0;
    }
    json_decref(j);
    return err;
}

int relay_is_base64(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0, pad = 0;
    if (n == 0 || n > max || n % 4)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '+' || c == '/'))
            return 0;
    }
    return pad <= 2;
}
