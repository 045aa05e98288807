/* os_lagbench.h — the load generator's shared state (os_lagbench.c: options, the read-model
 * poller and the account; os_lagbench_send.c: the sender threads; os_lagbench_meter.c: the
 * commit-timestamp meter's helpers and the meter's cost). Not a library. */
#ifndef OS_LAGBENCH_H
#define OS_LAGBENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include <libpq-fe.h>

enum { OP_CREATE, OP_UPDATE, OP_DELETE, OP_ORDER, OP_KINDS };

/* The answer times' histogram: bucket k holds durations of about 1.01^k µs (1 % steps, up
 * to ~10 min). */
#define LB_HIST 2700
extern const char *const lb_op_name[OP_KINDS];

typedef struct rec {
    char id[37];
    _Atomic int64_t
        expect; /* >0: the read model must show this version or later; -1: no row; 0: nothing acked */
    _Atomic int64_t t_ok;    /* ns of the last acknowledgement (0 = none) */
    _Atomic int64_t t_ok_rt; /* the same on CLOCK_REALTIME (the commit-ts meter's clock) */
    _Atomic int64_t t_vis;   /* ns when the read model showed it (0 = not yet) */
    _Atomic int uncertain;   /* a command failed: its outcome is whatever the write side holds */
    atomic_int in_rm;        /* the read model has shown the customer (orders may name it) */
    int failed_kind;         /* the command that failed (OP_*) */
    int64_t version;         /* sender thread only: the version it last saw acknowledged */
} rec_t;

typedef struct bench {
    const char *url, *pg, *failures_path, *order_url, *lags_path;
    int commit_ts; /* --meter commit-ts: lag = the read-model row's commit time - the 201's */
    double rate, seconds, p_update, p_delete, p_order;
    int threads;
    long request_timeout_ms;
    long fixed; /* --customers: that many creates, then only updates of them (0 = off) */
    long n;     /* records that can be created */
    rec_t *recs;
    atomic_long next, ncreated; /* next record to create */
    atomic_long sent, ok[OP_KINDS], failed, codes[7];
    _Atomic int64_t fail_start, longest_fail; /* ns: current run of failures, longest one */
    _Atomic int64_t slowest;                  /* ns: the longest a request took (answered or not) */
    atomic_long answer_hist[LB_HIST];         /* answered requests by duration (lb_hist_bucket) */
    atomic_int senders_done;
    pthread_mutex_t fmu;
    FILE *failures;
    int64_t t0;
} bench_t;

typedef struct sender {
    bench_t *b;
    int idx;
    long *live; /* records this thread created and has not deleted or lost track of */
    long nlive;
    int64_t etag;
} sender_t;

#define CODE_TIMEOUT (-1L) /* no answer within --request-timeout-ms */

/* ns on CLOCK_MONOTONIC. */
int64_t lb_now_ns(void);
/* The histogram bucket of a duration in ns, and a bucket's upper bound in ms. */
int lb_hist_bucket(int64_t ns);
double lb_hist_ms(int k);
/* Ends a run of failures (longestFailureRunMs). */
void lb_note_success(bench_t *b);
/* ns on CLOCK_REALTIME (PostgreSQL's commit timestamps are on it). */
int64_t lb_now_rt_ns(void);
/* CPU seconds of the calling thread. */
double lb_thread_cpu_s(void);
/* 0 when the server tracks commit timestamps, else -1 (says why on stderr). */
int lb_meter_check(PGconn *pg);
/* CPU seconds of pg's backend process when it runs on this host, else -1. */
double lb_backend_cpu_s(PGconn *pg);
/* Writes the lags (ns) to path as ms, one a line. 0 or -1. */
int lb_write_lags(const char *path, const int64_t *lags, long n);
/* A sender thread (arg: its sender_t): sends its share of the commands until the end. */
void *lb_sender_main(void *arg);

#endif
