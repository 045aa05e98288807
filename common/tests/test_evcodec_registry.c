/* test_evcodec_registry.c — evcodec_use_registry against an in-process fake of a
 * Confluent schema registry (common/httpd on an ephemeral loopback port): the newest schema
 * is checked for compatibility first (no subject yet = compatible; is_compatible false = -2
 * naming the subject and the registry's messages, nothing registered), schemas are
 * registered oldest first with their original text, the codec is re-keyed by the
 * registry's ids (encoder writes them, decoder finds them), registering twice is
 * idempotent, registry errors leave the codec unchanged; evcodec_registry_level. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "evcodec.h"
#include "httpd.h"

typedef struct fake_reg {
    char *schemas[8]; /* registered texts; id = 100 + index */
    int n;
    int fail;           /* answer 409 (incompatible) to a registration */
    int incompatible;   /* the compatibility check says no */
    int checks;         /* compatibility checks asked */
    int level_none;     /* the global level is NONE (Apicurio's default) */
    const char *latest; /* GET …/versions/latest answers this schema (NULL: 40401) */
    char subject_seen[128];
    char checked_text[4096];
} fake_reg_t;

static int compat_handler(void *ctx, h2o_req_t *req)
{
    fake_reg_t *r = ctx;
    char subject[128];
    json_t *b = json_loadb(req->entity.base, req->entity.len, 0, NULL);
    r->checks++;
    snprintf(r->checked_text, sizeof r->checked_text, "%s", json_string_value(json_object_get(b, "schema")));
    json_decref(b);
    if (sscanf(httpd_path(req), "/compatibility/subjects/%127[^/]/versions/latest", subject) != 1)
        return httpd_send_problem(req, 400, NULL, "bad path");
    if (r->n == 0) /* Confluent: subject not found */
        return httpd_send_json(req, 404,
                               json_pack("{s:i,s:s}", "error_code", 40401, "message", "Subject not found."));
    if (r->incompatible)
        return httpd_send_json(req, 200,
                               json_pack("{s:b,s:[s]}", "is_compatible", 0, "messages",
                                         "READER_FIELD_MISSING_DEFAULT_VALUE: nickname"));
    return httpd_send_json(req, 200, json_pack("{s:b}", "is_compatible", 1));
}

static int latest_handler(void *ctx, h2o_req_t *req)
{
    fake_reg_t *r = ctx;
    if (r->latest == NULL)
        return httpd_send_json(req, 404, json_pack("{s:i,s:s}", "error_code", 40401, "message", "none"));
    return httpd_send_json(req, 200,
                           json_pack("{s:s,s:i,s:i}", "schema", r->latest, "id", 100, "version", 1));
}

static int config_handler(void *ctx, h2o_req_t *req)
{
    if (((fake_reg_t *)ctx)->level_none)
        return httpd_send_json(req, 200, json_pack("{s:s}", "compatibilityLevel", "NONE"));
    if (strcmp(httpd_path(req), "/config/customer-value") == 0) /* no subject level: 404 */
        return httpd_send_json(req, 404, json_pack("{s:i,s:s}", "error_code", 40408, "message", "none"));
    return httpd_send_json(req, 200, json_pack("{s:s}", "compatibilityLevel", "BACKWARD"));
}

static int reg_handler(void *ctx, h2o_req_t *req)
{
    fake_reg_t *r = ctx;
    const char *path = httpd_path(req);
    json_t *b;
    const char *text;
    if (r->fail)
        return httpd_send_json(req, 409,
                               json_pack("{s:i,s:s}", "error_code", 409, "message", "incompatible schema"));
    if (sscanf(path, "/subjects/%127[^/]/versions", r->subject_seen) != 1)
        return httpd_send_problem(req, 404, NULL, "no");
    b = json_loadb(req->entity.base, req->entity.len, 0, NULL);
    text = json_string_value(json_object_get(b, "schema"));
    if (text == NULL) {
        json_decref(b);
        return httpd_send_problem(req, 422, NULL, "no schema");
    }
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->schemas[i], text) == 0) {
            json_decref(b);
            return httpd_send_json(req, 200, json_pack("{s:i}", "id", 100 + i));
        }
    r->schemas[r->n] = strdup(text);
    json_decref(b);
    return httpd_send_json(req, 200, json_pack("{s:i}", "id", 100 + r->n++));
}

static void t_registry(void **state)
{
    fake_reg_t reg = {0};
    char err[512] = "", url[64];
    httpd_opts_t o = {.host = "127.0.0.1", .threads = 1};
    httpd_t *s = httpd_new(&o, err, sizeof err);
    evcodec_t *c = evcodec_new_default(err, sizeof err);
    unsigned char *buf = NULL;
    size_t len = 0;
    int32_t id = 0;
    evcodec_customer_t ev = {0}, back = {0};

    assert_non_null(s);
    assert_non_null(c);
    assert_int_equal(httpd_route(s, "POST", "/subjects", "reg", reg_handler, &reg), 0);
    assert_int_equal(httpd_route(s, "POST", "/compatibility", "compat", compat_handler, &reg), 0);
    assert_int_equal(httpd_route(s, "GET", "/config", "config", config_handler, &reg), 0);
    assert_int_equal(httpd_route(s, "GET", "/subjects", "latest", latest_handler, &reg), 0);
    assert_int_equal(httpd_start(s, err, sizeof err), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", httpd_port(s));

    /* the registry refuses a registration (409): incompatible, the answer named, codec unchanged */
    reg.fail = 1;
    assert_int_equal(
        evcodec_use_registry(c, url, EVCODEC_SUBJECT_CUSTOMER, NULL, NULL, 2000, err, sizeof err), -2);
    assert_non_null(strstr(err, "409"));
    assert_non_null(strstr(err, "incompatible"));
    assert_int_equal(evcodec_latest_id(c, EVCODEC_SUBJECT_CUSTOMER), 2);
    assert_int_equal(reg.checks, 1); /* the subject had no version: compatible, so it went on */
    assert_non_null(strstr(reg.checked_text, "eventType")); /* the newest schema was checked */
    reg.fail = 0;

    assert_int_equal(
        evcodec_use_registry(c, url, EVCODEC_SUBJECT_CUSTOMER, NULL, NULL, 2000, err, sizeof err), 0);
    assert_string_equal(reg.subject_seen, "customer-value");
    assert_int_equal(reg.n, 2);
    assert_null(strstr(reg.schemas[0], "eventType"));                     /* the seed's schema first */
    assert_non_null(strstr(reg.schemas[1], "\"logicalType\": \"uuid\"")); /* original text */
    assert_int_equal(evcodec_latest_id(c, EVCODEC_SUBJECT_CUSTOMER), 101);
    assert_non_null(evcodec_schema_text(c, 100));
    assert_null(evcodec_schema_text(c, 2));

    memcpy(ev.id, "d215b5f8-0249-4dc5-89a3-51fd148cfb41", 37);
    ev.username = "u";
    ev.first_name = "f";
    ev.last_name = "l";
    ev.version = 3;
    ev.event_type = EVCODEC_UPDATED;
    assert_int_equal(evcodec_encode_customer(c, &ev, &buf, &len), EVCODEC_OK);
    assert_int_equal(evcodec_frame_id(buf, len, &id), EVCODEC_OK);
    assert_int_equal(id, 101);
    assert_int_equal(evcodec_decode_customer(c, buf, len, &back, err, sizeof err), EVCODEC_OK);
    assert_int_equal(back.version, 3);
    assert_int_equal(back.schema_id, 101);
    evcodec_customer_clear(&back);
    free(buf);

    /* a second codec (another service) gets the same ids: registration is idempotent */
    evcodec_t *c2 = evcodec_new_default(err, sizeof err);
    assert_int_equal(
        evcodec_use_registry(c2, url, EVCODEC_SUBJECT_CUSTOMER, NULL, NULL, 2000, err, sizeof err), 0);
    assert_int_equal(reg.n, 2);
    assert_int_equal(evcodec_latest_id(c2, EVCODEC_SUBJECT_CUSTOMER), 101);
    evcodec_free(c2);

    /* the registry finds the schema incompatible with the subject's latest: -2, nothing registered */
    reg.incompatible = 1;
    c2 = evcodec_new_default(err, sizeof err);
    assert_int_equal(
        evcodec_use_registry(c2, url, EVCODEC_SUBJECT_CUSTOMER, NULL, NULL, 2000, err, sizeof err), -2);
    assert_non_null(strstr(err, "not compatible"));
    assert_non_null(strstr(err, "customer-value"));
    assert_non_null(strstr(err, "READER_FIELD_MISSING_DEFAULT_VALUE: nickname"));
    assert_int_equal(evcodec_latest_id(c2, EVCODEC_SUBJECT_CUSTOMER), 2);
    assert_int_equal(reg.n, 2);
    evcodec_free(c2);
    reg.incompatible = 0;

    /* a registry enforcing nothing (level NONE): the service checks BACKWARD itself against the
     * latest version — one without username (which the reader needs) is refused, the
     * catalog's own newest passes */
    reg.level_none = 1;
    reg.latest = "{\"type\":\"record\",\"name\":\"CustomerAvroModel\",\"fields\":[{\"name\":\"id\",\"type\":"
                 "\"string\"},{\"name\":\"firstName\",\"type\":\"string\"},{\"name\":\"lastName\","
                 "\"type\":\"string\"}]}";
    c2 = evcodec_new_default(err, sizeof err);
    assert_int_equal(
        evcodec_use_registry(c2, url, EVCODEC_SUBJECT_CUSTOMER, NULL, NULL, 2000, err, sizeof err), -2);
    assert_non_null(strstr(err, "not BACKWARD compatible"));
    assert_non_null(strstr(err, "customer-value"));
    assert_non_null(strstr(err, "NONE"));
    assert_non_null(strstr(err, "lacks field username"));
    reg.latest = reg.schemas[1];
    assert_int_equal(
        evcodec_use_registry(c2, url, EVCODEC_SUBJECT_CUSTOMER, NULL, NULL, 2000, err, sizeof err), 0);
    evcodec_free(c2);
    reg.level_none = 0;

    /* the level: the subject has none of its own, the global one answers */
    char level[64] = "";
    assert_int_equal(evcodec_registry_level(url, EVCODEC_SUBJECT_CUSTOMER, NULL, NULL, 2000, level,
                                            sizeof level, err, sizeof err),
                     0);
    assert_string_equal(level, "BACKWARD");

    /* unreachable registry */
    assert_int_equal(evcodec_use_registry(c, "http://127.0.0.1:1", EVCODEC_SUBJECT_CUSTOMER, NULL, NULL, 1000,
                                          err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "127.0.0.1:1"));

    httpd_free(s);
    evcodec_free(c);
    for (int i = 0; i < reg.n; i++)
        free(reg.schemas[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(t_registry)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
