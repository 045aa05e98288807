/* ratelimit.c — failed attempts per address and the process-wide cap of hash checks
 * (ratelimit.h). */
#include "auth/ratelimit.h"

#include <string.h>

void cs_ratelimit_init(cs_ratelimit_t *rl, int max_failures, int window_s, int block_s, long budget_ms)
{
    memset(rl, 0, sizeof(*rl));
    pthread_mutex_init(&rl->mu, NULL);
    rl->max_failures = max_failures > 0 ? max_failures : 10;
    rl->window_s = window_s > 0 ? window_s : 60;
    rl->block_s = block_s > 0 ? block_s : 60;
    rl->budget_ms = budget_ms > 0 ? budget_ms : 500;
}

void cs_ratelimit_destroy(cs_ratelimit_t *rl)
{
    pthread_mutex_destroy(&rl->mu);
}

static size_t hash_addr(const unsigned char *a, size_t n)
{
    size_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ a[i]) * 1099511628211ull;
    return h;
}

/* The slot of `addr` (probing 8 slots), or NULL; with `make`, a free or the stalest of the
 * 8 is taken for it. Called with rl->mu held. */
static cs_rl_slot_t *find(cs_ratelimit_t *rl, const void *addr, size_t alen, int make, time_t now)
{
    if (alen == 0 || alen > 16)
        return NULL;
    size_t h = hash_addr(addr, alen);
    cs_rl_slot_t *stalest = NULL;
    for (size_t i = 0; i < 8; i++) {
        cs_rl_slot_t *s = &rl->slot[(h + i) % CS_RL_SLOTS];
        if (s->alen == alen && memcmp(s->addr, addr, alen) == 0)
            return s;
        if (stalest == NULL || s->alen == 0 || (stalest->alen != 0 && s->last_seen < stalest->last_seen))
            stalest = s;
    }
    if (!make)
        return NULL;
    memset(stalest, 0, sizeof(*stalest));
    memcpy(stalest->addr, addr, alen);
    stalest->alen = (unsigned char)alen;
    stalest->window_start = now;
    return stalest;
}

int cs_ratelimit_blocked(cs_ratelimit_t *rl, const void *addr, size_t alen, time_t now)
{
    pthread_mutex_lock(&rl->mu);
    cs_rl_slot_t *s = find(rl, addr, alen, 0, now);
    int left = s != NULL && s->blocked_until > now ? (int)(s->blocked_until - now) : 0;
    pthread_mutex_unlock(&rl->mu);
    return left;
}

int cs_ratelimit_fail(cs_ratelimit_t *rl, const void *addr, size_t alen, time_t now)
{
    pthread_mutex_lock(&rl->mu);
    cs_rl_slot_t *s = find(rl, addr, alen, 1, now);
    int left = 0;
    if (s != NULL) {
        s->last_seen = now;
        if (now - s->window_start >= rl->window_s) {
            s->window_start = now;
            s->failures = 0;
        }
        if (++s->failures >= rl->max_failures) {
            s->blocked_until = now + rl->block_s;
            s->failures = 0;
            s->window_start = now;
            left = rl->block_s;
        }
    }
    pthread_mutex_unlock(&rl->mu);
    return left;
}

void cs_ratelimit_ok(cs_ratelimit_t *rl, const void *addr, size_t alen)
{
    pthread_mutex_lock(&rl->mu);
    cs_rl_slot_t *s = find(rl, addr, alen, 0, 0);
    if (s != NULL)
        memset(s, 0, sizeof(*s));
    pthread_mutex_unlock(&rl->mu);
}

/* What a new second inherits of the last one's hashing: what it overspent, at most one
 * budget (so one slow hash refuses the next ones for one second, not longer). */
static long carry(const cs_ratelimit_t *rl)
{
    long over = rl->exp_used_ms - rl->budget_ms;
    return over <= 0 ? 0 : over < rl->budget_ms ? over : rl->budget_ms;
}

int cs_ratelimit_expensive(cs_ratelimit_t *rl, time_t now)
{
    pthread_mutex_lock(&rl->mu);
    if (rl->exp_second != now) {
        rl->exp_used_ms = carry(rl);
        rl->exp_second = now;
    }
    int ok = rl->exp_used_ms < rl->budget_ms;
    pthread_mutex_unlock(&rl->mu);
    return ok;
}

void cs_ratelimit_spent(cs_ratelimit_t *rl, time_t now, long ms)
{
    pthread_mutex_lock(&rl->mu);
    if (rl->exp_second != now) {
        rl->exp_used_ms = carry(rl);
        rl->exp_second = now;
    }
    rl->exp_used_ms += ms;
    pthread_mutex_unlock(&rl->mu);
}
