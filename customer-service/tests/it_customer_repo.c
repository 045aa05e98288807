/* it_customer_repo.c — the PostgreSQL repository adapter against the real database:
 * migrations apply (and re-apply as a no-op), a create writes the customer AND its outbox
 * row (payload bytes intact) in one statement, duplicates map to DUP_ID / DUP_USERNAME
 * without leaving an outbox row, conditional update/delete honour the version, delete
 * writes a tombstone row (NULL payload), and an outbox insert NOTIFYs customer_outbox.
 * Payloads are real framed Avro events, so whatever a running relay publishes from these
 * rows is valid. Env: CQ_PG_CONNINFO. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "dataaccess/customer_pgrepo.h"
#include "messaging/customer_event_encoder.h"
#include "pgx.h"
#include "ts.h"

static long long q_int(PGconn *c, const char *sql, const char *arg)
{
    const char *v[1] = {arg};
    PGresult *r = PQexecParams(c, sql, arg ? 1 : 0, NULL, v, NULL, NULL, 0);
    long long n = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)
                      ? strtoll(PQgetvalue(r, 0, 0), NULL, 10)
                      : -1;
    PQclear(r);
    return n;
}

static void t_repo(void **state)
{
    const char *ci = ts_env("CQ_PG_CONNINFO", "host=127.0.0.1 port=25433 user=postgres dbname=cqrs");
    clog_t log;
    clog_init(&log, "it_customer_repo", "warn", stderr);
    PGconn *c = pgx_connect(ci, 5, &log);
    assert_non_null(c);
    assert_true(pgx_migrate(c, "customer-service", customer_migrations, &log) >= 0);
    assert_int_equal(pgx_migrate(c, "customer-service", customer_migrations, &log), 0);
    pgpool_t *pool = pgpool_new(ci, 2, &log);
    customer_pgrepo_t pr = {pool, &log, 2000};
    customer_repo_t repo = customer_pgrepo_port(&pr);
    PGconn *lc = PQconnectdb(ci);
    PQclear(PQexec(lc, "LISTEN customer_outbox"));

    customer_t cu, got;
    customer_violation_t v;
    customer_event_t ev;
    char id[37], id2[37], user[64];
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, id);
    uuid_generate_random(u);
    uuid_unparse_lower(u, id2);
    snprintf(user, sizeof user, "repo-%s", id);
    assert_int_equal(customer_create(&cu, id, user, "O'Neil", "Δ; --", 1764000000123LL, &v), CUSTOMER_OK);
    customer_event_of(&ev, CUSTOMER_EV_CREATED, &cu, cu.created_at_ms);
    evcodec_t *codec = evcodec_new_default(NULL, 0);
    customer_encoder_t enc = customer_event_encoder_port(codec);
    unsigned char *payload = NULL;
    size_t plen = 0;
    assert_int_equal(enc.ops->encode(enc.self, &ev, &payload, &plen), 0);
    assert_int_equal(repo.ops->insert(repo.self, &cu, &ev, payload, plen), REPO_OK);

    /* NOTIFY arrived (after commit). */
    struct pollfd pfd = {PQsocket(lc), POLLIN, 0};
    assert_true(poll(&pfd, 1, 3000) > 0);
    PQconsumeInput(lc);
    PGnotify *n = PQnotifies(lc);
    assert_non_null(n);
    assert_string_equal(n->relname, "customer_outbox");
    PQfreemem(n);

    assert_int_equal(repo.ops->find(repo.self, id, &got), REPO_OK);
    assert_string_equal(got.first_name, "O'Neil");
    assert_string_equal(got.last_name, "Δ; --");
    assert_int_equal(got.version, 1);
    assert_int_equal(got.created_at_ms, 1764000000123LL);
    assert_int_equal(q_int(c, "SELECT count(*) FROM customer.outbox WHERE aggregate_id = $1::uuid", id), 1);
    {
        const char *vv[1] = {id};
        PGresult *r = PQexecParams(c, "SELECT payload FROM customer.outbox WHERE aggregate_id = $1::uuid", 1,
                                   NULL, vv, NULL, NULL, 1);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        assert_int_equal(PQgetlength(r, 0, 0), (int)plen);
        assert_memory_equal(PQgetvalue(r, 0, 0), payload, plen);
        PQclear(r);
    }

    /* duplicates: nothing written */
    assert_int_equal(repo.ops->insert(repo.self, &cu, &ev, payload, plen), REPO_DUP_ID);
    customer_t other = cu;
    memcpy(other.id, id2, 37);
    assert_int_equal(repo.ops->insert(repo.self, &other, &ev, payload, plen), REPO_DUP_USERNAME);
    assert_int_equal(q_int(c, "SELECT count(*) FROM customer.outbox WHERE aggregate_id = $1::uuid", id2), 0);
    assert_int_equal(repo.ops->find(repo.self, id2, &got), REPO_NOT_FOUND);

    /* conditional update */
    customer_t up = cu;
    assert_int_equal(customer_update(&up, user, "New", "Name", 1764000001000LL, &v), CUSTOMER_OK);
    customer_event_of(&ev, CUSTOMER_EV_UPDATED, &up, up.updated_at_ms);
    free(payload);
    assert_int_equal(enc.ops->encode(enc.self, &ev, &payload, &plen), 0);
    assert_int_equal(repo.ops->update(repo.self, &up, 5, &ev, payload, plen), REPO_CONFLICT);
    assert_int_equal(repo.ops->update(repo.self, &up, 1, &ev, payload, plen), REPO_OK);
    assert_int_equal(repo.ops->find(repo.self, id, &got), REPO_OK);
    assert_int_equal(got.version, 2);
    assert_string_equal(got.first_name, "New");

    /* delete writes a tombstone row */
    up.version = 3;
    customer_event_of(&ev, CUSTOMER_EV_DELETED, &up, 1764000002000LL);
    assert_int_equal(repo.ops->remove(repo.self, id, 1, &ev), REPO_CONFLICT);
    assert_int_equal(repo.ops->remove(repo.self, id, 2, &ev), REPO_OK);
    assert_int_equal(repo.ops->find(repo.self, id, &got), REPO_NOT_FOUND);
    assert_int_equal(
        q_int(c,
              "SELECT count(*) FROM customer.outbox WHERE aggregate_id = $1::uuid AND payload IS NULL"
              " AND event_type = 'DELETED' AND version = 3",
              id),
        1);
    assert_int_equal(q_int(c, "SELECT count(*) FROM customer.outbox WHERE aggregate_id = $1::uuid", id), 3);
    /* ids grow in write order for one customer */
    assert_int_equal(q_int(c,
                           "SELECT count(*) FROM (SELECT version, lag(version) OVER (ORDER BY id) AS pv"
                           " FROM customer.outbox WHERE aggregate_id = $1::uuid) s WHERE pv >= version",
                           id),
                     0);

    /* unavailable database → REPO_UNAVAILABLE, not a crash */
    pgpool_t *dead = pgpool_new("host=127.0.0.1 port=1 connect_timeout=1", 1, &log);
    customer_pgrepo_t dr = {dead, &log, 500};
    customer_repo_t drepo = customer_pgrepo_port(&dr);
    assert_int_equal(drepo.ops->find(drepo.self, id, &got), REPO_UNAVAILABLE);
    pgpool_free(dead);

    free(payload);
    evcodec_free(codec);
    PQfinish(lc);
    pgpool_free(pool);
    PQfinish(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(t_repo)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
