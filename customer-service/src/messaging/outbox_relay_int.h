/* outbox_relay_int.h — internals shared by outbox_relay.c and outbox_relay_takeover.c. */
#ifndef CS_OUTBOX_RELAY_INT_H
#define CS_OUTBOX_RELAY_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include <libpq-fe.h>

#include "kfk.h"
#include "messaging/outbox_relay.h"

/* The record header that carries the outbox row id (decimal text). */
#define RELAY_HEADER "outbox-id"

typedef struct relay_slot {
    long long id;
    long long occurred_ms;
    int state; /* 0 in flight, 1 delivered, -1 failed */
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
    /* relay thread only: */
    PGconn *pg;
    relay_slot_t *slots;
    int pending;
    long long last_probe_ms;
    long long last_backlog_ms;
    int topic_ready;
};

long long relay_now_ms(void);
int relay_mark(outbox_relay_t *r, const long long *ids, int n);
/* On becoming leader: marks rows the topic already holds (see outbox_relay.h). */
void relay_takeover_scan(outbox_relay_t *r);

#endif
