/* pg_repos.c — "order".customers lookups and "order".orders persistence. See pg_repos.h. */
#include "dataaccess/pg_repos.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataaccess/pgarr.h"
#include "dbuf.h"
#include "pgx.h"

/* How long a request waits for a pooled connection before answering 503. */
#define OS_PG_WAIT_MS 5000

static int os_pg_unavailable(char *err, size_t errlen)
{
    snprintf(err, errlen, "the database is unavailable (no connection within %d ms)", OS_PG_WAIT_MS);
    return -1;
}

static int os_pg_get_customer(void *self, const char *id, os_customer_t *out, char *err, size_t errlen)
{
    pgpool_t *pool = self;
    PGconn *c = pgpool_get(pool, OS_PG_WAIT_MS);
    if (c == NULL)
        return os_pg_unavailable(err, errlen);
    const char *vals[1] = {id};
    int rc = -1;
    PGresult *r = PQexecParams(c,
                               "SELECT id::text, username, first_name, last_name, version, "
                               "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
                               "FROM \"order\".customers WHERE id = $1::uuid",
                               1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pgx_fail(r, c, "read customer", err, errlen);
        goto cleanup;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        rc = 0;
        goto cleanup;
    }
    snprintf(out->id, sizeof out->id, "%s", PQgetvalue(r, 0, 0));
    out->username = strdup(PQgetvalue(r, 0, 1));
    out->first_name = strdup(PQgetvalue(r, 0, 2));
    out->last_name = strdup(PQgetvalue(r, 0, 3));
    out->version = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
    snprintf(out->updated_at, sizeof out->updated_at, "%s", PQgetvalue(r, 0, 5));
    PQclear(r);
    if (out->username == NULL || out->first_name == NULL || out->last_name == NULL) {
        os_customer_clear(out);
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    rc = 1;
cleanup:
    pgpool_put(pool, c, rc < 0 && PQstatus(c) != CONNECTION_OK);
    return rc;
}

os_readmodel_port_t os_pg_readmodel_port(pgpool_t *pool)
{
    os_readmodel_port_t p = {pool, os_pg_get_customer};
    return p;
}

static int os_pg_exec(PGconn *c, const char *sql, int np, const char *const *vals, const char *what,
                      char *err, size_t errlen)
{
    PGresult *r = PQexecParams(c, sql, np, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return pgx_fail(r, c, what, err, errlen);
    PQclear(r);
    return 0;
}

static int os_pg_save_order(void *self, const order_t *o, char *err, size_t errlen)
{
    pgpool_t *pool = self;
    PGconn *c = pgpool_get(pool, OS_PG_WAIT_MS);
    if (c == NULL)
        return os_pg_unavailable(err, errlen);
    int rc = -1;
    char price[MONEY_STR_MAX];
    dbuf_t ids, prods, prices, qtys, subs;
    dbuf_init(&ids, 1 << 20);
    dbuf_init(&prods, 1 << 20);
    dbuf_init(&prices, 1 << 20);
    dbuf_init(&qtys, 1 << 20);
    dbuf_init(&subs, 1 << 20);
    if (os_pgarr_open(&ids) || os_pgarr_open(&prods) || os_pgarr_open(&prices) || os_pgarr_open(&qtys) ||
        os_pgarr_open(&subs))
        goto oom;
    for (size_t i = 0; i < o->n_items; i++) {
        char p[MONEY_STR_MAX], s[MONEY_STR_MAX];
        if (os_pgarr_int(&ids, (int64_t)i + 1) || os_pgarr_text(&prods, o->items[i].product_id) ||
            os_pgarr_text(&prices, money_format(o->items[i].price, p, sizeof p)) ||
            os_pgarr_int(&qtys, o->items[i].quantity) ||
            os_pgarr_text(&subs, money_format(o->items[i].sub_total, s, sizeof s)))
            goto oom;
    }
    if (os_pgarr_close(&ids) || os_pgarr_close(&prods) || os_pgarr_close(&prices) || os_pgarr_close(&qtys) ||
        os_pgarr_close(&subs))
        goto oom;
    if (os_pg_exec(c, "BEGIN", 0, NULL, "begin", err, errlen) != 0)
        goto cleanup;
    const char *ov[6] = {o->id,
                         o->customer_id,
                         o->restaurant_id,
                         o->tracking_id,
                         money_format(o->price, price, sizeof price),
                         order_status_name(o->status)};
    if (os_pg_exec(c,
                   "INSERT INTO \"order\".orders (id, customer_id, restaurant_id, tracking_id, "
                   "price, order_status, failure_messages) VALUES ($1::uuid, $2::uuid, $3::uuid, "
                   "$4::uuid, $5::numeric, $6::\"order\".order_status, '')",
                   6, ov, "insert order", err, errlen) != 0)
        goto rollback;
    const char *iv[6] = {o->id,           dbuf_ptr(&ids), dbuf_ptr(&prods), dbuf_ptr(&prices),
                         dbuf_ptr(&qtys), dbuf_ptr(&subs)};
    if (o->n_items > 0 &&
        os_pg_exec(c,
                   "INSERT INTO \"order\".order_items (id, order_id, product_id, price, quantity, "
                   "sub_total) SELECT u.i, $1::uuid, u.p, u.pr, u.q, u.s FROM unnest($2::bigint[], "
                   "$3::uuid[], $4::numeric[], $5::int[], $6::numeric[]) AS u(i, p, pr, q, s)",
                   6, iv, "insert order items", err, errlen) != 0)
        goto rollback;
    const char *av[4] = {o->id, o->address.street, o->address.postal_code, o->address.city};
    if (os_pg_exec(c,
                   "INSERT INTO \"order\".order_address (id, order_id, street, postal_code, city) "
                   "VALUES (gen_random_uuid(), $1::uuid, $2, $3, $4)",
                   4, av, "insert order address", err, errlen) != 0)
        goto rollback;
    if (os_pg_exec(c, "COMMIT", 0, NULL, "commit", err, errlen) != 0)
        goto cleanup;
    rc = 0;
    goto cleanup;
rollback:
    PQclear(PQexec(c, "ROLLBACK"));
    goto cleanup;
oom:
    snprintf(err, errlen, "out of memory");
cleanup:
    dbuf_free(&ids);
    dbuf_free(&prods);
    dbuf_free(&prices);
    dbuf_free(&qtys);
    dbuf_free(&subs);
    pgpool_put(pool, c, rc < 0 && PQstatus(c) != CONNECTION_OK);
    return rc;
}

static int os_pg_find_order(void *self, const char *tracking_id, os_order_view_t *out, char *err,
                            size_t errlen)
{
    pgpool_t *pool = self;
    PGconn *c = pgpool_get(pool, OS_PG_WAIT_MS);
    if (c == NULL)
        return os_pg_unavailable(err, errlen);
    const char *vals[1] = {tracking_id};
    int rc = -1;
    PGresult *r = PQexecParams(c,
                               "SELECT tracking_id::text, order_status::text, "
                               "coalesce(failure_messages, '') FROM \"order\".orders "
                               "WHERE tracking_id = $1::uuid",
                               1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pgx_fail(r, c, "read order", err, errlen);
        goto cleanup;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        rc = 0;
        goto cleanup;
    }
    snprintf(out->tracking_id, sizeof out->tracking_id, "%s", PQgetvalue(r, 0, 0));
    int st = order_status_parse(PQgetvalue(r, 0, 1));
    out->status = st < 0 ? ORDER_PENDING : (order_status_t)st;
    out->failure_messages = strdup(PQgetvalue(r, 0, 2));
    PQclear(r);
    rc = out->failure_messages ? 1 : -1;
    if (rc < 0)
        snprintf(err, errlen, "out of memory");
cleanup:
    pgpool_put(pool, c, rc < 0 && PQstatus(c) != CONNECTION_OK);
    return rc;
}

os_order_repo_port_t os_pg_orders_port(pgpool_t *pool)
{
    os_order_repo_port_t p = {pool, os_pg_save_order, os_pg_find_order};
    return p;
}
