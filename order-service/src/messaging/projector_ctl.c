/* projector_ctl.c — the operator's commands to the live projection (projector.h: pause,
 * resume, a move of the stored position): a one-slot mailbox the callers' threads fill and
 * wait on, and its execution on the consumer thread between two batches (os_ctl_run, called
 * at the top of every os_projector_step), so a command never meets a batch in flight in this
 * process. Batches of other replicas cannot store over a move either: it bumps the stored
 * epoch, and a batch stores its offsets only under the epoch it read its position with.
 * See projector_int.h for the order of calls between the projector's files.
 */
#include "messaging/projector_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void os_ctl_init(os_projector_t *p)
{
    pthread_condattr_t a;
    pthread_mutex_init(&p->ctl.mu, NULL);
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&p->ctl.cv, &a);
    pthread_condattr_destroy(&a);
}

void os_ctl_destroy(os_projector_t *p)
{
    pthread_cond_destroy(&p->ctl.cv);
    pthread_mutex_destroy(&p->ctl.mu);
}

static struct timespec os_ctl_deadline(int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Puts a command into the mailbox (waiting for it to be free) and waits for its end; out
 * (may be NULL) receives the moves as executed. Called with nothing locked. */
static int os_ctl_submit(os_projector_t *p, os_cmd_kind_t kind, const os_move_t *mv, size_t n,
                         const char *request, os_move_t *out, int timeout_ms, char *err, size_t errlen)
{
    os_ctl_t *c = &p->ctl;
    struct timespec until = os_ctl_deadline(timeout_ms);
    int rc = -1, tr = 0;
    if (atomic_load(&p->stop)) {
        snprintf(err, errlen, "the projection is stopping");
        return -1;
    }
    pthread_mutex_lock(&c->mu);
    while (c->kind != OS_CMD_NONE && tr != ETIMEDOUT)
        tr = pthread_cond_timedwait(&c->cv, &c->mu, &until);
    if (c->kind != OS_CMD_NONE) {
        snprintf(err, errlen, "another command to the projection is still running");
        goto cleanup;
    }
    c->kind = kind;
    c->taken = 0;
    c->seq++;
    unsigned long mine = c->seq;
    c->nmv = n < OS_MAX_PARTS ? n : OS_MAX_PARTS;
    if (c->nmv > 0)
        memcpy(c->mv, mv, c->nmv * sizeof *mv);
    snprintf(c->request, sizeof c->request, "%s", request ? request : "");
    c->rc = -1;
    c->err[0] = '\0';
    tr = 0;
    while (c->done_seq != mine && tr != ETIMEDOUT)
        tr = pthread_cond_timedwait(&c->cv, &c->mu, &until);
    if (c->done_seq != mine) {
        if (!c->taken) { /* withdrawn: it will not run */
            c->kind = OS_CMD_NONE;
            pthread_cond_broadcast(&c->cv);
            snprintf(err, errlen,
                     "the projection did not take the command within %d ms (is it retrying a batch while "
                     "PostgreSQL or Kafka is unreachable?); nothing was changed",
                     timeout_ms);
        } else {
            snprintf(err, errlen,
                     "the command is still running after %d ms (its outcome will be in the log and in GET "
                     "/admin/projection)",
                     timeout_ms);
        }
        goto cleanup;
    }
    rc = c->rc;
    if (rc != 0)
        snprintf(err, errlen, "%s", c->err);
    if (out != NULL && rc == 0)
        memcpy(out, c->mv, c->nmv * sizeof *out);
cleanup:
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int os_projector_set_paused(os_projector_t *p, int on, int timeout_ms, char *err, size_t errlen)
{
    return os_ctl_submit(p, on ? OS_CMD_PAUSE : OS_CMD_RESUME, NULL, 0, NULL, NULL, timeout_ms, err, errlen);
}

int os_projector_move(os_projector_t *p, os_move_t *mv, size_t n, const char *request, int timeout_ms,
                      char *err, size_t errlen)
{
    if (n == 0 || n > OS_MAX_PARTS) {
        snprintf(err, errlen, "a move names 1 to %d partitions", OS_MAX_PARTS);
        return -1;
    }
    return os_ctl_submit(p, OS_CMD_MOVE, mv, n, request, mv, timeout_ms, err, errlen);
}

void os_projector_state(os_projector_t *p, os_projctl_state_t *out)
{
    memset(out, 0, sizeof *out);
    if (p == NULL)
        return;
    out->running = p->started && !atomic_load(&p->stop);
    out->paused = atomic_load(&p->paused);
    pthread_mutex_lock(&p->ctl.mu);
    out->nassigned = p->ctl.nassigned;
    memcpy(out->assigned, p->ctl.assigned, p->ctl.nassigned * sizeof out->assigned[0]);
    out->moves = p->ctl.moves;
    pthread_mutex_unlock(&p->ctl.mu);
}

void os_ctl_publish(os_projector_t *p)
{
    pthread_mutex_lock(&p->ctl.mu);
    p->ctl.nassigned = 0;
    for (size_t j = 0; j < p->npos && j < OS_MAX_PARTS; j++)
        p->ctl.assigned[p->ctl.nassigned++] = p->pos[j].partition;
    pthread_mutex_unlock(&p->ctl.mu);
}

void os_ctl_fail_pending(os_projector_t *p)
{
    os_ctl_t *c = &p->ctl;
    pthread_mutex_lock(&c->mu);
    if (c->kind != OS_CMD_NONE && c->done_seq != c->seq) {
        c->rc = -1;
        snprintf(c->err, sizeof c->err, "the projection is stopping");
        c->done_seq = c->seq;
        c->kind = OS_CMD_NONE;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
}

/* ---- execution, on the consumer thread ---- */

static int os_ctl_pause(os_projector_t *p, int on, char *err, size_t errlen)
{
    if (p->w.consumer.pause(p->w.consumer.self, on) != 0) {
        snprintf(err, errlen, "the consumer could not %s its partitions", on ? "pause" : "resume");
        return -1;
    }
    atomic_store(&p->paused, on);
    /* what was fetched before the pause is dropped while paused; resuming starts again from
     * the stored offsets (as after a failed batch) */
    p->resync = 1;
    clog_info(p->w.log, "projection: %s by the operator", on ? "paused" : "resumed");
    return 0;
}

static int os_ctl_move(os_projector_t *p, os_move_t *mv, size_t n, const char *request, char *err,
                       size_t errlen)
{
    if (p->w.db.session(p->w.db.self, err, errlen) < 0 ||
        p->w.db.move_offsets(p->w.db.self, p->w.topic, mv, n, request, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        /* the position believed here becomes the new one (so re-reading it is no "loss"),
         * and a catching-up target of that partition is void */
        for (size_t j = 0; j < p->npos; j++)
            if (p->pos[j].partition == mv[i].partition)
                p->pos[j] = (os_offset_t){mv[i].partition, mv[i].to, mv[i].epoch};
        size_t k = 0;
        for (size_t j = 0; j < p->nbehind; j++)
            if (p->behind[j].partition != mv[i].partition)
                p->behind[k++] = p->behind[j];
        p->nbehind = k;
        clog_ev(p->w.log, CLOG_INFO,
                json_pack("{s:s,s:i,s:I,s:I,s:I,s:s}", "topic", p->w.topic, "partition", (int)mv[i].partition,
                          "from", (json_int_t)mv[i].from, "to", (json_int_t)mv[i].to, "epoch",
                          (json_int_t)mv[i].epoch, "request", request),
                "projection: stored position of %s[%d] moved from %" PRId64 " to %" PRId64 " (%s)",
                p->w.topic, (int)mv[i].partition, mv[i].from, mv[i].to, request);
    }
    if (p->nbehind == 0)
        atomic_store(&p->catching_up, 0);
    p->resync = 1; /* seek the partitions held here before the next batch */
    if (p->w.metrics)
        metrics_add(p->w.metrics, "order_projection_moves_total", NULL, (double)n);
    return 0;
}

void os_ctl_run(os_projector_t *p)
{
    os_ctl_t *c = &p->ctl;
    char err[512] = "";
    pthread_mutex_lock(&c->mu);
    if (c->kind == OS_CMD_NONE || c->taken) {
        pthread_mutex_unlock(&c->mu);
        return;
    }
    c->taken = 1;
    os_cmd_kind_t kind = c->kind;
    pthread_mutex_unlock(&c->mu);
    /* the mailbox's data is not touched by callers while taken */
    int rc = kind == OS_CMD_MOVE ? os_ctl_move(p, c->mv, c->nmv, c->request, err, sizeof err)
                                 : os_ctl_pause(p, kind == OS_CMD_PAUSE, err, sizeof err);
    if (rc != 0)
        clog_error(p->w.log, "projection: the operator's command failed: %s", err);
    pthread_mutex_lock(&c->mu);
    c->rc = rc;
    snprintf(c->err, sizeof c->err, "%s", err);
    if (rc == 0 && kind == OS_CMD_MOVE)
        c->moves++;
    c->done_seq = c->seq;
    c->kind = OS_CMD_NONE;
    c->taken = 0;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    os_ctl_publish(p);
}

/* ---- the operations API's port (a projector that may not exist yet) ---- */

static int os_pc_paused(void *self, int on, int timeout_ms, char *err, size_t errlen)
{
    os_projector_t *p = atomic_load((_Atomic(os_projector_t *) *)self);
    if (p == NULL) {
        snprintf(err, errlen, "the projection is not running");
        return -1;
    }
    return os_projector_set_paused(p, on, timeout_ms, err, errlen);
}

static int os_pc_move(void *self, os_move_t *mv, size_t n, const char *request, int timeout_ms, char *err,
                      size_t errlen)
{
    os_projector_t *p = atomic_load((_Atomic(os_projector_t *) *)self);
    if (p == NULL) {
        snprintf(err, errlen, "the projection is not running");
        return -1;
    }
    return os_projector_move(p, mv, n, request, timeout_ms, err, errlen);
}

static void os_pc_state(void *self, os_projctl_state_t *out)
{
    os_projector_state(atomic_load((_Atomic(os_projector_t *) *)self), out);
}

os_projctl_port_t os_projector_ctl_port(_Atomic(os_projector_t *) *slot)
{
    os_projctl_port_t port = {(void *)slot, os_pc_paused, os_pc_move, os_pc_state};
    return port;
}
