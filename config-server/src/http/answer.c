/* answer.c — evaluating an environment request: lease, memo, sources, ETag, rendering and
 * sending (answer.h). */
#include "http/answer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "env/jnum.h"
#include "env/render.h"

#define V2_TYPE "application/vnd.spring-cloud.config-server.v2+json"

void cs_query_init(cs_query_t *q, const cs_req_t *r, int v2, int resolve)
{
    q->r = *r;
    q->v2 = r->kind == CS_REQ_ENV ? v2 : 0;
    q->resolve = r->kind == CS_REQ_FLAT ? resolve : 0;
    snprintf(q->key, sizeof(q->key), "%d|%d|%d|%d|%s|%s|%s", r->kind, r->fmt, q->v2, q->resolve, r->app,
             r->profiles, r->label);
}

int cs_query_from_key(cs_query_t *q, const char *key)
{
    memset(q, 0, sizeof(*q));
    int kind, fmt, v2, resolve, used = 0;
    if (sscanf(key, "%d|%d|%d|%d|%n", &kind, &fmt, &v2, &resolve, &used) != 4 || used == 0)
        return -1;
    /* the names are allow-listed (no '|'): app|profiles|label */
    const char *app = key + used, *bar1 = strchr(app, '|'),
               *bar2 = bar1 != NULL ? strchr(bar1 + 1, '|') : NULL;
    if (bar2 == NULL || strchr(bar2 + 1, '|') != NULL || (size_t)(bar1 - app) >= sizeof(q->r.app) ||
        (size_t)(bar2 - bar1 - 1) >= sizeof(q->r.profiles) || strlen(bar2 + 1) >= sizeof(q->r.label))
        return -1;
    q->r.kind = kind;
    q->r.fmt = fmt;
    memcpy(q->r.app, app, (size_t)(bar1 - app));
    memcpy(q->r.profiles, bar1 + 1, (size_t)(bar2 - bar1 - 1));
    snprintf(q->r.label, sizeof(q->r.label), "%s", bar2 + 1);
    q->v2 = v2;
    q->resolve = resolve;
    snprintf(q->key, sizeof(q->key), "%s", key);
    return 0;
}

static void set_problem(cs_answer_t *a, int status, const char *title)
{
    a->status = status;
    a->title = title;
}

/* The ETag of the sources `e` for the request key `key` (see answer.h). */
static void env_etag(const cs_env_t *e, const char *key, const cs_srcnames_t *names, char *out, size_t size)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
    if (ok) {
        EVP_DigestUpdate(c, key, strlen(key) + 1);
        EVP_DigestUpdate(c, names->dir != NULL ? names->dir : "",
                         names->dir != NULL ? strlen(names->dir) + 1 : 1);
        EVP_DigestUpdate(c, names->uri != NULL ? names->uri : "",
                         names->uri != NULL ? strlen(names->uri) + 1 : 1);
        if (cs_env_has_overrides(e)) /* they come first in every answer */
            EVP_DigestUpdate(c, e->ovr->digest, sizeof(e->ovr->digest));
        for (size_t i = 0; i < e->n; i++) {
            const cs_file_t *f = e->src[i].file;
            char idx[24];
            int il = snprintf(idx, sizeof(idx), "#%zu", e->src[i].docidx);
            EVP_DigestUpdate(c, f->rel, strlen(f->rel) + 1);
            EVP_DigestUpdate(c, f->digest, sizeof(f->digest));
            EVP_DigestUpdate(c, idx, (size_t)il + 1);
        }
        ok = EVP_DigestFinal_ex(c, md, &ml) == 1 && ml >= 16;
    }
    EVP_MD_CTX_free(c);
    cs_etag_format(md, ok, out, size);
}

void cs_etag_format(const unsigned char *md, int ok, char *out, size_t size)
{
    size_t n = 0;
    out[n++] = '"';
    for (unsigned i = 0; ok && i < 16 && n + 3 < size; i++)
        n += (size_t)snprintf(out + n, size - n, "%02x", md[i]);
    snprintf(out + n, size - n, "\"");
}

/* Logs a {cipher} value that is served as invalid.<key> (env crypt report). */
static void report_invalid(void *ctx, const char *file, const char *key, const char *why)
{
    const cs_http_t *h = ctx;
    if (h->log != NULL)
        clog_ev(h->log, CLOG_WARN, json_pack("{s:s,s:s,s:s}", "file", file, "key", key, "reason", why),
                "cannot decrypt the {cipher} value of %s in %s (%s); served as invalid.%s = <n/a>", key, file,
                why, key);
}

void cs_answer_eval(cs_http_t *h, const cs_query_t *q, cs_answer_t *a)
{
    memset(a, 0, sizeof(*a));
    dbuf_init(&a->own, 64u << 20);
    const cs_req_t *r = &q->r;
    int ls = h->store.ops->acquire(h->store.ctx, r->app, r->profiles, cs_http_lease_label(h, r), &a->lease,
                                   a->detail, sizeof(a->detail));
    if (ls != 0) {
        set_problem(a, ls, ls == 404 ? "Label Not Found" : ls == 400 ? "Bad Request" : "Service Unavailable");
        return;
    }
    a->leased = 1;
    const cs_snap_t *s = a->lease.snap;
    const cs_cache_ent_t *hit = cs_cache_get(s->cache, q->key);
    if (hit != NULL && hit->etag[0] != '\0') {
        a->status = 200;
        snprintf(a->etag, sizeof(a->etag), "%s", hit->etag);
        a->ctype = hit->ctype;
        a->body = hit->body;
        a->len = hit->len;
        return;
    }
    char profbuf[sizeof(r->profiles)], appbuf[sizeof(r->app)];
    char *profiles[CS_ENV_MAX_PROFILES], *apps[CS_ENV_MAX_APPS];
    snprintf(profbuf, sizeof(profbuf), "%s", r->profiles);
    snprintf(appbuf, sizeof(appbuf), "%s", r->app);
    size_t np = cs_env_split_profiles(profbuf, profiles, CS_ENV_MAX_PROFILES);
    size_t na = cs_env_split_profiles(appbuf, apps, CS_ENV_MAX_APPS);
    cs_locs_t locs;
    int lst = cs_http_locations(h, &a->lease, r, apps, na, profiles, np, &locs, a->detail, sizeof(a->detail));
    if (lst != 0) {
        set_problem(a, lst, "Label Not Found");
        return;
    }
    const cs_file_t *bf = cs_snap_broken_in(s, locs.l, locs.n, apps, na, profiles, np);
    if (bf != NULL) { /* Spring fails such a request too (500); the others are served */
        set_problem(a, 503, "Config File Unusable");
        snprintf(a->detail, sizeof(a->detail),
                 "the config file %s that this request needs cannot be served: %s", bf->rel, bf->broken);
        return;
    }
    a->env = malloc(sizeof(*a->env));
    if (a->env == NULL) {
        set_problem(a, 500, "Internal Server Error");
        snprintf(a->detail, sizeof(a->detail), "out of memory");
        return;
    }
    cs_env_collect_in(locs.l, locs.n, apps, na, profiles, np, a->env);
    a->env->crypt = (cs_env_crypt_t){.keys = h->keys, .report = report_invalid, .ctx = h};
    a->env->ovr = h->overrides;
    /* Spring's accept-empty=false; its check sees the overrides source as one */
    if (a->env->n == 0 && !cs_env_has_overrides(a->env) && !h->accept_empty) {
        set_problem(a, 404, "Application Not Found");
        snprintf(
            a->detail, sizeof(a->detail),
            "no file of the config repository applies to %.300s (profiles %.300s, label %s): no %.300s.yml, "
            "no %.300s-{profile}.yml and no application*.yml",
            r->app, r->profiles, r->label[0] ? r->label : "master", r->app, r->app);
        return;
    }
    a->status = 200;
    env_etag(a->env, q->key, cs_http_names(h, &a->lease), a->etag, sizeof(a->etag));
}

/* Renders the body for `q` into `out`; sets *ctype (static). 0, -1 (out of memory) or 400
 * with `why` (the repository's values cannot be rendered: a placeholder cycle). */
static int render_body(const cs_env_t *env, const cs_query_t *q, const char *version,
                       const cs_srcnames_t *names, dbuf_t *out, const char **ctype, char *why, size_t whylen)
{
    const cs_req_t *r = &q->r;
    json_t *j = NULL;
    int rc = -1;
    cs_jnum_t jn;
    if (cs_jnum_init(&jn) != 0)
        return -1;
    if (r->kind == CS_REQ_ENV) {
        *ctype = q->v2 ? V2_TYPE : "application/json";
        j = cs_env_json(env, &jn, r->app, r->profiles, r->label[0] ? r->label : NULL, version, names, q->v2);
    } else {
        int bad = 0;
        json_t *flat = cs_env_merge(env, &jn, q->resolve, &bad, why, whylen);
        if (flat == NULL) {
            rc = bad ? 400 : -1;
            goto cleanup;
        }
        if (r->fmt == CS_FMT_JSON) {
            *ctype = "application/json";
            j = cs_render_nest(flat);
            json_decref(flat);
        } else {
            *ctype = "text/plain; charset=utf-8";
            rc =
                r->fmt == CS_FMT_YAML ? cs_render_yaml(&jn, flat, out) : cs_render_properties(&jn, flat, out);
            json_decref(flat);
            goto cleanup;
        }
    }
    if (j != NULL)
        rc = cs_jnum_dump(&jn, j, out);
cleanup:
    json_decref(j);
    cs_jnum_free(&jn);
    return rc;
}

void cs_answer_body(cs_http_t *h, const cs_query_t *q, cs_answer_t *a)
{
    if (a->status != 200 || a->body != NULL || a->env == NULL)
        return;
    const char *ctype = "application/json";
    int rc = render_body(a->env, q, a->lease.snap->version, cs_http_names(h, &a->lease), &a->own, &ctype,
                         a->detail, sizeof(a->detail));
    if (rc == 400) {
        set_problem(a, 400, "Bad Request");
        return;
    }
    if (rc != 0) {
        set_problem(a, 500, "Internal Server Error");
        snprintf(a->detail, sizeof(a->detail), "the response could not be rendered");
        return;
    }
    const cs_cache_ent_t *e =
        cs_cache_put(a->lease.snap->cache, q->key, ctype, a->etag, dbuf_ptr(&a->own), dbuf_len(&a->own));
    a->ctype = ctype;
    a->body = e != NULL ? e->body : dbuf_ptr(&a->own);
    a->len = e != NULL ? e->len : dbuf_len(&a->own);
}

int cs_answer_send(h2o_req_t *req, const cs_answer_t *a, int not_modified)
{
    if (a->status != 200)
        return httpd_send_problem(req, a->status, a->title, "%s", a->detail);
    httpd_add_header(req, "ETag", a->etag);
    httpd_add_header(req, "Cache-Control", "no-cache");
    if (not_modified)
        return httpd_send(req, 304, NULL, NULL, 0);
    return httpd_send(req, 200, a->ctype, a->body != NULL ? a->body : "", a->len);
}

void cs_answer_done(cs_http_t *h, cs_answer_t *a)
{
    if (a->leased)
        h->store.ops->release(h->store.ctx, &a->lease);
    a->leased = 0;
    free(a->env);
    a->env = NULL;
    dbuf_free(&a->own);
}
