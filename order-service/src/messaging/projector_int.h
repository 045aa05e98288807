/* projector_int.h — the projector's internals, shared by projector.c (the public API and the
 * thread), projector_loop.c (one step of the loop: collect a batch, decode, apply, retry;
 * rebalances and re-reading the position) and projector_dlq.c (dead letters, the one-by-one
 * fallback). Not an API: the rest of order-service includes projector.h only; the unit tests
 * of the loop include it to drive os_projector_step with fakes. Calls run one way only
 * (scripts/check-layout.sh checks it): projector.c → projector_loop.c → projector_dlq.c.
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
    /* consumer thread only: */
    os_batch_t b;
    long backoff;                       /* the next pause after a failure */
    int failures;                       /* consecutive failed attempts of the current batch */
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

/* ---- projector_dlq.c ---- */

/* Sends `n` poison entries to the DLQ and waits for the broker's acks; each is logged and
 * counted. 0 or -1. */
int os_dlq_send(os_projector_t *p, const os_poison_t *list, size_t n);
/* 1 when PostgreSQL answers on the session it had (so a failing batch is about its data, not
 * an outage); a session that had to be re-made counts as down and sets p->resync. */
int os_dlq_db_up(os_projector_t *p);
/* After max_retries: one transaction per message; an event that fails alone (with the
 * database up) is dead-lettered and its offset stored. Returns 0 when the whole batch is
 * settled, -1 when the database went away (retry later). `st` accumulates. */
int os_dlq_apply_one_by_one(os_projector_t *p, const os_batch_t *b, os_proj_stats_t *st);

#endif
