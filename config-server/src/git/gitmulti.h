/* gitmulti.h — several git repositories behind one store port (repo/store.h), as Spring
 * Cloud Config's MultipleJGitEnvironmentRepository: the repositories of --git-repos-file
 * (gitrepos.h), each picked by its patterns, and the default one (--repo-uri).
 *
 * Which repository serves a request (Spring's findOne): the declared repositories in the
 * file's order; one whose patterns match (gitpattern.h) is asked — once per profile, the
 * last profile first, when its URI has {profile} — and serves the request when its
 * patterns match the whole profile list and it has the label; otherwise (no match, the
 * repository cannot be cloned, no such label) the next one is asked, and finally the
 * default repository, whose answer (an unknown label: 404) is the answer.
 *
 * A URI with {application}, {profile} or {label} is a template: each distinct URI it
 * resolves to is its own bare mirror, cloned on the first request that needs it (that
 * request waits for the clone, as Spring's does), fetched by its own fetcher thread, and
 * kept in an LRU of at most `mirrors_max`; an evicted mirror's folder is removed. A
 * remote that cannot be cloned is remembered for 10 s (that request and the ones within
 * the 10 s get 404 naming the error), so a burst for an unknown application does not
 * become a burst of clones. Mirrors without placeholders are cloned at start.
 *
 * Each repository has its own credentials (else the default's, as Spring), default label,
 * search paths (its own: Spring does not inherit them), refresh interval and timeout (else
 * the server's), and its property sources are named by its own URI. POST /monitor fetches
 * the repositories a webhook's repository URL names (scheme, user, a trailing ".git" and
 * "/" ignored), or every one when it names none of them.
 *
 * Folders under `basedir` (created 0700, or a private temporary directory removed at
 * close): the default mirror in `basedir` itself (as a single repository's), a declared
 * repository's in repos/<name>/, a template's in dyn/<hash of its URI>/ (emptied at start).
 */
#ifndef CS_GITMULTI_H
#define CS_GITMULTI_H

#include <stddef.h>

#include "clog.h"
#include "env/searchpath.h"
#include "git/gitmirror.h"
#include "git/gitrepos.h"
#include "repo/store.h"

typedef struct cs_gitmulti cs_gitmulti_t;

typedef struct cs_gitmulti_opts {
    const char *default_uri;       /* --repo-uri (may be a template) */
    const cs_grepos_conf_t *repos; /* borrowed during open; NULL = none (a template default) */
    const char *basedir;           /* NULL → a private temporary directory */
    const char *default_label;     /* NULL → "main" */
    int refresh_s, timeout_s;      /* the server's (a repository may set its own) */
    size_t cache_max;              /* snapshots kept per mirror */
    size_t mirrors_max;            /* mirrors of templates kept (LRU); 0 → 16 */
    cs_snap_limits_t lim;
    const cs_searchpaths_t *search_paths; /* the default repository's; NULL = none */
    cs_gitm_cred_t cred;                  /* the default's; taken over (copied to the others) */
    const clog_t *log;                    /* borrowed, may be NULL */
} cs_gitmulti_opts_t;

/* Parses the repositories' search paths, makes the folders and clones every mirror without
 * placeholders (a failure names the repository). Takes o->cred. NULL with `err` filled. */
cs_gitmulti_t *cs_gitmulti_open(cs_gitmulti_opts_t *o, char *err, size_t errlen);
/* Starts the fetchers (and those of mirrors made later). 0 or -1. */
int cs_gitmulti_start(cs_gitmulti_t *m);
/* Stops every fetcher and frees everything (no lease may be outstanding). NULL-safe. */
void cs_gitmulti_close(cs_gitmulti_t *m);
/* The store port. */
cs_store_t cs_gitmulti_store(cs_gitmulti_t *m);
/* The default repository's URI as displayed (no password), for the log. */
const char *cs_gitmulti_display(const cs_gitmulti_t *m);
/* 1 when the webhook URL `url` names the repository `uri` (scheme, user info, a trailing
 * ".git" or "/" and an scp-like "host:path" aside). */
int cs_gitmulti_same_repo(const char *url, const char *uri);

#endif
