/* cfgcli_fetch.c — fetching the configuration: one GET per try (cfgcli_http.c), rounds
 * over the comma list of URLs (failover), exponential backoff with jitter between rounds, a
 * final answer on 4xx, and the last-known-good cache (cfgcli_cache.c) when no server answers.
 */
#include "cfgcli_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

/* Cache side (cfgcli_cache.c). */
int cfgcli_cache_write(const cfgcli_opts_t *o, const json_t *doc, const char *url, char *err, size_t errlen);
cfgcli_t *cfgcli_cache_load(const cfgcli_opts_t *o, const clog_t *log, char *err, size_t errlen);

/* What a successful try brings besides the document. */
typedef struct fetch_meta {
    char *used; /* owned: the base URL that answered, as shown */
    char etag[256];
    long watch_max;
} fetch_meta_t;

/* One GET of the configuration from base URL [b, e). On CFGCLI_TRY_OK *doc is an owned
 * Environment document and *m is filled. */
static cfgcli_try_t try_url(const cfgcli_opts_t *o, const char *b, const char *e, json_t **doc,
                            fetch_meta_t *m, char *err, size_t errlen)
{
    cfgcli_req_t r;
    if (cfgcli_req_init(&r, o, b, (size_t)(e - b), NULL, 0, err, errlen) != 0)
        return CFGCLI_TRY_FINAL;
    cfgcli_try_t rc = cfgcli_req_result(&r, o, curl_easy_perform(r.h), doc, err, errlen);
    if (rc == CFGCLI_TRY_SAME) { /* no If-None-Match was sent: not an answer we can use */
        errbuf_set(err, errlen, "%s: HTTP 304 to an unconditional request", r.shown);
        rc = CFGCLI_TRY_RETRY;
    }
    if (rc == CFGCLI_TRY_OK) {
        snprintf(m->etag, sizeof m->etag, "%s", r.etag);
        m->watch_max = r.watch_max;
        m->used = strdup(r.base_shown);
        if (m->used == NULL) {
            json_decref(*doc);
            *doc = NULL;
            errbuf_set(err, errlen, "out of memory");
            rc = CFGCLI_TRY_FINAL;
        }
    }
    cfgcli_req_free(&r);
    return rc;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Tries every URL of the list once. CFGCLI_TRY_OK fills *doc and *m. */
static cfgcli_try_t one_round(const cfgcli_opts_t *o, const clog_t *log, int round, json_t **doc,
                              fetch_meta_t *m, char *err, size_t errlen)
{
    cfgcli_try_t rc = CFGCLI_TRY_RETRY;
    const char *p = o->urls, *b, *e;
    while (cfgcli_url_next(&p, &b, &e) == 0) {
        rc = try_url(o, b, e, doc, m, err, errlen);
        if (rc == CFGCLI_TRY_OK)
            break;
        if (log)
            clog_ev(log, CLOG_WARN, json_pack("{s:i, s:i}", "attempt", round, "max_attempts", o->attempts),
                    "config fetch failed: %s", err);
        if (rc == CFGCLI_TRY_FINAL)
            break;
    }
    return rc;
}

cfgcli_t *cfgcli_fetch(const cfgcli_opts_t *o, const clog_t *log, char *err, size_t errlen)
{
    char last[1024] = "no config server URL given";
    cfgcli_t *c = NULL;
    json_t *doc = NULL;
    fetch_meta_t m = {.used = NULL, .watch_max = -1};
    cfgcli_try_t rc = CFGCLI_TRY_RETRY;
    int attempts = o->attempts < 1 ? 1 : o->attempts;
    int round = 0;
    if (o->app[0] == '\0') {
        errbuf_set(err, errlen, "config client: no application name");
        return NULL;
    }
    if (cfgcli_url_count(o->urls) == 0) {
        errbuf_set(err, errlen, "config client: CONFIG_SERVER_URL is empty");
        return NULL;
    }
    for (round = 1; round <= attempts; round++) {
        rc = one_round(o, log, round, &doc, &m, last, sizeof last);
        if (rc != CFGCLI_TRY_RETRY)
            break;
        if (round < attempts) {
            long d = cfgcli_backoff_ms(o, round, cfgcli_rand32());
            if (log)
                clog_ev(log, CLOG_INFO,
                        json_pack("{s:i, s:I}", "attempt", round, "retry_in_ms", (json_int_t)d),
                        "config server not available yet, retrying");
            sleep_ms(d);
        }
    }
    if (rc == CFGCLI_TRY_OK) {
        char cerr[512];
        c = cfgcli_build(o, doc, m.used, "configserver:", err, errlen);
        if (c != NULL && cfgcli_set_http_meta(c, m.etag, m.watch_max) != 0) {
            cfgcli_free(c);
            c = NULL;
            errbuf_set(err, errlen, "out of memory");
        }
        if (c != NULL && o->cache_file[0] && cfgcli_cache_write(o, doc, m.used, cerr, sizeof cerr) < 0 && log)
            clog_warn(log, "config cache not written: %s", cerr);
        if (c != NULL && log)
            clog_ev(log, CLOG_INFO,
                    json_pack("{s:s, s:s, s:s, s:I}", "url", m.used, "profiles", o->profiles, "version",
                              cfgcli_version(c), "keys", (json_int_t)cfgcli_count(c)),
                    "configuration loaded from config server");
        goto cleanup;
    }
    if (rc == CFGCLI_TRY_FINAL) {
        errbuf_set(err, errlen, "config server refused the request: %s", last);
        goto cleanup;
    }
    /* no server answered: last-known-good cache */
    if (o->cache_file[0]) {
        char cerr[600];
        c = cfgcli_cache_load(o, log, cerr, sizeof cerr);
        if (c == NULL)
            errbuf_set(err, errlen, "config server unavailable after %d attempts; last error: %s; cache: %s",
                       attempts, last, cerr);
    } else {
        errbuf_set(err, errlen, "config server unavailable after %d attempts; last error: %s (no cache file)",
                   attempts, last);
    }
cleanup:
    json_decref(doc);
    free(m.used);
    return c;
}
