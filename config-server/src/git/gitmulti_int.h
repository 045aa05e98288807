/* gitmulti_int.h — the insides of the several-repositories store (gitmulti.h), shared by
 * gitmulti.c (open, close: the declared repositories and their mirrors) and
 * gitmulti_store.c (the store port: picking a repository, the {application} mirrors'
 * LRU, health, webhook routing). Not for other modules.
 */
#ifndef CS_GITMULTI_INT_H
#define CS_GITMULTI_INT_H

#include <pthread.h>
#include <stdint.h>

#include "git/gitlru.h"
#include "git/gitmulti.h"
#include "git/gitpattern.h"
#include "git/gitrepo.h"

#define RETRY_FAILED_MS 10000
#define NFAILED 32 /* URIs whose clone failed, remembered for RETRY_FAILED_MS */

enum { ENT_OPENING = 0, ENT_READY, ENT_FAILED };

typedef struct cs_gitdef cs_gitdef_t;

/* One open mirror: a declared repository's, or one URI a template resolved to. */
typedef struct cs_gitent {
    cs_glru_node_t node; /* templates: key = the resolved URI (owned) */
    cs_gitdef_t *def;
    cs_gitrepo_t g;
    cs_srcnames_t names; /* borrowed from g */
    int state, gopen;
    char *error; /* owned: why it cannot be cloned (ENT_FAILED) */
} cs_gitent_t;

/* A URI whose clone failed lately: asked again within RETRY_FAILED_MS, the same answer. */
typedef struct failed_uri {
    char *key;   /* owned */
    char *error; /* owned */
    int64_t at_ms;
} failed_uri_t;

/* One declared repository (or the default, last). */
struct cs_gitdef {
    char *name; /* owned */
    cs_gpat_t pat;
    char *uri; /* owned: may be a template */
    int templated, has_profile;
    char *default_label; /* owned */
    int refresh_s, timeout_s;
    cs_gitm_cred_t cred; /* owned: copied into each mirror */
    cs_searchpaths_t sp; /* owned; n == 0: none */
    cs_gitent_t *fixed;  /* owned: the mirror of a URI without placeholders */
};

struct cs_gitmulti {
    cs_gitdef_t *defs; /* owned: the declared ones in order, then the default */
    size_t ndefs;
    char *basedir; /* owned */
    int own_basedir;
    size_t cache_max;
    cs_snap_limits_t lim;
    const clog_t *log;
    pthread_mutex_t mu; /* the LRU, the entries' state, started, on_change */
    pthread_cond_t cv;  /* an entry left ENT_OPENING */
    cs_glru_t lru;
    failed_uri_t failed[NFAILED]; /* a ring */
    size_t nextfail;
    size_t opening; /* entries being cloned: not counted against the bound until they are */
    int started;
    void (*on_change)(void *);
    void *on_change_ctx;
};

/* The lease token: the mirror and its own lease. */
typedef struct cs_gitmulti_lease {
    cs_gitent_t *e;
    cs_lease_t inner;
} cs_gitmulti_lease_t;

/* Opens the mirror of `uri` for `d` in `dir` into e->g (`dyn`: its folder is removed at
 * close). 0, or -1 with `err`. */
int cs_gitmulti_ent_open(cs_gitmulti_t *m, cs_gitdef_t *d, cs_gitent_t *e, const char *uri, const char *dir,
                         int dyn, char *err, size_t errlen);
/* Closes and frees an entry (no lease outstanding). NULL-safe. */
void cs_gitmulti_ent_free(cs_gitent_t *e);

#endif
