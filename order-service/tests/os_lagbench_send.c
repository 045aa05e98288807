/* os_lagbench_send.c — os_lagbench's sender threads (see os_lagbench.c): each sends its
 * share of the open-loop (or closed-loop) commands — creates, updates, deletes of customers
 * it created, orders for customers the read model has shown — and counts the answers. */
#include "os_lagbench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

const char *const lb_op_name[OP_KINDS] = {"create", "update", "delete", "order"};

int64_t lb_now_ns(void)
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
    int64_t d = t - lb_now_ns();
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
    int64_t t = lb_now_ns(), expected = 0;
    char status[24];
    atomic_compare_exchange_strong(&b->fail_start, &expected, t);
    atomic_fetch_add(&b->codes[code_slot(code)], 1);
    if (code == CODE_TIMEOUT)
        snprintf(status, sizeof status, "timeout");
    else
        snprintf(status, sizeof status, "%ld", code);
    if (atomic_fetch_add(&b->failed, 1) < 5)
        fprintf(stderr, "os_lagbench: %s %s answered %s\n", lb_op_name[kind], id, status);
    if (b->failures != NULL) {
        pthread_mutex_lock(&b->fmu);
        fprintf(b->failures, "%lld %s %s\n", wall_ms(), status, lb_op_name[kind]);
        pthread_mutex_unlock(&b->fmu);
    }
}

int lb_hist_bucket(int64_t ns)
{
    double us = (double)ns / 1000.0;
    int k = us <= 1.0 ? 0 : (int)ceil(log(us) / log(1.01));
    return k < LB_HIST ? k : LB_HIST - 1;
}

double lb_hist_ms(int k)
{
    return pow(1.01, k) / 1000.0;
}

static void note_duration(bench_t *b, int64_t d)
{
    int64_t cur = atomic_load(&b->slowest);
    while (d > cur && !atomic_compare_exchange_weak(&b->slowest, &cur, d))
        ;
}

void lb_note_success(bench_t *b)
{
    int64_t start = atomic_exchange(&b->fail_start, 0);
    if (start != 0) {
        int64_t run = lb_now_ns() - start, cur = atomic_load(&b->longest_fail);
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
    if (se->nlive > 0 && b->order_url != NULL && u < b->p_update + b->p_delete + b->p_order)
        return OP_ORDER;
    return OP_CREATE;
}

/* Sends the request set up on `c` (counted in sent; its time in slowest): the HTTP status,
 * CODE_TIMEOUT, or 0 when no answer came (cerr says why, on stderr). */
static long perform(bench_t *b, CURL *c, int kind, const char *url, char *cerr)
{
    long code = 0;
    atomic_fetch_add(&b->sent, 1);
    cerr[0] = '\0';
    int64_t t_req = lb_now_ns();
    CURLcode cc = curl_easy_perform(c);
    int64_t took = lb_now_ns() - t_req;
    note_duration(b, took);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        atomic_fetch_add(&b->answer_hist[lb_hist_bucket(took)], 1);
    } else if (cc == CURLE_OPERATION_TIMEDOUT)
        code = CODE_TIMEOUT;
    if (cc != CURLE_OK)
        fprintf(stderr, "os_lagbench: %s %s: %s\n", lb_op_name[kind], url,
                cerr[0] ? cerr : curl_easy_strerror(cc));
    return code;
}

/* A POST /orders for customer r, when the read model has shown it: returns 1 (sent, counted),
 * or 0 (not yet visible: nothing sent). */
static int send_order(bench_t *b, CURL *c, rec_t *r, char *url, size_t ulen, char *body, size_t blen,
                      char *cerr)
{
    if (!atomic_load(&r->in_rm) || atomic_load(&r->uncertain) || atomic_load(&r->expect) <= 0)
        return 0;
    snprintf(url, ulen, "%s/orders", b->order_url);
    snprintf(body, blen,
             "{\"customerId\":\"%s\",\"restaurantId\":\"d215b5f8-0249-4dc5-89a3-51fd148cfb45\",\"price\":200,"
             "\"items\":[{\"productId\":\"d215b5f8-0249-4dc5-89a3-51fd148cfb48\",\"quantity\":4,\"price\":50,"
             "\"subTotal\":200}],\"address\":{\"street\":\"street_1\",\"postalCode\":\"1000AB\",\"city\":"
             "\"Amsterdam\"}}",
             r->id);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    long code = perform(b, c, OP_ORDER, url, cerr);
    if (code == 201) {
        atomic_fetch_add(&b->ok[OP_ORDER], 1);
        lb_note_success(b);
    } else {
        note_failure(b, OP_ORDER, code, r->id);
    }
    return 1;
}

void *lb_sender_main(void *arg)
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
        } else if (lb_now_ns() - b->t0 > (int64_t)(b->seconds * 1e9)) {
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
        if (kind == OP_ORDER) {
            int done = send_order(b, c, &b->recs[ri], url, sizeof url, body, sizeof body, cerr);
            if (done)
                continue;
            kind = OP_CREATE; /* no customer of ours in the read model yet: a create instead */
            ri = atomic_fetch_add(&b->next, 1);
            if (ri >= b->n)
                break;
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
        long code = perform(b, c, kind, url, cerr);
        int ok = kind == OP_CREATE   ? (code == 201 || code == 200)
                 : kind == OP_UPDATE ? code == 200
                                     : code == 204;
        if (ok) {
            int64_t v = kind == OP_DELETE   ? -1
                        : kind == OP_CREATE ? 1
                                            : (s->etag > 0 ? s->etag : r->version + 1);
            if (b->fixed > 0 && kind == OP_UPDATE && atomic_load(&r->uncertain)) {
                if (s->etag <= 0) { /* no version to expect: the write side decides at the end */
                    lb_note_success(b);
                    atomic_fetch_add(&b->ok[kind], 1);
                    continue;
                }
                atomic_store(&r->uncertain, 0); /* this answer's version is certain again */
            }
            r->version = v;
            atomic_store(&r->t_vis, 0);
            atomic_store(&r->expect, v);
            atomic_store(&r->t_ok_rt, lb_now_rt_ns());
            atomic_store(&r->t_ok, lb_now_ns());
            atomic_fetch_add(&b->ok[kind], 1);
            lb_note_success(b);
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
