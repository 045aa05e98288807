/* outbox_relay_int.h — internals shared by outbox_relay.c (thread, leadership, waiting),
 * outbox_relay_pump.c (the publishing pipeline) and outbox_relay_takeover.c (the new
 * leader's scan). Dependencies run one way only (scripts/check-layout.sh checks it):
 *   outbox_relay.c → outbox_relay_takeover.c → outbox_relay_pump.c, and
 *   outbox_relay.c → outbox_relay_pump.c; the pump and the scan call nothing of
 *   outbox_relay.c (clocks: common/svc/svc.h). */
#ifndef CS_OUTBOX_RELAY_INT_H
#define CS_OUTBOX_RELAY_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "application/outbox_store.h"
#include "kfk.h"
#include "messaging/outbox_relay.h"
#include "svc.h" /* svc_wall_ms, svc_mono_ms */

/* The record header that carries the outbox row id (decimal text). */
#define RELAY_HEADER "outbox-id"

enum { SLOT_FREE = 0, SLOT_INFLIGHT, SLOT_DELIVERED, SLOT_FAILED };

/* One outbox row between produce and mark. */
typedef struct relay_slot {
    long long id;
    long long occurred_ms;
    int state; /* SLOT_* */
} relay_slot_t;

struct outbox_relay {
    outbox_relay_opts_t o;
    outbox_store_t store; /* borrowed; the relay thread's session (and lock) */
    const clog_t *log;
    metrics_t *m;
    kfk_opaque_t op;
    rd_kafka_t *rk;
    pthread_t th;
    int started;
    atomic_int stop;
    atomic_int leader;
    atomic_int kafka_ok;
    atomic_llong published;
    int evfd[2];                  /* pipe librdkafka writes to when its main queue (delivery reports) fills */
    pthread_mutex_t tune_mu;      /* outbox_relay_tune → the relay thread: */
    outbox_relay_tuning_t tuning; /* the newest settings handed over */
    unsigned tune_gen;            /* counts outbox_relay_tune calls; under tune_mu */
    unsigned tune_taken;          /* relay thread only: the generation in effect */
    /* relay thread only: */
    relay_slot_t *slots; /* o.batch_size of them: the most rows between produce and mark */
    int *free_idx;       /* stack of free slot indexes */
    int n_free;
    int inflight;   /* produced, delivery report pending */
    int delivered;  /* delivered, not yet marked */
    int failed;     /* delivery failed, not yet settled */
    long long *ids; /* scratch, o.batch_size */
    int dirty;      /* there may be unpublished rows not yet read (NOTIFY, sweep, full read) */
    long long last_probe_ms;
    long long last_backlog_ms;
    long long progress_ms;        /* last time nothing was in flight or a row got published */
    long long progress_published; /* `published` then */
    int topic_ready;
};

/* outbox_relay_pump.c: */
int relay_pump_init(outbox_relay_t *r); /* slots and scratch; 0 or -1 */
void relay_pump_free(outbox_relay_t *r);
void relay_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
/* Reads unpublished rows not already in the pipeline (up to the free slots) and produces
 * them without waiting. Returns rows produced, or -1 when the read failed or a row could not
 * be queued (then nothing after it is produced: per-key order). */
int relay_fetch(outbox_relay_t *r);
/* Marks the delivered rows published and frees their slots; frees failed slots (those rows
 * stay unpublished and are read again). Returns -1 when marking failed (database), 1 when
 * some deliveries had failed, else 0. */
int relay_settle(outbox_relay_t *r);
/* Waits for every in-flight delivery report (on stop: flush_ms, then purges). */
void relay_drain(outbox_relay_t *r);
/* The same, with the stop's wait ending at `until` (svc_mono_ms; 0: flush_ms from the stop). */
void relay_drain_until(outbox_relay_t *r, long long until);
/* Forgets delivered-but-unmarked rows (after losing the database: the next leader's
 * takeover scan marks what is on the topic). Call after relay_drain. */
void relay_forget(outbox_relay_t *r);
/* Marks `n` ids published (logs a failure). 0 or -1. */
int relay_mark(outbox_relay_t *r, const long long *ids, int n);

/* outbox_relay_takeover.c: */

/* The topic as the takeover scan reads it (librdkafka in outbox_relay_takeover.c; a fake in
 * the unit tests). */
typedef struct relay_topic_ops {
    int (*partitions)(void *self); /* the topic's partition count; < 1 when unknown */
    /* The partition the producer's partitioner (murmur2_random) puts `key` in. */
    int32_t (*partition_of)(void *self, const char *key, size_t len, int partitions);
    /* Reads the last want[p] records of every partition p (fewer when the partition holds
     * fewer) and stores their outbox-id headers in seen[0..cap): the count, or -1 when a
     * partition could not be read to its end. */
    int (*tails)(void *self, int partitions, const int *want, long long *seen, int cap);
} relay_topic_ops_t;

typedef struct relay_topic {
    const relay_topic_ops_t *ops;
    void *self;
} relay_topic_t;

/* The takeover decision (see outbox_relay_takeover.c): reads the unpublished rows, the last
 * records of each partition as many as it has unpublished rows, and marks published exactly
 * the unpublished rows whose outbox-id it saw there. The number marked, 0 when none, -1 when
 * the store or the topic failed (nothing marked: rows may be sent twice, none lost). */
int relay_takeover(const outbox_store_t *store, const relay_topic_t *topic, const clog_t *log);
/* On becoming leader: relay_takeover over the relay's store and its topic. */
void relay_takeover_scan(outbox_relay_t *r);

#endif
