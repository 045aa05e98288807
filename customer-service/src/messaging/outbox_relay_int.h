/* outbox_relay_int.h — internals shared by outbox_relay.c (thread, leadership, waiting),
 * outbox_relay_pump.c (the publishing pipeline), outbox_relay_takeover.c (the new leader's
 * scan) and outbox_relay_pos.c (the position: which rows are on the topic). Dependencies
 * run one way only (scripts/check-layout.sh checks it):
 *   outbox_relay.c → outbox_relay_takeover.c → outbox_relay_pump.c → outbox_relay_pos.c, and
 *   outbox_relay.c → outbox_relay_pump.c, outbox_relay_pos.c; none of them calls back into
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

/* One outbox row between produce and its delivery report. */
typedef struct relay_slot {
    long long id;
    long long occurred_ms;
    int state; /* SLOT_* */
} relay_slot_t;

/* The position (outbox_relay_pos.c): what outbox_pos_t says, kept by the leader. */
typedef struct relay_pos {
    long long upto, top;
    outbox_gap_t *gaps; /* sorted, disjoint, in (upto, top] */
    int ngaps, capgaps;
    long long *offsets; /* per partition: after the last delivered record; -1 unknown */
    int noffsets;
    long long probe_xid; /* > 0: a probe taken at probe_ms, not yet passed */
    long long probe_ms;
    int loaded;  /* read from the store since this session became leader */
    int changed; /* differs from what was stored last */
} relay_pos_t;

/* Gaps this old (ms) get a probe (see outbox_relay_pos.c). */
#define RELAY_PROBE_AFTER_MS 500
/* With standby_flush: how long one read waits for the standbys before it is read again, and
 * how long publishing is held before it is worth a warning. */
#define RELAY_STANDBY_WAIT_MS 1000
#define RELAY_HELD_WARN_MS 2000
/* The position is stored at most this often while rows flow (and at every stop). */
#define RELAY_SAVE_MS 100

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
    int inflight;           /* produced, delivery report pending */
    int delivered;          /* delivered, not yet marked */
    int failed;             /* delivery failed, not yet settled */
    long long *ids;         /* scratch, o.batch_size */
    int dirty;              /* there may be unpublished rows not yet read (NOTIFY, sweep, full read) */
    long long notified_ms;  /* when the first NOTIFY since the last read came (monotonic); 0: none */
    int listening;          /* the session listens for NOTIFYs (0: polling, under load) */
    relay_pos_t pos;        /* what is on the topic: the rows produced, less those that failed */
    long long last_save_ms; /* when pos was stored last */
    long long last_probe_ms;
    long long last_backlog_ms;
    long long progress_ms;        /* last time nothing was in flight or a row got published */
    long long progress_published; /* `published` then */
    int topic_ready;
    long long held_since;  /* svc_mono_ms when the standbys last held a read back (0: not held) */
    long long held_warned; /* when that was last logged */
};

/* outbox_relay_pos.c (no I/O): */
void relay_pos_free(relay_pos_t *p);
/* Takes over a stored position (copies it). 0 or -1 (out of memory). */
int relay_pos_set(relay_pos_t *p, const outbox_pos_t *stored);
/* p as an outbox_pos_t (views of p's arrays). */
void relay_pos_view(const relay_pos_t *p, const char *topic, outbox_pos_t *out);
/* Records rows as on the topic (produced, or found there): ids ascending. The ids skipped
 * above the old top become gaps seen at now_ms. 0 or -1 (out of memory). */
int relay_pos_seen(relay_pos_t *p, const long long *ids, int n, long long now_ms);
/* After a read whose snapshot's oldest running transaction is xmin: when it is younger than
 * the pending probe, closes the gaps seen before the probe below `cut` (the read returned
 * every row past the position below it) and clears the probe. 1 when a gap closed. */
int relay_pos_resolve(relay_pos_t *p, long long xmin, long long cut);
/* A row whose delivery failed is not on the topic: a gap again. 0 or -1. */
int relay_pos_unsee(relay_pos_t *p, long long id, long long now_ms);
/* A record delivered at (partition, offset). */
void relay_pos_delivered(relay_pos_t *p, int32_t partition, long long offset);
/* 1 when a probe should be taken now: none pending, and a gap seen after_ms ago or more. */
int relay_pos_need_probe(const relay_pos_t *p, long long now_ms, long long after_ms);

/* outbox_relay_pump.c: */
int relay_pump_init(outbox_relay_t *r); /* slots and scratch; 0 or -1 */
void relay_pump_free(outbox_relay_t *r);
void relay_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
/* Reads unpublished rows not already in the pipeline (up to the free slots) and produces
 * them without waiting. Returns rows produced, or -1 when the read failed or a row could not
 * be queued (then nothing after it is produced: per-key order). */
int relay_fetch(outbox_relay_t *r);
/* Frees the slots of delivered rows; frees failed slots (those rows become gaps of the
 * position again and are read again); stores the position when nothing is in flight and
 * RELAY_SAVE_MS passed (`force`: whenever it changed). Returns -1 when storing failed
 * (database), 1 when some deliveries had failed, else 0. */
int relay_settle(outbox_relay_t *r, int force);
/* Waits for every in-flight delivery report (on stop: flush_ms, then purges). */
void relay_drain(outbox_relay_t *r);
/* The same, with the stop's wait ending at `until` (svc_mono_ms; 0: flush_ms from the stop). */
void relay_drain_until(outbox_relay_t *r, long long until);
/* Forgets the pipeline and the position (after losing the database: the next leader reads
 * the stored position and finds on the topic what came after). Call after relay_drain. */
void relay_forget(outbox_relay_t *r);
/* Reads the stored position into r->pos. 0 or -1 (logged). */
int relay_pos_load(outbox_relay_t *r);
/* Stores r->pos (logs a failure). 0 or -1. */
int relay_pos_store(outbox_relay_t *r);
/* When a probe is due: takes it (one transaction id) and asks for a read. */
void relay_pos_probe(outbox_relay_t *r);

/* outbox_relay_takeover.c: */

/* The topic as the takeover scan reads it (librdkafka in outbox_relay_takeover.c; a fake in
 * the unit tests). */
typedef struct relay_topic_ops {
    int (*partitions)(void *self); /* the topic's partition count; < 1 when unknown */
    /* The partition the producer's partitioner (murmur2_random) puts `key` in. */
    int32_t (*partition_of)(void *self, const char *key, size_t len, int partitions);
    /* Reads the last want[p] records of every partition p (fewer when the partition holds
     * fewer; none before offset from[p] when from[p] >= 0) and stores their outbox-id
     * headers in seen[0..cap): the count, or -1 when a partition could not be read to its
     * end. */
    int (*tails)(void *self, int partitions, const int *want, const long long *from, long long *seen,
                 int cap);
} relay_topic_ops_t;

typedef struct relay_topic {
    const relay_topic_ops_t *ops;
    void *self;
} relay_topic_t;

/* The takeover decision (see outbox_relay_takeover.c): reads the rows past the position
 * `pos`, the records of each partition after the position's offset (at most as many as it
 * has such rows mapped there), records in `pos` exactly the rows whose outbox-id it saw
 * there and stores it. The number found, 0 when none, -1 when the store or the topic failed
 * (nothing recorded: rows may be sent twice, none lost). */
int relay_takeover(const outbox_store_t *store, const relay_topic_t *topic, relay_pos_t *pos,
                   const char *topic_name, const clog_t *log);
/* On becoming leader: relay_takeover over the relay's store and its topic. */
void relay_takeover_scan(outbox_relay_t *r);

#endif
