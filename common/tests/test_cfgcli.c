/* test_cfgcli.c — unit tests of the config client without a server: relaxed binding,
 * precedence from a canned JSON Environment, env overrides, placeholders, typed getter
 * errors (key + origin), prefix iteration, the backoff schedule and options from env.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cfgcli.h"

static const char ENV_DOC[] =
    "{\"name\":\"order-service\",\"profiles\":[\"local\"],\"label\":null,\"version\":\"abc123\","
    "\"state\":null,\"propertySources\":["
    "{\"name\":\"file:config-repo/order-service-local.yml\",\"source\":{"
    "  \"server.port\":18181, \"order-service.customer-wait-ms\":\"${wait:1500}\"}},"
    "{\"name\":\"file:config-repo/order-service.yml\",\"source\":{"
    "  \"server.port\":8181, \"order-service.customer-topic-name\":\"customer\","
    "  \"kafka-consumer-config.customer-group-id\":\"customer-topic-consumer\"}},"
    "{\"name\":\"file:config-repo/application-local.yml\",\"source\":{"
    "  \"kafka-config.bootstrap-servers\":\"127.0.0.1:9092\", \"datasource.port\":5433}},"
    "{\"name\":\"file:config-repo/application.yml\",\"source\":{"
    "  \"kafka-config.bootstrap-servers\":\"localhost:9092\", \"datasource.port\":5432,"
    "  \"datasource.host\":\"${DB_HOST:postgresql}\", \"datasource.password\":\"${DB_PASSWORD:}\","
    "  \"datasource.url\":\"postgres://${datasource.host}:${datasource.port}/cqrs\","
    "  \"kafka-producer-config.acks\":\"all\", \"kafka-producer-config.linger-ms\":5,"
    "  \"kafka-producer-config.properties.enable.idempotence\":true,"
    "  \"kafka-producer-config.properties.message.max.bytes\":1000000,"
    "  \"kafka-producer-config.ratio\":0.25, \"flag.on\":\"yes\", \"flag.bad\":\"maybe\","
    "  \"nothing\":null, \"needs.var\":\"${NOPE_NOT_SET}\", \"a.cycle\":\"${b.cycle}\","
    "  \"b.cycle\":\"${a.cycle}\", \"k8s.kafka\":\"${KAFKA_BOOTSTRAP_SERVERS:kafka:9092}\","
    "  \"nested\":\"${X_UNSET:${Y_UNSET:inner}}\", \"timeout\":\"5s\", \"timeout2\":\"250\","
    "  \"timeout.bad\":\"5 parsecs\", \"list[0].name\":\"first\"}}]}";

static cfgcli_t *load(char *const *envp)
{
    cfgcli_opts_t o;
    char err[512];
    cfgcli_opts_init(&o, "order-service");
    static char *const empty_env[] = {NULL};
    o.envp = envp ? envp : empty_env;
    cfgcli_t *c = cfgcli_from_json(&o, ENV_DOC, strlen(ENV_DOC), "http://127.0.0.1:1", err, sizeof err);
    if (c == NULL)
        fail_msg("from_json: %s", err);
    return c;
}

static void test_env_name(void **state)
{
    (void)state;
    char b[128];
    assert_int_equal(cfgcli_env_name("kafka-config.bootstrap-servers", b, sizeof b), 30);
    assert_string_equal(b, "KAFKA_CONFIG_BOOTSTRAP_SERVERS");
    cfgcli_env_name("a.list[0].x", b, sizeof b);
    assert_string_equal(b, "A_LIST_0_X");
    cfgcli_env_name("a.b[12]", b, sizeof b);
    assert_string_equal(b, "A_B_12");
    cfgcli_env_name("server.port", b, sizeof b);
    assert_string_equal(b, "SERVER_PORT");
    cfgcli_env_name("kafka-producer-config.properties.enable.idempotence", b, sizeof b);
    assert_string_equal(b, "KAFKA_PRODUCER_CONFIG_PROPERTIES_ENABLE_IDEMPOTENCE");
    cfgcli_env_name_spring("kafka-config.bootstrap-servers", b, sizeof b);
    assert_string_equal(b, "KAFKACONFIG_BOOTSTRAPSERVERS");
    cfgcli_env_name("-x--y.", b, sizeof b);
    assert_string_equal(b, "X_Y");
    assert_int_equal(cfgcli_env_name("server.port", b, 4), -1);
}

static void test_precedence(void **state)
{
    (void)state;
    cfgcli_t *c = load(NULL);
    assert_string_equal(cfgcli_get_str(c, "server.port", NULL), "18181");
    assert_string_equal(cfgcli_source_of(c, "server.port"),
                        "configserver:file:config-repo/order-service-local.yml");
    assert_string_equal(cfgcli_get_str(c, "kafka-config.bootstrap-servers", NULL), "127.0.0.1:9092");
    assert_string_equal(cfgcli_get_str(c, "datasource.port", NULL), "5433");
    assert_string_equal(cfgcli_get_str(c, "kafka-consumer-config.customer-group-id", NULL),
                        "customer-topic-consumer");
    assert_string_equal(cfgcli_get_str(c, "kafka-producer-config.properties.enable.idempotence", NULL),
                        "true");
    assert_string_equal(cfgcli_get_str(c, "kafka-producer-config.ratio", NULL), "0.25");
    assert_string_equal(cfgcli_get_str(c, "nothing", "x"), "");
    assert_string_equal(cfgcli_get_str(c, "absent", "dflt"), "dflt");
    assert_null(cfgcli_source_of(c, "absent"));
    assert_string_equal(cfgcli_version(c), "abc123");
    assert_string_equal(cfgcli_origin(c), "http://127.0.0.1:1");
    assert_int_equal(cfgcli_from_cache(c), 0);
    cfgcli_free(c);
}

static void test_env_override(void **state)
{
    (void)state;
    char *env[] = {"KAFKA_CONFIG_BOOTSTRAP_SERVERS=broker:19092",
                   "SERVER_PORT=9999",
                   "DATASOURCE_PASSWORD=s3cret",
                   "NEW_KEY_ONLY_IN_ENV=42",
                   "DB_HOST=db.example",
                   NULL};
    cfgcli_t *c = load(env);
    assert_string_equal(cfgcli_get_str(c, "kafka-config.bootstrap-servers", NULL), "broker:19092");
    assert_string_equal(cfgcli_source_of(c, "kafka-config.bootstrap-servers"),
                        "env:KAFKA_CONFIG_BOOTSTRAP_SERVERS");
    int port = 0;
    assert_int_equal(cfgcli_get_int(c, "server.port", 1, &port, NULL, 0), 0);
    assert_int_equal(port, 9999);
    /* env beats the file's placeholder */
    assert_string_equal(cfgcli_get_str(c, "datasource.password", NULL), "s3cret");
    /* keys absent from the server are still found through the env */
    assert_string_equal(cfgcli_get_str(c, "new-key.only-in-env", NULL), "42");
    assert_string_equal(cfgcli_source_of(c, "new-key.only-in-env"), "env:NEW_KEY_ONLY_IN_ENV");
    /* placeholder resolved from env */
    assert_string_equal(cfgcli_get_str(c, "datasource.host", NULL), "db.example");
    assert_string_equal(cfgcli_get_str(c, "datasource.url", NULL), "postgres://db.example:5433/cqrs");
    cfgcli_free(c);

    /* Spring's dashless form is accepted too; env overrides can be switched off */
    char *env2[] = {"KAFKACONFIG_BOOTSTRAPSERVERS=spring:1", NULL};
    c = load(env2);
    assert_string_equal(cfgcli_get_str(c, "kafka-config.bootstrap-servers", NULL), "spring:1");
    cfgcli_free(c);
    cfgcli_opts_t o;
    char err[256];
    cfgcli_opts_init(&o, "order-service");
    o.envp = env;
    o.env_overrides = 0;
    c = cfgcli_from_json(&o, ENV_DOC, strlen(ENV_DOC), "u", err, sizeof err);
    assert_non_null(c);
    assert_string_equal(cfgcli_get_str(c, "server.port", NULL), "18181");
    assert_null(cfgcli_get_str(c, "new-key.only-in-env", NULL));
    assert_string_equal(cfgcli_get_str(c, "datasource.host", NULL), "postgresql");
    cfgcli_free(c);
}

static void test_placeholders(void **state)
{
    (void)state;
    cfgcli_t *c = load(NULL);
    assert_string_equal(cfgcli_get_str(c, "datasource.host", NULL), "postgresql");
    assert_string_equal(cfgcli_get_str(c, "datasource.password", NULL), "");
    assert_string_equal(cfgcli_get_str(c, "datasource.url", NULL), "postgres://postgresql:5433/cqrs");
    assert_string_equal(cfgcli_get_str(c, "k8s.kafka", NULL), "kafka:9092");
    assert_string_equal(cfgcli_get_str(c, "nested", NULL), "inner");
    assert_string_equal(cfgcli_get_str(c, "order-service.customer-wait-ms", NULL), "1500");
    /* unresolvable: kept literally, and typed/required getters refuse it */
    assert_string_equal(cfgcli_get_str(c, "needs.var", NULL), "${NOPE_NOT_SET}");
    const char *s = NULL;
    char err[512];
    assert_int_equal(cfgcli_require_str(c, "needs.var", &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "needs.var"));
    assert_non_null(strstr(err, "unresolved placeholder"));
    assert_non_null(strstr(err, "application.yml"));
    /* a reference cycle ends, unresolved */
    long long x;
    assert_int_equal(cfgcli_get_long(c, "a.cycle", 0, &x, err, sizeof err), -1);
    assert_non_null(strstr(err, "a.cycle"));
    cfgcli_free(c);

    char *env[] = {"KAFKA_BOOTSTRAP_SERVERS=k:1", "NOPE_NOT_SET=now-set", "Y_UNSET=y", NULL};
    c = load(env);
    assert_string_equal(cfgcli_get_str(c, "k8s.kafka", NULL), "k:1");
    assert_string_equal(cfgcli_get_str(c, "needs.var", NULL), "now-set");
    assert_string_equal(cfgcli_get_str(c, "nested", NULL), "y");
    cfgcli_free(c);
}

static void test_typed_getters(void **state)
{
    (void)state;
    char *env[] = {"SERVER_PORT=abc", NULL};
    cfgcli_t *c = load(env);
    char err[512];
    int i = 7;
    assert_int_equal(cfgcli_get_int(c, "server.port", 8181, &i, err, sizeof err), -1);
    assert_int_equal(i, 7);
    assert_string_equal(err, "config key 'server.port' = 'abc' (from env:SERVER_PORT) is not an integer");
    assert_int_equal(cfgcli_get_int(c, "absent.int", 12, &i, err, sizeof err), 0);
    assert_int_equal(i, 12);
    assert_int_equal(cfgcli_get_int_range(c, "datasource.port", 0, 1, 1024, &i, err, sizeof err), -1);
    assert_non_null(strstr(err, "out of range [1, 1024]"));
    assert_non_null(strstr(err, "application-local.yml"));
    assert_int_equal(cfgcli_get_int_range(c, "datasource.port", 0, 1, 65535, &i, err, sizeof err), 0);
    assert_int_equal(i, 5433);
    long long ll;
    assert_int_equal(
        cfgcli_get_long(c, "kafka-producer-config.properties.message.max.bytes", 0, &ll, err, sizeof err), 0);
    assert_int_equal(ll, 1000000);
    double d;
    assert_int_equal(cfgcli_get_double(c, "kafka-producer-config.ratio", 0, &d, err, sizeof err), 0);
    assert_true(d == 0.25);
    assert_int_equal(cfgcli_get_double(c, "kafka-producer-config.acks", 0, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "is not a number"));
    int b;
    assert_int_equal(cfgcli_get_bool(c, "flag.on", 0, &b, err, sizeof err), 0);
    assert_int_equal(b, 1);
    assert_int_equal(
        cfgcli_get_bool(c, "kafka-producer-config.properties.enable.idempotence", 0, &b, err, sizeof err), 0);
    assert_int_equal(b, 1);
    assert_int_equal(cfgcli_get_bool(c, "flag.bad", 0, &b, err, sizeof err), -1);
    assert_non_null(strstr(err, "'flag.bad' = 'maybe'"));
    assert_int_equal(cfgcli_get_bool(c, "nothing", 1, &b, err, sizeof err), 0); /* null → default */
    assert_int_equal(b, 1);
    long ms;
    assert_int_equal(cfgcli_get_ms(c, "timeout", 0, &ms, err, sizeof err), 0);
    assert_int_equal(ms, 5000);
    assert_int_equal(cfgcli_get_ms(c, "timeout2", 0, &ms, err, sizeof err), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(cfgcli_get_ms(c, "kafka-producer-config.linger-ms", 0, &ms, err, sizeof err), 0);
    assert_int_equal(ms, 5);
    assert_int_equal(cfgcli_get_ms(c, "timeout.bad", 0, &ms, err, sizeof err), -1);
    assert_non_null(strstr(err, "'timeout.bad'"));
    assert_non_null(strstr(err, "is not a duration"));
    const char *s;
    assert_int_equal(cfgcli_require_str(c, "order-service.customer-topic-name", &s, err, sizeof err), 0);
    assert_string_equal(s, "customer");
    assert_int_equal(cfgcli_require_str(c, "datasource.dbname", &s, err, sizeof err), -1);
    assert_string_equal(err, "config key 'datasource.dbname' is required but not set (set it in config-repo "
                             "or env DATASOURCE_DBNAME)");
    assert_int_equal(cfgcli_require_str(c, "datasource.password", &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "required but empty"));
    cfgcli_free(c);
}

typedef struct {
    int n;
    char seen[8][64];
} iter_t;

static int collect(void *ud, const char *key, const char *rest, const char *value, const char *source)
{
    iter_t *it = ud;
    (void)key;
    (void)source;
    if (it->n < 8)
        snprintf(it->seen[it->n++], 64, "%s=%s", rest, value);
    return 0;
}

static int stop_at_first(void *ud, const char *key, const char *rest, const char *value, const char *source)
{
    (void)ud;
    (void)key;
    (void)rest;
    (void)value;
    (void)source;
    return 5;
}

static void test_foreach_prefix(void **state)
{
    (void)state;
    cfgcli_t *c = load(NULL);
    iter_t it = {0};
    assert_int_equal(cfgcli_foreach_prefix(c, "kafka-producer-config.properties.", collect, &it), 0);
    assert_int_equal(it.n, 2);
    assert_string_equal(it.seen[0], "enable.idempotence=true");
    assert_string_equal(it.seen[1], "message.max.bytes=1000000");
    assert_int_equal(cfgcli_foreach_prefix(c, "", stop_at_first, NULL), 5);
    memset(&it, 0, sizeof it);
    assert_int_equal(cfgcli_foreach_prefix(c, "zzz.", collect, &it), 0);
    assert_int_equal(it.n, 0);
    assert_true(cfgcli_count(c) > 20);
    cfgcli_free(c);
}

static void test_new_set_dump(void **state)
{
    (void)state;
    cfgcli_t *c = cfgcli_new();
    assert_non_null(c);
    assert_int_equal(cfgcli_set(c, "datasource.password", "pw", "test"), 0);
    assert_int_equal(cfgcli_set(c, "server.port", "1", "test"), 0);
    assert_int_equal(cfgcli_set(c, "server.port", "2", "test2"), 0);
    assert_string_equal(cfgcli_get_str(c, "server.port", NULL), "2");
    assert_string_equal(cfgcli_source_of(c, "server.port"), "test2");
    char *j = cfgcli_dump_json(c, 1);
    assert_non_null(j);
    assert_null(strstr(j, "\"pw\""));
    assert_non_null(strstr(j, "******"));
    free(j);
    j = cfgcli_dump_json(c, 0);
    assert_non_null(strstr(j, "\"pw\""));
    free(j);
    cfgcli_free(c);
    cfgcli_free(NULL);
}

static void test_bad_documents(void **state)
{
    (void)state;
    cfgcli_opts_t o;
    char err[512];
    cfgcli_opts_init(&o, "x");
    assert_null(cfgcli_from_json(&o, "{nope", 5, "u1", err, sizeof err));
    assert_non_null(strstr(err, "u1: invalid JSON"));
    assert_null(cfgcli_from_json(&o, "{\"a\":1}", 7, "u2", err, sizeof err));
    assert_non_null(strstr(err, "no propertySources"));
    const char *d = "{\"propertySources\":[{\"name\":\"n\",\"source\":[1]}]}";
    assert_null(cfgcli_from_json(&o, d, strlen(d), "u3", err, sizeof err));
    assert_non_null(strstr(err, "propertySources[0]"));
}

static void test_backoff(void **state)
{
    (void)state;
    cfgcli_opts_t o;
    cfgcli_opts_init(&o, "x");
    o.initial_backoff_ms = 100;
    o.multiplier = 2.0;
    o.max_backoff_ms = 1000;
    o.jitter = 0;
    assert_int_equal(cfgcli_backoff_ms(&o, 1, 0), 100);
    assert_int_equal(cfgcli_backoff_ms(&o, 2, 0), 200);
    assert_int_equal(cfgcli_backoff_ms(&o, 3, 0), 400);
    assert_int_equal(cfgcli_backoff_ms(&o, 4, 0), 800);
    assert_int_equal(cfgcli_backoff_ms(&o, 5, 0), 1000);
    assert_int_equal(cfgcli_backoff_ms(&o, 500, 0), 1000);
    o.jitter = 0.5;
    assert_int_equal(cfgcli_backoff_ms(&o, 1, 0), 50);             /* factor 0.5 */
    assert_int_equal(cfgcli_backoff_ms(&o, 1, 0x80000000u), 100);  /* factor 1.0 */
    assert_int_equal(cfgcli_backoff_ms(&o, 2, 0xFFFFFFFFu), 300);  /* factor ~1.5 */
    assert_int_equal(cfgcli_backoff_ms(&o, 9, 0xFFFFFFFFu), 1000); /* capped */
    for (uint32_t r = 0; r < 0xF0000000u; r += 0x0F000000u) {
        long d = cfgcli_backoff_ms(&o, 3, r);
        assert_true(d >= 200 && d <= 600);
    }
}

static void test_opts_from_env(void **state)
{
    (void)state;
    cfgcli_opts_t o;
    char err[256];
    setenv("CONFIG_SERVER_URL", "http://a:1,http://b:2", 1);
    setenv("SPRING_PROFILES_ACTIVE", "k8s", 1);
    unsetenv("APP_PROFILES");
    setenv("CONFIG_LABEL", "v1", 1);
    setenv("CONFIG_FETCH_ATTEMPTS", "3", 1);
    setenv("CONFIG_CACHE_FILE", "/tmp/x.json", 1);
    assert_int_equal(cfgcli_opts_from_env(&o, "customer-service", err, sizeof err), 0);
    assert_string_equal(o.urls, "http://a:1,http://b:2");
    assert_string_equal(o.app, "customer-service");
    assert_string_equal(o.profiles, "k8s");
    assert_string_equal(o.label, "v1");
    assert_int_equal(o.attempts, 3);
    assert_string_equal(o.cache_file, "/tmp/x.json");
    setenv("APP_PROFILES", "local,debug", 1);
    assert_int_equal(cfgcli_opts_from_env(&o, "customer-service", err, sizeof err), 0);
    assert_string_equal(o.profiles, "local,debug");
    setenv("CONFIG_FETCH_ATTEMPTS", "zero", 1);
    assert_int_equal(cfgcli_opts_from_env(&o, "customer-service", err, sizeof err), -1);
    assert_non_null(strstr(err, "CONFIG_FETCH_ATTEMPTS"));
    unsetenv("CONFIG_SERVER_URL");
    unsetenv("SPRING_PROFILES_ACTIVE");
    unsetenv("APP_PROFILES");
    unsetenv("CONFIG_LABEL");
    unsetenv("CONFIG_FETCH_ATTEMPTS");
    unsetenv("CONFIG_CACHE_FILE");
    assert_int_equal(cfgcli_opts_from_env(&o, "order-service", err, sizeof err), 0);
    assert_string_equal(o.urls, CFGCLI_DEFAULT_URL);
    assert_string_equal(o.profiles, "default");
    assert_int_equal(o.attempts, CFGCLI_DEFAULT_ATTEMPTS);
}

static void test_fetch_fail_fast_no_url(void **state)
{
    (void)state;
    cfgcli_opts_t o;
    char err[512];
    cfgcli_opts_init(&o, "x");
    o.urls[0] = '\0';
    assert_null(cfgcli_fetch(&o, NULL, err, sizeof err));
    assert_non_null(strstr(err, "CONFIG_SERVER_URL"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_name),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_env_override),
        cmocka_unit_test(test_placeholders),
        cmocka_unit_test(test_typed_getters),
        cmocka_unit_test(test_foreach_prefix),
        cmocka_unit_test(test_new_set_dump),
        cmocka_unit_test(test_bad_documents),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_opts_from_env),
        cmocka_unit_test(test_fetch_fail_fast_no_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
