/* test_cache.c — unit tests of the per-snapshot response memo: get/put, the caps, and
 * concurrent readers/writers (run it under the Sanitize build).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "repo/cache.h"

static void test_get_put(void **state)
{
    (void)state;
    cs_cache_t *c = cs_cache_new();
    assert_null(cs_cache_get(c, "k"));
    const cs_cache_ent_t *e = cs_cache_put(c, "k", "text/plain", "\"e1\"", "body", 4);
    assert_non_null(e);
    e = cs_cache_get(c, "k");
    assert_non_null(e);
    assert_int_equal(e->len, 4);
    assert_string_equal(e->body, "body");
    assert_string_equal(e->ctype, "text/plain");
    assert_string_equal(e->etag, "\"e1\"");
    assert_null(cs_cache_get(c, "k2"));
    cs_cache_free(c);
    cs_cache_free(NULL);
    assert_null(cs_cache_get(NULL, "k"));
}

static void test_caps(void **state)
{
    (void)state;
    cs_cache_t *c = cs_cache_new();
    char key[32];
    int stored = 0;
    for (int i = 0; i < CS_CACHE_MAX_ENTRIES + 100; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        stored += cs_cache_put(c, key, "x", NULL, "v", 1) != NULL;
    }
    assert_int_equal(stored, CS_CACHE_MAX_ENTRIES);
    cs_cache_free(c);
    c = cs_cache_new();
    static char big[1 << 20];
    stored = 0;
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "b%d", i);
        stored += cs_cache_put(c, key, "x", NULL, big, sizeof(big)) != NULL;
    }
    assert_int_equal(stored, (int)(CS_CACHE_MAX_BYTES / sizeof(big)));
    cs_cache_free(c);
}

static void *hammer(void *arg)
{
    cs_cache_t *c = arg;
    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "k%d", i % 300);
        const cs_cache_ent_t *e = cs_cache_get(c, key);
        if (e == NULL)
            e = cs_cache_put(c, key, "x", NULL, key, strlen(key));
        if (e != NULL && strcmp(e->body, key) != 0)
            return (void *)1;
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    cs_cache_t *c = cs_cache_new();
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, c), 0);
    for (int i = 0; i < 4; i++) {
        void *rc = NULL;
        pthread_join(t[i], &rc);
        assert_null(rc);
    }
    cs_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_put),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
