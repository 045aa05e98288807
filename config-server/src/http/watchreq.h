/* watchreq.h — the environment endpoints' answer with the watch API (beyond Spring):
 *
 *   GET /{app}/{profiles}[/{label}]?wait=<duration>     (any environment form)
 *   If-None-Match: <the ETag of the previous answer>
 *
 * When the current ETag (http/answer.h: a hash of the resolved environment) is not listed
 * by If-None-Match the answer is the usual 200 at once. When it is, the request is held
 * (watch/hub.h: no thread per waiter) until the resolved environment changes — then 200
 * with the new body and ETag — or the wait ends: 304 with the ETag. Without `wait` (or
 * wait=0) nothing is held: 304 at once. <duration> is whole seconds ("30") or a number with
 * a unit: ms, s, m, h ("500ms", "30s", "2m"); longer than the server's cap is the cap
 * (--watch-max-s); anything else is 400 naming `wait`. Every environment answer carries
 * `X-Config-Watch-Max: <cap in seconds>`, so a client knows it may long-poll. Shutdown
 * answers the held requests 304 at once.
 */
#ifndef CS_WATCHREQ_H
#define CS_WATCHREQ_H

#include "http/routes.h"
#include "watch/hub.h"

/* Parses the `wait` query parameter of the raw query `query`: 0 (absent) or 1 with *ms
 * set (capped at max_ms), or -1 when malformed (`why` says how). */
int cs_watch_wait_param(const char *query, long max_ms, long *ms, char *why, size_t whylen);

/* 1 when the If-None-Match value `inm` lists `etag` (quoted, W/ allowed) or is "*". */
int cs_watch_etag_matches(const char *inm, const char *etag);

/* Answers the parsed environment request `r` (after auth and content negotiation): 200,
 * 304, a problem, or held (returns HTTPD_LATER). */
int cs_http_watch(cs_http_t *h, h2o_req_t *req, const cs_req_t *r, int v2, int resolve);

/* The hub's operations on a cs_http_t (ctx), for cs_hub_new. */
extern const cs_hub_ops_t cs_watch_hub_ops;

#endif
