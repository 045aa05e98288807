/* pg_rebuild.c — the rebuild's store on PostgreSQL. See pg_rebuild.h. */
#include "dataaccess/pg_rebuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "dataaccess/pg_projstore.h"
#include "dataaccess/vcache.h"
#include "pgx.h"

struct os_pgrebuild {
    const char *conninfo;
    const clog_t *log;
    PGconn *conn;      /* while open */
    os_pgproj_t store; /* into the shadow table */
};

os_pgrebuild_t *os_pgrebuild_new(const char *conninfo, const clog_t *log)
{
    os_pgrebuild_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->conninfo = conninfo;
    s->log = log;
    return s;
}

static void os_pgrb_close(void *self)
{
    os_pgrebuild_t *s = self;
    PQfinish(s->conn);
    s->conn = NULL;
    os_vcache_free(s->store.cache);
    memset(&s->store, 0, sizeof s->store);
}

void os_pgrebuild_free(os_pgrebuild_t *s)
{
    if (s == NULL)
        return;
    os_pgrb_close(s);
    free(s);
}

/* Runs sql (no parameters; ';'-separated statements allowed). 0, or -1 with err "what: …". */
static int os_pgrb_cmd(PGconn *c, const char *sql, const char *what, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        return pgx_fail(r, c, what, err, errlen);
    PQclear(r);
    return 0;
}

static void os_pg_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* "table does not exist, skipping" and the like */
}

static int os_pgrb_drop_shadow(PGconn *c, char *err, size_t errlen)
{
    PQnoticeProcessor old = PQsetNoticeProcessor(c, os_pg_quiet, NULL);
    int rc = os_pgrb_cmd(c, "DROP TABLE IF EXISTS " OS_TABLE_SHADOW, "drop shadow", err, errlen);
    PQsetNoticeProcessor(c, old, NULL);
    return rc;
}

static int os_pgrb_open(void *self, char *err, size_t errlen)
{
    os_pgrebuild_t *s = self;
    os_pgrb_close(s);
    s->conn = pgx_connect(s->conninfo, 10, s->log);
    if (s->conn == NULL) {
        snprintf(err, errlen, "cannot connect to PostgreSQL");
        return -1;
    }
    s->store.conn = s->conn;
    s->store.table = OS_TABLE_SHADOW;
    s->store.cache = os_vcache_new();
    if (s->store.cache == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* one rebuild at a time per database; the session lock goes away with the connection */
    PGresult *lk = PQexec(s->conn, "SELECT pg_try_advisory_lock(hashtext('order-service rebuild'))");
    int locked = PQresultStatus(lk) == PGRES_TUPLES_OK && strcmp(PQgetvalue(lk, 0, 0), "t") == 0;
    PQclear(lk);
    if (!locked) {
        snprintf(err, errlen, "another rebuild of the read model is running");
        return -1;
    }
    /* the shadow is throw-away until the swap: no need to wait for WAL flushes; UNLOGGED
     * while it is filled (no WAL), made LOGGED before the swap */
    if (pgx_exec(s->conn, "SET synchronous_commit TO off", err, errlen) != 0 ||
        os_pgrb_drop_shadow(s->conn, err, errlen) != 0 ||
        os_pgrb_cmd(s->conn,
                    "CREATE UNLOGGED TABLE " OS_TABLE_SHADOW " (LIKE " OS_TABLE_LIVE
                    " INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)",
                    "create shadow", err, errlen) != 0)
        return -1;
    return 0;
}

static os_projstore_port_t os_pgrb_shadow(void *self)
{
    return os_pgproj_port(&((os_pgrebuild_t *)self)->store);
}

static int os_pgrb_set_logged(void *self, char *err, size_t errlen)
{
    os_pgrebuild_t *s = self;
    return os_pgrb_cmd(s->conn, "ALTER TABLE " OS_TABLE_SHADOW " SET LOGGED", "shadow set logged", err,
                       errlen);
}

static int os_pgrb_swap_begin(void *self, const char *topic, os_offset_t *out, size_t cap, size_t *n,
                              char *err, size_t errlen)
{
    os_pgrebuild_t *s = self;
    *n = 0;
    if (pgx_exec(s->conn, "SET synchronous_commit TO on", err, errlen) != 0 ||
        pgx_exec(s->conn, "BEGIN", err, errlen) != 0)
        return -1;
    s->store.nested = 1; /* the catch-up's batches are savepoints of the swap transaction */
    /* waits for the live projector's batch; it pauses until the swap commits (reads go on) */
    if (os_pgrb_cmd(s->conn, "LOCK TABLE " OS_TABLE_LIVE ", \"order\".projection_offsets IN EXCLUSIVE MODE",
                    "lock live table", err, errlen) != 0)
        return -1;
    return os_pgproj_load_offsets(s->conn, topic, out, cap, n, err, errlen);
}

static int os_pgrb_swap_commit(void *self, uint64_t *rows, char *err, size_t errlen)
{
    os_pgrebuild_t *s = self;
    if (os_pgrb_cmd(s->conn,
                    "LOCK TABLE " OS_TABLE_LIVE " IN ACCESS EXCLUSIVE MODE; "
                    "ALTER TABLE " OS_TABLE_LIVE " RENAME TO customers_old; "
                    "ALTER INDEX \"order\".customers_pkey RENAME TO customers_old_pkey; "
                    "ALTER TABLE " OS_TABLE_SHADOW " RENAME TO customers; "
                    "ALTER INDEX \"order\".customers_rebuild_pkey RENAME TO customers_pkey; "
                    "DROP TABLE \"order\".customers_old",
                    "swap tables", err, errlen) != 0)
        return -1;
    PGresult *res = PQexec(s->conn, "SELECT count(*) FROM " OS_TABLE_LIVE);
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        *rows = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return pgx_exec(s->conn, "COMMIT", err, errlen);
}

static void os_pgrb_abort(void *self)
{
    os_pgrebuild_t *s = self;
    char e2[256];
    if (s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK)
        return;
    if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
        PQclear(PQexec(s->conn, "ROLLBACK"));
    os_pgrb_drop_shadow(s->conn, e2, sizeof e2);
}

os_rebuild_store_port_t os_pgrebuild_port(os_pgrebuild_t *s)
{
    os_rebuild_store_port_t p = {s,
                                 os_pgrb_open,
                                 os_pgrb_shadow,
                                 os_pgrb_set_logged,
                                 os_pgrb_swap_begin,
                                 os_pgrb_swap_commit,
                                 os_pgrb_abort,
                                 os_pgrb_close};
    return p;
}
