/* test_trc.c — common/base/trc (W3C traceparent, spans, the thread's current span, the
 * trace fields of clog lines) and common/otel's OTLP JSON body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clog.h"
#include "otel.h"
#include "trc.h"

static const char TP[] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

static void t_parse(void **state)
{
    trc_ctx_t c;
    char out[TRC_TRACEPARENT_LEN + 1];
    (void)state;
    assert_int_equal(trc_parse(TP, strlen(TP), &c), 0);
    trc_format(&c, out);
    assert_string_equal(out, TP);
    assert_int_equal(trc_parse(" 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01 ", 57, &c), 0);
    static const char *bad[] = {
        "",
        "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", /* version */
        "00-00000000000000000000000000000000-b7ad6b7169203331-01", /* zero trace id */
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", /* zero span id */
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", /* upper case */
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333x-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(trc_parse(bad[i], strlen(bad[i]), &c), -1);
    assert_int_equal(trc_parse(NULL, 0, &c), -1);
}

static int emitted;
static trc_span_t last;
static void sink_emit(void *self, const trc_span_t *s)
{
    (void)self;
    emitted++;
    last = *s;
}

static void t_span(void **state)
{
    trc_ctx_t parent;
    trc_span_t root, child;
    const trc_sink_t sink = {sink_emit, NULL};
    (void)state;
    trc_span_start(&root, "root", TRC_SERVER, NULL);
    assert_int_equal(root.ctx.flags & 1, 1);
    assert_int_equal(trc_parse(TP, strlen(TP), &parent), 0);
    trc_span_start(&child, "child", TRC_PRODUCER, &parent);
    assert_memory_equal(child.ctx.trace_id, parent.trace_id, 16);
    assert_memory_equal(child.parent_id, parent.span_id, 8);
    assert_memory_not_equal(child.ctx.span_id, parent.span_id, 8);
    for (int i = 0; i < TRC_MAX_ATTRS + 2; i++)
        trc_span_attr(&child, "k", "v");
    assert_int_equal(child.nattrs, TRC_MAX_ATTRS);
    trc_span_end(&child, &sink);
    assert_int_equal(emitted, 1);
    assert_true(last.end_ns >= last.start_ns);
    trc_span_end(&root, NULL); /* no sink: nothing */
    assert_int_equal(emitted, 1);
}

/* A line logged while a span is current carries its ids; none after it is cleared. */
static void t_clog(void **state)
{
    char buf[4096] = "";
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    clog_t log;
    trc_ctx_t c;
    (void)state;
    clog_init(&log, "t", "info", f);
    assert_int_equal(trc_parse(TP, strlen(TP), &c), 0);
    trc_set_current(&c);
    assert_non_null(trc_current());
    clog_info(&log, "inside");
    trc_set_current(NULL);
    assert_null(trc_current());
    clog_info(&log, "outside");
    fclose(f);
    char *second = strchr(buf, '\n');
    assert_non_null(second);
    *second++ = '\0';
    assert_non_null(strstr(buf, "\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\""));
    assert_non_null(strstr(buf, "\"span_id\":\"b7ad6b7169203331\""));
    assert_null(strstr(second, "trace_id"));
}

static void t_otel_body(void **state)
{
    trc_ctx_t parent;
    trc_span_t s;
    char err[256];
    (void)state;
    assert_int_equal(trc_parse(TP, strlen(TP), &parent), 0);
    trc_span_start(&s, "customer publish", TRC_PRODUCER, &parent);
    trc_span_attr(&s, "messaging.system", "kafka");
    trc_span_end(&s, NULL);
    char *body = otel_encode("svc-x", &s, 1);
    json_error_t je;
    json_t *doc = json_loads(body, 0, &je);
    assert_non_null(doc);
    json_t *rs = json_array_get(json_object_get(doc, "resourceSpans"), 0);
    json_t *span =
        json_array_get(json_object_get(json_array_get(json_object_get(rs, "scopeSpans"), 0), "spans"), 0);
    assert_string_equal(json_string_value(json_object_get(span, "traceId")),
                        "0af7651916cd43dd8448eb211c80319c");
    assert_string_equal(json_string_value(json_object_get(span, "parentSpanId")), "b7ad6b7169203331");
    assert_int_equal(json_integer_value(json_object_get(span, "kind")), 4);
    assert_string_equal(json_string_value(json_object_get(span, "name")), "customer publish");
    assert_non_null(strstr(body, "\"service.name\""));
    assert_non_null(strstr(body, "\"svc-x\""));
    json_decref(doc);
    free(body);
    /* the exporter refuses what is not an http(s) URL; a collector that is not there costs
     * dropped spans, not a wait */
    const otel_opts_t bad = {.endpoint = "collector:4318", .service = "x"};
    assert_null(otel_new(&bad, err, sizeof err));
    assert_non_null(strstr(err, "collector:4318"));
    const otel_opts_t none = {
        .endpoint = "http://127.0.0.1:1", .service = "x", .interval_ms = 50, .timeout_ms = 500};
    otel_t *x = otel_new(&none, err, sizeof err);
    assert_non_null(x);
    trc_sink_t sk = otel_sink(x);
    for (int i = 0; i < 3; i++)
        sk.emit(sk.self, &s);
    otel_free(x); /* sends (fails), stops */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_parse),
        cmocka_unit_test(t_span),
        cmocka_unit_test(t_clog),
        cmocka_unit_test(t_otel_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
