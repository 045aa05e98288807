/* projector.c — the live projection's public side: creating it on its ports, the settings,
 * the consumer thread (os_projector_step until stopped, then leaving the group) and what
 * readiness asks. See projector.h; the loop is projector_loop.c, the dead-letter side
 * projector_dlq.c. */
#include "messaging/projector_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The settings with the defaults filled in. */
static os_projector_tuning_t os_tuning_norm(const os_projector_tuning_t *in)
{
    os_projector_tuning_t t = *in;
    if (t.batch_max <= 0)
        t.batch_max = 1000;
    if (t.poll_ms <= 0)
        t.poll_ms = 100;
    if (t.max_retries <= 0)
        t.max_retries = 5;
    if (t.retry_backoff_ms <= 0)
        t.retry_backoff_ms = 1000;
    if (t.check_ms <= 0)
        t.check_ms = 1000;
    return t;
}

os_projector_t *os_projector_new(const os_projector_tuning_t *t, const os_projector_ports_t *ports, char *err,
                                 size_t errlen)
{
    os_projector_t *p = calloc(1, sizeof *p);
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->w = *ports;
    p->tuning = os_tuning_norm(t);
    p->t = p->tuning;
    p->backoff = p->t.retry_backoff_ms;
    pthread_mutex_init(&p->tune_mu, NULL);
    os_ctl_init(p);
    os_batch_init(&p->b, p->w.consumer.release, p->w.consumer.self);
    os_projector_listen(p);
    atomic_store(&p->healthy, 1);
    if (p->w.metrics) {
        metrics_t *m = p->w.metrics;
        metrics_declare(m, "order_projection_events_total", METRICS_COUNTER,
                        "Customer events applied to the read model, by decision.", NULL, 0);
        metrics_declare(m, "order_projection_batches_total", METRICS_COUNTER,
                        "Projection transactions, by result.", NULL, 0);
        metrics_declare(m, "order_projection_dlq_total", METRICS_COUNTER,
                        "Messages sent to the dead-letter topic, by reason.", NULL, 0);
        metrics_declare(m, "order_projection_newest_event_age_seconds", METRICS_GAUGE,
                        "Age of the newest applied event at its commit (now - occurredAt).", NULL, 0);
        static const double b[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 60};
        metrics_declare(m, "order_projection_lag_seconds", METRICS_HISTOGRAM,
                        "Event age at commit (now - occurredAt).", b, sizeof b / sizeof b[0]);
        metrics_declare(m, "order_consumer_lag", METRICS_GAUGE,
                        "High watermark minus next offset, per partition.", NULL, 0);
        metrics_declare(m, "order_projection_moves_total", METRICS_COUNTER,
                        "Partitions whose stored position an operator moved (replay from a point).", NULL, 0);
    }
    return p;
}

void os_projector_tune(os_projector_t *p, const os_projector_tuning_t *t)
{
    os_projector_tuning_t n = os_tuning_norm(t);
    pthread_mutex_lock(&p->tune_mu);
    p->tuning = n;
    pthread_mutex_unlock(&p->tune_mu);
}

static void *os_projector_main(void *arg)
{
    os_projector_t *p = arg;
    atomic_store(&p->healthy, 1);
    while (!atomic_load(&p->stop))
        os_projector_step(p);
    os_batch_reset(&p->b);
    os_ctl_fail_pending(p);
    p->w.consumer.close(p->w.consumer.self, OS_CLOSE_MS, &p->rebalance);
    return NULL;
}

int os_projector_start(os_projector_t *p)
{
    if (pthread_create(&p->thread, NULL, os_projector_main, p) != 0)
        return -1;
    p->started = 1;
    return 0;
}

void os_projector_stop(os_projector_t *p)
{
    if (p == NULL || !p->started)
        return;
    atomic_store(&p->stop, 1);
    pthread_join(p->thread, NULL);
    p->started = 0;
}

void os_projector_free(os_projector_t *p)
{
    if (p == NULL)
        return;
    os_projector_stop(p);
    os_batch_free(&p->b);
    os_ctl_destroy(p);
    pthread_mutex_destroy(&p->tune_mu);
    free(p);
}

int os_projector_healthy(const os_projector_t *p)
{
    return p != NULL && p->started && atomic_load(&p->healthy);
}

int os_projector_catching_up(const os_projector_t *p)
{
    return p != NULL && atomic_load(&p->catching_up);
}

int os_projector_kafka_ok(os_projector_t *p)
{
    return p != NULL && p->w.dlq.reachable(p->w.dlq.self);
}

unsigned long long os_projector_applied(const os_projector_t *p)
{
    return p ? atomic_load(&p->applied) : 0;
}
