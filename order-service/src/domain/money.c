/* money.c — exact decimal money: parsing with scale normalisation, formatting, checked
 * arithmetic. See money.h. */
#include "money.h"

#include <stdio.h>

/* Digits kept from the mantissa: anything longer than this cannot be ≤ MONEY_MAX_CENTS
 * unless it is leading zeros (skipped) or trailing fractional zeros (checked). */
#define MONEY_MAX_DIGITS 40

static int money_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

money_err_t money_parse(const char *s, size_t len, money_t *out)
{
    size_t i = 0;
    int neg = 0;
    char digits[MONEY_MAX_DIGITS];
    int nd = 0;    /* significant digits kept (after leading zeros) */
    long frac = 0; /* digits after the point, counting skipped leading zeros */
    int seen_digit = 0;
    int seen_point = 0;
    long exp = 0;
    int nonzero_dropped = 0;

    if (s == NULL || len == 0)
        return MONEY_ESYNTAX;
    if (s[i] == '+' || s[i] == '-') {
        neg = s[i] == '-';
        i++;
    }
    for (; i < len; i++) {
        char c = s[i];
        if (money_is_digit(c)) {
            seen_digit = 1;
            if (seen_point)
                frac++;
            if (nd == 0 && c == '0')
                continue; /* leading zero: value unchanged */
            if (nd < MONEY_MAX_DIGITS)
                digits[nd++] = c;
            else if (c != '0')
                nonzero_dropped = 1;
            else if (!seen_point)
                return MONEY_ERANGE; /* an integer part this long is out of range */
            else
                frac--; /* a dropped trailing fractional zero: scale shrinks */
        } else if (c == '.' && !seen_point) {
            seen_point = 1;
        } else {
            break;
        }
    }
    if (!seen_digit)
        return MONEY_ESYNTAX;
    if (i < len) {
        int eneg = 0;
        int edigits = 0;
        if (s[i] != 'e' && s[i] != 'E')
            return MONEY_ESYNTAX;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            eneg = s[i] == '-';
            i++;
        }
        for (; i < len && money_is_digit(s[i]); i++) {
            edigits++;
            if (exp < 100000)
                exp = exp * 10 + (s[i] - '0');
        }
        if (edigits == 0 || i < len)
            return MONEY_ESYNTAX;
        if (eneg)
            exp = -exp;
    }
    if (nonzero_dropped)
        return nd > 0 && frac - exp > 2 ? MONEY_ESCALE : MONEY_ERANGE;
    /* value = digits × 10^-(frac - exp); cents = digits × 10^(2 - frac + exp) */
    long shift = 2 - frac + exp;
    /* Trailing zeros of the mantissa may absorb a negative shift. */
    while (shift < 0 && nd > 0 && digits[nd - 1] == '0') {
        nd--;
        shift++;
    }
    if (nd == 0) {
        out->cents = 0;
        return MONEY_OK;
    }
    if (shift < 0)
        return MONEY_ESCALE;
    if (nd + shift > 11)
        return MONEY_ERANGE;
    int64_t v = 0;
    for (int k = 0; k < nd; k++)
        v = v * 10 + (digits[k] - '0');
    for (long k = 0; k < shift; k++)
        v *= 10;
    if (v > MONEY_MAX_CENTS)
        return MONEY_ERANGE;
    out->cents = neg ? -v : v;
    return MONEY_OK;
}

const char *money_format(money_t m, char *buf, size_t buflen)
{
    /* cents may be any int64 here (sums are checked, but be safe): use unsigned magnitude */
    uint64_t mag = m.cents < 0 ? (uint64_t)0 - (uint64_t)m.cents : (uint64_t)m.cents;
    snprintf(buf, buflen, "%s%llu.%02llu", m.cents < 0 ? "-" : "", (unsigned long long)(mag / 100),
             (unsigned long long)(mag % 100));
    return buf;
}

static money_err_t money_check(int64_t v, money_t *out)
{
    if (v > MONEY_MAX_CENTS || v < -MONEY_MAX_CENTS)
        return MONEY_ERANGE;
    out->cents = v;
    return MONEY_OK;
}

money_err_t money_add(money_t a, money_t b, money_t *out)
{
    int64_t v;
    if (__builtin_add_overflow(a.cents, b.cents, &v))
        return MONEY_ERANGE;
    return money_check(v, out);
}

money_err_t money_mul(money_t a, int64_t n, money_t *out)
{
    int64_t v;
    if (__builtin_mul_overflow(a.cents, n, &v))
        return MONEY_ERANGE;
    return money_check(v, out);
}
