/* rebuild_ctl.c — single-flight background rebuild. See rebuild_ctl.h. */
#include "messaging/rebuild_ctl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct os_rebuild_ctl {
    os_rebuild_opts_t opts;
    pthread_mutex_t mu;
    pthread_t thread;
    int has_thread;
    int running;
    volatile int cancel;
    const char *state; /* static text */
    os_rebuild_stats_t st;
    char error[512];
};

os_rebuild_ctl_t *os_rebuild_ctl_new(const os_rebuild_opts_t *opts)
{
    os_rebuild_ctl_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->opts = *opts;
    c->opts.cancel = &c->cancel;
    c->state = "idle";
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

static void *os_rebuild_ctl_main(void *arg)
{
    os_rebuild_ctl_t *c = arg;
    os_rebuild_stats_t st;
    char err[512] = "";
    int rc = os_rebuild_run(&c->opts, &st, err, sizeof err);
    pthread_mutex_lock(&c->mu);
    c->st = st;
    c->state = rc == 0 ? "succeeded" : "failed";
    snprintf(c->error, sizeof c->error, "%s", rc == 0 ? "" : err);
    c->running = 0;
    pthread_mutex_unlock(&c->mu);
    if (rc != 0)
        clog_error(c->opts.log, "rebuild failed: %s", err);
    return NULL;
}

int os_rebuild_ctl_start(os_rebuild_ctl_t *c)
{
    int rc = -1;
    pthread_mutex_lock(&c->mu);
    if (c->running) {
        rc = 0;
        goto cleanup;
    }
    if (c->has_thread) {
        pthread_join(c->thread, NULL);
        c->has_thread = 0;
    }
    c->cancel = 0;
    c->running = 1;
    c->state = "running";
    c->error[0] = '\0';
    memset(&c->st, 0, sizeof c->st);
    if (pthread_create(&c->thread, NULL, os_rebuild_ctl_main, c) != 0) {
        c->running = 0;
        c->state = "failed";
        snprintf(c->error, sizeof c->error, "cannot start a thread");
        goto cleanup;
    }
    c->has_thread = 1;
    rc = 1;
cleanup:
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void os_rebuild_ctl_status(os_rebuild_ctl_t *c, os_rebuild_status_t *out)
{
    pthread_mutex_lock(&c->mu);
    out->state = c->state;
    out->stats = c->st;
    snprintf(out->error, sizeof out->error, "%s", c->error);
    pthread_mutex_unlock(&c->mu);
}

static int os_rebuild_ctl_start_p(void *self)
{
    return os_rebuild_ctl_start(self);
}

static void os_rebuild_ctl_status_p(void *self, os_rebuild_status_t *out)
{
    os_rebuild_ctl_status(self, out);
}

os_rebuild_port_t os_rebuild_ctl_port(os_rebuild_ctl_t *c)
{
    os_rebuild_port_t p = {c, os_rebuild_ctl_start_p, os_rebuild_ctl_status_p};
    return p;
}

void os_rebuild_ctl_free(os_rebuild_ctl_t *c)
{
    if (c == NULL)
        return;
    c->cancel = 1;
    if (c->has_thread)
        pthread_join(c->thread, NULL);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
