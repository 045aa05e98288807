/* test_money.c — unit tests of exact decimal money (parse, scale rules, range, format,
 * checked arithmetic). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/money.h"

static int64_t cents(const char *s)
{
    money_t m = {-12345};
    assert_int_equal(money_parse(s, strlen(s), &m), MONEY_OK);
    return m.cents;
}

static money_err_t perr(const char *s)
{
    money_t m = {777};
    money_err_t e = money_parse(s, strlen(s), &m);
    if (e != MONEY_OK)
        assert_int_equal(m.cents, 777); /* untouched on error */
    return e;
}

static void test_scale_normalised(void **st)
{
    (void)st;
    assert_int_equal(cents("200"), 20000);
    assert_int_equal(cents("200.0"), 20000);
    assert_int_equal(cents("200.00"), 20000);
    assert_int_equal(cents("200.000"), 20000);
    assert_int_equal(cents("0200.00"), 20000);
    assert_int_equal(cents("2e2"), 20000);
    assert_int_equal(cents("2.5E1"), 2500);
    assert_int_equal(cents("1.5"), 150);
    assert_int_equal(cents("1.50"), 150);
    assert_int_equal(cents("1.500000"), 150);
    assert_int_equal(cents(".5"), 50);
    assert_int_equal(cents("5."), 500);
    assert_int_equal(cents("0.01"), 1);
    assert_int_equal(cents("1e-2"), 1);
    assert_int_equal(cents("100e-2"), 100);
    assert_int_equal(cents("+3"), 300);
}

static void test_exponent_with_fraction(void **st)
{
    (void)st;
    assert_int_equal(cents("1.5e1"), 1500);
    assert_int_equal(cents("1.234e2"), 12340);
    assert_int_equal(cents("1.2345e2"), 12345);
    assert_int_equal(cents("12345E-2"), 12345);
    assert_int_equal(cents("1234500e-4"), 12345);
    assert_int_equal(cents("0.00012345e6"), 12345);
    assert_int_equal(cents("1e+2"), 10000);
    assert_int_equal(cents("00.10"), 10);
    assert_int_equal(perr("1.23456e2"), MONEY_ESCALE);
    assert_int_equal(perr("12345e-3"), MONEY_ESCALE);
    assert_int_equal(perr("9.9999999999e7"), MONEY_ESCALE);
    assert_int_equal(cents("9.999999999e7"), MONEY_MAX_CENTS);
    assert_int_equal(perr("1e"), MONEY_ESYNTAX);
    assert_int_equal(perr("1e2.5"), MONEY_ESYNTAX);
    assert_int_equal(perr("1ee2"), MONEY_ESYNTAX);
}

static void test_zero_and_negative(void **st)
{
    (void)st;
    assert_int_equal(cents("0"), 0);
    assert_int_equal(cents("0.00"), 0);
    assert_int_equal(cents("-0"), 0);
    assert_int_equal(cents("0e999999999"), 0);
    assert_int_equal(cents("-5.5"), -550);
    assert_int_equal(cents("-0.01"), -1);
}

static void test_too_many_decimals(void **st)
{
    (void)st;
    assert_int_equal(perr("1.005"), MONEY_ESCALE);
    assert_int_equal(perr("0.001"), MONEY_ESCALE);
    assert_int_equal(perr("1e-3"), MONEY_ESCALE);
    assert_int_equal(perr("50.123"), MONEY_ESCALE);
    assert_int_equal(perr("1.0000000000000000000000000000000000000000000000001"), MONEY_ESCALE);
}

static void test_syntax(void **st)
{
    (void)st;
    const char *bad[] = {"",    "-",  "+",  ".",    "abc", "1a", "1.2.3", "1e",       "1e+",
                         "--1", "1 ", " 1", "0x10", "1,5", "e5", "NaN",   "Infinity", "1..2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(perr(bad[i]), MONEY_ESYNTAX);
    money_t m;
    assert_int_equal(money_parse(NULL, 0, &m), MONEY_ESYNTAX);
    /* length-bounded: only the first 3 bytes */
    assert_int_equal(money_parse("12.50", 2, &m), MONEY_OK);
    assert_int_equal(m.cents, 1200);
}

static void test_range(void **st)
{
    (void)st;
    assert_int_equal(cents("99999999.99"), MONEY_MAX_CENTS);
    assert_int_equal(cents("-99999999.99"), -MONEY_MAX_CENTS);
    assert_int_equal(perr("100000000"), MONEY_ERANGE);
    assert_int_equal(perr("100000000.00"), MONEY_ERANGE);
    assert_int_equal(perr("1e8"), MONEY_ERANGE);
    assert_int_equal(perr("1e999999999999"), MONEY_ERANGE);
    assert_int_equal(perr("99999999999999999999999999999999999999999999999999"), MONEY_ERANGE);
    assert_int_equal(perr("9223372036854775807"), MONEY_ERANGE);
    assert_int_equal(cents("00000000000000000000000000000000000000000000000001.5"), 150);
}

static void test_format(void **st)
{
    (void)st;
    char b[MONEY_STR_MAX];
    assert_string_equal(money_format(money_from_cents(20000), b, sizeof b), "200.00");
    assert_string_equal(money_format(money_from_cents(5), b, sizeof b), "0.05");
    assert_string_equal(money_format(money_from_cents(-50), b, sizeof b), "-0.50");
    assert_string_equal(money_format(money_from_cents(0), b, sizeof b), "0.00");
    assert_string_equal(money_format(money_from_cents(INT64_MIN), b, sizeof b), "-92233720368547758.08");
}

static void test_arith(void **st)
{
    (void)st;
    money_t r;
    assert_int_equal(money_add(money_from_cents(5000), money_from_cents(15000), &r), MONEY_OK);
    assert_int_equal(r.cents, 20000);
    assert_int_equal(money_mul(money_from_cents(5000), 3, &r), MONEY_OK);
    assert_int_equal(r.cents, 15000);
    assert_int_equal(money_add(money_from_cents(MONEY_MAX_CENTS), money_from_cents(1), &r), MONEY_ERANGE);
    assert_int_equal(money_mul(money_from_cents(MONEY_MAX_CENTS), 2, &r), MONEY_ERANGE);
    assert_int_equal(money_mul(money_from_cents(INT64_MAX), INT64_MAX, &r), MONEY_ERANGE);
    assert_int_equal(money_add(money_from_cents(INT64_MAX), money_from_cents(1), &r), MONEY_ERANGE);
    assert_true(money_eq(money_from_cents(20000), money_from_cents(20000)));
    assert_false(money_is_positive(money_from_cents(0)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scale_normalised),
        cmocka_unit_test(test_exponent_with_fraction),
        cmocka_unit_test(test_zero_and_negative),
        cmocka_unit_test(test_too_many_decimals),
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_arith),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
