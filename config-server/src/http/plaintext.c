/* plaintext.c — Spring's plain-text endpoint: finding the file, resolving its
 * placeholders, and answering it (plaintext.h). */
#include "http/plaintext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "env/jnum.h"
#include "env/placeholder.h"
#include "http/answer.h"
#include "http/watchreq.h"
#include "utf8text.h"

size_t cs_text_candidates(const char *profiles, const char *path, char (*out)[CS_TEXT_CAND_MAX], size_t max)
{
    size_t n = 0;
    const char *base = strrchr(path, '/');
    const char *dot = strrchr(base != NULL ? base + 1 : path, '.');
    size_t stem = dot != NULL ? (size_t)(dot - path) : strlen(path);
    const char *ext = dot != NULL ? dot : "";
    char cand[CS_TEXT_CAND_MAX];
    for (const char *p = profiles; n < max;) {
        size_t len = strcspn(p, ",");
        int plain = len == 0 || (len == 7 && strncmp(p, "default", 7) == 0);
        if (plain)
            snprintf(cand, sizeof(cand), "%s", path);
        else
            snprintf(cand, sizeof(cand), "%.*s-%.*s%s", (int)stem, path, (int)len, p, ext);
        int seen = 0;
        for (size_t i = 0; i < n && !seen; i++)
            seen = strcmp(out[i], cand) == 0;
        if (!seen)
            memcpy(out[n++], cand, sizeof(cand));
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    int seen = 0;
    for (size_t i = 0; i < n && !seen; i++)
        seen = strcmp(out[i], path) == 0;
    if (!seen && n < max)
        snprintf(out[n++], CS_TEXT_CAND_MAX, "%s", path);
    return n;
}

const char *cs_text_ctype(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {"xml", "application/xml; charset=utf-8"},
        {"xsd", "application/xml; charset=utf-8"},
        {"xsl", "application/xml; charset=utf-8"},
        {"json", "application/json"},
        {"yml", "application/yaml; charset=utf-8"},
        {"yaml", "application/yaml; charset=utf-8"},
        {"toml", "application/toml"},
        {"csv", "text/csv; charset=utf-8"},
    };
    const char *base = strrchr(path, '/');
    const char *dot = strrchr(base != NULL ? base + 1 : path, '.');
    for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcasecmp(dot + 1, types[i].ext) == 0)
            return types[i].type;
    return "text/plain; charset=utf-8";
}

int cs_text_is_binary(const char *buf, size_t len)
{
    return memchr(buf, '\0', len) != NULL || utf8text_chars(buf, len) < 0;
}

static void set_problem(cs_text_answer_t *a, int status, const char *title)
{
    a->status = status;
    a->title = title;
}

/* The ETag of a body: the first 16 bytes of SHA-256 over the type and the bytes. */
static void body_etag(const char *ctype, const char *body, size_t len, char *out, size_t size)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(c, ctype, strlen(ctype) + 1) == 1 && EVP_DigestUpdate(c, body, len) == 1 &&
             EVP_DigestFinal_ex(c, md, &ml) == 1 && ml >= 16;
    EVP_MD_CTX_free(c);
    cs_etag_format(md, ok, out, size);
}

/* One request's applications and profiles (split) and its locations. */
typedef struct text_ctx {
    char profbuf[1025], appbuf[1025];
    char *profiles[CS_ENV_MAX_PROFILES], *apps[CS_ENV_MAX_APPS];
    size_t np, na;
    cs_locs_t locs;
} text_ctx_t;

/* Finds and reads the file of `r` in the leased snapshot `l`, in the locations of `c`. 0
 * with a->body/len/file, or a problem in `a`. */
static int find_file(cs_http_t *h, const cs_req_t *r, const cs_lease_t *l, const text_ctx_t *c,
                     cs_text_answer_t *a)
{
    char(*cand)[CS_TEXT_CAND_MAX] = malloc(sizeof(char[CS_TEXT_MAX_CANDIDATES][CS_TEXT_CAND_MAX]));
    if (cand == NULL) {
        set_problem(a, 500, "Internal Server Error");
        snprintf(a->detail, sizeof(a->detail), "out of memory");
        return -1;
    }
    size_t nc = cs_text_candidates(r->profiles, r->path, cand, CS_TEXT_MAX_CANDIDATES);
    /* the locations in their order: the root, the search paths, then the label's folders
     * (git: the commit's root) */
    const char *locs[CS_SP_MAX_LOCS];
    size_t nloc = c->locs.n;
    for (size_t i = 0; i < nloc; i++)
        locs[i] = c->locs.l[i]->name;
    int rc = -1;
    for (size_t i = 0; i < nloc; i++) {
        for (size_t k = 0; k < nc; k++) {
            char why[512] = "";
            snprintf(a->file, sizeof(a->file), "%s%s%s", locs[i], locs[i][0] ? "/" : "", cand[k]);
            int st = h->store.ops->read_file(h->store.ctx, l, a->file, h->max_file_bytes, &a->body, &a->len,
                                             why, sizeof(why));
            if (st == 0) {
                rc = 0;
                goto cleanup;
            }
            if (st == 404)
                continue;
            /* too large, or the disk or git failed: this file cannot be served now */
            set_problem(a, 503, st == 413 ? "File Too Large" : "File Unreadable");
            snprintf(a->detail, sizeof(a->detail), "the file %s cannot be served: %s", a->file, why);
            goto cleanup;
        }
    }
    set_problem(a, 404, "File Not Found");
    size_t dl = (size_t)snprintf(a->detail, sizeof(a->detail),
                                 "no file %s in the config repository at label %s (tried", r->path,
                                 r->label[0] ? r->label : "(default)");
    for (size_t i = 0; i < nloc; i++)
        for (size_t k = 0; k < nc && dl < sizeof(a->detail); k++)
            dl += (size_t)snprintf(a->detail + dl, sizeof(a->detail) - dl, "%s %s%s%s", i + k ? "," : "",
                                   locs[i], locs[i][0] ? "/" : "", cand[k]);
    if (dl < sizeof(a->detail))
        snprintf(a->detail + dl, sizeof(a->detail) - dl, ")");
    a->file[0] = '\0';
cleanup:
    free(cand);
    return rc;
}

/* Replaces a->body by its text with placeholders resolved against the effective
 * environment of `r` in `l`. 0, or a problem in `a`. */
static int resolve_text(cs_http_t *h, const cs_lease_t *l, text_ctx_t *c, cs_text_answer_t *a)
{
    const cs_file_t *bf =
        cs_snap_broken_in(l->snap, c->locs.l, c->locs.n, c->apps, c->na, c->profiles, c->np);
    if (bf != NULL) {
        set_problem(a, 503, "Config File Unusable");
        snprintf(a->detail, sizeof(a->detail),
                 "the placeholders of %s need the config file %s, which cannot be served: %s", a->file,
                 bf->rel, bf->broken);
        return -1;
    }
    int rc = -1, bad = 0;
    json_t *flat = NULL;
    char *out = NULL;
    cs_jnum_t jn;
    cs_env_t *env = malloc(sizeof(*env));
    if (env == NULL || cs_jnum_init(&jn) != 0) {
        free(env);
        set_problem(a, 500, "Internal Server Error");
        snprintf(a->detail, sizeof(a->detail), "out of memory");
        return -1;
    }
    cs_env_collect_in(c->locs.l, c->locs.n, c->apps, c->na, c->profiles, c->np, env);
    env->crypt = (cs_env_crypt_t){.keys = h->keys};
    env->ovr = h->overrides; /* Spring resolves against the environment with its overrides */
    char err[512] = "";
    flat = cs_env_merge(env, &jn, 0, &bad, err, sizeof(err));
    if (flat == NULL) {
        set_problem(a, bad ? 400 : 500, bad ? "Bad Request" : "Internal Server Error");
        snprintf(a->detail, sizeof(a->detail), "%s", err[0] ? err : "out of memory");
        goto cleanup;
    }
    char key[256];
    int ph = cs_ph_resolve(flat, &jn, a->body, &out, key, sizeof(key));
    if (ph == CS_PH_CYCLE) {
        set_problem(a, 400, "Bad Request");
        snprintf(a->detail, sizeof(a->detail), "circular placeholder reference '%s' in %s", key, a->file);
        goto cleanup;
    }
    if (ph != CS_PH_OK) {
        set_problem(a, 400, "Bad Request");
        snprintf(a->detail, sizeof(a->detail), "the placeholders of %s expand past 16 MiB", a->file);
        goto cleanup;
    }
    free(a->body);
    a->body = out;
    a->len = strlen(out);
    out = NULL;
    rc = 0;
cleanup:
    free(out);
    json_decref(flat);
    cs_jnum_free(&jn);
    free(env);
    return rc;
}

void cs_text_eval(cs_http_t *h, const cs_req_t *r, int raw, int resolve, cs_text_answer_t *a)
{
    memset(a, 0, sizeof(*a));
    cs_lease_t l = {0};
    text_ctx_t *c = NULL;
    int ls = h->store.ops->acquire(h->store.ctx, r->app, r->profiles, cs_http_lease_label(h, r), &l,
                                   a->detail, sizeof(a->detail));
    if (ls != 0) {
        set_problem(a, ls, ls == 404 ? "Label Not Found" : ls == 400 ? "Bad Request" : "Service Unavailable");
        return;
    }
    c = malloc(sizeof(*c));
    if (c == NULL) {
        set_problem(a, 500, "Internal Server Error");
        snprintf(a->detail, sizeof(a->detail), "out of memory");
        goto cleanup;
    }
    snprintf(c->profbuf, sizeof(c->profbuf), "%s", r->profiles);
    snprintf(c->appbuf, sizeof(c->appbuf), "%s", r->app);
    c->np = cs_env_split_profiles(c->profbuf, c->profiles, CS_ENV_MAX_PROFILES);
    c->na = cs_env_split_profiles(c->appbuf, c->apps, CS_ENV_MAX_APPS);
    ls = cs_http_locations(h, &l, r, c->apps, c->na, c->profiles, c->np, &c->locs, a->detail,
                           sizeof(a->detail));
    if (ls != 0) {
        set_problem(a, ls, "Label Not Found");
        goto cleanup;
    }
    if (find_file(h, r, &l, c, a) != 0)
        goto cleanup;
    int binary = raw || cs_text_is_binary(a->body, a->len);
    if (!binary && resolve && strstr(a->body, "${") != NULL && resolve_text(h, &l, c, a) != 0)
        goto cleanup;
    a->status = 200;
    a->ctype = binary ? "application/octet-stream" : cs_text_ctype(a->file);
    body_etag(a->ctype, a->body, a->len, a->etag, sizeof(a->etag));
cleanup:
    free(c);
    if (a->status != 200)
        cs_text_answer_free(a); /* a problem carries no body */
    h->store.ops->release(h->store.ctx, &l);
}

void cs_text_answer_free(cs_text_answer_t *a)
{
    free(a->body);
    a->body = NULL;
    a->len = 0;
}

/* 1 when the Accept header asks for Spring's binary endpoint (application/octet-stream). */
static int wants_octets(const char *accept)
{
    return accept != NULL && strcasestr(accept, "application/octet-stream") != NULL;
}

int cs_http_text(cs_http_t *h, h2o_req_t *req, const cs_req_t *r, int resolve)
{
    cs_text_answer_t a;
    cs_text_eval(h, r, wants_octets(httpd_header(req, "accept")), resolve, &a);
    int rc;
    if (a.status != 200) {
        rc = httpd_send_problem(req, a.status, a.title, "%s", a.detail);
    } else {
        httpd_add_header(req, "ETag", a.etag);
        httpd_add_header(req, "Cache-Control", "no-cache");
        httpd_add_header(req, "X-Content-Type-Options", "nosniff");
        const char *inm = httpd_header(req, "if-none-match");
        if (inm != NULL && cs_watch_etag_matches(inm, a.etag))
            rc = httpd_send(req, 304, NULL, NULL, 0);
        else
            rc = httpd_send(req, 200, a.ctype, a.body, a.len);
    }
    cs_text_answer_free(&a);
    return rc;
}
