/* test_vcache.c — unit tests of the rebuild's in-memory id → version map (growth,
 * overwrite, deletion and re-insertion, case-insensitive UUIDs, invalid ids). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "dataaccess/vcache.h"

static void id_of(char out[37], long n)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%08lx-0000-4000-8000-%012ld", n * 7919 % 100000, n);
    for (int i = 0; i < 36; i++)
        out[i] = tmp[i];
    out[36] = '\0';
}

static void test_put_get_del(void **st)
{
    (void)st;
    os_vcache_t *c = os_vcache_new();
    char id[37];
    int64_t v = 0;
    assert_non_null(c);
    for (long i = 0; i < 100000; i++) {
        id_of(id, i);
        assert_int_equal(os_vcache_put(c, id, i + 1), 0);
    }
    assert_int_equal(os_vcache_count(c), 100000);
    for (long i = 0; i < 100000; i += 997) {
        id_of(id, i);
        assert_int_equal(os_vcache_get(c, id, &v), 1);
        assert_int_equal(v, i + 1);
    }
    id_of(id, 5);
    assert_int_equal(os_vcache_put(c, id, 42), 0);
    assert_int_equal(os_vcache_count(c), 100000);
    assert_int_equal(os_vcache_get(c, id, &v), 1);
    assert_int_equal(v, 42);
    os_vcache_del(c, id);
    assert_int_equal(os_vcache_get(c, id, &v), 0);
    assert_int_equal(os_vcache_count(c), 99999);
    os_vcache_del(c, id); /* twice: no-op */
    assert_int_equal(os_vcache_count(c), 99999);
    assert_int_equal(os_vcache_put(c, id, 1), 0);
    assert_int_equal(os_vcache_get(c, id, &v), 1);
    assert_int_equal(v, 1);
    /* deleting and re-adding many keeps lookups working (tombstones) */
    for (long i = 0; i < 50000; i++) {
        id_of(id, i);
        os_vcache_del(c, id);
    }
    for (long i = 0; i < 50000; i++) {
        id_of(id, i);
        assert_int_equal(os_vcache_get(c, id, &v), 0);
        assert_int_equal(os_vcache_put(c, id, 7), 0);
    }
    assert_int_equal(os_vcache_count(c), 100000);
    os_vcache_free(c);
    os_vcache_free(NULL);
}

static void test_case_and_invalid(void **st)
{
    (void)st;
    os_vcache_t *c = os_vcache_new();
    int64_t v = 0;
    assert_int_equal(os_vcache_put(c, "ABCDEF00-0000-4000-8000-000000000001", 3), 0);
    assert_int_equal(os_vcache_get(c, "abcdef00-0000-4000-8000-000000000001", &v), 1);
    assert_int_equal(v, 3);
    assert_int_equal(os_vcache_put(c, "not-a-uuid", 1), -1);
    assert_int_equal(os_vcache_put(c, "abcdef00-0000-4000-8000-0000000000011", 1), -1);
    assert_int_equal(os_vcache_get(c, "zz", &v), 0);
    os_vcache_del(c, "zz");
    os_vcache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_del),
        cmocka_unit_test(test_case_and_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
