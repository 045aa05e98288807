/* outbox_relay.h — publishes customer.outbox rows to Kafka (the transactional outbox's
 * second half). Runs on its own thread with its own database session, reached only through
 * the outbox store port (application/outbox_store.h; dataaccess/outbox_pgstore.h on
 * PostgreSQL).
 *
 * - Leadership: exactly one relay among all replicas publishes, the one holding the
 *   session-level advisory lock `lock_key` on its connection. PostgreSQL releases the lock
 *   when that connection dies (process killed, crash), and the standbys, which retry
 *   pg_try_advisory_lock every `lock_poll_ms`, take over within about that time.
 * - Order: the rows past the position are read in id order (per customer this is commit order) and
 *   produced with key = customer id through an idempotent producer whose retries and
 *   message timeout are unlimited, so per partition nothing is reordered, dropped or
 *   duplicated while the broker is down — the relay simply waits, HTTP keeps answering.
 * - Batching: a notified read waits `read_window_ms` (0: none) so that the rows that commit
 *   meanwhile come along; while a batch is in flight, rows that commit meanwhile wait and go
 *   out together once it is acknowledged (natural batching, up to batch_size rows)
 *   (outbox_relay_pump.c).
 * - Position, not marks: no outbox row is written again after its insert. The leader keeps
 *   which rows are on the topic as one position (customer.outbox_relay: everything up to
 *   `upto`, everything up to `top` outside a few gaps; outbox_relay_pos.c) and stores it at
 *   most every 100 ms, only with nothing in flight, so it never counts a row whose delivery
 *   report has not succeeded. A gap (an id skipped by a read because its transaction had not
 *   committed) is read again until its row appears, or dropped once a probe proves that no
 *   transaction that could hold it is still running. The session commits the position with
 *   synchronous_commit off: one lost in a database crash is made good by the takeover scan
 *   below (the crash ends the session and its lock).
 * - Hand-over without duplicates: every record carries a header `outbox-id`. A new leader
 *   reads the stored position, then each partition's records after the offset stored with
 *   it (at most as many as it has rows past the position mapped there; same murmur2
 *   partitioner as the producer), and counts as published exactly the rows past the position
 *   whose outbox-id it saw on the topic (outbox_relay_takeover.c), so rows the dead leader
 *   published after it last stored its position are not sent again, and a row that is not
 *   on the topic is never counted.
 * - Failover-safe publishing (standby_flush = N > 0): a row goes out only once N streaming
 *   physical standbys (all of them when fewer stream; none streaming: at once, as Patroni's
 *   non-strict synchronous mode) have flushed the primary's log past its commit, so an
 *   asynchronous standby promoted after a crash holds every row that is on the topic. Until
 *   then rows wait in the outbox (writes go on); a hold over 2 s is logged. The database
 *   role needs pg_monitor (or pg_read_all_stats) to see the standbys' positions.
 * - Topic: the leader makes sure the topic exists (Admin API, compacted) before its first
 *   publish, retrying with backoff while the broker is away.
 * - Wake-up: LISTEN customer_outbox (a trigger NOTIFYs on insert), delivery reports
 *   (librdkafka writes to a pipe the relay polls) and a sweep every `sweep_ms`. Under load
 *   (with a read window, reads that find several rows) the relay stops listening and reads
 *   every window instead, until a read finds nothing: a NOTIFY per commit cost the relay's
 *   PostgreSQL session more than its reads.
 *   Rows up to the position written more than `retention_ms` ago are deleted.
 */
#ifndef CS_OUTBOX_RELAY_H
#define CS_OUTBOX_RELAY_H

#include <librdkafka/rdkafka.h>

#include "application/outbox_store.h"
#include "clog.h"
#include "kfk.h"
#include "trc.h"
#include "metrics.h"

/* The relay's settings: a plain struct. */
typedef struct outbox_relay_opts {
    const char *topic;         /* borrowed */
    const kfk_client_t *kafka; /* borrowed: the shared client settings, for the takeover scan's consumer */
    trc_sink_t tracer;         /* where the PRODUCER spans of traced rows go (emit NULL: none) */
    int batch_size;            /* rows per round; default 500 */
    int sweep_ms;              /* poll even without NOTIFY; default 1000 */
    int lock_poll_ms;          /* standby: how often to try the lock; default 1000 */
    long long retention_ms;    /* delete published rows older than this; default 24 h; < 0 keep */
    long long lock_key;        /* advisory lock key; default 0x637573746f6d6572 ("customer") */
    int flush_ms;              /* on stop: how long to wait for in-flight deliveries; default 5000 */
    long long cleanup_interval_ms; /* how often the retention delete runs; default 60000 */
    int backoff_initial_ms;        /* after a failed round; doubles; default 100 */
    int backoff_max_ms;            /* default 30000 */
    int partitions;                /* for creating the topic (cleanup.policy=compact); default 3 */
    int replication;               /* default 1 */
    int min_isr;                   /* the topic's min.insync.replicas; 0 = the broker's default */
    int standby_flush;             /* > 0: publish a row only once this many streaming standbys (all, when
                                      fewer stream) have flushed its commit; 0: once committed */
    int read_window_ms;            /* a read a NOTIFY asks for waits this long after it, so the rows
                                      that commit meanwhile come along; 0 (the default): none */
} outbox_relay_opts_t;

typedef struct outbox_relay outbox_relay_t;

/* The settings a running relay can take on (outbox_relay_tune); 0 → the default above. */
typedef struct outbox_relay_tuning {
    int batch_size;
    int sweep_ms;
    int lock_poll_ms;
    long long retention_ms;
    int flush_ms;
    long long cleanup_interval_ms;
    int backoff_initial_ms;
    int backoff_max_ms;
    int standby_flush;  /* 0 here is 0 (off), not the default */
    int read_window_ms; /* 0 here is 0 (none) */
} outbox_relay_tuning_t;

/* Creates the relay on `store` and its idempotent producer from `conf` (STOLEN, also on
 * failure; the relay installs its delivery-report callback and kfk opaque on it). `store`'s
 * object, `log` and `m` are borrowed (m may be NULL) and must outlive the relay. Returns
 * NULL with err filled on failure. */
outbox_relay_t *outbox_relay_new(const outbox_relay_opts_t *o, const outbox_store_t *store,
                                 rd_kafka_conf_t *conf, const clog_t *log, metrics_t *m, char *err,
                                 size_t errlen);
/* The producer (borrowed), for Admin calls such as kfk_ensure_topic. */
rd_kafka_t *outbox_relay_producer(outbox_relay_t *r);
/* Starts the thread. 0 or -1. */
int outbox_relay_start(outbox_relay_t *r);
/* Asks the thread to stop, waits for it: in-flight deliveries get flush_ms to complete
 * (and are marked), then the producer is flushed and the lock released. Idempotent. */
void outbox_relay_stop(outbox_relay_t *r);
/* Stops if needed, closes the store's session and frees (destroys the producer). NULL-safe. */
void outbox_relay_free(outbox_relay_t *r);

/* Hands the running relay new settings (any thread): it takes them at its next pass — a new
 * batch size once nothing is in flight (the pipeline's slots are sized by it). */
void outbox_relay_tune(outbox_relay_t *r, const outbox_relay_tuning_t *t);

/* 1 while this replica holds the relay lock. */
int outbox_relay_is_leader(const outbox_relay_t *r);
/* 1 when the broker answered the relay's last probe (checked every ~2 s). `relay` is an
 * outbox_relay_t (NULL: 0); the signature is a readiness check's (svc_check_t up()). */
int outbox_relay_kafka_ok(void *relay);
/* Rows published by this process so far. */
long long outbox_relay_published(const outbox_relay_t *r);

#endif
