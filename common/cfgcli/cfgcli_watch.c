/* cfgcli_watch.c — the config client's watcher (see cfgcli.h): one thread that long-polls
 * the config-server (If-None-Match + ?wait=, when the server offers it with
 * X-Config-Watch-Max) or polls it with conditional GETs every watch_interval_ms, fails
 * over and backs off like the start-up fetch, and hands each new configuration to the
 * service's callback. Every wait — the request itself and the pauses between requests —
 * is a curl_multi_poll that cfgcli_watch_stop interrupts with curl_multi_wakeup.
 */
#include "cfgcli_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Cache side (cfgcli_cache.c). */
int cfgcli_cache_write(const cfgcli_opts_t *o, const json_t *doc, const char *url, char *err, size_t errlen);

/* A 304 to a long poll sooner than this is not a wait that ended: the server is going away
 * (the watch contract answers held requests 304 at shutdown) — ask the next URL. */
#define CFGCLI_WATCH_EARLY_MS 1000
#define CFGCLI_WATCH_EARLY_PAUSE_MS 200

struct cfgcli_watch {
    cfgcli_opts_t o;
    cfgcli_watch_fn fn;
    void *ud;
    const clog_t *log;
    CURLM *multi;
    pthread_t thread;
    atomic_int stop;
    /* watcher thread only */
    char etag[256];
    long server_max; /* X-Config-Watch-Max of the last answer, -1: poll */
    int idx, nurls;
    json_t *last_doc; /* the last document handed on (owned) */
    /* status, under mu */
    pthread_mutex_t mu;
    int long_poll;
    char url[1024];
    char last_error[1024];
    long long last_error_at;
    int failures;
};

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits `ms` or until stopped. */
static void pause_ms(cfgcli_watch_t *w, long ms)
{
    long long end = mono_ms() + ms;
    while (!atomic_load(&w->stop)) {
        long long left = end - mono_ms();
        if (left <= 0)
            break;
        curl_multi_poll(w->multi, NULL, 0, (int)(left > 1000 ? 1000 : left), NULL);
    }
}

/* Runs `h` to its end on the multi handle. Returns its CURLcode, or -1 when stopped. */
static int perform(cfgcli_watch_t *w, CURL *h)
{
    int running = 1, q;
    CURLcode res = CURLE_FAILED_INIT;
    if (curl_multi_add_handle(w->multi, h) != CURLM_OK)
        return CURLE_FAILED_INIT;
    while (!atomic_load(&w->stop)) {
        if (curl_multi_perform(w->multi, &running) != CURLM_OK || running == 0)
            break;
        curl_multi_poll(w->multi, NULL, 0, 1000, NULL);
    }
    CURLMsg *m;
    while ((m = curl_multi_info_read(w->multi, &q)) != NULL)
        if (m->msg == CURLMSG_DONE && m->easy_handle == h)
            res = m->data.result;
    curl_multi_remove_handle(w->multi, h);
    return atomic_load(&w->stop) ? -1 : (int)res;
}

/* The base URL number `idx` of the list as [*b, *e). */
static void url_at(const char *list, int idx, const char **b, const char **e)
{
    const char *p = list;
    for (int i = 0; cfgcli_url_next(&p, b, e) == 0 && i < idx; i++)
        ;
}

static void note_mode(cfgcli_watch_t *w, const cfgcli_req_t *r, long wait_s)
{
    int lp = w->server_max > 0;
    int changed;
    pthread_mutex_lock(&w->mu);
    changed = lp != w->long_poll || strcmp(w->url, r->base_shown) != 0;
    w->long_poll = lp;
    snprintf(w->url, sizeof w->url, "%s", r->base_shown);
    pthread_mutex_unlock(&w->mu);
    if (!changed || w->log == NULL)
        return;
    if (lp)
        clog_info(w->log, "config watch: long polls to %s (the server holds them up to %ld s, asked %ld s)",
                  r->base_shown, w->server_max, wait_s > 0 ? wait_s : w->o.watch_wait_s);
    else
        clog_info(w->log, "config watch: %s offers no watch; a conditional GET every %ld ms", r->base_shown,
                  w->o.watch_interval_ms);
}

static void note_ok(cfgcli_watch_t *w)
{
    int was;
    pthread_mutex_lock(&w->mu);
    was = w->failures;
    w->failures = 0;
    pthread_mutex_unlock(&w->mu);
    if (was > 0 && w->log != NULL)
        clog_info(w->log, "config watch: %s answers again (after %d failed request(s))", w->url, was);
}

static int note_error(cfgcli_watch_t *w, const char *err)
{
    int n;
    pthread_mutex_lock(&w->mu);
    snprintf(w->last_error, sizeof w->last_error, "%s", err);
    w->last_error_at = wall_ms();
    n = ++w->failures;
    pthread_mutex_unlock(&w->mu);
    if (w->log != NULL)
        clog_msg(w->log, n == 1 ? CLOG_WARN : CLOG_DEBUG, "config watch: %s (failure %d in a row)", err, n);
    return n;
}

/* A 200: builds the configuration and hands it on (unless the document is the last one). */
static void deliver(cfgcli_watch_t *w, const cfgcli_req_t *r, json_t *doc)
{
    char err[1024] = "", cerr[512];
    if (w->last_doc != NULL && json_equal(w->last_doc, doc)) {
        json_decref(doc);
        return;
    }
    cfgcli_t *c = cfgcli_build(&w->o, doc, r->base_shown, "configserver:", err, sizeof err);
    if (c != NULL && cfgcli_set_http_meta(c, r->etag, r->watch_max) != 0) {
        cfgcli_free(c);
        c = NULL;
        snprintf(err, sizeof err, "out of memory");
    }
    if (c != NULL && w->o.cache_file[0] &&
        cfgcli_cache_write(&w->o, doc, r->base_shown, cerr, sizeof cerr) < 0 && w->log)
        clog_warn(w->log, "config cache not written: %s", cerr);
    json_decref(w->last_doc);
    w->last_doc = doc;
    if (c != NULL && w->log != NULL)
        clog_ev(w->log, CLOG_INFO,
                json_pack("{s:s, s:s, s:I}", "url", r->base_shown, "version", cfgcli_version(c), "keys",
                          (json_int_t)cfgcli_count(c)),
                "config watch: a new configuration");
    w->fn(w->ud, c, c == NULL ? err : NULL);
}

static void *watch_main(void *arg)
{
    cfgcli_watch_t *w = arg;
    char err[1024];
    int fails = 0;
    while (!atomic_load(&w->stop)) {
        const char *b = NULL, *e = NULL;
        cfgcli_req_t r;
        json_t *doc = NULL;
        long wait_s =
            w->server_max > 0 ? (w->o.watch_wait_s < w->server_max ? w->o.watch_wait_s : w->server_max) : 0;
        url_at(w->o.urls, w->idx, &b, &e);
        if (cfgcli_req_init(&r, &w->o, b, (size_t)(e - b), w->etag, wait_s, err, sizeof err) != 0) {
            note_error(w, err);
            pause_ms(w, w->o.max_backoff_ms > 0 ? w->o.max_backoff_ms : 1000);
            continue;
        }
        long long t0 = mono_ms();
        int cc = perform(w, r.h);
        if (cc < 0) {
            cfgcli_req_free(&r);
            break;
        }
        cfgcli_try_t rc = cfgcli_req_result(&r, &w->o, (CURLcode)cc, &doc, err, sizeof err);
        if (rc == CFGCLI_TRY_OK || rc == CFGCLI_TRY_SAME) {
            fails = 0;
            if (rc == CFGCLI_TRY_OK || r.watch_max > 0) /* (a 304 stripped of it keeps the mode) */
                w->server_max = r.watch_max;
            note_mode(w, &r, wait_s);
            note_ok(w);
            if (rc == CFGCLI_TRY_OK) {
                snprintf(w->etag, sizeof w->etag, "%s", r.etag);
                deliver(w, &r, doc);
            } else if (wait_s > 0 && mono_ms() - t0 < CFGCLI_WATCH_EARLY_MS) {
                w->idx = (w->idx + 1) % w->nurls;
                pause_ms(w, CFGCLI_WATCH_EARLY_PAUSE_MS);
            }
            cfgcli_req_free(&r);
            if (w->server_max <= 0)
                pause_ms(w, w->o.watch_interval_ms);
            continue;
        }
        cfgcli_req_free(&r);
        note_error(w, err);
        fails++;
        w->idx = (w->idx + 1) % w->nurls;
        if (rc == CFGCLI_TRY_FINAL)
            pause_ms(w, w->o.max_backoff_ms > 0 ? w->o.max_backoff_ms : 1000);
        else if (fails % w->nurls == 0)
            pause_ms(w, cfgcli_backoff_ms(&w->o, fails / w->nurls, cfgcli_rand32()));
    }
    return NULL;
}

cfgcli_watch_t *cfgcli_watch_start(const cfgcli_opts_t *o, const cfgcli_t *current, cfgcli_watch_fn fn,
                                   void *ud, const clog_t *log, char *err, size_t errlen)
{
    cfgcli_watch_t *w = calloc(1, sizeof *w);
    if (w == NULL) {
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    w->o = *o;
    w->fn = fn;
    w->ud = ud;
    w->log = log;
    w->nurls = cfgcli_url_count(o->urls);
    w->server_max = current != NULL ? cfgcli_watch_max(current) : -1;
    w->long_poll = w->server_max > 0;
    if (current != NULL) {
        snprintf(w->etag, sizeof w->etag, "%s", cfgcli_etag(current));
        snprintf(w->url, sizeof w->url, "%s", cfgcli_origin(current));
    }
    if (w->o.watch_interval_ms < 50)
        w->o.watch_interval_ms = 50;
    if (w->o.watch_wait_s < 1)
        w->o.watch_wait_s = 1;
    atomic_init(&w->stop, 0);
    pthread_mutex_init(&w->mu, NULL);
    if (w->nurls == 0) {
        errbuf_set(err, errlen, "config watch: CONFIG_SERVER_URL is empty");
        goto fail;
    }
    w->multi = curl_multi_init();
    if (w->multi == NULL) {
        errbuf_set(err, errlen, "config watch: curl_multi_init failed");
        goto fail;
    }
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        errbuf_set(err, errlen, "config watch: cannot start its thread");
        goto fail;
    }
    if (log != NULL) {
        if (w->long_poll)
            clog_info(log, "config watch: long polls (up to %ld s each) to %s", w->o.watch_wait_s,
                      w->url[0] ? w->url : "the config server");
        else
            clog_info(
                log,
                "config watch: a conditional GET every %ld ms to %s (long polls once a server offers them)",
                w->o.watch_interval_ms, w->url[0] ? w->url : "the config server");
    }
    return w;
fail:
    if (w->multi)
        curl_multi_cleanup(w->multi);
    pthread_mutex_destroy(&w->mu);
    free(w);
    return NULL;
}

void cfgcli_watch_stop(cfgcli_watch_t *w)
{
    if (w == NULL)
        return;
    atomic_store(&w->stop, 1);
    curl_multi_wakeup(w->multi);
    pthread_join(w->thread, NULL);
    curl_multi_cleanup(w->multi);
    json_decref(w->last_doc);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

json_t *cfgcli_watch_status(cfgcli_watch_t *w)
{
    json_t *j;
    pthread_mutex_lock(&w->mu);
    j = json_pack("{s:s, s:s, s:i}", "mode", w->long_poll ? "long-poll" : "poll", "url", w->url, "failures",
                  w->failures);
    if (j != NULL && w->last_error[0] != '\0') {
        json_object_set_new(j, "lastError", json_string(w->last_error));
        json_object_set_new(j, "lastErrorAt", json_integer(w->last_error_at));
    }
    pthread_mutex_unlock(&w->mu);
    return j;
}
