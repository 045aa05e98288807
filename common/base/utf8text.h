/* utf8text.h — UTF-8 decoding for the length limits and character rules of text fields
 * (customer names, order addresses): limits are in characters, as PostgreSQL's
 * varchar(n), not in bytes. libc only, so the domain layers may use it; one decoder
 * instead of one per service.
 */
#ifndef CQ_UTF8TEXT_H
#define CQ_UTF8TEXT_H

#include <stddef.h>

/* Decodes the UTF-8 sequence at s (n > 0 bytes left): returns its length (1–4) and the
 * code point in *cp, or 0 when it is invalid (overlong, surrogate, truncated, beyond
 * U+10FFFF, a stray continuation byte). */
size_t utf8text_next(const unsigned char *s, size_t n, unsigned *cp);

/* The number of characters (code points) in s[0..n), or -1 when it is not valid UTF-8. */
long utf8text_chars(const char *s, size_t n);

#endif
