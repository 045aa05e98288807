/* it_pgx.c — common/pg/pgx.c against the real PostgreSQL: connect (and its bounded retry on a
 * dead address), migrations applied once and in order, a failing migration rolled back
 * without touching earlier ones, SQLSTATEs, error text, a stoppable connect and conninfo
 * quoting. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgx.h"
#include "ts.h"

static clog_t quiet;

static PGconn *connect_test_db(void)
{
    PGconn *c = pgx_connect(ts_env("CQ_PG_CONNINFO", "host=127.0.0.1 port=25433 user=postgres dbname=cqrs"),
                            3, &quiet);
    assert_non_null(c);
    return c;
}

static void test_connect_retry_gives_up(void **s)
{
    (void)s;
    long long t0 = ts_now_ms();
    PGconn *c = pgx_connect("host=127.0.0.1 port=1 user=postgres dbname=cqrs connect_timeout=1", 3, &quiet);
    assert_null(c);
    long long took = ts_now_ms() - t0;
    assert_true(took >= 500 && took < 10000); /* two pauses: 200 + 400 ms */
}

static void test_migrate_once_in_order(void **s)
{
    (void)s;
    PGconn *c = connect_test_db();
    char comp[64], sql[256];
    snprintf(comp, sizeof comp, "it_pgx_%d", (int)getpid());
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s_t", comp);
    assert_int_equal(pgx_exec(c, sql, NULL, 0), 0);

    char m1[256], m2[256];
    snprintf(m1, sizeof m1, "CREATE TABLE %s_t(v int)", comp);
    snprintf(m2, sizeof m2, "INSERT INTO %s_t VALUES (2)", comp);
    const embed_file_t files[] = {{"001_create.sql", (const unsigned char *)m1, strlen(m1)},
                                  {"002_insert.sql", (const unsigned char *)m2, strlen(m2)},
                                  {NULL, NULL, 0}};
    assert_int_equal(pgx_migrate(c, comp, files, &quiet), 2);
    assert_int_equal(pgx_migrate(c, comp, files, &quiet), 0); /* idempotent */

    /* A third, broken migration fails, is rolled back, and leaves the data alone. */
    char m3[256];
    snprintf(m3, sizeof m3, "INSERT INTO %s_t VALUES (3); SELECT no_such_function()", comp);
    const embed_file_t more[] = {
        files[0], files[1], {"003_broken.sql", (const unsigned char *)m3, strlen(m3)}, {NULL, NULL, 0}};
    assert_int_equal(pgx_migrate(c, comp, more, &quiet), -1);
    snprintf(sql, sizeof sql, "SELECT string_agg(v::text, ',') FROM %s_t", comp);
    PGresult *r = PQexec(c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "2");
    PQclear(r);

    snprintf(sql, sizeof sql, "DROP TABLE %s_t", comp);
    pgx_exec(c, sql, NULL, 0);
    PQfinish(c);
}

static void test_sqlstate_and_exec_error(void **s)
{
    (void)s;
    PGconn *c = connect_test_db();
    char err[256] = "";
    assert_int_equal(pgx_exec(c, "SELEC 1", err, sizeof err), -1);
    assert_non_null(strstr(err, "syntax error"));
    PGresult *r = PQexec(c, "SELECT 1/0");
    assert_string_equal(pgx_sqlstate(r), "22012");
    assert_int_equal(pgx_unavailable(r, c), 0); /* the statement's fault: not an outage */
    PQclear(r);
    assert_string_equal(pgx_sqlstate(NULL), "");
    /* a write refused as on a standby (25006) counts as the server being unavailable */
    r = PQexec(c, "BEGIN READ ONLY; CREATE TEMP TABLE ro_t (x int)");
    assert_string_equal(pgx_sqlstate(r), "25006");
    assert_int_equal(pgx_unavailable(r, c), 1);
    PQclear(r);
    pgx_exec(c, "ROLLBACK", NULL, 0);
    /* an idle healthy primary connection can be lent; the server ending it cannot */
    assert_int_equal(pgx_on_standby(c), 0);
    assert_int_equal(pgx_idle_usable(c), 1);
    PGconn *killer = connect_test_db();
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", PQbackendPID(c));
    assert_int_equal(pgx_exec(killer, sql, NULL, 0), 0);
    PQfinish(killer);
    usleep(200 * 1000);
    assert_int_equal(pgx_idle_usable(c), 0);
    assert_int_equal(pgx_unavailable(NULL, c), 1);
    PQfinish(c);
}

static int stop_now(void)
{
    return 1;
}

static void test_connect_until_stops(void **s)
{
    (void)s;
    long long t0 = ts_now_ms();
    PGconn *c = pgx_connect_until("host=127.0.0.1 port=1 user=postgres dbname=cqrs connect_timeout=1", 30,
                                  &quiet, stop_now);
    assert_null(c);
    assert_true(ts_now_ms() - t0 < 2000); /* one attempt, no pause (30 attempts take ~50 s) */
}

static void test_fail_message(void **s)
{
    (void)s;
    PGconn *c = connect_test_db();
    char err[256] = "";
    assert_int_equal(pgx_fail(PQexec(c, "SELECT 1/0"), c, "divide", err, sizeof err), -1);
    assert_non_null(strstr(err, "divide: ERROR:  division by zero"));
    assert_null(strchr(err, '\n')); /* trimmed: one log line */
    assert_int_equal(pgx_fail(NULL, NULL, "nothing", err, sizeof err), -1);
    assert_string_equal(err, "nothing: no connection");
    PQfinish(c);
}

static void test_conninfo_quoting(void **s)
{
    (void)s;
    char *ci = pgx_conninfo("127.0.0.1", "5432", "postgres", "pa's\\s w", NULL);
    assert_string_equal(ci, "host='127.0.0.1' port='5432' user='postgres' password='pa\\'s\\\\s w'");
    free(ci);
}

int main(void)
{
    clog_init(&quiet, "it_pgx", "error", stderr);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_retry_gives_up),
        cmocka_unit_test(test_migrate_once_in_order),
        cmocka_unit_test(test_sqlstate_and_exec_error),
        cmocka_unit_test(test_connect_until_stops),
        cmocka_unit_test(test_fail_message),
        cmocka_unit_test(test_conninfo_quoting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
