/* otel.c — the OTLP/HTTP JSON span exporter: bounded queue, batching thread, libcurl POSTs.
 * See otel.h. */
#include "otel.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "errbuf.h"

struct otel {
    otel_opts_t o;
    char *url;
    char *service;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    trc_span_t *q; /* ring of o.queue_max */
    int head, count;
    int stop;
    pthread_t th;
    atomic_ullong sent, dropped;
    int failing; /* thread only: the last request failed (log once per outage) */
};

static json_t *otel_str_attr(const char *key, const char *value)
{
    return json_pack("{s:s,s:{s:s}}", "key", key, "value", "stringValue", value);
}

static json_t *otel_span_json(const trc_span_t *s)
{
    char tid[33], sid[17], pid[17], st[24], en[24];
    static const uint8_t zero[8] = {0};
    json_t *attrs = json_array();
    trc_trace_hex(&s->ctx, tid);
    trc_span_hex(s->ctx.span_id, sid);
    trc_span_hex(s->parent_id, pid);
    snprintf(st, sizeof st, "%lld", (long long)s->start_ns);
    snprintf(en, sizeof en, "%lld", (long long)s->end_ns);
    for (int i = 0; i < s->nattrs; i++)
        json_array_append_new(attrs, otel_str_attr(s->attrs[i].key, s->attrs[i].value));
    return json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:o,s:{s:i}}", "traceId", tid, "spanId", sid,
                     "parentSpanId", memcmp(s->parent_id, zero, 8) == 0 ? "" : pid, "name", s->name, "kind",
                     (int)s->kind, "startTimeUnixNano", st, "endTimeUnixNano", en, "attributes", attrs,
                     "status", "code", s->error ? 2 : 1);
}

char *otel_encode(const char *service, const trc_span_t *spans, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, otel_span_json(&spans[i]));
    json_t *body = json_pack("{s:[{s:{s:[o]},s:[{s:{s:s},s:o}]}]}", "resourceSpans", "resource", "attributes",
                             otel_str_attr("service.name", service ? service : "unknown"), "scopeSpans",
                             "scope", "name", "cqrs-ordering", "spans", arr);
    char *out = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    return out;
}

static size_t otel_discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* One POST of n spans: 0 when the collector answered 2xx. */
static int otel_post(otel_t *x, CURL *c, const trc_span_t *spans, int n)
{
    char *body = otel_encode(x->service, spans, (size_t)n);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    long code = 0;
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    if (body != NULL && h != NULL) {
        curl_easy_setopt(c, CURLOPT_URL, x->url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)x->o.timeout_ms);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)x->o.timeout_ms);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, otel_discard);
        rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    }
    curl_slist_free_all(h);
    free(body);
    int ok = rc == CURLE_OK && code >= 200 && code < 300;
    if (ok) {
        atomic_fetch_add(&x->sent, (unsigned long long)n);
        if (x->failing)
            clog_info(x->o.log, "tracing: spans reach %s again", x->url);
        x->failing = 0;
    } else {
        atomic_fetch_add(&x->dropped, (unsigned long long)n);
        if (!x->failing)
            clog_warn(x->o.log,
                      "tracing: %d spans not exported to %s: %s (dropped; said once until it works again)", n,
                      x->url, rc != CURLE_OK ? curl_easy_strerror(rc) : "the collector answered an error");
        x->failing = 1;
    }
    return ok ? 0 : -1;
}

static void *otel_main(void *arg)
{
    otel_t *x = arg;
    CURL *c = curl_easy_init();
    trc_span_t *batch = calloc((size_t)x->o.batch_max, sizeof *batch);
    pthread_mutex_lock(&x->mu);
    for (;;) {
        if (!x->stop && x->count < x->o.batch_max) {
            struct timespec dl;
            clock_gettime(CLOCK_REALTIME, &dl);
            dl.tv_sec += x->o.interval_ms / 1000;
            dl.tv_nsec += (long)(x->o.interval_ms % 1000) * 1000000L;
            if (dl.tv_nsec >= 1000000000L)
                dl.tv_sec++, dl.tv_nsec -= 1000000000L;
            while (!x->stop && x->count < x->o.batch_max &&
                   pthread_cond_timedwait(&x->cv, &x->mu, &dl) != ETIMEDOUT)
                ;
        }
        int n = 0;
        while (batch != NULL && n < x->o.batch_max && x->count > 0) {
            batch[n++] = x->q[x->head];
            x->head = (x->head + 1) % x->o.queue_max;
            x->count--;
        }
        int stopping = x->stop && x->count == 0, failed = 0;
        pthread_mutex_unlock(&x->mu);
        if (n > 0 && c != NULL)
            failed = otel_post(x, c, batch, n) != 0;
        else if (n > 0)
            atomic_fetch_add(&x->dropped, (unsigned long long)n);
        pthread_mutex_lock(&x->mu);
        if (x->stop && failed) { /* stopping with the collector away: one timeout, not one per batch */
            atomic_fetch_add(&x->dropped, (unsigned long long)x->count);
            x->count = 0;
            break;
        }
        if (stopping || (x->stop && (c == NULL || batch == NULL)))
            break;
    }
    pthread_mutex_unlock(&x->mu);
    free(batch);
    if (c)
        curl_easy_cleanup(c);
    return NULL;
}

static void otel_emit(void *self, const trc_span_t *s)
{
    otel_t *x = self;
    if (x == NULL || !(s->ctx.flags & 1))
        return; /* not sampled */
    pthread_mutex_lock(&x->mu);
    if (x->count == x->o.queue_max || x->stop) {
        atomic_fetch_add(&x->dropped, 1);
    } else {
        x->q[(x->head + x->count) % x->o.queue_max] = *s;
        x->count++;
        if (x->count == x->o.batch_max)
            pthread_cond_signal(&x->cv);
    }
    pthread_mutex_unlock(&x->mu);
}

trc_sink_t otel_sink(otel_t *x)
{
    trc_sink_t s = {x ? otel_emit : NULL, x};
    return s;
}

void otel_stats(const otel_t *x, uint64_t *sent, uint64_t *dropped)
{
    if (sent)
        *sent = x ? atomic_load(&x->sent) : 0;
    if (dropped)
        *dropped = x ? atomic_load(&x->dropped) : 0;
}

otel_t *otel_new(const otel_opts_t *o, char *err, size_t errlen)
{
    otel_t *x = calloc(1, sizeof *x);
    size_t el;
    if (x == NULL || o == NULL || o->endpoint == NULL || *o->endpoint == '\0') {
        free(x);
        errbuf_set(err, errlen, "tracing: no OTLP endpoint");
        return NULL;
    }
    if (strncmp(o->endpoint, "http://", 7) != 0 && strncmp(o->endpoint, "https://", 8) != 0) {
        free(x);
        errbuf_set(err, errlen, "tracing: OTLP endpoint '%s' is not an http:// or https:// URL", o->endpoint);
        return NULL;
    }
    x->o = *o;
    if (x->o.queue_max <= 0)
        x->o.queue_max = 2048;
    if (x->o.batch_max <= 0)
        x->o.batch_max = 512;
    if (x->o.batch_max > x->o.queue_max)
        x->o.batch_max = x->o.queue_max;
    if (x->o.interval_ms <= 0)
        x->o.interval_ms = 1000;
    if (x->o.timeout_ms <= 0)
        x->o.timeout_ms = 5000;
    el = strlen(o->endpoint);
    while (el > 0 && o->endpoint[el - 1] == '/')
        el--;
    x->url = malloc(el + 16);
    x->service = strdup(o->service ? o->service : "unknown");
    x->q = calloc((size_t)x->o.queue_max, sizeof *x->q);
    if (x->url == NULL || x->service == NULL || x->q == NULL) {
        free(x->url), free(x->service), free(x->q), free(x);
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    /* OTEL_EXPORTER_OTLP_ENDPOINT semantics: the base URL, /v1/traces appended */
    if (el >= 10 && strncmp(o->endpoint + el - 10, "/v1/traces", 10) == 0)
        snprintf(x->url, el + 16, "%.*s", (int)el, o->endpoint);
    else
        snprintf(x->url, el + 16, "%.*s/v1/traces", (int)el, o->endpoint);
    x->o.endpoint = x->url;
    x->o.service = x->service;
    pthread_mutex_init(&x->mu, NULL);
    pthread_cond_init(&x->cv, NULL);
    if (pthread_create(&x->th, NULL, otel_main, x) != 0) {
        pthread_mutex_destroy(&x->mu);
        pthread_cond_destroy(&x->cv);
        free(x->url), free(x->service), free(x->q), free(x);
        errbuf_set(err, errlen, "tracing: cannot start the exporter thread");
        return NULL;
    }
    return x;
}

void otel_free(otel_t *x)
{
    if (x == NULL)
        return;
    pthread_mutex_lock(&x->mu);
    x->stop = 1;
    pthread_cond_signal(&x->cv);
    pthread_mutex_unlock(&x->mu);
    pthread_join(x->th, NULL);
    pthread_mutex_destroy(&x->mu);
    pthread_cond_destroy(&x->cv);
    free(x->url);
    free(x->service);
    free(x->q);
    free(x);
}
