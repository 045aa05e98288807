/* test_dbuf.c — unit tests of common/base/dbuf.c: appends, formatting, the cap, take. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "dbuf.h"

static void test_append_and_format(void **s)
{
    (void)s;
    dbuf_t b;
    dbuf_init(&b, 1024);
    assert_string_equal(dbuf_ptr(&b), "");
    assert_int_equal(dbuf_adds(&b, "abc"), 0);
    assert_int_equal(dbuf_add(&b, "\0x", 2), 0);
    assert_int_equal(dbuf_len(&b), 5);
    assert_int_equal(dbuf_addf(&b, "-%d-%s", 42, "z"), 0);
    assert_memory_equal(dbuf_ptr(&b), "abc\0x-42-z", 10);
    dbuf_reset(&b);
    assert_int_equal(dbuf_len(&b), 0);
    assert_string_equal(dbuf_ptr(&b), "");
    dbuf_free(&b);
}

static void test_cap_frees(void **s)
{
    (void)s;
    dbuf_t b;
    dbuf_init(&b, 8);
    assert_int_equal(dbuf_adds(&b, "12345678"), 0);
    assert_int_equal(dbuf_adds(&b, "9"), -1);
    assert_int_equal(dbuf_len(&b), 0); /* freed itself */
    assert_int_equal(dbuf_addf(&b, "%s", "123456789"), -1);
    assert_int_equal(dbuf_adds(&b, "ok"), 0); /* reusable */
    assert_string_equal(dbuf_ptr(&b), "ok");
    dbuf_free(&b);
    dbuf_free(NULL);
}

static void test_grow_large(void **s)
{
    (void)s;
    dbuf_t b;
    dbuf_init(&b, 1 << 20);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(dbuf_addf(&b, "%04d", i % 10000), 0);
    assert_int_equal(dbuf_len(&b), 40000);
    assert_memory_equal(dbuf_ptr(&b) + 39996, "9999", 4);
    dbuf_free(&b);
}

static void test_take(void **s)
{
    (void)s;
    dbuf_t b;
    size_t len = 99;
    dbuf_init(&b, 64);
    char *empty = dbuf_take(&b, &len);
    assert_non_null(empty);
    assert_int_equal(len, 0);
    assert_string_equal(empty, "");
    free(empty);
    dbuf_adds(&b, "hello");
    char *p = dbuf_take(&b, &len);
    assert_string_equal(p, "hello");
    assert_int_equal(len, 5);
    assert_int_equal(dbuf_len(&b), 0);
    free(p);
    dbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_format),
        cmocka_unit_test(test_cap_frees),
        cmocka_unit_test(test_grow_large),
        cmocka_unit_test(test_take),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
