/* test_ratelimit.c — unit tests of the failed-login limit: refused after the limit within
 * the window and for the block time, per address, reset by a success and by a new window;
 * the process-wide hashing budget per second; a flood of addresses stays in the table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "auth/ratelimit.h"

static void test_limit(void **state)
{
    (void)state;
    cs_ratelimit_t rl;
    cs_ratelimit_init(&rl, 3, 60, 30, 100);
    const unsigned char a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
    time_t t = 1000;
    assert_int_equal(cs_ratelimit_blocked(&rl, a, 4, t), 0);
    assert_int_equal(cs_ratelimit_fail(&rl, a, 4, t), 0);
    assert_int_equal(cs_ratelimit_fail(&rl, a, 4, t + 1), 0);
    assert_int_equal(cs_ratelimit_fail(&rl, a, 4, t + 2), 30); /* the third: refused for 30 s */
    assert_int_equal(cs_ratelimit_blocked(&rl, a, 4, t + 2), 30);
    assert_int_equal(cs_ratelimit_blocked(&rl, a, 4, t + 31), 1);
    assert_int_equal(cs_ratelimit_blocked(&rl, a, 4, t + 32), 0);
    assert_int_equal(cs_ratelimit_blocked(&rl, b, 4, t + 2), 0); /* per address */
    /* a success starts the count again */
    assert_int_equal(cs_ratelimit_fail(&rl, b, 4, t), 0);
    assert_int_equal(cs_ratelimit_fail(&rl, b, 4, t), 0);
    cs_ratelimit_ok(&rl, b, 4);
    assert_int_equal(cs_ratelimit_fail(&rl, b, 4, t), 0);
    assert_int_equal(cs_ratelimit_fail(&rl, b, 4, t), 0);
    /* so does a new window */
    assert_int_equal(cs_ratelimit_fail(&rl, b, 4, t + 61), 0);
    /* hashing time per second, process-wide (100 ms here) */
    assert_true(cs_ratelimit_expensive(&rl, t));
    cs_ratelimit_spent(&rl, t, 60);
    assert_true(cs_ratelimit_expensive(&rl, t));
    cs_ratelimit_spent(&rl, t, 60);
    assert_false(cs_ratelimit_expensive(&rl, t));
    assert_true(cs_ratelimit_expensive(&rl, t + 1));
    cs_ratelimit_spent(&rl, t + 1, 2500); /* one very slow hash: the next second is refused, no more */
    assert_false(cs_ratelimit_expensive(&rl, t + 2));
    assert_true(cs_ratelimit_expensive(&rl, t + 3));
    cs_ratelimit_spent(&rl, t + 3, 150); /* a little over: carried into the next second */
    assert_true(cs_ratelimit_expensive(&rl, t + 4));
    cs_ratelimit_spent(&rl, t + 4, 60);
    assert_false(cs_ratelimit_expensive(&rl, t + 4));
    cs_ratelimit_destroy(&rl);
}

static void test_flood_of_addresses(void **state)
{
    (void)state;
    cs_ratelimit_t rl;
    cs_ratelimit_init(&rl, 2, 60, 60, 0);
    unsigned char v6[16] = {0x20, 0x01};
    for (unsigned i = 0; i < 100000; i++) { /* far more addresses than slots: no growth, no crash */
        memcpy(v6 + 12, &i, sizeof(i));
        cs_ratelimit_fail(&rl, v6, 16, 5000 + (time_t)(i / 1000));
    }
    const unsigned char a[4] = {192, 168, 1, 1};
    assert_int_equal(cs_ratelimit_fail(&rl, a, 4, 6000), 0);
    assert_int_equal(cs_ratelimit_fail(&rl, a, 4, 6000), 60);
    assert_int_equal(cs_ratelimit_blocked(&rl, a, 4, 6001), 59);
    assert_int_equal(cs_ratelimit_blocked(&rl, a, 0, 6001), 0); /* no address: never refused */
    cs_ratelimit_destroy(&rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_flood_of_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
