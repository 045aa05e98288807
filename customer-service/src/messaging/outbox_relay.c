/* outbox_relay.c — the outbox relay thread: leadership (advisory lock), waking up (NOTIFY,
 * delivery reports, sweep timer), backoff, retention. See outbox_relay.h; the publishing
 * pipeline is in outbox_relay_pump.c, the takeover scan in outbox_relay_takeover.c. */
#include "messaging/outbox_relay_int.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The documented defaults for what `o` leaves at 0. */
static void relay_defaults(outbox_relay_opts_t *o)
{
    if (o->batch_size <= 0)
        o->batch_size = 500;
    if (o->sweep_ms <= 0)
        o->sweep_ms = 1000;
    if (o->lock_poll_ms <= 0)
        o->lock_poll_ms = 1000;
    if (o->retention_ms == 0)
        o->retention_ms = 24LL * 3600 * 1000;
    if (o->lock_key == 0)
        o->lock_key = 0x637573746f6d6572LL;
    if (o->flush_ms <= 0)
        o->flush_ms = 5000;
    if (o->cleanup_interval_ms <= 0)
        o->cleanup_interval_ms = 60000;
    if (o->backoff_initial_ms <= 0)
        o->backoff_initial_ms = 100;
    if (o->backoff_max_ms < o->backoff_initial_ms)
        o->backoff_max_ms = o->backoff_initial_ms > 30000 ? o->backoff_initial_ms : 30000;
    if (o->partitions <= 0)
        o->partitions = 3;
    if (o->replication <= 0)
        o->replication = 1;
}

outbox_relay_t *outbox_relay_new(const outbox_relay_opts_t *o, const outbox_store_t *store,
                                 rd_kafka_conf_t *conf, const clog_t *log, metrics_t *m, char *err,
                                 size_t errlen)
{
    outbox_relay_t *r = calloc(1, sizeof *r);
    if (r == NULL) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->o = *o;
    r->store = *store;
    pthread_mutex_init(&r->tune_mu, NULL);
    r->evfd[0] = r->evfd[1] = -1;
    relay_defaults(&r->o);
    r->log = log;
    r->m = m;
    r->op.log = log;
    r->op.user = r;
    if (relay_pump_init(r) != 0 || pipe(r->evfd) != 0) {
        rd_kafka_conf_destroy(conf);
        outbox_relay_free(r);
        snprintf(err, errlen, "out of memory or file descriptors");
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(r->evfd[i], F_SETFL, fcntl(r->evfd[i], F_GETFL) | O_NONBLOCK);
        fcntl(r->evfd[i], F_SETFD, FD_CLOEXEC);
    }
    rd_kafka_conf_set_opaque(conf, &r->op);
    rd_kafka_conf_set_dr_msg_cb(conf, relay_dr_cb);
    /* Ordering guarantees need: unlimited retries and message timeout (the relay waits
     * for the broker instead of failing rows) and the Java-compatible partitioner (the
     * takeover scan computes partitions the same way). These override the config. */
    if (kfk_conf_set(conf, "message.timeout.ms", "0", err, errlen) != 0 ||
        kfk_conf_set(conf, "message.send.max.retries", "2147483647", err, errlen) != 0 ||
        kfk_conf_set(conf, "partitioner", "murmur2_random", err, errlen) != 0 ||
        kfk_conf_set(conf, "max.in.flight.requests.per.connection", "5", err, errlen) != 0) {
        rd_kafka_conf_destroy(conf);
        outbox_relay_free(r);
        return NULL;
    }
    r->rk = kfk_producer_new(conf, err, errlen);
    if (r->rk == NULL) {
        outbox_relay_free(r);
        return NULL;
    }
    /* Delivery reports land on the main queue: have librdkafka write to our pipe when it
     * fills, so the relay's poll() wakes on them as on a NOTIFY. */
    rd_kafka_queue_t *mq = rd_kafka_queue_get_main(r->rk);
    rd_kafka_queue_io_event_enable(mq, r->evfd[1], "1", 1);
    rd_kafka_queue_destroy(mq);
    metrics_declare(m, "customer_outbox_backlog", METRICS_GAUGE,
                    "Outbox rows not yet published (as seen by this replica).", NULL, 0);
    metrics_declare(m, "customer_outbox_published_total", METRICS_COUNTER,
                    "Outbox rows published to Kafka by this replica.", NULL, 0);
    metrics_declare(m, "customer_outbox_publish_errors_total", METRICS_COUNTER,
                    "Failed produce calls and delivery reports.", NULL, 0);
    metrics_declare(m, "customer_outbox_publish_latency_seconds", METRICS_HISTOGRAM,
                    "From the customer change's commit to the broker's acknowledgement.", NULL, 0);
    metrics_declare(m, "customer_outbox_standby_wait_seconds", METRICS_HISTOGRAM,
                    "With outbox.standby-flush: how long a read waited for the standbys to flush it.", NULL,
                    0);
    metrics_declare(m, "customer_outbox_relay_leader", METRICS_GAUGE,
                    "1 while this replica holds the relay lock.", NULL, 0);
    metrics_declare(m, "customer_outbox_relay_listening", METRICS_GAUGE,
                    "1 while this replica's relay leads and is woken by NOTIFY; 0 while it polls once "
                    "per outbox.read-window-ms under load, or does not lead.",
                    NULL, 0);
    metrics_declare(m, "customer_kafka_up", METRICS_GAUGE, "1 when the broker answered the last probe.", NULL,
                    0);
    /* every replica exports both from the start (a standby that never led says 0, so "no
     * leader anywhere" is sum() == 0, not an absent series) */
    metrics_set(m, "customer_outbox_relay_leader", NULL, 0);
    metrics_set(m, "customer_outbox_relay_listening", NULL, 0);
    metrics_set(m, "customer_kafka_up", NULL, 0);
    return r;
}

rd_kafka_t *outbox_relay_producer(outbox_relay_t *r)
{
    return r ? r->rk : NULL;
}

int outbox_relay_is_leader(const outbox_relay_t *r)
{
    return r ? atomic_load(&r->leader) : 0;
}

int outbox_relay_kafka_ok(void *relay)
{
    outbox_relay_t *r = relay;
    return r ? atomic_load(&r->kafka_ok) : 0;
}

long long outbox_relay_published(const outbox_relay_t *r)
{
    return r ? atomic_load(&r->published) : 0;
}

/* With records in flight and none delivered for this long, Kafka counts as down for
 * readiness even when a broker answers metadata requests: two of three brokers stopped leave
 * one that answers but cannot acknowledge (acks=all, min.insync.replicas). */
#define RELAY_STALL_MS 5000

/* Periodic chores on both leader and standby: broker probe, backlog gauge. */
static void relay_chores(outbox_relay_t *r)
{
    long long now = svc_mono_ms();
    long long published = atomic_load(&r->published);
    if (r->inflight == 0 || published != r->progress_published) {
        r->progress_ms = now;
        r->progress_published = published;
    }
    if (now - r->last_probe_ms >= 2000) {
        int ok = kfk_reachable(r->rk, 1000);
        if (ok && now - r->progress_ms > RELAY_STALL_MS) {
            if (atomic_load(&r->kafka_ok))
                clog_warn(r->log,
                          "outbox relay: %d record(s) in flight and none delivered for %lld ms: the "
                          "brokers answer but do not acknowledge (fewer in sync than "
                          "min.insync.replicas?)",
                          r->inflight, now - r->progress_ms);
            ok = 0;
        }
        r->last_probe_ms = svc_mono_ms();
        atomic_store(&r->kafka_ok, ok);
        metrics_set(r->m, "customer_kafka_up", NULL, ok);
    }
    if (r->store.ops->connected(r->store.self) && now - r->last_backlog_ms >= 1000) {
        long long n = r->store.ops->backlog(r->store.self);
        if (n >= 0)
            metrics_set(r->m, "customer_outbox_backlog", NULL, (double)n);
        r->last_backlog_ms = now;
    }
}

/* Gives up leadership: waits for the in-flight deliveries while the session (and so the
 * lock) may still be alive, forgets the position (the next leader reads the stored one and
 * its takeover scan finds what came after on the topic), closes the session. */
static void relay_lose(outbox_relay_t *r, const char *why)
{
    relay_drain(r);
    relay_forget(r);
    if (atomic_load(&r->leader))
        clog_warn(r->log, "outbox relay: lost leadership (%s)", why);
    atomic_store(&r->leader, 0);
    metrics_set(r->m, "customer_outbox_relay_leader", NULL, 0);
    metrics_set(r->m, "customer_outbox_relay_listening", NULL, 0);
    r->store.ops->close(r->store.self);
}

/* A notification of new rows: they are to be read (at the end of the read window). */
static void relay_notified(outbox_relay_t *r)
{
    r->dirty = 1;
    if (r->notified_ms == 0)
        r->notified_ms = svc_mono_ms();
}

/* When the read a notification asked for is due: read_window_ms after the first one since
 * the last read, so that the rows committing meanwhile come in the same read (one query and
 * one produce for several rows instead of one each; each row waits at most the window).
 * 0: now (no notification pending, or no window). */
static long long relay_read_due(const outbox_relay_t *r)
{
    return r->notified_ms > 0 && r->o.read_window_ms > 0 ? r->notified_ms + r->o.read_window_ms : 0;
}

/* Under load the relay polls instead of being notified: each NOTIFY cost its PostgreSQL
 * session ~50 µs (a wake-up of the backend and a message; bench/cqrs-lag/peer at 1,000/s),
 * more than a read, and the write path sends one per commit. With a read window, a read that
 * found more than one row (the window gathers several: commits come faster than one per
 * window) stops listening, and the next read is due a window later; a read that found none
 * listens again and reads once more at once (a row that committed before LISTEN took effect
 * is never notified). Idle or at low rates the relay stays woken by NOTIFY. `n`: the rows the
 * read found. */
static void relay_listen_mode(outbox_relay_t *r, int n)
{
    if (r->listening && n > 1 && r->o.read_window_ms > 0) {
        if (r->store.ops->listen(r->store.self, 0) == 0) {
            r->listening = 0;
            metrics_set(r->m, "customer_outbox_relay_listening", NULL, 0);
            clog_debug(r->log, "outbox relay: a read found %d rows: polling every %d ms instead of listening",
                       n, r->o.read_window_ms);
        }
    } else if (!r->listening && (n == 0 || r->o.read_window_ms <= 0)) {
        if (r->store.ops->listen(r->store.self, 1) == 0) {
            r->listening = 1;
            r->dirty = 1; /* once more, now that new commits are notified */
            metrics_set(r->m, "customer_outbox_relay_listening", NULL, 1);
            clog_debug(r->log, "outbox relay: a read found nothing: listening again");
        }
        return;
    }
    if (!r->listening && n > 0) { /* polling: the next read a window after this one */
        r->dirty = 1;
        r->notified_ms = svc_mono_ms();
    }
}

/* Sleeps up to ms, returning early on stop and, when `wake` is set, on a notification of new
 * rows (sets r->dirty; returns when nothing is in flight and the read window is over) or
 * librdkafka events (delivery reports; served here). Notifications the store already
 * received during an earlier query are taken first: the socket will not signal them again. */
static void relay_wait(outbox_relay_t *r, int ms, int wake)
{
    long long end = svc_mono_ms() + ms;
    while (!atomic_load(&r->stop)) {
        struct pollfd pfd[2] = {{r->evfd[0], POLLIN, 0}, {-1, POLLIN, 0}};
        long long left, now, due;
        if (r->store.ops->connected(r->store.self)) {
            if (r->store.ops->notified(r->store.self, 0) > 0)
                relay_notified(r);
            now = svc_mono_ms();
            due = relay_read_due(r);
            if (wake && r->dirty && r->inflight == 0 && atomic_load(&r->leader)) {
                if (now >= due)
                    return;
                if (due < end)
                    end = due; /* sleep out the window, no longer */
            }
            pfd[1].fd = r->store.ops->socket(r->store.self);
        }
        left = end - svc_mono_ms();
        if (left <= 0)
            return;
        if (poll(pfd, 2, (int)(left < 200 ? left : 200)) <= 0)
            continue;
        if (pfd[0].revents) {
            char buf[64];
            while (read(r->evfd[0], buf, sizeof buf) > 0)
                ;
            rd_kafka_poll(r->rk, 0);
            if (wake)
                return;
        }
        if (pfd[1].revents) {
            int n = r->store.ops->notified(r->store.self, 1);
            if (n < 0)
                return;
            if (n > 0)
                relay_notified(r);
        }
    }
}

/* Connects when needed and tries the lock. Returns 1 when leader, 0 when standby/not
 * connected. */
static int relay_try_lead(outbox_relay_t *r)
{
    char err[512];
    int got = r->store.ops->lead(r->store.self, r->o.lock_key, err, sizeof err);
    if (got < 0)
        clog_warn(r->log, "outbox relay: %s", err);
    if (got <= 0)
        return 0;
    if (relay_pos_load(r) != 0) {
        r->store.ops->close(r->store.self);
        return 0;
    }
    atomic_store(&r->leader, 1);
    r->dirty = 1;
    r->listening = 1; /* a new leader session listens */
    r->notified_ms = 0;
    metrics_set(r->m, "customer_outbox_relay_listening", NULL, 1);
    metrics_set(r->m, "customer_outbox_relay_leader", NULL, 1);
    clog_info(r->log, "outbox relay: this replica is now the publisher (advisory lock %lld)", r->o.lock_key);
    relay_takeover_scan(r);
    return 1;
}

/* Deletes rows past retention that the position counts as published (run with nothing in
 * flight: every row up to pos.upto is on the topic). */
static void relay_cleanup(outbox_relay_t *r)
{
    if (r->o.retention_ms < 0 || !r->pos.loaded)
        return;
    long long n = r->store.ops->purge(r->store.self, r->pos.upto, r->o.retention_ms);
    if (n > 0)
        clog_info(r->log, "outbox relay: deleted %lld published rows past retention", n);
}

/* Creates the topic if needed. Returns 0 when it exists. */
static int relay_ensure_topic(outbox_relay_t *r)
{
    static const kfk_kv_t cfg[] = {{"cleanup.policy", "compact"}};
    char err[512];
    const kfk_topic_spec_t spec = {r->o.partitions, r->o.replication, r->o.min_isr};
    int rc = kfk_ensure_topic(r->rk, r->o.topic, &spec, cfg, 1, 10000, err, sizeof err);
    if (rc < 0) {
        clog_warn(r->log, "outbox relay: cannot make sure topic %s exists yet: %s", r->o.topic, err);
        return -1;
    }
    if (rc == 1)
        clog_info(r->log,
                  "outbox relay: created topic %s (%d partitions, replication %d, min.insync.replicas %d,"
                  " compacted)",
                  r->o.topic, r->o.partitions, r->o.replication, r->o.min_isr);
    r->topic_ready = 1;
    return 0;
}

/* One pass of the leader: serve delivery reports, mark what was delivered, read and produce
 * what is new, then sleep until something happens. Returns 0, or -1 after a failure (the
 * pipeline is drained and settled; the caller backs off). */
static int relay_lead_pass(outbox_relay_t *r, long long *next_sweep, long long *last_cleanup)
{
    long long now = svc_mono_ms();
    int rc = 0;
    rd_kafka_poll(r->rk, 0);
    if (now >= *next_sweep) {
        r->dirty = 1;
        *next_sweep = now + r->o.sweep_ms;
    }
    /* With nothing in flight: free the delivered slots, store the position when it is due
     * (every RELAY_SAVE_MS at most: a write of one row, not of the rows), take a probe when
     * old gaps wait for one. */
    if (r->failed == 0 && r->inflight == 0) {
        relay_pos_probe(r);
        if (relay_settle(r, 0) < 0) {
            relay_lose(r, "database connection lost while storing the position");
            return 0;
        }
    }
    /* Natural batching: new rows are read when the previous read is fully acknowledged.
     * An idle relay sends a row the moment it is woken; under load the rows that commit
     * while a batch is in flight go out together in the next one (fewer, larger produce
     * requests, and fewer, larger transactions on the read side). */
    int due = now >= relay_read_due(r); /* the read window is over (or there is none) */
    if (r->failed == 0 && r->inflight == 0 && r->dirty && r->n_free > 0 && due) {
        int want = r->n_free, n;
        r->dirty = 0;
        r->notified_ms = 0; /* what they announced is read now */
        n = relay_fetch(r);
        if (n < 0)
            rc = 1;
        else if (n == want)
            r->dirty = 1; /* there may be more */
        else
            relay_listen_mode(r, n);
    }
    if (rc == 0)
        rc = relay_settle(r, 0);
    if (rc < 0) {
        relay_lose(r, "database connection lost while storing the position");
        return 0;
    }
    if (rc > 0) {
        relay_drain(r);
        if (relay_settle(r, 0) < 0)
            relay_lose(r, "database connection lost while storing the position");
        r->dirty = 1;
        return -1;
    }
    if (r->dirty && r->n_free > 0 && r->inflight == 0 && due)
        return 0;
    if (r->inflight == 0 && now - *last_cleanup > r->o.cleanup_interval_ms) {
        relay_cleanup(r);
        *last_cleanup = svc_mono_ms();
    }
    relay_wait(r, (int)(*next_sweep - now), 1);
    return 0;
}

/* On stop, as leader: the in-flight deliveries get flush_ms and the position is stored;
 * then the rows committed before the stop — the HTTP server has drained, so every 201 is
 * committed — are read, produced and stored too, batch by batch, until none is left, a
 * delivery fails or flush_ms has passed. What stays unpublished goes out with the next
 * leader. */
static void relay_finish(outbox_relay_t *r)
{
    long long until = svc_mono_ms() + r->o.flush_ms;
    relay_drain_until(r, until);
    if (!r->store.ops->connected(r->store.self))
        return;
    if (relay_settle(r, 1) < 0) {
        clog_warn(r->log,
                  "outbox relay: could not store the position (the next leader finds it on the topic)");
        return;
    }
    while (atomic_load(&r->leader) && r->failed == 0 && svc_mono_ms() < until) {
        int n = relay_fetch(r);
        if (n <= 0)
            break;
        relay_drain_until(r, until);
        if (relay_settle(r, 1) != 0)
            break;
        clog_debug(r->log, "outbox relay: %d row(s) committed before the stop published", n);
    }
}

void outbox_relay_tune(outbox_relay_t *r, const outbox_relay_tuning_t *t)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->tune_mu);
    r->tuning = *t;
    r->tune_gen++;
    pthread_mutex_unlock(&r->tune_mu);
    if (write(r->evfd[1], "t", 1) < 0) { /* wakes relay_wait; a full pipe is awake anyway */
    }
}

/* At the top of each pass: the settings outbox_relay_tune handed over, if any. */
static void relay_take_tuning(outbox_relay_t *r)
{
    outbox_relay_tuning_t t;
    pthread_mutex_lock(&r->tune_mu);
    unsigned gen = r->tune_gen;
    t = r->tuning;
    pthread_mutex_unlock(&r->tune_mu);
    if (gen == r->tune_taken)
        return;
    outbox_relay_opts_t o = r->o, before = r->o;
    o.batch_size = t.batch_size;
    o.sweep_ms = t.sweep_ms;
    o.lock_poll_ms = t.lock_poll_ms;
    o.retention_ms = t.retention_ms;
    o.flush_ms = t.flush_ms;
    o.cleanup_interval_ms = t.cleanup_interval_ms;
    o.backoff_initial_ms = t.backoff_initial_ms;
    o.backoff_max_ms = t.backoff_max_ms;
    o.standby_flush = t.standby_flush;
    o.read_window_ms = t.read_window_ms;
    relay_defaults(&o);
    if (o.batch_size != r->o.batch_size) {
        /* The slots are sized by it: once no delivery is pending, the delivered rows are
         * marked (their slots freed) and the pipeline is made anew. */
        if (r->inflight > 0 || r->failed > 0 || (r->delivered > 0 && relay_settle(r, 0) != 0))
            return; /* at a later pass */
        int old = r->o.batch_size;
        relay_pump_free(r);
        r->o.batch_size = o.batch_size;
        if (relay_pump_init(r) != 0) {
            clog_error(r->log, "outbox relay: out of memory for a batch of %d: keeping %d", o.batch_size,
                       old);
            relay_pump_free(r);
            r->o.batch_size = old;
            if (relay_pump_init(r) != 0)
                abort(); /* the memory of the same size was just freed */
            o.batch_size = old;
        }
    }
    r->o = o;
    r->tune_taken = gen;
    if (o.batch_size == before.batch_size && o.sweep_ms == before.sweep_ms &&
        o.lock_poll_ms == before.lock_poll_ms && o.retention_ms == before.retention_ms &&
        o.flush_ms == before.flush_ms && o.cleanup_interval_ms == before.cleanup_interval_ms &&
        o.backoff_initial_ms == before.backoff_initial_ms && o.backoff_max_ms == before.backoff_max_ms &&
        o.standby_flush == before.standby_flush && o.read_window_ms == before.read_window_ms)
        return;
    clog_info(
        r->log,
        "outbox relay: now batch %d, sweep %d ms, lock poll %d ms, retention %lld ms, cleanup every %lld ms, "
        "backoff %d..%d ms, flush %d ms, standbys to flush before publishing %d, read window %d ms",
        o.batch_size, o.sweep_ms, o.lock_poll_ms, o.retention_ms, o.cleanup_interval_ms, o.backoff_initial_ms,
        o.backoff_max_ms, o.flush_ms, o.standby_flush, o.read_window_ms);
}

static void *relay_main(void *arg)
{
    outbox_relay_t *r = arg;
    int backoff = r->o.backoff_initial_ms;
    long long last_cleanup = 0, next_sweep = 0;

    while (!atomic_load(&r->stop)) {
        relay_take_tuning(r);
        relay_chores(r);
        if (!r->topic_ready && relay_ensure_topic(r) != 0) {
            relay_wait(r, backoff, 0);
            backoff = backoff * 2 > r->o.backoff_max_ms ? r->o.backoff_max_ms : backoff * 2;
            continue;
        }
        if (!atomic_load(&r->leader)) {
            if (!relay_try_lead(r))
                relay_wait(r, r->o.lock_poll_ms, 0);
            continue;
        }
        if (!r->store.ops->connected(r->store.self)) {
            relay_lose(r, "database connection lost");
            continue;
        }
        if (relay_lead_pass(r, &next_sweep, &last_cleanup) < 0) {
            relay_wait(r, backoff, 0);
            backoff = backoff * 2 > r->o.backoff_max_ms ? r->o.backoff_max_ms : backoff * 2;
        } else {
            backoff = r->o.backoff_initial_ms;
        }
    }
    relay_finish(r);
    rd_kafka_flush(r->rk, r->o.flush_ms);
    /* Closing the session releases the advisory lock: a standby takes over. */
    r->store.ops->close(r->store.self);
    atomic_store(&r->leader, 0);
    return NULL;
}

int outbox_relay_start(outbox_relay_t *r)
{
    if (r == NULL || r->started)
        return -1;
    if (pthread_create(&r->th, NULL, relay_main, r) != 0)
        return -1;
    r->started = 1;
    return 0;
}

void outbox_relay_stop(outbox_relay_t *r)
{
    if (r == NULL || !r->started)
        return;
    atomic_store(&r->stop, 1);
    pthread_join(r->th, NULL);
    r->started = 0;
}

void outbox_relay_free(outbox_relay_t *r)
{
    if (r == NULL)
        return;
    outbox_relay_stop(r);
    if (r->rk != NULL) {
        rd_kafka_flush(r->rk, 1000);
        /* Unlimited message timeout: drop what is still queued (the rows stay unpublished
         * in the outbox and go out next time). */
        rd_kafka_purge(r->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(r->rk, 0);
        rd_kafka_destroy(r->rk);
    }
    if (r->store.ops != NULL)
        r->store.ops->close(r->store.self);
    for (int i = 0; i < 2; i++)
        if (r->evfd[i] >= 0)
            close(r->evfd[i]);
    relay_pump_free(r);
    relay_pos_free(&r->pos);
    pthread_mutex_destroy(&r->tune_mu);
    free(r);
}
