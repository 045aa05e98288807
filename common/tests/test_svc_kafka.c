/* test_svc_kafka.c — common/svc/svc_kafka: the shared Kafka client settings read from the
 * configuration (bootstrap, kafka-config.properties.*, the security keys an env var alone
 * sets) and the start-up check on a plaintext set-up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cfgcli.h"
#include "svc_kafka.h"
#include "ts_cfg.h"

static void t_client(void **state)
{
    char err[256] = "";
    kfk_client_t cl;
    (void)state;
    char *const env[] = {"KAFKA_CONFIG_PROPERTIES_SASL_PASSWORD=from-secret",
                         "KAFKA_CONFIG_PROPERTIES_SASL_USERNAME=env-user", NULL};
    cfgcli_t *c = ts_cfg_doc("\"kafka-config.bootstrap-servers\":\"b:1\","
                             "\"kafka-config.properties.security.protocol\":\"SASL_SSL\","
                             "\"kafka-config.properties.sasl.mechanisms\":\"SCRAM-SHA-512\","
                             "\"kafka-config.properties.sasl.username\":\"served\","
                             "\"kafka-config.properties.ssl.ca.location\":\"/ca.crt\","
                             "\"kafka-producer-config.properties.linger.ms\":\"5\"",
                             env);
    assert_int_equal(svc_kafka_client(c, NULL, &cl, err, sizeof err), 0);
    assert_string_equal(cl.bootstrap, "b:1");
    assert_int_equal(cl.nprops, 5); /* 4 served + the password from the env only */
    assert_string_equal(kfk_client_get(&cl, "security.protocol"), "SASL_SSL");
    assert_string_equal(kfk_client_get(&cl, "sasl.username"), "env-user"); /* env overrides */
    assert_string_equal(kfk_client_get(&cl, "sasl.password"), "from-secret");
    assert_string_equal(kfk_client_get(&cl, "ssl.ca.location"), "/ca.crt");
    assert_null(kfk_client_get(&cl, "linger.ms")); /* a producer key stays the producer's */
    assert_true(kfk_client_secured(&cl));
    cfgcli_free(c);

    c = ts_cfg_doc("\"a\":\"b\"", NULL);
    assert_int_equal(svc_kafka_client(c, NULL, &cl, err, sizeof err), -1);
    assert_non_null(strstr(err, "kafka-config.bootstrap-servers"));
    assert_int_equal(svc_kafka_client(c, "localhost:9092", &cl, err, sizeof err), 0);
    assert_string_equal(cl.bootstrap, "localhost:9092");
    assert_int_equal(cl.nprops, 0);
    assert_false(kfk_client_secured(&cl));
    cfgcli_free(c);
}

/* A plaintext set-up is not checked at start-up (the services wait for an absent cluster). */
static void t_check_plaintext(void **state)
{
    char err[256] = "";
    clog_t log;
    kfk_opaque_t op = {0};
    (void)state;
    clog_init(&log, "t", "error", stderr);
    const kfk_client_t cl = {.bootstrap = "127.0.0.1:1"};
    rd_kafka_conf_t *conf = kfk_conf_new(&cl, "t", &op, err, sizeof err);
    assert_int_equal(svc_kafka_check(&cl, conf, KFK_PRODUCER, 100000, &log, err, sizeof err), 0);
    /* secured but nobody answers: no refusal, so the start goes on */
    kfk_client_t sec = {.bootstrap = "127.0.0.1:1"};
    assert_int_equal(kfk_client_add(&sec, "security.protocol", "SSL", err, sizeof err), 0);
    conf = kfk_conf_new(&sec, "t", &op, err, sizeof err);
    assert_non_null(conf);
    assert_int_equal(svc_kafka_check(&sec, conf, KFK_PRODUCER, 500, &log, err, sizeof err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_client),
        cmocka_unit_test(t_check_plaintext),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
