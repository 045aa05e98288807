/* utf8text.c — UTF-8 decoding for text-field rules. See utf8text.h. libc only. */
#include "utf8text.h"

size_t utf8text_next(const unsigned char *s, size_t n, unsigned *cp)
{
    size_t k;
    unsigned c;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) {
        k = 2;
        c = s[0] & 0x1Fu;
    } else if ((s[0] & 0xF0) == 0xE0) {
        k = 3;
        c = s[0] & 0x0Fu;
    } else if ((s[0] & 0xF8) == 0xF0) {
        k = 4;
        c = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (k > n)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3Fu);
    }
    if ((k == 2 && c < 0x80) || (k == 3 && c < 0x800) || (k == 4 && c < 0x10000) || c > 0x10FFFF ||
        (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return k;
}

long utf8text_chars(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    long chars = 0;
    for (size_t i = 0; i < n; chars++) {
        unsigned cp;
        size_t k = utf8text_next(p + i, n - i, &cp);
        if (k == 0)
            return -1;
        i += k;
    }
    return chars;
}
