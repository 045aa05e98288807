/* outbox_relay_pos.c — the relay's position in the outbox (application/outbox_store.h,
 * outbox_pos_t): which rows are on the topic, kept in memory and stored as one row, so no
 * outbox row is ever written again after its insert. Pure bookkeeping, no I/O: the pump
 * (outbox_relay_pump.c) and the takeover scan feed it what they read and what was delivered.
 *
 * Rows are read past the position in id order: those in its gaps, then those above its top.
 * Ids are taken from a sequence by transactions that may commit in any order, so a read can
 * return id 12 while 11 is not visible yet: 11 becomes a gap, 12 the new top, and the next
 * read asks for the gaps again. A gap is closed when its row is read, or when it is proved
 * empty: the relay takes a transaction id of its own (the probe) after it saw the gap;
 * every transaction that could hold the gap's id took its transaction id before that id
 * (customer.outbox_next_id, migration 002), so before the probe's — once the oldest running
 * transaction of a read's snapshot is younger than the probe, a gap that read did not return
 * is empty forever (the transaction rolled back). Nothing is ever skipped that may still
 * commit, and nothing read is read twice.
 */
#include "messaging/outbox_relay_int.h"

#include <stdlib.h>
#include <string.h>

void relay_pos_free(relay_pos_t *p)
{
    free(p->gaps);
    free(p->offsets);
    memset(p, 0, sizeof *p);
}

/* Room for n gaps. 0 or -1. */
static int gaps_room(relay_pos_t *p, int n)
{
    if (n <= p->capgaps)
        return 0;
    int cap = p->capgaps ? p->capgaps * 2 : 16;
    while (cap < n)
        cap *= 2;
    outbox_gap_t *g = realloc(p->gaps, (size_t)cap * sizeof *g);
    if (g == NULL)
        return -1;
    p->gaps = g;
    p->capgaps = cap;
    return 0;
}

static int gap_insert(relay_pos_t *p, int at, long long lo, long long hi, long long since)
{
    if (gaps_room(p, p->ngaps + 1) != 0)
        return -1;
    memmove(&p->gaps[at + 1], &p->gaps[at], (size_t)(p->ngaps - at) * sizeof *p->gaps);
    p->gaps[at] = (outbox_gap_t){lo, hi, since};
    p->ngaps++;
    return 0;
}

static void gap_remove_at(relay_pos_t *p, int at)
{
    memmove(&p->gaps[at], &p->gaps[at + 1], (size_t)(p->ngaps - at - 1) * sizeof *p->gaps);
    p->ngaps--;
}

static void pos_upto(relay_pos_t *p)
{
    p->upto = p->ngaps > 0 ? p->gaps[0].lo - 1 : p->top;
}

/* Removes id from the gaps (it is on the topic now). 0 or -1 (out of memory). */
static int gap_close(relay_pos_t *p, long long id)
{
    for (int i = 0; i < p->ngaps; i++) {
        outbox_gap_t *g = &p->gaps[i];
        if (id < g->lo)
            return 0;
        if (id > g->hi)
            continue;
        if (g->lo == g->hi)
            gap_remove_at(p, i);
        else if (id == g->lo)
            g->lo++;
        else if (id == g->hi)
            g->hi--;
        else {
            long long hi = g->hi;
            g->hi = id - 1;
            return gap_insert(p, i + 1, id + 1, hi, g->since_ms);
        }
        return 0;
    }
    return 0;
}

int relay_pos_set(relay_pos_t *p, const outbox_pos_t *stored)
{
    p->ngaps = 0;
    p->upto = stored->upto;
    p->top = stored->top > stored->upto ? stored->top : stored->upto;
    p->probe_xid = 0;
    if (gaps_room(p, stored->ngaps) != 0)
        return -1;
    for (int i = 0; i < stored->ngaps; i++) {
        const outbox_gap_t *g = &stored->gaps[i];
        long long lo = g->lo > p->upto ? g->lo : p->upto + 1, hi = g->hi < p->top ? g->hi : p->top;
        if (lo <= hi)
            p->gaps[p->ngaps++] = (outbox_gap_t){lo, hi, 0}; /* since 0: old enough for a probe */
    }
    free(p->offsets);
    p->offsets = NULL;
    p->noffsets = 0;
    if (stored->noffsets > 0) {
        p->offsets = malloc((size_t)stored->noffsets * sizeof *p->offsets);
        if (p->offsets == NULL)
            return -1;
        memcpy(p->offsets, stored->offsets, (size_t)stored->noffsets * sizeof *p->offsets);
        p->noffsets = stored->noffsets;
    }
    pos_upto(p);
    p->loaded = 1;
    p->changed = 0;
    return 0;
}

void relay_pos_view(const relay_pos_t *p, const char *topic, outbox_pos_t *out)
{
    *out = (outbox_pos_t){p->upto, p->top, p->gaps, p->ngaps, p->offsets, p->noffsets, topic};
}

int relay_pos_seen(relay_pos_t *p, const long long *ids, int n, long long now_ms)
{
    for (int i = 0; i < n; i++) {
        long long id = ids[i];
        if (id <= p->upto)
            continue; /* not past the position: nothing to record */
        if (id <= p->top) {
            if (gap_close(p, id) != 0)
                return -1;
        } else {
            if (id > p->top + 1 && gap_insert(p, p->ngaps, p->top + 1, id - 1, now_ms) != 0)
                return -1;
            p->top = id;
        }
        p->changed = 1;
    }
    pos_upto(p);
    return 0;
}

int relay_pos_resolve(relay_pos_t *p, long long xmin, long long cut)
{
    int closed = 0;
    if (p->probe_xid <= 0 || xmin <= p->probe_xid)
        return 0;
    /* Every transaction older than the probe has ended: the gaps seen before the probe that
     * the read did not return (below its cut) stay empty. */
    for (int i = 0; i < p->ngaps;) {
        outbox_gap_t *g = &p->gaps[i];
        if (g->since_ms >= p->probe_ms || g->lo >= cut) {
            i++;
            continue;
        }
        closed = 1;
        if (g->hi < cut) {
            gap_remove_at(p, i);
        } else {
            g->lo = cut;
            i++;
        }
    }
    p->probe_xid = 0;
    if (closed)
        p->changed = 1;
    pos_upto(p);
    return closed;
}

int relay_pos_unsee(relay_pos_t *p, long long id, long long now_ms)
{
    int at = 0;
    if (id > p->top)
        return 0;
    while (at < p->ngaps && p->gaps[at].hi < id)
        at++;
    if (at < p->ngaps && p->gaps[at].lo <= id)
        return 0; /* a gap already */
    if (gap_insert(p, at, id, id, now_ms) != 0)
        return -1;
    p->changed = 1;
    pos_upto(p);
    return 0;
}

void relay_pos_delivered(relay_pos_t *p, int32_t partition, long long offset)
{
    if (partition < 0 || partition > 100000)
        return;
    if (partition >= p->noffsets) {
        long long *o = realloc(p->offsets, (size_t)(partition + 1) * sizeof *o);
        if (o == NULL)
            return; /* the offset stays unknown: a takeover reads by counts */
        for (int i = p->noffsets; i <= partition; i++)
            o[i] = -1;
        p->offsets = o;
        p->noffsets = partition + 1;
    }
    if (offset + 1 > p->offsets[partition]) {
        p->offsets[partition] = offset + 1;
        p->changed = 1;
    }
}

int relay_pos_need_probe(const relay_pos_t *p, long long now_ms, long long after_ms)
{
    if (p->probe_xid > 0)
        return 0;
    for (int i = 0; i < p->ngaps; i++)
        if (now_ms - p->gaps[i].since_ms >= after_ms)
            return 1;
    return 0;
}
