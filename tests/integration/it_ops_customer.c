/* it_ops_customer.c — operational guarantees of customer-service, each on an instance of
 * its own (own port, database and topic; config from the config-server at CQ_CONFIG_URL,
 * profile CQ_PROFILE, overridden by env):
 *   - published outbox rows are deleted once older than outbox.retention-ms;
 *   - the topic the relay creates is compacted and has kafka-config.num-of-partitions;
 *   - while its database refuses connections, readiness is 503 and liveness 200 (no crash),
 *     and readiness recovers when the database comes back; unreachable at start-up: exit
 *     69 (EX_UNAVAILABLE) after its connection retries, with JSON error lines; SIGTERM during
 *     that wait: exit 0 at once;
 *   - SIGTERM with creates in flight: exit 0, and every create answered 201 has its event
 *     on the topic (the producer was flushed before exit);
 *   - every line the instance wrote to stderr in each scenario is a JSON log line
 *     (ts/level/service/msg).
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cs_it.h"
#include "it_ops_util.h"
#include "ts.h"

#define SVC "customer-service"

typedef struct inst {
    pid_t pid;
    int port;
    char db[64];
    char topic[96];
    char url[64];
    char log[256];
} inst_t;

/* Prepares names, the database, and starts the instance with the extra env entries. */
static void inst_start(inst_t *in, const char *name, const char *const *extra)
{
    char buf[OPS_BASE_ENV][256], topic_env[160];
    const char *env[32];
    size_t n;
    long long t = (long long)time(NULL);
    memset(in, 0, sizeof *in);
    in->port = ts_free_port();
    assert_true(in->port > 0);
    snprintf(in->db, sizeof in->db, "it_ops_cs_%s_%d", name, (int)getpid());
    snprintf(in->topic, sizeof in->topic, "it-ops-cs-%s-%d-%lld", name, (int)getpid(), t);
    snprintf(in->url, sizeof in->url, "http://127.0.0.1:%d", in->port);
    snprintf(in->log, sizeof in->log, "/tmp/it_ops_customer_%s_%d.log", name, (int)getpid());
    assert_int_equal(ops_create_db(in->db), 0);
    n = ops_base_env(buf, env, in->port, in->db);
    snprintf(topic_env, sizeof topic_env, "CUSTOMER_SERVICE_CUSTOMER_TOPIC_NAME=%s", in->topic);
    env[n++] = topic_env;
    for (size_t i = 0; extra && extra[i] && n < 31; i++)
        env[n++] = extra[i];
    env[n] = NULL;
    in->pid = ts_spawn(SVC, NULL, env, NULL, in->log);
    assert_true(in->pid > 0);
    if (ts_wait_status(in->port, "/health/readiness", 200, 60000, 0) != 200) {
        fprintf(stderr, "instance not ready; log %s\n", in->log);
        fail();
    }
}

/* Kills what a failed assertion left behind and drops the database and topic. */
static void inst_cleanup(inst_t *in)
{
    const char *topics[1] = {in->topic};
    if (ts_alive(in->pid))
        ts_term(in->pid, 20000);
    in->pid = 0;
    if (in->db[0])
        ops_drop_db(in->db);
    if (in->topic[0])
        ops_delete_topics(topics, 1);
}

static int setup(void **state)
{
    inst_t *in = calloc(1, sizeof *in);
    *state = in;
    return in ? 0 : -1;
}

static int teardown(void **state)
{
    inst_cleanup(*state);
    free(*state);
    return 0;
}

static void assert_json_log(const inst_t *in)
{
    long n = ops_check_json_log(in->log, SVC);
    if (n < 0) {
        fprintf(stderr, "non-JSON stderr output in %s\n", in->log);
        fail();
    }
    assert_true(n >= 2); /* at least the start and stop lines */
}

/* ---- outbox retention + topic configuration ---- */

static void t_retention_and_topic(void **state)
{
    inst_t *in = *state;
    const char *extra[] = {"OUTBOX_RETENTION_MS=3000", "OUTBOX_SWEEP_INTERVAL_MS=300",
                           "KAFKA_CONFIG_NUM_OF_PARTITIONS=5", NULL};
    char sql[256], val[64], id[37];
    int parts = -1;
    long long n;

    inst_start(in, "ret", extra);
    /* every deletion from the outbox recorded with its time (by the database, in the deleting
     * transaction): the retention is checked per row, whatever the test's own timing */
    assert_int_equal(ops_pg_exec(in->db,
                                 "CREATE TABLE it_outbox_deleted (id bigint, occurred_at timestamptz,"
                                 " published boolean, deleted_at timestamptz DEFAULT clock_timestamp())"),
                     0);
    assert_int_equal(ops_pg_exec(in->db,
                                 "CREATE FUNCTION it_outbox_deleted() RETURNS trigger LANGUAGE plpgsql AS"
                                 " $$BEGIN INSERT INTO it_outbox_deleted (id, occurred_at, published)"
                                 " VALUES (OLD.id, OLD.occurred_at, OLD.id NOT IN"
                                 " (SELECT id FROM customer.outbox_pending)); RETURN NULL; END$$"),
                     0);
    assert_int_equal(ops_pg_exec(in->db, "CREATE TRIGGER it_outbox_deleted AFTER DELETE ON customer.outbox"
                                         " FOR EACH ROW EXECUTE FUNCTION it_outbox_deleted()"),
                     0);
    for (int i = 0; i < 10; i++) {
        char user[64];
        snprintf(user, sizeof user, "ret-%d", i);
        assert_int_equal(cs_it_create(in->url, NULL, user, "Ret", "Ention", id), 201);
    }
    /* Every row gets published, then deleted after the retention. */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM customer.outbox_pending");
    long long end = ts_now_ms() + 15000;
    while ((n = ops_pg_scalar(in->db, sql)) != 0 && ts_now_ms() < end)
        ts_sleep_ms(100);
    assert_int_equal(n, 0);
    end = ts_now_ms() + 15000;
    while ((n = ops_pg_scalar(in->db, "SELECT count(*) FROM customer.outbox")) != 0 && ts_now_ms() < end)
        ts_sleep_ms(100);
    if (n != 0)
        fprintf(stderr, "outbox still holds %lld rows 15 s after publishing (retention 3 s)\n", n);
    assert_int_equal(n, 0);
    /* Each row was published, and deleted only after the retention (3 s) had passed, not
     * right away (the sweep runs every 300 ms). */
    assert_int_equal(ops_pg_scalar(in->db, "SELECT count(*) FROM it_outbox_deleted"), 10);
    n = ops_pg_scalar(in->db, "SELECT count(*) FROM it_outbox_deleted WHERE NOT published"
                              " OR deleted_at < occurred_at + interval '3 s'");
    if (n != 0)
        fprintf(stderr, "%lld outbox rows deleted before their retention (3 s) was over\n", n);
    assert_int_equal(n, 0);
    /* The customers themselves stay. */
    assert_int_equal(ops_pg_scalar(in->db, "SELECT count(*) FROM customer.customers"), 10);

    /* The topic the relay created: compacted, 5 partitions. */
    assert_int_equal(ops_topic_config(in->topic, "cleanup.policy", val, sizeof val, &parts), 0);
    assert_string_equal(val, "compact");
    assert_int_equal(parts, 5);

    assert_int_equal(ts_term(in->pid, 30000), 0);
    in->pid = 0;
    assert_json_log(in);
}

/* ---- database unreachable: readiness 503, liveness 200 ---- */

static void set_db_open(const inst_t *in, int open)
{
    char sql[256];
    snprintf(sql, sizeof sql, "ALTER DATABASE %s ALLOW_CONNECTIONS %s", in->db, open ? "true" : "false");
    assert_int_equal(ops_pg_exec(NULL, sql), 0);
    if (!open) {
        snprintf(sql, sizeof sql,
                 "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s' AND pid <> "
                 "pg_backend_pid()",
                 in->db);
        assert_int_equal(ops_pg_exec(NULL, sql), 0);
    }
}

static void t_db_unreachable(void **state)
{
    inst_t *in = *state;
    char id[37];
    long st;

    inst_start(in, "dbdown", NULL);
    assert_int_equal(ts_get(in->port, "/health/liveness", NULL, NULL), 200);
    assert_int_equal(cs_it_create(in->url, NULL, "before-outage", "A", "B", id), 201);

    set_db_open(in, 0);
    st = ts_wait_status(in->port, "/health/readiness", 503, 20000, 0);
    assert_int_equal(st, 503);
    assert_true(ts_alive(in->pid));
    /* Readiness stays 503 while the outage lasts; liveness stays 200; writes fail cleanly. */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(ts_get(in->port, "/health/readiness", NULL, NULL), 503);
        assert_int_equal(ts_get(in->port, "/health/liveness", NULL, NULL), 200);
        ts_sleep_ms(200);
    }
    st = cs_it_create(in->url, NULL, "during-outage", "A", "B", id);
    if (!(st >= 500 && st <= 504 && st != 500)) /* 503/504 problem+json, not 500, not a dropped connection */
        fprintf(stderr, "POST /customers while the database is unreachable answered %ld\n", st);
    assert_true(st == 503 || st == 504);
    assert_true(ts_alive(in->pid));

    set_db_open(in, 1);
    assert_int_equal(ts_wait_status(in->port, "/health/readiness", 200, 30000, 0), 200);
    assert_int_equal(cs_it_create(in->url, NULL, "after-outage", "A", "B", id), 201);
    assert_int_equal(ts_term(in->pid, 30000), 0);
    in->pid = 0;
    assert_json_log(in);
}

/* ---- database unreachable at start: a clean exit 69 with JSON error lines ---- */

/* Starts an instance whose database port has no listener. */
static void spawn_dead_db(inst_t *in, const char *tag)
{
    char buf[OPS_BASE_ENV][256], dead[64], topic_env[160];
    const char *env[OPS_BASE_ENV + 4];
    size_t n;

    memset(in, 0, sizeof *in);
    in->port = ts_free_port();
    snprintf(in->log, sizeof in->log, "/tmp/it_ops_customer_%s_%d.log", tag, (int)getpid());
    snprintf(in->topic, sizeof in->topic, "it-ops-cs-%s-%d", tag, (int)getpid());
    n = ops_base_env(buf, env, in->port, "cqrs");
    snprintf(dead, sizeof dead, "DATASOURCE_PORT=%d", ts_free_port()); /* nothing listens there */
    for (size_t i = 0; i < n; i++) /* replace the base environment's database port */
        if (strncmp(env[i], "DATASOURCE_PORT=", 16) == 0)
            env[i] = dead;
    snprintf(topic_env, sizeof topic_env, "CUSTOMER_SERVICE_CUSTOMER_TOPIC_NAME=%s", in->topic);
    env[n++] = topic_env;
    env[n] = NULL;
    in->pid = ts_spawn(SVC, NULL, env, NULL, in->log);
    assert_true(in->pid > 0);
}

static void t_db_dead_at_start(void **state)
{
    inst_t *in = *state;
    spawn_dead_db(in, "deadport");
    int rc = ts_wait_exit(in->pid, 90000);
    in->pid = 0;
    in->topic[0] = '\0';      /* never created */
    assert_int_equal(rc, 69); /* EX_UNAVAILABLE, not a crash or a hang */
    assert_json_log(in);
}

/* 1 when the file at `path` contains `needle`. */
static int log_has(const char *path, const char *needle)
{
    char line[4096];
    int found = 0;
    FILE *f = fopen(path, "r");
    while (f != NULL && !found && fgets(line, sizeof line, f) != NULL)
        found = strstr(line, needle) != NULL;
    if (f != NULL)
        fclose(f);
    return found;
}

/* ---- SIGTERM while start-up waits for the database: exit 0 at once, not after the
 * retry budget (~13 s) ---- */

static void t_sigterm_in_db_wait(void **state)
{
    inst_t *in = *state;
    spawn_dead_db(in, "dbwait");
    for (int i = 0; i < 200 && !log_has(in->log, "PostgreSQL connection failed (attempt 2/"); i++)
        ts_sleep_ms(50);
    assert_true(log_has(in->log, "PostgreSQL connection failed (attempt 2/"));
    long long t0 = ts_now_ms();
    int rc = ts_term(in->pid, 3000); /* -1 (and SIGKILL) if it is still waiting */
    fprintf(stderr, "exit %d %lld ms after SIGTERM\n", rc, ts_now_ms() - t0);
    in->pid = 0;
    in->topic[0] = '\0';
    assert_int_equal(rc, 0);
    assert_true(log_has(in->log, "signal during start-up"));
    assert_json_log(in);
}

/* ---- SIGTERM with requests in flight ---- */

#define N_WORKERS 6
#define MAX_PER_WORKER 4000

typedef struct worker {
    const char *url;
    int idx;
    int n_ok;
    int n_other;
    char (*ids)[37];
} worker_t;

static void *worker_run(void *arg)
{
    worker_t *w = arg;
    for (int i = 0; i < MAX_PER_WORKER; i++) {
        char user[64], id[37];
        long st;
        snprintf(user, sizeof user, "term-%d-%d", w->idx, i);
        st = cs_it_create(w->url, NULL, user, "Sig", "Term", id);
        if (st == 201)
            snprintf(w->ids[w->n_ok++], 37, "%s", id);
        else if (st == 0)
            break; /* the server closed its listener */
        else
            w->n_other++;
    }
    return NULL;
}

typedef struct want_ids {
    worker_t *w;
} want_ids_t;

static int have_all_ids(const cs_recs_t *r, void *ud)
{
    want_ids_t *wi = ud;
    const cs_rec_t *x[1];
    for (int k = 0; k < N_WORKERS; k++)
        for (int i = 0; i < wi->w[k].n_ok; i++)
            if (cs_recs_for_key(r, wi->w[k].ids[i], x, 0) == 0)
                return 0;
    return 1;
}

static void t_sigterm_inflight(void **state)
{
    inst_t *in = *state;
    worker_t w[N_WORKERS];
    pthread_t th[N_WORKERS];
    int64_t from[CS_IT_MAX_PARTITIONS];
    cs_recs_t recs = {0};
    want_ids_t wi = {w};
    int np, total = 0, missing = 0, rc;

    inst_start(in, "term", NULL);
    memset(w, 0, sizeof w);
    for (int k = 0; k < N_WORKERS; k++) {
        w[k].url = in->url;
        w[k].idx = k;
        w[k].ids = calloc(MAX_PER_WORKER, 37);
        assert_non_null(w[k].ids);
        assert_int_equal(pthread_create(&th[k], NULL, worker_run, &w[k]), 0);
    }
    ts_sleep_ms(1500);
    long long t_term = ts_now_ms();
    kill(in->pid, SIGTERM);
    rc = ts_wait_exit(in->pid, 40000);
    t_term = ts_now_ms() - t_term;
    in->pid = 0;
    for (int k = 0; k < N_WORKERS; k++) {
        pthread_join(th[k], NULL);
        total += w[k].n_ok;
    }
    fprintf(stderr,
            "SIGTERM after %d creates answered 201; exit code %d after %lld ms; %lld outbox rows "
            "unpublished at exit\n",
            total, rc, t_term, ops_pg_scalar(in->db, "SELECT count(*) FROM customer.outbox_pending"));
    assert_int_equal(rc, 0);
    assert_true(total > 0);

    np = cs_it_watermarks(ts_env("CQ_KAFKA_BOOTSTRAP", "127.0.0.1:29092"), in->topic, from);
    assert_true(np >= 1);
    for (int p = 0; p < np; p++)
        from[p] = -1; /* from the beginning: the topic is this test's own */
    cs_it_consume(ts_env("CQ_KAFKA_BOOTSTRAP", "127.0.0.1:29092"), in->topic, from, np, have_all_ids, &wi,
                  20000, &recs);
    for (int k = 0; k < N_WORKERS; k++)
        for (int i = 0; i < w[k].n_ok; i++) {
            const cs_rec_t *x[1];
            if (cs_recs_for_key(&recs, w[k].ids[i], x, 0) == 0 && missing++ < 5)
                fprintf(stderr, "customer %s got 201 but its event is not on the topic\n", w[k].ids[i]);
        }
    if (missing)
        fprintf(stderr,
                "%d of %d acknowledged creates missing from the topic after exit 0 (%lld unpublished "
                "outbox rows)\n",
                missing, total, ops_pg_scalar(in->db, "SELECT count(*) FROM customer.outbox_pending"));
    cs_recs_free(&recs);
    for (int k = 0; k < N_WORKERS; k++)
        free(w[k].ids);
    assert_int_equal(missing, 0);
    assert_json_log(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_retention_and_topic, setup, teardown),
        cmocka_unit_test_setup_teardown(t_db_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(t_db_dead_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(t_sigterm_in_db_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(t_sigterm_inflight, setup, teardown),
    };
    ts_resp_t r = {0};
    /* libcurl's global init happens here, before the worker threads. */
    ts_http("GET", "http://127.0.0.1:1/", NULL, 0, NULL, &r);
    ts_resp_free(&r);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
