/* money.h — exact decimal money for order-service (domain layer, libc only).
 *
 * An amount is an integer number of minor units (cents, scale 2). Parsing accepts the
 * decimal text a client sends ("200", "200.0", "200.00", "2e2", "-5.5") and normalises the
 * scale, so 200 == 200.00. The rule for extra decimals: digits beyond the second are
 * allowed only when they are zeros ("1.500" is 1.50, "1.005" is rejected) — amounts are
 * never rounded. Every amount is bounded by the storage type numeric(10,2): its absolute
 * value is at most MONEY_MAX_CENTS; arithmetic reports overflow instead of wrapping.
 */
#ifndef OS_MONEY_H
#define OS_MONEY_H

#include <stddef.h>
#include <stdint.h>

typedef struct money {
    int64_t cents; /* minor units, scale 2 */
} money_t;

/* 99,999,999.99: the largest amount numeric(10,2) can hold. */
#define MONEY_MAX_CENTS INT64_C(9999999999)
/* Room for "-99999999.99" and larger intermediate sums, with the NUL. */
#define MONEY_STR_MAX 32

typedef enum {
    MONEY_OK = 0,
    MONEY_ESYNTAX, /* not a decimal number */
    MONEY_ESCALE,  /* more than two non-zero decimals */
    MONEY_ERANGE,  /* |amount| > MONEY_MAX_CENTS */
} money_err_t;

/* Parses `len` bytes of `s` (no NUL needed). Grammar: [+-]digits[.digits][(e|E)[+-]digits]
 * (a leading or trailing '.' needs digits on the other side). */
money_err_t money_parse(const char *s, size_t len, money_t *out);
/* Formats with exactly two decimals ("200.00", "-0.50") into buf (≥ MONEY_STR_MAX). */
const char *money_format(money_t m, char *buf, size_t buflen);

/* out = a + b; MONEY_ERANGE when the result leaves the numeric(10,2) range. */
money_err_t money_add(money_t a, money_t b, money_t *out);
/* out = a × n; MONEY_ERANGE on overflow or out of range. */
money_err_t money_mul(money_t a, int64_t n, money_t *out);

static inline int money_eq(money_t a, money_t b)
{
    return a.cents == b.cents;
}
static inline int money_is_positive(money_t a)
{
    return a.cents > 0;
}
static inline money_t money_from_cents(int64_t c)
{
    money_t m = {c};
    return m;
}

#endif
