/* routes.h — the config-server's HTTP surface on top of common/httpd:
 *
 *   GET /{app}/{profiles}[/{label}]              JSON Environment (v2 values on request)
 *   GET /{app}-{profiles}.yml|.yaml|.properties|.json   merged document
 *   GET /{label}/{app}-{profiles}.{ext}          the same for a label
 *   GET /{app}/{profiles}/{label}/{path…}        a plain-text file (http/plaintext.h)
 *   GET /{app}/{profiles}/{path…}?useDefaultLabel  the same at the default label
 *   GET /actuator/health, /health                status + snapshot age + last reload error
 *   GET /actuator/health/liveness, …/readiness   {"status":"UP"} (probes: never need credentials)
 *   GET /encrypt/status, POST /encrypt, /decrypt[/{app}/{profiles}], GET /key…
 *                                                Spring's encryption endpoints (http/encrypt.c)
 *
 * Every name segment is fully decoded and allow-listed (repo/pathsafe.h): traversal
 * attempts get 400 problem+json; `{app}` may list several applications (`a,b`) and a
 * label may spell "/" as Spring's "(_)". An empty segment (a trailing slash) is 404, as
 * Spring's. A plain-text {path} is one or more segments, each decoded the same way and
 * checked by cs_http_text_path_ok: no hidden or "."/".." component, no "\", NUL, control
 * character or invalid UTF-8. The JSON Environment honours Accept as Spring does: application/json or the
 * v2 media type (answered as such), 406 for anything else (text/html …). Unknown label
 * → 404; a request no file applies to (not even application*.yml) → 404 unless
 * `accept_empty` (Spring's 200 with no property sources). A placeholder cycle in a flat
 * form → 400 naming it. The ETag identifies the resolved environment (http/answer.h);
 * If-None-Match → 304, or with ?wait= a long poll (http/watchreq.h). Who may read what:
 * http/guard.h.
 */
#ifndef CS_ROUTES_H
#define CS_ROUTES_H

#include <stddef.h>

#include "clog.h"
#include "auth/access.h"
#include "crypto/keys.h"
#include "env/environment.h"
#include "env/searchpath.h"
#include "httpd.h"
#include "repo/pathsafe.h"
#include "repo/store.h"

enum { CS_FMT_YAML = 0, CS_FMT_PROPERTIES, CS_FMT_JSON };
enum {
    CS_REQ_ENV = 0,
    CS_REQ_FLAT,
    CS_REQ_HEALTH,
    CS_REQ_PROBE,
    CS_REQ_ENCRYPT_STATUS,
    CS_REQ_KEY,
    CS_REQ_TEXT
};

#define CS_TEXT_PATH_MAX 1024 /* the longest plain-text {path}, decoded */

typedef struct cs_req {
    int kind;
    int fmt;        /* CS_REQ_FLAT */
    char app[1025]; /* one name, or a comma list of them */
    char profiles[1025];
    char label[CS_PATH_NAME_MAX + 1]; /* "" when not given; "/" for Spring's "(_)" */
    char path[CS_TEXT_PATH_MAX + 1];  /* CS_REQ_TEXT: the decoded file path, "nginx/nginx.conf" */
} cs_req_t;

/* Parses a raw request path (no query). Returns 0, or the HTTP status to answer (400 or
 * 404) with the reason in `why`. */
int cs_http_parse(const char *path, cs_req_t *out, char *why, size_t whylen);
/* The same with the raw query string `query` (NULL or ""): Spring's `useDefaultLabel`
 * parameter makes /{app}/{profiles}/{path…} a plain-text request at the default label. */
int cs_http_parse_query(const char *path, const char *query, cs_req_t *out, char *why, size_t whylen);
/* 1 when the decoded `path` may name a plain-text file: "/"-separated components, none
 * empty, hidden (".x", ".", ".."), or holding "\", "#", "?", "%", NUL, a control
 * character or invalid UTF-8; at most CS_TEXT_PATH_MAX bytes. */
int cs_http_text_path_ok(const char *path);

typedef struct cs_http {
    cs_store_t store;    /* borrowed: the backend (folder or git) */
    cs_srcnames_t names; /* borrowed strings: how property sources are named */
    int accept_empty;
    cs_access_t *access;             /* borrowed: who may read what (auth/access.h; open = no auth) */
    const clog_t *log;               /* borrowed, may be NULL */
    const cs_keys_t *keys;           /* borrowed: the {cipher} keys, NULL = none (cs_http_set_keys) */
    struct cs_hub *hub;              /* borrowed: holds watch requests (http/watchreq.h), NULL = none */
    long watch_max_ms;               /* the longest ?wait= (default 60 s) */
    size_t max_file_bytes;           /* the largest plain-text file served (default 1 MiB) */
    const cs_overrides_t *overrides; /* borrowed: served to every client (env/overrides.h), NULL = none */
    const cs_searchpaths_t *search_paths; /* borrowed: the search paths, NULL = none */
} cs_http_t;

/* Sets up the handler context (`access` borrowed). */
void cs_http_init(cs_http_t *h, cs_store_t store, cs_srcnames_t names, int accept_empty, cs_access_t *access,
                  const clog_t *log);
/* Sets the key that decrypts {cipher} values and serves /encrypt, /decrypt (NULL: none). */
void cs_http_set_keys(cs_http_t *h, const cs_keys_t *keys);

/* The label to lease the snapshot of `r` with: with search paths on the folder backend the
 * root (the label's folders are looked up by cs_http_locations), else the request's. */
const char *cs_http_lease_label(const cs_http_t *h, const cs_req_t *r);
/* How the property sources of the leased repository are named: the lease's (several git
 * repositories), else the server's. */
const cs_srcnames_t *cs_http_names(const cs_http_t *h, const cs_lease_t *l);
/* The locations request `r` reads in the leased `l` (env/searchpath.h), lowest precedence
 * first. 0, or 404 with `why` when the label names no folder (search paths only). */
int cs_http_locations(const cs_http_t *h, const cs_lease_t *l, const cs_req_t *r, char *const *apps,
                      size_t na, char *const *profiles, size_t np, cs_locs_t *out, char *why, size_t whylen);

/* GET /key and /key/{name}/{profiles}: the default key's public form, as Spring's
 * (text/plain; 404 NOT_FOUND for a symmetric key). The caller checked h->keys. */
int cs_http_send_key(cs_http_t *h, h2o_req_t *req);
/* httpd handler for POST /encrypt… and /decrypt… (http/encrypt.c; ctx = cs_http_t *). */
int cs_http_encrypt(void *ctx, h2o_req_t *req);
/* Spring's error body of the encryption endpoints, {"description","status"} as JSON. */
int cs_http_send_crypt_error(h2o_req_t *req, int status, const char *code, const char *description);

#endif
