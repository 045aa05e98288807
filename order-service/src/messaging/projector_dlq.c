/* projector_dlq.c — the projection's dead-letter side: sending poison messages through the
 * dead-letter port (logged and counted once the broker acknowledged them), and the fallback
 * after max_retries that applies a batch one event per transaction and dead-letters the
 * event that still fails ("apply-failed"). See projector.h. Called by projector_loop.c;
 * calls nothing of it.
 */
#include "messaging/projector_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int os_dlq_send(os_projector_t *p, const os_poison_t *list, size_t n)
{
    if (n == 0)
        return 0;
    if (p->w.dlq.send(p->w.dlq.self, list, n, &p->stop) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const os_poison_t *x = &list[i];
        clog_ev(p->w.log, CLOG_WARN,
                json_pack("{s:s,s:s,s:i,s:I}", "reason", x->reason, "detail", x->detail, "partition",
                          (int)x->msg->partition, "offset", (json_int_t)x->msg->offset),
                "projection: message sent to the dead-letter topic");
        if (p->w.metrics) {
            char lab[64];
            snprintf(lab, sizeof lab, "reason=\"%s\"", x->reason);
            metrics_add(p->w.metrics, "order_projection_dlq_total", lab, 1);
        }
    }
    return 0;
}

int os_dlq_db_up(os_projector_t *p)
{
    if (p->w.db.session(p->w.db.self, NULL, 0) != 0) {
        p->resync = 1; /* maybe another server now: re-read the position before any batch */
        return 0;
    }
    return p->w.db.ping(p->w.db.self);
}

int os_dlq_position_moved(os_projector_t *p)
{
    os_offset_t *offs = p->offs_buf;
    size_t n = 0;
    if (p->w.db.session(p->w.db.self, NULL, 0) < 0 ||
        p->w.db.load_offsets(p->w.db.self, p->w.topic, offs, OS_MAX_PARTS, &n, NULL, 0) != 0)
        return 0;
    for (size_t j = 0; j < p->npos; j++)
        for (size_t k = 0; k < n; k++)
            if (offs[k].partition == p->pos[j].partition && offs[k].epoch != p->pos[j].epoch) {
                p->resync = 1;
                return 1;
            }
    return 0;
}

int os_dlq_apply_one_by_one(os_projector_t *p, const os_batch_t *b, os_proj_stats_t *st)
{
    char err[1024];
    size_t ev = 0;
    for (size_t i = 0; i < b->n; i++) {
        const os_msg_t *m = &b->msgs[i];
        os_offset_t off = {m->partition, m->offset + 1, os_pos_epoch(p, m->partition)};
        const proj_event_t *e = NULL;
        if (ev < b->nev && b->ev_msg[ev] == i)
            e = &b->events[ev++];
        if (os_projection_apply(&p->w.db.store, p->w.topic, e, e ? 1 : 0, &off, 1, st, err, sizeof err) == 0)
            continue;
        if (!os_dlq_db_up(p) || os_dlq_position_moved(p))
            return -1;
        os_poison_t x;
        memset(&x, 0, sizeof x);
        x.msg = m;
        x.reason = "apply-failed";
        size_t el = strlen(err) < sizeof x.detail - 1 ? strlen(err) : sizeof x.detail - 1;
        memcpy(x.detail, err, el);
        x.detail[el] = '\0';
        clog_error(p->w.log, "projection: event at %d/%" PRId64 " cannot be applied: %s", (int)m->partition,
                   m->offset, err);
        if (os_dlq_send(p, &x, 1) != 0 ||
            os_projection_apply(&p->w.db.store, p->w.topic, NULL, 0, &off, 1, st, err, sizeof err) != 0)
            return -1;
    }
    return 0;
}
