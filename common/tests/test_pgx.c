/* test_pgx.c — unit tests of pgx's multi-host address checks and failure classification
 * (no server: the connection-level behaviour is covered by it_pgx and the fault suite). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include "pgx.h"

static void t_check_hosts(void **state)
{
    char err[256];
    (void)state;
    assert_int_equal(pgx_check_hosts("db", "5432", err, sizeof err), 0);
    assert_int_equal(pgx_check_hosts("a,b", "5432", err, sizeof err), 0);        /* one port for all */
    assert_int_equal(pgx_check_hosts("a,b", "34432,34433", err, sizeof err), 0); /* one per host */
    assert_int_equal(pgx_check_hosts("/run/pg,b", "1,65535", err, sizeof err), 0);
    assert_int_equal(pgx_check_hosts("a,b,c", "1,2", err, sizeof err), -1);
    assert_non_null(strstr(err, "3 database hosts but 2 ports"));
    assert_int_equal(pgx_check_hosts("a,", "1", err, sizeof err), -1);
    assert_non_null(strstr(err, "empty entry"));
    assert_int_equal(pgx_check_hosts(",a", "1", err, sizeof err), -1);
    assert_int_equal(pgx_check_hosts("", "1", err, sizeof err), -1);
    assert_int_equal(pgx_check_hosts(NULL, "1", err, sizeof err), -1);
    assert_int_equal(pgx_check_hosts("a", "0", err, sizeof err), -1);
    assert_non_null(strstr(err, "1..65535"));
    assert_int_equal(pgx_check_hosts("a", "70000", err, sizeof err), -1);
    assert_int_equal(pgx_check_hosts("a", "12x", err, sizeof err), -1);
    assert_int_equal(pgx_check_hosts("a,b", "1,", err, sizeof err), -1);
    assert_int_equal(pgx_check_hosts("a", "", err, sizeof err), -1);
    assert_int_equal(pgx_check_hosts("a", NULL, err, sizeof err), -1);
}

static void t_target_attrs(void **state)
{
    (void)state;
    assert_true(pgx_target_attrs_ok("read-write"));
    assert_true(pgx_target_attrs_ok("any"));
    assert_true(pgx_target_attrs_ok("prefer-standby"));
    assert_false(pgx_target_attrs_ok("readwrite"));
    assert_false(pgx_target_attrs_ok(""));
    assert_false(pgx_target_attrs_ok(NULL));
}

static void t_no_connection(void **state)
{
    (void)state;
    assert_int_equal(pgx_unavailable(NULL, NULL), 1); /* no connection: unavailable */
    assert_int_equal(pgx_on_standby(NULL), 0);
    assert_int_equal(pgx_idle_usable(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_check_hosts),
        cmocka_unit_test(t_target_attrs),
        cmocka_unit_test(t_no_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
