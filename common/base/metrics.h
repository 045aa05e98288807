/* metrics.h — a tiny Prometheus registry (text exposition format 0.0.4).
 *
 * Families are declared once (name, type, help, and buckets for histograms); series are
 * created lazily on first use, keyed by their label text. Labels are passed as the inside
 * of the braces, already formatted: `route="/customers",status="201"` (use
 * metrics_label_escape for values that come from outside, and keep their set bounded). A
 * family holds at most METRICS_MAX_SERIES series: an update that would create one more is
 * not recorded but counted in metrics_series_dropped_total (rendered once non-zero). All
 * functions are thread-safe (one mutex; series are found by a hash of their labels, so an
 * update is a few hundred nanoseconds).
 *
 *   metrics_t *m = metrics_new();
 *   metrics_declare(m, "http_requests_total", METRICS_COUNTER, "HTTP requests.", NULL, 0);
 *   metrics_add(m, "http_requests_total", "route=\"/customers\",status=\"201\"", 1);
 *   char *txt = metrics_render(m, &len);  // GET /metrics body; free(txt)
 */
#ifndef CQ_METRICS_H
#define CQ_METRICS_H

#include <stddef.h>

typedef enum { METRICS_COUNTER = 0, METRICS_GAUGE = 1, METRICS_HISTOGRAM = 2 } metrics_type_t;

typedef struct metrics metrics_t;

#define METRICS_MAX_SERIES 1000

/* Default latency buckets in seconds (0.0005 … 10), METRICS_DEFAULT_NBUCKETS entries. */
#define METRICS_DEFAULT_NBUCKETS 14
extern const double metrics_default_buckets[METRICS_DEFAULT_NBUCKETS];

/* An empty registry (owned; metrics_free). NULL on allocation failure. */
metrics_t *metrics_new(void);
void metrics_free(metrics_t *m); /* NULL-safe */

/* Declares a family. `buckets` (ascending upper bounds, copied) is used only by
 * histograms; NULL/0 means metrics_default_buckets. Re-declaring the same name with the
 * same type is a no-op. Returns 0, or -1 (bad name, type clash, no memory). */
int metrics_declare(metrics_t *m, const char *name, metrics_type_t type, const char *help,
                    const double *buckets, size_t nbuckets);

/* Counter/gauge: adds `v` (counters ignore v < 0). `labels` may be NULL or "". Using an
 * undeclared family or the wrong type is ignored (returns -1). */
int metrics_add(metrics_t *m, const char *name, const char *labels, double v);
/* Gauge: sets the value. */
int metrics_set(metrics_t *m, const char *name, const char *labels, double v);
/* Counter: raises it to `v` (a total counted elsewhere, e.g. the kernel's CPU time); a
 * lower `v` leaves it as it is. */
int metrics_raise(metrics_t *m, const char *name, const char *labels, double v);
/* Histogram: records one observation. */
int metrics_observe(metrics_t *m, const char *name, const char *labels, double v);

/* Current value of a counter/gauge series (0 when absent) — for tests and readiness. */
double metrics_get(metrics_t *m, const char *name, const char *labels);

/* The whole registry in Prometheus text format: malloc'ed, NUL-terminated (caller frees),
 * its length in *len (may be NULL). NULL on allocation failure. */
char *metrics_render(metrics_t *m, size_t *len);

/* Escapes a label value (\\, \", \n) into out (always NUL-terminated, truncated to fit).
 * Returns out. */
char *metrics_label_escape(const char *value, char *out, size_t outlen);

#endif
