/* test_projector_registry.c — the live projector's loop (os_projector_step) with a codec that
 * resolves schema ids through a schema registry (evcodec_resolve_by_registry), the registry
 * an in-process fake (common/httpd on an ephemeral loopback port), the other ports the fakes
 * of fake_workers.h:
 *  - while the registry answers 503 (or nothing listens): no row applied, nothing
 *    dead-lettered, no offset stored, the projection unhealthy and the wait counted; when it
 *    answers again the same events are applied and the projection is healthy;
 *  - an id the registry does not have (404, error code 40403) is dead-lettered as
 *    "unknown-schema-id" with the registry's answer, later events go on;
 *  - an id is asked of the registry once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdatomic.h>

#include "fake_registry.h"
#include "fake_workers.h"
#include "messaging/projector_int.h"

typedef struct fx {
    fw_world_t w;
    fake_reg_t reg;
} fx_t;

static int setup(void **state)
{
    static fx_t f;
    char err[256] = "", url[64];
    memset(&f, 0, sizeof f);
    if (fw_world_setup(&f.w, "test-projector-registry", 1000) != 0)
        return -1;
    if (fake_reg_start(&f.reg, evcodec_schema_text(f.w.codec, 2), err, sizeof err) != 0)
        return -1;
    snprintf(url, sizeof url, "http://127.0.0.1:%d", httpd_port(f.reg.srv));
    if (evcodec_resolve_by_registry(f.w.codec, url, NULL, NULL, 2000, 0, f.w.metrics, err, sizeof err) != 0)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    void *w = &f->w;
    fake_reg_stop(&f->reg);
    return fw_world_teardown(&w);
}

static void test_registry_down_waits_then_applies(void **state)
{
    fx_t *f = *state;
    fw_world_t *w = &f->w;
    fw_send(&w->topic, w->codec, 0, 1, 1, "c1");
    fw_send(&w->topic, w->codec, 0, 2, 1, "c2");
    fw_world_start(w, 1, 10);
    atomic_store(&f->reg.down, 1);
    fw_world_steps(w, 4);
    assert_int_equal(fw_rows(&w->db), 0);
    assert_int_equal(w->dlq.n, 0);
    assert_int_equal(w->db.committed.offsets[0], -1);
    assert_int_equal(atomic_load(&w->p->healthy), 0);
    assert_true(
        metrics_get(w->metrics, "order_projection_batches_total", "result=\"registry_unavailable\"") >= 2);
    assert_true(metrics_get(w->metrics, "schema_registry_lookups_total", "result=\"error\"") >= 2);

    atomic_store(&f->reg.down, 0); /* back: the staleness recovers by itself */
    int gets = atomic_load(&f->reg.gets);
    fw_world_steps(w, 4);
    assert_int_equal(fw_rows(&w->db), 2);
    assert_int_equal(w->db.committed.offsets[0], 2);
    assert_int_equal(w->dlq.n, 0);
    assert_int_equal(atomic_load(&w->p->healthy), 1);
    assert_int_equal(atomic_load(&f->reg.gets), gets + 1); /* asked once, then cached */
    fw_send(&w->topic, w->codec, 0, 3, 1, "c3");
    fw_world_steps(w, 2);
    assert_int_equal(fw_rows(&w->db), 3);
    assert_int_equal(atomic_load(&f->reg.gets), gets + 1);
}

static void test_unknown_id_dead_lettered(void **state)
{
    fx_t *f = *state;
    fw_world_t *w = &f->w;
    unsigned char *buf = NULL;
    size_t len = 0;
    evcodec_customer_t ev = {0};
    fw_id(ev.id, 9);
    ev.username = "x";
    ev.first_name = "f";
    ev.last_name = "l";
    ev.version = 1;
    assert_int_equal(evcodec_encode_customer(w->codec, &ev, &buf, &len), EVCODEC_OK);
    buf[4] = 77; /* an id the registry does not have */
    fw_send_raw(&w->topic, 0, 9, buf, len);
    free(buf);
    fw_send(&w->topic, w->codec, 0, 1, 1, "c1");
    fw_world_start(w, 1, 10);
    fw_world_steps(w, 3);
    assert_int_equal(w->dlq.n, 1);
    assert_string_equal(w->dlq.reason[0], "unknown-schema-id");
    assert_int_equal(w->dlq.offset[0], 0);
    assert_int_equal(fw_rows(&w->db), 1);
    assert_int_equal(w->db.committed.offsets[0], 2);
    assert_int_equal(atomic_load(&w->p->healthy), 1);
    assert_true(metrics_get(w->metrics, "schema_registry_lookups_total", "result=\"not_found\"") == 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registry_down_waits_then_applies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_id_dead_lettered, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
