/* vcache.h — an in-memory map customer id → stored version, used by the rebuild: the
 * shadow table is written by the rebuild alone, so its versions can be remembered instead
 * of being read back from PostgreSQL for every batch (the rebuild's hot path).
 * Open addressing on the 128-bit UUID; not thread-safe (one rebuild thread).
 */
#ifndef OS_VCACHE_H
#define OS_VCACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct os_vcache os_vcache_t;

/* Owned; NULL when out of memory. */
os_vcache_t *os_vcache_new(void);
void os_vcache_free(os_vcache_t *c); /* NULL-safe */

/* Looks `id` (canonical UUID text) up: 1 found (*version set), 0 not found. */
int os_vcache_get(const os_vcache_t *c, const char *id, int64_t *version);
/* Records `id` at `version`. 0, or -1 (out of memory / not a UUID). */
int os_vcache_put(os_vcache_t *c, const char *id, int64_t version);
/* Forgets `id` (a deletion). */
void os_vcache_del(os_vcache_t *c, const char *id);
/* Number of ids present. */
size_t os_vcache_count(const os_vcache_t *c);

#endif
