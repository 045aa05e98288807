/* hexdig.h — the value of one hexadecimal digit (percent-decoding, UUID bytes). Needs no
 * library at all, so any layer (the domains too) may use it. */
#ifndef CQ_HEXDIG_H
#define CQ_HEXDIG_H

#include <stddef.h>

/* 0..15 for '0'-'9', 'a'-'f', 'A'-'F'; -1 for anything else. */
static inline int hexdig_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* 1 when s[0..n) is an even number of hexadecimal digits (the hex form of n / 2 bytes). */
static inline int hexdig_even(const char *s, size_t n)
{
    if (n % 2 != 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (hexdig_value(s[i]) < 0)
            return 0;
    return 1;
}

#endif
