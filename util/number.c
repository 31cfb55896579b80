/* Strict decimal integers (see util.h): strtol() accepts leading spaces, a
 * sign on unsigned values and trailing garbage, and each caller used to
 * patch a different subset of that. */
#include <errno.h>
#include <string.h>

#include "util.h"

/* Digits only, at least one; the value saturates past UINT64_MAX. */
static int digits(const char *s, uint64_t *out, int *overflow)
{
    uint64_t v = 0;
    *overflow = 0;
    if (!s || !*s)
        return -EINVAL;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            *overflow = 1;
        else
            v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int ju_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v;
    int overflow;
    int err = digits(s, &v, &overflow);
    if (err < 0)
        return err;
    if (overflow || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

int ju_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    uint64_t v;
    int overflow, negative = s && *s == '-';
    int err = digits(negative ? s + 1 : s, &v, &overflow);
    if (err < 0)
        return err;
    if (overflow || v > (uint64_t)INT64_MAX + (uint64_t)negative)
        return -ERANGE;
    int64_t value = negative ? (int64_t)(0 - v) : (int64_t)v;
    if (value < min || value > max)
        return -ERANGE;
    *out = value;
    return 0;
}

int ju_parse_time_of_day(const char *s, int *minute)
{
    if (!s || strlen(s) != 5 || s[2] != ':')
        return -EINVAL;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -EINVAL;
    int hours = (s[0] - '0') * 10 + (s[1] - '0');
    int minutes = (s[3] - '0') * 10 + (s[4] - '0');
    if (hours > 23 || minutes > 59)
        return -EINVAL;
    *minute = hours * 60 + minutes;
    return 0;
}

int ju_parse_time_span(const char *s, int *start_minute, int *end_minute)
{
    char start[6];
    int a, b;

    if (!s || strlen(s) != 11 || s[5] != '-')
        return -EINVAL;
    memcpy(start, s, 5);
    start[5] = '\0';
    if (ju_parse_time_of_day(start, &a) < 0 || ju_parse_time_of_day(s + 6, &b) < 0 || a == b)
        return -EINVAL;
    *start_minute = a;
    *end_minute = b;
    return 0;
}
