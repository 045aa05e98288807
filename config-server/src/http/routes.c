/* routes.c — URL grammar, auth, ETag and the responses of the config-server (routes.h). */
#include "http/routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8text.h"

#define MAX_SEGS 20 /* app, profiles, label and a plain-text path of up to 17 components */

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

int cs_http_text_path_ok(const char *path)
{
    size_t n = strlen(path);
    if (n == 0 || n > CS_TEXT_PATH_MAX || utf8text_chars(path, n) < 0)
        return 0;
    for (const char *c = path;;) {
        const char *slash = strchr(c, '/');
        size_t len = slash != NULL ? (size_t)(slash - c) : strlen(c);
        if (len == 0 || c[0] == '.') /* empty, hidden, "." or ".." */
            return 0;
        for (size_t i = 0; i < len; i++) {
            unsigned char b = (unsigned char)c[i];
            if (b < 0x20 || b == 0x7f || b == '\\' || b == '#' || b == '?' || b == '%')
                return 0;
        }
        if (slash == NULL)
            return 1;
        c = slash + 1;
    }
}

/* segs[first..nseg) joined with "/" into out->path as a plain-text request. 0 or 400. */
static int parse_text(char (*segs)[CS_PATH_NAME_MAX + 1026], int first, int nseg, cs_req_t *out, char *why,
                      size_t whylen)
{
    size_t len = 0;
    for (int i = first; i < nseg; i++) {
        size_t sl = strlen(segs[i]);
        if (len + sl + (i > first) > CS_TEXT_PATH_MAX) {
            snprintf(why, whylen, "the file path is longer than %d bytes", CS_TEXT_PATH_MAX);
            return 400;
        }
        if (i > first)
            out->path[len++] = '/';
        memcpy(out->path + len, segs[i], sl);
        len += sl;
    }
    out->path[len] = '\0';
    if (!cs_http_text_path_ok(out->path)) {
        snprintf(why, whylen,
                 "the file path is not allowed (a hidden, '.' or '..' component, a backslash, a control "
                 "character or invalid UTF-8)");
        return 400;
    }
    out->kind = CS_REQ_TEXT;
    return 0;
}

/* 1 when the raw query has the parameter `name` (with or without a value). */
static int query_has(const char *q, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = q; p != NULL && *p != '\0';) {
        if (strncmp(p, name, nl) == 0 && (p[nl] == '\0' || p[nl] == '=' || p[nl] == '&'))
            return 1;
        p = strchr(p, '&');
        if (p != NULL)
            p++;
    }
    return 0;
}

int cs_http_parse(const char *path, cs_req_t *out, char *why, size_t whylen)
{
    return cs_http_parse_query(path, NULL, out, why, whylen);
}

int cs_http_parse_query(const char *path, const char *query, cs_req_t *out, char *why, size_t whylen)
{
    char segs[MAX_SEGS][CS_PATH_NAME_MAX + 1026];
    int nseg = 0;
    memset(out, 0, sizeof(*out));
    if (strcmp(path, "/actuator/health") == 0 || strcmp(path, "/health") == 0) {
        out->kind = CS_REQ_HEALTH;
        return 0;
    }
    if (strcmp(path, "/actuator/health/liveness") == 0 || strcmp(path, "/actuator/health/readiness") == 0) {
        out->kind = CS_REQ_PROBE;
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
        if (nseg == 3 && (!cs_path_apps_ok(segs[1]) || !cs_path_profiles_ok(segs[2]))) {
            snprintf(why, whylen, "invalid application or profile name");
            return 400;
        }
        copy_str(out->app, sizeof(out->app), nseg == 3 ? segs[1] : "application");
        copy_str(out->profiles, sizeof(out->profiles), nseg == 3 ? segs[2] : "default");
        return 0;
    }
    if (nseg == 2 && strcmp(segs[0], "encrypt") == 0 && strcmp(segs[1], "status") == 0) {
        out->kind = CS_REQ_ENCRYPT_STATUS;
        return 0;
    }
    int default_label = query_has(query, "useDefaultLabel");
    if (nseg >= 4 || (nseg == 3 && default_label)) { /* Spring's plain text */
        int first = default_label ? 2 : 3;
        if (!cs_path_apps_ok(segs[0]) || !cs_path_profiles_ok(segs[1]) ||
            (!default_label && cs_path_label(segs[2], out->label, sizeof(out->label)) != 0)) {
            snprintf(why, whylen, "invalid application, profile or label name");
            return 400;
        }
        copy_str(out->app, sizeof(out->app), segs[0]);
        copy_str(out->profiles, sizeof(out->profiles), segs[1]);
        return parse_text(segs, first, nseg, out, why, whylen);
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
    default: /* not reached: 4 and more segments are plain text */
        snprintf(why, whylen, "no such resource");
        return 404;
    }
}

void cs_http_init(cs_http_t *h, cs_store_t store, cs_srcnames_t names, int accept_empty, cs_access_t *access,
                  const clog_t *log)
{
    memset(h, 0, sizeof(*h));
    h->store = store;
    h->names = names;
    h->accept_empty = accept_empty;
    h->access = access;
    h->log = log;
    h->watch_max_ms = 60000;
    h->max_file_bytes = 1u << 20;
}

void cs_http_set_keys(cs_http_t *h, const cs_keys_t *keys)
{
    h->keys = keys;
}

/* Spring's error body of the encryption endpoints: {"description","status"}. */
int cs_http_send_crypt_error(h2o_req_t *req, int status, const char *code, const char *description)
{
    return httpd_send_json(req, status, json_pack("{s:s,s:s}", "description", description, "status", code));
}

const char *cs_http_lease_label(const cs_http_t *h, const cs_req_t *r)
{
    return h->search_paths != NULL && !h->search_paths->git ? "" : r->label;
}

const cs_srcnames_t *cs_http_names(const cs_http_t *h, const cs_lease_t *l)
{
    return l->names != NULL ? l->names : &h->names;
}

int cs_http_locations(const cs_http_t *h, const cs_lease_t *l, const cs_req_t *r, char *const *apps,
                      size_t na, char *const *profiles, size_t np, cs_locs_t *out, char *why, size_t whylen)
{
    const cs_searchpaths_t *sp = l->sp != NULL ? l->sp : h->search_paths;
    if (sp == NULL || sp->n == 0) { /* the store chose the label's overlay (the root for git) */
        out->n = 0;
        out->l[out->n++] = &l->snap->labels[0];
        if (l->lbl != &l->snap->labels[0])
            out->l[out->n++] = l->lbl;
        out->label_found = 1;
        return 0;
    }
    cs_sp_locations(sp, l->snap, r->label, apps, na, profiles, np, out);
    if (!out->label_found) {
        snprintf(why, whylen,
                 "no label '%s' in the config repository (no folder of that name below the root "
                 "or a search path)",
                 r->label);
        return 404;
    }
    return 0;
}
