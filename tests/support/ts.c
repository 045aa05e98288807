/* ts.c — test support: env, HTTP via libcurl, problem+json checks, spawning, clocks. See
 * ts.h. */
#include "ts.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "dbuf.h"

const char *ts_env(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return (v != NULL && *v != '\0') ? v : dflt;
}

static size_t ts_on_data(char *p, size_t sz, size_t n, void *ud)
{
    return dbuf_add(ud, p, sz * n) == 0 ? sz * n : 0;
}

int ts_http(const char *method, const char *url, const char *body, size_t body_len, const char *const *hdrs,
            ts_resp_t *out)
{
    int rc = -1;
    CURL *c = curl_easy_init();
    struct curl_slist *list = NULL;
    dbuf_t b, h;
    dbuf_init(&b, 256u << 20);
    dbuf_init(&h, 1u << 20);
    memset(out, 0, sizeof *out);
    if (c == NULL)
        goto cleanup;
    for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL; i++)
        list = curl_slist_append(list, hdrs[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ts_on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, ts_on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(c) != CURLE_OK)
        goto cleanup;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    out->body = dbuf_take(&b, &out->body_len);
    out->headers = dbuf_take(&h, NULL);
    rc = 0;
cleanup:
    curl_slist_free_all(list);
    if (c != NULL)
        curl_easy_cleanup(c);
    dbuf_free(&b);
    dbuf_free(&h);
    return rc;
}

void ts_resp_free(ts_resp_t *r)
{
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

char *ts_resp_header(const ts_resp_t *r, const char *name)
{
    size_t nl = strlen(name);
    const char *p = r->headers;
    while (p != NULL && *p != '\0') {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            return strndup(v, (size_t)(p + len - v));
        }
        p = eol ? eol + 2 : NULL;
    }
    return NULL;
}

int ts_free_port(void)
{
    static unsigned next; /* per test process: successive calls walk on */
    const unsigned span = TS_PORT_HI - TS_PORT_LO + 1;
    const unsigned start = (unsigned)getpid() * 7919u + (unsigned)time(NULL);
    for (unsigned i = 0; i < span; i++) {
        int port = TS_PORT_LO + (int)((start + (next++) * 131u) % span);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
        if (fd >= 0)
            close(fd);
        if (ok)
            return port;
    }
    return -1;
}

long long ts_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void ts_sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

#define TS_MAX_ENV 512

/* 1 when environ entry `e` sets a variable that one of `env` overrides. */
static int ts_overridden(const char *e, const char *const *env)
{
    const char *eq = strchr(e, '=');
    size_t n = eq ? (size_t)(eq - e) : strlen(e);
    for (size_t i = 0; env && env[i]; i++)
        if (strncmp(env[i], e, n) == 0 && env[i][n] == '=')
            return 1;
    return 0;
}

/* The descriptor a child's stdout/stderr gets: `path` opened, the test's own `fd` for "-",
 * /dev/null for NULL. */
static int ts_spawn_open(const char *path, int fd, int flags)
{
    if (path != NULL && strcmp(path, "-") == 0)
        return fcntl(fd, F_DUPFD_CLOEXEC, 3);
    return open(path != NULL ? path : "/dev/null", flags, 0644);
}

pid_t ts_spawn_bin(const char *bin, const char *const *args, const char *const *env, const char *drop,
                   const char *out_path, const char *err_path, int append)
{
    char *argv[64];
    char *envp[TS_MAX_ENV];
    size_t n = 0, na = 0, dl = drop != NULL ? strlen(drop) : 0;
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);

    argv[na++] = (char *)bin;
    for (size_t i = 0; args && args[i] && na < 63; i++)
        argv[na++] = (char *)args[i];
    argv[na] = NULL;
    for (char **e = environ; *e && n < TS_MAX_ENV - 64; e++)
        if (!ts_overridden(*e, env) && (dl == 0 || strncmp(*e, drop, dl) != 0))
            envp[n++] = *e;
    for (size_t i = 0; env && env[i] && n < TS_MAX_ENV - 1; i++)
        if (!ts_overridden(env[i], env + i + 1)) /* the last of a name wins */
            envp[n++] = (char *)env[i];
    envp[n] = NULL;
    /* opened before the fork: the child only dup2s (async-signal-safe) */
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out = ts_spawn_open(out_path, 1, flags);
    int err =
        err_path != NULL && out_path != NULL && strcmp(err_path, out_path) == 0 && strcmp(err_path, "-") != 0
            ? dup(out)
            : ts_spawn_open(err_path, 2, flags);
    pid_t parent = getpid(), pid = -1;
    if (in >= 0 && out >= 0 && err >= 0)
        pid = fork();
    if (pid == 0) {
        /* dies with the test (a failed cmocka test never reaches its stop), holds none of the
         * test's descriptors (a lock, a listening socket, the pipe ctest reads) */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent || dup2(in, 0) < 0 ||
            dup2(out, 1) < 0 || dup2(err, 2) < 0)
            _exit(127);
        closefrom(3);
        execve(bin, argv, envp);
        _exit(127);
    }
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    if (err >= 0)
        close(err);
    return pid;
}

pid_t ts_spawn(const char *prog, const char *const *args, const char *const *env, const char *out_path,
               const char *err_path)
{
    char bin[512];
    snprintf(bin, sizeof bin, "%s/%s", ts_env("CQ_BIN_DIR", "./bin"), prog);
    return ts_spawn_bin(bin, args, env, NULL, out_path, err_path, 0);
}

int ts_wait_exit(pid_t pid, long timeout_ms)
{
    long long end = ts_now_ms() + timeout_ms;
    int st = 0;
    if (pid <= 0)
        return -1;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0 && errno != EINTR) {
            fprintf(stderr, "ts_wait_exit: waitpid(%d): %s\n", (int)pid, strerror(errno));
            return -1;
        }
        if (ts_now_ms() > end) {
            fprintf(stderr, "ts_wait_exit: %d still running after %ld ms: killed\n", (int)pid, timeout_ms);
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        ts_sleep_ms(20);
    }
}

int ts_term(pid_t pid, long timeout_ms)
{
    if (pid <= 0)
        return -1;
    kill(pid, SIGTERM);
    return ts_wait_exit(pid, timeout_ms);
}

int ts_alive(pid_t pid)
{
    return pid > 0 && waitpid(pid, NULL, WNOHANG) == 0;
}

long ts_get(int port, const char *path, char **body, char **ctype)
{
    char url[512];
    ts_resp_t r = {0};
    long st;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    if (ts_http("GET", url, NULL, 0, NULL, &r) != 0) {
        ts_resp_free(&r);
        return 0;
    }
    st = r.status;
    if (ctype != NULL)
        *ctype = ts_resp_header(&r, "content-type");
    if (body != NULL) {
        *body = r.body;
        r.body = NULL;
    }
    ts_resp_free(&r);
    return st;
}

long ts_wait_status(int port, const char *path, long want, long timeout_ms, pid_t pid)
{
    long long end = ts_now_ms() + timeout_ms;
    long st = ts_get(port, path, NULL, NULL);
    while (st != want && ts_now_ms() < end) {
        if (pid > 0 && !ts_alive(pid))
            return st; /* it died: no point waiting */
        ts_sleep_ms(50);
        st = ts_get(port, path, NULL, NULL);
    }
    return st;
}

long ts_http_status(const char *url)
{
    ts_resp_t r = {0};
    long st = ts_http("GET", url, NULL, 0, NULL, &r) == 0 ? r.status : 0;
    ts_resp_free(&r);
    return st;
}

double ts_metric_sum(int port, const char *metric, const char *label)
{
    char url[128];
    ts_resp_t r = {0};
    double sum = 0;
    size_t ml = strlen(metric);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
    if (ts_http("GET", url, NULL, 0, NULL, &r) == 0 && r.status == 200 && r.body) {
        for (char *line = r.body; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
            if (strncmp(line, metric, ml) != 0 || (line[ml] != '{' && line[ml] != ' '))
                continue;
            char *eol = strchr(line, '\n');
            char *sp = eol ? eol : line + strlen(line);
            while (sp > line && sp[-1] != ' ')
                sp--;
            if (label) {
                char *lab = strstr(line, label);
                if (lab == NULL || (eol && lab > eol))
                    continue;
            }
            sum += strtod(sp, NULL);
        }
    }
    ts_resp_free(&r);
    return sum;
}

int ts_problem_check(const ts_resp_t *r, long want, const char *needle, const char *what)
{
    char *ct = ts_resp_header(r, "content-type");
    json_t *j = r->body ? json_loads(r->body, 0, NULL) : NULL;
    const char *detail = json_string_value(json_object_get(j, "detail"));
    const char *field = json_string_value(json_object_get(j, "field"));
    int ok = r->status == want && ct != NULL && strstr(ct, "problem+json") != NULL && detail != NULL &&
             json_integer_value(json_object_get(j, "status")) == want &&
             (strstr(detail, needle) != NULL || (field != NULL && strstr(field, needle) != NULL));
    if (!ok)
        fprintf(stderr, "%s: status %ld (want %ld), content-type %s, body %.300s (want '%s' in the detail)\n",
                what, r->status, want, ct ? ct : "-", r->body ? r->body : "", needle);
    free(ct);
    json_decref(j);
    return ok ? 0 : -1;
}

size_t ts_mutate(char *buf, size_t len, size_t cap, const char *alphabet, unsigned *seed)
{
    size_t na = strlen(alphabet);
    for (int m = 1 + (int)(rand_r(seed) % 3); m > 0 && len > 0; m--) {
        size_t at = (size_t)rand_r(seed) % len;
        switch (rand_r(seed) % 3) {
        case 0:
            buf[at] = alphabet[(size_t)rand_r(seed) % na];
            break;
        case 1:
            if (len + 1 < cap) {
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = alphabet[(size_t)rand_r(seed) % na];
                len++;
            }
            break;
        default:
            len = at;
        }
    }
    return len;
}

int ts_pg_fresh_db(const char *dbname)
{
    char sql[256];
    int rc = -1;
    PGresult *r = NULL;
    PGconn *c = PQconnectdb(ts_env("CQ_PG_CONNINFO", "host=127.0.0.1 port=25433 user=postgres dbname=cqrs"));
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "ts_pg_fresh_db: %s", PQerrorMessage(c));
        goto cleanup;
    }
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", dbname);
    PQclear(PQexec(c, sql));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", dbname);
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "ts_pg_fresh_db: %s: %s", sql, PQerrorMessage(c));
        goto cleanup;
    }
    rc = 0;
cleanup:
    PQclear(r);
    PQfinish(c);
    return rc;
}

int ts_post_filled(const char *url, size_t n, char fill, ts_resp_t *out)
{
    const char *hdrs[2] = {"Content-Type: application/json", NULL};
    char *body = malloc(n ? n : 1);
    int rc;
    if (body == NULL)
        return -1;
    memset(body, fill, n);
    rc = ts_http("POST", url, body, n, hdrs, out);
    free(body);
    return rc;
}
