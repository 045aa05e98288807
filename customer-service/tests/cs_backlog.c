/* cs_backlog.c — writes a backlog of customer events straight into a customer-service database
 * for bench/cqrs-lag/peer's drain (not a test itself): --events N events, of them a share
 * --updates F full updates (first name and version) of the customers created before, the rest
 * creates, in transactions of --batch B events. Each transaction is one statement shaped as
 * the write path's (customer/dataaccess/customer_pgrepo.c): the customer rows and, in the same
 * statement, their customer.outbox rows, Avro-framed by the real codec (common/events/
 * evcodec.h), in the batch's order — so a trigger on customer.customers (the Debezium peer's
 * outbox) sees the same rows. The creates come first, then the updates, customer by customer
 * in rounds: every event of one customer is in a later transaction than its previous one.
 * Prints JSON: events, creates, updates, seconds, eventsPerSecond.
 *
 *   cs_backlog --pg "host=127.0.0.1 port=5433 user=postgres dbname=d" --events 1000000 --updates 0.5
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <uuid/uuid.h>

#include "dbuf.h"
#include "evcodec.h"

static const char SQL_CREATE[] =
    "WITH u AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]) WITH ORDINALITY AS u(id, un, p, n)),"
    " c AS (INSERT INTO customer.customers (id, username, first_name, last_name, version, created_at, "
    "updated_at)"
    " SELECT id, un, 'Drain', 'Backlog', 1, now(), now() FROM u ORDER BY n)"
    " INSERT INTO customer.outbox (aggregate_id, version, event_type, payload, occurred_at)"
    " SELECT id, 1, 'CREATED', decode(p, 'hex'), now() FROM u ORDER BY n";
static const char SQL_UPDATE[] =
    "WITH u AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::int8[], $4::text[])"
    " WITH ORDINALITY AS u(id, fn, v, p, n)),"
    " c AS (UPDATE customer.customers t SET first_name = u.fn, version = u.v, updated_at = now() FROM u"
    " WHERE t.id = u.id AND t.version = u.v - 1)"
    " INSERT INTO customer.outbox (aggregate_id, version, event_type, payload, occurred_at)"
    " SELECT id, v, 'UPDATED', decode(p, 'hex'), now() FROM u ORDER BY n";

typedef struct cust {
    char id[37];
    int64_t version;
} cust_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Appends the event's framed Avro as hex to the array literal `p`. 0 or -1. */
static int add_payload(const evcodec_t *codec, dbuf_t *p, const cust_t *c, const char *first, int64_t ms)
{
    char username[48];
    snprintf(username, sizeof username, "drain-%s", c->id);
    evcodec_customer_t ev = {.username = username,
                             .first_name = (char *)first,
                             .last_name = "Backlog",
                             .version = c->version,
                             .event_type = c->version == 1 ? EVCODEC_CREATED : EVCODEC_UPDATED,
                             .occurred_at_ms = ms};
    memcpy(ev.id, c->id, sizeof ev.id);
    unsigned char *out = NULL;
    size_t len = 0;
    if (evcodec_encode_customer(codec, &ev, &out, &len) != EVCODEC_OK)
        return -1;
    for (size_t i = 0; i < len; i++)
        dbuf_addf(p, "%02x", out[i]);
    free(out);
    return 0;
}

/* The batch's parameter arrays (array literals; every element free of quotes, commas, braces). */
typedef struct arrays {
    dbuf_t a[4];
} arrays_t;

/* Writes customers cs[(first + j) % ncs] for j < n as one transaction: creates (create) or
 * the next version of each. 0 or -1 (says why). */
static int write_batch(const evcodec_t *codec, PGconn *pg, arrays_t *v, cust_t *cs, long ncs, long first,
                       long n, int create, int64_t ms)
{
    dbuf_t *ids = &v->a[0], *names = &v->a[1], *vers = &v->a[2], *pays = create ? &v->a[2] : &v->a[3];
    for (int i = 0; i < 4; i++) {
        dbuf_reset(&v->a[i]);
        dbuf_adds(&v->a[i], "{");
    }
    for (long j = 0; j < n; j++) {
        cust_t *c = &cs[(first + j) % ncs];
        char fname[32];
        const char *sep = j ? "," : "";
        if (create) {
            uuid_t u;
            uuid_generate_random(u);
            uuid_unparse_lower(u, c->id);
        }
        c->version++;
        if (c->version == 1)
            snprintf(fname, sizeof fname, "Drain");
        else
            snprintf(fname, sizeof fname, "Drain%lld", (long long)c->version);
        dbuf_addf(ids, "%s%s", sep, c->id);
        if (create) {
            dbuf_addf(names, "%sdrain-%s", sep, c->id);
        } else {
            dbuf_addf(names, "%s%s", sep, fname);
            dbuf_addf(vers, "%s%lld", sep, (long long)c->version);
        }
        dbuf_adds(pays, sep);
        if (add_payload(codec, pays, c, fname, ms) != 0) {
            fprintf(stderr, "cs_backlog: the codec refused customer %s\n", c->id);
            return -1;
        }
    }
    for (int i = 0; i < 4; i++)
        dbuf_adds(&v->a[i], "}");
    const char *vals[4] = {dbuf_ptr(&v->a[0]), dbuf_ptr(&v->a[1]), dbuf_ptr(&v->a[2]), dbuf_ptr(&v->a[3])};
    PGresult *res =
        PQexecParams(pg, create ? SQL_CREATE : SQL_UPDATE, create ? 3 : 4, NULL, vals, NULL, NULL, 0);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "cs_backlog: %s", PQerrorMessage(pg));
    PQclear(res);
    return rc;
}

int main(int argc, char **argv)
{
    const char *conninfo = NULL;
    long events = 0, batch = 1000;
    double updates = 0.5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--pg") == 0)
            conninfo = argv[i + 1];
        else if (strcmp(argv[i], "--events") == 0)
            events = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--updates") == 0)
            updates = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--batch") == 0)
            batch = atol(argv[i + 1]);
    }
    if (conninfo == NULL || events <= 0 || batch <= 0 || updates < 0 || updates >= 1) {
        fprintf(stderr,
                "usage: cs_backlog --pg CONNINFO --events N [--updates F (0.5, < 1)] [--batch B (1000)]\n");
        return 2;
    }
    long ncreate = events - (long)((double)events * updates), nupdate = events - ncreate;
    if (ncreate < 1)
        ncreate = 1, nupdate = events - 1;
    if (batch > ncreate) /* a customer at most once a batch */
        batch = ncreate;
    char err[256];
    int rc = 1;
    evcodec_t *codec = evcodec_new_default(err, sizeof err);
    PGconn *pg = PQconnectdb(conninfo);
    cust_t *cs = calloc((size_t)ncreate, sizeof *cs);
    arrays_t v;
    for (int i = 0; i < 4; i++)
        dbuf_init(&v.a[i], 256 * (size_t)batch);
    if (codec == NULL || cs == NULL || PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "cs_backlog: %s\n", codec == NULL ? err : PQerrorMessage(pg));
        goto cleanup;
    }
    double t0 = now_s();
    int64_t ms = (int64_t)time(NULL) * 1000;
    for (long k = 0, n; k < ncreate; k += n) {
        n = ncreate - k < batch ? ncreate - k : batch;
        if (write_batch(codec, pg, &v, cs, ncreate, k, n, 1, ms) != 0)
            goto cleanup;
    }
    for (long k = 0, n; k < nupdate; k += n) { /* rounds over the customers, in creation order */
        n = nupdate - k < batch ? nupdate - k : batch;
        if (write_batch(codec, pg, &v, cs, ncreate, k % ncreate, n, 0, ms) != 0)
            goto cleanup;
    }
    double secs = now_s() - t0;
    printf("{\"events\":%ld,\"creates\":%ld,\"updates\":%ld,\"seconds\":%.2f,\"eventsPerSecond\":%.0f}\n",
           events, ncreate, nupdate, secs, secs > 0 ? (double)events / secs : 0.0);
    rc = 0;
cleanup:
    for (int i = 0; i < 4; i++)
        dbuf_free(&v.a[i]);
    free(cs);
    PQfinish(pg);
    evcodec_free(codec);
    return rc;
}
