/* vcache.c — id → version map with open addressing (linear probing, tombstones).
 * See vcache.h. */
#include "dataaccess/vcache.h"
#include "hexdig.h"

#include <stdlib.h>
#include <string.h>

typedef struct os_vslot {
    uint64_t hi, lo;
    int64_t version;
    int state; /* 0 empty, 1 used, 2 deleted */
} os_vslot_t;

struct os_vcache {
    os_vslot_t *slots;
    size_t cap;    /* power of two */
    size_t used;   /* state 1 */
    size_t filled; /* state 1 or 2 */
};

static int os_vparse(const char *id, uint64_t *hi, uint64_t *lo)
{
    uint64_t v[2] = {0, 0};
    int n = 0;
    for (const char *p = id; *p; p++) {
        if (*p == '-')
            continue;
        int h = hexdig_value(*p);
        if (h < 0 || n >= 32)
            return -1;
        v[n / 16] = (v[n / 16] << 4) | (uint64_t)h;
        n++;
    }
    if (n != 32)
        return -1;
    *hi = v[0];
    *lo = v[1];
    return 0;
}

static size_t os_vhash(uint64_t hi, uint64_t lo)
{
    uint64_t x = hi ^ (lo * 0x9E3779B97F4A7C15ULL);
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 29;
    return (size_t)x;
}

os_vcache_t *os_vcache_new(void)
{
    os_vcache_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->cap = 1024;
    c->slots = calloc(c->cap, sizeof *c->slots);
    if (c->slots == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

void os_vcache_free(os_vcache_t *c)
{
    if (c == NULL)
        return;
    free(c->slots);
    free(c);
}

/* The slot holding (hi, lo), or NULL. */
static os_vslot_t *os_vfind(const os_vcache_t *c, uint64_t hi, uint64_t lo)
{
    size_t mask = c->cap - 1;
    for (size_t i = os_vhash(hi, lo) & mask;; i = (i + 1) & mask) {
        os_vslot_t *s = &c->slots[i];
        if (s->state == 0)
            return NULL;
        if (s->state == 1 && s->hi == hi && s->lo == lo)
            return s;
    }
}

static int os_vgrow(os_vcache_t *c)
{
    size_t ncap = c->cap * 2;
    os_vslot_t *ns = calloc(ncap, sizeof *ns);
    if (ns == NULL)
        return -1;
    for (size_t i = 0; i < c->cap; i++) {
        os_vslot_t *s = &c->slots[i];
        if (s->state != 1)
            continue;
        size_t j = os_vhash(s->hi, s->lo) & (ncap - 1);
        while (ns[j].state != 0)
            j = (j + 1) & (ncap - 1);
        ns[j] = *s;
    }
    free(c->slots);
    c->slots = ns;
    c->cap = ncap;
    c->filled = c->used;
    return 0;
}

int os_vcache_get(const os_vcache_t *c, const char *id, int64_t *version)
{
    uint64_t hi, lo;
    if (os_vparse(id, &hi, &lo) != 0)
        return 0;
    os_vslot_t *s = os_vfind(c, hi, lo);
    if (s == NULL)
        return 0;
    *version = s->version;
    return 1;
}

int os_vcache_put(os_vcache_t *c, const char *id, int64_t version)
{
    uint64_t hi, lo;
    if (os_vparse(id, &hi, &lo) != 0)
        return -1;
    os_vslot_t *s = os_vfind(c, hi, lo);
    if (s != NULL) {
        s->version = version;
        return 0;
    }
    if ((c->filled + 1) * 4 > c->cap * 3 && os_vgrow(c) != 0)
        return -1;
    size_t mask = c->cap - 1;
    size_t i = os_vhash(hi, lo) & mask;
    while (c->slots[i].state == 1)
        i = (i + 1) & mask;
    if (c->slots[i].state == 0)
        c->filled++;
    c->slots[i] = (os_vslot_t){hi, lo, version, 1};
    c->used++;
    return 0;
}

void os_vcache_del(os_vcache_t *c, const char *id)
{
    uint64_t hi, lo;
    if (os_vparse(id, &hi, &lo) != 0)
        return;
    os_vslot_t *s = os_vfind(c, hi, lo);
    if (s != NULL) {
        s->state = 2;
        c->used--;
    }
}

size_t os_vcache_count(const os_vcache_t *c)
{
    return c->used;
}
