/* pgpool.c — blocking PostgreSQL connection pool. See pgpool.h. */
#include "pgpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgx.h"

#define PGPOOL_MAX 64
/* After a connection attempt failed: how long no new connection is tried (requests without
 * an idle connection fail at once, as 503s, instead of each waiting out connect_timeout per
 * host on a dead or cut-off server), then one caller at a time tries again. */
#define PGPOOL_DOWN_MS 500

struct pgpool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const char *conninfo;
    const clog_t *log;
    int size;
    int opened; /* connections in existence (idle or lent) */
    PGconn *idle[PGPOOL_MAX];
    int nidle;
    atomic_llong last_ok_ms; /* when a connection last came back healthy */
    atomic_llong down_ms;    /* 0: the database answers; else no new connection before then */
    atomic_int probing;      /* 1 while one caller tries to connect with down_ms set */
};

static long long pgpool_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

pgpool_t *pgpool_new(const char *conninfo, int size, const clog_t *log)
{
    pgpool_t *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->conninfo = conninfo;
    p->log = log;
    p->size = size < 1 ? 1 : (size > PGPOOL_MAX ? PGPOOL_MAX : size);
    return p;
}

/* The database is unreachable: no new connection for `wait_ms`, then one caller at a time
 * (a lost lent connection alone does not mark it: doing so made it_ops_customer's
 * t_sigterm_inflight miss events, not understood yet); the idle ones are
 * closed (behind a cut network path they would look fine and hang their next request until
 * tcp_user_timeout). */
static void pgpool_mark_down(pgpool_t *p, int wait_ms)
{
    PGconn *drop[PGPOOL_MAX];
    int n;
    if (atomic_exchange(&p->down_ms, pgpool_mono_ms() + wait_ms) == 0)
        clog_warn(p->log,
                  "database %s: idle connections closed; requests without a connection fail at "
                  "once while one caller reconnects (every %d ms)",
                  wait_ms > 0 ? "unreachable" : "connection lost", PGPOOL_DOWN_MS);
    pthread_mutex_lock(&p->mu);
    n = p->nidle;
    memcpy(drop, p->idle, (size_t)n * sizeof drop[0]);
    p->nidle = 0;
    p->opened -= n;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < n; i++)
        PQfinish(drop[i]);
}

static void pgpool_mark_up(pgpool_t *p)
{
    if (atomic_exchange(&p->down_ms, 0) != 0)
        clog_info(p->log, "database reachable again");
}

void pgpool_free(pgpool_t *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < p->nidle; i++)
        PQfinish(p->idle[i]);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

PGconn *pgpool_get(pgpool_t *p, int timeout_ms)
{
    struct timespec dl;
    PGconn *c = NULL;
    int open_new = 0, probe = 0;

    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->nidle > 0) {
            c = p->idle[--p->nidle];
            break;
        }
        long long down = atomic_load(&p->down_ms);
        if (p->opened < p->size) {
            /* the database is down: fail at once, but let one caller at a time retry once
             * PGPOOL_DOWN_MS have passed (connect_timeout per host bounds that caller) */
            if (down != 0 && (pgpool_mono_ms() < down || atomic_exchange(&p->probing, 1) != 0))
                break;
            probe = down != 0;
            p->opened++;
            open_new = 1;
            break;
        }
        /* every connection lent while the database is down: they will not come back soon */
        if (down != 0 || pthread_cond_timedwait(&p->cv, &p->mu, &dl) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&p->mu);
    if (open_new) {
        c = PQconnectdb(p->conninfo);
        if (PQstatus(c) != CONNECTION_OK) {
            clog_warn(p->log, "database connection failed: %s", PQerrorMessage(c));
            PQfinish(c);
            c = NULL;
            pthread_mutex_lock(&p->mu);
            p->opened--;
            pthread_cond_signal(&p->cv);
            pthread_mutex_unlock(&p->mu);
            pgpool_mark_down(p, PGPOOL_DOWN_MS);
        } else {
            pgx_route_notices(c, p->log);
            pgpool_mark_up(p);
        }
        if (probe)
            atomic_store(&p->probing, 0);
    } else if (c != NULL && !pgx_idle_usable(c)) {
        /* the server went away (or became a standby) while the connection idled: reconnect,
         * which with several hosts and target_session_attrs=read-write finds the primary */
        PQreset(c);
        if (PQstatus(c) != CONNECTION_OK || pgx_on_standby(c)) {
            clog_warn(p->log, "database connection lost: %s",
                      PQstatus(c) != CONNECTION_OK ? PQerrorMessage(c) : "the server is a standby");
            int unreachable = PQstatus(c) != CONNECTION_OK;
            pgpool_put(p, c, 1);
            c = NULL;
            if (unreachable) /* (after the put, which marked a lost connection) */
                pgpool_mark_down(p, PGPOOL_DOWN_MS);
        }
    }
    if (open_new && c != NULL && pgx_on_standby(c)) {
        clog_warn(p->log, "database connection refused: the server is a standby (set "
                          "datasource.target-session-attrs: read-write with several hosts)");
        pgpool_put(p, c, 1);
        c = NULL;
    }
    return c;
}

void pgpool_put(pgpool_t *p, PGconn *c, int broken)
{
    if (c == NULL)
        return;
    if (!broken && PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE &&
        !pgx_on_standby(c)) {
        atomic_store(&p->last_ok_ms, pgpool_mono_ms());
        pgpool_mark_up(p);
        pthread_mutex_lock(&p->mu);
        p->idle[p->nidle++] = c;
    } else {
        PQfinish(c);
        pthread_mutex_lock(&p->mu);
        p->opened--;
    }
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

int pgpool_ping(pgpool_t *p)
{
    PGconn *c;
    PGresult *r;
    int ok;
    /* Under load every connection is busy: a request that just finished fine is proof
     * enough, and probes must not queue behind the traffic. */
    if (pgpool_mono_ms() - atomic_load(&p->last_ok_ms) < 2000)
        return 1;
    c = pgpool_get(p, 1000);
    if (c == NULL)
        return 0;
    r = PQexec(c, "SELECT 1");
    ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    pgpool_put(p, c, !ok);
    return ok;
}
