/* test_uuidtext.c — unit tests of common/base/uuidtext.c: the accepted form and normalisation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "uuidtext.h"

#define U1 "d215b5f8-0249-4dc5-89a3-51fd148cfb41"

static void test_valid(void **state)
{
    (void)state;
    assert_true(uuidtext_valid(U1));
    assert_true(uuidtext_valid("D215B5F8-0249-4DC5-89A3-51FD148CFB41"));
    assert_false(uuidtext_valid("d215b5f8-0249-4dc5-89a3-51fd148cfb4"));
    assert_false(uuidtext_valid("d215b5f8-0249-4dc5-89a3-51fd148cfb41x"));
    assert_false(uuidtext_valid("d215b5f8x0249-4dc5-89a3-51fd148cfb41"));
    assert_false(uuidtext_valid("d215b5f8_0249-4dc5-89a3-51fd148cfb41"));
    assert_false(uuidtext_valid("g215b5f8-0249-4dc5-89a3-51fd148cfb41"));
    assert_false(uuidtext_valid(""));
    assert_false(uuidtext_valid(NULL));
}

static void test_normalize(void **state)
{
    (void)state;
    char out[UUIDTEXT_LEN + 1] = "untouched";
    assert_int_equal(uuidtext_normalize("D215B5F8-0249-4DC5-89A3-51FD148CFB41", out), 0);
    assert_string_equal(out, U1);
    char keep[UUIDTEXT_LEN + 1] = "untouched";
    assert_int_equal(uuidtext_normalize("nope", keep), -1);
    assert_string_equal(keep, "untouched");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_valid), cmocka_unit_test(test_normalize)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
