/* outbox_pgstore.c — the outbox relay's store on PostgreSQL. See outbox_pgstore.h. */
#include "dataaccess/outbox_pgstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pgx.h"

#define STMT_FETCH "cs_relay_fetch"
#define CHANNEL "customer_outbox" /* the write path's trigger NOTIFYs it at each commit */
#define STMT_SAVE "cs_relay_save"

/* The rows past the position (in its gaps or above its top) in id order, the oldest running
 * transaction of the same snapshot (one row with NULL id when there are none), and the log's
 * insert position once the snapshot is taken: every row the snapshot sees was committed by a
 * record below it, so a standby that flushed up to it holds those rows. */
static const char SQL_FETCH[] =
    "SELECT h.xmin, o.id, o.aggregate_id::text, o.payload, (extract(epoch FROM o.occurred_at) * 1000)::int8,"
    " o.traceparent, h.lsn"
    " FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::int8 AS xmin,"
    " (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::int8 AS lsn) h"
    " LEFT JOIN LATERAL (SELECT id, aggregate_id, payload, occurred_at, traceparent FROM customer.outbox"
    " WHERE id > $1::int8 AND (id > $2::int8 OR $3::int8multirange @> id) ORDER BY id LIMIT $4::int) o ON "
    "true"
    " ORDER BY o.id";
/* Of the physical standbys (not logical decoding's senders): how many are connected, how many
 * show their flush position, how many stream, and how many of those have flushed up to $1.
 * Without pg_read_all_stats (pg_monitor) a role sees the rows but not their positions:
 * count(flush_lsn) tells that case apart. */
static const char SQL_STANDBYS[] =
    "SELECT count(*), count(r.flush_lsn), count(*) FILTER (WHERE r.state = 'streaming'),"
    " count(*) FILTER (WHERE r.state = 'streaming' AND r.flush_lsn - '0/0'::pg_lsn >= $1::numeric)"
    " FROM pg_stat_replication r"
    " WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots s WHERE s.active_pid = r.pid AND s.slot_type = "
    "'logical')";
/* One row, no index touched (a HOT update). */
static const char SQL_SAVE[] =
    "UPDATE customer.outbox_relay SET upto = $1::int8, top = $2::int8,"
    " gaps = $3::int8multirange, topic = $4, offsets = $5::int8[], updated_at = now()";

struct outbox_pgstore {
    const char *conninfo;
    const clog_t *log;
    PGconn *pg;
    PGresult *res;      /* the last fetch's or unpublished()'s rows (their buffers) */
    long long lsn;      /* the log's insert position at the last fetch (bytes from 0/0) */
    outbox_row_t *rows; /* views of res */
    int cap;
    outbox_gap_t *gaps; /* the last load()'s */
    int ngaps, capgaps;
    long long *offsets;
    int noffsets, capoffs;
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
    free(s->gaps);
    free(s->offsets);
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

/* The gaps as an int8multirange literal "{[1,3],[5,5]}" (malloc'd) or NULL (out of memory). */
static char *gaptext(const outbox_pos_t *p)
{
    size_t cap = (size_t)p->ngaps * 44 + 3, len = 0;
    char *t = malloc(cap);
    if (t == NULL)
        return NULL;
    t[len++] = '{';
    for (int i = 0; i < p->ngaps; i++)
        len +=
            (size_t)snprintf(t + len, cap - len, "%s[%lld,%lld]", i ? "," : "", p->gaps[i].lo, p->gaps[i].hi);
    t[len++] = '}';
    t[len] = '\0';
    return t;
}

static int prepare(outbox_pgstore_t *s, char *err, size_t errlen)
{
    PGresult *res = PQprepare(s->pg, STMT_FETCH, SQL_FETCH, 0, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return store_fail(s, res, "preparing statements failed", err, errlen);
    PQclear(res);
    res = PQprepare(s->pg, STMT_SAVE, SQL_SAVE, 0, NULL);
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
        /* With millions of retained rows the planner sees a third of the outbox behind each
         * `id > $1` (it cannot know the position is near the end), which cost this session
         * twice over:
         * - JIT: the backlog count (once a second) passed jit_above_cost and compiled ~50 ms
         *   of code for a 0.2 ms query;
         * - custom plans: the fetch's generic plan looked dearer than a custom one, so the
         *   plan cache planned it again at every call (0.12-0.16 ms a call vs 0.04-0.05 with
         *   3M rows: the relay's PostgreSQL CPU per event +40-90 % with 10M rows retained,
         *   bench/cqrs-lag/peer SCALE=1). The generic plans of its statements are index scans
         *   on the outbox's key at 10M rows too (the fetch, the takeover's read, the purge). */
        PQclear(PQexec(s->pg, "SET jit = off; SET plan_cache_mode = force_generic_plan"));
    }
    snprintf(k, sizeof k, "%lld", key);
    res = PQexecParams(s->pg, "SELECT pg_try_advisory_lock($1::bigint)", 1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return store_fail(s, res, "lock query failed", err, errlen);
    got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!got)
        return 0;
    /* The position may commit asynchronously: if the database crashes before flushing it,
     * the connection drops, and the next leader's takeover scan finds on the topic what was
     * published after the position it reads (no duplicates). The customer writes themselves
     * (other sessions) stay synchronous. */
    PQclear(PQexec(s->pg, "LISTEN " CHANNEL "; SET synchronous_commit = off"));
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

static int ops_listen(void *self, int on)
{
    outbox_pgstore_t *s = self;
    PGresult *r = PQexec(s->pg, on ? "LISTEN " CHANNEL : "UNLISTEN " CHANNEL);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok ? 0 : -1;
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

/* Parses "{[1,3),[5,6)}" (int8multirange's canonical text) into s->gaps. 0 or -1. */
static int parse_gaps(outbox_pgstore_t *s, const char *t)
{
    int n = 0;
    for (const char *c = t; *c; c++)
        n += *c == '[' || *c == '(';
    if (n > s->capgaps) {
        outbox_gap_t *g = realloc(s->gaps, (size_t)n * sizeof *g);
        if (g == NULL)
            return -1;
        s->gaps = g;
        s->capgaps = n;
    }
    s->ngaps = 0;
    for (const char *c = t; *c;) {
        if (*c != '[' && *c != '(') {
            c++;
            continue;
        }
        int lo_open = *c == '(';
        char *end;
        long long lo = strtoll(c + 1, &end, 10), hi;
        if (*end != ',')
            return -1;
        hi = strtoll(end + 1, &end, 10);
        if (*end != ')' && *end != ']')
            return -1;
        s->gaps[s->ngaps++] = (outbox_gap_t){lo + lo_open, *end == ')' ? hi - 1 : hi, 0};
        c = end + 1;
    }
    return 0;
}

/* Parses "1,2,-1" into s->offsets. 0 or -1. */
static int parse_offsets(outbox_pgstore_t *s, const char *t)
{
    int n = *t ? 1 : 0;
    for (const char *c = t; *c; c++)
        n += *c == ',';
    if (n > s->capoffs) {
        long long *o = realloc(s->offsets, (size_t)n * sizeof *o);
        if (o == NULL)
            return -1;
        s->offsets = o;
        s->capoffs = n;
    }
    s->noffsets = 0;
    for (const char *c = t; *c && s->noffsets < n;) {
        char *end;
        s->offsets[s->noffsets++] = strtoll(c, &end, 10);
        c = *end == ',' ? end + 1 : end;
        if (end == c && *c != '\0')
            return -1;
    }
    return 0;
}

static int ops_load(void *self, outbox_pos_t *pos, char *err, size_t errlen)
{
    outbox_pgstore_t *s = self;
    PQclear(s->res);
    s->res = PQexec(s->pg, "SELECT upto, top, gaps::text, topic, coalesce(array_to_string(offsets, ','), '')"
                           " FROM customer.outbox_relay");
    if (PQresultStatus(s->res) != PGRES_TUPLES_OK) {
        int rc = store_fail(s, s->res, "reading the relay's position failed", err, errlen);
        s->res = NULL;
        return rc;
    }
    memset(pos, 0, sizeof *pos);
    if (PQntuples(s->res) == 0) {
        /* no position stored (the row was deleted): every row is past it, and the takeover
         * scan finds on the topic what is there */
        PQclear(PQexec(s->pg,
                       "INSERT INTO customer.outbox_relay (upto, top) VALUES (0, 0) ON CONFLICT DO NOTHING"));
        return 0;
    }
    if (parse_gaps(s, PQgetvalue(s->res, 0, 2)) != 0 || parse_offsets(s, PQgetvalue(s->res, 0, 4)) != 0) {
        snprintf(err, errlen, "the relay's stored position does not parse: gaps %s, offsets %s",
                 PQgetvalue(s->res, 0, 2), PQgetvalue(s->res, 0, 4));
        return -1;
    }
    pos->upto = strtoll(PQgetvalue(s->res, 0, 0), NULL, 10);
    pos->top = strtoll(PQgetvalue(s->res, 0, 1), NULL, 10);
    pos->gaps = s->gaps;
    pos->ngaps = s->ngaps;
    pos->offsets = s->offsets;
    pos->noffsets = s->noffsets;
    pos->topic = PQgetisnull(s->res, 0, 3) ? NULL : PQgetvalue(s->res, 0, 3);
    return 0;
}

static int ops_save(void *self, const outbox_pos_t *pos, char *err, size_t errlen)
{
    outbox_pgstore_t *s = self;
    char upto[24], top[24], *gaps = gaptext(pos), *offs = idarr(pos->offsets, pos->noffsets);
    const char *vals[5] = {upto, top, gaps, pos->topic, offs};
    int rc = 0;
    if (gaps == NULL || offs == NULL) {
        free(gaps);
        free(offs);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(upto, sizeof upto, "%lld", pos->upto);
    snprintf(top, sizeof top, "%lld", pos->top);
    PGresult *res = PQexecPrepared(s->pg, STMT_SAVE, 5, vals, NULL, NULL, 0);
    free(gaps);
    free(offs);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = store_fail(s, res, "storing the relay's position failed", err, errlen);
    else
        PQclear(res);
    return rc;
}

static int ops_fetch(void *self, const outbox_pos_t *pos, int limit, const outbox_row_t **rows,
                     long long *xmin, char *err, size_t errlen)
{
    outbox_pgstore_t *s = self;
    char lim[16], upto[24], top[24], *gaps = gaptext(pos);
    const char *vals[4] = {upto, top, gaps, lim};
    int n;
    PQclear(s->res);
    s->res = NULL;
    if (gaps == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(lim, sizeof lim, "%d", limit);
    snprintf(upto, sizeof upto, "%lld", pos->upto);
    snprintf(top, sizeof top, "%lld", pos->top);
    s->res = PQexecPrepared(s->pg, STMT_FETCH, 4, vals, NULL, NULL, 1);
    free(gaps);
    if (PQresultStatus(s->res) != PGRES_TUPLES_OK || PQntuples(s->res) < 1) {
        int rc = store_fail(s, s->res, "reading the outbox failed", err, errlen);
        s->res = NULL;
        return rc;
    }
    *xmin = be64(PQgetvalue(s->res, 0, 0));
    s->lsn = be64(PQgetvalue(s->res, 0, 6));
    n = PQgetisnull(s->res, 0, 1) ? 0 : PQntuples(s->res);
    if (rows_room(s, n) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        int null = PQgetisnull(s->res, i, 3);
        s->rows[i] = (outbox_row_t){be64(PQgetvalue(s->res, i, 1)),
                                    PQgetvalue(s->res, i, 2),
                                    (size_t)PQgetlength(s->res, i, 2),
                                    null ? NULL : PQgetvalue(s->res, i, 3),
                                    null ? 0 : (size_t)PQgetlength(s->res, i, 3),
                                    be64(PQgetvalue(s->res, i, 4)),
                                    PQgetisnull(s->res, i, 5) ? NULL : PQgetvalue(s->res, i, 5)};
    }
    *rows = s->rows;
    return n;
}

static int ops_standbys_have(void *self, int n, char *err, size_t errlen)
{
    outbox_pgstore_t *s = self;
    char lsn[24];
    const char *vals[1] = {lsn};
    long long all, shown, streaming, have;
    PGresult *res;
    snprintf(lsn, sizeof lsn, "%lld", s->lsn);
    res = PQexecParams(s->pg, SQL_STANDBYS, 1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return store_fail(s, res, "reading pg_stat_replication failed", err, errlen);
    all = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    shown = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    streaming = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    have = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    PQclear(res);
    if (all > 0 && shown == 0)
        snprintf(err, errlen,
                 "pg_stat_replication hides the standbys' flush positions from this database role: grant it "
                 "pg_monitor (or pg_read_all_stats)");
    else if (have >= n || have >= streaming)
        return 1;
    else
        snprintf(err, errlen,
                 "%lld of the %lld streaming standby(s) have flushed the log to %X/%X (%d wanted)", have,
                 streaming, (unsigned)((unsigned long long)s->lsn >> 32), (unsigned)s->lsn, n);
    return 0;
}

static long long ops_probe(void *self)
{
    outbox_pgstore_t *s = self;
    long long x = -1;
    PGresult *res = PQexec(s->pg, "SELECT pg_current_xact_id()::text::int8");
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        x = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return x;
}

static long long ops_backlog(void *self)
{
    outbox_pgstore_t *s = self;
    long long n = -1;
    PGresult *res = PQexec(s->pg, "SELECT count(*) FROM customer.outbox_pending");
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

/* The retention cut: below the oldest row still young enough (ids grow with time), and never
 * past the position. Visits only the rows it deletes (and the first one it keeps). */
static long long ops_purge(void *self, long long upto, long long retention_ms)
{
    outbox_pgstore_t *s = self;
    char ms[24], up[24];
    const char *vals[2] = {up, ms};
    long long n = -1;
    snprintf(ms, sizeof ms, "%lld", retention_ms);
    snprintf(up, sizeof up, "%lld", upto);
    PGresult *res =
        PQexecParams(s->pg,
                     "DELETE FROM customer.outbox WHERE id <= $1::int8 AND id < coalesce("
                     "(SELECT min(id) FROM customer.outbox"
                     " WHERE occurred_at >= now() - $2::bigint * interval '1 millisecond'), $1::int8 + 1)",
                     2, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_COMMAND_OK)
        n = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return n;
}

static int ops_unpublished(void *self, const outbox_pos_t *pos, const outbox_row_t **rows, char *err,
                           size_t errlen)
{
    outbox_pgstore_t *s = self;
    char upto[24], top[24], *gaps = gaptext(pos);
    const char *vals[3] = {upto, top, gaps};
    int n;
    PQclear(s->res);
    s->res = NULL;
    if (gaps == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(upto, sizeof upto, "%lld", pos->upto);
    snprintf(top, sizeof top, "%lld", pos->top);
    s->res = PQexecParams(s->pg,
                          "SELECT id, aggregate_id::text FROM customer.outbox WHERE id > $1::int8"
                          " AND (id > $2::int8 OR $3::int8multirange @> id) ORDER BY id",
                          3, NULL, vals, NULL, NULL, 0);
    free(gaps);
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
                                    0,
                                    NULL};
    *rows = s->rows;
    return n;
}

static const outbox_store_ops_t pgstore_ops = {.lead = ops_lead,
                                               .connected = ops_connected,
                                               .close = ops_close,
                                               .socket = ops_socket,
                                               .notified = ops_notified,
                                               .listen = ops_listen,
                                               .load = ops_load,
                                               .save = ops_save,
                                               .fetch = ops_fetch,
                                               .probe = ops_probe,
                                               .backlog = ops_backlog,
                                               .purge = ops_purge,
                                               .standbys_have = ops_standbys_have,
                                               .unpublished = ops_unpublished};

outbox_store_t outbox_pgstore_port(outbox_pgstore_t *s)
{
    return (outbox_store_t){&pgstore_ops, s};
}
