/* cache.h — a lock-free response memo attached to one immutable snapshot.
 *
 * A response of the config-server depends only on (snapshot, request key), so rendered
 * bodies are memoised per snapshot: readers look up without locks; a miss renders and
 * publishes the entry with a CAS push on its bucket (a racing duplicate is harmless).
 * The entry count and the body bytes are capped (a client cycling through profile names
 * cannot grow it without bound); entries are freed with the snapshot (after its grace period).
 */
#ifndef CS_CACHE_H
#define CS_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define CS_CACHE_BUCKETS 1024
#define CS_CACHE_MAX_ENTRIES 4096
#define CS_CACHE_MAX_BYTES (64u << 20) /* bodies per snapshot */

typedef struct cs_cache_ent {
    struct cs_cache_ent *next;
    uint64_t hash;
    char *key;         /* owned */
    const char *ctype; /* static string */
    char etag[40];     /* the response's ETag, quoted ("" when none) */
    char *body;        /* owned */
    size_t len;
} cs_cache_ent_t;

typedef struct cs_cache {
    _Atomic(cs_cache_ent_t *) buckets[CS_CACHE_BUCKETS];
    atomic_int count;
    atomic_size_t bytes;
} cs_cache_t;

cs_cache_t *cs_cache_new(void);
/* NULL-safe; no reader may still use the cache. */
void cs_cache_free(cs_cache_t *c);
/* The entry for `key`, or NULL. Borrowed for the lifetime of the cache. */
const cs_cache_ent_t *cs_cache_get(cs_cache_t *c, const char *key);
/* Publishes a copy of `body` with its `etag` (may be NULL; truncated to 39 bytes); `ctype`
 * must be a static string. Returns the stored entry, or NULL when full / out of memory (the
 * caller still has its own body). */
const cs_cache_ent_t *cs_cache_put(cs_cache_t *c, const char *key, const char *ctype, const char *etag,
                                   const char *body, size_t len);

#endif
