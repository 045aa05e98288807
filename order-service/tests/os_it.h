/* os_it.h — helpers for order-service's integration tests on the real PostgreSQL and Kafka:
 * a private database and private topic names per run (so tests never touch the dev data),
 * an event producer (evcodec encoder, tombstones, raw poison bytes), running order-service
 * as a child process configured by env only (CONFIG_SERVER_URL=none), and SQL probes.
 * Addresses come from CQ_PG_CONNINFO, CQ_KAFKA_BOOTSTRAP and CQ_BIN_DIR.
 */
#ifndef OS_IT_H
#define OS_IT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>

#include "evcodec.h"

typedef struct os_it {
    char tag[64];    /* "it-order-<pid>-<n>" */
    char dbname[64]; /* private database */
    char topic[96];
    char dlq[112];
    char group[112];
    char conninfo[512]; /* to the private database */
    char bin[512];      /* order-service binary */
    rd_kafka_t *producer;
    evcodec_t *codec;
    PGconn *pg; /* to the private database */
} os_it_t;

/* Creates the database and the topic (`partitions`), a producer and a codec. 0 or -1. */
int os_it_setup(os_it_t *t, const char *name, int partitions);
/* Drops the database and the topics. */
void os_it_teardown(os_it_t *t);

/* Produces one customer event (version ≥ 1), a tombstone (first_name NULL... use the
 * function below), or raw bytes; `flush` waits for delivery. 0 or -1. */
int os_it_send(os_it_t *t, const char *id, int64_t version, const char *username, int flush);
int os_it_send_tombstone(os_it_t *t, const char *id, int flush);
int os_it_send_raw(os_it_t *t, const char *key, const void *val, size_t len, int flush);
int os_it_flush(os_it_t *t);

/* Starts order-service on `port` with the run's names and extra "NAME=value" env entries
 * (NULL-terminated, may be NULL). Returns the pid or -1. */
pid_t os_it_start(os_it_t *t, int port, const char *const *extra_env, const char *logfile);
/* Waits until GET /health/readiness answers 200 (timeout ms). 0 or -1. */
int os_it_wait_ready(int port, long timeout_ms);
/* SIGTERM + wait; returns the exit status (or -1). */
int os_it_stop(pid_t pid);
/* SIGKILL + wait. */
void os_it_kill9(pid_t pid);

/* One run's world and the order-service serving it, for suites whose cmocka setup starts the
 * service once: os_it_up sets up `name`'s database and topic (`partitions`), starts the
 * service on a free port with the extra env (NULL-terminated, may be NULL), logging to
 * /tmp/os_it_<name>_<pid>.log, and waits until it is ready. 0, or -1 with the log's path
 * printed. os_it_down stops it (SIGTERM) and drops the world; 0 when it exited cleanly. */
typedef struct os_it_run {
    os_it_t t;
    pid_t pid;
    int port;
    char log[256];
} os_it_run_t;
int os_it_up(os_it_run_t *r, const char *name, int partitions, const char *const *env);
int os_it_down(os_it_run_t *r);

/* cmocka setup/teardown pair for tests that start a service: *state holds a pid (-1 at
 * first; the test stores what os_it_start returned); the teardown SIGKILLs the service
 * when an assertion left it running, and frees the slot. */
int os_it_child_setup(void **state);
int os_it_child_teardown(void **state);

/* GET http://127.0.0.1:<port><path>: the status (0 when no answer); *body and *ctype (each
 * may be NULL) receive malloc'ed copies of the body and the Content-Type (caller frees). */
long os_it_get(int port, const char *path, char **body, char **ctype);

/* The first column of the first row of `sql` as a long long (or -1 on error). */
long long os_it_scalar(os_it_t *t, const char *sql);
/* The first column of the first row as malloc'ed text (caller frees), or NULL. */
char *os_it_text(os_it_t *t, const char *sql);
/* Polls `sql` until it returns `want` or timeout. Returns the last value. */
long long os_it_wait_scalar(os_it_t *t, const char *sql, long long want, long timeout_ms);

/* Reads the whole DLQ topic: returns the message count and a JSON array (new reference)
 * of objects with the dlq.* headers of each message. */
struct json_t;
int os_it_dlq_read(os_it_t *t, struct json_t **out);

/* The UUID for test customer number n: 00000000-0000-4000-8000-<n as 12 digits>. */
void os_it_uuid(char out[37], long n);

#endif
