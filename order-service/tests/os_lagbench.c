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
 * p50/p99/max and the achieved commands/s. --failures FILE writes one line per failed command
 * ("<epoch ms> <status|timeout|0> <kind>") for the fault suite's outage figures.
 *
 *   os_lagbench --customer-url http://127.0.0.1:19184 --pg "host=… dbname=…" --rate 200 --seconds 10
 *   os_lagbench … --rate 300 --seconds 30 --updates 0.3 --deletes 0.1 --failures /tmp/f.txt
 *   os_lagbench … --rate 300 --seconds 30 --customers 40
 */
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

enum { OP_CREATE, OP_UPDATE, OP_DELETE, OP_KINDS };
static const char *const op_name[OP_KINDS] = {"create", "update", "delete"};

typedef struct rec {
    char id[37];
    _Atomic int64_t
        expect; /* >0: the read model must show this version or later; -1: no row; 0: nothing acked */
    _Atomic int64_t t_ok;  /* ns of the last acknowledgement (0 = none) */
    _Atomic int64_t t_vis; /* ns when the read model showed it (0 = not yet) */
    _Atomic int uncertain; /* a command failed: its outcome is whatever the write side holds */
    int failed_kind;       /* the command that failed (OP_*) */
    int64_t version;       /* sender thread only: the version it last saw acknowledged */
} rec_t;

typedef struct bench {
    const char *url, *pg, *failures_path;
    double rate, seconds, p_update, p_delete;
    int threads;
    long request_timeout_ms;
    long fixed; /* --customers: that many creates, then only updates of them (0 = off) */
    long n;     /* records that can be created */
    rec_t *recs;
    atomic_long next, ncreated; /* next record to create */
    atomic_long sent, ok[OP_KINDS], failed, codes[7];
    _Atomic int64_t fail_start, longest_fail; /* ns: current run of failures, longest one */
    _Atomic int64_t slowest;                  /* ns: the longest a request took (answered or not) */
    atomic_int senders_done;
    pthread_mutex_t fmu;
    FILE *failures;
    int64_t t0;
} bench_t;

typedef struct sender {
    bench_t *b;
    int idx;
    long *live; /* records this thread created and has not deleted or lost track of */
    long nlive;
    int64_t etag;
} sender_t;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_until(int64_t t)
{
    int64_t d = t - now_ns();
    if (d > 0) {
        struct timespec ts = {d / 1000000000, d % 1000000000};
        nanosleep(&ts, NULL);
    }
}

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return s * n;
}

/* ETag: "3" → the sender's etag (the version an update produced). */
static size_t on_header(char *p, size_t s, size_t n, void *ud)
{
    sender_t *se = ud;
    size_t len = s * n;
    if (len > 6 && strncasecmp(p, "ETag:", 5) == 0) {
        const char *q = memchr(p, '"', len);
        if (q != NULL)
            se->etag = strtoll(q + 1, NULL, 10);
    }
    return len;
}

#define CODE_TIMEOUT (-1L) /* no answer within --request-timeout-ms */

/* 0 = no answer (connection failed), 1 = 500, 2 = 503, 3 = 4xx, 4 = other 5xx, 5 = other,
 * 6 = timed out */
static int code_slot(long code)
{
    return code == CODE_TIMEOUT ? 6
           : code == 0          ? 0
           : code == 500        ? 1
           : code == 503        ? 2
           : code / 100 == 4    ? 3
           : code / 100 == 5    ? 4
                                : 5;
}

static void note_failure(bench_t *b, int kind, long code, const char *id)
{
    int64_t t = now_ns(), expected = 0;
    char status[24];
    atomic_compare_exchange_strong(&b->fail_start, &expected, t);
    atomic_fetch_add(&b->codes[code_slot(code)], 1);
    if (code == CODE_TIMEOUT)
        snprintf(status, sizeof status, "timeout");
    else
        snprintf(status, sizeof status, "%ld", code);
    if (atomic_fetch_add(&b->failed, 1) < 5)
        fprintf(stderr, "os_lagbench: %s %s answered %s\n", op_name[kind], id, status);
    if (b->failures != NULL) {
        pthread_mutex_lock(&b->fmu);
        fprintf(b->failures, "%lld %s %s\n", wall_ms(), status, op_name[kind]);
        pthread_mutex_unlock(&b->fmu);
    }
}

static void note_duration(bench_t *b, int64_t d)
{
    int64_t cur = atomic_load(&b->slowest);
    while (d > cur && !atomic_compare_exchange_weak(&b->slowest, &cur, d))
        ;
}

static void note_success(bench_t *b)
{
    int64_t start = atomic_exchange(&b->fail_start, 0);
    if (start != 0) {
        int64_t run = now_ns() - start, cur = atomic_load(&b->longest_fail);
        while (run > cur && !atomic_compare_exchange_weak(&b->longest_fail, &cur, run))
            ;
    }
}

/* Picks the command for slot i: an update or delete of a live customer, else a create
 * (--customers: a create while fewer than that many were created, else an update). */
static int pick(bench_t *b, const sender_t *se, long i)
{
    if (b->fixed > 0)
        return atomic_load(&b->next) < b->fixed || se->nlive == 0 ? OP_CREATE : OP_UPDATE;
    unsigned long h = (unsigned long)i * 2654435761UL;
    double u = (double)(h % 10007) / 10007.0;
    if (se->nlive > 0 && u < b->p_update)
        return OP_UPDATE;
    if (se->nlive > 0 && u < b->p_update + b->p_delete)
        return OP_DELETE;
    return OP_CREATE;
}

static void *sender_main(void *arg)
{
    sender_t *s = arg;
    bench_t *b = s->b;
    char url[512], body[320], cerr[CURL_ERROR_SIZE];
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, b->request_timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    for (long k = s->idx;; k += b->threads) {
        if (b->rate > 0) {
            if ((double)k >= b->rate * b->seconds)
                break;
            sleep_until(b->t0 + (int64_t)((double)k * 1e9 / b->rate));
        } else if (now_ns() - b->t0 > (int64_t)(b->seconds * 1e9)) {
            break;
        }
        int kind = pick(b, s, k);
        long li = 0, ri;
        if (kind == OP_CREATE) {
            ri = atomic_fetch_add(&b->next, 1);
            if (ri >= b->n)
                break;
            if (b->fixed > 0 && ri >= b->fixed) { /* another thread created the last one */
                if (s->nlive == 0)
                    continue;
                kind = OP_UPDATE;
            }
        }
        if (kind != OP_CREATE) {
            li = (long)(((unsigned long)k * 40503UL) % (unsigned long)s->nlive);
            ri = s->live[li];
        }
        rec_t *r = &b->recs[ri];
        snprintf(url, sizeof url, "%s/customers%s%s", b->url, kind == OP_CREATE ? "" : "/",
                 kind == OP_CREATE ? "" : r->id);
        curl_easy_setopt(c, CURLOPT_URL, url);
        if (kind == OP_DELETE) {
            curl_easy_setopt(c, CURLOPT_HTTPGET, 1L); /* no body; then the method's name */
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
        } else {
            snprintf(body, sizeof body,
                     "{\"customerId\":\"%s\",\"username\":\"lag-%s\",\"firstName\":\"Lag%lld\","
                     "\"lastName\":\"Bench\"}",
                     r->id, r->id, (long long)r->version + 1);
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, kind == OP_UPDATE ? "PUT" : NULL);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        }
        s->etag = 0;
        atomic_fetch_add(&b->sent, 1);
        long code = 0;
        int64_t t_req = now_ns();
        cerr[0] = '\0';
        CURLcode cc = curl_easy_perform(c);
        note_duration(b, now_ns() - t_req);
        if (cc == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        else if (cc == CURLE_OPERATION_TIMEDOUT)
            code = CODE_TIMEOUT;
        if (cc != CURLE_OK) /* no answer: say why (stderr) */
            fprintf(stderr, "os_lagbench: %s %s: %s\n", op_name[kind], url,
                    cerr[0] ? cerr : curl_easy_strerror(cc));
        int ok = kind == OP_CREATE   ? (code == 201 || code == 200)
                 : kind == OP_UPDATE ? code == 200
                                     : code == 204;
        if (ok) {
            int64_t v = kind == OP_DELETE   ? -1
                        : kind == OP_CREATE ? 1
                                            : (s->etag > 0 ? s->etag : r->version + 1);
            if (b->fixed > 0 && kind == OP_UPDATE && atomic_load(&r->uncertain)) {
                if (s->etag <= 0) { /* no version to expect: the write side decides at the end */
                    note_success(b);
                    atomic_fetch_add(&b->ok[kind], 1);
                    continue;
                }
                atomic_store(&r->uncertain, 0); /* this answer's version is certain again */
            }
            r->version = v;
            atomic_store(&r->t_vis, 0);
            atomic_store(&r->expect, v);
            atomic_store(&r->t_ok, now_ns());
            atomic_fetch_add(&b->ok[kind], 1);
            note_success(b);
            if (kind == OP_CREATE) {
                atomic_fetch_add(&b->ncreated, 1);
                s->live[s->nlive++] = ri;
            }
        } else {
            note_failure(b, kind, code, r->id);
            if (kind == OP_CREATE)
                atomic_fetch_add(&b->ncreated, 1);
            /* committed or not, nobody knows: the write side decides at the end */
            r->failed_kind = kind;
            atomic_store(&r->uncertain, 1);
        }
        /* (--customers: a customer stays, whatever an update's outcome) */
        if (kind != OP_CREATE && (kind == OP_DELETE || (!ok && b->fixed == 0)))
            s->live[li] = s->live[--s->nlive];
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    atomic_fetch_add(&b->senders_done, 1);
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Looks up the records idx[0..n) in `table` ("order".customers or customer.customers):
 * ver[i] = the stored version, or -1 when there is no row. Returns 0 or -1. */
static int lookup(PGconn *pg, const char *table, const bench_t *b, const long *idx, int n, int64_t *ver)
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
             "SELECT q.k, t.version FROM unnest($1::uuid[]) WITH ORDINALITY AS q(id, k)"
             " LEFT JOIN %s t ON t.id = q.id",
             table);
    const char *vals[1] = {arr};
    if (PQstatus(pg) != CONNECTION_OK) /* a failover: the conninfo's hosts find the new primary */
        PQreset(pg);
    PGresult *res = PQexecParams(pg, sql, 1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        for (int i = 0; i < PQntuples(res); i++) {
            long k = atol(PQgetvalue(res, i, 0)) - 1;
            if (k >= 0 && k < n)
                ver[k] = PQgetisnull(res, i, 1) ? -1 : atoll(PQgetvalue(res, i, 1));
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
        while (lookup(pg, "customer.customers", b, idx, n, ver) != 0)
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
                    atomic_store(&r->t_ok, now_ns());
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
                atomic_store(&r->t_ok, now_ns());
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
    }
    if (b.url == NULL || b.pg == NULL || b.p_update < 0 || b.p_delete < 0 || b.p_update + b.p_delete >= 1) {
        fprintf(stderr,
                "usage: os_lagbench --customer-url URL --pg CONNINFO [--rate R (0 = max)] [--seconds S]\n"
                "       [--threads T] [--timeout-ms MS] [--updates F] [--deletes F] (F + F < 1)\n"
                "       [--failures FILE] [--request-timeout-ms MS] [--customers N]\n");
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
    b.t0 = now_ns();
    for (int i = 0; i < b.threads; i++) {
        ss[i] = (sender_t){&b, i, calloc((size_t)b.n, sizeof(long)), 0, 0};
        pthread_create(&th[i], NULL, sender_main, &ss[i]);
    }
    /* poller: records with an acknowledged state the read model does not show yet */
    int64_t deadline = 0;
    int settled = 0;
    for (;;) {
        int done = atomic_load(&b.senders_done) == b.threads;
        long hi = atomic_load(&b.next);
        if (hi > b.n)
            hi = b.n;
        if (done && !settled) {
            write_lost = settle_uncertain(pg, &b, hi, idx, ver);
            settled = 1;
            deadline = now_ns() + (int64_t)timeout_ms * 1000000;
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
        if (n > 0) {
            int64_t want[2000];
            for (int i = 0; i < n; i++)
                want[i] = atomic_load(&b.recs[idx[i]].expect);
            if (lookup(pg, "\"order\".customers", &b, idx, n, ver) == 0) {
                int64_t t = now_ns();
                for (int i = 0; i < n; i++) {
                    rec_t *r = &b.recs[idx[i]];
                    /* a newer acknowledgement since the query started is the next poll's */
                    if (atomic_load(&r->expect) != want[i] || !satisfied(want[i], ver[i]))
                        continue;
                    atomic_store(&r->t_vis, t);
                    int64_t ok = atomic_load(&r->t_ok);
                    if (nlags < nlags_cap && !r->uncertain)
                        lags[nlags++] = t > ok ? t - ok : 0;
                }
            }
        }
        if (settled && (pending == 0 || now_ns() > deadline))
            break;
        if (n < 2000) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
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
    double p50 = nlags ? (double)lags[nlags / 2] / 1e6 : 0;
    size_t k99 = (size_t)((double)nlags * 0.99);
    double p99 = nlags ? (double)lags[k99 < (size_t)nlags ? k99 : (size_t)nlags - 1] / 1e6 : 0;
    double mx = nlags ? (double)lags[nlags - 1] / 1e6 : 0;
    double span = (double)(now_ns() - b.t0) / 1e9;
    if (b.rate > 0 && span > b.seconds)
        span = b.seconds;
    long okall = atomic_load(&b.ok[0]) + atomic_load(&b.ok[1]) + atomic_load(&b.ok[2]);
    note_success(&b); /* a run of failures up to the end counts too */
    printf(
        "{\"mode\":\"%s\",\"targetRate\":%.0f,\"sent\":%ld,\"ok\":%ld,\"created\":%ld,\"updated\":%ld,"
        "\"deleted\":%ld,\"failed\":%ld,\"failedBy\":{\"timeout\":%ld,\"noAnswer\":%ld,\"500\":%ld,\"503\":%"
        "ld,"
        "\"4xx\":%ld,\"other5xx\":%ld,\"other\":%ld},\"longestFailureRunMs\":%.0f,\"slowestMs\":%.0f,"
        "\"visible\":%ld,\"lost\":%ld,"
        "\"writeLost\":%ld,\"createsPerSecond\":%.0f,\"lagMs\":{\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f}}\n",
        b.rate > 0 ? "open-loop" : "closed-loop", b.rate, atomic_load(&b.sent), okall,
        atomic_load(&b.ok[OP_CREATE]), atomic_load(&b.ok[OP_UPDATE]), atomic_load(&b.ok[OP_DELETE]),
        atomic_load(&b.failed), atomic_load(&b.codes[6]), atomic_load(&b.codes[0]), atomic_load(&b.codes[1]),
        atomic_load(&b.codes[2]), atomic_load(&b.codes[3]), atomic_load(&b.codes[4]),
        atomic_load(&b.codes[5]), (double)atomic_load(&b.longest_fail) / 1e6,
        (double)atomic_load(&b.slowest) / 1e6, nv, lost, write_lost, span > 0 ? (double)okall / span : 0.0,
        p50, p99, mx);
    if (b.failures != NULL)
        fclose(b.failures);
    free(lags);
    free(idx);
    free(ver);
    free(th);
    free(ss);
    free(b.recs);
    PQfinish(pg);
    curl_global_cleanup();
    return lost == 0 && write_lost == 0 && atomic_load(&b.failed) == 0 ? 0 : 1;
}
