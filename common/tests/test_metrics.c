/* test_metrics.c — unit tests of the Prometheus registry (common/base/metrics.h): counters,
 * gauges, histograms, rendering, label escaping, concurrent updates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static void t_render(void **state)
{
    metrics_t *m = metrics_new();
    const double b[] = {0.1, 1};
    size_t len = 0;
    assert_int_equal(metrics_declare(m, "req_total", METRICS_COUNTER, "Requests.", NULL, 0), 0);
    assert_int_equal(metrics_declare(m, "req_total", METRICS_COUNTER, "Requests.", NULL, 0), 0);
    assert_int_equal(metrics_declare(m, "req_total", METRICS_GAUGE, "x", NULL, 0), -1);
    assert_int_equal(metrics_declare(m, "bad name", METRICS_GAUGE, "x", NULL, 0), -1);
    assert_int_equal(metrics_declare(m, "backlog", METRICS_GAUGE, "Backlog.", NULL, 0), 0);
    assert_int_equal(metrics_declare(m, "lat_seconds", METRICS_HISTOGRAM, "Latency.", b, 2), 0);
    assert_int_equal(metrics_add(m, "req_total", "route=\"/c\",status=\"201\"", 1), 0);
    assert_int_equal(metrics_add(m, "req_total", "route=\"/c\",status=\"201\"", 2), 0);
    assert_int_equal(metrics_add(m, "req_total", NULL, -1), -1);
    assert_int_equal(metrics_set(m, "backlog", NULL, 42), 0);
    assert_int_equal(metrics_set(m, "req_total", NULL, 42), -1);
    assert_int_equal(metrics_add(m, "nope", NULL, 1), -1);
    assert_int_equal(metrics_observe(m, "lat_seconds", "op=\"x\"", 0.05), 0);
    assert_int_equal(metrics_observe(m, "lat_seconds", "op=\"x\"", 0.5), 0);
    assert_int_equal(metrics_observe(m, "lat_seconds", "op=\"x\"", 5), 0);
    assert_true(metrics_get(m, "req_total", "route=\"/c\",status=\"201\"") == 3);
    assert_true(metrics_get(m, "lat_seconds", "op=\"x\"") == 3);
    char *txt = metrics_render(m, &len);
    assert_non_null(txt);
    assert_int_equal(strlen(txt), len);
    assert_non_null(strstr(txt, "# TYPE req_total counter\n"));
    assert_non_null(strstr(txt, "req_total{route=\"/c\",status=\"201\"} 3\n"));
    assert_non_null(strstr(txt, "backlog 42\n"));
    assert_non_null(strstr(txt, "lat_seconds_bucket{op=\"x\",le=\"0.1\"} 1\n"));
    assert_non_null(strstr(txt, "lat_seconds_bucket{op=\"x\",le=\"1\"} 2\n"));
    assert_non_null(strstr(txt, "lat_seconds_bucket{op=\"x\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(txt, "lat_seconds_sum{op=\"x\"} 5.55"));
    assert_non_null(strstr(txt, "lat_seconds_count{op=\"x\"} 3\n"));
    free(txt);
    metrics_free(m);
    metrics_free(NULL);
}

static void t_escape(void **state)
{
    char out[16];
    assert_string_equal(metrics_label_escape("a\"b\\c\nd", out, sizeof out), "a\\\"b\\\\c\\nd");
    assert_string_equal(metrics_label_escape("0123456789abcdefghij", out, sizeof out), "0123456789abcde");
}

static void *hammer(void *arg)
{
    for (int i = 0; i < 10000; i++) {
        metrics_add(arg, "c", "t=\"1\"", 1);
        metrics_observe(arg, "h", NULL, 0.001);
    }
    return NULL;
}

static void t_threads(void **state)
{
    metrics_t *m = metrics_new();
    pthread_t th[4];
    metrics_declare(m, "c", METRICS_COUNTER, "c", NULL, 0);
    metrics_declare(m, "h", METRICS_HISTOGRAM, "h", NULL, 0);
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, hammer, m);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_true(metrics_get(m, "c", "t=\"1\"") == 40000);
    assert_true(metrics_get(m, "h", NULL) == 40000);
    metrics_free(m);
}

/* A family holds at most METRICS_MAX_SERIES: more label sets are dropped and counted. */
/* metrics_raise: a counter follows a total kept elsewhere, never down; gauges refuse it */
static void t_raise(void **state)
{
    (void)state;
    metrics_t *m = metrics_new();
    assert_int_equal(metrics_declare(m, "c_total", METRICS_COUNTER, "c", NULL, 0), 0);
    assert_int_equal(metrics_declare(m, "g", METRICS_GAUGE, "g", NULL, 0), 0);
    assert_int_equal(metrics_raise(m, "c_total", NULL, 2.5), 0);
    assert_true(metrics_get(m, "c_total", NULL) == 2.5);
    assert_int_equal(metrics_raise(m, "c_total", NULL, 1), 0);
    assert_true(metrics_get(m, "c_total", NULL) == 2.5);
    assert_int_equal(metrics_raise(m, "c_total", NULL, 4), 0);
    assert_true(metrics_get(m, "c_total", NULL) == 4);
    assert_int_equal(metrics_raise(m, "g", NULL, 4), -1);
    metrics_free(m);
}

static void t_series_bound(void **state)
{
    metrics_t *m = metrics_new();
    char labels[64];
    (void)state;
    metrics_declare(m, "c", METRICS_COUNTER, "c", NULL, 0);
    for (int i = 0; i < METRICS_MAX_SERIES + 25; i++) {
        snprintf(labels, sizeof labels, "k=\"%d\"", i);
        assert_int_equal(metrics_add(m, "c", labels, 1), i < METRICS_MAX_SERIES ? 0 : -1);
    }
    assert_true(metrics_get(m, "c", "k=\"0\"") == 1);
    assert_int_equal(metrics_add(m, "c", "k=\"0\"", 1), 0); /* an existing series still counts */
    assert_true(metrics_get(m, "c", "k=\"0\"") == 2);
    snprintf(labels, sizeof labels, "k=\"%d\"", METRICS_MAX_SERIES - 1);
    assert_true(metrics_get(m, "c", labels) == 1);
    char *txt = metrics_render(m, NULL);
    assert_non_null(strstr(txt, "metrics_series_dropped_total 25\n"));
    snprintf(labels, sizeof labels, "c{k=\"%d\"}", METRICS_MAX_SERIES);
    assert_null(strstr(txt, labels));
    free(txt);
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_series_bound), cmocka_unit_test(t_raise),   cmocka_unit_test(t_render),
        cmocka_unit_test(t_escape),       cmocka_unit_test(t_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
