/* cfgcli_int.h — internals shared by the config client's files. Not a public API:
 * services include cfgcli.h only. Each file depends only on those below it
 * (scripts/check-layout.sh checks that no two depend on each other):
 *   cfgcli_store.c     the key store, metadata, JSON dump           (calls no other cfgcli file)
 *   cfgcli_env.c       env snapshot, relaxed binding, lookup, placeholders   → store
 *   cfgcli.c           the typed getters                             → env
 *   cfgcli_env_json.c  JSON Environment → a result                  → store, env
 *   cfgcli_yaml.c, cfgcli_opts.c, cfgcli_cache.c, cfgcli_fetch.c     on top of those
 *   (cfgcli_fetch.c → cfgcli_opts.c for cfgcli_opts_curl)
 */
#ifndef CQ_CFGCLI_INT_H
#define CQ_CFGCLI_INT_H

#include <jansson.h>

#include "cfgcli.h"
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
    char *origin;  /* owned */
    char *version; /* owned */
    int from_cache;
};

/* ---- cfgcli_store.c ---- */
/* Finds the entry for `key` (store only, no env). Borrowed or NULL. */
cfgcli_ent_t *cfgcli_find_ent(const cfgcli_t *c, const char *key);
/* Inserts or (when `overwrite`) replaces. 0, 1 (present and kept), -1 on OOM. */
int cfgcli_put(cfgcli_t *c, const char *key, const char *value, const char *source, int overwrite);

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

#endif
