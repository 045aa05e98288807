/* ratelimit.h — failed authentication attempts per client address: after `max_failures`
 * failures within `window_s` seconds an address is refused (429) for `block_s` seconds,
 * without its credentials being checked; a success clears its count. A fixed table (1024
 * addresses; a new address takes the slot of the one seen longest ago), so a flood of
 * addresses cannot grow memory. Thread-safe (one mutex).
 *
 * Besides, the expensive checks (a password hash computed because no earlier result is
 * remembered) get a time budget per second for the whole process (cs_ratelimit_expensive:
 * 500 ms of hashing per second, half a core), so a spray of wrong passwords from many
 * addresses cannot keep the event loops busy hashing.
 */
#ifndef CS_RATELIMIT_H
#define CS_RATELIMIT_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#define CS_RL_SLOTS 1024

typedef struct cs_rl_slot {
    unsigned char addr[16];
    unsigned char alen; /* 0: free */
    int failures;
    time_t window_start, blocked_until, last_seen;
} cs_rl_slot_t;

typedef struct cs_ratelimit {
    pthread_mutex_t mu;
    int max_failures, window_s, block_s;
    long budget_ms; /* hashing time per second, process-wide */
    time_t exp_second;
    long exp_used_ms;
    cs_rl_slot_t slot[CS_RL_SLOTS];
} cs_ratelimit_t;

/* Defaults when 0: 10 failures, 60 s window, 60 s block, 500 ms of hashing per second. */
void cs_ratelimit_init(cs_ratelimit_t *rl, int max_failures, int window_s, int block_s, long budget_ms);
void cs_ratelimit_destroy(cs_ratelimit_t *rl);
/* Seconds `addr` stays refused at `now`, 0 when it is not. */
int cs_ratelimit_blocked(cs_ratelimit_t *rl, const void *addr, size_t alen, time_t now);
/* Counts a failure of `addr`; returns the seconds it is now refused (0: not yet). */
int cs_ratelimit_fail(cs_ratelimit_t *rl, const void *addr, size_t alen, time_t now);
/* A success of `addr`: its count starts again. */
void cs_ratelimit_ok(cs_ratelimit_t *rl, const void *addr, size_t alen);
/* 1 when one more expensive check may start this second (the budget is not spent), 0 when
 * not; cs_ratelimit_spent then books the time it took. */
int cs_ratelimit_expensive(cs_ratelimit_t *rl, time_t now);
void cs_ratelimit_spent(cs_ratelimit_t *rl, time_t now, long ms);

#endif
