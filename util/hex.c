/* Hex digits, both ways (see util.h). */
#include <errno.h>
#include <string.h>

#include "util.h"

int ju_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void ju_hex_encode(const void *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *bytes = in;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

int ju_hex_decode(const char *hex, void *out, size_t n)
{
    unsigned char *bytes = out;
    if (!hex || strlen(hex) != 2 * n)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        int hi = ju_hex_digit((unsigned char)hex[2 * i]),
            lo = ju_hex_digit((unsigned char)hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        bytes[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}
