/* pgpool.c — fixed-size libpq connection pool. See pgpool.h. */
#include "dataaccess/pgpool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "pgx.h"

struct os_pgpool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    PGconn **conns;
    int *busy;
    int size;
    const clog_t *log;
};

os_pgpool_t *os_pgpool_new(const char *conninfo, int size, int attempts, const clog_t *log, char *err,
                           size_t errlen)
{
    os_pgpool_t *p = calloc(1, sizeof *p);
    if (size < 1)
        size = 1;
    if (p == NULL)
        goto fail;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->log = log;
    p->conns = calloc((size_t)size, sizeof *p->conns);
    p->busy = calloc((size_t)size, sizeof *p->busy);
    if (p->conns == NULL || p->busy == NULL)
        goto fail;
    p->size = size;
    for (int i = 0; i < size; i++) {
        p->conns[i] = pgx_connect(conninfo, attempts, log);
        if (p->conns[i] == NULL) {
            snprintf(err, errlen, "cannot connect to PostgreSQL");
            goto fail;
        }
    }
    return p;
fail:
    if (p == NULL)
        snprintf(err, errlen, "out of memory");
    os_pgpool_free(p);
    return NULL;
}

void os_pgpool_free(os_pgpool_t *p)
{
    if (p == NULL)
        return;
    for (int i = 0; p->conns != NULL && i < p->size; i++)
        PQfinish(p->conns[i]);
    free(p->conns);
    free(p->busy);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

PGconn *os_pgpool_get(os_pgpool_t *p)
{
    PGconn *c = NULL;
    pthread_mutex_lock(&p->mu);
    while (c == NULL) {
        for (int i = 0; i < p->size; i++) {
            if (!p->busy[i]) {
                p->busy[i] = 1;
                c = p->conns[i];
                break;
            }
        }
        if (c == NULL)
            pthread_cond_wait(&p->cv, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    if (PQstatus(c) != CONNECTION_OK)
        PQreset(c);
    return c;
}

void os_pgpool_put(os_pgpool_t *p, PGconn *c, int broken)
{
    if (c == NULL)
        return;
    if (!broken && PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
        PQclear(PQexec(c, "ROLLBACK"));
    if (broken || PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE) {
        if (p->log)
            clog_warn(p->log, "resetting a PostgreSQL connection: %s", PQerrorMessage(c));
        PQreset(c);
    }
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < p->size; i++)
        if (p->conns[i] == c)
            p->busy[i] = 0;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

int os_pgpool_ping(os_pgpool_t *p)
{
    PGconn *c = os_pgpool_get(p);
    PGresult *r = PQexec(c, "SELECT 1");
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    os_pgpool_put(p, c, !ok);
    return ok;
}
