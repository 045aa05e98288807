/* test_svc_live.c — unit tests of common/svc/svc_live*.c with a fake service (settings =
 * two numbers and a name, checked like a config.c): the key table (longest match, exact
 * beats prefix, unused keys), a live change swapped in while an old snapshot is still held
 * (and freed at its last release), an invalid configuration rejected and reported (health,
 * metric) while the old one stays, a version-only change, a restart-class change (pre-check,
 * then pending: further offers are busy and svc_live_wait returns RESTART), the log level
 * following logging.level.root, snapshots taken on other threads during swaps (ASan), the
 * inherited socket matched by address and port, and a real re-exec of this test binary that
 * keeps the listening socket and nothing else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "svc_live.h"

typedef struct fake_settings {
    int batch; /* batch.size: 1..1000, live */
    int pool;  /* db.pool: 1..64, restart */
} fake_settings_t;

typedef struct fake_svc {
    atomic_int built, freed, applied, last_batch;
    int preflight_fails;
} fake_svc_t;

static void *fake_build(void *self, const cfgcli_t *cfg, char *err, size_t errlen)
{
    fake_svc_t *f = self;
    fake_settings_t s;
    if (cfgcli_get_int_range(cfg, "batch.size", 10, 1, 1000, &s.batch, err, errlen) ||
        cfgcli_get_int_range(cfg, "db.pool", 4, 1, 64, &s.pool, err, errlen))
        return NULL;
    fake_settings_t *p = malloc(sizeof *p);
    *p = s;
    atomic_fetch_add(&f->built, 1);
    return p;
}

static void fake_free(void *self, void *settings)
{
    fake_svc_t *f = self;
    if (settings != NULL)
        atomic_fetch_add(&f->freed, 1);
    free(settings);
}

static int fake_preflight(void *self, const void *settings, char *err, size_t errlen)
{
    fake_svc_t *f = self;
    (void)settings;
    if (f->preflight_fails) {
        snprintf(err, errlen, "database at db.pool's host does not answer");
        return -1;
    }
    return 0;
}

static void fake_applied(void *self, const void *settings)
{
    fake_svc_t *f = self;
    atomic_fetch_add(&f->applied, 1);
    atomic_store(&f->last_batch, ((const fake_settings_t *)settings)->batch);
}

static const svc_key_rule_t RULES[] = {
    {"batch.size", SVC_KEY_LIVE}, {"logging.level.*", SVC_KEY_LIVE}, {"db.*", SVC_KEY_RESTART},
    {"db.note", SVC_KEY_UNUSED},  {"kafka.*", SVC_KEY_RESTART},      {"kafka.poll-ms", SVC_KEY_LIVE},
};

/* A configuration of version `version` with the "k=v" pairs of `kv` (NULL-terminated). */
static cfgcli_t *mk(const char *version, const char *const *kv)
{
    static char *const no_env[] = {NULL};
    cfgcli_opts_t o;
    char doc[2048], err[256];
    size_t n = (size_t)snprintf(doc, sizeof doc,
                                "{\"name\":\"fake\",\"version\":\"%s\",\"propertySources\":[{\"name\":\"f\","
                                "\"source\":{",
                                version);
    for (int i = 0; kv != NULL && kv[i] != NULL; i++) {
        const char *eq = strchr(kv[i], '=');
        n += (size_t)snprintf(doc + n, sizeof doc - n, "%s\"%.*s\":\"%s\"", i ? "," : "", (int)(eq - kv[i]),
                              kv[i], eq + 1);
    }
    snprintf(doc + n, sizeof doc - n, "}}]}");
    cfgcli_opts_init(&o, "fake");
    o.envp = no_env;
    cfgcli_t *c = cfgcli_from_json(&o, doc, strlen(doc), "http://cfg", err, sizeof err);
    if (c == NULL)
        fail_msg("%s", err);
    return c;
}

typedef struct fx {
    fake_svc_t f;
    clog_t log;
    metrics_t *m;
    svc_live_t *l;
} fx_t;

static int fx_setup(void **state)
{
    static const char *const kv[] = {"batch.size=10", "db.pool=4", "db.note=a", NULL};
    fx_t *x = calloc(1, sizeof *x);
    char err[256];
    setenv("CONFIG_SERVER_URL", "none", 1); /* no watcher in unit tests */
    unsetenv("LOG_LEVEL");
    unsetenv("CQ_RESTARTS");
    clog_init(&x->log, "fake", "info", fopen("/dev/null", "w"));
    x->m = metrics_new();
    svc_live_opts_t o = {.app = "fake",
                         .metric_prefix = "fake",
                         .rules = RULES,
                         .n_rules = sizeof RULES / sizeof RULES[0],
                         .ops = {fake_build, fake_free, fake_preflight, fake_applied},
                         .self = &x->f,
                         .log = &x->log,
                         .metrics = x->m};
    cfgcli_t *c = mk("v1", kv);
    void *s = fake_build(&x->f, c, err, sizeof err);
    x->l = svc_live_new(&o, c, s, err, sizeof err);
    assert_non_null(x->l);
    *state = x;
    return 0;
}

static int fx_teardown(void **state)
{
    fx_t *x = *state;
    svc_live_free(x->l);
    assert_int_equal(atomic_load(&x->f.built), atomic_load(&x->f.freed)); /* every snapshot freed */
    metrics_free(x->m);
    fclose(x->log.out);
    free(x);
    return 0;
}

static void test_key_class(void **state)
{
    (void)state;
    size_t n = sizeof RULES / sizeof RULES[0];
    assert_int_equal(svc_key_class(RULES, n, "batch.size"), SVC_KEY_LIVE);
    assert_int_equal(svc_key_class(RULES, n, "db.pool"), SVC_KEY_RESTART);
    assert_int_equal(svc_key_class(RULES, n, "db.note"), SVC_KEY_UNUSED);     /* exact beats prefix */
    assert_int_equal(svc_key_class(RULES, n, "kafka.poll-ms"), SVC_KEY_LIVE); /* exact beats prefix */
    assert_int_equal(svc_key_class(RULES, n, "kafka.acks"), SVC_KEY_RESTART);
    assert_int_equal(svc_key_class(RULES, n, "logging.level.root"), SVC_KEY_LIVE);
    assert_int_equal(svc_key_class(RULES, n, "logging.level"), SVC_KEY_UNUSED); /* "x.*" needs the dot */
    assert_int_equal(svc_key_class(RULES, n, "batch.sizes"), SVC_KEY_UNUSED);
    assert_int_equal(svc_key_class(RULES, n, "other"), SVC_KEY_UNUSED);
}

static const char *health_str(svc_live_t *l, const char *path0, const char *path1, char *out, size_t len)
{
    json_t *h = svc_live_health(l);
    json_t *v = json_object_get(h, path0);
    if (path1 != NULL)
        v = json_object_get(v, path1);
    snprintf(out, len, "%s", json_is_string(v) ? json_string_value(v) : "");
    json_decref(h);
    return out;
}

static void test_live_swap_keeps_held_snapshot(void **state)
{
    fx_t *x = *state;
    static const char *const kv[] = {"batch.size=50", "db.pool=4", "db.note=a", NULL};
    char err[256], b[256];
    json_t *changed = NULL;
    const svc_snap_t *old = svc_live_acquire(x->l);
    assert_int_equal(((const fake_settings_t *)old->settings)->batch, 10);
    assert_int_equal(svc_live_offer(x->l, mk("v2", kv), &changed, err, sizeof err), SVC_LIVE_APPLIED);
    assert_int_equal(json_array_size(changed), 1);
    assert_string_equal(json_string_value(json_array_get(changed, 0)), "batch.size");
    json_decref(changed);
    assert_int_equal(atomic_load(&x->f.applied), 1);
    assert_int_equal(atomic_load(&x->f.last_batch), 50);
    /* the request that took the old snapshot still reads it whole */
    assert_int_equal(((const fake_settings_t *)old->settings)->batch, 10);
    assert_string_equal(cfgcli_version(old->cfg), "v1");
    assert_int_equal(atomic_load(&x->f.freed), 0);
    svc_live_release(x->l, old);
    assert_int_equal(atomic_load(&x->f.freed), 1);
    const svc_snap_t *cur = svc_live_acquire(x->l);
    assert_int_equal(((const fake_settings_t *)cur->settings)->batch, 50);
    svc_live_release(x->l, cur);
    assert_string_equal(health_str(x->l, "version", NULL, b, sizeof b), "v2");
    assert_int_equal(metrics_get(x->m, "fake_config_info", "version=\"v2\""), 1);
    assert_int_equal(metrics_get(x->m, "fake_config_info", "version=\"v1\""), 0);
}

static void test_invalid_rejected(void **state)
{
    fx_t *x = *state;
    static const char *const wrong_type[] = {"batch.size=many", "db.pool=4", NULL};
    static const char *const out_of_range[] = {"batch.size=10", "db.pool=0", NULL};
    char err[256], b[512];
    json_t *changed = NULL;
    assert_int_equal(svc_live_offer(x->l, mk("v2", wrong_type), &changed, err, sizeof err),
                     SVC_LIVE_REJECTED);
    assert_null(changed);
    assert_non_null(strstr(err, "'batch.size' = 'many'"));
    assert_string_equal(health_str(x->l, "version", NULL, b, sizeof b), "v1"); /* nothing changed */
    assert_string_equal(health_str(x->l, "rejected", "version", b, sizeof b), "v2");
    assert_non_null(strstr(health_str(x->l, "rejected", "reason", b, sizeof b), "not an integer"));
    assert_int_equal(svc_live_offer(x->l, mk("v3", out_of_range), NULL, err, sizeof err), SVC_LIVE_REJECTED);
    assert_non_null(strstr(err, "out of range"));
    assert_int_equal(metrics_get(x->m, "fake_config_rejected_total", NULL), 2);
    json_t *h = svc_live_health(x->l);
    assert_int_equal(json_integer_value(json_object_get(h, "rejectedCount")), 2);
    json_decref(h);
    assert_int_equal(atomic_load(&x->f.applied), 0);
    const svc_snap_t *cur = svc_live_acquire(x->l);
    assert_int_equal(((const fake_settings_t *)cur->settings)->pool, 4);
    svc_live_release(x->l, cur);
}

static void test_version_only_and_unused(void **state)
{
    fx_t *x = *state;
    static const char *const same[] = {"batch.size=10", "db.pool=4", "db.note=a", NULL};
    static const char *const note[] = {"batch.size=10", "db.pool=4", "db.note=b", "other.key=1", NULL};
    char err[256], b[256];
    json_t *changed = NULL;
    assert_int_equal(svc_live_offer(x->l, mk("v2", same), &changed, err, sizeof err), SVC_LIVE_UNCHANGED);
    assert_int_equal(json_array_size(changed), 0);
    json_decref(changed);
    assert_string_equal(health_str(x->l, "version", NULL, b, sizeof b), "v2");
    /* keys the service does not use: swapped in (the version), no restart */
    assert_int_equal(svc_live_offer(x->l, mk("v3", note), &changed, err, sizeof err), SVC_LIVE_APPLIED);
    assert_int_equal(json_array_size(changed), 2);
    json_decref(changed);
    assert_null(svc_live_pending(x->l));
}

static void test_restart_class(void **state)
{
    fx_t *x = *state;
    static const char *const pool[] = {"batch.size=20", "db.pool=8", "db.note=a", NULL};
    char err[256];
    int sig = -1;
    x->f.preflight_fails = 1;
    assert_int_equal(svc_live_offer(x->l, mk("v2", pool), NULL, err, sizeof err), SVC_LIVE_REJECTED);
    assert_non_null(strstr(err, "would not work: database"));
    assert_null(svc_live_pending(x->l));
    x->f.preflight_fails = 0;
    assert_int_equal(svc_live_offer(x->l, mk("v3", pool), NULL, err, sizeof err), SVC_LIVE_RESTARTING);
    assert_non_null(strstr(svc_live_pending(x->l), "version v3 changes batch.size, db.pool"));
    /* nothing swapped: the new image will fetch it */
    const svc_snap_t *cur = svc_live_acquire(x->l);
    assert_int_equal(((const fake_settings_t *)cur->settings)->batch, 10);
    svc_live_release(x->l, cur);
    assert_int_equal(svc_live_offer(x->l, mk("v4", pool), NULL, err, sizeof err), SVC_LIVE_BUSY);
    assert_int_equal(svc_live_wait(x->l, &sig), SVC_LIVE_RESTART);
    assert_int_equal(sig, 0);
}

/* config-generation only grows: a configuration from a replica that has not caught up (a
 * lower generation) is ignored, live or restart-class; equal or higher is applied; the
 * restart records the generation that asked for it (for the new image's wait). */
static void test_generation_never_goes_back(void **state)
{
    fx_t *x = *state;
    static const char *const g5[] = {"batch.size=20", "db.pool=4", "config-generation=5", NULL};
    static const char *const g4_live[] = {"batch.size=30", "db.pool=4", "config-generation=4", NULL};
    static const char *const g4_pool[] = {"batch.size=20", "db.pool=9", "config-generation=4", NULL};
    static const char *const g5_same[] = {"batch.size=40", "db.pool=4", "config-generation=5", NULL};
    static const char *const g6_pool[] = {"batch.size=40", "db.pool=9", "config-generation=6", NULL};
    static const char *const nogen[] = {"batch.size=50", "db.pool=4", NULL};
    char err[256];
    cfgcli_t *c = mk("x", g4_live);
    assert_int_equal(svc_config_generation(c), 4);
    cfgcli_free(c);
    c = mk("x", nogen);
    assert_int_equal(svc_config_generation(c), -1);
    cfgcli_free(c);

    assert_int_equal(svc_live_offer(x->l, mk("v5", g5), NULL, err, sizeof err), SVC_LIVE_APPLIED);
    assert_int_equal(svc_live_offer(x->l, mk("v4a", g4_live), NULL, err, sizeof err), SVC_LIVE_OLDER);
    assert_non_null(strstr(err, "config-generation 4, below the applied 5"));
    assert_int_equal(svc_live_offer(x->l, mk("v4b", g4_pool), NULL, err, sizeof err), SVC_LIVE_OLDER);
    assert_null(svc_live_pending(x->l)); /* no restart for an older configuration */
    const svc_snap_t *cur = svc_live_acquire(x->l);
    assert_int_equal(((const fake_settings_t *)cur->settings)->batch, 20);
    svc_live_release(x->l, cur);
    assert_int_equal(svc_live_offer(x->l, mk("v5b", g5_same), NULL, err, sizeof err), SVC_LIVE_APPLIED);
    assert_int_equal(svc_live_pending_generation(x->l), -1);
    assert_int_equal(svc_live_offer(x->l, mk("v6", g6_pool), NULL, err, sizeof err), SVC_LIVE_RESTARTING);
    assert_int_equal(svc_live_pending_generation(x->l), 6);
}

static void test_log_level_follows(void **state)
{
    fx_t *x = *state;
    static const char *const dbg[] = {"batch.size=10", "db.pool=4", "logging.level.root=debug", NULL};
    static const char *const bad[] = {"batch.size=10", "db.pool=4", "logging.level.root=loud", NULL};
    char err[256];
    assert_int_equal(atomic_load(&x->log.min), CLOG_INFO);
    assert_int_equal(svc_live_offer(x->l, mk("v2", dbg), NULL, err, sizeof err), SVC_LIVE_APPLIED);
    assert_int_equal(atomic_load(&x->log.min), CLOG_DEBUG);
    assert_int_equal(svc_live_offer(x->l, mk("v3", bad), NULL, err, sizeof err), SVC_LIVE_APPLIED);
    assert_int_equal(atomic_load(&x->log.min), CLOG_DEBUG); /* an unknown level is ignored */
    setenv("LOG_LEVEL", "warn", 1);                         /* the environment wins */
    static const char *const info[] = {"batch.size=10", "db.pool=4", "logging.level.root=info", NULL};
    assert_int_equal(svc_live_offer(x->l, mk("v4", info), NULL, err, sizeof err), SVC_LIVE_APPLIED);
    assert_int_equal(atomic_load(&x->log.min), CLOG_DEBUG);
    unsetenv("LOG_LEVEL");
}

typedef struct reader {
    svc_live_t *l;
    atomic_int *stop;
    long reads;
} reader_t;

static void *reader_main(void *arg)
{
    reader_t *r = arg;
    while (!atomic_load(r->stop)) {
        const svc_snap_t *s = svc_live_acquire(r->l);
        const fake_settings_t *fs = s->settings;
        assert_true(fs->batch >= 1 && fs->batch <= 1000 && fs->pool == 4);
        assert_non_null(cfgcli_get_str(s->cfg, "batch.size", NULL));
        svc_live_release(r->l, s);
        r->reads++;
    }
    return NULL;
}

static void test_concurrent_readers(void **state)
{
    fx_t *x = *state;
    atomic_int stop = 0;
    reader_t r[3];
    pthread_t th[3];
    char err[256];
    for (int i = 0; i < 3; i++) {
        r[i] = (reader_t){x->l, &stop, 0};
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &r[i]), 0);
    }
    for (int v = 0; v < 300; v++) {
        char b[32], ver[16];
        snprintf(b, sizeof b, "batch.size=%d", 1 + v % 1000);
        snprintf(ver, sizeof ver, "v%d", v + 2);
        const char *const kv[] = {b, "db.pool=4", "db.note=a", NULL};
        svc_live_result_t rc = svc_live_offer(x->l, mk(ver, kv), NULL, err, sizeof err);
        assert_true(rc == SVC_LIVE_APPLIED || rc == SVC_LIVE_UNCHANGED);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_true(r[i].reads > 0);
    }
}

static int listening_socket(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd > 2);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_inherited_listener(void **state)
{
    (void)state;
    char v[64];
    int port, fd = listening_socket(&port);
    assert_int_equal(svc_live_inherited_listener("127.0.0.1", port, NULL), 0); /* nothing handed over */
    snprintf(v, sizeof v, "%d", fd);
    setenv("CQ_RESTART_LISTEN_FD", v, 1);
    snprintf(v, sizeof v, "127.0.0.1:%d", port);
    setenv("CQ_RESTART_LISTEN", v, 1);
    assert_int_equal(svc_live_inherited_listener("127.0.0.1", port, NULL), fd);
    assert_int_equal(svc_live_inherited_listener("127.0.0.1", 0, NULL), fd);
    /* a port change: the socket cannot serve it, it is closed */
    assert_int_equal(svc_live_inherited_listener("127.0.0.1", port + 1, NULL), 0);
    assert_int_equal(fcntl(fd, F_GETFD), -1);
    assert_int_equal(svc_live_inherited_listener("127.0.0.1", port, NULL), 0); /* gone now */
    unsetenv("CQ_RESTART_LISTEN_FD");
    unsetenv("CQ_RESTART_LISTEN");
}

/* The re-executed image (main below): reports what it inherited on the kept socket. */
static int reexec_child(void)
{
    const char *lis = getenv("CQ_RESTART_LISTEN");
    int port = lis != NULL ? atoi(strrchr(lis, ':') + 1) : -1;
    int fd = svc_live_inherited_listener("127.0.0.1", port, NULL);
    if (fd <= 0)
        return 3;
    int c = accept(fd, NULL, NULL);
    if (c < 0)
        return 4;
    char out[512];
    int n = snprintf(out, sizeof out, "restarts=%s reason=%s fds=", getenv("CQ_RESTARTS"),
                     getenv("CQ_RESTART_REASON"));
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        int x = atoi(e->d_name);
        if (e->d_name[0] == '.' || x == dirfd(d))
            continue;
        n += snprintf(out + n, sizeof out - (size_t)n, "%s%d,", x == c ? "c" : x == fd ? "l" : "", x);
    }
    if (d != NULL)
        closedir(d);
    if (write(c, out, (size_t)n) != n)
        return 5;
    close(c);
    return 0;
}

static void test_reexec_keeps_only_the_socket(void **state)
{
    (void)state;
    int port, fd = listening_socket(&port);
    int leak[2];
    assert_int_equal(pipe(leak), 0); /* inheritable descriptors the exec must not pass on */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char *argv[] = {"test_svc_live", NULL};
        unsetenv("CQ_RESTARTS");
        _exit(svc_live_reexec(NULL, argv, fd, "127.0.0.1", port, NULL));
    }
    close(fd);
    close(leak[0]);
    close(leak[1]);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int c = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    char buf[512] = "";
    size_t got = 0;
    ssize_t n;
    while ((n = read(c, buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)n;
    close(c);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    printf("re-executed image: %s\n", buf);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_non_null(strstr(buf, "restarts=1 reason=requested"));
    char want[64];
    snprintf(want, sizeof want, "fds=0,1,2,");
    assert_non_null(strstr(buf, want));
    /* exactly: 0, 1, 2, the listening socket and the accepted connection */
    const char *f = strstr(buf, "fds=") + 4;
    int count = 0;
    for (const char *p = f; *p; p++)
        count += *p == ',';
    assert_int_equal(count, 5);
    assert_non_null(strstr(f, "l"));
    assert_non_null(strstr(f, "c"));
}

int main(void)
{
    if (getenv("CQ_RESTART_LISTEN_FD") != NULL)
        return reexec_child();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_class),
        cmocka_unit_test_setup_teardown(test_live_swap_keeps_held_snapshot, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_rejected, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_version_only_and_unused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restart_class, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_log_level_follows, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_generation_never_goes_back, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_readers, fx_setup, fx_teardown),
        cmocka_unit_test(test_inherited_listener),
        cmocka_unit_test(test_reexec_keeps_only_the_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
