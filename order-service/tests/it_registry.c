/* it_registry.c — order-service resolving schema ids through a schema registry on the real
 * PostgreSQL and Kafka (the service started by the test on its own database and topics with
 * KAFKA_CONFIG_SCHEMA_REGISTRY_URL; the registry an in-process fake of the Confluent API on a
 * free loopback port, which knows id 2 = the catalog's newest schema):
 *  - while the registry answers 503 the three events and a record under an id it does not
 *    have wait: no row, no dead letter, order_projection_batches_total{result=
 *    "registry_unavailable"} counts, the service stays ready (it needs only its database);
 *  - when it answers again the events are applied and the unknown id (404, error code
 *    40403) is dead-lettered as unknown-schema-id, without a restart;
 *  - the service stops cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdatomic.h>

#include "fake_registry.h"
#include "os_it.h"

static void test_registry_down_then_up(void **state)
{
    static fake_reg_t reg;
    os_it_run_t run;
    char err[256] = "", envurl[128], id[37];
    evcodec_t *cat = evcodec_new_default(err, sizeof err);
    unsigned char *buf = NULL;
    size_t len = 0;
    evcodec_customer_t ev = {0};
    char *metrics = NULL;
    json_t *dl = NULL;

    assert_non_null(cat);
    assert_int_equal(fake_reg_start(&reg, evcodec_schema_text(cat, 2), err, sizeof err), 0);
    atomic_store(&reg.down, 1);
    snprintf(envurl, sizeof envurl, "KAFKA_CONFIG_SCHEMA_REGISTRY_URL=http://127.0.0.1:%d",
             httpd_port(reg.srv));
    const char *env[] = {envurl, "PROJECTION_RETRY_BACKOFF_MS=200", NULL};
    assert_int_equal(os_it_up(&run, "registry", 1, env), 0);

    for (long n = 1; n <= 3; n++) {
        os_it_uuid(id, n);
        assert_int_equal(os_it_send(&run.t, id, 1, n == 2 ? "second" : "other", 0), 0);
    }
    os_it_uuid(id, 9);
    memcpy(ev.id, id, 37);
    ev.username = "unknown-id";
    ev.first_name = "f";
    ev.last_name = "l";
    ev.version = 1;
    assert_int_equal(evcodec_encode_customer(cat, &ev, &buf, &len), EVCODEC_OK);
    buf[3] = 0x10; /* schema id 4098: the registry does not have it */
    assert_int_equal(os_it_send_raw(&run.t, id, buf, len, 1), 0);
    free(buf);

    /* the registry is down: nothing applied, nothing dead-lettered, the service ready */
    sleep(4);
    assert_true(atomic_load(&reg.gets) >= 2);
    assert_int_equal(os_it_scalar(&run.t, "SELECT count(*) FROM \"order\".customers"), 0);
    assert_int_equal(os_it_dlq_read(&run.t, &dl), 0);
    json_decref(dl);
    assert_int_equal(os_it_get(run.port, "/health/readiness", NULL, NULL), 200);
    assert_int_equal(os_it_get(run.port, "/metrics", &metrics, NULL), 200);
    assert_non_null(strstr(metrics, "order_projection_batches_total{result=\"registry_unavailable\"}"));
    assert_non_null(strstr(metrics, "schema_registry_lookups_total{result=\"error\"}"));
    free(metrics);

    /* back: the projection catches up by itself */
    atomic_store(&reg.down, 0);
    assert_int_equal(os_it_wait_scalar(&run.t, "SELECT count(*) FROM \"order\".customers", 3, 60000), 3);
    int n = 0;
    for (int i = 0; i < 100 && (n = os_it_dlq_read(&run.t, &dl)) < 1; i++) {
        json_decref(dl);
        dl = NULL;
        usleep(200 * 1000);
    }
    assert_int_equal(n, 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(dl, 0), "dlq.reason")),
                        "unknown-schema-id");
    json_decref(dl);
    assert_int_equal(
        os_it_scalar(&run.t, "SELECT count(*) FROM \"order\".customers WHERE username = 'second'"), 1);

    assert_int_equal(os_it_down(&run), 0);
    fake_reg_stop(&reg);
    evcodec_free(cat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_registry_down_then_up)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
