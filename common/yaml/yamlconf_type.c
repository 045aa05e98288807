/* yamlconf_type.c — the typing of plain YAML scalars as Spring Boot's SnakeYAML (YAML 1.1)
 * loads them: null, booleans (yes/no/on/off …), integers (decimal, 0b, leading-0 octal, 0x,
 * base 60, underscores; beyond 64 bits BIGINT as decimal text), floats (also base 60,
 * .inf, .nan), else strings; and a property's JSON form. See yamlconf.h. Calls nothing of
 * yamlconf.c (the document walk, which uses it).
 */
#include "yamlconf.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_one_of(const char *s, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

/* A decimal big number as little-endian digits (values < 10 each). */
typedef struct bignum {
    unsigned char d[128];
    size_t n;
    int overflow;
} bignum_t;

static void big_muladd(bignum_t *b, unsigned mul, unsigned add)
{
    unsigned carry = add;
    for (size_t i = 0; i < b->n; i++) {
        unsigned v = b->d[i] * mul + carry;
        b->d[i] = (unsigned char)(v % 10);
        carry = v / 10;
    }
    while (carry > 0) {
        if (b->n == sizeof(b->d)) {
            b->overflow = 1;
            return;
        }
        b->d[b->n++] = (unsigned char)(carry % 10);
        carry /= 10;
    }
}

static int digit_in(char c, int base)
{
    int v = 99;
    if (isdigit((unsigned char)c))
        v = c - '0';
    else if (c >= 'a' && c <= 'f')
        v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
        v = c - 'A' + 10;
    return v < base ? v : -1;
}

/* Digits of `base` (underscores allowed, at least one digit) from s to end into b. */
static int big_digits(bignum_t *b, const char *s, const char *end, int base)
{
    int any = 0;
    for (; s < end; s++) {
        if (*s == '_')
            continue;
        int v = digit_in(*s, base);
        if (v < 0)
            return 0;
        big_muladd(b, (unsigned)base, (unsigned)v);
        any = 1;
    }
    return any && !b->overflow;
}

/* SnakeYAML's int: [-+]?(0b[01_]+ | 0[0-7_]+ | 0 | [1-9][0-9_]* | 0x[0-9a-fA-F_]+ |
 * [1-9][0-9_]*(:[0-5]?[0-9])+). Returns 1 (fits *v), 2 (BIGINT: decimal text in big,
 * size bigsize), 0 not an int. */
static int parse_int(const char *text, long long *v, char *big, size_t bigsize)
{
    bignum_t b = {.n = 0};
    const char *s = text;
    int neg = 0;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    const char *end = s + strlen(s);
    if (!isdigit((unsigned char)*s))
        return 0;
    if (s[0] == '0' && s[1] == 'b') {
        if (!big_digits(&b, s + 2, end, 2))
            return 0;
    } else if (s[0] == '0' && s[1] == 'x') {
        if (!big_digits(&b, s + 2, end, 16))
            return 0;
    } else if (strchr(s, ':') != NULL) { /* base 60: 190:20:30 */
        if (s[0] == '0')
            return 0;
        const char *colon = strchr(s, ':');
        if (!big_digits(&b, s, colon, 10))
            return 0;
        for (const char *p = colon; p < end;) {
            const char *q = p + 1, *next = strchr(q, ':');
            if (next == NULL)
                next = end;
            size_t len = (size_t)(next - q);
            if (len < 1 || len > 2 || !isdigit((unsigned char)q[0]) ||
                (len == 2 && !isdigit((unsigned char)q[1])) || (len == 2 && q[0] > '5'))
                return 0;
            big_muladd(&b, 60, (unsigned)(len == 2 ? (q[0] - '0') * 10 + (q[1] - '0') : q[0] - '0'));
            p = next;
        }
    } else if (s[0] == '0' && s[1] != '\0') {
        if (!big_digits(&b, s + 1, end, 8))
            return 0;
    } else if (!big_digits(&b, s, end, 10)) {
        return 0;
    }
    if (b.overflow)
        return 0;
    while (b.n > 1 && b.d[b.n - 1] == 0)
        b.n--;
    unsigned long long u = 0;
    int fits = b.n <= 19;
    for (size_t i = b.n; fits && i > 0; i--)
        u = u * 10 + b.d[i - 1];
    if (fits && ((!neg && u <= (unsigned long long)LLONG_MAX) ||
                 (neg && u <= (unsigned long long)LLONG_MAX + 1ull))) {
        *v = neg ? (long long)(0 - u) : (long long)u;
        return 1;
    }
    if (b.n + 2 > bigsize)
        return 0;
    size_t j = 0;
    if (neg)
        big[j++] = '-';
    for (size_t i = b.n; i > 0; i--)
        big[j++] = (char)('0' + b.d[i - 1]);
    big[j] = '\0';
    return 2;
}

/* Strips '_' into `buf`; returns 0 or -1 when too long. */
static int strip_underscores(const char *s, char *buf, size_t size)
{
    size_t j = 0;
    for (; *s; s++) {
        if (*s == '_')
            continue;
        if (j + 1 >= size)
            return -1;
        buf[j++] = *s;
    }
    buf[j] = '\0';
    return 0;
}

/* SnakeYAML's float as Spring Boot 4 reads it (measured: "09" is a string; "1e3", "-.5"
 * and ".5e3" are floats): [-+]?([0-9][0-9_]*(\.[0-9_]*)?|\.[0-9][0-9_]*)([eE][-+]?[0-9]+)?
 * with a dot or an exponent | [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]* | [-+]?\.inf |
 * \.nan (three cases each). */
static int parse_float(const char *text, double *v)
{
    static const char *const inf[] = {".inf", ".Inf", ".INF", NULL};
    static const char *const nan_[] = {".nan", ".NaN", ".NAN", NULL};
    const char *s = text;
    int neg = 0;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (is_one_of(s, inf)) {
        *v = neg ? -INFINITY : INFINITY;
        return 1;
    }
    if (s == text && is_one_of(s, nan_)) {
        *v = NAN;
        return 1;
    }
    if (isdigit((unsigned char)*s) && strchr(s, ':') != NULL) { /* base 60 with a fraction */
        double acc = 0;
        const char *p = s;
        while (isdigit((unsigned char)*p) || *p == '_') {
            if (*p != '_')
                acc = acc * 10 + (*p - '0');
            p++;
        }
        while (*p == ':') {
            p++;
            if (!isdigit((unsigned char)*p))
                return 0;
            int part = *p++ - '0';
            if (isdigit((unsigned char)*p) && *p != '.') {
                if (part > 5)
                    return 0;
                part = part * 10 + (*p++ - '0');
            }
            acc = acc * 60 + part;
        }
        if (*p != '.')
            return 0;
        char frac[128] = "0";
        if (strip_underscores(p, frac + 1, sizeof(frac) - 1) != 0)
            return 0;
        for (const char *q = frac + 2; *q; q++)
            if (!isdigit((unsigned char)*q))
                return 0;
        *v = (neg ? -1 : 1) * (acc + strtod(frac, NULL));
        return 1;
    }
    /* [-+]?[0-9][0-9_]*\.[0-9_]*([eE][-+]?[0-9]+)? | [-+]?[0-9][0-9_]*[eE][-+]?[0-9]+ |
     * \.[0-9_]+([eE][-+][0-9]+)? — a dot or an exponent is needed ("09" stays a string) */
    const char *p = s;
    int dot = 0;
    if (*p == '.') {
        if (!isdigit((unsigned char)p[1]))
            return 0;
        p++;
        while (isdigit((unsigned char)*p) || *p == '_')
            p++;
        dot = 1;
    } else {
        if (!isdigit((unsigned char)*p))
            return 0;
        while (isdigit((unsigned char)*p) || *p == '_')
            p++;
        if (*p == '.') {
            dot = 1;
            p++;
            while (isdigit((unsigned char)*p) || *p == '_')
                p++;
        }
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (!isdigit((unsigned char)*p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
    } else if (!dot) {
        return 0;
    }
    if (*p != '\0')
        return 0;
    char buf[128];
    if (strip_underscores(text, buf, sizeof(buf)) != 0)
        return 0;
    *v = strtod(buf, NULL);
    return 1;
}

void yamlconf_type_plain(const char *text, yamlconf_prop_t *p)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", "no",  "No",
                                         "NO",    "off",   "Off",   "OFF", NULL};
    p->type = YAMLCONF_STR;
    if (is_one_of(text, nulls))
        p->type = YAMLCONF_NULL;
    else if (is_one_of(text, trues)) {
        p->type = YAMLCONF_BOOL;
        p->b = 1;
    } else if (is_one_of(text, falses)) {
        p->type = YAMLCONF_BOOL;
        p->b = 0;
    } else {
        char big[130];
        int r = parse_int(text, &p->i, big, sizeof(big));
        if (r == 1)
            p->type = YAMLCONF_INT;
        else if (r == 2) {
            p->type = YAMLCONF_BIGINT;
            if (p->text != NULL && p->text == text) { /* the property's own text: now the decimal form */
                char *t = strdup(big);
                if (t == NULL)
                    p->type = YAMLCONF_STR;
                else {
                    free(p->text);
                    p->text = t;
                }
            }
        } else if (r == 0 && parse_float(text, &p->d))
            p->type = YAMLCONF_FLOAT;
    }
}

json_t *yamlconf_prop_json(const yamlconf_prop_t *p)
{
    switch (p->type) {
    case YAMLCONF_INT:
        return json_integer(p->i);
    case YAMLCONF_FLOAT:
        return isfinite(p->d) ? json_real(p->d) : json_string(p->text);
    case YAMLCONF_BOOL:
        return json_boolean(p->b);
    case YAMLCONF_NULL:
        return json_string("");
    default:
        return json_stringn(p->text, strlen(p->text));
    }
}
