/* it_stack_real.c — proves the test stack is real: Kafka 4.x answers the Admin API and
 * carries messages produced and consumed with librdkafka, and PostgreSQL 15 stores and
 * returns rows through libpq. Addresses come from CQ_KAFKA_BOOTSTRAP and CQ_PG_CONNINFO.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "ts.h"

#define N_MSGS 200

static rd_kafka_t *new_client(rd_kafka_type_t type, const char *group)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers",
                                       ts_env("CQ_KAFKA_BOOTSTRAP", "127.0.0.1:29092"), err, sizeof err),
                     RD_KAFKA_CONF_OK);
    if (type == RD_KAFKA_PRODUCER) {
        assert_int_equal(rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err),
                         RD_KAFKA_CONF_OK);
    } else {
        assert_int_equal(rd_kafka_conf_set(conf, "group.id", group, err, sizeof err), RD_KAFKA_CONF_OK);
        assert_int_equal(rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err),
                         RD_KAFKA_CONF_OK);
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err); /* takes conf */
    if (rk == NULL)
        fail_msg("rd_kafka_new: %s", err);
    return rk;
}

/* The broker the stack started is Apache Kafka 4.x in KRaft mode: its own start-up log says
 * so (the broker logs "Kafka version: X" and "Kafka Server started"), and it runs with no
 * ZooKeeper at all (4.x removed it). */
static void test_kafka_is_4x_kraft(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/logs/kafka.log", ts_env("CQ_STACK_DIR", "build/test-stack"));
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open the broker log %s", path);
    char line[4096], version[64] = "";
    int started = 0, zookeeper = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        const char *v = strstr(line, "Kafka version: ");
        if (v != NULL && version[0] == '\0')
            sscanf(v + strlen("Kafka version: "), "%63s", version);
        started |= strstr(line, "Kafka Server started") != NULL;
        zookeeper |=
            strstr(line, "zookeeper.connect =") != NULL && strstr(line, "zookeeper.connect = null") == NULL;
    }
    fclose(f);
    assert_true(started);
    assert_int_equal(zookeeper, 0);
    if (strncmp(version, "4.", 2) != 0)
        fail_msg("broker version is '%s', expected 4.x", version);
}

/* The Admin API creates a topic with 3 partitions that metadata then reports; 200 messages
 * produced with the idempotent producer are consumed exactly once. */
static void test_kafka_admin_produce_consume(void **state)
{
    (void)state;
    char topic[64];
    snprintf(topic, sizeof topic, "it-stack-%d", (int)getpid());

    rd_kafka_t *p = new_client(RD_KAFKA_PRODUCER, NULL);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, 3, 1, NULL, 0);
    rd_kafka_queue_t *q = rd_kafka_queue_new(p);
    rd_kafka_CreateTopics(p, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
    assert_non_null(ev);
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    assert_non_null(res);
    size_t cnt = 0;
    const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &cnt);
    assert_int_equal(cnt, 1);
    if (rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_NO_ERROR)
        fail_msg("CreateTopics: %s", rd_kafka_topic_result_error_string(tr[0]));
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);

    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(p, topic, NULL);
    for (int i = 0; i < 50; i++) { /* metadata propagates right after creation */
        assert_int_equal(rd_kafka_metadata(p, 0, rkt, &md, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);
        if (md->topic_cnt == 1 && md->topics[0].err == 0 && md->topics[0].partition_cnt == 3)
            break;
        rd_kafka_metadata_destroy(md);
        md = NULL;
        ts_sleep_ms(100);
    }
    assert_non_null(md);
    assert_int_equal(md->topics[0].partition_cnt, 3);
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);

    for (int i = 0; i < N_MSGS; i++) {
        char key[16], val[32];
        snprintf(key, sizeof key, "k%d", i % 7);
        snprintf(val, sizeof val, "value-%d", i);
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(val, strlen(val)),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    assert_int_equal(rd_kafka_flush(p, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(rd_kafka_outq_len(p), 0);
    rd_kafka_destroy(p);

    rd_kafka_t *c = new_client(RD_KAFKA_CONSUMER, topic);
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
    assert_int_equal(rd_kafka_subscribe(c, subs), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(subs);
    int got = 0, seen[N_MSGS] = {0};
    long long deadline = ts_now_ms() + 60000;
    while (got < N_MSGS && ts_now_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 500);
        if (m == NULL)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            int n = -1;
            assert_int_equal(sscanf((const char *)m->payload, "value-%d", &n), 1);
            assert_true(n >= 0 && n < N_MSGS);
            assert_int_equal(seen[n], 0); /* exactly once */
            seen[n] = 1;
            got++;
        }
        rd_kafka_message_destroy(m);
    }
    assert_int_equal(got, N_MSGS);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);

    /* Clean up the topic so reruns start fresh. */
    rd_kafka_t *a = new_client(RD_KAFKA_PRODUCER, NULL);
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(topic);
    q = rd_kafka_queue_new(a);
    rd_kafka_DeleteTopics(a, &dt, 1, NULL, q);
    ev = rd_kafka_queue_poll(q, 20000);
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_DeleteTopic_destroy(dt);
    rd_kafka_destroy(a);
}

static void test_postgres_rows(void **state)
{
    (void)state;
    PGconn *c = PQconnectdb(ts_env("CQ_PG_CONNINFO", "host=127.0.0.1 port=25433 user=postgres dbname=cqrs"));
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(c));
    assert_true(PQserverVersion(c) >= 150000 && PQserverVersion(c) < 160000);

    PGresult *r = PQexec(c, "CREATE TEMP TABLE it_stack(id int PRIMARY KEY, name text NOT NULL)");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    for (int i = 0; i < 100; i++) {
        char id[16], name[32];
        snprintf(id, sizeof id, "%d", i);
        snprintf(name, sizeof name, "naïve 'name' %d", i);
        const char *params[2] = {id, name};
        r = PQexecParams(c, "INSERT INTO it_stack VALUES ($1::int, $2)", 2, NULL, params, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
    }
    r = PQexec(c, "SELECT count(*), max(name) FROM it_stack");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "100");
    assert_string_equal(PQgetvalue(r, 0, 1), "naïve 'name' 99");
    PQclear(r);
    PQfinish(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kafka_is_4x_kraft),
        cmocka_unit_test(test_kafka_admin_produce_consume),
        cmocka_unit_test(test_postgres_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
