/* it_ops_order.c — operational guarantees of order-service, each on instances of its own
 * (own port, database, topic, DLQ and consumer group; config from the config-server at
 * CQ_CONFIG_URL, profile CQ_PROFILE, overridden by env):
 *   - SIGTERM during a stream: exit 0, the offsets stored in "order".projection_offsets are
 *     exactly the processed position (the read model equals the events below them, row
 *     versions checked), and a restart neither skips (final versions) nor re-applies
 *     (events handled by the restarted instance = total - stored, no stale skips); the
 *     stream's last round is produced only after the exit, so the restart always has
 *     events to apply;
 *   - `order-service rebuild-read-model` (CLI, config from the config-server) rebuilds into
 *     an identical table and exits 0 while a running instance keeps answering reads, and
 *     that instance keeps projecting afterwards;
 *   - while its database refuses connections: readiness 503, liveness 200, reads answer
 *     503/504 (no crash); afterwards every event that arrived meanwhile is applied;
 *   - every line written to stderr by the instances and the CLI is a JSON log line.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "it_ops_util.h"
#include "os_it.h"
#include "ts.h"

#define SVC "order-service"
#define MAXP 16

typedef struct ctx {
    os_it_t t;
    int ready; /* os_it_setup done */
    pid_t pid;
    int port;
    char log[256];
} ctx_t;

/* The env of an instance (or the CLI) of this run. */
static void run_env(ctx_t *c, int port, char buf[OPS_BASE_ENV + 4][256], const char **env)
{
    size_t n = ops_base_env(buf, env, port, c->t.dbname);
    snprintf(buf[n], 256, "ORDER_SERVICE_CUSTOMER_TOPIC_NAME=%s", c->t.topic);
    env[n] = buf[n], n++;
    snprintf(buf[n], 256, "ORDER_SERVICE_DLQ_TOPIC_NAME=%s", c->t.dlq);
    env[n] = buf[n], n++;
    snprintf(buf[n], 256, "KAFKA_CONSUMER_CONFIG_CUSTOMER_GROUP_ID=%s", c->t.group);
    env[n] = buf[n], n++;
    snprintf(buf[n], 256, "PROJECTION_BATCH_SIZE=200");
    env[n] = buf[n], n++;
    env[n] = NULL;
}

static void start_instance(ctx_t *c, const char *logname)
{
    char buf[OPS_BASE_ENV + 4][256];
    const char *env[OPS_BASE_ENV + 5];
    c->port = ts_free_port();
    assert_true(c->port > 0);
    snprintf(c->log, sizeof c->log, "/tmp/it_ops_order_%s_%d.log", logname, (int)getpid());
    run_env(c, c->port, buf, env);
    c->pid = ts_spawn(SVC, NULL, env, NULL, c->log);
    assert_true(c->pid > 0);
    if (ts_wait_status(c->port, "/health/readiness", 200, 60000, 0) != 200) {
        fprintf(stderr, "order-service not ready; log %s\n", c->log);
        fail();
    }
}

static void assert_json_log(const char *path)
{
    long n = ops_check_json_log(path, SVC);
    if (n < 0) {
        fprintf(stderr, "non-JSON stderr output in %s\n", path);
        fail();
    }
    assert_true(n >= 1);
}

static int setup(void **state)
{
    ctx_t *c = calloc(1, sizeof *c);
    *state = c;
    return c ? 0 : -1;
}

static int teardown(void **state)
{
    ctx_t *c = *state;
    if (ts_alive(c->pid))
        ts_term(c->pid, 20000);
    if (c->ready)
        os_it_teardown(&c->t);
    free(c);
    return 0;
}

/* Sum of next_offset over the run's topic in "order".projection_offsets. */
static long long stored_sum(ctx_t *c)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum(next_offset),0) FROM \"order\".projection_offsets WHERE topic = '%s'",
             c->t.topic);
    return os_it_scalar(&c->t, sql);
}

/* ---- SIGTERM commits the processed position ---- */

#define N_CUST 8000
#define N_VER 5

/* Customer number of an os_it_uuid id, or -1. */
static long cust_no(const char *id)
{
    return strlen(id) == 36 ? strtol(id + 24, NULL, 10) : -1;
}

/* Reads each partition of the run's topic from the beginning up to upto[p] (exclusive)
 * and records the highest version per customer number in ver[] (0 = none). 0 or -1. */
static int expected_versions(ctx_t *c, const int64_t *upto, int np, int *ver)
{
    char err[256], gid[160];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *l;
    int64_t seen[MAXP];
    int done = 0, rc = -1;
    long long end = ts_now_ms() + 30000;

    snprintf(gid, sizeof gid, "%s-verify", c->t.group);
    rd_kafka_conf_set(conf, "bootstrap.servers", ts_env("CQ_KAFKA_BOOTSTRAP", "127.0.0.1:29092"), err,
                      sizeof err);
    rd_kafka_conf_set(conf, "group.id", gid, err, sizeof err);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (rk == NULL)
        return -1;
    rd_kafka_poll_set_consumer(rk);
    l = rd_kafka_topic_partition_list_new(np);
    for (int p = 0; p < np; p++) {
        seen[p] = 0;
        if (upto[p] <= 0)
            done++;
        else
            rd_kafka_topic_partition_list_add(l, c->t.topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    while (done < np && ts_now_ms() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (m == NULL)
            continue;
        if (m->err == 0 && m->offset < upto[m->partition]) {
            evcodec_customer_t ev;
            memset(&ev, 0, sizeof ev);
            if (m->payload &&
                evcodec_decode_customer(c->t.codec, m->payload, m->len, &ev, NULL, 0) == EVCODEC_OK) {
                long k = cust_no(ev.id);
                if (k >= 0 && k < N_CUST && ev.version > ver[k])
                    ver[k] = (int)ev.version;
            }
            evcodec_customer_clear(&ev);
            seen[m->partition] = m->offset + 1;
            if (seen[m->partition] == upto[m->partition])
                done++;
        }
        rd_kafka_message_destroy(m);
    }
    rc = done == np ? 0 : -1;
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

/* Compares the read model's versions with ver[]; returns the number of mismatches. */
static long compare_table(ctx_t *c, const int *ver)
{
    PGresult *r = PQexec(c->t.pg, "SELECT id::text, version FROM \"order\".customers");
    long bad = 0, rows = 0, want_rows = 0;
    int *have = calloc(N_CUST, sizeof *have); /* owned */
    if (have == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
        free(have);
        PQclear(r);
        return -1;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        long k = cust_no(PQgetvalue(r, i, 0));
        rows++;
        if (k < 0 || k >= N_CUST) {
            bad++;
            continue;
        }
        have[k] = atoi(PQgetvalue(r, i, 1));
    }
    PQclear(r);
    for (long k = 0; k < N_CUST; k++) {
        want_rows += ver[k] > 0;
        if (have[k] != ver[k] && bad++ < 5)
            fprintf(stderr, "customer %ld: read model version %d, events below the stored offsets say %d\n",
                    k, have[k], ver[k]);
    }
    if (rows != want_rows)
        fprintf(stderr, "read model has %ld rows, expected %ld\n", rows, want_rows);
    free(have);
    return bad + (rows != want_rows);
}

static void t_sigterm_commits(void **state)
{
    ctx_t *c = *state;
    char id[37], user[64], sql[256], log_a[256];
    int64_t upto[MAXP];
    int *ver = calloc(N_CUST, sizeof *ver); /* owned */
    long long total = (long long)N_CUST * N_VER, at_term, stored, handled, stale;
    int np = 3, rc;

    assert_int_equal(os_it_setup(&c->t, "ops_term", np), 0);
    c->ready = 1;
    start_instance(c, "term_a");
    snprintf(log_a, sizeof log_a, "%s", c->log);
    /* all rounds but the last now; the last once the instance has exited (below) */
    for (int v = 1; v < N_VER; v++)
        for (long k = 0; k < N_CUST; k++) {
            os_it_uuid(id, k);
            snprintf(user, sizeof user, "u%ld-v%d", k, v);
            assert_int_equal(os_it_send(&c->t, id, v, user, 0), 0);
        }
    assert_int_equal(os_it_flush(&c->t), 0);
    /* SIGTERM mid-stream. */
    long long end = ts_now_ms() + 60000;
    while ((at_term = stored_sum(c)) < total / 8 && ts_now_ms() < end)
        ts_sleep_ms(5);
    kill(c->pid, SIGTERM);
    rc = ts_wait_exit(c->pid, 40000);
    c->pid = 0;
    stored = stored_sum(c);
    fprintf(stderr, "SIGTERM at stored offset sum %lld of %lld; exit %d; stored at exit %lld\n", at_term,
            total, rc, stored);
    assert_int_equal(rc, 0);
    assert_true(stored >= at_term);
    assert_true(stored <= total - N_CUST); /* nothing of the last round existed yet */

    /* The stored offsets are the processed position: the rows equal the events below them. */
    for (int p = 0; p < MAXP; p++)
        upto[p] = 0;
    PGresult *r;
    snprintf(sql, sizeof sql,
             "SELECT partition, next_offset FROM \"order\".projection_offsets WHERE topic = '%s'",
             c->t.topic);
    r = PQexec(c->t.pg, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    for (int i = 0; i < PQntuples(r); i++) {
        int p = atoi(PQgetvalue(r, i, 0));
        assert_true(p >= 0 && p < np);
        upto[p] = strtoll(PQgetvalue(r, i, 1), NULL, 10);
    }
    PQclear(r);
    assert_non_null(ver);
    assert_int_equal(expected_versions(c, upto, np, ver), 0);
    assert_int_equal(compare_table(c, ver), 0);

    /* The stream's last round, then a restart: it picks up exactly at the stored offsets. */
    for (long k = 0; k < N_CUST; k++) {
        os_it_uuid(id, k);
        snprintf(user, sizeof user, "u%ld-v%d", k, N_VER);
        assert_int_equal(os_it_send(&c->t, id, N_VER, user, 0), 0);
    }
    assert_int_equal(os_it_flush(&c->t), 0);
    start_instance(c, "term_b");
    end = ts_now_ms() + 120000;
    while (stored_sum(c) < total && ts_now_ms() < end)
        ts_sleep_ms(50);
    assert_int_equal(stored_sum(c), total);
    ts_sleep_ms(300); /* metrics are added right after the commit */
    handled = (long long)ts_metric_sum(c->port, "order_projection_events_total", NULL);
    stale = (long long)ts_metric_sum(c->port, "order_projection_events_total", "decision=\"skip-stale\"");
    fprintf(stderr, "restart handled %lld events (%lld stale), expected %lld\n", handled, stale,
            total - stored);
    assert_int_equal(handled, total - stored);
    assert_int_equal(stale, 0);
    for (long k = 0; k < N_CUST; k++)
        ver[k] = N_VER;
    assert_int_equal(compare_table(c, ver), 0);
    assert_int_equal(ts_term(c->pid, 30000), 0);
    c->pid = 0;
    free(ver);
    assert_json_log(log_a);
    assert_json_log(c->log);
}

/* ---- database outage: readiness 503, liveness 200, nothing skipped ---- */

static void set_db_open(ctx_t *c, int open)
{
    char sql[256];
    snprintf(sql, sizeof sql, "ALTER DATABASE %s ALLOW_CONNECTIONS %s", c->t.dbname, open ? "true" : "false");
    assert_int_equal(ops_pg_exec(NULL, sql), 0);
    if (!open) {
        snprintf(sql, sizeof sql,
                 "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s' AND pid <> "
                 "pg_backend_pid()",
                 c->t.dbname);
        assert_int_equal(ops_pg_exec(NULL, sql), 0);
    } else {
        PQreset(c->t.pg); /* the test's own connection was terminated too */
        assert_int_equal(PQstatus(c->t.pg), CONNECTION_OK);
    }
}

static void t_db_outage(void **state)
{
    ctx_t *c = *state;
    char id[37], url[160];
    long st;
    ts_resp_t r = {0};

    assert_int_equal(os_it_setup(&c->t, "ops_dbdown", 3), 0);
    c->ready = 1;
    start_instance(c, "dbdown");
    for (long k = 0; k < 100; k++) {
        os_it_uuid(id, k);
        assert_int_equal(os_it_send(&c->t, id, 1, "before", 0), 0);
    }
    assert_int_equal(os_it_flush(&c->t), 0);
    assert_int_equal(os_it_wait_scalar(&c->t, "SELECT count(*) FROM \"order\".customers", 100, 30000), 100);

    set_db_open(c, 0);
    st = ts_wait_status(c->port, "/health/readiness", 503, 20000, 0);
    assert_int_equal(st, 503);
    /* events keep arriving while the database is gone */
    for (long k = 0; k < 100; k++) {
        os_it_uuid(id, k);
        assert_int_equal(os_it_send(&c->t, id, 2, "during", 0), 0);
    }
    assert_int_equal(os_it_flush(&c->t), 0);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(ts_get(c->port, "/health/readiness", NULL, NULL), 503);
        assert_int_equal(ts_get(c->port, "/health/liveness", NULL, NULL), 200);
        ts_sleep_ms(200);
    }
    os_it_uuid(id, 7);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/customers/%s", c->port, id);
    assert_int_equal(ts_http("GET", url, NULL, 0, NULL, &r), 0);
    if (r.status != 503 && r.status != 504)
        fprintf(stderr, "GET /customers/{id} while the database is unreachable answered %ld: %s\n", r.status,
                r.body ? r.body : "");
    assert_true(r.status == 503 || r.status == 504);
    ts_resp_free(&r);
    assert_true(ts_alive(c->pid));

    set_db_open(c, 1);
    assert_int_equal(ts_wait_status(c->port, "/health/readiness", 200, 60000, 0), 200);
    /* nothing was skipped: every customer reaches version 2 */
    assert_int_equal(
        os_it_wait_scalar(&c->t, "SELECT count(*) FROM \"order\".customers WHERE version = 2", 100, 60000),
        100);
    assert_int_equal(stored_sum(c), 200);
    assert_int_equal(ts_term(c->pid, 30000), 0);
    c->pid = 0;
    assert_json_log(c->log);
}

/* ---- rebuild-read-model CLI while reads are served ---- */

typedef struct reader {
    int port;
    volatile int stop;
    long ok, bad, last_bad;
} reader_t;

static void *reader_run(void *arg)
{
    reader_t *rd = arg;
    char url[160], id[37];
    long k = 0;
    while (!rd->stop) {
        ts_resp_t r = {0};
        os_it_uuid(id, (k++ * 7) % 1000); /* customers 0..999 all exist */
        snprintf(url, sizeof url, "http://127.0.0.1:%d/customers/%s", rd->port, id);
        if (ts_http("GET", url, NULL, 0, NULL, &r) == 0 && r.status == 200)
            rd->ok++;
        else
            rd->bad++, rd->last_bad = r.status;
        ts_resp_free(&r);
    }
    return NULL;
}

#define RB_CUST 3000
#define RB_VER 3

static const char SNAP_SQL[] =
    "SELECT count(*)::text || ':' || coalesce(md5(string_agg(id::text || '|' || username || '|' || "
    "first_name || "
    "'|' || last_name || '|' || version || '|' || coalesce(updated_at::text, '-'), ',' ORDER BY id)), '') "
    "FROM \"order\".customers";

static void t_rebuild_cli(void **state)
{
    ctx_t *c = *state;
    char id[37], user[64], out[256], err_log[256];
    char buf[OPS_BASE_ENV + 4][256];
    const char *env[OPS_BASE_ENV + 5];
    const char *args[] = {"rebuild-read-model", NULL};
    long long total = 0;
    char *before, *after;
    reader_t rd = {0};
    pthread_t th;
    int rc;

    assert_int_equal(os_it_setup(&c->t, "ops_rb", 3), 0);
    c->ready = 1;
    start_instance(c, "rb");
    for (int v = 1; v <= RB_VER; v++)
        for (long k = 0; k < RB_CUST; k++) {
            os_it_uuid(id, k);
            snprintf(user, sizeof user, "rb%ld-v%d", k, v);
            assert_int_equal(os_it_send(&c->t, id, v, user, 0), 0);
            total++;
        }
    for (long k = RB_CUST - 100; k < RB_CUST; k++) { /* some deletes */
        os_it_uuid(id, k);
        assert_int_equal(os_it_send_tombstone(&c->t, id, 0), 0);
        total++;
    }
    assert_int_equal(os_it_flush(&c->t), 0);
    long long end = ts_now_ms() + 120000;
    while (stored_sum(c) < total && ts_now_ms() < end)
        ts_sleep_ms(50);
    assert_int_equal(stored_sum(c), total);
    before = os_it_text(&c->t, SNAP_SQL);
    assert_non_null(before);

    rd.port = c->port;
    assert_int_equal(pthread_create(&th, NULL, reader_run, &rd), 0);
    ts_sleep_ms(200);
    snprintf(out, sizeof out, "/tmp/it_ops_order_rebuild_out_%d.json", (int)getpid());
    snprintf(err_log, sizeof err_log, "/tmp/it_ops_order_rebuild_%d.log", (int)getpid());
    run_env(c, ts_free_port(), buf, env);
    pid_t cli = ts_spawn(SVC, args, env, out, err_log);
    assert_true(cli > 0);
    rc = ts_wait_exit(cli, 180000);
    ts_sleep_ms(200);
    rd.stop = 1;
    pthread_join(th, NULL);
    fprintf(stderr, "rebuild-read-model exit %d; reads during it: %ld ok, %ld failed (last status %ld)\n", rc,
            rd.ok, rd.bad, rd.last_bad);
    assert_int_equal(rc, 0);
    assert_true(rd.ok > 0);
    assert_int_equal(rd.bad, 0);

    after = os_it_text(&c->t, SNAP_SQL);
    assert_non_null(after);
    if (strcmp(before, after) != 0)
        fprintf(stderr, "read model before %s, after the rebuild %s\n", before, after);
    assert_string_equal(before, after);
    free(before);
    free(after);
    {
        json_error_t je;
        json_t *j = json_load_file(out, 0, &je);
        assert_non_null(j);
        assert_int_equal(json_integer_value(json_object_get(j, "events")), total);
        assert_int_equal(json_integer_value(json_object_get(j, "rows")), RB_CUST - 100);
        json_decref(j);
    }
    assert_int_equal(os_it_scalar(&c->t, "SELECT count(*) FROM pg_tables WHERE schemaname = 'order' AND "
                                         "tablename = 'customers_rebuild'"),
                     0);

    /* The live projector carries on after the swap. */
    os_it_uuid(id, 1);
    assert_int_equal(os_it_send(&c->t, id, RB_VER + 1, "after-rebuild", 1), 0);
    assert_int_equal(os_it_wait_scalar(&c->t,
                                       "SELECT version FROM \"order\".customers WHERE id = "
                                       "'00000000-0000-4000-8000-000000000001'",
                                       RB_VER + 1, 20000),
                     RB_VER + 1);
    assert_int_equal(ts_get(c->port, "/health/readiness", NULL, NULL), 200);
    assert_int_equal(ts_term(c->pid, 30000), 0);
    c->pid = 0;
    assert_json_log(c->log);
    assert_json_log(err_log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_sigterm_commits, setup, teardown),
        cmocka_unit_test_setup_teardown(t_rebuild_cli, setup, teardown),
        cmocka_unit_test_setup_teardown(t_db_outage, setup, teardown),
    };
    ts_resp_t r = {0};
    ts_http("GET", "http://127.0.0.1:1/", NULL, 0, NULL, &r); /* libcurl global init before threads */
    ts_resp_free(&r);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
