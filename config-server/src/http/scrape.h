/* scrape.h — config-server's GET /metrics (Prometheus text format): the HTTP and process
 * metrics every program exports (common/http/httpd_metrics.h) and config-server's own,
 * read from the store and the watch hub at each scrape:
 *   config_server_snapshot_age_seconds   since the served snapshot was loaded (folder) or
 *                                         the last good fetch (git)
 *   config_server_reloads_total          folder re-reads that changed what is served
 *   config_server_fetches_total          git fetches tried
 *   config_server_fetch_failures         git fetches failed in a row now
 *   config_server_degraded               1 while it serves an older state than it should
 *   config_server_broken_files           files of the served snapshot that do not parse
 *   config_server_snapshots_cached       git: commit snapshots in the LRU
 *   config_server_watchers               watch requests (long polls) held now
 * Open like /actuator/health (no configuration is in it). */
#ifndef CS_HTTP_SCRAPE_H
#define CS_HTTP_SCRAPE_H

#include "httpd.h"
#include "http/routes.h"
#include "metrics.h"

typedef struct cs_scrape {
    metrics_t *metrics; /* borrowed */
    cs_http_t *http;    /* borrowed: the store, the hub, and where /metrics/… (an app named metrics) goes */
} cs_scrape_t;

/* Declares config-server's families on m (with the HTTP and process ones). */
void cs_scrape_declare(metrics_t *m, const char *version);
/* httpd handler for GET /metrics (ctx = cs_scrape_t *). */
int cs_scrape_handle(void *ctx, h2o_req_t *req);

#endif
