/* os_lagbench.c — propagation-lag benchmark of the CQRS flow (not a test itself): POSTs
 * customers to customer-service at a fixed rate (open loop) or as fast as possible (closed
 * loop, --rate 0), and measures, per customer, the time from customer-service's 201 to the
 * row being visible in order-service's read model ("order".customers, polled every ~1 ms
 * directly in PostgreSQL). Prints JSON: sent, ok, visible, lost, p50/p99/max lag in ms,
 * and the achieved creates/s.
 *
 *   os_lagbench --customer-url http://127.0.0.1:39184 --pg "host=… dbname=…" --rate 200 --seconds 10
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <libpq-fe.h>
#include <uuid/uuid.h>

typedef struct rec {
    char id[37];
    _Atomic int64_t t_ok;  /* ns of the 201, 0 = not yet / failed */
    _Atomic int64_t t_vis; /* ns when seen in the read model, 0 = not yet */
} rec_t;

typedef struct bench {
    const char *url;
    const char *pg;
    double rate;
    double seconds;
    int threads;
    long n; /* records planned */
    rec_t *recs;
    atomic_long next; /* closed loop: next record to send */
    atomic_long sent, ok, failed;
    atomic_int senders_done;
    int64_t t0;
} bench_t;

typedef struct sender {
    bench_t *b;
    int idx;
} sender_t;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
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

static void *sender_main(void *arg)
{
    sender_t *s = arg;
    bench_t *b = s->b;
    char url[512], body[256];
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    snprintf(url, sizeof url, "%s/customers", b->url);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    for (long k = s->idx;; k += b->threads) {
        long i = k;
        if (b->rate > 0) {
            if (i >= b->n)
                break;
            sleep_until(b->t0 + (int64_t)((double)i * 1e9 / b->rate));
        } else {
            i = atomic_fetch_add(&b->next, 1);
            if (i >= b->n || now_ns() - b->t0 > (int64_t)(b->seconds * 1e9))
                break;
        }
        rec_t *r = &b->recs[i];
        snprintf(body, sizeof body,
                 "{\"customerId\":\"%s\",\"username\":\"lag-%s\",\"firstName\":\"Lag\","
                 "\"lastName\":\"Bench\"}",
                 r->id, r->id);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        atomic_fetch_add(&b->sent, 1);
        long code = 0;
        if (curl_easy_perform(c) == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (code == 201 || code == 200) {
            atomic_store(&r->t_ok, now_ns());
            atomic_fetch_add(&b->ok, 1);
        } else {
            if (atomic_fetch_add(&b->failed, 1) < 5)
                fprintf(stderr, "os_lagbench: POST %s answered %ld\n", r->id, code);
        }
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

int main(int argc, char **argv)
{
    bench_t b;
    memset(&b, 0, sizeof b);
    b.rate = 200;
    b.seconds = 10;
    b.threads = 0;
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
    }
    if (b.url == NULL || b.pg == NULL) {
        fprintf(stderr, "usage: os_lagbench --customer-url URL --pg CONNINFO [--rate R (0 = max)] "
                        "[--seconds S] [--threads T] [--timeout-ms MS]\n");
        return 2;
    }
    if (b.threads <= 0)
        b.threads = b.rate > 0 ? (b.rate >= 500 ? 16 : 8) : 16;
    b.n = b.rate > 0 ? (long)(b.rate * b.seconds) : 2000000;
    b.recs = calloc((size_t)b.n, sizeof *b.recs);
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
    b.t0 = now_ns();
    for (int i = 0; i < b.threads; i++) {
        ss[i] = (sender_t){&b, i};
        pthread_create(&th[i], NULL, sender_main, &ss[i]);
    }
    /* poller: the ids that got their 201 and are not visible yet */
    long low = 0; /* every record below is settled (visible or failed) */
    char *arr = malloc(40 * 2000 + 16);
    int64_t t_end_send = 0;
    int64_t deadline = 0;
    for (;;) {
        int done = atomic_load(&b.senders_done) == b.threads;
        if (done && t_end_send == 0) {
            t_end_send = now_ns();
            deadline = t_end_send + (int64_t)timeout_ms * 1000000;
        }
        long hi = b.rate > 0 ? b.n : atomic_load(&b.next);
        if (hi > b.n)
            hi = b.n;
        size_t len = 0;
        int cnt = 0;
        long scan_low = -1;
        arr[len++] = '{';
        for (long i = low; i < hi && cnt < 2000; i++) {
            rec_t *r = &b.recs[i];
            if (atomic_load(&r->t_vis) != 0)
                continue;
            if (atomic_load(&r->t_ok) == 0)
                continue;
            if (scan_low < 0)
                scan_low = i;
            if (cnt++)
                arr[len++] = ',';
            memcpy(arr + len, r->id, 36);
            len += 36;
        }
        arr[len++] = '}';
        arr[len] = '\0';
        if (cnt > 0) {
            const char *vals[1] = {arr};
            PGresult *res =
                PQexecParams(pg, "SELECT id::text FROM \"order\".customers WHERE id = ANY($1::uuid[])", 1,
                             NULL, vals, NULL, NULL, 0);
            int64_t t = now_ns();
            if (PQresultStatus(res) == PGRES_TUPLES_OK) {
                for (int k = 0; k < PQntuples(res); k++) {
                    const char *id = PQgetvalue(res, k, 0);
                    for (long i = scan_low; i < hi; i++)
                        if (memcmp(b.recs[i].id, id, 36) == 0) {
                            atomic_store(&b.recs[i].t_vis, t);
                            break;
                        }
                }
            }
            PQclear(res);
        }
        /* advance the low mark over settled records */
        while (low < hi &&
               (atomic_load(&b.recs[low].t_vis) != 0 || (done && atomic_load(&b.recs[low].t_ok) == 0)))
            low++;
        if (done && (low >= hi || now_ns() > deadline))
            break;
        if (cnt == 0 || cnt < 2000) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    for (int i = 0; i < b.threads; i++)
        pthread_join(th[i], NULL);
    long total = b.rate > 0 ? b.n : atomic_load(&b.next);
    if (total > b.n)
        total = b.n;
    int64_t *lags = malloc(sizeof(int64_t) * (size_t)(total ? total : 1));
    long nv = 0, lost = 0;
    int64_t first_ok = 0, last_ok = 0;
    for (long i = 0; i < total; i++) {
        int64_t ok = atomic_load(&b.recs[i].t_ok), vis = atomic_load(&b.recs[i].t_vis);
        if (ok == 0)
            continue;
        if (first_ok == 0 || ok < first_ok)
            first_ok = ok;
        if (ok > last_ok)
            last_ok = ok;
        if (vis == 0) {
            if (lost < 5)
                fprintf(stderr, "os_lagbench: %s not visible\n", b.recs[i].id);
            lost++;
            continue;
        }
        lags[nv++] = vis > ok ? vis - ok : 0;
    }
    qsort(lags, (size_t)nv, sizeof *lags, cmp_i64);
    double p50 = nv ? (double)lags[nv / 2] / 1e6 : 0;
    double p99 = nv ? (double)lags[(size_t)((double)nv * 0.99) < (size_t)nv ? (size_t)((double)nv * 0.99)
                                                                            : (size_t)nv - 1] /
                          1e6
                    : 0;
    double mx = nv ? (double)lags[nv - 1] / 1e6 : 0;
    double span = (double)(last_ok - b.t0) / 1e9;
    printf("{\"mode\":\"%s\",\"targetRate\":%.0f,\"sent\":%ld,\"ok\":%ld,\"failed\":%ld,"
           "\"visible\":%ld,\"lost\":%ld,\"createsPerSecond\":%.0f,\"lagMs\":{\"p50\":%.2f,"
           "\"p99\":%.2f,\"max\":%.2f}}\n",
           b.rate > 0 ? "open-loop" : "closed-loop", b.rate, atomic_load(&b.sent), atomic_load(&b.ok),
           atomic_load(&b.failed), nv, lost, span > 0 ? (double)atomic_load(&b.ok) / span : 0.0, p50, p99,
           mx);
    free(lags);
    free(arr);
    free(th);
    free(ss);
    free(b.recs);
    PQfinish(pg);
    curl_global_cleanup();
    return lost == 0 && atomic_load(&b.failed) == 0 ? 0 : 1;
}
