/* pg_redrive.c — the dead-letter redrive's transactions on PostgreSQL. See pg_redrive.h. */
#include "dataaccess/pg_redrive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "dataaccess/pg_projstore.h"
#include "pgx.h"

#define OS_RD_WAIT_MS 5000

static const char SQL_CLAIM[] =
    "INSERT INTO \"order\".dlq_redrives (dlq_topic, partition, \"offset\", outcome) "
    "VALUES ($1, $2::int, $3::int8, 'claimed') ON CONFLICT DO NOTHING RETURNING 1";
static const char SQL_PREV[] =
    "SELECT outcome || CASE WHEN detail <> '' THEN ' (' || detail || ')' ELSE '' END || ' at ' || "
    "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM \"order\".dlq_redrives "
    "WHERE dlq_topic = $1 AND partition = $2::int AND \"offset\" = $3::int8";
static const char SQL_RECORD[] =
    "UPDATE \"order\".dlq_redrives SET customer_id = $4::uuid, version = $5::int8, "
    "outcome = $6, detail = $7, at = now() WHERE dlq_topic = $1 AND "
    "partition = $2::int AND \"offset\" = $3::int8";

/* One record's transaction. */
typedef struct os_rdtx {
    pgpool_t *pool;
    PGconn *conn;
    os_pgproj_t proj; /* the projection's store, nested in this transaction */
} os_rdtx_t;

static void os_rd_release(os_rdtx_t *t, int broken)
{
    pgpool_put(t->pool, t->conn, broken || PQstatus(t->conn) != CONNECTION_OK);
    free(t);
}

/* Runs `sql` with `n` text parameters in the transaction: the result (caller clears) or NULL
 * (err). */
static PGresult *os_rd_exec(os_rdtx_t *t, const char *sql, int n, const char *const *vals, const char *what,
                            char *err, size_t errlen)
{
    PGresult *r = PQexecParams(t->conn, sql, n, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
        pgx_fail(r, t->conn, what, err, errlen);
        return NULL;
    }
    return r;
}

static void *os_rd_begin(void *self, char *err, size_t errlen)
{
    os_rdtx_t *t = calloc(1, sizeof *t);
    if (t == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->pool = self;
    t->conn = pgpool_get(t->pool, OS_RD_WAIT_MS);
    if (t->conn == NULL) {
        snprintf(err, errlen, "the database is unavailable (no connection within %d ms)", OS_RD_WAIT_MS);
        free(t);
        return NULL;
    }
    t->proj.conn = t->conn;
    t->proj.table = OS_TABLE_LIVE;
    t->proj.nested = 1;
    /* the statements are prepared before BEGIN: preparing one this session already has
     * fails, which inside the transaction would abort it */
    if (os_pgproj_prepare(&t->proj, err, errlen) != 0 || pgx_exec(t->conn, "BEGIN", err, errlen) != 0) {
        os_rd_release(t, 1);
        return NULL;
    }
    return t;
}

static int os_rd_claim(void *tx, const char *topic, int32_t partition, int64_t offset, char *prev,
                       size_t prevlen, char *err, size_t errlen)
{
    char p[16], o[24];
    snprintf(p, sizeof p, "%d", (int)partition);
    snprintf(o, sizeof o, "%lld", (long long)offset);
    const char *vals[3] = {topic, p, o};
    PGresult *r = os_rd_exec(tx, SQL_CLAIM, 3, vals, "claim the dead-letter record", err, errlen);
    if (r == NULL)
        return -1;
    int claimed = PQntuples(r) == 1;
    PQclear(r);
    if (claimed)
        return 1;
    r = os_rd_exec(tx, SQL_PREV, 3, vals, "read the record's earlier outcome", err, errlen);
    if (r == NULL)
        return -1;
    snprintf(prev, prevlen, "%s", PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return 0;
}

static os_projstore_port_t os_rd_store(void *tx)
{
    os_rdtx_t *t = tx;
    os_projstore_port_t p = os_pgproj_port(&t->proj);
    p.save_offsets = NULL; /* a redrive moves no position */
    return p;
}

static int os_rd_record(void *tx, const char *topic, int32_t partition, int64_t offset, const char *id,
                        int64_t version, const char *outcome, const char *detail, char *err, size_t errlen)
{
    char p[16], o[24], v[24];
    snprintf(p, sizeof p, "%d", (int)partition);
    snprintf(o, sizeof o, "%lld", (long long)offset);
    snprintf(v, sizeof v, "%lld", (long long)version);
    const char *vals[7] = {topic,
                           p,
                           o,
                           id != NULL && id[0] ? id : NULL,
                           version > 0 ? v : NULL,
                           outcome,
                           detail != NULL ? detail : ""};
    PGresult *r = os_rd_exec(tx, SQL_RECORD, 7, vals, "record the outcome", err, errlen);
    PQclear(r);
    return r != NULL ? 0 : -1;
}

static int os_rd_commit(void *tx, char *err, size_t errlen)
{
    os_rdtx_t *t = tx;
    PGresult *r = PQexec(t->conn, "COMMIT");
    int rc = 0;
    /* COMMIT of an aborted transaction answers ROLLBACK with status OK */
    if (PQresultStatus(r) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(r), "COMMIT") != 0) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            pgx_fail(r, t->conn, "commit", err, errlen), r = NULL;
        else
            snprintf(err, errlen, "commit: the transaction was rolled back");
        rc = -1;
    }
    PQclear(r);
    if (rc != 0 && PQtransactionStatus(t->conn) != PQTRANS_IDLE)
        PQclear(PQexec(t->conn, "ROLLBACK"));
    os_rd_release(t, 0);
    return rc;
}

static void os_rd_rollback(void *tx)
{
    os_rdtx_t *t = tx;
    if (t == NULL)
        return;
    if (PQstatus(t->conn) == CONNECTION_OK && PQtransactionStatus(t->conn) != PQTRANS_IDLE)
        PQclear(PQexec(t->conn, "ROLLBACK"));
    os_rd_release(t, 0);
}

os_redrive_store_port_t os_pgredrive_port(pgpool_t *pool)
{
    os_redrive_store_port_t p = {pool,         os_rd_begin,  os_rd_claim,   os_rd_store,
                                 os_rd_record, os_rd_commit, os_rd_rollback};
    return p;
}
