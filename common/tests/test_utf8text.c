/* test_utf8text.c — unit tests for utf8text: characters counted as code points, every
 * kind of invalid sequence refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "utf8text.h"

static long chars(const char *s)
{
    return utf8text_chars(s, strlen(s));
}

static void test_counts_code_points(void **state)
{
    (void)state;
    assert_int_equal(chars(""), 0);
    assert_int_equal(chars("abc"), 3);
    assert_int_equal(chars("Zürich"), 6);           /* 2-byte ü */
    assert_int_equal(chars("日本語"), 3);           /* 3 bytes each */
    assert_int_equal(chars("😀x"), 2);               /* 4-byte emoji */
    assert_int_equal(chars("\xf4\x8f\xbf\xbf"), 1); /* U+10FFFF, the last code point */
    assert_int_equal(utf8text_chars("a\0b", 3), 3); /* NUL is a character (rules reject it) */
}

static void test_invalid_refused(void **state)
{
    (void)state;
    assert_int_equal(chars("\xff"), -1);             /* never a UTF-8 byte */
    assert_int_equal(chars("\x80"), -1);             /* stray continuation */
    assert_int_equal(chars("\xc3"), -1);             /* truncated */
    assert_int_equal(chars("\xe6\x97"), -1);         /* truncated 3-byte */
    assert_int_equal(chars("\xc0\xaf"), -1);         /* overlong '/' */
    assert_int_equal(chars("\xe0\x80\xaf"), -1);     /* overlong, 3 bytes */
    assert_int_equal(chars("\xed\xa0\x80"), -1);     /* surrogate U+D800 */
    assert_int_equal(chars("\xf4\x90\x80\x80"), -1); /* beyond U+10FFFF */
    assert_int_equal(chars("\xc3\x28"), -1);         /* bad continuation */
    assert_int_equal(chars("ok\xff"), -1);
}

static void test_next(void **state)
{
    (void)state;
    unsigned cp = 0;
    assert_int_equal(utf8text_next((const unsigned char *)"€", 3, &cp), 3);
    assert_int_equal(cp, 0x20AC);
    assert_int_equal(utf8text_next((const unsigned char *)"€", 2, &cp), 0); /* n bounds the read */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_code_points),
        cmocka_unit_test(test_invalid_refused),
        cmocka_unit_test(test_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
