/* monitor.h — POST /monitor (Spring Cloud Config Monitor's webhook endpoint; monitor.c
 * has the payloads, the validation and the answer).
 */
#ifndef CS_MONITOR_H
#define CS_MONITOR_H

#include "clog.h"
#include "http/peers.h"
#include "http/routes.h"
#include "httpd.h"
#include "repo/store.h"

typedef struct cs_monitor {
    const cs_store_t *store; /* borrowed: refreshed on every accepted request */
    const cs_http_t *http;   /* borrowed: its access table (an admin may call /monitor) */
    const char *secret;      /* borrowed: CONFIG_SERVER_MONITOR_SECRET, or NULL */
    const clog_t *log;       /* borrowed, may be NULL */
    cs_peers_t *peers;       /* borrowed: the other replicas (http/peers.h), or NULL */
} cs_monitor_t;

/* httpd handler for POST /monitor (ctx = cs_monitor_t *). */
int cs_monitor_handle(void *ctx, h2o_req_t *req);

#endif
