/* projector_int.h — the projector's internals, shared by projector.c (the public API and the
 * thread), projector_loop.c (one step of the loop: collect a batch, decode, apply, retry;
 * rebalances and re-reading the position) and projector_dlq.c (dead letters, the one-by-one
 * fallback). Not an API: the rest of order-service includes projector.h only; the unit tests
 * of the loop include it to drive os_projector_step with fakes. Calls run one way only
 * (scripts/check-layout.sh checks it): projector.c → projector_loop.c → projector_dlq.c, and
 * projector.c, projector_loop.c → projector_ctl.c (the operator's commands: pause, resume, a
 * move of the stored position; the callers' side and their execution between batches), and
 * projector_loop.c → projector_trace.c (the spans of a committed batch).
 */
#ifndef OS_PROJECTOR_INT_H
#define OS_PROJECTOR_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "application/projection_svc.h"
#include "messaging/batch.h"
#include "messaging/projector.h"

#define OS_MAX_PARTS 1024
#define OS_CLOSE_MS 2000 /* bound on leaving the consumer group at stop */

typedef enum { OS_CMD_NONE = 0, OS_CMD_PAUSE, OS_CMD_RESUME, OS_CMD_MOVE } os_cmd_kind_t;

/* The operator's command mailbox (projector_ctl.c): one command at a time, put by a caller's
 * thread, taken and executed by the consumer thread between two batches. */
typedef struct os_ctl {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    os_cmd_kind_t kind;          /* the command waiting or running; NONE: the mailbox is free */
    int taken;                   /* the consumer thread is executing it */
    unsigned long seq, done_seq; /* the command's number; the last one finished */
    os_move_t mv[OS_MAX_PARTS];  /* MOVE: in and out */
    size_t nmv;
    char request[256]; /* MOVE: what was asked (the history's text) */
    int rc;
    char err[512];
    /* published by the consumer thread for os_projector_state: */
    int32_t assigned[OS_MAX_PARTS];
    size_t nassigned;
    unsigned long long moves; /* moves executed by this projector */
} os_ctl_t;

struct os_projector {
    os_projector_ports_t w;
    pthread_mutex_t tune_mu;
    os_projector_tuning_t tuning; /* the latest settings (under tune_mu) */
    os_projector_tuning_t t;      /* the settings of the current step (consumer thread) */
    os_rebalance_t rebalance;     /* this projector as the consumer's rebalance listener */
    pthread_t thread;
    int started;
    atomic_int stop;
    atomic_int healthy;
    atomic_int catching_up; /* the stored offsets are behind `behind` (see projector.h) */
    atomic_ullong applied;
    atomic_int paused; /* an operator paused the projection (os_projector_set_paused) */
    os_ctl_t ctl;
    /* consumer thread only: */
    os_batch_t b;
    long backoff;                       /* the next pause after a failure */
    int failures;                       /* consecutive failed attempts of the current batch */
    int registry_waits;                 /* consecutive batches put back: the schema registry did not answer */
    unsigned long assign_gen;           /* bumped by every rebalance */
    os_offset_t offs_buf[OS_MAX_PARTS]; /* scratch: stored offsets */
    int32_t parts_buf[OS_MAX_PARTS];    /* scratch: the assignment */
    /* Where this process believes each assigned partition's stored offset is: set at the
     * assignment and at a re-read (the stored offsets), and by every commit. */
    os_offset_t pos[OS_MAX_PARTS];
    size_t npos;
    /* While catching up: the positions that were committed before commits were lost. */
    os_offset_t behind[OS_MAX_PARTS];
    size_t nbehind;
    int64_t check_at; /* the next read-back of the stored offsets (clock mono_ms) */
    /* The consumer's position must be re-read from PostgreSQL before the next batch: set after
     * a failed batch and after any reconnect, because the database is the truth and may be
     * behind what this process saw committed (a failover to an asynchronous standby loses the
     * old primary's last commits, offsets included). */
    int resync;
};

/* The epoch this projector read partition `part`'s position under (0 when unknown). */
static inline int64_t os_pos_epoch(const os_projector_t *p, int32_t part)
{
    for (size_t j = 0; j < p->npos; j++)
        if (p->pos[j].partition == part)
            return p->pos[j].epoch;
    return 0;
}

/* ---- projector_loop.c ---- */

/* Makes `p` the listener of its consumer's rebalances (called once by os_projector_new). */
void os_projector_listen(os_projector_t *p);
/* One step of the consumer thread: re-read the position when needed, collect a batch (up to
 * batch_max, waiting poll_ms for the first message), decode, dead-letter the poison, apply
 * it in one transaction; on failure pause (backoff) and mark the position for re-reading.
 * The thread runs it until stop; the unit tests call it directly. */
void os_projector_step(os_projector_t *p);
/* Sleeps the current backoff (in slices; a stop ends it) and doubles it (≤ 5 s). */
void os_projector_pause(os_projector_t *p);

/* ---- projector_ctl.c ---- */

void os_ctl_init(os_projector_t *p);
void os_ctl_destroy(os_projector_t *p);
/* On the consumer thread, between batches: executes the waiting command, if any. */
void os_ctl_run(os_projector_t *p);
/* The consumer thread's assignment changed: published for os_projector_state. */
void os_ctl_publish(os_projector_t *p);
/* The thread has ended: a command still waiting fails ("the projection is stopping"). */
void os_ctl_fail_pending(os_projector_t *p);

/* ---- projector_dlq.c ---- */

/* Sends `n` poison entries to the DLQ and waits for the broker's acks; each is logged and
 * counted. 0 or -1. */
int os_dlq_send(os_projector_t *p, const os_poison_t *list, size_t n);
/* 1 when PostgreSQL answers on the session it had (so a failing batch is about its data, not
 * an outage); a session that had to be re-made counts as down and sets p->resync. */
int os_dlq_db_up(os_projector_t *p);
/* 1 (and p->resync set) when a stored epoch differs from the one the position was read under
 * (an operator moved the position, so a failing commit is about that, not the event); 0
 * otherwise or when the offsets cannot be read. */
int os_dlq_position_moved(os_projector_t *p);
/* After max_retries: one transaction per message; an event that fails alone (with the
 * database up) is dead-lettered and its offset stored. Returns 0 when the whole batch is
 * settled, -1 when the database went away (retry later). `st` accumulates. */
int os_dlq_apply_one_by_one(os_projector_t *p, const os_batch_t *b, os_proj_stats_t *st);

/* After a commit: for each record of `b` that carries a traceparent, a CONSUMER span
 * "<topic> process" (its child) from the batch's first poll to now — the read model holds the
 * event — to p->w.tracer, and a debug line in that trace (projector_trace.c). */
void os_trace_batch(os_projector_t *p, const os_batch_t *b);

#endif
