/* scrape.c — config-server's GET /metrics. See scrape.h. */
#include "http/scrape.h"

#include <string.h>

#include <jansson.h>

#include "http/handler.h"
#include "httpd_metrics.h"
#include "watch/hub.h"

void cs_scrape_declare(metrics_t *m, const char *version)
{
    httpd_metrics_declare(m, "config-server", version);
    metrics_declare(m, "config_server_snapshot_age_seconds", METRICS_GAUGE,
                    "Since the served snapshot was loaded (folder) or last fetched (git).", NULL, 0);
    metrics_declare(m, "config_server_reloads_total", METRICS_COUNTER,
                    "Folder backend: re-reads that changed what is served.", NULL, 0);
    metrics_declare(m, "config_server_fetches_total", METRICS_COUNTER, "Git backend: fetches tried.", NULL,
                    0);
    metrics_declare(m, "config_server_fetch_failures", METRICS_GAUGE,
                    "Git backend: fetches failed in a row now (0 after a good one).", NULL, 0);
    metrics_declare(m, "config_server_degraded", METRICS_GAUGE,
                    "1 while an older state than the repository's is served (reload or fetch failing, broken "
                    "files).",
                    NULL, 0);
    metrics_declare(m, "config_server_broken_files", METRICS_GAUGE,
                    "Files of the served snapshot that do not parse.", NULL, 0);
    metrics_declare(m, "config_server_snapshots_cached", METRICS_GAUGE,
                    "Git backend: commit snapshots cached.", NULL, 0);
    metrics_declare(m, "config_server_watchers", METRICS_GAUGE, "Watch requests (long polls) held now.", NULL,
                    0);
}

/* A number of the health details, or -1 when absent. */
static double num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : -1;
}

int cs_scrape_handle(void *ctx, h2o_req_t *req)
{
    const cs_scrape_t *mh = ctx;
    metrics_t *m = mh->metrics;
    const cs_store_t *store = &mh->http->store;
    int degraded = 0;
    json_t *d;
    double v;
    if (strcmp(httpd_path(req), "/metrics") != 0) /* /metrics/{profile}…: an application named metrics */
        return cs_http_handle(mh->http, req);
    d = store->ops->health(store->ctx, &degraded);
    if ((v = num(d, "ageSeconds")) >= 0)
        metrics_set(m, "config_server_snapshot_age_seconds", NULL, v);
    if ((v = num(d, "reloads")) >= 0)
        metrics_raise(m, "config_server_reloads_total", NULL, v);
    if ((v = num(d, "fetches")) >= 0)
        metrics_raise(m, "config_server_fetches_total", NULL, v);
    if ((v = num(d, "failedFetches")) >= 0)
        metrics_set(m, "config_server_fetch_failures", NULL, v);
    metrics_set(m, "config_server_degraded", NULL, degraded);
    metrics_set(m, "config_server_broken_files", NULL,
                (double)json_array_size(json_object_get(d, "brokenFiles")));
    if ((v = num(json_object_get(d, "snapshots"), "cached")) >= 0)
        metrics_set(m, "config_server_snapshots_cached", NULL, v);
    json_decref(d);
    if (mh->http->hub != NULL)
        metrics_set(m, "config_server_watchers", NULL, (double)cs_hub_waiters(mh->http->hub));
    return httpd_send_metrics(req, m);
}
