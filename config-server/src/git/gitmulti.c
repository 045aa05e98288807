/* gitmulti.c — several git repositories picked by pattern: opening the declared ones and
 * the default, closing everything (gitmulti.h; the store port is gitmulti_store.c). */
#include "git/gitmulti.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "errbuf.h"
#include "git/gitmulti_int.h"

void cs_gitmulti_ent_free(cs_gitent_t *e)
{
    if (e == NULL)
        return;
    if (e->gopen)
        cs_gitrepo_close(&e->g);
    free(e->node.key);
    free(e->error);
    free(e);
}

int cs_gitmulti_ent_open(cs_gitmulti_t *m, cs_gitdef_t *d, cs_gitent_t *e, const char *uri, const char *dir,
                         int dyn, char *err, size_t errlen)
{
    cs_gitrepo_opts_t go = {.uri = uri,
                            .basedir = dir,
                            .remove_basedir = dyn,
                            .default_label = d->default_label,
                            .refresh_s = d->refresh_s,
                            .timeout_s = d->timeout_s,
                            .cache_max = m->cache_max,
                            .lim = m->lim,
                            .subdirs = d->sp.n > 0,
                            .log = m->log};
    if (cs_gitm_cred_copy(&d->cred, &go.cred) != 0) {
        errbuf_set(err, errlen, "out of memory");
        return -1;
    }
    if (cs_gitrepo_open(&e->g, &go, err, errlen) != 0) {
        cs_gitm_cred_free(&go.cred);
        return -1;
    }
    e->gopen = 1;
    e->names = cs_gitrepo_names(&e->g);
    return 0;
}

/* ---------------------------------------------------------------- open / close */

static int def_init(cs_gitmulti_t *m, cs_gitdef_t *d, const char *name, const char *const *pats, size_t np,
                    const char *uri, const char *label, const char *sp, char *err, size_t errlen)
{
    d->name = strdup(name);
    d->uri = strdup(uri);
    d->default_label = strdup(label);
    if (d->name == NULL || d->uri == NULL || d->default_label == NULL ||
        cs_gpat_init(&d->pat, pats, np) != 0) {
        errbuf_set(err, errlen, "out of memory");
        return -1;
    }
    d->templated = cs_gpat_templated(uri);
    d->has_profile = strstr(uri, "{profile}") != NULL;
    if (sp != NULL) {
        char e2[400];
        if (cs_sp_parse(&d->sp, sp, e2, sizeof(e2)) != 0) {
            errbuf_set(err, errlen, "repository %s: search-paths: %s", name, e2);
            return -1;
        }
    }
    d->sp.git = 1;
    snprintf(d->sp.default_label, sizeof(d->sp.default_label), "%s", label);
    (void)m;
    return 0;
}

/* The search paths of `sp` as a comma list again (the default's, given parsed). */
static char *sp_join(const cs_searchpaths_t *sp)
{
    size_t len = 1;
    for (size_t i = 0; sp != NULL && i < sp->n; i++)
        len += strlen(sp->pats[i]) + 1;
    char *s = calloc(1, len);
    for (size_t i = 0; s != NULL && sp != NULL && i < sp->n; i++) {
        if (i > 0)
            strcat(s, ",");
        strcat(s, sp->pats[i]);
    }
    return s;
}

cs_gitmulti_t *cs_gitmulti_open(cs_gitmulti_opts_t *o, char *err, size_t errlen)
{
    cs_gitmulti_t *m = calloc(1, sizeof(*m));
    size_t nrepos = o->repos != NULL ? o->repos->n : 0;
    char *defsp = NULL;
    const char *label = o->default_label != NULL ? o->default_label : "main";
    if (m == NULL || (m->defs = calloc(nrepos + 1, sizeof(*m->defs))) == NULL) {
        free(m);
        cs_gitm_cred_free(&o->cred);
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    cs_glru_init(&m->lru, o->mirrors_max > 0 ? o->mirrors_max : 16);
    m->cache_max = o->cache_max;
    m->lim = o->lim;
    m->log = o->log;
    /* the default's credentials, taken over; the declared ones' own or a copy (Spring) */
    cs_gitdef_t *dd = &m->defs[nrepos];
    dd->cred = o->cred;
    memset(&o->cred, 0, sizeof(o->cred));
    m->ndefs = nrepos + 1;
    char path[4096];
    if (o->basedir != NULL) {
        m->basedir = strdup(o->basedir);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(path, sizeof(path), "%s/config-server-git-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
        if (mkdtemp(path) != NULL) {
            m->basedir = strdup(path);
            m->own_basedir = 1;
        }
    }
    if (m->basedir == NULL || cs_gitrepo_private_dir(m->basedir, err, errlen) != 0) {
        if (m->basedir == NULL)
            errbuf_set(err, errlen, "cannot create a private directory for the git mirrors");
        goto fail;
    }
    snprintf(path, sizeof(path), "%s/dyn", m->basedir);
    cs_gitrepo_rmtree(path); /* the templates' mirrors are a cache */
    if (cs_gitrepo_private_dir(path, err, errlen) != 0)
        goto fail;
    snprintf(path, sizeof(path), "%s/repos", m->basedir);
    if (nrepos > 0 && cs_gitrepo_private_dir(path, err, errlen) != 0)
        goto fail;
    for (size_t i = 0; i < nrepos; i++) {
        const cs_grepo_conf_t *c = &o->repos->v[i];
        cs_gitdef_t *d = &m->defs[i];
        if (def_init(m, d, c->name, (const char *const *)c->pattern, c->npattern, c->uri,
                     c->default_label != NULL ? c->default_label : label, c->search_paths, err, errlen) != 0)
            goto fail;
        d->refresh_s = c->refresh_s >= 0 ? c->refresh_s : o->refresh_s;
        d->timeout_s = c->timeout_s > 0 ? c->timeout_s : o->timeout_s;
        cs_gitm_cred_t own = {(char *)c->username,    (char *)c->password, (char *)c->ssh_key_file,
                              (char *)c->known_hosts, dd->cred.proxy,      dd->cred.ca_file};
        if (c->username == NULL) { /* Spring: no username of its own → the default's user and password */
            own.user = dd->cred.user;
            own.pass = dd->cred.pass;
        }
        if (c->ssh_key_file == NULL)
            own.ssh_key = dd->cred.ssh_key;
        if (c->known_hosts == NULL)
            own.known_hosts = dd->cred.known_hosts;
        if (cs_gitm_cred_copy(&own, &d->cred) != 0) {
            errbuf_set(err, errlen, "out of memory");
            goto fail;
        }
    }
    defsp = sp_join(o->search_paths);
    if (defsp == NULL || def_init(m, dd, "default", NULL, 0, o->default_uri, label,
                                  defsp[0] != '\0' ? defsp : NULL, err, errlen) != 0)
        goto fail;
    dd->refresh_s = o->refresh_s;
    dd->timeout_s = o->timeout_s;
    for (size_t i = 0; i < m->ndefs; i++) {
        cs_gitdef_t *d = &m->defs[i];
        if (d->templated)
            continue;
        char e2[512];
        if (i < nrepos)
            snprintf(path, sizeof(path), "%s/repos/%s", m->basedir, d->name);
        else
            snprintf(path, sizeof(path), "%s", m->basedir);
        if ((d->fixed = calloc(1, sizeof(*d->fixed))) == NULL) {
            errbuf_set(err, errlen, "out of memory");
            goto fail;
        }
        d->fixed->def = d;
        d->fixed->state = ENT_READY;
        if (cs_gitmulti_ent_open(m, d, d->fixed, d->uri, path, 0, e2, sizeof(e2)) != 0) {
            errbuf_set(err, errlen, "repository %s: %s", d->name, e2);
            goto fail;
        }
    }
    free(defsp);
    return m;
fail:
    free(defsp);
    cs_gitmulti_close(m);
    return NULL;
}

int cs_gitmulti_start(cs_gitmulti_t *m)
{
    int rc = 0;
    pthread_mutex_lock(&m->mu);
    m->started = 1;
    for (size_t i = 0; i < m->ndefs; i++)
        if (m->defs[i].fixed != NULL && cs_gitrepo_start(&m->defs[i].fixed->g) != 0)
            rc = -1;
    for (cs_glru_node_t *n = m->lru.head; n != NULL; n = n->next) {
        cs_gitent_t *e = (cs_gitent_t *)n;
        if (e->state == ENT_READY && !e->g.running && cs_gitrepo_start(&e->g) != 0)
            rc = -1;
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

void cs_gitmulti_close(cs_gitmulti_t *m)
{
    if (m == NULL)
        return;
    for (cs_glru_node_t *n = m->lru.head, *next; n != NULL; n = next) {
        next = n->next;
        cs_gitmulti_ent_free((cs_gitent_t *)n);
    }
    for (size_t i = 0; m->defs != NULL && i < m->ndefs; i++) {
        cs_gitdef_t *d = &m->defs[i];
        cs_gitmulti_ent_free(d->fixed);
        free(d->name);
        free(d->uri);
        free(d->default_label);
        cs_gpat_free(&d->pat);
        cs_gitm_cred_free(&d->cred);
        cs_sp_free(&d->sp);
    }
    free(m->defs);
    for (size_t i = 0; i < NFAILED; i++) {
        free(m->failed[i].key);
        free(m->failed[i].error);
    }
    if (m->own_basedir && m->basedir != NULL)
        cs_gitrepo_rmtree(m->basedir);
    free(m->basedir);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

const char *cs_gitmulti_display(const cs_gitmulti_t *m)
{
    const cs_gitdef_t *d = &m->defs[m->ndefs - 1];
    return d->fixed != NULL ? d->fixed->g.m.uri_display : d->uri;
}
