/* gitconf.h — the git backend's repositories as main() sets them up: the default one
 * (--repo-uri and CONFIG_SERVER_GIT_* credentials) alone, or with the repositories of
 * --git-repos-file and the {application} mirrors (git/gitmulti.h).
 */
#ifndef CS_GITCONF_H
#define CS_GITCONF_H

#include "cli/opts.h"
#include "clog.h"
#include "git/gitmulti.h"
#include "git/gitrepos.h"

/* 1 when the options need several repositories (a repos file or a URI template). */
int cs_gitconf_multi(const cs_opts_t *o);
/* Reads --git-repos-file (a secret file: it may hold passwords, never from inside the
 * served repository `repo_real`) and each repository's password-file into `out`. 0, or -1
 * (logged; `out` is to be freed either way). */
int cs_gitconf_load(const cs_opts_t *o, const char *repo_real, cs_grepos_conf_t *out, const clog_t *log);
/* The default repository's credentials, proxy and CA bundle from the environment
 * (CONFIG_SERVER_GIT_*; the declared repositories share its proxy and CA bundle). 0, or -1
 * (a password or proxy file that cannot be read; logged; `out` left empty). */
int cs_gitconf_cred(const char *repo_real, cs_gitm_cred_t *out, const clog_t *log);

#endif
