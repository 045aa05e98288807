/* pg_projdb.c — the live projection's database session. See pg_projdb.h. */
#include "dataaccess/pg_projdb.h"

#include <stdio.h>
#include <stdlib.h>

#include <libpq-fe.h>

#include "dataaccess/pg_projstore.h"
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

os_projdb_port_t os_pgprojdb_port(os_pgprojdb_t *d)
{
    os_projdb_port_t p = {d, os_pgproj_port(&d->store), os_pgprojdb_session, os_pgprojdb_ping,
                          os_pgprojdb_offsets};
    return p;
}
