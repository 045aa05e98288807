/* it_pgpipe.c — dataaccess/pgpipe on the real PostgreSQL: several statements in one
 * round trip, the last result handed over, prepared statements, the FIRST error reported
 * (the rest skipped, the explicit transaction left failed for the caller to roll back),
 * a connection killed mid-pipeline (error, out of pipeline mode, usable after a reset),
 * and discarding an abandoned pipeline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "dataaccess/pgpipe.h"
#include "ts.h"

static PGconn *connect_test_db(void)
{
    PGconn *c = PQconnectdb(ts_env("CQ_PG_CONNINFO", "host=127.0.0.1 port=5433 user=postgres dbname=cqrs"));
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    return c;
}

static int setup(void **state)
{
    *state = connect_test_db();
    return 0;
}

static int teardown(void **state)
{
    PQfinish(*state);
    return 0;
}

/* A plain statement still works on the connection (it is out of pipeline mode). */
static void assert_usable(PGconn *c)
{
    assert_int_equal(PQpipelineStatus(c), PQ_PIPELINE_OFF);
    PGresult *r = PQexec(c, "SELECT 7");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "7");
    PQclear(r);
}

static void test_batch_last_result(void **state)
{
    PGconn *c = *state;
    os_pgpipe_t p = {c, 0};
    char err[256] = "";
    const char *v[1] = {"41"};
    PGresult *last = NULL;
    assert_int_equal(os_pgpipe_send(&p, NULL, "SELECT 1", 0, NULL, err, sizeof err), 0);
    assert_int_equal(os_pgpipe_send(&p, NULL, "SELECT $1::int + 1", 1, v, err, sizeof err), 0);
    assert_int_equal(p.queued, 2);
    assert_int_equal(PQpipelineStatus(c), PQ_PIPELINE_ON);
    assert_int_equal(os_pgpipe_sync(&p, &last, "batch", err, sizeof err), 0);
    assert_non_null(last);
    assert_string_equal(PQgetvalue(last, 0, 0), "42");
    PQclear(last);
    assert_int_equal(p.queued, 0);
    assert_usable(c);
}

static void test_prepared(void **state)
{
    PGconn *c = *state;
    os_pgpipe_t p = {c, 0};
    char err[256] = "";
    const char *v[2] = {"20", "22"};
    PGresult *last = NULL;
    PQclear(PQprepare(c, "it_pgpipe_add", "SELECT $1::int + $2::int", 2, NULL));
    assert_int_equal(os_pgpipe_send(&p, "it_pgpipe_add", NULL, 2, v, err, sizeof err), 0);
    assert_int_equal(os_pgpipe_send(&p, "it_pgpipe_add", NULL, 2, v, err, sizeof err), 0);
    assert_int_equal(os_pgpipe_sync(&p, &last, "prepared", err, sizeof err), 0);
    assert_string_equal(PQgetvalue(last, 0, 0), "42");
    PQclear(last);
    /* an unknown statement is an error like any other */
    assert_int_equal(os_pgpipe_send(&p, "it_pgpipe_nope", NULL, 0, NULL, err, sizeof err), 0);
    assert_int_equal(os_pgpipe_sync(&p, &last, "unknown", err, sizeof err), -1);
    assert_null(last);
    assert_non_null(strstr(err, "it_pgpipe_nope"));
    assert_usable(c);
}

static void test_first_error_reported(void **state)
{
    PGconn *c = *state;
    os_pgpipe_t p = {c, 0};
    char err[256] = "";
    PGresult *last = NULL;
    PGresult *t = PQexec(c, "CREATE TEMP TABLE it_pgpipe_t (x int)"); /* this session's own */
    assert_int_equal(PQresultStatus(t), PGRES_COMMAND_OK);
    PQclear(t);
    assert_int_equal(os_pgpipe_send(&p, NULL, "BEGIN", 0, NULL, err, sizeof err), 0);
    assert_int_equal(os_pgpipe_send(&p, NULL, "INSERT INTO it_pgpipe_t VALUES (1)", 0, NULL, err, sizeof err),
                     0);
    assert_int_equal(os_pgpipe_send(&p, NULL, "SELECT 1/0", 0, NULL, err, sizeof err), 0);
    assert_int_equal(os_pgpipe_send(&p, NULL, "SELECT no_such_column", 0, NULL, err, sizeof err), 0);
    assert_int_equal(os_pgpipe_send(&p, NULL, "COMMIT", 0, NULL, err, sizeof err), 0);
    assert_int_equal(os_pgpipe_sync(&p, &last, "apply", err, sizeof err), -1);
    assert_null(last);
    fprintf(stderr, "reported: %s\n", err);
    assert_non_null(strstr(err, "apply: "));
    assert_non_null(strstr(err, "division by zero")); /* the first error, not the second */
    assert_null(strchr(err, '\n'));
    /* COMMIT was skipped: the transaction is failed and open, for the caller to roll back */
    assert_int_equal(PQtransactionStatus(c), PQTRANS_INERROR);
    assert_int_equal(PQpipelineStatus(c), PQ_PIPELINE_OFF);
    PQclear(PQexec(c, "ROLLBACK"));
    PGresult *r = PQexec(c, "SELECT count(*) FROM it_pgpipe_t");
    assert_string_equal(PQgetvalue(r, 0, 0), "0"); /* nothing of the batch stayed */
    PQclear(r);
    assert_usable(c);
}

static void test_connection_killed(void **state)
{
    PGconn *c = *state;
    PGconn *k = connect_test_db();
    os_pgpipe_t p = {c, 0};
    char err[256] = "", sql[128];
    PGresult *last = NULL;
    assert_int_equal(os_pgpipe_send(&p, NULL, "BEGIN", 0, NULL, err, sizeof err), 0);
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", PQbackendPID(c));
    PQclear(PQexec(k, sql));
    PQfinish(k);
    ts_sleep_ms(100);
    (void)os_pgpipe_send(&p, NULL, "SELECT 1", 0, NULL, err, sizeof err); /* may fail already */
    assert_int_equal(os_pgpipe_sync(&p, &last, "load", err, sizeof err), -1);
    assert_null(last);
    fprintf(stderr, "reported: %s\n", err);
    assert_non_null(strstr(err, "load: "));
    assert_int_equal(PQpipelineStatus(c), PQ_PIPELINE_OFF);
    PQreset(c);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    assert_usable(c);
}

static void test_discard(void **state)
{
    PGconn *c = *state;
    os_pgpipe_t p = {c, 0};
    char err[256] = "";
    assert_int_equal(os_pgpipe_send(&p, NULL, "BEGIN", 0, NULL, err, sizeof err), 0);
    assert_int_equal(os_pgpipe_send(&p, NULL, "SELECT 1", 0, NULL, err, sizeof err), 0);
    os_pgpipe_discard(&p);
    assert_int_equal(p.queued, 0);
    assert_int_equal(PQtransactionStatus(c), PQTRANS_INTRANS); /* sent, results dropped */
    PQclear(PQexec(c, "ROLLBACK"));
    os_pgpipe_discard(&p); /* nothing queued: a no-op */
    assert_usable(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batch_last_result, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_error_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_killed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discard, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
