/* handler.c — the GET dispatcher of config-server (handler.h): health, who is asking and
 * may they (guard.h), the encryption status, content negotiation, then the environment
 * answer (watchreq.h) or a plain-text file (plaintext.h). */
#include "http/handler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/guard.h"
#include "http/plaintext.h"
#include "http/watchreq.h"
#include "watch/hub.h"

/* Health: the details only for an identity (or an open server), as Spring's
 * show-details: when-authorized; liveness and readiness never need one. */
static int send_health(cs_http_t *h, h2o_req_t *req, int details_ok)
{
    if (!details_ok)
        return httpd_send_json(req, 200, json_pack("{s:s}", "status", "UP"));
    int degraded = 0;
    json_t *details = h->store.ops->health(h->store.ctx, &degraded);
    if (h->hub != NULL)
        json_object_set_new(details, "watch",
                            json_pack("{s:I,s:I}", "held", (json_int_t)cs_hub_waiters(h->hub),
                                      "maxWaitSeconds", (json_int_t)(h->watch_max_ms / 1000)));
    json_t *body = json_pack("{s:s,s:{s:{s:s,s:o}}}", "status", "UP", "components", "configServer", "status",
                             degraded ? "DEGRADED" : "UP", "details", details);
    return httpd_send_json(req, 200, body);
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

int cs_http_handle(void *ctx, h2o_req_t *req)
{
    cs_http_t *h = ctx;
    char why[512] = "";
    cs_req_t r;
    int status = cs_http_parse_query(httpd_path(req), httpd_query(req), &r, why, sizeof(why));
    if (status == 0 && r.kind == CS_REQ_PROBE)
        return send_health(h, req, 0);
    const cs_client_t *who = NULL;
    if (cs_guard_identify(h->access, req, &who, h->log) != 0)
        return 0; /* answered: 401 or 429 */
    if (status == 0 && r.kind == CS_REQ_HEALTH)
        return send_health(h, req, h->access->open || who != NULL);
    if (!h->access->open && who == NULL)
        return cs_guard_send_401(req, "this server needs credentials: HTTP Basic or a client certificate");
    if (status != 0)
        return httpd_send_problem(req, status, status == 400 ? "Bad Request" : "Not Found", "%s", why);
    if ((r.kind == CS_REQ_KEY || r.kind == CS_REQ_ENCRYPT_STATUS) && !cs_guard_is_admin(h->access, who, 1))
        return httpd_send_problem(req, 403, "Forbidden",
                                  "client %s is no admin: the encryption endpoints need one", who->name);
    if ((r.kind == CS_REQ_KEY || r.kind == CS_REQ_ENCRYPT_STATUS) && h->keys == NULL)
        return cs_http_send_crypt_error(req, 404, "NO_KEY", "No key was installed for encryption service");
    if (r.kind == CS_REQ_KEY)
        return cs_http_send_key(h, req);
    if (r.kind == CS_REQ_ENCRYPT_STATUS)
        return httpd_send_json(req, 200, json_pack("{s:s}", "status", "OK"));
    if (!cs_access_may_read(h->access, who, r.app, r.profiles, r.label))
        return httpd_send_problem(
            req, 403, "Forbidden",
            "client %s may not read application %.300s with profiles %.300s at label %s", who->name, r.app,
            r.profiles, r.label[0] != '\0' ? r.label : "(default)");
    if (r.kind == CS_REQ_TEXT)
        return cs_http_text(h, req, &r, !query_false(httpd_query(req), "resolvePlaceholders"));
    int v2 = 0;
    if (r.kind == CS_REQ_ENV && negotiate(httpd_header(req, "accept"), &v2) != 0)
        return httpd_send_problem(req, 406, "Not Acceptable",
                                  "the Environment is served as application/json or " V2_TYPE);
    return cs_http_watch(h, req, &r, v2,
                         r.kind == CS_REQ_FLAT && !query_false(httpd_query(req), "resolvePlaceholders"));
}
