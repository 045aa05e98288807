/* trc.h — W3C Trace Context and spans, the libc side of tracing (the OTLP exporter that
 * sends spans to a collector is common/otel/otel.h).
 *
 * - trc_ctx_t: a trace id (16 bytes), a span id (8 bytes) and the sampled flag, parsed from
 *   and formatted as a `traceparent` header ("00-<32 hex>-<16 hex>-<2 hex>"; version 00, ids
 *   not all zero — anything else is refused and a new trace begins).
 * - trc_span_t: one span (name, kind, parent, start/end in ns since the epoch, status, a few
 *   string attributes), handed to a trc_sink_t (a port: the exporter, or a test's fake).
 * - The current span of a thread (trc_current / trc_set_current): what clog prints as
 *   trace_id and span_id on each line that thread logs while it works for that span. It is
 *   thread-local, set and cleared by the code that starts and ends the span on that thread.
 * Ids come from getrandom(2).
 */
#ifndef CQ_TRC_H
#define CQ_TRC_H

#include <stddef.h>
#include <stdint.h>

#define TRC_TRACEPARENT_LEN 55 /* "00-" 32 "-" 16 "-" 2 */
#define TRC_MAX_ATTRS 6

typedef struct trc_ctx {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t flags; /* bit 0: sampled */
} trc_ctx_t;

typedef enum {
    TRC_INTERNAL = 1,
    TRC_SERVER = 2,
    TRC_CLIENT = 3,
    TRC_PRODUCER = 4,
    TRC_CONSUMER = 5
} trc_kind_t;

typedef struct trc_attr {
    const char *key; /* borrowed */
    char value[128];
} trc_attr_t;

typedef struct trc_span {
    trc_ctx_t ctx;        /* this span's trace id and span id */
    uint8_t parent_id[8]; /* all zero: a root span */
    char name[64];
    trc_kind_t kind;
    int64_t start_ns, end_ns; /* since the epoch */
    int error;                /* 1: status ERROR */
    trc_attr_t attrs[TRC_MAX_ATTRS];
    int nattrs;
} trc_span_t;

/* Where finished spans go. emit must not block (the exporter queues, or drops and counts). */
typedef struct trc_sink {
    void (*emit)(void *self, const trc_span_t *span);
    void *self;
} trc_sink_t;

/* Parses a traceparent value (surrounding blanks allowed). 0, or -1 when it is not a valid
 * version-00 header (then *out is untouched). */
int trc_parse(const char *s, size_t len, trc_ctx_t *out);
/* Formats `c` as a traceparent into buf (at least TRC_TRACEPARENT_LEN + 1 bytes). */
void trc_format(const trc_ctx_t *c, char *buf);
/* Lower-case hex of the trace id (33 bytes) / span id (17 bytes). */
void trc_trace_hex(const trc_ctx_t *c, char out[33]);
void trc_span_hex(const uint8_t id[8], char out[17]);

/* Starts a span named `name` of `kind` now: a child of `parent` (same trace, parent id =
 * parent's span id, its flags) when parent is not NULL, else the root of a new sampled trace. */
void trc_span_start(trc_span_t *s, const char *name, trc_kind_t kind, const trc_ctx_t *parent);
/* Adds a string attribute (key borrowed: a literal; value copied, cut at 127 bytes); ignored
 * past TRC_MAX_ATTRS. */
void trc_span_attr(trc_span_t *s, const char *key, const char *value);
/* Sets the end time (now) and hands the span to `sink` when sink->emit is set. */
void trc_span_end(trc_span_t *s, const trc_sink_t *sink);

/* The calling thread's current span context, or NULL. */
const trc_ctx_t *trc_current(void);
/* Makes `c` (copied; NULL clears) the calling thread's current span context. */
void trc_set_current(const trc_ctx_t *c);

/* Nanoseconds since the epoch (CLOCK_REALTIME). */
int64_t trc_now_ns(void);

#endif
