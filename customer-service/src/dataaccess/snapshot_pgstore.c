/* snapshot_pgstore.c — the operations' store on PostgreSQL: re-publishing customers through
 * customer.outbox, the outbox backlog, the checksum of id ranges. See snapshot_pgstore.h. */
#include "dataaccess/snapshot_pgstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "dbuf.h"
#include "pgx.h"
#include "pgx_checksum.h"

#define SNAP_WAIT_MS 5000
#define SNAP_ARR_CAP ((size_t)1 << 30)

/* (ORDER BY c.id, not id: an output column named id is the text, and would sort as text) */
#define SNAP_COLS                                                                                            \
    "SELECT c.id::text, c.username, c.first_name, c.last_name, c.version,"                                   \
    " (extract(epoch FROM c.created_at) * 1000)::int8, (extract(epoch FROM c.updated_at) * 1000)::int8"      \
    " FROM customer.customers c "

/* A range batch ($1 NULL: from the first id; $2 < 0: no since filter), or the asked ids;
 * locked FOR SHARE. */
static const char SQL_RANGE[] =
    SNAP_COLS "WHERE c.id > coalesce($1::uuid, '00000000-0000-0000-0000-000000000000')"
              " AND ($2::int8 < 0 OR c.updated_at >= to_timestamp($2::int8 / 1000.0))"
              " ORDER BY c.id LIMIT $3::int FOR SHARE";
static const char SQL_IDS[] = SNAP_COLS "WHERE c.id = ANY($1::uuid[]) ORDER BY c.id FOR SHARE";
/* One outbox row per array element, in array order (so in id order). */
static const char SQL_OUTBOX[] =
    "INSERT INTO customer.outbox (aggregate_id, version, event_type, payload, occurred_at)"
    " SELECT u.id, u.v, u.t, u.p, now() FROM unnest($1::uuid[], $2::int8[], $3::text[], $4::bytea[])"
    " WITH ORDINALITY AS u(id, v, t, p, n) ORDER BY u.n";
static const char SQL_BACKLOG[] = "SELECT count(*) FROM customer.outbox_pending";

static PGconn *snap_conn(snapshot_pgstore_t *s, char *err, size_t errlen)
{
    PGconn *c = pgpool_get(s->pool, SNAP_WAIT_MS);
    if (c == NULL)
        snprintf(err, errlen, "the database is unavailable (no connection within %d ms)", SNAP_WAIT_MS);
    return c;
}

/* The outbox rows being built: four array literals. */
typedef struct snap_arrays {
    dbuf_t id, ver, type, payload;
    int n;
} snap_arrays_t;

static void snap_arrays_init(snap_arrays_t *a)
{
    dbuf_init(&a->id, SNAP_ARR_CAP);
    dbuf_init(&a->ver, SNAP_ARR_CAP);
    dbuf_init(&a->type, SNAP_ARR_CAP);
    dbuf_init(&a->payload, SNAP_ARR_CAP);
    a->n = 0;
}

static void snap_arrays_free(snap_arrays_t *a)
{
    dbuf_free(&a->id);
    dbuf_free(&a->ver);
    dbuf_free(&a->type);
    dbuf_free(&a->payload);
}

/* Appends one row: payload NULL = a tombstone. 0 or -1 (out of memory). */
static int snap_arrays_add(snap_arrays_t *a, const char *id, long long version, const char *type,
                           const unsigned char *payload, size_t len)
{
    const char *sep = a->n ? "," : "{";
    if (dbuf_addf(&a->id, "%s%s", sep, id) || dbuf_addf(&a->ver, "%s%lld", sep, version) ||
        dbuf_addf(&a->type, "%s%s", sep, type) || dbuf_adds(&a->payload, sep))
        return -1;
    if (payload == NULL) {
        if (dbuf_adds(&a->payload, "NULL"))
            return -1;
    } else {
        /* "\\x…" inside an array literal is the bytea hex form \x… */
        if (dbuf_adds(&a->payload, "\"\\\\x"))
            return -1;
        for (size_t i = 0; i < len; i++) {
            static const char hex[] = "0123456789abcdef";
            char h[2] = {hex[payload[i] >> 4], hex[payload[i] & 15]};
            if (dbuf_add(&a->payload, h, 2))
                return -1;
        }
        if (dbuf_adds(&a->payload, "\""))
            return -1;
    }
    a->n++;
    return 0;
}

static int snap_arrays_close(snap_arrays_t *a)
{
    return dbuf_adds(&a->id, "}") || dbuf_adds(&a->ver, "}") || dbuf_adds(&a->type, "}") ||
                   dbuf_adds(&a->payload, "}")
               ? -1
               : 0;
}

/* The customer of row i of r. */
static void snap_row(PGresult *r, int i, customer_t *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", PQgetvalue(r, i, 0));
    snprintf(c->username, sizeof c->username, "%s", PQgetvalue(r, i, 1));
    snprintf(c->first_name, sizeof c->first_name, "%s", PQgetvalue(r, i, 2));
    snprintf(c->last_name, sizeof c->last_name, "%s", PQgetvalue(r, i, 3));
    c->version = strtoll(PQgetvalue(r, i, 4), NULL, 10);
    c->created_at_ms = strtoll(PQgetvalue(r, i, 5), NULL, 10);
    c->updated_at_ms = strtoll(PQgetvalue(r, i, 6), NULL, 10);
}

/* `ids` as a uuid array literal into b. */
static int snap_ids_literal(dbuf_t *b, const char *const *ids, size_t n)
{
    if (dbuf_adds(b, "{"))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (dbuf_addf(b, "%s%s", i ? "," : "", ids[i]))
            return -1;
    return dbuf_adds(b, "}");
}

/* Selects and locks the query's rows (inside the caller's transaction). Owned result or NULL. */
static PGresult *snap_select(PGconn *c, const snap_query_t *q, dbuf_t *idarr, char *err, size_t errlen)
{
    char since[24], lim[16];
    PGresult *r;
    if (q->ids != NULL) {
        if (snap_ids_literal(idarr, q->ids, q->nids) != 0) {
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
        const char *vals[1] = {dbuf_ptr(idarr)};
        r = PQexecParams(c, SQL_IDS, 1, NULL, vals, NULL, NULL, 0);
    } else {
        snprintf(since, sizeof since, "%lld", (long long)(q->since_ms < 0 ? -1 : q->since_ms));
        snprintf(lim, sizeof lim, "%d", q->limit);
        const char *vals[3] = {q->after, since, lim};
        r = PQexecParams(c, SQL_RANGE, 3, NULL, vals, NULL, NULL, 0);
    }
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pgx_fail(r, c, "select customers", err, errlen);
        return NULL;
    }
    return r;
}

static int snap_publish(void *self, const snap_query_t *q, snap_encode_fn enc, void *enc_self,
                        snap_result_t *out, char *err, size_t errlen)
{
    snapshot_pgstore_t *s = self;
    PGresult *r = NULL, *w = NULL;
    snap_arrays_t a;
    dbuf_t idarr;
    int rc = -1, in_tx = 0;
    memset(out, 0, sizeof *out);
    snap_arrays_init(&a);
    dbuf_init(&idarr, SNAP_ARR_CAP);
    PGconn *c = snap_conn(s, err, errlen);
    if (c == NULL)
        goto cleanup;
    if (pgx_exec(c, "BEGIN", err, errlen) != 0)
        goto cleanup;
    in_tx = 1;
    r = snap_select(c, q, &idarr, err, errlen);
    if (r == NULL)
        goto cleanup;
    for (int i = 0; i < PQntuples(r); i++) {
        customer_t cu;
        unsigned char *payload = NULL;
        size_t len = 0;
        snap_row(r, i, &cu);
        if (enc(enc_self, &cu, &payload, &len) != 0) {
            snprintf(err, errlen, "could not encode the event of customer %s", cu.id);
            goto cleanup;
        }
        int bad = snap_arrays_add(&a, cu.id, (long long)cu.version, cu.version == 1 ? "CREATED" : "UPDATED",
                                  payload, len);
        free(payload);
        if (bad)
            goto oom;
        snprintf(out->last_id, sizeof out->last_id, "%s", cu.id);
        out->rows++;
    }
    for (size_t k = 0; q->ids != NULL && k < q->nids; k++) {
        int found = 0;
        for (int i = 0; i < PQntuples(r) && !found; i++)
            found = strcmp(PQgetvalue(r, i, 0), q->ids[k]) == 0;
        if (found)
            continue;
        if (out->missing < SNAP_MISSING_SHOWN)
            snprintf(out->missing_ids[out->missing], sizeof out->missing_ids[0], "%s", q->ids[k]);
        out->missing++;
        if (!q->tombstones)
            continue;
        if (snap_arrays_add(&a, q->ids[k], 0, "DELETED", NULL, 0) != 0)
            goto oom;
        out->tombstones++;
    }
    if (a.n > 0) {
        if (snap_arrays_close(&a) != 0)
            goto oom;
        const char *vals[4] = {dbuf_ptr(&a.id), dbuf_ptr(&a.ver), dbuf_ptr(&a.type), dbuf_ptr(&a.payload)};
        w = PQexecParams(c, SQL_OUTBOX, 4, NULL, vals, NULL, NULL, 0);
        if (PQresultStatus(w) != PGRES_COMMAND_OK) {
            pgx_fail(w, c, "insert the outbox rows", err, errlen);
            w = NULL;
            goto cleanup;
        }
    }
    if (pgx_exec(c, "COMMIT", err, errlen) != 0)
        goto cleanup;
    in_tx = 0;
    rc = 0;
    goto cleanup;
oom:
    snprintf(err, errlen, "out of memory building the outbox rows");
cleanup:
    if (in_tx && c != NULL && PQstatus(c) == CONNECTION_OK)
        PQclear(PQexec(c, "ROLLBACK"));
    PQclear(r);
    PQclear(w);
    if (c != NULL)
        pgpool_put(s->pool, c, PQstatus(c) != CONNECTION_OK);
    snap_arrays_free(&a);
    dbuf_free(&idarr);
    return rc;
}

static long long snap_backlog(void *self)
{
    snapshot_pgstore_t *s = self;
    char err[128];
    long long n = -1;
    PGconn *c = snap_conn(s, err, sizeof err);
    if (c == NULL)
        return -1;
    PGresult *r = PQexec(c, SQL_BACKLOG);
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    pgpool_put(s->pool, c, PQstatus(c) != CONNECTION_OK);
    return n;
}

static int snap_checksum(void *self, const char *from, const char *to, snap_sum_t *out, snap_sum_row_t *rows,
                         int cap, int *nrows, char *err, size_t errlen)
{
    snapshot_pgstore_t *s = self;
    pgx_checksum_t sum;
    int rc = -1;
    pgx_checksum_row_t *pr = NULL;
    PGconn *c = snap_conn(s, err, errlen);
    if (c == NULL)
        return -1;
    if (pgx_checksum(c, "customer.customers", from, to, &sum, err, errlen) != 0)
        goto cleanup;
    out->count = sum.count;
    snprintf(out->hash, sizeof out->hash, "%s", sum.hash);
    if (nrows != NULL)
        *nrows = 0;
    if (rows != NULL && cap > 0) {
        pr = calloc((size_t)cap, sizeof *pr);
        if (pr == NULL) {
            snprintf(err, errlen, "out of memory");
            goto cleanup;
        }
        if (pgx_checksum_rows(c, "customer.customers", from, to, cap, pr, nrows, err, errlen) != 0)
            goto cleanup;
        for (int i = 0; i < *nrows; i++) {
            snprintf(rows[i].id, sizeof rows[i].id, "%s", pr[i].id);
            rows[i].version = pr[i].version;
            snprintf(rows[i].hash, sizeof rows[i].hash, "%s", pr[i].hash);
        }
    }
    rc = 0;
cleanup:
    free(pr);
    pgpool_put(s->pool, c, PQstatus(c) != CONNECTION_OK);
    return rc;
}

static const snapshot_store_ops_t snap_ops = {snap_publish, snap_backlog, snap_checksum};

snapshot_store_t snapshot_pgstore_port(snapshot_pgstore_t *s)
{
    return (snapshot_store_t){&snap_ops, s};
}
