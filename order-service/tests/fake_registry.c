/* fake_registry.c — the fake schema registry of order-service's tests (see fake_registry.h). */
#include "fake_registry.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

static int reg_handler(void *ctx, h2o_req_t *req)
{
    fake_reg_t *r = ctx;
    int id = -1;
    atomic_fetch_add(&r->gets, 1);
    if (atomic_load(&r->down))
        return httpd_send_json(req, 503,
                               json_pack("{s:i,s:s}", "error_code", 50003, "message", "store down"));
    if (sscanf(httpd_path(req), "/schemas/ids/%d", &id) == 1 && id == 2)
        return httpd_send_json(req, 200, json_pack("{s:s}", "schema", r->text));
    return httpd_send_json(req, 404,
                           json_pack("{s:i,s:s}", "error_code", 40403, "message", "Schema not found"));
}

int fake_reg_start(fake_reg_t *r, const char *text, char *err, size_t errlen)
{
    httpd_opts_t o = {.host = "127.0.0.1", .threads = 1};
    r->text = text;
    atomic_store(&r->down, 0);
    atomic_store(&r->gets, 0);
    r->srv = httpd_new(&o, err, errlen);
    if (r->srv == NULL)
        return -1;
    if (httpd_route(r->srv, "GET", "/schemas/ids/", "ids", reg_handler, r) != 0 ||
        httpd_start(r->srv, err, errlen) != 0) {
        fake_reg_stop(r);
        return -1;
    }
    return 0;
}

void fake_reg_stop(fake_reg_t *r)
{
    httpd_free(r->srv);
    r->srv = NULL;
}
