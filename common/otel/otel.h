/* otel.h — a small OTLP/HTTP JSON span exporter (libcurl + jansson): finished spans
 * (common/base/trc.h) are queued by otel_sink's emit — a copy under a mutex, never a wait:
 * when the bounded queue is full the span is dropped and counted — and a thread of the
 * exporter posts them in batches to <endpoint>/v1/traces as one ExportTraceServiceRequest
 * (resource attribute service.name), every interval_ms or as soon as batch_max are waiting.
 * A collector that is down or slow costs lost spans (logged once per outage), never a
 * request. otel_free sends what is queued and stops the thread; a request that fails while
 * stopping drops the rest, so a collector that is away delays it by one timeout_ms at most.
 */
#ifndef CQ_OTEL_H
#define CQ_OTEL_H

#include <stddef.h>
#include <stdint.h>

#include "clog.h"
#include "trc.h"

typedef struct otel_opts {
    const char *endpoint; /* e.g. http://collector:4318 (or …/v1/traces); copied */
    const char *service;  /* service.name; copied */
    const clog_t *log;    /* borrowed */
    int queue_max;        /* spans waiting at most; default 2048 */
    int batch_max;        /* spans per request at most; default 512 */
    int interval_ms;      /* default 1000 */
    int timeout_ms;       /* per request; default 5000 */
} otel_opts_t;

typedef struct otel otel_t;

/* Starts the exporter's thread. Owned (otel_free) or NULL with err. */
otel_t *otel_new(const otel_opts_t *o, char *err, size_t errlen);
/* The sink that queues into `x` (x borrowed: it must outlive every user of the sink). */
trc_sink_t otel_sink(otel_t *x);
/* Spans sent (acknowledged with a 2xx) and dropped (queue full, or a failed request). */
void otel_stats(const otel_t *x, uint64_t *sent, uint64_t *dropped);
/* Sends what is queued, stops the thread, frees. NULL-safe. */
void otel_free(otel_t *x);

/* The OTLP JSON request body for n spans of `service` (exposed for tests). Owned string
 * (free) or NULL. */
char *otel_encode(const char *service, const trc_span_t *spans, size_t n);

#endif
