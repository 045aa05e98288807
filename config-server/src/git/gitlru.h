/* gitlru.h — the bounded set of git mirrors made for `{application}` URIs: keyed by the
 * resolved URI, most recently used first, each with a count of the requests using it.
 * The caller holds its own lock around every call and closes what cs_glru_evict hands
 * back (outside the lock: closing a mirror waits for its fetcher and removes its folder).
 * A node in use is never evicted: the set may exceed its bound while every node is in
 * use, and shrinks back as they are released.
 */
#ifndef CS_GITLRU_H
#define CS_GITLRU_H

#include <stddef.h>

typedef struct cs_glru_node {
    char *key; /* owned by the node's owner; compared with strcmp */
    int refs;  /* requests using it now */
    struct cs_glru_node *prev, *next;
} cs_glru_node_t;

typedef struct cs_glru {
    cs_glru_node_t *head, *tail; /* most recently used first */
    size_t n, max;
} cs_glru_t;

void cs_glru_init(cs_glru_t *l, size_t max);
/* The node keyed `key`, moved to the front with one more reference; NULL when absent. */
cs_glru_node_t *cs_glru_get(cs_glru_t *l, const char *key);
/* Puts `n` (absent, refs as set by the caller) at the front. */
void cs_glru_put(cs_glru_t *l, cs_glru_node_t *n);
/* Drops one reference of `n`. */
void cs_glru_unref(cs_glru_t *l, cs_glru_node_t *n);
/* Unlinks and returns `n` regardless of its use (a failed open); the caller frees it. */
void cs_glru_remove(cs_glru_t *l, cs_glru_node_t *n);
/* Unlinks and returns the least recently used node not in use while there are more than
 * `max` + `spare` (`spare`: nodes not to count, such as mirrors still being cloned, which
 * may yet fail); NULL when nothing is to be evicted. Call until NULL. */
cs_glru_node_t *cs_glru_evict(cs_glru_t *l, size_t spare);

#endif
