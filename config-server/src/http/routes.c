/* routes.c — URL grammar, auth, ETag and the responses of the config-server (routes.h). */
#include "http/routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dbuf.h"
#include "env/environment.h"
#include "env/jnum.h"
#include "env/render.h"

#define MAX_SEGS 8

static const char *const fmt_ext[] = {".yml", ".yaml", ".properties", ".json"};
static const int fmt_of_ext[] = {CS_FMT_YAML, CS_FMT_YAML, CS_FMT_PROPERTIES, CS_FMT_JSON};

/* Copies `src` into `dst` (truncating; the callers validated the length already). */
static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Generic checks on a decoded segment (before the stricter allow-lists). */
static int segment_safe(const char *s)
{
    if (*s == '\0' || strstr(s, "..") != NULL)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\' || *p == '#' || *p == '?' || *p == '%')
            return 0;
    return 1;
}

/* "{app}-{profiles}.{ext}" → out; 0 or 400/404 */
static int parse_flat(const char *seg, cs_req_t *out, char *why, size_t whylen)
{
    size_t n = strlen(seg);
    for (int i = 0; i < 4; i++) {
        size_t el = strlen(fmt_ext[i]);
        if (n <= el || strcmp(seg + n - el, fmt_ext[i]) != 0)
            continue;
        char stem[CS_PATH_NAME_MAX + 1026];
        if (n - el >= sizeof(stem)) {
            snprintf(why, whylen, "name too long");
            return 400;
        }
        memcpy(stem, seg, n - el);
        stem[n - el] = '\0';
        char *dash = strrchr(stem, '-');
        if (dash == NULL) {
            snprintf(why, whylen, "expected /{application}-{profiles}%s", fmt_ext[i]);
            return 404;
        }
        *dash = '\0';
        if (!cs_path_apps_ok(stem) || !cs_path_profiles_ok(dash + 1)) {
            snprintf(why, whylen, "invalid application or profile name");
            return 400;
        }
        copy_str(out->app, sizeof(out->app), stem);
        copy_str(out->profiles, sizeof(out->profiles), dash + 1);
        out->kind = CS_REQ_FLAT;
        out->fmt = fmt_of_ext[i];
        return 0;
    }
    return -1; /* not a flat form */
}

int cs_http_parse(const char *path, cs_req_t *out, char *why, size_t whylen)
{
    char segs[MAX_SEGS][CS_PATH_NAME_MAX + 1026];
    int nseg = 0;
    memset(out, 0, sizeof(*out));
    if (strcmp(path, "/actuator/health") == 0 || strcmp(path, "/health") == 0) {
        out->kind = CS_REQ_HEALTH;
        return 0;
    }
    if (path[0] != '/') {
        snprintf(why, whylen, "path must start with /");
        return 400;
    }
    const char *p = path + 1;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash != NULL ? (size_t)(slash - p) : strlen(p);
        if (nseg == MAX_SEGS) {
            snprintf(why, whylen, "too many path segments");
            return 404;
        }
        if (len == 0) { /* "//x", "/x/" …: no such resource, as Spring answers */
            snprintf(why, whylen, "empty path segment (a trailing or doubled slash)");
            return 404;
        }
        if (cs_path_decode(p, len, segs[nseg], sizeof(segs[nseg])) != 0 || !segment_safe(segs[nseg])) {
            snprintf(why, whylen, "path segment %d is not an allowed name (after decoding)", nseg + 1);
            return 400;
        }
        nseg++;
        if (slash == NULL)
            break;
        p = slash + 1;
    }
    int rc;
    if ((nseg == 1 || nseg == 3) && strcmp(segs[0], "key") == 0) { /* Spring's RSA public key */
        out->kind = CS_REQ_KEY;
        return 0;
    }
    if (nseg == 2 && strcmp(segs[0], "encrypt") == 0 && strcmp(segs[1], "status") == 0) {
        out->kind = CS_REQ_ENCRYPT_STATUS;
        return 0;
    }
    switch (nseg) {
    case 1:
        rc = parse_flat(segs[0], out, why, whylen);
        if (rc < 0) {
            snprintf(why, whylen,
                     "expected /{application}/{profiles}[/{label}] or /{application}-{profiles}.yml");
            return 404;
        }
        return rc;
    case 2:
        rc = parse_flat(segs[1], out, why, whylen);
        if (rc == 0) {
            if (cs_path_label(segs[0], out->label, sizeof(out->label)) != 0) {
                snprintf(why, whylen, "invalid label name");
                return 400;
            }
            return 0;
        }
        if (rc > 0)
            return rc;
        /* fall through: /{app}/{profiles} */
        /* FALLTHRU */
    case 3:
        if (!cs_path_apps_ok(segs[0]) || !cs_path_profiles_ok(segs[1]) ||
            (nseg == 3 && cs_path_label(segs[2], out->label, sizeof(out->label)) != 0)) {
            snprintf(why, whylen, "invalid application, profile or label name");
            return 400;
        }
        out->kind = CS_REQ_ENV;
        copy_str(out->app, sizeof(out->app), segs[0]);
        copy_str(out->profiles, sizeof(out->profiles), segs[1]);
        return 0;
    default:
        snprintf(why, whylen, "plain-text resources are not served");
        return 404;
    }
}

int cs_http_init(cs_http_t *h, cs_store_t store, cs_srcnames_t names, int accept_empty, const char *user,
                 const char *pass, const clog_t *log)
{
    memset(h, 0, sizeof(*h));
    h->store = store;
    h->names = names;
    h->accept_empty = accept_empty;
    h->log = log;
    if (user == NULL || *user == '\0')
        return 0;
    dbuf_t cred;
    dbuf_init(&cred, 4096);
    if (dbuf_addf(&cred, "%s:%s", user, pass != NULL ? pass : "") != 0)
        return -1;
    size_t enc_len = 4 * ((cred.len + 2) / 3) + 1;
    h->auth = malloc(6 + enc_len);
    if (h->auth == NULL) {
        dbuf_free(&cred);
        return -1;
    }
    memcpy(h->auth, "Basic ", 6);
    EVP_EncodeBlock((unsigned char *)h->auth + 6, (const unsigned char *)dbuf_ptr(&cred), (int)cred.len);
    OPENSSL_cleanse(cred.ptr, cred.len);
    dbuf_free(&cred);
    return 0;
}

void cs_http_free(cs_http_t *h)
{
    if (h == NULL)
        return;
    if (h->auth != NULL)
        OPENSSL_cleanse(h->auth, strlen(h->auth));
    free(h->auth);
    h->auth = NULL;
}

void cs_http_set_cipher(cs_http_t *h, const cs_cipher_t *cipher)
{
    h->cipher = cipher;
}

static int send_health(cs_http_t *h, h2o_req_t *req)
{
    int degraded = 0;
    json_t *details = h->store.ops->health(h->store.ctx, &degraded);
    json_t *body = json_pack("{s:s,s:{s:{s:s,s:o}}}", "status", "UP", "components", "configServer", "status",
                             degraded ? "DEGRADED" : "UP", "details", details);
    return httpd_send_json(req, 200, body);
}

int cs_http_authorized(const cs_http_t *h, h2o_req_t *req)
{
    if (h->auth == NULL)
        return 1;
    const char *got = httpd_header(req, "authorization");
    size_t want = strlen(h->auth);
    return got != NULL && strlen(got) == want && CRYPTO_memcmp(got, h->auth, want) == 0;
}

/* 1 when If-None-Match lists `etag` (or "*"). */
static int etag_matches(const char *inm, const char *etag)
{
    if (inm == NULL)
        return 0;
    size_t el = strlen(etag);
    for (const char *p = inm; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (strncmp(p, etag, el) == 0 && (p[el] == '\0' || p[el] == ',' || p[el] == ' '))
            return 1;
        p += strcspn(p, ",");
    }
    return 0;
}

static int query_false(const char *q, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = q; p && *p;) {
        if (strncmp(p, name, nl) == 0 && p[nl] == '=')
            return strncmp(p + nl + 1, "false", 5) == 0;
        p = strchr(p, '&');
        if (p != NULL)
            p++;
    }
    return 0;
}

#define V2_TYPE "application/vnd.spring-cloud.config-server.v2+json"

/* Spring's content negotiation for the JSON Environment (produces v2 and
 * application/json): 0 with *v2 set, or 406. The Accept ranges are taken by quality
 * (stable), the first one that matches either type decides; a wildcard means JSON. */
static int negotiate(const char *accept, int *v2)
{
    *v2 = 0;
    if (accept == NULL || *accept == '\0')
        return 0;
    double best_q = -1;
    int best_v2 = 0;
    for (const char *p = accept; *p != '\0';) {
        size_t len = strcspn(p, ",");
        char range[128];
        size_t rl = len < sizeof(range) - 1 ? len : sizeof(range) - 1;
        memcpy(range, p, rl);
        range[rl] = '\0';
        p += len + (p[len] == ',');
        double q = 1;
        char *semi = strchr(range, ';');
        if (semi != NULL) {
            const char *qp = strstr(semi, "q=");
            if (qp != NULL)
                q = strtod(qp + 2, NULL);
            *semi = '\0';
        }
        char *t = range;
        while (*t == ' ' || *t == '\t')
            t++;
        size_t tl = strlen(t);
        while (tl > 0 && (t[tl - 1] == ' ' || t[tl - 1] == '\t'))
            t[--tl] = '\0';
        int is_v2 = strcasecmp(t, V2_TYPE) == 0;
        int is_json = strcasecmp(t, "application/json") == 0 || strcasecmp(t, "application/*") == 0 ||
                      strcmp(t, "*/*") == 0 || strcmp(t, "*") == 0;
        if ((is_v2 || is_json) && q > 0 && q > best_q) {
            best_q = q;
            best_v2 = is_v2;
        }
    }
    if (best_q < 0)
        return 406;
    *v2 = best_v2;
    return 0;
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

/* Renders the body for `r` into `out`; sets *ctype (static). 0, -1 (out of memory) or 400
 * with `why` (the repository's values cannot be rendered: a placeholder cycle). */
static int render_body(const cs_env_t *env, const cs_req_t *r, const char *version,
                       const cs_srcnames_t *names, int v2, int resolve, dbuf_t *out, const char **ctype,
                       char *why, size_t whylen)
{
    json_t *j = NULL;
    int rc = -1;
    cs_jnum_t jn;
    if (cs_jnum_init(&jn) != 0)
        return -1;
    if (r->kind == CS_REQ_ENV) {
        *ctype = v2 ? V2_TYPE : "application/json";
        j = cs_env_json(env, &jn, r->app, r->profiles, r->label[0] ? r->label : NULL, version, names, v2);
    } else {
        int bad = 0;
        json_t *flat = cs_env_merge(env, &jn, resolve, &bad, why, whylen);
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

/* Spring's error body of the encryption endpoints: {"description","status"}. */
int cs_http_send_crypt_error(h2o_req_t *req, int status, const char *code, const char *description)
{
    return httpd_send_json(req, status, json_pack("{s:s,s:s}", "description", description, "status", code));
}

int cs_http_handle(void *ctx, h2o_req_t *req)
{
    cs_http_t *h = ctx;
    char why[512] = "";
    cs_req_t r;
    int status = cs_http_parse(httpd_path(req), &r, why, sizeof(why));
    if (status == 0 && r.kind == CS_REQ_HEALTH)
        return send_health(h, req);
    if (!cs_http_authorized(h, req)) {
        httpd_add_header(req, "WWW-Authenticate", "Basic realm=\"config-server\", charset=\"UTF-8\"");
        return httpd_send_problem(req, 401, "Unauthorized", "valid HTTP Basic credentials are required");
    }
    if (status != 0)
        return httpd_send_problem(req, status, status == 400 ? "Bad Request" : "Not Found", "%s", why);
    if (r.kind == CS_REQ_KEY)
        return cs_http_send_crypt_error(req, 404, "NOT_FOUND", "No public key available");
    if (r.kind == CS_REQ_ENCRYPT_STATUS)
        return h->cipher != NULL ? httpd_send_json(req, 200, json_pack("{s:s}", "status", "OK"))
                                 : cs_http_send_crypt_error(req, 404, "NO_KEY",
                                                            "No key was installed for encryption service");
    int v2 = 0;
    if (r.kind == CS_REQ_ENV && negotiate(httpd_header(req, "accept"), &v2) != 0)
        return httpd_send_problem(req, 406, "Not Acceptable",
                                  "the Environment is served as application/json or " V2_TYPE);

    cs_lease_t lease;
    int ls = h->store.ops->acquire(h->store.ctx, r.label, &lease, why, sizeof(why));
    if (ls != 0)
        return httpd_send_problem(req, ls,
                                  ls == 404   ? "Label Not Found"
                                  : ls == 400 ? "Bad Request"
                                              : "Service Unavailable",
                                  "%s", why);
    const cs_snap_t *s = lease.snap;
    const cs_label_t *lbl = lease.lbl;
    cs_env_t *env = NULL;
    dbuf_t body;
    dbuf_init(&body, 64u << 20);
    char etag[64];
    snprintf(etag, sizeof(etag), "\"%s\"", s->version);
    int resolve = r.kind == CS_REQ_FLAT && !query_false(httpd_query(req), "resolvePlaceholders");
    char key[2600];
    snprintf(key, sizeof(key), "%d|%d|%d|%d|%s|%s|%s", r.kind, r.fmt, v2, resolve, r.app, r.profiles,
             r.label);
    const cs_cache_ent_t *hit = cs_cache_get(s->cache, key);
    if (hit != NULL) {
        httpd_add_header(req, "ETag", etag);
        httpd_add_header(req, "Cache-Control", "no-cache");
        if (etag_matches(httpd_header(req, "if-none-match"), etag))
            httpd_send(req, 304, NULL, NULL, 0);
        else
            httpd_send(req, 200, hit->ctype, hit->body, hit->len);
        goto done;
    }
    char profbuf[sizeof(r.profiles)], appbuf[sizeof(r.app)];
    char *profiles[CS_ENV_MAX_PROFILES], *apps[CS_ENV_MAX_APPS];
    snprintf(profbuf, sizeof(profbuf), "%s", r.profiles);
    snprintf(appbuf, sizeof(appbuf), "%s", r.app);
    size_t np = cs_env_split_profiles(profbuf, profiles, CS_ENV_MAX_PROFILES);
    size_t na = cs_env_split_profiles(appbuf, apps, CS_ENV_MAX_APPS);
    const cs_file_t *bf = cs_snap_broken_for(s, lbl, apps, na, profiles, np);
    if (bf != NULL) { /* Spring fails such a request too (500); the others are served */
        httpd_send_problem(req, 503, "Config File Unusable",
                           "the config file %s that this request needs cannot be served: %s", bf->rel,
                           bf->broken);
        goto done;
    }
    env = malloc(sizeof(*env));
    if (env == NULL) {
        httpd_send_problem(req, 500, "Internal Server Error", "out of memory");
        goto done;
    }
    cs_env_collect(s, lbl, apps, na, profiles, np, env);
    env->crypt = (cs_env_crypt_t){.cipher = h->cipher, .report = report_invalid, .ctx = h};
    if (env->n == 0 && !h->accept_empty) { /* Spring's accept-empty=false */
        httpd_send_problem(
            req, 404, "Application Not Found",
            "no file of the config repository applies to %s (profiles %s, label %s): no %s.yml, "
            "no %s-{profile}.yml and no application*.yml",
            r.app, r.profiles, r.label[0] ? r.label : "master", r.app, r.app);
        goto done;
    }
    httpd_add_header(req, "ETag", etag);
    httpd_add_header(req, "Cache-Control", "no-cache");
    if (etag_matches(httpd_header(req, "if-none-match"), etag)) {
        httpd_send(req, 304, NULL, NULL, 0);
        goto done;
    }
    const char *ctype = "application/json";
    int rc = render_body(env, &r, s->version, &h->names, v2, resolve, &body, &ctype, why, sizeof(why));
    if (rc == 400) {
        httpd_send_problem(req, 400, "Bad Request", "%s", why);
    } else if (rc != 0) {
        httpd_send_problem(req, 500, "Internal Server Error", "the response could not be rendered");
    } else {
        cs_cache_put(s->cache, key, ctype, dbuf_ptr(&body), dbuf_len(&body));
        httpd_send(req, 200, ctype, dbuf_ptr(&body), dbuf_len(&body));
    }
done:
    dbuf_free(&body);
    free(env);
    h->store.ops->release(h->store.ctx, &lease);
    return 0;
}
