/* cs_it.c — the config-server integration tests' shared helpers (see cs_it.h). */
#include "cs_it.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ts.h"

static size_t csit_on_data(char *p, size_t sz, size_t n, void *ud)
{
    return dbuf_add(ud, p, sz * n) == 0 ? sz * n : 0;
}

/* GET with the path sent exactly as given (no dot-segment squashing). */
/* The URL of `path` on `s`, and its TLS options on `c`. */
static void csit_url(const csit_srv_t *s, CURL *c, const char *path, char *url, size_t size)
{
    snprintf(url, size, "%s:%d%s", s->tls ? "https://localhost" : "http://127.0.0.1", s->port, path);
    if (!s->tls)
        return;
    curl_easy_setopt(c, CURLOPT_CAINFO, s->ca);
    if (s->cert[0] != '\0') {
        curl_easy_setopt(c, CURLOPT_SSLCERT, s->cert);
        curl_easy_setopt(c, CURLOPT_SSLKEY, s->key);
    }
}

void csit_get(const csit_srv_t *s, const char *path, const char *const *hdrs, csit_resp_t *r)
{
    char url[2048];
    dbuf_init(&r->body, 8u << 20);
    dbuf_init(&r->hdrs, 1u << 16);
    r->status = 0;
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL; i++)
        hl = curl_slist_append(hl, hdrs[i]);
    csit_url(s, c, path, url, sizeof(url));
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, csit_on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, csit_on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
}

void csit_resp_free(csit_resp_t *r)
{
    dbuf_free(&r->body);
    dbuf_free(&r->hdrs);
}

long csit_status(const csit_srv_t *s, const char *path, const char *needle)
{
    csit_resp_t r;
    csit_get(s, path, NULL, &r);
    long st = r.status;
    if (needle != NULL && strstr(dbuf_ptr(&r.body), needle) == NULL)
        fail_msg("GET %s (%ld): body lacks '%s':\n%s", path, st, needle, dbuf_ptr(&r.body));
    csit_resp_free(&r);
    return st;
}

void csit_write(const csit_srv_t *s, const char *name, const char *text, size_t len)
{
    char tmp[512], path[512];
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", s->repo, name);
    snprintf(path, sizeof(path), "%s/%s", s->repo, name);
    FILE *f = fopen(tmp, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0); /* atomic, as editors and ConfigMaps do */
}

/* Starts the server; `extra_env` entries like "CONFIG_SERVER_USER=u" (NULL-terminated). */
void csit_start(csit_srv_t *s, const char *const *extra_env, const char *const *extra_args)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/it-cfgsrv-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->repo, sizeof(s->repo), "%s/repo", s->dir);
    snprintf(s->log, sizeof(s->log), "%s/server.log", s->dir);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s'", CS_FIXTURE_REPO, s->repo);
    assert_int_equal(system(cmd), 0);
    s->port = ts_free_port();
    char bin[512], port[16];
    snprintf(bin, sizeof(bin), "%s/config-server", ts_env("CQ_BIN_DIR", CS_DEFAULT_BIN_DIR));
    snprintf(port, sizeof(port), "%d", s->port);
    const char *argv[32] = {bin,         "--repo",      s->repo, "--port",           port,   "--host",
                            "127.0.0.1", "--rescan-ms", "60000", "--max-file-bytes", "65536"};
    size_t ac = 11;
    for (size_t i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
        if (strcmp(extra_args[i], "--repo-uri") == 0) { /* the git backend: no folder */
            memmove(&argv[1], &argv[3], 8 * sizeof(argv[0]));
            ac = 9;
            break;
        }
    for (size_t i = 0; extra_args != NULL && extra_args[i] != NULL && ac < 30; i++) {
        argv[ac++] = extra_args[i];
        if (strcmp(extra_args[i], "--port") == 0 && extra_args[i + 1] != NULL) /* the last --port wins */
            s->port = atoi(extra_args[i + 1]);
    }
    argv[ac] = NULL;
    for (size_t i = 0; extra_env != NULL && extra_env[i] != NULL; i++) {
        if (strncmp(extra_env[i], "CONFIG_SERVER_SSL_CERTIFICATE=", 30) == 0)
            s->tls = 1;
        if (strncmp(extra_env[i], "CONFIG_SERVER_SSL_TRUST_CERTIFICATE=", 36) == 0)
            snprintf(s->ca, sizeof(s->ca), "%s", extra_env[i] + 36);
    }
    /* The periodic rescan is set to a minute so that reloads within a second prove inotify;
     * the log (both streams, never the test's stdout, which ctest waits on) goes to a file the
     * tests read; the test's own CONFIG_SERVER_* variables are not passed on. */
    s->pid = ts_spawn_bin(bin, argv + 1, extra_env, "CONFIG_SERVER_", s->log, s->log, 0);
    assert_true(s->pid > 0);
    long long t0 = ts_now_ms();
    while (ts_now_ms() - t0 < 10000) {
        csit_resp_t r;
        csit_get(s, "/health", NULL, &r);
        long st = r.status;
        csit_resp_free(&r);
        if (st == 200)
            return;
        ts_sleep_ms(20);
    }
    fail_msg("config-server did not answer /health within 10 s");
}

/* SIGTERM, expect exit 0 within 6 s; removes the temp dir. */
void csit_stop(csit_srv_t *s)
{
    if (s->pid > 0) {
        int rc = ts_term(s->pid, 6000);
        s->pid = 0;
        if (rc < 0)
            fail_msg("config-server did not exit within 6 s of SIGTERM");
        assert_int_equal(rc, 0);
    }
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
    assert_int_equal(system(cmd), 0);
}

/* 1 when the server's log file has a line containing both `a` and `b`. */
int csit_log_has(const csit_srv_t *s, const char *a, const char *b)
{
    FILE *f = fopen(s->log, "r");
    char line[8192];
    int hit = 0;
    while (f != NULL && !hit && fgets(line, sizeof line, f) != NULL)
        hit = strstr(line, a) != NULL && strstr(line, b) != NULL;
    if (f != NULL)
        fclose(f);
    return hit;
}

/* Polls `path` until its body contains `needle`; returns the elapsed ms or -1. */
long long csit_wait_for(const csit_srv_t *s, const char *path, const char *needle, long long limit_ms)
{
    long long t0 = ts_now_ms();
    while (ts_now_ms() - t0 <= limit_ms) {
        csit_resp_t r;
        csit_get(s, path, NULL, &r);
        int hit = strstr(dbuf_ptr(&r.body), needle) != NULL;
        csit_resp_free(&r);
        if (hit)
            return ts_now_ms() - t0;
        ts_sleep_ms(20);
    }
    return -1;
}

void csit_post(const csit_srv_t *s, const char *path, const char *ctype, const char *auth, const char *body,
               csit_resp_t *r)
{
    char url[1024], ct[256];
    snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
    dbuf_init(&r->body, 1u << 20);
    dbuf_init(&r->hdrs, 1u << 16);
    r->status = 0;
    CURL *c = curl_easy_init();
    csit_url(s, c, path, url, sizeof(url));
    struct curl_slist *hl = curl_slist_append(NULL, ct);
    for (const char *p = auth; p != NULL && *p != '\0';) { /* one header per line */
        char line[1024];
        size_t n = strcspn(p, "\n");
        snprintf(line, sizeof(line), "%.*s", (int)n, p);
        hl = curl_slist_append(hl, line);
        p += n + (p[n] == '\n');
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, csit_on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
}

void csit_hash_password(const char *pw, char *out, size_t size)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "printf '%%s' '%s' | '%s/config-server' hash-password --iterations 10000", pw,
             ts_env("CQ_BIN_DIR", CS_DEFAULT_BIN_DIR));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    if (fgets(out, (int)size, p) == NULL)
        out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    assert_int_equal(pclose(p), 0);
    assert_true(strncmp(out, "$pbkdf2-sha256$10000$", 21) == 0);
}
