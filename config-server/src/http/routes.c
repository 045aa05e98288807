/* routes.c — URL grammar, auth, ETag and the responses of the config-server (routes.h). */
#include "http/routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
}

void cs_http_set_cipher(cs_http_t *h, const cs_cipher_t *cipher)
{
    h->cipher = cipher;
}

/* Spring's error body of the encryption endpoints: {"description","status"}. */
int cs_http_send_crypt_error(h2o_req_t *req, int status, const char *code, const char *description)
{
    return httpd_send_json(req, status, json_pack("{s:s,s:s}", "description", description, "status", code));
}
