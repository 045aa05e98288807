/* svc_live.c — the applied configuration as a reference-counted snapshot, and what a new
 * configuration does to it: rejected, swapped in live, or a restart in place requested
 * (see svc_live.h). Also the watcher's hookup, POST /actuator/refresh's work, the "config"
 * object of /health, the config metrics and the wait for a stop signal or a restart.
 * The restart itself (re-exec, the inherited socket) is svc_live_restart.c.
 */
#include "svc_live.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errbuf.h"

typedef struct snap {
    svc_snap_t pub; /* first: a svc_snap_t * is a snap_t * */
    atomic_int refs;
    const svc_live_t *live;
    cfgcli_t *cfg;  /* owned */
    void *settings; /* owned, freed by ops.free */
} snap_t;

struct svc_live {
    svc_live_opts_t o;
    cfgcli_opts_t copts;
    int have_server; /* 0: CONFIG_SERVER_URL=none (env only) or bad client settings */
    cfgcli_watch_t *watch;
    pthread_mutex_t mu; /* cur and the status below */
    snap_t *cur;
    char applied_at[32];
    char rejected_version[128], rejected_reason[1024], rejected_at[32];
    long rejected_count;
    char pending[1024];    /* why a restart is pending ("" = none) */
    long long pending_gen; /* config-generation of the configuration that requested it */
    atomic_int restart_pending;
    int restarts;             /* restarts in place before this image (CQ_RESTARTS) */
    pthread_mutex_t offer_mu; /* one offer at a time (watcher, refresh) */
};

static void now_iso(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

long long svc_config_generation(const cfgcli_t *cfg)
{
    long long g;
    char err[256];
    if (cfg == NULL || !cfgcli_has(cfg, "config-generation") ||
        cfgcli_get_long(cfg, "config-generation", -1, &g, err, sizeof err) != 0 || g < 0)
        return -1;
    return g;
}

svc_key_class_t svc_key_class(const svc_key_rule_t *rules, size_t n, const char *key)
{
    svc_key_class_t cls = SVC_KEY_UNUSED;
    size_t best = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = rules[i].key;
        size_t kl = strlen(k);
        size_t match = 0;
        if (kl >= 2 && k[kl - 1] == '*' && k[kl - 2] == '.') {
            if (strncmp(key, k, kl - 1) == 0)
                match = kl - 1;
        } else if (strcmp(key, k) == 0) {
            match = kl + 1; /* an exact key beats any prefix of it */
        }
        if (match > best) {
            best = match;
            cls = rules[i].cls;
        }
    }
    return cls;
}

const char *svc_log_level_name(const cfgcli_t *cfg, const char **deprecated)
{
    const char *root = cfg ? cfgcli_get_str(cfg, "logging.level.root", NULL) : NULL;
    const char *old = cfg ? cfgcli_get_str(cfg, "logging.level", NULL) : NULL;
    const char *old_src = old ? cfgcli_source_of(cfg, "logging.level") : NULL;
    const char *root_src = root ? cfgcli_source_of(cfg, "logging.level.root") : NULL;
    int old_env = old_src != NULL && strncmp(old_src, "env:", 4) == 0;
    int root_env = root_src != NULL && strncmp(root_src, "env:", 4) == 0;
    if (deprecated != NULL)
        *deprecated = NULL;
    if (old != NULL && *old != '\0' && (root == NULL || *root == '\0' || (old_env && !root_env))) {
        if (deprecated != NULL)
            *deprecated = old_src;
        return old;
    }
    return root != NULL && *root != '\0' ? root : "info";
}

/* ---- snapshots ---- */

static snap_t *snap_new(const svc_live_t *l, cfgcli_t *cfg, void *settings)
{
    snap_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    atomic_init(&s->refs, 1);
    s->live = l;
    s->cfg = cfg;
    s->settings = settings;
    s->pub.cfg = cfg;
    s->pub.settings = settings;
    return s;
}

static void snap_put(snap_t *s)
{
    if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    s->live->o.ops.free(s->live->o.self, s->settings);
    cfgcli_free(s->cfg);
    free(s);
}

const svc_snap_t *svc_live_acquire(svc_live_t *l)
{
    pthread_mutex_lock(&l->mu);
    snap_t *s = l->cur;
    atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&l->mu);
    return &s->pub;
}

void svc_live_release(svc_live_t *l, const svc_snap_t *s)
{
    (void)l;
    snap_put((snap_t *)s);
}

/* ---- metrics ---- */

static void metric_name(const svc_live_t *l, const char *suffix, char *out, size_t len)
{
    snprintf(out, len, "%s_config_%s", l->o.metric_prefix, suffix);
}

/* <prefix>_config_info{version} = 1 for `version`, 0 for `old` (NULL: none). */
static void metric_version(svc_live_t *l, const char *old, const char *version)
{
    char name[96], lab[320], esc[256];
    if (l->o.metrics == NULL)
        return;
    metric_name(l, "info", name, sizeof name);
    if (old != NULL && strcmp(old, version) != 0) {
        snprintf(lab, sizeof lab, "version=\"%s\"", metrics_label_escape(old, esc, sizeof esc));
        metrics_set(l->o.metrics, name, lab, 0);
    }
    snprintf(lab, sizeof lab, "version=\"%s\"", metrics_label_escape(version, esc, sizeof esc));
    metrics_set(l->o.metrics, name, lab, 1);
}

static void metrics_init(svc_live_t *l)
{
    char name[96];
    if (l->o.metrics == NULL)
        return;
    metric_name(l, "info", name, sizeof name);
    metrics_declare(l->o.metrics, name, METRICS_GAUGE,
                    "The applied configuration: 1 for the config-server version in effect.", NULL, 0);
    metric_name(l, "rejected_total", name, sizeof name);
    metrics_declare(l->o.metrics, name, METRICS_COUNTER,
                    "New configurations refused (invalid, or their restart pre-check failed).", NULL, 0);
    metrics_add(l->o.metrics, name, NULL, 0);
    metric_name(l, "restarts", name, sizeof name);
    metrics_declare(l->o.metrics, name, METRICS_GAUGE,
                    "Restarts in place for configuration changes since the process started.", NULL, 0);
    metrics_set(l->o.metrics, name, NULL, l->restarts);
}

/* ---- life cycle ---- */

svc_live_t *svc_live_new(const svc_live_opts_t *o, cfgcli_t *cfg, void *settings, char *err, size_t errlen)
{
    svc_live_t *l = calloc(1, sizeof *l);
    char cerr[512];
    if (l == NULL) {
        errbuf_set(err, errlen, "out of memory");
        goto fail;
    }
    l->o = *o;
    pthread_mutex_init(&l->mu, NULL);
    pthread_mutex_init(&l->offer_mu, NULL);
    atomic_init(&l->restart_pending, 0);
    l->cur = snap_new(l, cfg, settings);
    if (l->cur == NULL) {
        errbuf_set(err, errlen, "out of memory");
        pthread_mutex_destroy(&l->mu);
        pthread_mutex_destroy(&l->offer_mu);
        free(l);
        goto fail;
    }
    const char *url = getenv("CONFIG_SERVER_URL");
    l->have_server = !(url != NULL && strcmp(url, "none") == 0) &&
                     cfgcli_opts_from_env(&l->copts, o->app, cerr, sizeof cerr) == 0;
    const char *r = getenv("CQ_RESTARTS");
    l->restarts = r != NULL ? atoi(r) : 0;
    now_iso(l->applied_at);
    metrics_init(l);
    metric_version(l, NULL, cfgcli_version(cfg));
    return l;
fail:
    if (o->ops.free != NULL)
        o->ops.free(o->self, settings);
    cfgcli_free(cfg);
    return NULL;
}

static void on_watch(void *ud, cfgcli_t *cfg, const char *error);

int svc_live_watch(svc_live_t *l, char *err, size_t errlen)
{
    if (!l->have_server || !l->copts.watch || l->watch != NULL)
        return 0;
    const svc_snap_t *s = svc_live_acquire(l);
    /* from the cache: no ETag, so the first answer is compared with what runs */
    cfgcli_watch_t *w = cfgcli_watch_start(&l->copts, s->cfg, on_watch, l, l->o.log, err, errlen);
    svc_live_release(l, s);
    pthread_mutex_lock(&l->mu);
    l->watch = w;
    pthread_mutex_unlock(&l->mu);
    return w != NULL ? 0 : -1;
}

static void stop_watch(svc_live_t *l)
{
    cfgcli_watch_t *w;
    pthread_mutex_lock(&l->mu);
    w = l->watch;
    l->watch = NULL;
    pthread_mutex_unlock(&l->mu);
    cfgcli_watch_stop(w);
}

void svc_live_free(svc_live_t *l)
{
    if (l == NULL)
        return;
    stop_watch(l);
    snap_put(l->cur);
    pthread_mutex_destroy(&l->mu);
    pthread_mutex_destroy(&l->offer_mu);
    free(l);
}

/* ---- offers ---- */

static int collect(void *ud, const char *key, const char *rest, const char *value, const char *source)
{
    (void)rest;
    (void)source;
    return json_object_set_new(ud, key, json_string(value)) != 0;
}

/* The keys whose values differ between a and b (both borrowed): owned array, NULL on OOM. */
static json_t *changed_keys(const cfgcli_t *a, const cfgcli_t *b)
{
    json_t *ja = json_object(), *jb = json_object(), *out = json_array();
    const char *k;
    json_t *v;
    if (ja == NULL || jb == NULL || out == NULL || cfgcli_foreach_prefix(a, "", collect, ja) != 0 ||
        cfgcli_foreach_prefix(b, "", collect, jb) != 0) {
        json_decref(out);
        out = NULL;
        goto cleanup;
    }
    json_object_foreach(ja, k, v)
    {
        if (!json_equal(v, json_object_get(jb, k)))
            json_array_append_new(out, json_string(k));
    }
    json_object_foreach(jb, k, v)
    {
        if (json_object_get(ja, k) == NULL)
            json_array_append_new(out, json_string(k));
    }
cleanup:
    json_decref(ja);
    json_decref(jb);
    return out;
}

static void reject(svc_live_t *l, const char *version, const char *why)
{
    char name[96];
    pthread_mutex_lock(&l->mu);
    snprintf(l->rejected_version, sizeof l->rejected_version, "%s", version);
    snprintf(l->rejected_reason, sizeof l->rejected_reason, "%s", why);
    now_iso(l->rejected_at);
    l->rejected_count++;
    pthread_mutex_unlock(&l->mu);
    metric_name(l, "rejected_total", name, sizeof name);
    if (l->o.metrics != NULL)
        metrics_add(l->o.metrics, name, NULL, 1);
    clog_ev(l->o.log, CLOG_WARN, json_pack("{s:s, s:s}", "version", version, "reason", why),
            "configuration version %s rejected, still running on the previous one: %s", version, why);
}

/* "a, b, c" of a key array into out (shortened when long). */
static void join_keys(const json_t *keys, char *out, size_t len)
{
    size_t i, used = 0;
    const json_t *k;
    out[0] = '\0';
    json_array_foreach(keys, i, k)
    {
        int n = snprintf(out + used, len - used, "%s%s", i ? ", " : "", json_string_value(k));
        if (n < 0 || (size_t)n >= len - used) {
            snprintf(out + (len > 5 ? len - 5 : 0), len > 5 ? 5 : len, " …");
            return;
        }
        used += (size_t)n;
    }
}

static void apply_log_level(svc_live_t *l, const cfgcli_t *cfg)
{
    const char *env = getenv("LOG_LEVEL");
    if (env != NULL && *env != '\0')
        return; /* the environment wins, as at start */
    const char *name = svc_log_level_name(cfg, NULL);
    int lv = clog_level_parse(name);
    if (lv < 0) {
        clog_warn(l->o.log, "logging.level.root = '%s' is not a log level (debug, info, warn, error): kept",
                  name);
        return;
    }
    if (atomic_load(&l->o.log->min) != lv) {
        clog_set_level(l->o.log, (clog_level_t)lv);
        clog_info(l->o.log, "log level now %s", clog_level_name((clog_level_t)lv));
    }
}

svc_live_result_t svc_live_offer(svc_live_t *l, cfgcli_t *cfg, json_t **changed, char *err, size_t errlen)
{
    svc_live_result_t rc;
    char why[1024] = "", keys[768];
    char version[128];
    void *settings = NULL;
    json_t *ch = NULL;
    svc_key_class_t cls = SVC_KEY_UNUSED;
    if (changed != NULL)
        *changed = NULL;
    snprintf(version, sizeof version, "%s", cfgcli_version(cfg));
    pthread_mutex_lock(&l->offer_mu);
    if (atomic_load(&l->restart_pending)) {
        errbuf_set(err, errlen, "a restart in place is under way");
        rc = SVC_LIVE_BUSY;
        goto cleanup;
    }
    long long gen = svc_config_generation(cfg);
    const svc_snap_t *now = svc_live_acquire(l);
    long long cur_gen = svc_config_generation(now->cfg);
    svc_live_release(l, now);
    if (gen >= 0 && cur_gen >= 0 && gen < cur_gen) {
        errbuf_set(
            err, errlen,
            "configuration version %s has config-generation %lld, below the applied %lld (a config-server"
            " replica that has not caught up yet): ignored",
            version, gen, cur_gen);
        clog_info(l->o.log, "%s", err);
        rc = SVC_LIVE_OLDER;
        goto cleanup;
    }
    settings = l->o.ops.build(l->o.self, cfg, why, sizeof why);
    if (settings == NULL) {
        reject(l, version, why);
        errbuf_set(err, errlen, "%s", why);
        rc = SVC_LIVE_REJECTED;
        goto cleanup;
    }
    const svc_snap_t *cur = svc_live_acquire(l);
    ch = changed_keys(cur->cfg, cfg);
    char old_version[128];
    snprintf(old_version, sizeof old_version, "%s", cfgcli_version(cur->cfg));
    svc_live_release(l, cur);
    if (ch == NULL) {
        errbuf_set(err, errlen, "out of memory");
        rc = SVC_LIVE_REJECTED;
        goto cleanup;
    }
    size_t i;
    json_t *k;
    json_array_foreach(ch, i, k)
    {
        svc_key_class_t c = svc_key_class(l->o.rules, l->o.n_rules, json_string_value(k));
        if (c > cls)
            cls = c;
    }
    join_keys(ch, keys, sizeof keys);
    if (cls == SVC_KEY_RESTART) {
        if (l->o.ops.preflight != NULL && l->o.ops.preflight(l->o.self, settings, why, sizeof why) != 0) {
            char msg[1200];
            snprintf(msg, sizeof msg, "the new settings would not work: %s", why);
            reject(l, version, msg);
            errbuf_set(err, errlen, "%s", msg);
            rc = SVC_LIVE_REJECTED;
            goto cleanup;
        }
        pthread_mutex_lock(&l->mu);
        snprintf(l->pending, sizeof l->pending, "configuration version %s changes %s", version, keys);
        l->pending_gen = gen;
        pthread_mutex_unlock(&l->mu);
        atomic_store(&l->restart_pending, 1);
        clog_ev(l->o.log, CLOG_INFO, json_pack("{s:s, s:O}", "version", version, "keys", ch),
                "configuration version %s changes restart-class keys (%s): restarting in place", version,
                keys);
        rc = SVC_LIVE_RESTARTING;
        goto cleanup; /* the new image fetches it again */
    }
    snap_t *s = snap_new(l, cfg, settings);
    if (s == NULL) {
        errbuf_set(err, errlen, "out of memory");
        rc = SVC_LIVE_REJECTED;
        goto cleanup;
    }
    cfg = NULL;
    settings = NULL;
    pthread_mutex_lock(&l->mu);
    snap_t *old = l->cur;
    l->cur = s;
    now_iso(l->applied_at);
    pthread_mutex_unlock(&l->mu);
    snap_put(old);
    apply_log_level(l, s->cfg);
    if (l->o.ops.applied != NULL)
        l->o.ops.applied(l->o.self, s->settings);
    metric_version(l, old_version, version);
    rc = json_array_size(ch) > 0 ? SVC_LIVE_APPLIED : SVC_LIVE_UNCHANGED;
    if (rc == SVC_LIVE_APPLIED)
        clog_ev(l->o.log, CLOG_INFO, json_pack("{s:s, s:O}", "version", version, "keys", ch),
                "configuration version %s applied live (%s)", version, keys);
    else if (strcmp(old_version, version) != 0)
        clog_info(l->o.log, "configuration version %s: no key of this service changed", version);
cleanup:
    pthread_mutex_unlock(&l->offer_mu);
    if (settings != NULL)
        l->o.ops.free(l->o.self, settings);
    cfgcli_free(cfg);
    if (changed != NULL && rc != SVC_LIVE_REJECTED && rc != SVC_LIVE_BUSY && rc != SVC_LIVE_OLDER)
        *changed = ch;
    else
        json_decref(ch);
    return rc;
}

static void on_watch(void *ud, cfgcli_t *cfg, const char *error)
{
    svc_live_t *l = ud;
    char err[1024];
    if (cfg == NULL) {
        reject(l, "?", error ? error : "the config server's answer is no configuration");
        return;
    }
    svc_live_offer(l, cfg, NULL, err, sizeof err);
}

static json_t *problem(const char *title, const char *detail)
{
    return json_pack("{s:s, s:s}", "title", title, "detail", detail);
}

int svc_live_refresh(svc_live_t *l, json_t **body)
{
    char err[1024] = "";
    if (!l->have_server) {
        *body = json_array(); /* env only: nothing can change */
        return 200;
    }
    cfgcli_opts_t o = l->copts;
    o.attempts = 1;
    cfgcli_t *c = cfgcli_fetch(&o, l->o.log, err, sizeof err);
    if (c == NULL) {
        *body = problem("Service Unavailable", err);
        return 503;
    }
    json_t *changed = NULL;
    switch (svc_live_offer(l, c, &changed, err, sizeof err)) {
    case SVC_LIVE_REJECTED:
        *body = problem("Unprocessable Content", err);
        return 422;
    case SVC_LIVE_BUSY:
        *body = problem("Conflict", err);
        return 409;
    case SVC_LIVE_OLDER: /* a lagging replica answered: nothing changes */
        *body = json_array();
        return 200;
    default:
        *body = changed;
        return 200;
    }
}

/* ---- /health ---- */

json_t *svc_live_health(svc_live_t *l)
{
    const svc_snap_t *s = svc_live_acquire(l);
    json_t *j = json_object();
    const char *reason = getenv("CQ_RESTART_REASON");
    pthread_mutex_lock(&l->mu);
    json_object_set_new(j, "version", json_string(cfgcli_version(s->cfg)));
    json_object_set_new(j, "appliedAt", json_string(l->applied_at));
    json_object_set_new(j, "origin", json_string(cfgcli_origin(s->cfg)));
    json_object_set_new(j, "restarts", json_integer(l->restarts));
    if (reason != NULL && *reason != '\0')
        json_object_set_new(j, "restartReason", json_string(reason));
    json_object_set_new(j, "rejectedCount", json_integer(l->rejected_count));
    if (l->rejected_count > 0)
        json_object_set_new(j, "rejected",
                            json_pack("{s:s, s:s, s:s}", "version", l->rejected_version, "reason",
                                      l->rejected_reason, "at", l->rejected_at));
    if (l->pending[0] != '\0')
        json_object_set_new(j, "pendingRestart", json_string(l->pending));
    if (l->watch != NULL)
        json_object_set_new(j, "watch", cfgcli_watch_status(l->watch));
    pthread_mutex_unlock(&l->mu);
    svc_live_release(l, s);
    return j;
}

/* ---- the main thread's wait ---- */

int svc_live_wait(svc_live_t *l, int *sig)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    *sig = 0;
    for (;;) {
        struct timespec slice = {0, 100 * 1000000L};
        int s = sigtimedwait(&set, NULL, &slice);
        if (s > 0) {
            *sig = s;
            return SVC_LIVE_STOP;
        }
        if (l != NULL && atomic_load(&l->restart_pending)) {
            stop_watch(l);
            return SVC_LIVE_RESTART;
        }
    }
}

long long svc_live_pending_generation(svc_live_t *l)
{
    pthread_mutex_lock(&l->mu);
    long long g = atomic_load(&l->restart_pending) ? l->pending_gen : -1;
    pthread_mutex_unlock(&l->mu);
    return g;
}

const char *svc_live_pending(svc_live_t *l)
{
    return atomic_load(&l->restart_pending) ? l->pending : NULL;
}

int svc_live_restarts(const svc_live_t *l)
{
    return l->restarts;
}
