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
    int open_new = 0;

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
        if (p->opened < p->size) {
            p->opened++;
            open_new = 1;
            break;
        }
        if (pthread_cond_timedwait(&p->cv, &p->mu, &dl) == ETIMEDOUT)
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
        } else {
            pgx_route_notices(c, p->log);
        }
    } else if (c != NULL && !pgx_idle_usable(c)) {
        /* the server went away (or became a standby) while the connection idled: reconnect,
         * which with several hosts and target_session_attrs=read-write finds the primary */
        PQreset(c);
        if (PQstatus(c) != CONNECTION_OK || pgx_on_standby(c)) {
            clog_warn(p->log, "database connection lost: %s",
                      PQstatus(c) != CONNECTION_OK ? PQerrorMessage(c) : "the server is a standby");
            pgpool_put(p, c, 1);
            c = NULL;
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
