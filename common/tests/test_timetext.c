/* test_timetext.c — unit tests of common/base/timetext.c: the accepted forms, what is refused,
 * and the round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "timetext.h"

static void test_parse(void **state)
{
    (void)state;
    int64_t ms = 0;
    assert_int_equal(timetext_parse("2026-03-01T10:00:00Z", &ms), 0);
    assert_int_equal(ms, 1772359200000LL);
    assert_int_equal(timetext_parse("2026-03-01T10:00:00.123Z", &ms), 0);
    assert_int_equal(ms, 1772359200123LL);
    assert_int_equal(timetext_parse("2026-03-01T10:00:00.1234567Z", &ms), 0);
    assert_int_equal(ms, 1772359200123LL);
    assert_int_equal(timetext_parse("2026-03-01 12:00:00+02:00", &ms), 0);
    assert_int_equal(ms, 1772359200000LL);
    assert_int_equal(timetext_parse("2026-03-01T09:30:00-00:30", &ms), 0);
    assert_int_equal(ms, 1772359200000LL);
    assert_int_equal(timetext_parse("1772359200000", &ms), 0);
    assert_int_equal(ms, 1772359200000LL);
}

static void test_refused(void **state)
{
    (void)state;
    int64_t ms = 42;
    const char *bad[] = {NULL,
                         "",
                         "yesterday",
                         "2026-03-01",
                         "2026-03-01T10:00:00",
                         "2026-13-01T10:00:00Z",
                         "2026-02-30T10:00:00Z",
                         "2026-03-01T10:00:00.Z",
                         "2026-03-01T10:00:00Zx",
                         "2026-03-01T10:00:00+2:00",
                         "-5",
                         "1234567890123456"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(timetext_parse(bad[i], &ms), -1);
    assert_int_equal(ms, 42);
}

static void test_format(void **state)
{
    (void)state;
    char out[TIMETEXT_LEN + 1];
    int64_t back = 0;
    timetext_format(1772359200123LL, out);
    assert_string_equal(out, "2026-03-01T10:00:00.123Z");
    assert_int_equal(timetext_parse(out, &back), 0);
    assert_int_equal(back, 1772359200123LL);
    timetext_format(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_parse), cmocka_unit_test(test_refused),
                                       cmocka_unit_test(test_format)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
