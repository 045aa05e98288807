/* monitor.c — POST /monitor, Spring Cloud Config Monitor's endpoint: a push webhook (or a
 * plain form) makes the server look for changes at once (store refresh: a git fetch, or a
 * folder re-read), so a pushed edit is served well under a second later.
 *
 * Accepted, as Spring's PropertyPathEndpoint: GitHub (X-GitHub-Event), GitLab
 * (X-Gitlab-Event), Gitea/Gogs (X-Gitea-Event, X-Gogs-Event) and Bitbucket (X-Event-Key)
 * push payloads — the changed file paths come from commits[].added/modified/removed — and
 * the form `path=<file>[&path=…]`. The answer is 200 with the JSON list of the application
 * names the paths concern (Spring's guess: "customer-service-dev.yml" →
 * "customer-service-dev", "customer-service:dev"; application*.yml → "*").
 *
 * Validation (CVE-2026-47837): with CONFIG_SERVER_MONITOR_SECRET set, a request must carry
 * GitHub's/Bitbucket's X-Hub-Signature-256 (HMAC-SHA256 of the body), Gitea's/Gogs'
 * signature, GitLab's X-Gitlab-Token, or X-Monitor-Token (for scripts) matching it; else
 * 401. An admin client (http/guard.h) may call it too, with or without a secret; a server
 * with neither credentials nor a secret leaves it open.
 * Either way a request only triggers a fetch: refreshes are coalesced and rate-limited by
 * the store.
 *
 * Replicas (http/peers.h): an accepted request is copied to the other replicas, marked
 * X-Config-Monitor-Forwarded; a marked request is served but never forwarded again.
 */
#include "http/monitor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "dbuf.h"
#include "http/form.h"
#include "http/guard.h"

/* 1 when `got` (hex, optionally after "sha256=") is the HMAC-SHA256 of the body. */
static int hmac_ok(const char *secret, const char *got, const void *body, size_t len)
{
    unsigned char mac[32];
    unsigned int ml = 0;
    if (got == NULL || HMAC(EVP_sha256(), secret, (int)strlen(secret), body, len, mac, &ml) == NULL)
        return 0;
    if (strncmp(got, "sha256=", 7) == 0)
        got += 7;
    char hex[65];
    for (unsigned i = 0; i < ml; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    return strlen(got) == 2 * ml && CRYPTO_memcmp(got, hex, 2 * ml) == 0;
}

static int token_ok(const char *secret, const char *got)
{
    return got != NULL && strlen(got) == strlen(secret) && CRYPTO_memcmp(got, secret, strlen(secret)) == 0;
}

/* 1 when the webhook's signature or token matches the secret. */
static int signed_ok(const cs_monitor_t *m, h2o_req_t *req)
{
    if (m->secret == NULL)
        return 0;
    const void *body = req->entity.base != NULL ? req->entity.base : "";
    size_t len = req->entity.base != NULL ? req->entity.len : 0;
    return hmac_ok(m->secret, httpd_header(req, "x-hub-signature-256"), body, len) ||
           hmac_ok(m->secret, httpd_header(req, "x-hub-signature"), body, len) ||
           hmac_ok(m->secret, httpd_header(req, "x-gitea-signature"), body, len) ||
           hmac_ok(m->secret, httpd_header(req, "x-gogs-signature"), body, len) ||
           token_ok(m->secret, httpd_header(req, "x-gitlab-token")) ||
           token_ok(m->secret, httpd_header(req, "x-monitor-token"));
}

/* Adds Spring's service-name guesses for one changed path to the set `names`. */
static void add_names(json_t *names, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    char stem[256];
    snprintf(stem, sizeof(stem), "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot != NULL)
        *dot = '\0';
    if (stem[0] == '\0')
        return;
    if (strcmp(stem, "application") == 0 || strncmp(stem, "application-", 12) == 0) {
        json_object_set_new(names, "*", json_true());
        return;
    }
    json_object_set_new(names, stem, json_true());
    for (char *d = strchr(stem, '-'); d != NULL; d = strchr(d + 1, '-')) {
        char two[260];
        snprintf(two, sizeof(two), "%.*s:%s", (int)(d - stem), stem, d + 1);
        json_object_set_new(names, two, json_true());
    }
}

/* Collects the changed paths of a push payload's commits into `names`. */
static void add_commit_paths(json_t *names, const json_t *payload)
{
    static const char *const kinds[] = {"added", "modified", "removed"};
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(payload, "commits"), i, c)
    {
        for (int k = 0; k < 3; k++) {
            size_t j;
            json_t *p;
            json_array_foreach(json_object_get(c, kinds[k]), j, p) if (json_is_string(p))
                add_names(names, json_string_value(p));
        }
    }
}

#define MAX_REPO_URLS 16

/* The URLs naming the pushed repository in a webhook payload (GitHub, Gitea and Gogs:
 * repository.clone_url/ssh_url/git_url/html_url/url; GitLab: project.git_http_url/
 * git_ssh_url/web_url and repository.url/git_http_url/git_ssh_url/homepage; Bitbucket:
 * repository.links.html.href), borrowed from `payload`, into `out`. The count. */
static size_t repo_urls(const json_t *payload, const char **out, size_t max)
{
    static const char *const objs[] = {"repository", "project"};
    static const char *const keys[] = {"clone_url",    "ssh_url",     "git_url", "html_url", "url",
                                       "git_http_url", "git_ssh_url", "web_url", "homepage"};
    size_t n = 0;
    for (size_t o = 0; o < sizeof(objs) / sizeof(objs[0]); o++) {
        const json_t *r = json_object_get(payload, objs[o]);
        for (size_t k = 0; json_is_object(r) && k < sizeof(keys) / sizeof(keys[0]) && n < max; k++) {
            const char *s = json_string_value(json_object_get(r, keys[k]));
            if (s != NULL && s[0] != '\0')
                out[n++] = s;
        }
        const char *href =
            json_string_value(json_object_get(json_object_get(json_object_get(r, "links"), "html"), "href"));
        if (href != NULL && n < max)
            out[n++] = href;
    }
    return n;
}

/* The form's path= values into `names`. 0, or -1 on a malformed escape. */
static int add_form_paths(json_t *names, const char *body, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        if (end - i > 5 && strncmp(body + i, "path=", 5) == 0) {
            dbuf_t v;
            dbuf_init(&v, 4096);
            if (cs_form_decode(body + i + 5, end - i - 5, &v) != 0 || dbuf_add(&v, "", 1) != 0) {
                dbuf_free(&v);
                return -1;
            }
            add_names(names, dbuf_ptr(&v));
            dbuf_free(&v);
        }
        i = end + 1;
    }
    return 0;
}

int cs_monitor_handle(void *ctx, h2o_req_t *req)
{
    cs_monitor_t *m = ctx;
    cs_access_t *acc = m->http->access;
    if (!signed_ok(m, req) && !(acc->open && m->secret == NULL)) {
        /* not vouched for by the webhook secret: an admin client may still ask */
        const cs_client_t *who = NULL;
        if (cs_guard_identify(acc, req, &who, m->log) != 0)
            return 0; /* answered: 401 or 429 */
        if (who == NULL)
            return m->secret != NULL && httpd_header(req, "authorization") == NULL
                       ? httpd_send_problem(req, 401, "Unauthorized",
                                            "the webhook's signature or token does not match")
                       : cs_guard_send_401(req, "POST /monitor needs the webhook secret or an admin client");
        if (!who->admin)
            return httpd_send_problem(req, 403, "Forbidden",
                                      "client %s is no admin: POST /monitor needs one, or the webhook secret",
                                      who->name);
    }
    const char *hop = httpd_header(req, "x-config-monitor-forwarded");
    if (hop != NULL && m->peers != NULL && strcmp(hop, cs_peers_id(m->peers)) == 0) {
        if (m->log != NULL) /* our own copy, through a peer list that names us: done already */
            clog_debug(m->log, "monitor: our own forwarded copy came back; ignored");
        return httpd_send_json(req, 200, json_array());
    }
    json_t *names = json_object();
    json_t *payload = NULL; /* the webhook's, kept for the repository URLs */
    const char *urls[MAX_REPO_URLS];
    size_t nurls = 0;
    const char *body = req->entity.base != NULL ? req->entity.base : "";
    size_t len = req->entity.base != NULL ? req->entity.len : 0;
    const char *ct = httpd_header(req, "content-type");
    int webhook = httpd_header(req, "x-github-event") != NULL ||
                  httpd_header(req, "x-gitlab-event") != NULL || httpd_header(req, "x-gitea-event") != NULL ||
                  httpd_header(req, "x-gogs-event") != NULL || httpd_header(req, "x-event-key") != NULL;
    if (webhook && ct != NULL && !httpd_content_type_is_json(ct) && !cs_form_is(ct)) {
        json_decref(names);
        return httpd_send_problem(
            req, 415, "Unsupported Media Type",
            "a push webhook is application/json (or GitHub's form delivery), not %.100s", ct);
    }
    if (webhook) {
        json_error_t je;
        payload = json_loadb(body, len, 0, &je);
        if (payload == NULL && len > 0 && ct != NULL && cs_form_is(ct)) { /* GitHub's form delivery */
            dbuf_t d;
            dbuf_init(&d, 8u << 20);
            if (len > 8 && strncmp(body, "payload=", 8) == 0 && cs_form_decode(body + 8, len - 8, &d) == 0)
                payload = json_loadb(dbuf_ptr(&d), dbuf_len(&d), 0, &je);
            dbuf_free(&d);
        }
        if (payload == NULL && len > 0) {
            json_decref(names);
            return httpd_send_problem(req, 400, "Bad Request", "the webhook payload is not JSON: %s",
                                      je.text);
        }
        if (httpd_header(req, "x-event-key") != NULL) /* Bitbucket lists no files: everything */
            json_object_set_new(names, "*", json_true());
        add_commit_paths(names, payload);
        nurls = repo_urls(payload, urls, MAX_REPO_URLS);
    } else if (ct != NULL && cs_form_is(ct)) {
        if (add_form_paths(names, body, len) != 0) {
            json_decref(names);
            return httpd_send_problem(req, 400, "Bad Request", "the form body has a malformed %%-escape");
        }
    } else if (len > 0) {
        json_decref(names);
        return httpd_send_problem(
            req, 415, "Unsupported Media Type",
            "POST /monitor takes a GitHub, GitLab, Gitea, Gogs or Bitbucket push webhook, "
            "or a form path=<file>");
    }
    m->store->ops->refresh(m->store->ctx, urls, nurls);
    json_decref(payload);
    if (hop == NULL)
        cs_peers_forward(m->peers, req); /* a copy that is never forwarded again */
    json_t *out = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(names, k, v) json_array_append_new(out, json_string(k));
    json_decref(names);
    if (m->log != NULL)
        clog_ev(m->log, CLOG_INFO, json_pack("{s:O,s:s?}", "names", out, "forwarded_by", hop),
                hop != NULL ? "monitor: refresh requested by a peer" : "monitor: refresh requested");
    return httpd_send_json(req, 200, out);
}
