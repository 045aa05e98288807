/* changes.c — the change counter behind read-your-writes. See changes.h. */
#include "application/changes.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct os_changes {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t gen;
};

os_changes_t *os_changes_new(void)
{
    pthread_condattr_t attr;
    os_changes_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &attr);
    pthread_condattr_destroy(&attr);
    return c;
}

void os_changes_free(os_changes_t *c)
{
    if (c == NULL)
        return;
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static uint64_t os_changes_generation(void *self)
{
    os_changes_t *c = self;
    pthread_mutex_lock(&c->mu);
    uint64_t g = c->gen;
    pthread_mutex_unlock(&c->mu);
    return g;
}

static int os_changes_wait(void *self, uint64_t seen, int64_t timeout_ms)
{
    os_changes_t *c = self;
    struct timespec ts;
    int changed;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->mu);
    while (c->gen == seen)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT)
            break;
    changed = c->gen != seen;
    pthread_mutex_unlock(&c->mu);
    return changed;
}

static void os_changes_bump(void *self)
{
    os_changes_t *c = self;
    pthread_mutex_lock(&c->mu);
    c->gen++;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

os_changes_port_t os_changes_port(os_changes_t *c)
{
    os_changes_port_t p = {c, os_changes_generation, os_changes_wait, os_changes_bump};
    return p;
}
