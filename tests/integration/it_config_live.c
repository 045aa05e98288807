/* it_config_live.c — configuration edits reach running services (issue 17), on a PRIVATE trio
 * (config-server on a temp copy of config-repo/, customer-service and order-service with
 * their own ports, database, topic, DLQ and consumer group) under a steady open-loop load
 * of creates, updates and orders (os_lagbench, 250 commands/s):
 *   (a) live keys edited in the folder — logging.level.root (both services),
 *       order-service.customer-wait-ms, outbox.batch-size — and through git + POST /monitor
 *       (a second trio on a git repository) are applied by both services: /health shows the
 *       new version, the order wait and the relay's batch change, nothing restarts;
 *   (b) a restart-class key (datasource.pool-size, read by both) restarts both in place:
 *       same pid, /health counts the restart and shows the new version;
 *   (c) invalid edits change nothing and are reported: a wrong type (customer-service
 *       rejects it: /health "rejected" and the metric), a value out of range (order-service),
 *       a broken YAML file (config-server keeps serving the last good snapshot, its health
 *       names the file; the services keep their version);
 * and over the whole load: zero failed requests and the exact account (every acknowledged
 * command in the read model, write side = read model row for row, outbox rows = the
 * projection's stored offsets, every acknowledged order stored). Times from the edit to the
 * applied version are printed beside the goals (live ≤ 1 s, restart ≤ 5 s); the benchmark
 * bench/config-live/run.sh measures their p99 — a test asserts only that they happen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "it_ops_util.h"
#include "ts.h"

enum { CFG, CUS, ORD, N_PROG };
static const char *const PROG[N_PROG] = {"config-server", "customer-service", "order-service"};
#define TOKEN "it-config-live"

typedef struct trio {
    char dir[128];  /* temp dir: repo/ (folder) or repo.git + work/ (git) */
    char repo[192]; /* where edits are made */
    int git;
    pid_t pid[N_PROG], load;
    int port[N_PROG];
    char log[N_PROG][256], load_out[256], load_err[256];
    char db[64], topic[96], group[112], dlq[112];
} trio_t;

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0)
        fail_msg("command failed: %s", cmd);
}

/* GET http://127.0.0.1:port/path as JSON (owned), NULL when no JSON came. */
static json_t *get_json(int port, const char *path)
{
    char url[256];
    ts_resp_t r = {0};
    json_t *j = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    if (ts_http("GET", url, NULL, 0, NULL, &r) == 0 && r.body != NULL)
        j = json_loads(r.body, 0, NULL);
    ts_resp_free(&r);
    return j;
}

/* The version config-server serves for `app` now, into out. */
static void served_version(const trio_t *t, const char *app, char *out, size_t len)
{
    char path[128];
    snprintf(path, sizeof path, "/%s/test", app);
    json_t *j = get_json(t->port[CFG], path);
    snprintf(out, len, "%s", j ? json_string_value(json_object_get(j, "version")) : "");
    json_decref(j);
}

/* From service i's /health "config": the version, the restarts, the rejections. */
typedef struct applied {
    char version[128], rejected_reason[1024];
    long restarts, rejected;
} applied_t;

static int health_config(const trio_t *t, int i, applied_t *a)
{
    json_t *j = get_json(t->port[i], "/health");
    json_t *c = json_object_get(j, "config");
    memset(a, 0, sizeof *a);
    if (!json_is_object(c)) {
        json_decref(j);
        return -1;
    }
    snprintf(a->version, sizeof a->version, "%s", json_string_value(json_object_get(c, "version")));
    a->restarts = (long)json_integer_value(json_object_get(c, "restarts"));
    a->rejected = (long)json_integer_value(json_object_get(c, "rejectedCount"));
    json_t *rj = json_object_get(json_object_get(c, "rejected"), "reason");
    snprintf(a->rejected_reason, sizeof a->rejected_reason, "%s",
             json_is_string(rj) ? json_string_value(rj) : "");
    json_decref(j);
    return 0;
}

/* Waits until service i runs `version` (with `restarts` restarts when ≥ 0): the ms it took
 * from t0, or -1 after timeout_ms. */
static long long wait_applied(const trio_t *t, int i, const char *version, long restarts, long long t0,
                              long timeout_ms)
{
    applied_t a;
    while (ts_now_ms() - t0 < timeout_ms) {
        if (health_config(t, i, &a) == 0 && strcmp(a.version, version) == 0 &&
            (restarts < 0 || a.restarts == restarts))
            return ts_now_ms() - t0;
        ts_sleep_ms(10);
    }
    return -1;
}

/* Replaces the first `from` in repo file `file` by `to`; in a git trio commits, pushes and
 * POSTs /monitor. With `wait_new`, returns when the config-server serves a new version.
 * Returns the time of the edit. */
static long long edit(const trio_t *t, const char *file, const char *from, const char *to, int wait_new)
{
    char path[320], tmp[340], old[128], now[128];
    served_version(t, "customer-service", old, sizeof old);
    snprintf(path, sizeof path, "%s/%s", t->repo, file);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *at = strstr(buf, from);
    if (at == NULL)
        fail_msg("%s has no '%s'", file, from);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "w");
    assert_non_null(f);
    fprintf(f, "%.*s%s%s", (int)(at - buf), buf, to, at + strlen(from));
    assert_int_equal(fclose(f), 0);
    long long t0 = ts_now_ms();
    assert_int_equal(rename(tmp, path), 0); /* an editor's atomic save */
    if (t->git) {
        static const char *const form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
        char url[96], body[96];
        ts_resp_t r = {0};
        sh("cd %s && git -c user.name=it -c user.email=it@localhost commit -qam 'edit %s' && git push -q "
           "origin main",
           t->repo, file);
        t0 = ts_now_ms(); /* pushed: the webhook's moment */
        snprintf(url, sizeof url, "http://127.0.0.1:%d/monitor", t->port[CFG]);
        snprintf(body, sizeof body, "path=%s", file);
        assert_int_equal(ts_http("POST", url, body, strlen(body), form, &r), 0);
        assert_int_equal(r.status, 200);
        ts_resp_free(&r);
    }
    while (wait_new && ts_now_ms() - t0 < 10000) {
        served_version(t, "customer-service", now, sizeof now);
        if (now[0] != '\0' && strcmp(now, old) != 0)
            break;
        ts_sleep_ms(10);
    }
    return t0;
}

/* The number of open descriptors of process `pid`. */
static int fd_count(pid_t pid)
{
    char path[64];
    int n = 0;
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    if (d != NULL)
        closedir(d);
    return n;
}

/* Service i's log holds `needle` (within timeout_ms). */
static int log_has(const trio_t *t, int i, const char *needle, long timeout_ms)
{
    long long end = ts_now_ms() + timeout_ms;
    static char buf[1 << 22];
    do {
        FILE *f = fopen(t->log[i], "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[n] = '\0';
        if (strstr(buf, needle) != NULL)
            return 1;
        ts_sleep_ms(50);
    } while (ts_now_ms() < end);
    return 0;
}

static void copy_repo(const char *to)
{
    sh("mkdir -p %s && cp %s/config-repo/*.yml %s/", to, ts_env("CQ_SOURCE_DIR", "."), to);
}

static void start_service(trio_t *t, int i)
{
    char buf[OPS_BASE_ENV][256], e[8][256];
    const char *env[OPS_BASE_ENV + 10];
    size_t n = ops_base_env(buf, env, t->port[i], t->db);
    snprintf(e[0], 256, "CONFIG_SERVER_URL=http://127.0.0.1:%d", t->port[CFG]);
    env[0] = e[0]; /* replaces the base one */
    snprintf(e[1], 256, "%s_ADMIN_TOKEN=" TOKEN, i == CUS ? "CUSTOMER" : "ORDER");
    env[n++] = e[1];
    if (i == CUS) {
        snprintf(e[2], 256, "CUSTOMER_SERVICE_CUSTOMER_TOPIC_NAME=%s", t->topic);
        env[n++] = e[2];
    } else {
        snprintf(e[2], 256, "ORDER_SERVICE_CUSTOMER_TOPIC_NAME=%s", t->topic);
        snprintf(e[3], 256, "ORDER_SERVICE_DLQ_TOPIC_NAME=%s", t->dlq);
        snprintf(e[4], 256, "KAFKA_CONSUMER_CONFIG_CUSTOMER_GROUP_ID=%s", t->group);
        for (int k = 2; k <= 4; k++)
            env[n++] = e[k];
    }
    env[n] = NULL;
    t->pid[i] = ts_spawn(PROG[i], NULL, env, NULL, t->log[i]);
    assert_true(t->pid[i] > 0);
    if (ts_wait_status(t->port[i], "/health/readiness", 200, 90000, 0) != 200)
        fail_msg("%s not ready; log %s", PROG[i], t->log[i]);
}

static void trio_up(trio_t *t, int git)
{
    char portarg[16], uri[256], base[192];
    int pid = (int)getpid();
    long long now = (long long)time(NULL);
    t->git = git;
    char d[128] = "/tmp/it_config_live.XXXXXX";
    assert_non_null(mkdtemp(d));
    snprintf(t->dir, sizeof t->dir, "%s", d);
    snprintf(t->db, sizeof t->db, "it_cfglive_%d_%d", pid, git);
    snprintf(t->topic, sizeof t->topic, "it-cfglive-%d-%d-%lld", pid, git, now);
    snprintf(t->dlq, sizeof t->dlq, "%s.DLQ", t->topic);
    snprintf(t->group, sizeof t->group, "%s-group", t->topic);
    for (int i = 0; i < N_PROG; i++) {
        t->port[i] = ts_free_port();
        assert_true(t->port[i] > 0);
        snprintf(t->log[i], sizeof t->log[i], "%s/%s.log", d, PROG[i]);
    }
    snprintf(t->load_out, sizeof t->load_out, "%s/load.json", d);
    snprintf(t->load_err, sizeof t->load_err, "%s/load.err", d);
    assert_int_equal(ops_create_db(t->db), 0);
    snprintf(portarg, sizeof portarg, "%d", t->port[CFG]);
    const char *env[] = {"LSAN_OPTIONS=print_suppressions=0", NULL};
    if (!git) {
        snprintf(t->repo, sizeof t->repo, "%s/repo", d);
        copy_repo(t->repo);
        const char *args[] = {"--repo", t->repo, "--port", portarg, "--host", "127.0.0.1", NULL};
        t->pid[CFG] = ts_spawn(PROG[CFG], args, env, NULL, t->log[CFG]);
    } else {
        snprintf(t->repo, sizeof t->repo, "%s/work", d);
        snprintf(base, sizeof base, "%s/gitbase", d);
        copy_repo(t->repo);
        sh("cd %s && git -c init.defaultBranch=main init -q && git add -A && git -c user.name=it -c "
           "user.email=it@localhost commit -qm seed && git clone -q --bare . ../repo.git && git remote add "
           "origin "
           "../repo.git",
           t->repo);
        snprintf(uri, sizeof uri, "file://%s/repo.git", d);
        const char *args[] = {"--repo-uri", uri,      "--git-basedir", base,     "--git-refresh-s",
                              "60",         "--port", portarg,         "--host", "127.0.0.1",
                              NULL};
        t->pid[CFG] = ts_spawn(PROG[CFG], args, env, NULL, t->log[CFG]);
    }
    assert_true(t->pid[CFG] > 0);
    assert_int_equal(ts_wait_status(t->port[CFG], "/actuator/health", 200, 30000, 0), 200);
    start_service(t, CUS);
    start_service(t, ORD);
}

static void load_start(trio_t *t, int seconds)
{
    char cus[64], ord[64], pg[256], secs[16];
    snprintf(cus, sizeof cus, "http://127.0.0.1:%d", t->port[CUS]);
    snprintf(ord, sizeof ord, "http://127.0.0.1:%d", t->port[ORD]);
    ops_conninfo(pg, sizeof pg, t->db);
    snprintf(secs, sizeof secs, "%d", seconds);
    /* (ts_spawn passes at most 14 arguments) */
    const char *args[] = {"--customer-url", cus,   "--order-url", ord,  "--orders", "0.3", "--updates", "0.2",
                          "--rate",         "250", "--seconds",   secs, "--pg",     pg,    NULL};
    const char *env[] = {"ASAN_OPTIONS=detect_leaks=0", NULL};
    t->load = ts_spawn("os_lagbench", args, env, t->load_out, t->load_err);
    assert_true(t->load > 0);
}

/* Waits for the load to end; its JSON (owned). */
static json_t *load_wait(trio_t *t)
{
    assert_int_equal(ts_wait_exit(t->load, 240000), 0);
    t->load = 0;
    json_t *j = json_load_file(t->load_out, 0, NULL);
    assert_non_null(j);
    return j;
}

static long jnum(const json_t *j, const char *k)
{
    return (long)json_integer_value(json_object_get(j, k));
}

/* The exact account after the load (waits up to 60 s for the relay and the projection). */
static void account(const trio_t *t, const json_t *load)
{
    static const char q[] =
        "SELECT CASE WHEN (SELECT count(*) FROM customer.outbox_pending) = 0"
        " AND (SELECT count(*) FROM customer.customers) = (SELECT count(*) FROM \"order\".customers)"
        " AND (SELECT count(*) FROM customer.customers c JOIN \"order\".customers o USING (id)"
        "      WHERE (c.version, c.username, c.first_name, c.last_name) ="
        "            (o.version, o.username, o.first_name, o.last_name)) = (SELECT count(*) FROM "
        "customer.customers)"
        " AND (SELECT count(*) FROM customer.outbox) ="
        "     (SELECT coalesce(sum(next_offset), 0) FROM \"order\".projection_offsets) THEN 1 ELSE 0 END";
    long long ok = 0, end = ts_now_ms() + 60000;
    while ((ok = ops_pg_scalar(t->db, q)) != 1 && ts_now_ms() < end)
        ts_sleep_ms(200);
    long long written = ops_pg_scalar(t->db, "SELECT count(*) FROM customer.customers");
    long long events = ops_pg_scalar(t->db, "SELECT count(*) FROM customer.outbox");
    long long orders = ops_pg_scalar(t->db, "SELECT count(*) FROM \"order\".orders");
    printf("account: write side %lld customers = read model, %lld events written = applied (offsets), %lld "
           "orders stored of %ld acknowledged: %s\n",
           written, events, orders, jnum(load, "ordered"), ok == 1 ? "exact" : "MISMATCH");
    assert_int_equal(ok, 1);
    assert_int_equal(orders, jnum(load, "ordered"));
}

static void load_check(const json_t *load)
{
    char *s = json_dumps(load, JSON_COMPACT);
    printf("load: %s\n", s);
    free(s);
    assert_int_equal(jnum(load, "failed"), 0);
    assert_int_equal(jnum(load, "lost"), 0);
    assert_int_equal(jnum(load, "writeLost"), 0);
    assert_true(jnum(load, "sent") >= 200 * 10);
}

static void trio_down(trio_t *t)
{
    const char *topics[2] = {t->topic, t->dlq};
    if (t->load > 0)
        ts_term(t->load, 10000);
    for (int i = N_PROG - 1; i >= 0; i--)
        if (ts_alive(t->pid[i]) && ts_term(t->pid[i], 30000) != 0)
            fprintf(stderr, "%s did not stop cleanly (log %s)\n", PROG[i], t->log[i]);
    /* a sanitizer report in any program's log fails the test */
    for (int i = 0; i < N_PROG; i++)
        if (log_has(t, i, "Sanitizer", 0) || log_has(t, i, "runtime error:", 0))
            fail_msg("a sanitizer reported in %s", t->log[i]);
    ops_drop_db(t->db);
    ops_delete_topics(topics, 2);
    if (getenv("OPS_KEEP") == NULL)
        sh("rm -rf %s", t->dir);
}

/* A live edit of `file` that changes the environment of the services in [first, last] (an
 * edit of another application's file does not wake a service: the watch ETag is per
 * resolved environment). */
static void live_edit(trio_t *t, const char *what, const char *file, const char *from, const char *to,
                      int first, int last)
{
    char v[128];
    long long t0 = edit(t, file, from, to, 1);
    served_version(t, "customer-service", v, sizeof v);
    for (int i = first; i <= last; i++) {
        long long ms = wait_applied(t, i, v, 0, t0, 20000);
        printf("live key (%s, %s): %s runs version %.12s %lld ms after the edit (goal ≤ 1000 ms)\n", what,
               t->git ? "git + POST /monitor" : "folder", PROG[i], v, ms);
        assert_true(ms >= 0);
    }
}

static void expect_rejected(trio_t *t, int i, const char *key, long before)
{
    applied_t a;
    long long end = ts_now_ms() + 20000;
    while (health_config(t, i, &a) == 0 && a.rejected == before && ts_now_ms() < end)
        ts_sleep_ms(20);
    printf("invalid edit of %s: %s rejected it: %s\n", key, PROG[i], a.rejected_reason);
    assert_int_equal(a.rejected, before + 1);
    assert_non_null(strstr(a.rejected_reason, key));
    assert_int_equal(a.restarts, 1); /* still the image of the restart above: nothing restarted */
    char url[96];
    ts_resp_t r = {0};
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", t->port[i]);
    assert_int_equal(ts_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_non_null(
        strstr(r.body, i == CUS ? "customer_config_rejected_total " : "order_config_rejected_total "));
    ts_resp_free(&r);
}

static void t_folder(void **state)
{
    trio_t *t = *state;
    char v[128];
    applied_t a[N_PROG];
    trio_up(t, 0);
    load_start(t, 60);
    ts_sleep_ms(4000);

    /* (a) live keys */
    live_edit(t, "outbox.batch-size", "customer-service.yml", "  batch-size: 500", "  batch-size: 200", CUS,
              CUS);
    assert_true(log_has(t, CUS, "outbox relay: now batch 200", 5000)); /* the relay took it */
    live_edit(t, "order-service.customer-wait-ms", "order-service.yml", "customer-wait-ms: 2000",
              "customer-wait-ms: 1500", ORD, ORD);
    /* last: at warn, the info lines above would not be logged */
    live_edit(t, "logging.level.root", "application.yml", "root: info", "root: warn", CUS, ORD);
    for (int i = CUS; i <= ORD; i++) {
        assert_int_equal(health_config(t, i, &a[i]), 0);
        assert_int_equal(a[i].restarts, 0);
    }

    /* (b) a restart-class key, read by both */
    int fds[N_PROG];
    for (int i = CUS; i <= ORD; i++)
        fds[i] = fd_count(t->pid[i]);
    long long t0 = edit(t, "application.yml", "pool-size: 4", "pool-size: 6", 1);
    served_version(t, "customer-service", v, sizeof v);
    for (int i = CUS; i <= ORD; i++) {
        long long ms = wait_applied(t, i, v, 1, t0, 60000);
        printf(
            "restart-class key (datasource.pool-size, folder): %s restarted in place and runs version %.12s "
            "%lld ms after the edit (goal ≤ 5000 ms)\n",
            PROG[i], v, ms);
        assert_true(ms >= 0);
        assert_true(ts_alive(t->pid[i])); /* the same process: no restart of the pod */
    }
    ts_sleep_ms(2000); /* the new images settle (pool, consumer) */
    for (int i = CUS; i <= ORD; i++) {
        /* nothing of the old image is inherited but the listening socket (close-on-exec) */
        int now = fd_count(t->pid[i]);
        printf("%s: %d descriptors before the restart in place, %d after\n", PROG[i], fds[i], now);
        assert_true(now < fds[i] + 8);
    }

    /* (c) invalid edits change nothing and are reported */
    for (int i = CUS; i <= ORD; i++)
        assert_int_equal(health_config(t, i, &a[i]), 0);
    edit(t, "customer-service.yml", "  batch-size: 200", "  batch-size: many", 1);
    expect_rejected(t, CUS, "outbox.batch-size", a[CUS].rejected);
    t0 = edit(t, "customer-service.yml", "  batch-size: many", "  batch-size: 200", 1);
    served_version(t, "customer-service", v, sizeof v);
    assert_true(wait_applied(t, CUS, v, 1, t0, 20000) >= 0); /* valid again: applied */
    edit(t, "order-service.yml", "  batch-size: 500", "  batch-size: 0", 1);
    expect_rejected(t, ORD, "projection.batch-size", a[ORD].rejected);
    t0 = edit(t, "order-service.yml", "  batch-size: 0", "  batch-size: 500", 1);
    served_version(t, "order-service", v, sizeof v);
    assert_true(wait_applied(t, ORD, v, 1, t0, 20000) >= 0);
    for (int i = CUS; i <= ORD; i++)
        assert_int_equal(health_config(t, i, &a[i]), 0);
    /* a broken YAML file: config-server keeps the last good snapshot and names the file */
    char path[320];
    snprintf(path, sizeof path, "%s/application.yml", t->repo);
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs("\nbroken: [unclosed\n", f);
    assert_int_equal(fclose(f), 0);
    json_t *h = NULL;
    for (int k = 0; k < 100; k++) {
        json_decref(h);
        h = get_json(t->port[CFG], "/actuator/health");
        char *s = json_dumps(h, JSON_COMPACT);
        int broken = s != NULL && strstr(s, "application.yml") != NULL && strstr(s, "DEGRADED") != NULL;
        if (broken)
            printf("broken YAML: config-server health %s\n", s);
        free(s);
        if (broken)
            break;
        ts_sleep_ms(50);
    }
    char *hs = json_dumps(h, JSON_COMPACT);
    assert_non_null(strstr(hs, "DEGRADED"));
    free(hs);
    json_decref(h);
    ts_sleep_ms(1500);
    for (int i = CUS; i <= ORD; i++) {
        applied_t now;
        assert_int_equal(health_config(t, i, &now), 0);
        assert_string_equal(now.version, a[i].version); /* nothing changed */
        assert_int_equal(now.restarts, 1);
    }
    edit(t, "application.yml", "\nbroken: [unclosed\n", "\n", 0);

    json_t *load = load_wait(t);
    load_check(load);
    account(t, load);
    json_decref(load);
}

static void t_git(void **state)
{
    trio_t *t = *state;
    trio_up(t, 1);
    load_start(t, 20);
    ts_sleep_ms(3000);
    live_edit(t, "logging.level.root", "application.yml", "root: info", "root: warn", CUS, ORD);
    live_edit(t, "order-service.customer-wait-ms", "order-service.yml", "customer-wait-ms: 2000",
              "customer-wait-ms: 1500", ORD, ORD);
    json_t *load = load_wait(t);
    load_check(load);
    account(t, load);
    json_decref(load);
}

static int setup(void **state)
{
    *state = calloc(1, sizeof(trio_t));
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    trio_down(*state);
    free(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(t_git, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
