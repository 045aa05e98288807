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

#include <libpq-fe.h>

#include "kfk.h"
#include "messaging/outbox_relay.h"
#include "svc.h" /* svc_wall_ms, svc_mono_ms */

/* The record header that carries the outbox row id (decimal text). */
#define RELAY_HEADER "outbox-id"

/* Prepared statements on the leader's connection (relay_prepare). */
#define RELAY_STMT_FETCH "cs_relay_fetch"
#define RELAY_STMT_MARK "cs_relay_mark"

enum { SLOT_FREE = 0, SLOT_INFLIGHT, SLOT_DELIVERED, SLOT_FAILED };

/* One outbox row between produce and mark. */
typedef struct relay_slot {
    long long id;
    long long occurred_ms;
    int state; /* SLOT_* */
} relay_slot_t;

struct outbox_relay {
    outbox_relay_opts_t o;
    const clog_t *log;
    metrics_t *m;
    kfk_opaque_t op;
    rd_kafka_t *rk;
    char *bootstrap; /* owned copy of bootstrap.servers for the takeover consumer */
    pthread_t th;
    int started;
    atomic_int stop;
    atomic_int leader;
    atomic_int kafka_ok;
    atomic_llong published;
    int evfd[2]; /* pipe librdkafka writes to when its main queue (delivery reports) fills */
    /* relay thread only: */
    PGconn *pg;
    relay_slot_t *slots; /* o.batch_size of them: the most rows between produce and mark */
    int *free_idx;       /* stack of free slot indexes */
    int n_free;
    int inflight;   /* produced, delivery report pending */
    int delivered;  /* delivered, not yet marked */
    int failed;     /* delivery failed, not yet settled */
    long long *ids; /* scratch, o.batch_size */
    char *arr;      /* scratch text array, o.batch_size * 21 + 3 */
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
int relay_prepare(outbox_relay_t *r); /* prepares the statements on r->pg; 0 or -1 */
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
/* Forgets delivered-but-unmarked rows (after losing the database: the next leader's
 * takeover scan marks what is on the topic). Call after relay_drain. */
void relay_forget(outbox_relay_t *r);
int relay_mark(outbox_relay_t *r, const long long *ids, int n);
/* On becoming leader: marks rows the topic already holds (see outbox_relay.h). */
void relay_takeover_scan(outbox_relay_t *r);

#endif
