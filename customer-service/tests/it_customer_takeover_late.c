/* it_customer_takeover_late.c — regression test for the relay's takeover scan
 * (customer-service/src/messaging/outbox_relay_takeover.c): a new leader counts as published
 * only the rows past the stored position whose records it FINDS at the tail of their
 * partition, and
 * SENDS an unpublished row whose id is below the partition's last record id but which is
 * not on the topic (a transaction that took a lower id and committed late).
 *
 * Deterministic scenario, isolated from whatever else runs (own database cq_it_takeover_late,
 * own topic it-takeover-late-<time> with 1 partition, own port CQ_TAKEOVER_PORT, default
 * 28196; config-server at CQ_CONFIG_URL, profile CQ_PROFILE):
 *  1. instance A creates one customer over HTTP; once its position counts that row, SIGTERM A;
 *  2. the race is crafted: two outbox rows for two new customers are inserted with ids
 *     L < H, both past the position, and ONE record for H (key, value, outbox-id header as
 *     the relay writes them) is produced onto the topic — H is "published, position not stored",
 *     L is "committed late, never sent";
 *  3. instance B starts on the same database and topic, becomes leader, runs the scan;
 *  4. within 20 s: exactly one record for H (not re-sent), exactly one for L (sent by B,
 *     decoding to L's customer), the stored position counts both, and B logged the takeover
 *     line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "cs_it.h"
#include "ts.h"

extern char **environ;

#define DBNAME "cq_it_takeover_late"
#define ID_L 1000LL
#define ID_H 1001LL
#define TAKEOVER_LINE "outbox takeover: 1 of 2 unpublished rows were already on the topic"

typedef struct fixture {
    pid_t pid; /* the running instance, 0 when none */
    char topic[64];
    char log_a[256], log_b[256];
    int db_created;
    PGconn *db;     /* connection to DBNAME, owned */
    cs_recs_t recs; /* records read back, owned */
} fixture_t;

/* Starts customer-service on `port` with the test's database and 1-partition topic; its
 * stderr (the JSON-lines log) goes to `log`. Returns the pid or -1. */
static pid_t spawn_instance(const char *topic, int port, const char *log)
{
    static const char *const extra[] = {"KAFKA_CONFIG_NUM_OF_PARTITIONS=1", "OUTBOX_LOCK_POLL_MS=200", NULL};
    return cs_it_spawn(port, DBNAME, topic, extra, log);
}

static void wait_ready(const char *base)
{
    assert_int_equal(cs_it_wait_ready(base), 200);
}

/* SIGTERMs the instance and asserts a clean exit. */
static void stop_instance(fixture_t *f)
{
    int wst = 0;
    kill(f->pid, SIGTERM);
    waitpid(f->pid, &wst, 0);
    f->pid = 0;
    assert_true(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
}

static PGconn *db_connect(const char *dbname)
{
    char ci[512];
    snprintf(ci, sizeof ci, "%s dbname=%s",
             ts_env("CQ_PG_CONNINFO", "host=127.0.0.1 port=25433 user=postgres dbname=cqrs"), dbname);
    return PQconnectdb(ci);
}

/* A single integer query result, or -1. */
static long long db_scalar(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    long long v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

/* Inserts an unpublished CREATED outbox row with an explicit id. */
static void insert_row(PGconn *c, long long id, const char *agg, const unsigned char *payload, size_t len)
{
    char ids[24];
    const char *vals[3] = {ids, agg, (const char *)payload};
    int lens[3] = {0, 0, (int)len};
    int fmts[3] = {0, 0, 1};
    snprintf(ids, sizeof ids, "%lld", id);
    PGresult *r = PQexecParams(c,
                               "INSERT INTO customer.outbox (id, aggregate_id, version, event_type, payload) "
                               "VALUES ($1::bigint, $2::uuid, 1, 'CREATED', $3::bytea)",
                               3, NULL, vals, lens, fmts, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("insert outbox row %lld: %s", id, PQerrorMessage(c));
    PQclear(r);
}

/* Produces the record the relay would have produced for row `id` (partition 0). */
static void produce_as_relay(const char *bs, const char *topic, long long id, const char *key,
                             const unsigned char *payload, size_t len)
{
    char err[512], hv[24];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_resp_err_t e;
    snprintf(hv, sizeof hv, "%lld", id);
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", bs, err, sizeof err), RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err),
                     RD_KAFKA_CONF_OK);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    assert_non_null(rk);
    e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                          RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE((void *)payload, len),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADER("outbox-id", hv, -1),
                          RD_KAFKA_V_END);
    assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(rd_kafka_flush(rk, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(rd_kafka_outq_len(rk), 0);
    rd_kafka_destroy(rk);
}

static void delete_topic(const char *bs, const char *topic)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bs, err, sizeof err) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        return;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(topic);
    rd_kafka_DeleteTopics(rk, &dt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 10000);
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_DeleteTopic_destroy(dt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
}

static int file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "r");
    char line[4096];
    int found = 0;
    if (fp == NULL)
        return 0;
    while (!found && fgets(line, sizeof line, fp))
        found = strstr(line, needle) != NULL;
    fclose(fp);
    return found;
}

static int have_n(const cs_recs_t *r, void *ud)
{
    return r->n >= (size_t) * (const int64_t *)ud;
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    *state = f;
    return f ? 0 : -1;
}

/* Kills an instance a failed assertion left behind; drops the database and the topic. */
static int teardown(void **state)
{
    fixture_t *f = *state;
    if (f->pid > 0 && kill(f->pid, SIGKILL) == 0)
        waitpid(f->pid, NULL, 0);
    PQfinish(f->db);
    cs_recs_free(&f->recs);
    if (f->db_created) {
        PGconn *c =
            PQconnectdb(ts_env("CQ_PG_CONNINFO", "host=127.0.0.1 port=25433 user=postgres dbname=cqrs"));
        if (PQstatus(c) == CONNECTION_OK)
            PQclear(PQexec(c, "DROP DATABASE IF EXISTS " DBNAME " WITH (FORCE)"));
        PQfinish(c);
    }
    if (f->topic[0])
        delete_topic(ts_env("CQ_KAFKA_BOOTSTRAP", "127.0.0.1:29092"), f->topic);
    free(f);
    return 0;
}

static void t_takeover_late(void **state)
{
    fixture_t *f = *state;
    const char *bs = ts_env("CQ_KAFKA_BOOTSTRAP", "127.0.0.1:29092");
    int port = atoi(ts_env("CQ_TAKEOVER_PORT", "28196"));
    char base[64], user[64], first_id[37], agg_l[37], agg_h[37];
    unsigned char *pl_l = NULL, *pl_h = NULL;
    size_t len_l = 0, len_h = 0;
    long long t0 = ts_now_ms();
    int64_t from[1] = {-1}, hi[CS_IT_MAX_PARTITIONS];
    cs_recs_t *recs = &f->recs;
    char err[256];

    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    snprintf(f->topic, sizeof f->topic, "it-takeover-late-%lld", (long long)time(NULL));
    snprintf(f->log_a, sizeof f->log_a, "/tmp/it_customer_takeover_late_A_%d.log", port);
    snprintf(f->log_b, sizeof f->log_b, "/tmp/it_customer_takeover_late_B_%d.log", port);

    assert_int_equal(ts_pg_fresh_db(DBNAME), 0);
    f->db_created = 1;

    /* 1. Instance A publishes one ordinary event (its position stored), then stops cleanly. */
    f->pid = spawn_instance(f->topic, port, f->log_a);
    assert_true(f->pid > 0);
    wait_ready(base);
    snprintf(user, sizeof user, "tko-%lld", t0);
    assert_int_equal(cs_it_create(base, NULL, user, "Take", "Over", first_id), 201);
    PGconn *c = f->db = db_connect(DBNAME);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    for (int k = 0; k < 100 && db_scalar(c, "SELECT count(*) FROM customer.outbox_pending") != 0; k++)
        ts_sleep_ms(200);
    assert_int_equal(db_scalar(c, "SELECT count(*) FROM customer.outbox"), 1);
    assert_int_equal(db_scalar(c, "SELECT count(*) FROM customer.outbox_pending"), 0);
    assert_true(db_scalar(c, "SELECT max(id) FROM customer.outbox") < ID_L);
    stop_instance(f);
    assert_int_equal(cs_it_watermarks(bs, f->topic, hi), 1);
    assert_int_equal(hi[0], 1);

    /* 2. The race: L committed late and was never sent; H was sent but not marked. */
    evcodec_t *codec = evcodec_new_default(err, sizeof err);
    assert_non_null(codec);
    snprintf(agg_l, sizeof agg_l, "%08llx-0000-4000-8000-%012llx", (unsigned long long)(t0 & 0xffffffff),
             (unsigned long long)ID_L);
    snprintf(agg_h, sizeof agg_h, "%08llx-0000-4000-8000-%012llx", (unsigned long long)(t0 & 0xffffffff),
             (unsigned long long)ID_H);
    evcodec_customer_t ev = {0};
    char ul[80], uh[80];
    snprintf(ul, sizeof ul, "%s-late", user);
    snprintf(uh, sizeof uh, "%s-high", user);
    ev.version = 1;
    ev.event_type = EVCODEC_CREATED;
    ev.occurred_at_ms = t0;
    ev.first_name = "Late";
    ev.last_name = "Commit";
    memcpy(ev.id, agg_l, sizeof ev.id);
    ev.username = ul;
    assert_int_equal(evcodec_encode_customer(codec, &ev, &pl_l, &len_l), EVCODEC_OK);
    ev.first_name = "High";
    ev.last_name = "Unmarked";
    memcpy(ev.id, agg_h, sizeof ev.id);
    ev.username = uh;
    assert_int_equal(evcodec_encode_customer(codec, &ev, &pl_h, &len_h), EVCODEC_OK);
    evcodec_free(codec);
    insert_row(c, ID_H, agg_h, pl_h, len_h);
    insert_row(c, ID_L, agg_l, pl_l, len_l);
    produce_as_relay(bs, f->topic, ID_H, agg_h, pl_h, len_h);
    free(pl_l);
    free(pl_h);
    assert_int_equal(cs_it_watermarks(bs, f->topic, hi), 1);
    assert_int_equal(hi[0], 2);

    /* 3. Instance B takes over. */
    f->pid = spawn_instance(f->topic, port, f->log_b);
    assert_true(f->pid > 0);

    /* 4. Within 20 s both rows are published as the stored position says; H was not
     * re-sent, L was sent. */
    long long deadline = ts_now_ms() + 20000;
    while (ts_now_ms() < deadline && db_scalar(c, "SELECT count(*) FROM customer.outbox_pending") != 0)
        ts_sleep_ms(200);
    assert_int_equal(db_scalar(c, "SELECT count(*) FROM customer.outbox_pending"), 0);
    assert_int_equal(db_scalar(c, "SELECT count(*) FROM customer.outbox"), 3);
    PQfinish(f->db);
    f->db = c = NULL;
    wait_ready(base);
    assert_int_equal(cs_it_watermarks(bs, f->topic, hi), 1);
    assert_int_equal(cs_it_consume(bs, f->topic, from, 1, have_n, &hi[0], 20000, recs), 0);

    int n_l = 0, n_h = 0, n_first = 0;
    for (size_t i = 0; i < recs->n; i++) {
        const cs_rec_t *x = &recs->v[i];
        if (x->outbox_id == ID_H) {
            n_h++;
            assert_string_equal(x->key, agg_h);
        } else if (x->outbox_id == ID_L) {
            n_l++;
            assert_string_equal(x->key, agg_l);
            assert_false(x->tombstone);
            assert_int_equal(x->decode_rc, EVCODEC_OK);
            assert_string_equal(x->ev.id, agg_l);
            assert_string_equal(x->ev.username, ul);
            assert_int_equal(x->ev.version, 1);
        } else if (strcmp(x->key, first_id) == 0) {
            n_first++;
        }
    }
    if (n_h != 1 || n_l != 1 || n_first != 1 || recs->n != 3)
        fail_msg("topic has %zu records: %d for H (id %lld, want 1), %d for L (id %lld, want 1), %d for the "
                 "first customer (want 1)",
                 recs->n, n_h, ID_H, n_l, ID_L, n_first);
    if (!file_contains(f->log_b, TAKEOVER_LINE))
        fail_msg("B did not log the takeover line \"%s\" (see %s)", TAKEOVER_LINE, f->log_b);
    cs_recs_free(recs);
    printf(
        "# takeover: H (id %lld) found on the topic and marked, not re-sent; L (id %lld, lower, never sent) "
        "sent by the new leader; %lld ms in all\n",
        ID_H, ID_L, ts_now_ms() - t0);
    stop_instance(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test_setup_teardown(t_takeover_late, setup, teardown)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
