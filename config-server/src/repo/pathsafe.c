/* pathsafe.c — full decoding and allow-list of URL name segments (see pathsafe.h). */
#include "repo/pathsafe.h"
#include "hexdig.h"
#include "utf8text.h"

#include <ctype.h>
#include <string.h>

/* One round of percent-decoding in place; returns the number of escapes decoded, -1 on
 * a malformed escape or a decoded NUL. */
static int decode_round(char *s)
{
    char *w = s;
    int n = 0;
    for (const char *r = s; *r; r++) {
        if (*r != '%') {
            *w++ = *r;
            continue;
        }
        int hi = hexdig_value(r[1]), lo = hi >= 0 ? hexdig_value(r[2]) : -1;
        if (hi < 0 || lo < 0)
            return -1;
        char c = (char)(hi * 16 + lo);
        if (c == '\0')
            return -1;
        *w++ = c;
        r += 2;
        n++;
    }
    *w = '\0';
    return n;
}

int cs_path_decode(const char *raw, size_t len, char *out, size_t size)
{
    if (len >= size || memchr(raw, '\0', len) != NULL)
        return -1;
    memcpy(out, raw, len);
    out[len] = '\0';
    int round = 0;
    for (;;) {
        int n = decode_round(out);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        if (++round >= 4)
            return strchr(out, '%') != NULL ? -1 : 0;
    }
    /* "+" is literal in a path (it is not a form field); "(_)" is left to cs_path_label */
    return 0;
}

/* 1 when the non-ASCII code point `cp` may stand in a name: a letter, digit or symbol of
 * any script (Spring serves café or 顧客 as it serves cafe), not a C1 control, a space or
 * an invisible format character (zero-width, bidi overrides, the BOM), nor a noncharacter. */
static int name_cp_ok(unsigned cp)
{
    if (cp < 0xA1 || cp == 0xAD) /* C1 controls, NBSP, soft hyphen */
        return 0;
    if ((cp >= 0x2000 && cp <= 0x206F) || cp == 0x3000) /* spaces, zero-width, bidi, ideographic space */
        return 0;
    if (cp == 0xFEFF || (cp >= 0xFFF0 && cp <= 0xFFFF) || (cp >= 0xFDD0 && cp <= 0xFDEF) ||
        (cp & 0xFFFE) == 0xFFFE)
        return 0;
    return 1;
}

static int name_char_ok(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.' || c == '+' || c == '@';
}

/* A name: ASCII letters, digits and "-_.+@", or non-ASCII characters that name_cp_ok
 * accepts (valid UTF-8 only: no overlong form can spell '.' or '/'); it starts and ends
 * with a letter, a digit or a non-ASCII character, and has no "..". */
static int name_ok_len(const char *s, size_t len)
{
    if (len == 0 || len > CS_PATH_NAME_MAX)
        return 0;
    const unsigned char *u = (const unsigned char *)s;
    if ((u[0] < 0x80 && !isalnum(u[0])) || (u[len - 1] < 0x80 && !isalnum(u[len - 1])))
        return 0;
    for (size_t i = 0; i < len;) {
        if (u[i] >= 0x80) {
            unsigned cp;
            size_t n = utf8text_next(u + i, len - i, &cp);
            if (n == 0 || !name_cp_ok(cp))
                return 0;
            i += n;
            continue;
        }
        if (!name_char_ok(s[i]))
            return 0;
        if (s[i] == '.' && i + 1 < len && s[i + 1] == '.')
            return 0;
        i++;
    }
    return 1;
}

int cs_path_name_ok(const char *name)
{
    return name != NULL && name_ok_len(name, strlen(name));
}

/* 1 when `list` is 1..max names separated by `sep`. */
static int list_ok(const char *list, char sep, size_t maxlen, int max)
{
    if (list == NULL || *list == '\0' || strlen(list) > maxlen)
        return 0;
    const char *s = list;
    for (int n = 1; n <= max; n++) {
        const char *c = strchr(s, sep);
        size_t len = c != NULL ? (size_t)(c - s) : strlen(s);
        if (!name_ok_len(s, len))
            return 0;
        if (c == NULL)
            return 1;
        s = c + 1;
    }
    return 0;
}

int cs_path_profiles_ok(const char *list)
{
    return list_ok(list, ',', 1024, 1024);
}

int cs_path_apps_ok(const char *list)
{
    return list_ok(list, ',', 1024, CS_PATH_MAX_APPS);
}

int cs_path_label(const char *seg, char *out, size_t size)
{
    size_t j = 0;
    if (strchr(seg, '/') != NULL) /* only "(_)" spells a slash */
        return -1;
    for (const char *p = seg; *p != '\0';) {
        if (j + 1 >= size)
            return -1;
        if (strncmp(p, "(_)", 3) == 0) {
            out[j++] = '/';
            p += 3;
        } else
            out[j++] = *p++;
    }
    out[j] = '\0';
    return list_ok(out, '/', CS_PATH_NAME_MAX, 32) ? 0 : -1;
}
