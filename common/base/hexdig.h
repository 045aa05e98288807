/* hexdig.h — the value of one hexadecimal digit (percent-decoding, UUID bytes). Needs no
 * library at all, so any layer (the domains too) may use it. */
#ifndef CQ_HEXDIG_H
#define CQ_HEXDIG_H

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

#endif
