/* test_clog.c — unit tests of common/base/clog.c: one valid JSON object per line, levels,
 * extra fields, and messages that are not valid UTF-8. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clog.h"

/* Logs through `fn` into a memory stream and returns the parsed single line (owned). */
static json_t *capture(const char *level, void (*fn)(const clog_t *))
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    clog_t l;
    clog_init(&l, "test-svc", level, f);
    fn(&l);
    fclose(f);
    json_t *j = NULL;
    if (len > 0) {
        assert_int_equal(buf[len - 1], '\n');
        assert_null(memchr(buf, '\n', len - 1)); /* exactly one line */
        json_error_t e;
        j = json_loadb(buf, len, 0, &e);
        assert_non_null(j);
    }
    free(buf);
    return j;
}

static void log_info(const clog_t *l)
{
    clog_info(l, "started on port %d", 8888);
}
static void log_debug(const clog_t *l)
{
    clog_debug(l, "noise");
}
static void log_fields(const clog_t *l)
{
    clog_ev(l, CLOG_WARN, json_pack("{s:s,s:i}", "route", "/customers", "status", 409),
            "conflict \"quoted\"");
}
static void log_bad_utf8(const clog_t *l)
{
    clog_error(l, "bad \xff\xfe bytes");
}

static void test_line_shape(void **s)
{
    (void)s;
    json_t *j = capture("info", log_info);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(j, "service")), "test-svc");
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "started on port 8888");
    const char *ts = json_string_value(json_object_get(j, "ts"));
    assert_non_null(ts);
    assert_int_equal(strlen(ts), 24);
    assert_int_equal(ts[23], 'Z');
    json_decref(j);
}

static void test_level_filter(void **s)
{
    (void)s;
    assert_null(capture("info", log_debug));
    json_t *j = capture("debug", log_debug);
    assert_non_null(j);
    json_decref(j);
    assert_int_equal(clog_level_parse("WARNING"), CLOG_WARN);
    assert_int_equal(clog_level_parse("nope"), -1);
}

static void test_fields_and_escaping(void **s)
{
    (void)s;
    json_t *j = capture("info", log_fields);
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "conflict \"quoted\"");
    assert_string_equal(json_string_value(json_object_get(j, "route")), "/customers");
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 409);
    json_decref(j);
}

static void test_invalid_utf8_still_logs(void **s)
{
    (void)s;
    json_t *j = capture("info", log_bad_utf8);
    assert_non_null(json_object_get(j, "msg"));
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_shape),
        cmocka_unit_test(test_level_filter),
        cmocka_unit_test(test_fields_and_escaping),
        cmocka_unit_test(test_invalid_utf8_still_logs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
