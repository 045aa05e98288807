/* test_evcodec_resolve.c — evcodec_resolve_by_registry (the consumer side of a Confluent
 * schema registry) against an in-process fake registry (common/httpd on an ephemeral
 * loopback port): an id seen once is asked once and cached; older and promoted/union writer
 * schemas resolve to the reader's fields; a registry that is down, answers 5xx or a 404
 * without Confluent's error code 40403 means retry (EVCODEC_E_REGISTRY, nothing cached);
 * 40403 means the id is unknown (poison); a schema that cannot be read is poison and cached;
 * the cache is bounded and safe under concurrent decoders; a URL path prefix is kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "evcodec.h"
#include "httpd.h"
#include "metrics.h"

static const char *const UUID1 = "d215b5f8-0249-4dc5-89a3-51fd148cfb41";

/* A writer schema the catalog does not have: version as int, lastName in a union. */
static const char *const SCHEMA_PROMOTED =
    "{\"type\":\"record\",\"name\":\"CustomerAvroModel\",\"namespace\":\"x.y\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"username\",\"type\":\"string\"},"
    "{\"name\":\"firstName\",\"type\":\"string\"},{\"name\":\"lastName\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"version\",\"type\":\"int\"},{\"name\":\"extra\",\"type\":{\"type\":\"map\",\"values\":"
    "\"long\"}}]}";
/* One the reader cannot take: no username (and the reader has no default for it). */
static const char *const SCHEMA_NO_USERNAME =
    "{\"type\":\"record\",\"name\":\"CustomerAvroModel\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"firstName\",\"type\":\"string\"},"
    "{\"name\":\"lastName\",\"type\":\"string\"}]}";

typedef struct fake_reg {
    const char *prefix;     /* path prefix the registry lives under, "" */
    const char *texts[100]; /* id → schema text (NULL: 40403) */
    atomic_int gets[100];   /* GETs per id */
    atomic_int mode;        /* 0 normal, 1 answer 503, 2 answer a bare 404 */
} fake_reg_t;

static int reg_handler(void *ctx, h2o_req_t *req)
{
    fake_reg_t *r = ctx;
    const char *path = httpd_path(req);
    int id = -1;
    size_t pl = strlen(r->prefix);
    if (strncmp(path, r->prefix, pl) != 0 || sscanf(path + pl, "/schemas/ids/%d", &id) != 1 || id < 0 ||
        id >= 100)
        return httpd_send_problem(req, 404, NULL, "no route %s", path);
    atomic_fetch_add(&r->gets[id], 1);
    if (atomic_load(&r->mode) == 1)
        return httpd_send_json(req, 503,
                               json_pack("{s:i,s:s}", "error_code", 50003, "message", "overloaded"));
    if (atomic_load(&r->mode) == 2)
        return httpd_send(req, 404, "text/html", "<h1>Not Found</h1>", 18);
    if (r->texts[id] == NULL)
        return httpd_send_json(req, 404,
                               json_pack("{s:i,s:s}", "error_code", 40403, "message", "Schema not found"));
    if (id == 11)
        return httpd_send_json(req, 200, json_pack("{s:s,s:s}", "schemaType", "PROTOBUF", "schema", "x"));
    return httpd_send_json(req, 200, json_pack("{s:s}", "schema", r->texts[id]));
}

typedef struct fx {
    fake_reg_t reg;
    httpd_t *srv;
    evcodec_t *cat;  /* the embedded catalog: encodes the samples (ids 1, 2) */
    evcodec_t *cons; /* the consumer's codec under test */
    metrics_t *m;
    char url[128];
} fx_t;

static int setup(void **state)
{
    char err[512] = "";
    httpd_opts_t o = {.host = "127.0.0.1", .threads = 1};
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->reg.prefix = "";
    f->srv = httpd_new(&o, err, sizeof err);
    f->cat = evcodec_new_default(err, sizeof err);
    f->cons = evcodec_new_default(err, sizeof err);
    f->m = metrics_new();
    assert_non_null(f->srv);
    assert_non_null(f->cat);
    f->reg.texts[7] = evcodec_schema_text(f->cat, 2);
    f->reg.texts[8] = evcodec_schema_text(f->cat, 1);
    f->reg.texts[9] = SCHEMA_PROMOTED;
    f->reg.texts[10] = SCHEMA_NO_USERNAME;
    f->reg.texts[11] = "protobuf";
    f->reg.texts[12] = evcodec_schema_text(f->cat, 2);
    assert_int_equal(httpd_route(f->srv, "GET", "/", "reg", reg_handler, &f->reg), 0);
    assert_int_equal(httpd_start(f->srv, err, sizeof err), 0);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d/", httpd_port(f->srv));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    httpd_free(f->srv);
    evcodec_free(f->cat);
    evcodec_free(f->cons); /* before the metrics it writes to */
    metrics_free(f->m);
    free(f);
    return 0;
}

/* A record of the catalog's newest schema, framed with schema id `id`. */
static unsigned char *sample(fx_t *f, int32_t id, int64_t version, size_t *len)
{
    evcodec_customer_t ev = {0};
    unsigned char *buf = NULL;
    memcpy(ev.id, UUID1, 37);
    ev.username = "user_1";
    ev.first_name = "Ann";
    ev.last_name = "Lee";
    ev.version = version;
    ev.event_type = EVCODEC_UPDATED;
    ev.occurred_at_ms = 1700000000000;
    assert_int_equal(evcodec_encode_customer(f->cat, &ev, &buf, len), EVCODEC_OK);
    buf[1] = (unsigned char)((uint32_t)id >> 24);
    buf[2] = (unsigned char)((uint32_t)id >> 16);
    buf[3] = (unsigned char)((uint32_t)id >> 8);
    buf[4] = (unsigned char)id;
    return buf;
}

static evcodec_err_t decode(fx_t *f, const unsigned char *buf, size_t len, evcodec_customer_t *ev, char *err,
                            size_t errlen)
{
    err[0] = '\0';
    return evcodec_decode_customer(f->cons, buf, len, ev, err, errlen);
}

static void use_registry(fx_t *f, size_t cache_max)
{
    char err[256];
    assert_int_equal(
        evcodec_resolve_by_registry(f->cons, f->url, "u", "p", 2000, cache_max, f->m, err, sizeof err), 0);
}

static void t_resolved_once_and_cached(void **state)
{
    fx_t *f = *state;
    char err[512];
    size_t len;
    evcodec_customer_t ev = {0};
    unsigned char *buf = sample(f, 7, 4, &len);
    use_registry(f, 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(decode(f, buf, len, &ev, err, sizeof err), EVCODEC_OK);
        assert_int_equal(ev.schema_id, 7);
        assert_int_equal(ev.version, 4);
        assert_int_equal(ev.event_type, EVCODEC_UPDATED);
        assert_string_equal(ev.last_name, "Lee");
        evcodec_customer_clear(&ev);
    }
    assert_int_equal(atomic_load(&f->reg.gets[7]), 1);
    assert_true(metrics_get(f->m, "schema_registry_lookups_total", "result=\"found\"") == 1);
    assert_true(metrics_get(f->m, "schema_registry_cached_schemas", NULL) == 1);
    free(buf);
    /* the catalog's own ids mean nothing in a shared registry: id 2 is asked too (40403) */
    buf = sample(f, 2, 1, &len);
    assert_int_equal(decode(f, buf, len, &ev, err, sizeof err), EVCODEC_E_UNKNOWN_ID);
    assert_int_equal(atomic_load(&f->reg.gets[2]), 1);
    free(buf);
}

/* Hand-encoded record under SCHEMA_PROMOTED: lastName in the union's string branch ("l") or,
 * with `null_last`, its null branch; version 5 as an int; a map {"k": 3}. */
static unsigned char *sample_promoted(int null_last, size_t *len)
{
    unsigned char *b = malloc(128), *p = b;
    *p++ = 0, *p++ = 0, *p++ = 0, *p++ = 0, *p++ = 9;
    *p++ = 72; /* 36 zigzag */
    memcpy(p, UUID1, 36), p += 36;
    *p++ = 2, *p++ = 'u';
    *p++ = 2, *p++ = 'f';
    if (null_last)
        *p++ = 0; /* branch 0: null */
    else
        *p++ = 2, *p++ = 2, *p++ = 'l'; /* branch 1: the string "l" */
    *p++ = 10;                          /* version 5 */
    *p++ = 2, *p++ = 2, *p++ = 'k', *p++ = 6, *p++ = 0;
    *len = (size_t)(p - b);
    return b;
}

static void t_resolution(void **state)
{
    fx_t *f = *state;
    char err[512];
    size_t len;
    evcodec_customer_t ev = {0};
    unsigned char *buf;
    use_registry(f, 0);

    /* the seed's 4-field schema under a registry id: the reader's defaults fill in */
    evcodec_t *v1 = NULL;
    {
        char cat[] = "5\tcustomer-value\tv1.avsc\n", e[256];
        const char *t1 = evcodec_schema_text(f->cat, 1);
        embed_file_t files[] = {{"catalog.tsv", (const unsigned char *)cat, sizeof cat - 1},
                                {"v1.avsc", (const unsigned char *)t1, strlen(t1)},
                                {NULL, NULL, 0}};
        evcodec_customer_t in = {0};
        v1 = evcodec_new(files, e, sizeof e);
        assert_non_null(v1);
        memcpy(in.id, UUID1, 37);
        in.username = "old";
        in.first_name = "f";
        in.last_name = "l";
        in.version = 9; /* not in the v1 schema: dropped */
        assert_int_equal(evcodec_encode_customer(v1, &in, &buf, &len), EVCODEC_OK);
    }
    buf[4] = 8;
    assert_int_equal(decode(f, buf, len, &ev, err, sizeof err), EVCODEC_OK);
    assert_int_equal(ev.version, 1);
    assert_int_equal(ev.event_type, EVCODEC_CREATED);
    assert_int_equal(ev.occurred_at_ms, 0);
    assert_string_equal(ev.username, "old");
    evcodec_customer_clear(&ev);
    free(buf);
    evcodec_free(v1);

    buf = sample_promoted(0, &len);
    assert_int_equal(decode(f, buf, len, &ev, err, sizeof err), EVCODEC_OK);
    assert_int_equal(ev.version, 5);
    assert_string_equal(ev.last_name, "l");
    assert_int_equal(ev.schema_id, 9);
    evcodec_customer_clear(&ev);
    free(buf);
    buf = sample_promoted(1, &len); /* lastName null: the reader's string cannot take it */
    assert_int_equal(decode(f, buf, len, &ev, err, sizeof err), EVCODEC_E_FIELD);
    assert_non_null(strstr(err, "lastName"));
    free(buf);
}

static void t_registry_down_is_retry(void **state)
{
    fx_t *f = *state;
    char err[512];
    size_t len;
    evcodec_customer_t ev = {0};
    unsigned char *buf = sample(f, 7, 1, &len);
    evcodec_t *c = evcodec_new_default(err, sizeof err);

    /* nothing listens there */
    assert_int_equal(
        evcodec_resolve_by_registry(c, "http://127.0.0.1:1", NULL, NULL, 1000, 0, NULL, err, sizeof err), 0);
    assert_int_equal(evcodec_decode_customer(c, buf, len, &ev, err, sizeof err), EVCODEC_E_REGISTRY);
    assert_non_null(strstr(err, "127.0.0.1:1"));
    evcodec_free(c);

    use_registry(f, 0);
    atomic_store(&f->reg.mode, 1); /* 503 */
    assert_int_equal(decode(f, buf, len, &ev, err, sizeof err), EVCODEC_E_REGISTRY);
    assert_non_null(strstr(err, "503"));
    atomic_store(&f->reg.mode, 2); /* a 404 that is not the registry's "schema not found" */
    assert_int_equal(decode(f, buf, len, &ev, err, sizeof err), EVCODEC_E_REGISTRY);
    assert_non_null(strstr(err, "is the URL right"));
    assert_true(metrics_get(f->m, "schema_registry_lookups_total", "result=\"error\"") == 2);
    atomic_store(&f->reg.mode, 0); /* back: nothing was cached, the record decodes */
    assert_int_equal(decode(f, buf, len, &ev, err, sizeof err), EVCODEC_OK);
    assert_int_equal(atomic_load(&f->reg.gets[7]), 3);
    evcodec_customer_clear(&ev);
    free(buf);
}

static void t_not_found_and_unusable_are_poison(void **state)
{
    fx_t *f = *state;
    char err[512];
    size_t len;
    evcodec_customer_t ev = {0};
    unsigned char *buf = sample(f, 42, 1, &len);
    use_registry(f, 0);

    assert_int_equal(decode(f, buf, len, &ev, err, sizeof err), EVCODEC_E_UNKNOWN_ID);
    assert_non_null(strstr(err, "unknown schema id 42"));
    assert_non_null(strstr(err, "Schema not found"));
    assert_true(metrics_get(f->m, "schema_registry_lookups_total", "result=\"not_found\"") == 1);

    buf[4] = 10;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(decode(f, buf, len, &ev, err, sizeof err), EVCODEC_E_AVRO);
        assert_non_null(strstr(err, "lacks field username"));
    }
    assert_int_equal(atomic_load(&f->reg.gets[10]), 1); /* the verdict is cached */
    buf[4] = 11;
    assert_int_equal(decode(f, buf, len, &ev, err, sizeof err), EVCODEC_E_AVRO);
    assert_non_null(strstr(err, "PROTOBUF"));
    assert_true(metrics_get(f->m, "schema_registry_lookups_total", "result=\"unusable\"") == 2);
    free(buf);
}

static void t_bounded_cache_and_prefix(void **state)
{
    fx_t *f = *state;
    char err[512];
    size_t len;
    evcodec_customer_t ev = {0};
    unsigned char *buf = sample(f, 7, 1, &len);
    const int order[] = {7, 12, 7, 8, 12}; /* cache of 2: 7, 12 | 7 hit | 8 drops 12 | 12 again */
    const evcodec_err_t want[] = {EVCODEC_OK, EVCODEC_OK, EVCODEC_OK, EVCODEC_E_AVRO, EVCODEC_OK};
    f->reg.prefix = "/apis/ccompat/v7";
    snprintf(f->url + strlen(f->url), sizeof f->url - strlen(f->url), "apis/ccompat/v7/");
    use_registry(f, 2);
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        buf[4] = (unsigned char)order[i]; /* under v1's id 8 the record has bytes left over */
        assert_int_equal(decode(f, buf, len, &ev, err, sizeof err), want[i]);
        evcodec_customer_clear(&ev);
    }
    assert_int_equal(atomic_load(&f->reg.gets[7]), 1);
    assert_int_equal(atomic_load(&f->reg.gets[8]), 1);
    assert_int_equal(atomic_load(&f->reg.gets[12]), 2);
    free(buf);
}

typedef struct worker {
    fx_t *f;
    int fails;
} worker_t;

static void *decode_loop(void *arg)
{
    worker_t *w = arg;
    char err[512];
    size_t len;
    unsigned char *a = sample(w->f, 7, 2, &len), *b = sample(w->f, 12, 3, &len);
    for (int i = 0; i < 200; i++) {
        evcodec_customer_t ev = {0};
        unsigned char *buf = i % 2 ? a : b;
        if (evcodec_decode_customer(w->f->cons, buf, len, &ev, err, sizeof err) != EVCODEC_OK ||
            ev.version != (i % 2 ? 2 : 3))
            w->fails++;
        evcodec_customer_clear(&ev);
    }
    free(a);
    free(b);
    return NULL;
}

/* A cache of 1 entry and two ids in turn from 4 threads: entries are dropped while others
 * decode with them (ASan would see a use after free). */
static void t_concurrent_eviction(void **state)
{
    fx_t *f = *state;
    pthread_t th[4];
    worker_t w[4];
    use_registry(f, 1);
    for (int i = 0; i < 4; i++) {
        w[i] = (worker_t){f, 0};
        assert_int_equal(pthread_create(&th[i], NULL, decode_loop, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].fails, 0);
    }
    assert_true(metrics_get(f->m, "schema_registry_cached_schemas", NULL) == 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_resolved_once_and_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(t_resolution, setup, teardown),
        cmocka_unit_test_setup_teardown(t_registry_down_is_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(t_not_found_and_unusable_are_poison, setup, teardown),
        cmocka_unit_test_setup_teardown(t_bounded_cache_and_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(t_concurrent_eviction, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
