/* cache.c — lock-free per-snapshot response memo (see cache.h). */
#include "repo/cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

cs_cache_t *cs_cache_new(void)
{
    cs_cache_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < CS_CACHE_BUCKETS; i++)
        atomic_init(&c->buckets[i], NULL);
    atomic_init(&c->count, 0);
    atomic_init(&c->bytes, 0);
    return c;
}

void cs_cache_free(cs_cache_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < CS_CACHE_BUCKETS; i++) {
        cs_cache_ent_t *e = atomic_load(&c->buckets[i]);
        while (e != NULL) {
            cs_cache_ent_t *next = e->next;
            free(e->key);
            free(e->body);
            free(e);
            e = next;
        }
    }
    free(c);
}

const cs_cache_ent_t *cs_cache_get(cs_cache_t *c, const char *key)
{
    if (c == NULL)
        return NULL;
    uint64_t h = fnv1a(key);
    for (cs_cache_ent_t *e = atomic_load_explicit(&c->buckets[h % CS_CACHE_BUCKETS], memory_order_acquire);
         e != NULL; e = e->next)
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

const cs_cache_ent_t *cs_cache_put(cs_cache_t *c, const char *key, const char *ctype, const char *etag,
                                   const char *body, size_t len)
{
    if (c == NULL || atomic_fetch_add(&c->count, 1) >= CS_CACHE_MAX_ENTRIES)
        return NULL;
    if (atomic_fetch_add(&c->bytes, len) + len > CS_CACHE_MAX_BYTES)
        return NULL;
    cs_cache_ent_t *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->hash = fnv1a(key);
    e->key = strdup(key);
    e->body = malloc(len + 1);
    if (e->key == NULL || e->body == NULL) {
        free(e->key);
        free(e->body);
        free(e);
        return NULL;
    }
    memcpy(e->body, body, len);
    e->body[len] = '\0';
    e->len = len;
    e->ctype = ctype;
    if (etag != NULL)
        snprintf(e->etag, sizeof(e->etag), "%s", etag);
    _Atomic(cs_cache_ent_t *) *b = &c->buckets[e->hash % CS_CACHE_BUCKETS];
    cs_cache_ent_t *head = atomic_load_explicit(b, memory_order_relaxed);
    do {
        e->next = head;
    } while (!atomic_compare_exchange_weak_explicit(b, &head, e, memory_order_release, memory_order_relaxed));
    return e;
}
