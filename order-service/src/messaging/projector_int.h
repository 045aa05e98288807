/* projector_int.h — the projector's internals, shared by projector.c (the consumer thread,
 * rebalances, shutdown) and projector_dlq.c (dead letters, the one-by-one fallback). Not an
 * API: the rest of order-service includes projector.h only. projector.c calls
 * projector_dlq.c, never the other way (scripts/check-layout.sh checks it).
 */
#ifndef OS_PROJECTOR_INT_H
#define OS_PROJECTOR_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "application/projection_svc.h"
#include "dataaccess/pg_projstore.h"
#include "messaging/batch.h"
#include "messaging/projector.h"

#define OS_MAX_PARTS 1024
#define OS_CLOSE_MS 2000   /* bound on leaving the consumer group at stop */
#define OS_DESTROY_MS 4000 /* bound on destroying the consumer handle after that */

struct os_projector {
    os_projector_opts_t o;
    kfk_opaque_t opq_c, opq_p;
    rd_kafka_t *consumer;
    rd_kafka_t *producer;
    PGconn *pg;
    os_pgproj_t store;
    pthread_t thread;
    int started;
    int closed;    /* the consumer left its group (set by the thread before it ends) */
    int abandoned; /* the consumer handle outlived OS_DESTROY_MS (see shutdown) */
    atomic_int stop;
    atomic_int healthy;
    atomic_ullong applied;
    atomic_int dlq_failed;         /* delivery failures of the current batch */
    atomic_llong kafka_checked_ms; /* readiness cache: when Kafka was last asked */
    atomic_int kafka_ok;
    unsigned long assign_gen;           /* bumped by every rebalance (consumer thread only) */
    int64_t kcommit_ms;                 /* last Kafka offset commit (consumer thread only) */
    os_offset_t offs_buf[OS_MAX_PARTS]; /* rebalance callback scratch (consumer thread) */
    /* The consumer's position must be re-read from PostgreSQL before the next batch (consumer
     * thread only): set after a failed batch and after any reconnect, because the database
     * is the truth and may be behind what this process saw committed (a failover to an
     * asynchronous standby loses the old primary's last commits, offsets included). */
    int resync;
};

/* ---- projector_dlq.c ---- */

/* The DLQ producer's delivery-report callback: counts failures in p->dlq_failed. */
void os_dlq_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
/* Sends `n` poison entries to the DLQ and waits for the broker's acks. 0 or -1. */
int os_dlq_send(os_projector_t *p, const os_poison_t *list, size_t n);
/* 1 when PostgreSQL answers on the connection it had (so a failing batch is about its data,
 * not an outage); a connection that had to be re-made counts as down and sets p->resync. */
int os_dlq_db_up(os_projector_t *p);
/* After max_retries: one transaction per message; an event that fails alone (with the
 * database up) is dead-lettered and its offset stored. Returns 0 when the whole batch is
 * settled, -1 when the database went away (retry later). `st` accumulates. */
int os_dlq_apply_one_by_one(os_projector_t *p, const os_batch_t *b, os_proj_stats_t *st);

#endif
