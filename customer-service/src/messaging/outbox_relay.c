/* outbox_relay.c — the outbox relay thread: lock, read in id order, produce, wait for
 * delivery reports, mark, sweep. See outbox_relay.h (the takeover scan is in
 * outbox_relay_takeover.c). */
#include "messaging/outbox_relay_int.h"

#include "pgx.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long long relay_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long relay_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void relay_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    outbox_relay_t *r = kfk_user(rk);
    relay_slot_t *s = m->_private;
    if (r == NULL || s == NULL)
        return;
    s->state = m->err ? -1 : 1;
    r->pending--;
    if (m->err) {
        metrics_add(r->m, "customer_outbox_publish_errors_total", NULL, 1);
        clog_warn(r->log, "outbox row %lld not delivered: %s", s->id, rd_kafka_err2str(m->err));
    } else {
        metrics_observe(r->m, "customer_outbox_publish_latency_seconds", NULL,
                        (double)(relay_now_ms() - s->occurred_ms) / 1000.0);
    }
}

outbox_relay_t *outbox_relay_new(const outbox_relay_opts_t *o, rd_kafka_conf_t *conf,
                                 const clog_t *log, metrics_t *m, char *err, size_t errlen)
{
    outbox_relay_t *r = calloc(1, sizeof *r);
    char bs[1024];
    size_t bsz = sizeof bs;
    if (r == NULL) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->o = *o;
    if (r->o.batch_size <= 0)
        r->o.batch_size = 500;
    if (r->o.sweep_ms <= 0)
        r->o.sweep_ms = 1000;
    if (r->o.lock_poll_ms <= 0)
        r->o.lock_poll_ms = 1000;
    if (r->o.retention_ms == 0)
        r->o.retention_ms = 24LL * 3600 * 1000;
    if (r->o.lock_key == 0)
        r->o.lock_key = 0x637573746f6d6572LL;
    if (r->o.flush_ms <= 0)
        r->o.flush_ms = 5000;
    if (r->o.cleanup_interval_ms <= 0)
        r->o.cleanup_interval_ms = 60000;
    if (r->o.backoff_initial_ms <= 0)
        r->o.backoff_initial_ms = 100;
    if (r->o.backoff_max_ms < r->o.backoff_initial_ms)
        r->o.backoff_max_ms = r->o.backoff_initial_ms > 30000 ? r->o.backoff_initial_ms : 30000;
    if (r->o.partitions <= 0)
        r->o.partitions = 3;
    if (r->o.replication <= 0)
        r->o.replication = 1;
    r->log = log;
    r->m = m;
    r->op.log = log;
    r->op.user = r;
    r->slots = calloc((size_t)r->o.batch_size, sizeof *r->slots);
    if (r->slots == NULL) {
        rd_kafka_conf_destroy(conf);
        free(r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (rd_kafka_conf_get(conf, "bootstrap.servers", bs, &bsz) == RD_KAFKA_CONF_OK)
        r->bootstrap = strdup(bs);
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
    metrics_declare(m, "customer_outbox_backlog", METRICS_GAUGE,
                    "Outbox rows not yet published (as seen by this replica).", NULL, 0);
    metrics_declare(m, "customer_outbox_published_total", METRICS_COUNTER,
                    "Outbox rows published to Kafka by this replica.", NULL, 0);
    metrics_declare(m, "customer_outbox_publish_errors_total", METRICS_COUNTER,
                    "Failed produce calls and delivery reports.", NULL, 0);
    metrics_declare(m, "customer_outbox_publish_latency_seconds", METRICS_HISTOGRAM,
                    "From the customer change's commit to the broker's acknowledgement.", NULL, 0);
    metrics_declare(m, "customer_outbox_relay_leader", METRICS_GAUGE,
                    "1 while this replica holds the relay lock.", NULL, 0);
    metrics_declare(m, "customer_kafka_up", METRICS_GAUGE, "1 when the broker answered the last probe.",
                    NULL, 0);
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

int outbox_relay_kafka_ok(const outbox_relay_t *r)
{
    return r ? atomic_load(&r->kafka_ok) : 0;
}

long long outbox_relay_published(const outbox_relay_t *r)
{
    return r ? atomic_load(&r->published) : 0;
}

/* Periodic chores on both leader and standby: broker probe, backlog gauge. */
static void relay_chores(outbox_relay_t *r)
{
    long long now = relay_mono_ms();
    if (now - r->last_probe_ms >= 2000) {
        int ok = kfk_reachable(r->rk, 1000);
        r->last_probe_ms = relay_mono_ms();
        atomic_store(&r->kafka_ok, ok);
        metrics_set(r->m, "customer_kafka_up", NULL, ok);
    }
    if (r->pg != NULL && PQstatus(r->pg) == CONNECTION_OK && now - r->last_backlog_ms >= 1000) {
        PGresult *res = PQexec(r->pg, "SELECT count(*) FROM customer.outbox WHERE published_at IS NULL");
        if (PQresultStatus(res) == PGRES_TUPLES_OK)
            metrics_set(r->m, "customer_outbox_backlog", NULL, atof(PQgetvalue(res, 0, 0)));
        PQclear(res);
        r->last_backlog_ms = now;
    }
}

static void relay_lose(outbox_relay_t *r, const char *why)
{
    if (atomic_load(&r->leader))
        clog_warn(r->log, "outbox relay: lost leadership (%s)", why);
    atomic_store(&r->leader, 0);
    metrics_set(r->m, "customer_outbox_relay_leader", NULL, 0);
    PQfinish(r->pg);
    r->pg = NULL;
}

/* Sleeps up to ms, returning early on NOTIFY or stop; serves librdkafka callbacks. */
static void relay_wait(outbox_relay_t *r, int ms)
{
    long long end = relay_mono_ms() + ms;
    while (!atomic_load(&r->stop)) {
        long long left = end - relay_mono_ms();
        int got = 0;
        if (left <= 0)
            return;
        rd_kafka_poll(r->rk, 0);
        if (r->pg != NULL && PQstatus(r->pg) == CONNECTION_OK) {
            struct pollfd pfd = {PQsocket(r->pg), POLLIN, 0};
            if (poll(&pfd, 1, (int)(left < 200 ? left : 200)) > 0) {
                PGnotify *n;
                if (!PQconsumeInput(r->pg))
                    return;
                while ((n = PQnotifies(r->pg)) != NULL) {
                    PQfreemem(n);
                    got = 1;
                }
                if (got)
                    return;
            }
        } else {
            struct timespec ts = {0, 200 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
}

/* Connects and tries the lock. Returns 1 when leader, 0 when standby/not connected. */
static int relay_try_lead(outbox_relay_t *r)
{
    PGresult *res;
    char key[32];
    const char *vals[1] = {key};
    int got = 0;

    if (r->pg == NULL || PQstatus(r->pg) != CONNECTION_OK) {
        PQfinish(r->pg);
        r->pg = PQconnectdb(r->o.conninfo);
        if (PQstatus(r->pg) != CONNECTION_OK) {
            clog_warn(r->log, "outbox relay: database connection failed: %s", PQerrorMessage(r->pg));
            PQfinish(r->pg);
            r->pg = NULL;
            return 0;
        }
        pgx_route_notices(r->pg, r->log);
    }
    snprintf(key, sizeof key, "%lld", r->o.lock_key);
    res = PQexecParams(r->pg, "SELECT pg_try_advisory_lock($1::bigint)", 1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && strcmp(PQgetvalue(res, 0, 0), "t") == 0)
        got = 1;
    else if (PQresultStatus(res) != PGRES_TUPLES_OK)
        clog_warn(r->log, "outbox relay: lock query failed: %s", PQerrorMessage(r->pg));
    PQclear(res);
    if (!got)
        return 0;
    res = PQexec(r->pg, "LISTEN customer_outbox");
    PQclear(res);
    atomic_store(&r->leader, 1);
    metrics_set(r->m, "customer_outbox_relay_leader", NULL, 1);
    clog_info(r->log, "outbox relay: this replica is now the publisher (advisory lock %lld)", r->o.lock_key);
    relay_takeover_scan(r);
    return 1;
}

static long long relay_be64(const char *p)
{
    unsigned long long v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | (unsigned char)p[i];
    return (long long)v;
}

/* Marks `n` ids published. Returns 0 or -1. */
int relay_mark(outbox_relay_t *r, const long long *ids, int n)
{
    char *arr = NULL;
    size_t cap = (size_t)n * 21 + 3, len = 0;
    PGresult *res;
    int rc = -1;
    const char *vals[1];
    if (n == 0)
        return 0;
    arr = malloc(cap);
    if (arr == NULL)
        return -1;
    arr[len++] = '{';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(arr + len, cap - len, "%s%lld", i ? "," : "", ids[i]);
    arr[len++] = '}';
    arr[len] = '\0';
    vals[0] = arr;
    res = PQexecParams(r->pg, "UPDATE customer.outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                       1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_COMMAND_OK)
        rc = 0;
    else
        clog_error(r->log, "outbox relay: marking rows published failed: %s", PQerrorMessage(r->pg));
    PQclear(res);
    free(arr);
    return rc;
}

/* One round. Returns rows published (≥ 0) or -1 (error: back off). */
static int relay_round(outbox_relay_t *r)
{
    char lim[16];
    const char *vals[1] = {lim};
    PGresult *res;
    int n, ok = 0, failed = 0;
    long long deadline = 0, *ids = NULL;

    snprintf(lim, sizeof lim, "%d", r->o.batch_size);
    res = PQexecParams(r->pg,
                       "SELECT id, aggregate_id::text, payload,"
                       " (extract(epoch FROM occurred_at) * 1000)::int8"
                       " FROM customer.outbox WHERE published_at IS NULL ORDER BY id LIMIT $1::int",
                       1, NULL, vals, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        clog_warn(r->log, "outbox relay: reading the outbox failed: %s", PQerrorMessage(r->pg));
        PQclear(res);
        return -1;
    }
    n = PQntuples(res);
    r->pending = 0;
    for (int i = 0; i < n; i++) {
        relay_slot_t *s = &r->slots[i];
        char idtxt[24];
        rd_kafka_resp_err_t e;
        s->id = relay_be64(PQgetvalue(res, i, 0));
        s->occurred_ms = relay_be64(PQgetvalue(res, i, 3));
        s->state = 0;
        snprintf(idtxt, sizeof idtxt, "%lld", s->id);
        for (;;) {
            e = rd_kafka_producev(r->rk, RD_KAFKA_V_TOPIC(r->o.topic),
                                  RD_KAFKA_V_KEY(PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1)),
                                  RD_KAFKA_V_VALUE(PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2),
                                                   PQgetisnull(res, i, 2) ? 0 : (size_t)PQgetlength(res, i, 2)),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_HEADER(RELAY_HEADER, idtxt, -1), RD_KAFKA_V_OPAQUE(s),
                                  RD_KAFKA_V_END);
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                break;
            rd_kafka_poll(r->rk, 50);
        }
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            /* Keep per-key order: nothing after a row that could not be queued. */
            clog_error(r->log, "outbox relay: produce of row %lld failed: %s", s->id, rd_kafka_err2str(e));
            metrics_add(r->m, "customer_outbox_publish_errors_total", NULL, 1);
            s->state = -1;
            n = i + 1;
            break;
        }
        r->pending++;
    }
    PQclear(res);
    /* Wait for every delivery report. With unlimited retries this takes as long as the
     * broker is away; on stop, give in-flight messages flush_ms, then purge. */
    while (r->pending > 0) {
        rd_kafka_poll(r->rk, 100);
        relay_chores(r);
        if (atomic_load(&r->stop)) {
            if (deadline == 0)
                deadline = relay_mono_ms() + r->o.flush_ms;
            else if (relay_mono_ms() > deadline) {
                rd_kafka_purge(r->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
                while (r->pending > 0)
                    rd_kafka_poll(r->rk, 100);
            }
        }
    }
    ids = malloc(sizeof *ids * (size_t)(n > 0 ? n : 1));
    if (ids == NULL)
        return -1;
    for (int i = 0; i < n; i++) {
        if (r->slots[i].state == 1)
            ids[ok++] = r->slots[i].id;
        else
            failed++;
    }
    if (PQstatus(r->pg) != CONNECTION_OK || relay_mark(r, ids, ok) != 0) {
        free(ids);
        relay_lose(r, "database connection lost while marking");
        return -1;
    }
    free(ids);
    atomic_fetch_add(&r->published, ok);
    metrics_add(r->m, "customer_outbox_published_total", NULL, ok);
    return failed ? -1 : ok;
}

static void relay_cleanup(outbox_relay_t *r)
{
    char ms[24];
    const char *vals[1] = {ms};
    PGresult *res;
    if (r->o.retention_ms < 0)
        return;
    snprintf(ms, sizeof ms, "%lld", r->o.retention_ms);
    res = PQexecParams(r->pg,
                       "DELETE FROM customer.outbox WHERE published_at IS NOT NULL"
                       " AND published_at < now() - $1::bigint * interval '1 millisecond'",
                       1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_COMMAND_OK && atoi(PQcmdTuples(res)) > 0)
        clog_info(r->log, "outbox relay: deleted %s published rows past retention", PQcmdTuples(res));
    PQclear(res);
}

/* Creates the topic if needed. Returns 0 when it exists. */
static int relay_ensure_topic(outbox_relay_t *r)
{
    static const kfk_kv_t cfg[] = {{"cleanup.policy", "compact"}};
    char err[512];
    int rc = kfk_ensure_topic(r->rk, r->o.topic, r->o.partitions, r->o.replication, cfg, 1, 10000, err, sizeof err);
    if (rc < 0) {
        clog_warn(r->log, "outbox relay: cannot make sure topic %s exists yet: %s", r->o.topic, err);
        return -1;
    }
    if (rc == 1)
        clog_info(r->log, "outbox relay: created topic %s (%d partitions, replication %d, compacted)",
                  r->o.topic, r->o.partitions, r->o.replication);
    r->topic_ready = 1;
    return 0;
}

static void *relay_main(void *arg)
{
    outbox_relay_t *r = arg;
    int backoff = r->o.backoff_initial_ms;
    long long last_cleanup = 0;

    while (!atomic_load(&r->stop)) {
        relay_chores(r);
        if (!r->topic_ready && relay_ensure_topic(r) != 0) {
            relay_wait(r, backoff);
            backoff = backoff * 2 > r->o.backoff_max_ms ? r->o.backoff_max_ms : backoff * 2;
            continue;
        }
        if (!atomic_load(&r->leader)) {
            if (!relay_try_lead(r))
                relay_wait(r, r->o.lock_poll_ms);
            continue;
        }
        if (PQstatus(r->pg) != CONNECTION_OK) {
            relay_lose(r, "database connection lost");
            continue;
        }
        int n = relay_round(r);
        if (n < 0) {
            relay_wait(r, backoff);
            backoff = backoff * 2 > r->o.backoff_max_ms ? r->o.backoff_max_ms : backoff * 2;
            continue;
        }
        backoff = r->o.backoff_initial_ms;
        if (n == r->o.batch_size)
            continue;
        if (relay_mono_ms() - last_cleanup > r->o.cleanup_interval_ms && r->pg != NULL) {
            relay_cleanup(r);
            last_cleanup = relay_mono_ms();
        }
        relay_wait(r, r->o.sweep_ms);
    }
    rd_kafka_flush(r->rk, r->o.flush_ms);
    if (r->pg != NULL) {
        /* Closing the session releases the advisory lock: a standby takes over. */
        PQfinish(r->pg);
        r->pg = NULL;
    }
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
    PQfinish(r->pg);
    free(r->bootstrap);
    free(r->slots);
    free(r);
}
