/* projector_trace.c — the projection's end of a trace: after a batch committed, each record
 * that carried a `traceparent` header (the relay's PRODUCER span) gets a CONSUMER span,
 * "<topic> process", from the batch's first poll to the commit — when the read model holds
 * the event. See os_trace_batch in projector_int.h. Called by projector_loop.c.
 */
#include "messaging/projector_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void os_trace_batch(os_projector_t *p, const os_batch_t *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const os_msg_t *m = &b->msgs[i];
        trc_ctx_t parent;
        trc_span_t span;
        char name[64], part[16], off[24], key[64];
        if (m->traceparent[0] == '\0' || trc_parse(m->traceparent, strlen(m->traceparent), &parent) != 0)
            continue;
        snprintf(name, sizeof name, "%s process", p->w.topic);
        snprintf(part, sizeof part, "%d", (int)m->partition);
        snprintf(off, sizeof off, "%" PRId64, m->offset);
        snprintf(key, sizeof key, "%.*s", (int)(m->key_len < 63 ? m->key_len : 63),
                 m->key ? (const char *)m->key : "");
        trc_span_start(&span, name, TRC_CONSUMER, &parent);
        span.start_ns = b->start_ns > 0 ? b->start_ns : span.start_ns;
        trc_span_attr(&span, "messaging.system", "kafka");
        trc_span_attr(&span, "messaging.destination.name", p->w.topic);
        trc_span_attr(&span, "messaging.kafka.partition", part);
        trc_span_attr(&span, "messaging.kafka.offset", off);
        trc_span_attr(&span, "messaging.kafka.message.key", key);
        trc_set_current(&span.ctx);
        clog_debug(p->w.log, "projection: event of %s (partition %s, offset %s) in the read model", key, part,
                   off);
        trc_span_end(&span, &p->w.tracer);
        trc_set_current(NULL);
    }
}
