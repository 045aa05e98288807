/* pg_projdb.c — the live projection's database session. See pg_projdb.h. */
#include "dataaccess/pg_projdb.h"

#include <stdio.h>
#include <stdlib.h>

#include <libpq-fe.h>

#include "dataaccess/pg_projstore.h"
#include "dataaccess/pgarr.h"
#include "dbuf.h"
#include "pgx.h"

struct os_pgprojdb {
    PGconn *conn;
    os_pgproj_t store;
    int seen_pid; /* the backend the last session() call saw */
};

os_pgprojdb_t *os_pgprojdb_new(const char *conninfo, const clog_t *log, char *err, size_t errlen)
{
    os_pgprojdb_t *d = calloc(1, sizeof *d);
    if (d == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->conn = pgx_connect(conninfo, 30, log);
    if (d->conn == NULL) {
        snprintf(err, errlen, "projection: cannot connect to PostgreSQL");
        free(d);
        return NULL;
    }
    d->seen_pid = PQbackendPID(d->conn);
    d->store.conn = d->conn;
    d->store.table = OS_TABLE_LIVE;
    d->store.async_commit = 1; /* see os_pgproj_t: Kafka holds the events until re-read */
    return d;
}

void os_pgprojdb_free(os_pgprojdb_t *d)
{
    if (d == NULL)
        return;
    PQfinish(d->conn);
    free(d);
}

static int os_pgprojdb_session(void *self, char *err, size_t errlen)
{
    os_pgprojdb_t *d = self;
    if (PQstatus(d->conn) != CONNECTION_OK)
        PQreset(d->conn); /* keeps the notice routing: it is a setting of the PGconn */
    if (PQstatus(d->conn) != CONNECTION_OK)
        return pgx_fail(NULL, d->conn, "no connection to PostgreSQL", err, errlen);
    int pid = PQbackendPID(d->conn);
    if (pid == d->seen_pid)
        return 0;
    d->seen_pid = pid;
    return 1;
}

static int os_pgprojdb_ping(void *self)
{
    os_pgprojdb_t *d = self;
    if (PQstatus(d->conn) != CONNECTION_OK)
        return 0;
    PGresult *r = PQexec(d->conn, "SELECT 1");
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    return ok;
}

static int os_pgprojdb_offsets(void *self, const char *topic, os_offset_t *out, size_t cap, size_t *n,
                               char *err, size_t errlen)
{
    os_pgprojdb_t *d = self;
    return os_pgproj_load_offsets(d->conn, topic, out, cap, n, err, errlen);
}

/* Two statements in one transaction: the stored rows locked and read (the position before),
 * then the new offsets stored with the epoch bumped (a new row starts at epoch 1) and the
 * history written ($5: the old offsets, -1 none), the new epochs read back. */
static const char OS_SQL_MOVE_LOCK[] = "SELECT partition, next_offset FROM \"order\".projection_offsets "
                                       "WHERE topic = $1 AND partition = ANY($2::int[]) ORDER BY partition "
                                       "FOR UPDATE";
static const char OS_SQL_MOVE[] =
    "WITH u AS (SELECT * FROM unnest($2::int[], $3::bigint[], $5::bigint[]) AS u(p, o, f)), "
    "w AS (INSERT INTO \"order\".projection_offsets AS po (topic, partition, next_offset, epoch) "
    "SELECT $1, u.p, u.o, 1 FROM u ON CONFLICT (topic, partition) DO UPDATE SET next_offset = "
    "EXCLUDED.next_offset, epoch = po.epoch + 1, updated_at = now() RETURNING po.partition, "
    "po.next_offset, po.epoch), "
    "h AS (INSERT INTO \"order\".projection_moves (topic, partition, from_offset, to_offset, epoch, request) "
    "SELECT $1, w.partition, nullif(u.f, -1), w.next_offset, w.epoch, $4 FROM w JOIN u ON u.p = w.partition) "
    "SELECT w.partition, w.epoch FROM w";

static int os_pgprojdb_move(void *self, const char *topic, os_move_t *mv, size_t n, const char *request,
                            char *err, size_t errlen)
{
    os_pgprojdb_t *d = self;
    int rc = -1;
    dbuf_t p, o, f;
    PGresult *r = NULL;
    dbuf_init(&p, 1 << 20);
    dbuf_init(&o, 1 << 20);
    dbuf_init(&f, 1 << 20);
    if (os_pgarr_open(&p) || os_pgarr_open(&o))
        goto oom;
    for (size_t i = 0; i < n; i++)
        if (os_pgarr_int(&p, mv[i].partition) || os_pgarr_int(&o, mv[i].to))
            goto oom;
    if (os_pgarr_close(&p) || os_pgarr_close(&o))
        goto oom;
    /* the live session commits asynchronously; an operator's move is acknowledged only once
     * it is durable */
    if (pgx_exec(d->conn, "BEGIN; SET LOCAL synchronous_commit TO on", err, errlen) != 0)
        goto cleanup;
    const char *lv[2] = {topic, dbuf_ptr(&p)};
    r = PQexecParams(d->conn, OS_SQL_MOVE_LOCK, 2, NULL, lv, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pgx_fail(r, d->conn, "lock the stored position", err, errlen);
        r = NULL;
        goto rollback;
    }
    for (size_t i = 0; i < n; i++)
        mv[i].from = -1;
    for (int row = 0; row < PQntuples(r); row++) {
        int32_t part = (int32_t)strtol(PQgetvalue(r, row, 0), NULL, 10);
        for (size_t i = 0; i < n; i++)
            if (mv[i].partition == part)
                mv[i].from = strtoll(PQgetvalue(r, row, 1), NULL, 10);
    }
    PQclear(r);
    r = NULL;
    if (os_pgarr_open(&f) != 0)
        goto oom;
    for (size_t i = 0; i < n; i++)
        if (os_pgarr_int(&f, mv[i].from) != 0)
            goto oom;
    if (os_pgarr_close(&f) != 0)
        goto oom;
    const char *vals[5] = {topic, dbuf_ptr(&p), dbuf_ptr(&o), request, dbuf_ptr(&f)};
    r = PQexecParams(d->conn, OS_SQL_MOVE, 5, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pgx_fail(r, d->conn, "move the stored position", err, errlen);
        r = NULL;
        goto rollback;
    }
    for (int row = 0; row < PQntuples(r); row++) {
        int32_t part = (int32_t)strtol(PQgetvalue(r, row, 0), NULL, 10);
        for (size_t i = 0; i < n; i++)
            if (mv[i].partition == part)
                mv[i].epoch = strtoll(PQgetvalue(r, row, 1), NULL, 10);
    }
    if (pgx_exec(d->conn, "COMMIT", err, errlen) != 0)
        goto cleanup;
    rc = 0;
    goto cleanup;
oom:
    snprintf(err, errlen, "out of memory");
    PQclear(PQexec(d->conn, "ROLLBACK"));
    goto cleanup;
rollback:
    PQclear(PQexec(d->conn, "ROLLBACK"));
cleanup:
    PQclear(r);
    dbuf_free(&p);
    dbuf_free(&o);
    dbuf_free(&f);
    return rc;
}

os_projdb_port_t os_pgprojdb_port(os_pgprojdb_t *d)
{
    os_projdb_port_t p = {d,
                          os_pgproj_port(&d->store),
                          os_pgprojdb_session,
                          os_pgprojdb_ping,
                          os_pgprojdb_offsets,
                          os_pgprojdb_move};
    return p;
}
