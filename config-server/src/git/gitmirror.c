/* gitmirror.c — the bare mirror of the remote config repository (gitmirror.h). */
#include "git/gitmirror.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "errbuf.h"
#include "git/gittls.h"
#include "git/knownhosts.h"

static void git_err(char *err, size_t errlen, const char *what)
{
    const git_error *e = git_error_last();
    errbuf_set(err, errlen, "%s: %s", what, e != NULL && e->message != NULL ? e->message : "unknown error");
}

char *cs_gitm_redact(const char *uri)
{
    char *out = strdup(uri);
    if (out == NULL)
        return NULL;
    char *scheme = strstr(out, "://");
    if (scheme == NULL)
        return out;
    char *auth = scheme + 3;
    char *at = strchr(auth, '@'), *slash = strchr(auth, '/');
    if (at == NULL || (slash != NULL && slash < at))
        return out;
    char *colon = memchr(auth, ':', (size_t)(at - auth));
    if (colon == NULL)
        return out;
    size_t head = (size_t)(colon + 1 - out);
    size_t len = head + 3 + strlen(at) + 1;
    char *r = malloc(len);
    if (r != NULL)
        snprintf(r, len, "%.*s***%s", (int)head, out, at);
    free(out);
    return r;
}

int cs_gitm_cred_copy(const cs_gitm_cred_t *c, cs_gitm_cred_t *out)
{
    const char *in[6] = {c->user, c->ssh_key, c->known_hosts, c->pass, c->proxy, c->ca_file};
    char *cp[6] = {0};
    for (int i = 0; i < 6; i++)
        if (in[i] != NULL && (cp[i] = strdup(in[i])) == NULL) {
            *out = (cs_gitm_cred_t){cp[0], cp[3], cp[1], cp[2], cp[4], cp[5]};
            cs_gitm_cred_free(out);
            return -1;
        }
    *out = (cs_gitm_cred_t){cp[0], cp[3], cp[1], cp[2], cp[4], cp[5]};
    return 0;
}

void cs_gitm_cred_free(cs_gitm_cred_t *c)
{
    if (c->pass != NULL)
        OPENSSL_cleanse(c->pass, strlen(c->pass));
    free(c->user);
    free(c->pass);
    free(c->ssh_key);
    free(c->known_hosts);
    if (c->proxy != NULL)
        OPENSSL_cleanse(c->proxy, strlen(c->proxy)); /* may carry the proxy's password */
    free(c->proxy);
    free(c->ca_file);
    memset(c, 0, sizeof(*c));
}

void cs_gitm_close(cs_gitm_t *m)
{
    if (m == NULL)
        return;
    git_remote_free(m->remote);
    m->remote = NULL;
    git_repository_free(m->fetch_repo);
    git_repository_free(m->read_repo);
    m->fetch_repo = m->read_repo = NULL;
    cs_gitm_cred_free(&m->cred);
    free(m->dir);
    free(m->uri);
    free(m->uri_display);
    m->dir = m->uri = m->uri_display = NULL;
    pthread_mutex_destroy(&m->read_mu);
}

#define HEADS_SPEC "+refs/heads/*:refs/heads/*"
#define TAGS_SPEC "+refs/tags/*:refs/tags/*"

/* Points remote "origin" of `repo` at `uri` with the mirror's refspecs; a mirror left by
 * an earlier run keeps its objects and gets the URI set again (libgit2 1.5 cannot delete
 * a remote with two fetch refspecs: "entry is not unique due to being a multivar"). 0 or
 * -1. */
static int setup_remote(git_repository *repo, const char *uri, char *err, size_t errlen)
{
    git_remote *r = NULL;
    if (git_remote_lookup(&r, repo, "origin") == 0) {
        git_strarray specs = {0};
        int same = git_remote_get_fetch_refspecs(&specs, r) == 0 && specs.count == 2 &&
                   strcmp(specs.strings[0], HEADS_SPEC) == 0 && strcmp(specs.strings[1], TAGS_SPEC) == 0;
        git_strarray_dispose(&specs);
        git_remote_free(r);
        git_config *cfg = NULL;
        if (git_remote_set_url(repo, "origin", uri) != 0 ||
            (!same && (git_repository_config(&cfg, repo) != 0 ||
                       (git_config_delete_multivar(cfg, "remote.origin.fetch", ".*") != 0 &&
                        git_error_last() != NULL && git_error_last()->klass != GIT_ERROR_CONFIG) ||
                       git_remote_add_fetch(repo, "origin", HEADS_SPEC) != 0 ||
                       git_remote_add_fetch(repo, "origin", TAGS_SPEC) != 0))) {
            git_config_free(cfg);
            git_err(err, errlen, "cannot point the mirror's remote at the URI");
            return -1;
        }
        git_config_free(cfg);
        return 0;
    }
    if (git_remote_create_with_fetchspec(&r, repo, "origin", uri, HEADS_SPEC) != 0 ||
        git_remote_add_fetch(repo, "origin", TAGS_SPEC) != 0) {
        git_remote_free(r);
        git_err(err, errlen, "cannot configure the remote");
        return -1;
    }
    git_remote_free(r);
    return 0;
}

int cs_gitm_open(cs_gitm_t *m, const char *dir, const char *uri, cs_gitm_cred_t *cred, int timeout_s,
                 char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    pthread_mutex_init(&m->read_mu, NULL);
    m->cred = *cred;
    memset(cred, 0, sizeof(*cred));
    m->timeout_s = timeout_s > 0 ? timeout_s : 10;
    m->dir = strdup(dir);
    m->uri = strdup(uri);
    m->uri_display = cs_gitm_redact(uri);
    if (m->dir == NULL || m->uri == NULL || m->uri_display == NULL) {
        errbuf_set(err, errlen, "out of memory");
        goto fail;
    }
    if (git_repository_open_bare(&m->fetch_repo, dir) != 0 &&
        git_repository_init(&m->fetch_repo, dir, 1) != 0) {
        git_err(err, errlen, "cannot create the local mirror");
        goto fail;
    }
    if (setup_remote(m->fetch_repo, uri, err, errlen) != 0)
        goto fail;
    if (git_remote_lookup(&m->remote, m->fetch_repo, "origin") != 0) {
        git_err(err, errlen, "the mirror has no remote");
        goto fail;
    }
    if (git_repository_open_bare(&m->read_repo, dir) != 0) {
        git_err(err, errlen, "cannot open the local mirror");
        goto fail;
    }
    return 0;
fail:
    cs_gitm_close(m);
    return -1;
}

/* ---------------------------------------------------------------- fetching */

typedef struct fetch_ctx {
    cs_gitm_t *m;
    int attempts;
    struct timespec deadline;
} fetch_ctx_t;

static int past_deadline(const fetch_ctx_t *c)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > c->deadline.tv_sec ||
           (now.tv_sec == c->deadline.tv_sec && now.tv_nsec > c->deadline.tv_nsec);
}

static int check_deadline(fetch_ctx_t *c)
{
    if (!past_deadline(c))
        return 0;
    git_error_set_str(GIT_ERROR_NET, "the fetch took longer than the timeout; cancelled");
    return -1;
}

static int on_progress(const git_indexer_progress *stats, void *payload)
{
    return check_deadline(payload);
}

static int on_sideband(const char *str, int len, void *payload)
{
    return check_deadline(payload);
}

static int on_credentials(git_credential **out, const char *url, const char *user_from_url,
                          unsigned int allowed, void *payload)
{
    fetch_ctx_t *c = payload;
    const cs_gitm_cred_t *cr = &c->m->cred;
    if (++c->attempts > 1) { /* the server refused what we sent: do not loop */
        git_error_set_str(GIT_ERROR_NET,
                          "authentication failed: the remote refused the configured credentials");
        return GIT_EAUTH;
    }
    const char *user = cr->user != NULL ? cr->user : user_from_url;
    if ((allowed & GIT_CREDENTIAL_SSH_KEY) && cr->ssh_key != NULL)
        return git_credential_ssh_key_new(out, user != NULL ? user : "git", NULL, cr->ssh_key, NULL);
    if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && cr->pass != NULL)
        return git_credential_userpass_plaintext_new(out, user != NULL ? user : "", cr->pass);
    if ((allowed & GIT_CREDENTIAL_USERNAME) && user != NULL)
        return git_credential_username_new(out, user);
    git_error_set_str(GIT_ERROR_NET,
                      (allowed & GIT_CREDENTIAL_SSH_KEY)
                          ? "the remote asks for an ssh key: set CONFIG_SERVER_GIT_SSH_KEY_FILE"
                          : "the remote asks for credentials: set CONFIG_SERVER_GIT_USERNAME and "
                            "CONFIG_SERVER_GIT_PASSWORD (or CONFIG_SERVER_GIT_PASSWORD_FILE)");
    return GIT_EAUTH;
}

/* The proxy answered 407 to the user:password of CONFIG_SERVER_GIT_PROXY's URL (libgit2
 * presents those first), or the URL has none: say so instead of looping. */
static int on_proxy_credentials(git_credential **out, const char *url, const char *user_from_url,
                                unsigned int allowed, void *payload)
{
    git_error_set_str(GIT_ERROR_NET,
                      user_from_url != NULL
                          ? "the proxy refused the user and password of CONFIG_SERVER_GIT_PROXY (407)"
                          : "the proxy asks for authentication (407): give it in "
                            "CONFIG_SERVER_GIT_PROXY as http://user:password@host:port");
    return GIT_EAUTH;
}

static int on_certificate(git_cert *cert, int valid, const char *host, void *payload)
{
    fetch_ctx_t *c = payload;
    if (cert->cert_type == GIT_CERT_X509) {
        /* trusted by the system's store, or no CA of the remote's own: libgit2 decides */
        if (valid || c->m->cred.ca_file == NULL)
            return GIT_PASSTHROUGH;
        const git_cert_x509 *x = (const git_cert_x509 *)cert;
        char why[512];
        if (cs_gittls_verify(c->m->cred.ca_file, host, x->data, x->len, why, sizeof(why)) != 0) {
            git_error_set_str(GIT_ERROR_SSL, why);
            return GIT_ECERTIFICATE;
        }
        return 0;
    }
    if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2)
        return GIT_PASSTHROUGH;
    const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;
    char why[256];
    if (!(hk->type & GIT_CERT_SSH_RAW) ||
        cs_khosts_check(c->m->cred.known_hosts, host, cs_khosts_uri_port(c->m->uri), hk->hostkey,
                        hk->hostkey_len, why, sizeof(why)) != 0) {
        git_error_set_str(GIT_ERROR_SSH,
                          (hk->type & GIT_CERT_SSH_RAW) ? why : "no raw ssh host key to verify");
        return GIT_ECERTIFICATE;
    }
    return 0;
}

int cs_gitm_fetch(cs_gitm_t *m, char *err, size_t errlen)
{
    fetch_ctx_t c = {.m = m};
    clock_gettime(CLOCK_MONOTONIC, &c.deadline);
    c.deadline.tv_sec += m->timeout_s;
    git_fetch_options fo;
    git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
    fo.prune = GIT_FETCH_PRUNE;
    fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL;
    fo.callbacks.credentials = on_credentials;
    fo.callbacks.certificate_check = on_certificate;
    fo.callbacks.transfer_progress = on_progress;
    fo.callbacks.sideband_progress = on_sideband;
    fo.callbacks.payload = &c;
    if (m->cred.proxy != NULL) {
        fo.proxy_opts.type = GIT_PROXY_SPECIFIED;
        fo.proxy_opts.url = m->cred.proxy;
        fo.proxy_opts.certificate_check = on_certificate;
        fo.proxy_opts.credentials = on_proxy_credentials;
        fo.proxy_opts.payload = &c;
    }
    if (git_remote_fetch(m->remote, NULL, &fo, "config-server fetch") != 0) {
        git_err(err, errlen, "fetch failed");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- refs */

void cs_gitm_refs_free(cs_gitm_refs_t *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].name);
    free(r->v);
    free(r);
}

static int cmp_refs(const void *a, const void *b)
{
    const cs_gitm_ref_t *x = a, *y = b;
    if (x->tag != y->tag)
        return x->tag - y->tag;
    return strcmp(x->name, y->name);
}

/* Appends the refs matching `glob` (tag = 0/1) to `r`. 0 or -1. */
static int collect(git_repository *repo, const char *glob, int tag, cs_gitm_refs_t *r, size_t *cap)
{
    git_reference_iterator *it = NULL;
    git_reference *ref = NULL;
    size_t skip = strlen(tag ? "refs/tags/" : "refs/heads/");
    if (git_reference_iterator_glob_new(&it, repo, glob) != 0)
        return -1;
    int rc = 0;
    while (git_reference_next(&ref, it) == 0) {
        git_object *obj = NULL;
        if (git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) == 0) { /* tags of trees/blobs are skipped */
            if (r->n == *cap) {
                *cap = *cap ? *cap * 2 : 32;
                cs_gitm_ref_t *nv = realloc(r->v, *cap * sizeof(*nv));
                if (nv == NULL)
                    rc = -1;
                else
                    r->v = nv;
            }
            if (rc == 0) {
                cs_gitm_ref_t *e = &r->v[r->n];
                e->name = strdup(git_reference_name(ref) + skip);
                e->tag = tag;
                git_oid_cpy(&e->commit, git_object_id(obj));
                if (e->name == NULL)
                    rc = -1;
                else
                    r->n++;
            }
            git_object_free(obj);
        }
        git_reference_free(ref);
        if (rc != 0)
            break;
    }
    git_reference_iterator_free(it);
    return rc;
}

cs_gitm_refs_t *cs_gitm_list_refs(cs_gitm_t *m, char *err, size_t errlen)
{
    cs_gitm_refs_t *r = calloc(1, sizeof(*r));
    size_t cap = 0;
    if (r == NULL || collect(m->fetch_repo, "refs/heads/*", 0, r, &cap) != 0 ||
        collect(m->fetch_repo, "refs/tags/*", 1, r, &cap) != 0) {
        git_err(err, errlen, "cannot list the mirror's refs");
        cs_gitm_refs_free(r);
        return NULL;
    }
    if (r->n > 1)
        qsort(r->v, r->n, sizeof(*r->v), cmp_refs);
    return r;
}

const cs_gitm_ref_t *cs_gitm_refs_find(const cs_gitm_refs_t *r, int tag, const char *name)
{
    cs_gitm_ref_t key = {.name = (char *)name, .tag = tag};
    return r == NULL || r->n == 0 ? NULL : bsearch(&key, r->v, r->n, sizeof(*r->v), cmp_refs);
}

/* ---------------------------------------------------------------- reading */

int cs_gitm_lookup_prefix(cs_gitm_t *m, const char *hex, git_oid *out, char *why, size_t whylen)
{
    git_oid prefix;
    size_t n = strlen(hex);
    git_commit *c = NULL;
    if (git_oid_fromstrn(&prefix, hex, n) != 0) {
        errbuf_set(why, whylen, "label '%s' is not a commit id", hex);
        return 404;
    }
    pthread_mutex_lock(&m->read_mu);
    int r = git_commit_lookup_prefix(&c, m->read_repo, &prefix, n);
    if (r == 0)
        git_oid_cpy(out, git_commit_id(c));
    git_commit_free(c);
    pthread_mutex_unlock(&m->read_mu);
    if (r == GIT_EAMBIGUOUS) {
        errbuf_set(why, whylen, "label '%s' is an ambiguous commit id prefix: give more digits", hex);
        return 400;
    }
    if (r != 0) {
        errbuf_set(why, whylen, "no branch, tag or commit '%s' in the config repository", hex);
        return 404;
    }
    return 0;
}

/* Adds the config files of `tree` to the builder's current label; with `depth` > 0 each
 * visible sub-folder becomes the label "<prefix>/<name>" with its files, `depth` - 1 levels
 * further down. 0, -1 on a libgit2 error (`err`), 1 when the builder failed (finish says why).
 * Caller holds read_mu. */
static int add_tree(cs_gitm_t *m, cs_snap_build_t *b, git_tree *tree, const char *prefix, int depth,
                    char *err, size_t errlen)
{
    for (size_t i = 0; i < git_tree_entrycount(tree); i++) {
        const git_tree_entry *e = git_tree_entry_byindex(tree, i);
        const char *name = git_tree_entry_name(e);
        if (!cs_snap_is_config_name(name))
            continue;
        if (git_tree_entry_filemode(e) == GIT_FILEMODE_LINK) {
            if (cs_snap_build_add_broken(b, name, "a symbolic link (not followed in a git repository)") != 0)
                return 1;
            continue;
        }
        if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
            continue;
        git_blob *blob = NULL;
        if (git_blob_lookup(&blob, m->read_repo, git_tree_entry_id(e)) != 0) {
            git_err(err, errlen, name);
            return -1;
        }
        int r = cs_snap_build_add(b, name, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
        git_blob_free(blob);
        if (r != 0)
            return 1;
    }
    for (size_t i = 0; depth > 0 && i < git_tree_entrycount(tree); i++) {
        const git_tree_entry *e = git_tree_entry_byindex(tree, i);
        const char *name = git_tree_entry_name(e);
        if (git_tree_entry_type(e) != GIT_OBJECT_TREE || name[0] == '.')
            continue;
        char path[1024];
        if ((size_t)snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "/" : "", name) >=
            sizeof(path))
            continue;
        git_tree *sub = NULL;
        if (git_tree_lookup(&sub, m->read_repo, git_tree_entry_id(e)) != 0) {
            git_err(err, errlen, path);
            return -1;
        }
        int r = cs_snap_build_label(b, path) != 0 ? 1 : add_tree(m, b, sub, path, depth - 1, err, errlen);
        git_tree_free(sub);
        if (r != 0)
            return r;
    }
    return 0;
}

cs_snap_t *cs_gitm_snapshot(cs_gitm_t *m, const git_oid *commit, const cs_snap_limits_t *lim, int subdirs,
                            char *err, size_t errlen)
{
    git_commit *c = NULL;
    git_tree *tree = NULL;
    cs_snap_build_t *b = cs_snap_build_new(lim);
    char id[GIT_OID_HEXSZ + 1];
    git_oid_tostr(id, sizeof(id), commit);
    if (b == NULL) {
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_lock(&m->read_mu);
    if (git_commit_lookup(&c, m->read_repo, commit) != 0 || git_commit_tree(&tree, c) != 0) {
        git_err(err, errlen, "cannot read the commit");
        goto fail;
    }
    /* the root's files; the folders' (four levels, as the folder backend) only for search paths */
    if (add_tree(m, b, tree, "", subdirs ? 4 : 0, err, errlen) < 0)
        goto fail;
    git_tree_free(tree);
    git_commit_free(c);
    pthread_mutex_unlock(&m->read_mu);
    return cs_snap_build_finish(b, id, err, errlen);
fail:
    git_tree_free(tree);
    git_commit_free(c);
    pthread_mutex_unlock(&m->read_mu);
    cs_snap_build_free(b);
    return NULL;
}

int cs_gitm_read_file(cs_gitm_t *m, const char *commit_hex, const char *rel, size_t max, char **out,
                      size_t *outlen, char *why, size_t whylen)
{
    git_oid id;
    git_commit *c = NULL;
    git_tree *tree = NULL;
    git_tree_entry *e = NULL;
    git_blob *blob = NULL;
    int rc = 500;
    *out = NULL;
    *outlen = 0;
    if (git_oid_fromstr(&id, commit_hex) != 0) {
        errbuf_set(why, whylen, "'%s' is not a commit id", commit_hex);
        return 500;
    }
    pthread_mutex_lock(&m->read_mu);
    if (git_commit_lookup(&c, m->read_repo, &id) != 0 || git_commit_tree(&tree, c) != 0) {
        git_err(why, whylen, "cannot read the commit");
        goto cleanup;
    }
    int r = git_tree_entry_bypath(&e, tree, rel);
    if (r == GIT_ENOTFOUND) {
        errbuf_set(why, whylen, "not in commit %.12s", commit_hex);
        rc = 404;
        goto cleanup;
    }
    if (r != 0) {
        git_err(why, whylen, rel);
        goto cleanup;
    }
    if (git_tree_entry_filemode(e) == GIT_FILEMODE_LINK || git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
        errbuf_set(why, whylen, "%s",
                   git_tree_entry_filemode(e) == GIT_FILEMODE_LINK
                       ? "a symbolic link (not followed in a git repository)"
                       : "not a file");
        rc = 404;
        goto cleanup;
    }
    if (git_blob_lookup(&blob, m->read_repo, git_tree_entry_id(e)) != 0) {
        git_err(why, whylen, rel);
        goto cleanup;
    }
    size_t n = (size_t)git_blob_rawsize(blob);
    if (n > max) {
        errbuf_set(why, whylen, "larger than the limit of %zu bytes", max);
        rc = 413;
        goto cleanup;
    }
    char *buf = malloc(n + 1);
    if (buf == NULL) {
        errbuf_set(why, whylen, "out of memory");
        goto cleanup;
    }
    memcpy(buf, git_blob_rawcontent(blob), n);
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    rc = 0;
cleanup:
    git_blob_free(blob);
    git_tree_entry_free(e);
    git_tree_free(tree);
    git_commit_free(c);
    pthread_mutex_unlock(&m->read_mu);
    return rc;
}
