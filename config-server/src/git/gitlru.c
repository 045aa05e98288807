/* gitlru.c — the LRU of `{application}` mirrors (gitlru.h). */
#include "git/gitlru.h"

#include <string.h>

void cs_glru_init(cs_glru_t *l, size_t max)
{
    l->head = l->tail = NULL;
    l->n = 0;
    l->max = max > 0 ? max : 1;
}

static void unlink_node(cs_glru_t *l, cs_glru_node_t *n)
{
    if (n->prev != NULL)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next != NULL)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    n->prev = n->next = NULL;
}

static void push_front(cs_glru_t *l, cs_glru_node_t *n)
{
    n->prev = NULL;
    n->next = l->head;
    if (l->head != NULL)
        l->head->prev = n;
    l->head = n;
    if (l->tail == NULL)
        l->tail = n;
}

cs_glru_node_t *cs_glru_get(cs_glru_t *l, const char *key)
{
    for (cs_glru_node_t *n = l->head; n != NULL; n = n->next)
        if (strcmp(n->key, key) == 0) {
            unlink_node(l, n);
            push_front(l, n);
            n->refs++;
            return n;
        }
    return NULL;
}

void cs_glru_put(cs_glru_t *l, cs_glru_node_t *n)
{
    push_front(l, n);
    l->n++;
}

void cs_glru_unref(cs_glru_t *l, cs_glru_node_t *n)
{
    (void)l;
    if (n->refs > 0)
        n->refs--;
}

void cs_glru_remove(cs_glru_t *l, cs_glru_node_t *n)
{
    unlink_node(l, n);
    l->n--;
}

cs_glru_node_t *cs_glru_evict(cs_glru_t *l, size_t spare)
{
    if (l->n <= l->max + spare)
        return NULL;
    for (cs_glru_node_t *n = l->tail; n != NULL; n = n->prev)
        if (n->refs == 0) {
            cs_glru_remove(l, n);
            return n;
        }
    return NULL;
}
