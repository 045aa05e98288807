/* test_kfk.c — unit tests of the librdkafka glue (common/kafka/kfk.h): config key mapping,
 * passthrough, batch-size boost, idempotent producer against librdkafka's mock cluster
 * (no real broker), log routing into clog. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kfk.h"

static char *conf_get(rd_kafka_conf_t *conf, const char *key)
{
    static char buf[512];
    size_t sz = sizeof buf;
    if (rd_kafka_conf_get(conf, key, buf, &sz) != RD_KAFKA_CONF_OK)
        return NULL;
    return buf;
}

static void t_apply(void **state)
{
    char err[512] = "";
    kfk_opaque_t op = {0};
    const kfk_client_t cl = {.bootstrap = "127.0.0.1:1"};
    rd_kafka_conf_t *conf = kfk_conf_new(&cl, "t", &op, err, sizeof err);
    assert_non_null(conf);
    assert_string_equal(conf_get(conf, "bootstrap.servers"), "127.0.0.1:1");
    assert_int_equal(kfk_conf_apply(conf, KFK_PRODUCER, "linger-ms", "5", err, sizeof err), 0);
    assert_string_equal(conf_get(conf, "linger.ms"), "5");
    assert_int_equal(kfk_conf_apply(conf, KFK_PRODUCER, "compression-type", "snappy", err, sizeof err), 0);
    assert_string_equal(conf_get(conf, "compression.type"), "snappy");
    assert_int_equal(kfk_conf_apply(conf, KFK_PRODUCER, "key-serializer-class", "x", err, sizeof err), 1);
    assert_int_equal(kfk_conf_apply(conf, KFK_PRODUCER, "properties.queue.buffering.max.messages", "12345",
                                    err, sizeof err),
                     0);
    assert_string_equal(conf_get(conf, "queue.buffering.max.messages"), "12345");
    assert_int_equal(kfk_conf_apply(conf, KFK_PRODUCER, "linger-ms", "soon", err, sizeof err), -1);
    assert_non_null(strstr(err, "kafka-producer-config.linger-ms"));
    assert_int_equal(kfk_conf_apply(conf, KFK_PRODUCER, "properties.no.such.thing", "1", err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "no.such.thing"));
    assert_int_equal(kfk_conf_apply(conf, KFK_CONSUMER, "auto-offset-reset", "earliest", err, sizeof err), 0);
    assert_string_equal(conf_get(conf, "auto.offset.reset"), "smallest");
    /* the projection's batching window */
    assert_int_equal(kfk_conf_apply(conf, KFK_CONSUMER, "fetch-min-bytes", "1500", err, sizeof err), 0);
    assert_string_equal(conf_get(conf, "fetch.min.bytes"), "1500");
    assert_int_equal(kfk_conf_apply(conf, KFK_CONSUMER, "fetch-max-wait-ms", "3", err, sizeof err), 0);
    assert_string_equal(conf_get(conf, "fetch.wait.max.ms"), "3");
    rd_kafka_conf_destroy(conf);
}

/* the keys a caller asks for by name are exactly the mapped ones */
static void t_seed_keys(void **state)
{
    (void)state;
    int fetch_min = 0, n = 0;
    const char *k;
    for (size_t i = 0; (k = kfk_seed_key(KFK_CONSUMER, i)) != NULL; i++, n++)
        fetch_min += strcmp(k, "fetch-min-bytes") == 0;
    assert_int_equal(fetch_min, 1);
    assert_int_equal(n, 8);
    assert_string_equal(kfk_seed_key(KFK_PRODUCER, 0), "acks");
    assert_null(kfk_seed_key(KFK_PRODUCER, 1000));
}

static void t_apply_all(void **state)
{
    char err[512] = "";
    kfk_opaque_t op = {0};
    rd_kafka_conf_t *conf = kfk_conf_new(NULL, NULL, &op, err, sizeof err);
    const kfk_kv_t kv[] = {{"batch-size", "16384"}, {"acks", "all"}, {"batch-size-boost-factor", "100"}};
    const kfk_kv_t bad[] = {{"batch-size", "lots"}};
    assert_int_equal(kfk_conf_apply_all(conf, KFK_PRODUCER, kv, 3, err, sizeof err), 0);
    assert_string_equal(conf_get(conf, "batch.size"), "1638400");
    assert_int_equal(kfk_conf_apply_all(conf, KFK_PRODUCER, bad, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "batch-size"));
    rd_kafka_conf_destroy(conf);
}

typedef struct dr_state {
    int ok;
    int failed;
} dr_state_t;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    dr_state_t *st = kfk_user(rk);
    if (m->err)
        st->failed++;
    else
        st->ok++;
}

static void t_producer_mock(void **state)
{
    char err[512] = "";
    dr_state_t st = {0};
    char logbuf[65536] = "";
    FILE *lf = fmemopen(logbuf, sizeof logbuf - 1, "w");
    clog_t log;
    clog_init(&log, "test", "debug", lf);
    kfk_opaque_t op = {.log = &log, .user = &st};
    rd_kafka_conf_t *conf = kfk_conf_new(NULL, "t", &op, err, sizeof err);
    assert_non_null(conf);
    assert_int_equal(kfk_conf_set(conf, "test.mock.num.brokers", "1", err, sizeof err), 0);
    assert_int_equal(kfk_conf_set(conf, "acks", "1", err, sizeof err), 0); /* overridden */
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_t *rk = kfk_producer_new(conf, err, sizeof err);
    assert_non_null(rk);
    assert_ptr_equal(kfk_user(rk), &st);
    assert_ptr_equal(kfk_log(rk), &log);
    assert_int_equal(kfk_reachable(rk, 5000), 1);
    for (int i = 0; i < 10; i++)
        assert_int_equal(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("t1"), RD_KAFKA_V_KEY("k", 1),
                                           RD_KAFKA_V_VALUE("v", 1), RD_KAFKA_V_END),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(rd_kafka_flush(rk, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(st.ok, 10);
    assert_int_equal(st.failed, 0);
    /* The mock has no Admin API: ensure_topic must fail cleanly, bounded by the timeout. */
    const kfk_topic_spec_t one = {1, 1, 0};
    assert_int_equal(kfk_ensure_topic(rk, "t2", &one, NULL, 0, 500, err, sizeof err), -1);
    assert_true(strlen(err) > 0);
    assert_int_equal(kfk_partition_count(rk, "t1", 5000) > 0, 1);
    /* readiness: a bootstrap entry no live broker advertises is named as down */
    const struct rd_kafka_metadata *md = NULL;
    char boot[300], down[300];
    assert_int_equal(rd_kafka_metadata(rk, 0, NULL, &md, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);
    snprintf(boot, sizeof boot, "%s:%d, 127.0.0.1:1", md->brokers[0].host, md->brokers[0].port);
    rd_kafka_metadata_destroy(md);
    assert_int_equal(kfk_brokers_down(rk, boot, 5000, down, sizeof down), 1);
    assert_string_equal(down, "127.0.0.1:1");
    boot[strcspn(boot, ",")] = '\0';
    assert_int_equal(kfk_brokers_down(rk, boot, 5000, down, sizeof down), 1);
    assert_string_equal(down, "");
    rd_kafka_destroy(rk);
    fclose(lf);
}

/* The shared settings reach every conf made from them; a bad one names its key. */
static void t_client(void **state)
{
    char err[512] = "";
    kfk_opaque_t op = {0};
    kfk_client_t cl = {.bootstrap = "127.0.0.1:1"};
    assert_false(kfk_client_secured(&cl));
    assert_int_equal(kfk_client_add(&cl, "security.protocol", "plaintext", err, sizeof err), 0);
    assert_false(kfk_client_secured(&cl));
    assert_int_equal(kfk_client_add(&cl, "security.protocol", "SASL_SSL", err, sizeof err), 0); /* replaces */
    assert_int_equal(kfk_client_add(&cl, "sasl.mechanisms", "SCRAM-SHA-512", err, sizeof err), 0);
    assert_int_equal(kfk_client_add(&cl, "sasl.username", "alice", err, sizeof err), 0);
    assert_int_equal(cl.nprops, 3);
    assert_true(kfk_client_secured(&cl));
    assert_string_equal(kfk_client_get(&cl, "sasl.username"), "alice");
    assert_null(kfk_client_get(&cl, "sasl.password"));
    rd_kafka_conf_t *conf = kfk_conf_new(&cl, "t", &op, err, sizeof err);
    assert_non_null(conf);
    assert_string_equal(conf_get(conf, "security.protocol"), "sasl_ssl");
    assert_string_equal(conf_get(conf, "sasl.mechanisms"), "SCRAM-SHA-512");
    assert_string_equal(conf_get(conf, "sasl.username"), "alice");
    rd_kafka_conf_destroy(conf);
    assert_int_equal(kfk_client_add(&cl, "sasl.mechanisms", "NO-SUCH", err, sizeof err), 0);
    assert_int_equal(kfk_client_add(&cl, "no.such.property", "1", err, sizeof err), 0);
    assert_null(kfk_conf_new(&cl, "t", &op, err, sizeof err));
    assert_non_null(strstr(err, "kafka-config.properties.no.such.property"));
    kfk_client_t full = {0};
    static char keys[KFK_MAX_PROPS + 1][16];
    for (int i = 0; i <= KFK_MAX_PROPS; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        assert_int_equal(kfk_client_add(&full, keys[i], "v", err, sizeof err), i < KFK_MAX_PROPS ? 0 : -1);
    }
    assert_non_null(strstr(err, "more than"));
}

/* kfk_check: a cluster that answers is OK, an address where none listens is NO_ANSWER at the
 * deadline (the refusals need a real SASL/TLS broker: tests/integration/test_kafka_sasl.sh). */
static void t_check(void **state)
{
    char err[512] = "";
    kfk_opaque_t op = {0};
    const kfk_client_t none = {.bootstrap = "127.0.0.1:1"};
    rd_kafka_conf_t *conf = kfk_conf_new(&none, "t", &op, err, sizeof err);
    assert_int_equal(kfk_check(conf, KFK_PRODUCER, 600, err, sizeof err), KFK_CHECK_NO_ANSWER);
    assert_non_null(strstr(err, "127.0.0.1:1"));
    conf = kfk_conf_new(NULL, "t", &op, err, sizeof err);
    assert_int_equal(kfk_conf_set(conf, "test.mock.num.brokers", "1", err, sizeof err), 0);
    assert_int_equal(kfk_check(conf, KFK_CONSUMER, 5000, err, sizeof err), KFK_CHECK_OK);
    assert_int_equal(kfk_check(NULL, KFK_CONSUMER, 5000, err, sizeof err), KFK_CHECK_ERROR);
}

static void t_bad_args(void **state)
{
    char err[512] = "";
    assert_null(kfk_producer_new(NULL, err, sizeof err));
    const kfk_topic_spec_t ok = {1, 1, 0}, isr_too_big = {3, 1, 2};
    assert_int_equal(kfk_ensure_topic(NULL, "x", &ok, NULL, 0, 100, err, sizeof err), -1);
    assert_int_equal(kfk_ensure_topic(NULL, "x", NULL, NULL, 0, 100, err, sizeof err), -1);
    assert_int_equal(kfk_ensure_topic((rd_kafka_t *)1, "x", &isr_too_big, NULL, 0, 100, err, sizeof err), -1);
    assert_non_null(strstr(err, "min.insync.replicas 2"));
    assert_int_equal(kfk_brokers_down(NULL, "a:1", 10, err, sizeof err), -1);
    assert_string_equal(err, "");
    assert_int_equal(kfk_reachable(NULL, 10), 0);
    assert_null(kfk_user(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_apply),         cmocka_unit_test(t_seed_keys), cmocka_unit_test(t_apply_all),
        cmocka_unit_test(t_producer_mock), cmocka_unit_test(t_client),    cmocka_unit_test(t_check),
        cmocka_unit_test(t_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
