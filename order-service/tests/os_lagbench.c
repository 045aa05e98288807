/* os_lagbench.c — load generator and propagation-lag benchmark of the CQRS flow (not a test
 * itself). Sends customer commands to customer-service at a fixed rate (open loop) or as
 * fast as possible (closed loop, --rate 0): creates, and with --updates/--deletes a share of
 * full updates (PUT, the new version from the ETag) and deletes of customers it created
 * before. For every acknowledged command (201/200/204) it measures the time until
 * order-service's read model shows it ("order".customers polled every ~1 ms directly in
 * PostgreSQL): the row for a create, the row at that version or later for an update, no row
 * for a delete. A command that failed (503, timeout …) may still have been committed: its
 * customer gets no more commands and, at the end, must match the write side
 * (customer.customers, same database) instead. With --customers N the load is N creates, then
 * only updates of those N customers (the same few customers updated many times, as the fault
 * suite's failover scenario needs); a customer whose update failed is updated again, its
 * version then known from the next acknowledgement's ETag. Prints JSON: sent, ok (by kind),
 * failed (by HTTP status, "timeout" = no answer within --request-timeout-ms (10000),
 * "noAnswer" = the connection failed), visible, lost (acknowledged but not in the read model
 * after --timeout-ms), writeLost (acknowledged but not on the write side: what a failover of
 * an asynchronous standby can lose; such a customer must then show in the read model as the
 * write side holds it, and is not counted in lost), the longest run of failures, the slowest answer, lag
 * p50/p99/max, the answer time p50/p99 (answerMs: the write path as a client sees it, 1 %
 * buckets) and the achieved commands/s. --failures FILE writes one line per failed command
 * ("<epoch ms> <status|timeout|0> <kind>") for the fault suite's outage figures. With
 * --order-url URL and --orders F, a share F of the commands are POST /orders to order-service
 * for a customer of the sender's that the read model has shown (not deleted since): counted
 * in sent, ok ("ordered") and failed like the others (a 201 is success), not in the lag.
 * --meter commit-ts (the cheap meter; needs track_commit_timestamp=on): no poll while the
 * senders run; afterwards the acknowledged rows are read in bulk (every 100 ms until all show)
 * and each lag is the commit time of the read-model row's transaction
 * (pg_xact_commit_timestamp(xmin), CLOCK_REALTIME) minus the 201's time (CLOCK_REALTIME);
 * a delete (no row left) is timed by the poll. --meter poll (the default) polls every ~1 ms
 * while the senders run. Either way "meter" in the JSON gives the meter's own cost: CPU
 * seconds of its thread and of its PostgreSQL backend (-1 when that runs on another host).
 * --lags FILE writes every lag (ms, sorted, one a line) for plots.
 *
 *   os_lagbench --customer-url http://127.0.0.1:19184 --pg "host=… dbname=…" --rate 200 --seconds 10
 *   os_lagbench … --rate 300 --seconds 30 --updates 0.3 --deletes 0.1 --failures /tmp/f.txt
 *   os_lagbench … --rate 300 --seconds 30 --customers 40
 *   os_lagbench … --rate 2000 --seconds 60 --meter commit-ts --lags /tmp/lags.txt
 * This file: the options, the read-model poller and the account; the senders are
 * os_lagbench_send.c, the meter's helpers os_lagbench_meter.c, the shared state os_lagbench.h.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <libpq-fe.h>
#include <uuid/uuid.h>

#include "os_lagbench.h"

/* The q-quantile (0..1) of the answer times, ms; 0 when none. */
static double lb_answer_q(const bench_t *b, double q)
{
    long total = 0, seen = 0;
    for (int k = 0; k < LB_HIST; k++)
        total += atomic_load(&b->answer_hist[k]);
    long want = (long)ceil(q * (double)total);
    for (int k = 0; k < LB_HIST && total > 0; k++) {
        seen += atomic_load(&b->answer_hist[k]);
        if (seen >= want)
            return lb_hist_ms(k);
    }
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Looks up the records idx[0..n) in `table` ("order".customers or customer.customers):
 * ver[i] = the stored version, or -1 when there is no row; with cts, cts[i] = the commit time
 * of the row's transaction (µs since the epoch; 0 when unknown). Returns 0 or -1. */
static int lookup(PGconn *pg, const char *table, const bench_t *b, const long *idx, int n, int64_t *ver,
                  int64_t *cts)
{
    char *arr = malloc((size_t)n * 37 + 3), sql[256];
    size_t len = 0;
    int rc = -1;
    if (arr == NULL)
        return -1;
    arr[len++] = '{';
    for (int i = 0; i < n; i++) {
        if (i)
            arr[len++] = ',';
        memcpy(arr + len, b->recs[idx[i]].id, 36);
        len += 36;
    }
    arr[len++] = '}';
    arr[len] = '\0';
    snprintf(sql, sizeof sql,
             "SELECT q.k, t.version%s FROM unnest($1::uuid[]) WITH ORDINALITY AS q(id, k)"
             " LEFT JOIN %s t ON t.id = q.id",
             cts != NULL ? ", (extract(epoch FROM pg_xact_commit_timestamp(t.xmin)) * 1e6)::int8" : "",
             table);
    const char *vals[1] = {arr};
    if (PQstatus(pg) != CONNECTION_OK) /* a failover: the conninfo's hosts find the new primary */
        PQreset(pg);
    PGresult *res = PQexecParams(pg, sql, 1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        for (int i = 0; i < PQntuples(res); i++) {
            long k = atol(PQgetvalue(res, i, 0)) - 1;
            if (k >= 0 && k < n) {
                ver[k] = PQgetisnull(res, i, 1) ? -1 : atoll(PQgetvalue(res, i, 1));
                if (cts != NULL)
                    cts[k] = PQgetisnull(res, i, 2) ? 0 : atoll(PQgetvalue(res, i, 2));
            }
        }
        rc = 0;
    }
    PQclear(res);
    free(arr);
    return rc;
}

static int satisfied(int64_t expect, int64_t have)
{
    return expect == -1 ? have == -1 : have >= expect;
}

/* After the senders: a record whose last command failed must end as the write side holds
 * it; an acknowledged one that the write side does not hold was lost there (failover). */
static long settle_uncertain(PGconn *pg, bench_t *b, long total, long *idx, int64_t *ver)
{
    long write_lost = 0;
    for (long lo = 0; lo < total; lo += 2000) {
        int n = 0;
        for (long i = lo; i < total && i < lo + 2000; i++)
            idx[n++] = i;
        for (int i = 0; i < n; i++)
            ver[i] = -2;
        int tries = 0;
        while (lookup(pg, "customer.customers", b, idx, n, ver, NULL) != 0)
            if (++tries == 100) /* 20 s: the database stays away */
                return -1;
            else
                nanosleep(&(struct timespec){0, 200000000}, NULL);
        for (int i = 0; i < n; i++) {
            rec_t *r = &b->recs[idx[i]];
            int64_t e = atomic_load(&r->expect);
            if (atomic_load(&r->uncertain)) {
                /* no row although a create/update was acknowledged and only an update failed */
                if (e > 0 && ver[i] == -1 && r->failed_kind == OP_UPDATE)
                    write_lost++;
                if (ver[i] != -1 || e != 0) { /* a row, or an acknowledged state to replace */
                    atomic_store(&r->t_vis, 0);
                    atomic_store(&r->expect, ver[i]);
                    atomic_store(&r->t_ok, lb_now_ns());
                }
            } else if (e != 0 && !satisfied(e, ver[i])) {
                if (write_lost < 5)
                    fprintf(stderr,
                            "os_lagbench: %s acknowledged (version %lld) but the write side has %lld\n",
                            r->id, (long long)e, (long long)ver[i]);
                write_lost++;
                /* counted once, as writeLost: the read model must show what the write side kept */
                atomic_store(&r->uncertain, 1);
                atomic_store(&r->t_vis, 0);
                atomic_store(&r->expect, ver[i]);
                atomic_store(&r->t_ok, lb_now_ns());
            }
        }
    }
    return write_lost;
}

int main(int argc, char **argv)
{
    bench_t b;
    memset(&b, 0, sizeof b);
    b.rate = 200;
    b.seconds = 10;
    long timeout_ms = 10000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--customer-url") == 0)
            b.url = argv[i + 1];
        else if (strcmp(argv[i], "--pg") == 0)
            b.pg = argv[i + 1];
        else if (strcmp(argv[i], "--rate") == 0)
            b.rate = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            b.seconds = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0)
            b.threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--timeout-ms") == 0)
            timeout_ms = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--updates") == 0)
            b.p_update = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--deletes") == 0)
            b.p_delete = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--failures") == 0)
            b.failures_path = argv[i + 1];
        else if (strcmp(argv[i], "--request-timeout-ms") == 0)
            b.request_timeout_ms = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--customers") == 0)
            b.fixed = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--order-url") == 0)
            b.order_url = argv[i + 1];
        else if (strcmp(argv[i], "--orders") == 0)
            b.p_order = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--meter") == 0)
            b.commit_ts = strcmp(argv[i + 1], "commit-ts") == 0 ? 1
                          : strcmp(argv[i + 1], "poll") == 0    ? 0
                                                                : -1;
        else if (strcmp(argv[i], "--lags") == 0)
            b.lags_path = argv[i + 1];
    }
    if (b.url == NULL || b.pg == NULL || b.commit_ts < 0 || b.p_update < 0 || b.p_delete < 0 ||
        b.p_order < 0 || b.p_update + b.p_delete + b.p_order >= 1) {
        fprintf(stderr,
                "usage: os_lagbench --customer-url URL --pg CONNINFO [--rate R (0 = max)] [--seconds S]\n"
                "       [--threads T] [--timeout-ms MS] [--updates F] [--deletes F]\n"
                "       [--order-url URL --orders F] (the shares add up to less than 1)\n"
                "       [--failures FILE] [--request-timeout-ms MS] [--customers N]\n"
                "       [--meter poll|commit-ts] [--lags FILE]\n");
        return 2;
    }
    if (b.request_timeout_ms <= 0)
        b.request_timeout_ms = 10000;
    if (b.threads <= 0)
        b.threads = b.rate > 0 ? (b.rate >= 500 ? 16 : 8) : 16;
    b.n = b.rate > 0 ? (long)(b.rate * b.seconds) + 1 : 2000000;
    b.recs = calloc((size_t)b.n, sizeof *b.recs);
    pthread_mutex_init(&b.fmu, NULL);
    if (b.failures_path != NULL && (b.failures = fopen(b.failures_path, "w")) == NULL) {
        perror(b.failures_path);
        return 2;
    }
    PGconn *pg = PQconnectdb(b.pg);
    if (b.recs == NULL || PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "os_lagbench: %s\n", PQerrorMessage(pg));
        return 1;
    }
    if (b.commit_ts && lb_meter_check(pg) != 0)
        return 2;
    for (long i = 0; i < b.n; i++) {
        uuid_t u;
        uuid_generate_random(u);
        uuid_unparse_lower(u, b.recs[i].id);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_t *th = calloc((size_t)b.threads, sizeof *th);
    sender_t *ss = calloc((size_t)b.threads, sizeof *ss);
    long *idx = malloc(sizeof(long) * 2000);
    int64_t *ver = malloc(sizeof(int64_t) * 2000);
    int64_t *lags = malloc(sizeof(int64_t) * (size_t)b.n * 2);
    long nlags = 0, nlags_cap = b.n * 2, write_lost = 0;
    b.t0 = lb_now_ns();
    for (int i = 0; i < b.threads; i++) {
        ss[i] = (sender_t){&b, i, calloc((size_t)b.n, sizeof(long)), 0, 0};
        pthread_create(&th[i], NULL, lb_sender_main, &ss[i]);
    }
    /* poller: records with an acknowledged state the read model does not show yet (the
     * commit-ts meter looks only once the senders are done: the rows' commit times are kept) */
    int64_t deadline = 0, *cts = b.commit_ts ? malloc(sizeof(int64_t) * 2000) : NULL;
    int settled = 0;
    double meter_cpu0 = lb_thread_cpu_s(), meter_pg0 = lb_backend_cpu_s(pg);
    for (;;) {
        int done = atomic_load(&b.senders_done) == b.threads;
        if (b.commit_ts && !done) {
            nanosleep(&(struct timespec){0, 10000000}, NULL);
            continue;
        }
        long hi = atomic_load(&b.next);
        if (hi > b.n)
            hi = b.n;
        if (done && !settled) {
            write_lost = settle_uncertain(pg, &b, hi, idx, ver);
            settled = 1;
            deadline = lb_now_ns() + (int64_t)timeout_ms * 1000000;
        }
        int n = 0, pending = 0;
        for (long i = 0; i < hi; i++) {
            rec_t *r = &b.recs[i];
            if (atomic_load(&r->expect) == 0 || atomic_load(&r->t_vis) != 0 || (!settled && r->uncertain))
                continue;
            pending++;
            if (n < 2000)
                idx[n++] = i;
        }
        int seen = 0;
        if (n > 0) {
            int64_t want[2000];
            for (int i = 0; i < n; i++)
                want[i] = atomic_load(&b.recs[idx[i]].expect);
            if (lookup(pg, "\"order\".customers", &b, idx, n, ver, cts) == 0) {
                int64_t t = lb_now_ns();
                for (int i = 0; i < n; i++) {
                    rec_t *r = &b.recs[idx[i]];
                    /* a newer acknowledgement since the query started is the next poll's */
                    if (atomic_load(&r->expect) != want[i] || !satisfied(want[i], ver[i]))
                        continue;
                    atomic_store(&r->t_vis, t);
                    seen++;
                    if (want[i] > 0)
                        atomic_store(&r->in_rm, 1);
                    int64_t ok = atomic_load(&r->t_ok), lag = t > ok ? t - ok : 0;
                    if (cts != NULL && want[i] > 0 && cts[i] > 0) { /* (a delete leaves no row: polled) */
                        lag = cts[i] * 1000 - atomic_load(&r->t_ok_rt);
                        lag = lag > 0 ? lag : 0;
                    }
                    if (nlags < nlags_cap && !r->uncertain)
                        lags[nlags++] = lag;
                }
            }
        }
        if (settled && (pending == 0 || lb_now_ns() > deadline))
            break;
        /* the commit-ts meter reads on at once only while most of a full chunk shows (the read
         * model has caught up); the poll polls on while 2,000 or more are outstanding */
        if (n < 2000 || (b.commit_ts && seen < n / 2)) {
            struct timespec ts = {0, b.commit_ts ? 100000000 : 1000000};
            nanosleep(&ts, NULL);
        }
    }
    double meter_cpu = lb_thread_cpu_s() - meter_cpu0, meter_pg = lb_backend_cpu_s(pg);
    meter_pg = meter_pg >= 0 && meter_pg0 >= 0 ? meter_pg - meter_pg0 : -1;
    for (int i = 0; i < b.threads; i++) {
        pthread_join(th[i], NULL);
        free(ss[i].live);
    }
    long total = atomic_load(&b.next) > b.n ? b.n : atomic_load(&b.next), nv = 0, lost = 0;
    for (long i = 0; i < total; i++) {
        rec_t *r = &b.recs[i];
        if (atomic_load(&r->expect) == 0)
            continue;
        if (atomic_load(&r->t_vis) == 0) {
            if (lost < 5)
                fprintf(stderr, "os_lagbench: %s not as acknowledged in the read model (version %lld)\n",
                        r->id, (long long)atomic_load(&r->expect));
            lost++;
        } else {
            nv++;
        }
    }
    qsort(lags, (size_t)nlags, sizeof *lags, cmp_i64);
    if (b.lags_path != NULL && lb_write_lags(b.lags_path, lags, nlags) != 0)
        fprintf(stderr, "os_lagbench: could not write %s\n", b.lags_path);
    double p50 = nlags ? (double)lags[nlags / 2] / 1e6 : 0;
    size_t k99 = (size_t)((double)nlags * 0.99);
    double p99 = nlags ? (double)lags[k99 < (size_t)nlags ? k99 : (size_t)nlags - 1] / 1e6 : 0;
    double mx = nlags ? (double)lags[nlags - 1] / 1e6 : 0;
    double span = (double)(lb_now_ns() - b.t0) / 1e9;
    if (b.rate > 0 && span > b.seconds)
        span = b.seconds;
    long okall =
        atomic_load(&b.ok[0]) + atomic_load(&b.ok[1]) + atomic_load(&b.ok[2]) + atomic_load(&b.ok[3]);
    lb_note_success(&b); /* a run of failures up to the end counts too */
    printf("{\"mode\":\"%s\",\"targetRate\":%.0f,\"sent\":%ld,\"ok\":%ld,\"created\":%ld,\"updated\":%ld,"
           "\"deleted\":%ld,\"ordered\":%ld,\"failed\":%ld,\"failedBy\":{\"timeout\":%ld,\"noAnswer\":%ld,"
           "\"500\":%ld,\"503\":%"
           "ld,"
           "\"4xx\":%ld,\"other5xx\":%ld,\"other\":%ld},\"longestFailureRunMs\":%.0f,\"slowestMs\":%.0f,"
           "\"visible\":%ld,\"lost\":%ld,"
           "\"writeLost\":%ld,\"createsPerSecond\":%.0f,\"lagMs\":{\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f},"
           "\"answerMs\":{\"p50\":%.2f,\"p99\":%.2f},"
           "\"meter\":{\"kind\":\"%s\",\"clientCpuS\":%.3f,\"pgCpuS\":%.3f}}\n",
           b.rate > 0 ? "open-loop" : "closed-loop", b.rate, atomic_load(&b.sent), okall,
           atomic_load(&b.ok[OP_CREATE]), atomic_load(&b.ok[OP_UPDATE]), atomic_load(&b.ok[OP_DELETE]),
           atomic_load(&b.ok[OP_ORDER]), atomic_load(&b.failed), atomic_load(&b.codes[6]),
           atomic_load(&b.codes[0]), atomic_load(&b.codes[1]), atomic_load(&b.codes[2]),
           atomic_load(&b.codes[3]), atomic_load(&b.codes[4]), atomic_load(&b.codes[5]),
           (double)atomic_load(&b.longest_fail) / 1e6, (double)atomic_load(&b.slowest) / 1e6, nv, lost,
           write_lost, span > 0 ? (double)okall / span : 0.0, p50, p99, mx, lb_answer_q(&b, 0.5),
           lb_answer_q(&b, 0.99), b.commit_ts ? "commit-ts" : "poll", meter_cpu, meter_pg);
    if (b.failures != NULL)
        fclose(b.failures);
    free(lags);
    free(cts);
    free(idx);
    free(ver);
    free(th);
    free(ss);
    free(b.recs);
    PQfinish(pg);
    curl_global_cleanup();
    return lost == 0 && write_lost == 0 && atomic_load(&b.failed) == 0 ? 0 : 1;
}
