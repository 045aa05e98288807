/* outbox_pgstore.c — the outbox relay's store on PostgreSQL. See outbox_pgstore.h. */
#include "dataaccess/outbox_pgstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pgx.h"

#define STMT_FETCH "cs_relay_fetch"
#define STMT_MARK "cs_relay_mark"

static const char SQL_FETCH[] =
    "SELECT id, aggregate_id::text, payload, (extract(epoch FROM occurred_at) * 1000)::int8"
    " FROM customer.outbox WHERE published_at IS NULL AND id <> ALL($2::bigint[])"
    " ORDER BY id LIMIT $1::int";
static const char SQL_MARK[] = "UPDATE customer.outbox SET published_at = now() WHERE id = ANY($1::bigint[])";

struct outbox_pgstore {
    const char *conninfo;
    const clog_t *log;
    PGconn *pg;
    PGresult *res;      /* the last fetch's or unpublished()'s rows (their buffers) */
    outbox_row_t *rows; /* views of res */
    int cap;
};

outbox_pgstore_t *outbox_pgstore_new(const char *conninfo, const clog_t *log)
{
    outbox_pgstore_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->conninfo = conninfo;
    s->log = log;
    return s;
}

static void ops_close(void *self)
{
    outbox_pgstore_t *s = self;
    PQclear(s->res);
    s->res = NULL;
    PQfinish(s->pg);
    s->pg = NULL;
}

void outbox_pgstore_free(outbox_pgstore_t *s)
{
    if (s == NULL)
        return;
    ops_close(s);
    free(s->rows);
    free(s);
}

/* err = "<what>: <libpq's message>" (trailing newline trimmed). Returns -1. */
static int store_fail(outbox_pgstore_t *s, PGresult *r, const char *what, char *err, size_t errlen)
{
    return pgx_fail(r, s->pg, what, err, errlen);
}

/* "{1,2,3}" (malloc'd, caller frees) or NULL when out of memory. */
static char *idarr(const long long *ids, int n)
{
    size_t cap = (size_t)n * 21 + 3, len = 0;
    char *arr = malloc(cap);
    if (arr == NULL)
        return NULL;
    arr[len++] = '{';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(arr + len, cap - len, "%s%lld", i ? "," : "", ids[i]);
    arr[len++] = '}';
    arr[len] = '\0';
    return arr;
}

static int prepare(outbox_pgstore_t *s, char *err, size_t errlen)
{
    PGresult *res = PQprepare(s->pg, STMT_FETCH, SQL_FETCH, 0, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return store_fail(s, res, "preparing statements failed", err, errlen);
    PQclear(res);
    res = PQprepare(s->pg, STMT_MARK, SQL_MARK, 0, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return store_fail(s, res, "preparing statements failed", err, errlen);
    PQclear(res);
    return 0;
}

static int ops_lead(void *self, long long key, char *err, size_t errlen)
{
    outbox_pgstore_t *s = self;
    char k[32];
    const char *vals[1] = {k};
    PGresult *res;
    int got;
    if (s->pg == NULL || PQstatus(s->pg) != CONNECTION_OK) {
        ops_close(s);
        s->pg = PQconnectdb(s->conninfo);
        if (PQstatus(s->pg) != CONNECTION_OK) {
            store_fail(s, NULL, "database connection failed", err, errlen);
            ops_close(s);
            return -1;
        }
        pgx_route_notices(s->pg, s->log);
    }
    snprintf(k, sizeof k, "%lld", key);
    res = PQexecParams(s->pg, "SELECT pg_try_advisory_lock($1::bigint)", 1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return store_fail(s, res, "lock query failed", err, errlen);
    got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!got)
        return 0;
    /* The marks may commit asynchronously: if the database crashes before flushing one, the
     * connection drops, and the next leader's takeover scan re-marks the rows the topic holds
     * (no duplicates). The customer writes themselves (other sessions) stay synchronous. */
    PQclear(PQexec(s->pg, "LISTEN customer_outbox; SET synchronous_commit = off"));
    if (prepare(s, err, errlen) != 0) {
        ops_close(s);
        return -1;
    }
    return 1;
}

static int ops_connected(void *self)
{
    outbox_pgstore_t *s = self;
    return s->pg != NULL && PQstatus(s->pg) == CONNECTION_OK;
}

static int ops_socket(void *self)
{
    outbox_pgstore_t *s = self;
    return ops_connected(s) ? PQsocket(s->pg) : -1;
}

/* NOTIFYs that libpq already read during an earlier query are taken too: the socket will not
 * signal them again. */
static int ops_notified(void *self, int readable)
{
    outbox_pgstore_t *s = self;
    PGnotify *n;
    int count = 0;
    if (!ops_connected(s))
        return -1;
    if (readable && !PQconsumeInput(s->pg))
        return -1;
    while ((n = PQnotifies(s->pg)) != NULL) {
        PQfreemem(n);
        count++;
    }
    return count;
}

static long long be64(const char *p)
{
    unsigned long long v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | (unsigned char)p[i];
    return (long long)v;
}

/* Room for n row views. 0 or -1. */
static int rows_room(outbox_pgstore_t *s, int n)
{
    if (n <= s->cap)
        return 0;
    outbox_row_t *r = realloc(s->rows, (size_t)n * sizeof *r);
    if (r == NULL)
        return -1;
    s->rows = r;
    s->cap = n;
    return 0;
}

static int ops_fetch(void *self, const long long *excl, int nexcl, int limit, const outbox_row_t **rows,
                     char *err, size_t errlen)
{
    outbox_pgstore_t *s = self;
    char lim[16], *ex = idarr(excl, nexcl);
    const char *vals[2] = {lim, ex};
    int n;
    PQclear(s->res);
    s->res = NULL;
    if (ex == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(lim, sizeof lim, "%d", limit);
    s->res = PQexecPrepared(s->pg, STMT_FETCH, 2, vals, NULL, NULL, 1);
    free(ex);
    if (PQresultStatus(s->res) != PGRES_TUPLES_OK) {
        int rc = store_fail(s, s->res, "reading the outbox failed", err, errlen);
        s->res = NULL;
        return rc;
    }
    n = PQntuples(s->res);
    if (rows_room(s, n) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        int null = PQgetisnull(s->res, i, 2);
        s->rows[i] = (outbox_row_t){be64(PQgetvalue(s->res, i, 0)),
                                    PQgetvalue(s->res, i, 1),
                                    (size_t)PQgetlength(s->res, i, 1),
                                    null ? NULL : PQgetvalue(s->res, i, 2),
                                    null ? 0 : (size_t)PQgetlength(s->res, i, 2),
                                    be64(PQgetvalue(s->res, i, 3))};
    }
    *rows = s->rows;
    return n;
}

static int ops_mark(void *self, const long long *ids, int n, char *err, size_t errlen)
{
    outbox_pgstore_t *s = self;
    const char *vals[1];
    char *arr;
    if (n == 0)
        return 0;
    arr = idarr(ids, n);
    if (arr == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    vals[0] = arr;
    PGresult *res = PQexecPrepared(s->pg, STMT_MARK, 1, vals, NULL, NULL, 0);
    free(arr);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return store_fail(s, res, "marking rows published failed", err, errlen);
    PQclear(res);
    return 0;
}

static long long ops_backlog(void *self)
{
    outbox_pgstore_t *s = self;
    long long n = -1;
    PGresult *res = PQexec(s->pg, "SELECT count(*) FROM customer.outbox WHERE published_at IS NULL");
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

static long long ops_purge(void *self, long long retention_ms)
{
    outbox_pgstore_t *s = self;
    char ms[24];
    const char *vals[1] = {ms};
    long long n = -1;
    snprintf(ms, sizeof ms, "%lld", retention_ms);
    PGresult *res = PQexecParams(s->pg,
                                 "DELETE FROM customer.outbox WHERE published_at IS NOT NULL"
                                 " AND published_at < now() - $1::bigint * interval '1 millisecond'",
                                 1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_COMMAND_OK)
        n = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return n;
}

static int ops_unpublished(void *self, const outbox_row_t **rows, char *err, size_t errlen)
{
    outbox_pgstore_t *s = self;
    int n;
    PQclear(s->res);
    s->res = PQexec(
        s->pg, "SELECT id, aggregate_id::text FROM customer.outbox WHERE published_at IS NULL ORDER BY id");
    if (PQresultStatus(s->res) != PGRES_TUPLES_OK) {
        int rc = store_fail(s, s->res, "reading the unpublished rows failed", err, errlen);
        s->res = NULL;
        return rc;
    }
    n = PQntuples(s->res);
    if (rows_room(s, n) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++)
        s->rows[i] = (outbox_row_t){strtoll(PQgetvalue(s->res, i, 0), NULL, 10),
                                    PQgetvalue(s->res, i, 1),
                                    (size_t)PQgetlength(s->res, i, 1),
                                    NULL,
                                    0,
                                    0};
    *rows = s->rows;
    return n;
}

static const outbox_store_ops_t pgstore_ops = {ops_lead,     ops_connected,  ops_close, ops_socket,
                                               ops_notified, ops_fetch,      ops_mark,  ops_backlog,
                                               ops_purge,    ops_unpublished};

outbox_store_t outbox_pgstore_port(outbox_pgstore_t *s)
{
    return (outbox_store_t){&pgstore_ops, s};
}
