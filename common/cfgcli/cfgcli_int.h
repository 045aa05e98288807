/* cfgcli_int.h — internals shared by the config client's files. Not a public API:
 * services include cfgcli.h only. Each file depends only on those below it
 * (scripts/check-layout.sh checks that no two depend on each other):
 *   cfgcli_store.c     the key store, metadata, JSON dump           (calls no other cfgcli file)
 *   cfgcli_env.c       env snapshot, relaxed binding, lookup, placeholders   → store
 *   cfgcli.c           the typed getters                             → env
 *   cfgcli_env_json.c  JSON Environment → a result                  → store, env
 *   cfgcli_yaml.c, cfgcli_opts.c, cfgcli_cache.c                     on top of those
 *   cfgcli_http.c      one GET (URL, headers, answer → document)     → yaml, opts
 *   cfgcli_fetch.c     the start-up fetch: rounds, backoff, cache    → http, cache, opts
 *   cfgcli_watch.c     the watcher thread                            → http, env_json, cache, opts
 */
#ifndef CQ_CFGCLI_INT_H
#define CQ_CFGCLI_INT_H

#include <curl/curl.h>
#include <jansson.h>

#include "cfgcli.h"
#include "dbuf.h"
#include "errbuf.h"

typedef struct cfgcli_ent {
    char *key;      /* owned */
    char *value;    /* owned */
    char *source;   /* owned */
    int unresolved; /* 1: value still holds a ${...} that nothing could resolve */
} cfgcli_ent_t;

typedef struct cfgcli_envvar {
    char *name;   /* owned */
    char *value;  /* owned */
    char *source; /* owned: "env:NAME" */
} cfgcli_envvar_t;

struct cfgcli {
    cfgcli_ent_t *ents; /* owned, sorted by key (strcmp) */
    size_t n, cap;
    cfgcli_envvar_t *env; /* owned snapshot, sorted by name; consulted when use_env */
    size_t nenv;
    int use_env;
    char *origin;   /* owned */
    char *version;  /* owned */
    char *etag;     /* owned: the answer's ETag, "" when none */
    long watch_max; /* the answer's X-Config-Watch-Max (s), -1 when absent */
    int from_cache;
};

/* ---- cfgcli_store.c ---- */
/* Finds the entry for `key` (store only, no env). Borrowed or NULL. */
cfgcli_ent_t *cfgcli_find_ent(const cfgcli_t *c, const char *key);
/* Inserts or (when `overwrite`) replaces. 0, 1 (present and kept), -1 on OOM. */
int cfgcli_put(cfgcli_t *c, const char *key, const char *value, const char *source, int overwrite);

/* Sets the ETag and X-Config-Watch-Max a result came with (etag borrowed, copied). 0 or -1 (OOM). */
int cfgcli_set_http_meta(cfgcli_t *c, const char *etag, long watch_max);

/* ---- cfgcli_env.c ---- */
/* Store first, then (use_env) the env var named by relaxed binding. 0 found / -1 absent.
 * Outputs are borrowed; `unresolved` may be NULL. */
int cfgcli_lookup(const cfgcli_t *c, const char *key, const char **val, const char **src, int *unresolved);
/* Copies `envp` (NULL → environ) into c->env. 0 or -1 (OOM). */
int cfgcli_env_snapshot(cfgcli_t *c, char *const *envp);
/* The snapshot's variable `name` exactly, or NULL. Borrowed. */
const cfgcli_envvar_t *cfgcli_env_find(const cfgcli_t *c, const char *name);
/* The variable that sets `key` by relaxed binding (cfgcli_env_name, then
 * cfgcli_env_name_spring), or NULL. Borrowed. */
const cfgcli_envvar_t *cfgcli_env_for_key(const cfgcli_t *c, const char *key);
/* Replaces the value of every key whose relaxed env name is set. 0 or -1 (OOM). */
int cfgcli_apply_overrides(cfgcli_t *c);
/* Resolves ${name:default} in every value. 0 or -1 (OOM, err set). */
int cfgcli_resolve_all(cfgcli_t *c, char *err, size_t errlen);

/* ---- cfgcli_opts.c ---- */
/* Sets what every request to config-server carries on the libcurl easy handle `curl` (a
 * CURL *): Basic credentials, the CA file, the client certificate and key of `o`. */
void cfgcli_opts_curl(void *curl, const cfgcli_opts_t *o);

/* ---- cfgcli_env_json.c ---- */
/* Builds a result from a parsed JSON Environment (`doc` borrowed). Source names are
 * `src_prefix` + the propertySource name. Owned result or NULL + err. */
cfgcli_t *cfgcli_build(const cfgcli_opts_t *o, const json_t *doc, const char *origin, const char *src_prefix,
                       char *err, size_t errlen);
/* Text form of a JSON scalar (malloc'ed), NULL on OOM. */
char *cfgcli_json_text(const json_t *v);

/* ---- cfgcli_opts.c ---- */
/* A uniform random 32-bit value (getrandom, else the clock), for backoff jitter. */
uint32_t cfgcli_rand32(void);

/* ---- cfgcli_http.c ---- */
typedef enum {
    CFGCLI_TRY_OK = 0,    /* a document */
    CFGCLI_TRY_RETRY = 1, /* no answer, 5xx, 408/429, an unusable body: another try may help */
    CFGCLI_TRY_FINAL = 2, /* the server refused (4xx): asking again will not help */
    CFGCLI_TRY_SAME = 3,  /* 304: the If-None-Match ETag is still current */
} cfgcli_try_t;

/* The next non-blank entry of the comma list at *p, trimmed, as [*b, *e); advances *p.
 * 0, or -1 at the end of the list. */
int cfgcli_url_next(const char **p, const char **b, const char **e);
/* The number of non-blank entries of the comma list. */
int cfgcli_url_count(const char *list);

/* One prepared GET of the configuration (cfgcli_req_init → perform r.h → cfgcli_req_result
 * → cfgcli_req_free). */
typedef struct cfgcli_req {
    CURL *h; /* owned; the caller performs it (easy or multi) */
    struct curl_slist *hdrs;
    dbuf_t body;
    char cerr[CURL_ERROR_SIZE];
    char base_shown[1024]; /* the base URL without inline credentials */
    char shown[9216];      /* the request URL without inline credentials */
    char etag[256];        /* the answer's ETag ("" when none) */
    long watch_max;        /* the answer's X-Config-Watch-Max, -1 when absent */
} cfgcli_req_t;

/* Prepares the GET of o's configuration from base URL `base` (blen bytes): If-None-Match
 * `etag` when non-empty (may be NULL), `?wait=<wait_s>s` when wait_s > 0 (the timeout grows
 * by the wait). 0, or -1 with err (nothing to free). */
int cfgcli_req_init(cfgcli_req_t *r, const cfgcli_opts_t *o, const char *base, size_t blen, const char *etag,
                    long wait_s, char *err, size_t errlen);
/* Reads the answer of the performed request (`cc` its CURLcode): CFGCLI_TRY_OK with *doc
 * (owned Environment document), CFGCLI_TRY_SAME, or RETRY/FINAL with err naming the URL. */
cfgcli_try_t cfgcli_req_result(cfgcli_req_t *r, const cfgcli_opts_t *o, CURLcode cc, json_t **doc, char *err,
                               size_t errlen);
void cfgcli_req_free(cfgcli_req_t *r);

#endif
