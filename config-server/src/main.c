/* main.c — config-server: serves a config repository over HTTP with the Spring Cloud
 * Config API (see http/routes.h), reloading it live (watch/watcher.h).
 *
 * Wiring only: parse the command line / environment, load the repo, start the HTTP
 * server and the watcher, wait for SIGTERM/SIGINT, drain, exit 0.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "cli/gitconf.h"
#include "cli/hashpw.h"
#include "cli/opts.h"
#include "cli/secrets.h"
#include "clog.h"
#include "cqexit.h"
#include "crypto/keys.h"
#include "git/gitrepo.h"
#include "http/handler.h"
#include "http/scrape.h"
#include "http/monitor.h"
#include "http/peers.h"
#include "http/routes.h"
#include "httpd.h"
#include "httpd_metrics.h"
#include "metrics.h"
#include "repo/repo.h"
#include "http/watchreq.h"
#include "watch/hub.h"
#include "watch/watcher.h"

/* LeakSanitizer: httpd's suppressions, and libgit2 1.5.1's git_regexp_match, which leaks its
 * pcre2 match data when nothing matches (its frames are not unwound, so it is named by the
 * library). gitmirror.c makes the remote once, so with one repository this happens once per
 * process (the valgrind test, valgrind_config_server_git, which sees the whole stack, checks
 * that); each further mirror (--git-repos-file, an {application} URI) leaks again when it is
 * cloned, about 0.6 MB (config-server/README.md, "Several repositories"). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return HTTPD_LSAN_SUPPRESSIONS "leak:libpcre2-8.so\n";
}

/* What the httpd observe hook reaches. */
typedef struct cs_observe_ctx {
    const clog_t *log;
    metrics_t *metrics;
} cs_observe_ctx_t;

/* httpd observe hook: the request metrics, and one debug line per request (dropped cheaply
 * above debug level). */
static void access_log(void *ctx, const char *route, const h2o_req_t *req, int status, uint64_t duration_us)
{
    const cs_observe_ctx_t *oc = ctx;
    const clog_t *log = oc->log;
    httpd_metrics_observe(oc->metrics, route, req, status, duration_us);
    if (log->min > CLOG_DEBUG)
        return;
    clog_ev(log, CLOG_DEBUG,
            json_pack("{s:s%,s:s%,s:i,s:I,s:s}", "method", req->method.base, req->method.len, "path",
                      req->path.base, req->path.len, "status", status, "us", (json_int_t)duration_us, "route",
                      route),
            "request");
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "hash-password") == 0)
        return cs_hashpw_main(argc - 1, argv + 1);
    cs_opts_t o = {0};
    int prc = cs_opts_parse(argc, argv, &o);
    if (prc != 0)
        return prc == 1 ? 0 : 2;
    cs_searchpaths_t search_paths = {0}; /* owned: the folder backend's search paths */
    if (o.search_paths != NULL) {
        char sperr[512];
        if (cs_sp_parse(&search_paths, o.search_paths, sperr, sizeof(sperr)) != 0) {
            fprintf(stderr, "config-server: --search-paths: %s\n", sperr);
            return 2;
        }
    }
    if (httpd_block_signals() != 0) {
        fprintf(stderr, "config-server: cannot block signals\n");
        return CS_EXIT_SOFTWARE;
    }
    clog_t log;
    clog_init(&log, "config-server", o.log_level, stderr);

    int rc = CS_EXIT_CONFIG, repo_open = 0, git_open = 0, git_inited = 0, bad = 0;
    char err[512];
    char repo_real[PATH_MAX];
    cs_access_t access;
    int access_ready = 0;
    const char *display = repo_real;
    cs_srcnames_t names = {.dir = repo_real};
    cs_repo_t repo;
    cs_gitrepo_t git;
    cs_gitmulti_t *multi = NULL;  /* owned: several repositories (cli/gitconf.h) */
    cs_grepos_conf_t repos = {0}; /* owned: --git-repos-file */
    cs_store_t store;
    cs_http_t http;
    cs_monitor_t mon = {0};
    char *monitor_secret = NULL;
    cs_watch_t watch = {.ifd = -1, .wake = {-1, -1}};
    cs_keys_t keys;           /* owned: the {cipher} keys when have_key > 0 */
    cs_overrides_t overrides; /* owned: served to every client */
    const char *key_source = "none";
    int have_key = 0;
    httpd_t *srv = NULL;
    cs_hub_t *hub = NULL;
    cs_peers_t *peers = NULL;
    int curl_inited = 0;
    metrics_t *metrics = metrics_new(); /* owned: the counters of GET /metrics */
    cs_observe_ctx_t observe = {&log, metrics};
    cs_scrape_t mhttp = {metrics, &http};
    cs_snap_limits_t lim = {.max_file_bytes = (size_t)o.max_file_bytes};
    cs_ovr_init(&overrides);

    if (o.repo_uri != NULL) {
        /* secrets may not come from the mirror either */
        snprintf(repo_real, sizeof(repo_real), "%s", o.git_basedir != NULL ? o.git_basedir : "/nonexistent");
    } else if (realpath(o.repo, repo_real) == NULL) {
        clog_error(&log, "config repository %s: %s", o.repo, strerror(errno));
        goto cleanup;
    }
    access_ready = 1;
    if (cs_load_access(&o, repo_real, &access, &log) != 0)
        goto cleanup;
    have_key = cs_load_keys(&o, repo_real, &keys, &key_source, &log);
    if (have_key < 0)
        goto cleanup;
    monitor_secret = cs_env_secret("CONFIG_SERVER_MONITOR_SECRET", repo_real, &log, &bad);
    if (bad)
        goto cleanup;
    if (cs_load_overrides(&o, repo_real, &overrides, &log) != 0)
        goto cleanup;
    if (cs_gitconf_multi(&o)) {
        git_libgit2_init();
        git_inited = 1;
        cs_gitmulti_opts_t mo = {.default_uri = o.repo_uri,
                                 .repos = &repos,
                                 .basedir = o.git_basedir,
                                 .default_label = o.default_label,
                                 .refresh_s = o.git_refresh_s,
                                 .timeout_s = o.git_timeout_s,
                                 .cache_max = (size_t)o.git_cache,
                                 .mirrors_max = (size_t)o.git_mirrors,
                                 .lim = lim,
                                 .search_paths = &search_paths,
                                 .log = &log};
        if (cs_gitconf_load(&o, repo_real, &repos, &log) != 0)
            goto cleanup; /* logged */
        if (cs_gitconf_cred(repo_real, &mo.cred, &log) != 0)
            goto cleanup;
        multi = cs_gitmulti_open(&mo, err, sizeof(err)); /* takes mo.cred */
        if (multi == NULL) {
            clog_error(&log, "cannot open the git config repositories: %s", err);
            goto cleanup;
        }
        store = cs_gitmulti_store(multi);
        display = cs_gitmulti_display(multi);
    } else if (o.repo_uri != NULL) {
        git_libgit2_init();
        git_inited = 1;
        cs_gitrepo_opts_t go = {.uri = o.repo_uri,
                                .basedir = o.git_basedir,
                                .default_label = o.default_label,
                                .refresh_s = o.git_refresh_s,
                                .timeout_s = o.git_timeout_s,
                                .cache_max = (size_t)o.git_cache,
                                .lim = lim,
                                .subdirs = search_paths.n > 0,
                                .log = &log};
        bad = cs_gitconf_cred(repo_real, &go.cred, &log) != 0;
        if (bad || cs_gitrepo_open(&git, &go, err, sizeof(err)) != 0) {
            if (!bad)
                clog_error(&log, "cannot open the git config repository: %s", err);
            cs_gitm_cred_free(&go.cred);
            goto cleanup;
        }
        git_open = 1;
        if (git.m.cred.proxy != NULL || git.m.cred.ca_file != NULL) {
            char *shown = git.m.cred.proxy != NULL ? cs_gitm_redact(git.m.cred.proxy) : NULL;
            clog_info(&log, "git remote reached %s%s%s%s", shown != NULL ? "through the proxy " : "directly",
                      shown != NULL ? shown : "",
                      git.m.cred.ca_file != NULL ? ", trusting the CA bundle " : "",
                      git.m.cred.ca_file != NULL ? git.m.cred.ca_file : "");
            free(shown);
        }
        store = cs_gitrepo_store(&git);
        display = git.m.uri_display;
        names = cs_gitrepo_names(&git); /* Spring's names show its work dir */
    } else {
        if (cs_repo_open(&repo, repo_real, &lim, &log, err, sizeof(err)) != 0) {
            clog_ev(&log, CLOG_ERROR, json_pack("{s:s}", "repo", repo_real),
                    "cannot load the config repository: %s", err);
            goto cleanup;
        }
        repo_open = 1;
        store = cs_repo_store(&repo);
    }
    rc = CS_EXIT_SOFTWARE;
    cs_http_init(&http, store, names, o.accept_empty, &access, &log);
    http.watch_max_ms = (long)o.watch_max_s * 1000;
    http.overrides = &overrides;
    if (search_paths.n > 0 && multi == NULL) { /* several repositories: each lease says */
        http.search_paths = &search_paths;
        if (git_open) { /* a label is a commit; {label} without one is the default label */
            search_paths.git = 1;
            snprintf(search_paths.default_label, sizeof(search_paths.default_label), "%s", git.default_label);
        }
    }
    if (o.max_file_bytes > 0)
        http.max_file_bytes = (size_t)o.max_file_bytes;
    hub = cs_hub_new(&cs_watch_hub_ops, &http, &log);
    if (hub == NULL) {
        clog_error(&log, "out of memory");
        goto cleanup;
    }
    http.hub = hub;
    store.ops->subscribe(store.ctx, cs_hub_notify, hub);
    if (have_key > 0)
        cs_http_set_keys(&http, &keys);
    if (o.peers != NULL || o.peers_dns != NULL) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl_inited = 1;
        const char *cert = cs_env_or("CONFIG_SERVER_SSL_CERTIFICATE", NULL);
        cs_peers_opts_t po = {.list = o.peers,
                              .dns = o.peers_dns,
                              .self_port = o.port,
                              .secret = monitor_secret,
                              .tls = cert != NULL,
                              .ca_file = cs_env_or("CONFIG_SERVER_PEERS_CA_FILE", NULL),
                              .cert_file = cs_env_or("CONFIG_SERVER_PEERS_CLIENT_CERT", NULL),
                              .key_file = cs_env_or("CONFIG_SERVER_PEERS_CLIENT_KEY", NULL),
                              .log = &log};
        peers = cs_peers_new(&po, err, sizeof(err));
        if (peers == NULL) {
            clog_error(&log, "peers: %s", err);
            rc = CS_EXIT_CONFIG;
            goto cleanup;
        }
    }
    mon =
        (cs_monitor_t){.store = &store, .http = &http, .secret = monitor_secret, .log = &log, .peers = peers};
    httpd_opts_t ho = {.host = o.host,
                       .port = o.port,
                       .threads = o.threads,
                       .max_body = 1024 * 1024, /* webhook payloads */
                       .drain_ms = 5000,
                       .server_name = "",
                       .log = &log,
                       .observe = access_log,
                       .observe_ctx = &observe,
                       .loop_hook = cs_hub_loop,
                       .loop_ctx = hub};
    if (httpd_opts_from_env(&ho, "CONFIG_SERVER_", err, sizeof(err)) != 0) {
        clog_error(&log, "TLS / connection settings: %s", err);
        rc = CS_EXIT_CONFIG;
        goto cleanup;
    }
    if (metrics == NULL) {
        clog_error(&log, "out of memory");
        goto cleanup;
    }
    cs_scrape_declare(metrics, CQ_VERSION);
    srv = httpd_new(&ho, err, sizeof(err));
    if (srv == NULL || httpd_route(srv, "GET", "/", "config", cs_http_handle, &http) != 0 ||
        httpd_route(srv, "GET", "/metrics", "metrics", cs_scrape_handle, &mhttp) != 0 ||
        httpd_route(srv, "GET", "/encrypt", "config", cs_http_handle, &http) != 0 ||
        httpd_route(srv, "GET", "/decrypt", "config", cs_http_handle, &http) != 0 ||
        httpd_route(srv, "POST", "/encrypt", "encrypt", cs_http_encrypt, &http) != 0 ||
        httpd_route(srv, "POST", "/decrypt", "decrypt", cs_http_encrypt, &http) != 0 ||
        httpd_route(srv, "POST", "/monitor", "monitor", cs_monitor_handle, &mon) != 0) {
        clog_error(&log, "cannot set up the HTTP server: %s", err);
        goto cleanup;
    }
    /* the repository is watched (or fetched) before the first request is answered */
    if (multi != NULL) {
        if (cs_gitmulti_start(multi) != 0)
            clog_warn(&log, "cannot start the git fetchers; the repositories will not be refreshed");
    } else if (git_open) {
        if (cs_gitrepo_start(&git) != 0)
            clog_warn(&log, "cannot start the git fetcher; the repository will not be refreshed");
    } else if (cs_watch_start(&watch, &repo, o.rescan_ms) != 0) {
        clog_warn(&log, "cannot start the repository watcher; edits will not be picked up");
    }
    if (httpd_start(srv, err, sizeof(err)) != 0) {
        clog_error(&log, "cannot start the HTTP server: %s", err);
        goto cleanup;
    }
    {
        int degraded = 0;
        json_t *h = store.ops->health(store.ctx, &degraded);
        clog_ev(&log, CLOG_INFO,
                json_pack("{s:s,s:s,s:i,s:O,s:O,s:b,s:b,s:s,s:b}", "backend",
                          git_open || multi != NULL ? "git" : "folder", "repo", display, "port",
                          httpd_port(srv), "version", json_object_get(h, "version"), "files",
                          json_object_get(h, "files"), "auth", !access.open, "accept_empty", o.accept_empty,
                          "encrypt_key", key_source, "degraded", degraded),
                "config-server ready");
        json_decref(h);
    }
    httpd_run_until_signal(srv);
    cs_watch_stop(&watch);
    clog_info(&log, "config-server stopped");
    rc = 0;
cleanup:
    cs_watch_stop(&watch);
    httpd_free(srv);
    cs_peers_free(peers); /* after the server: no handler queues a forward any more */
    if (curl_inited)
        curl_global_cleanup();
    if (access_ready)
        cs_access_free(&access);
    if (repo_open)
        cs_repo_close(&repo);
    if (git_open)
        cs_gitrepo_close(&git);
    cs_gitmulti_close(multi);
    cs_grepos_free(&repos);
    if (git_inited)
        git_libgit2_shutdown();
    cs_hub_free(hub);      /* after the watcher and the fetcher, its notifiers, stopped */
    metrics_free(metrics); /* after the server: no request observes any more */
    if (have_key > 0)
        cs_keys_free(&keys);
    cs_ovr_free(&overrides);
    cs_sp_free(&search_paths);
    if (monitor_secret != NULL)
        OPENSSL_cleanse(monitor_secret, strlen(monitor_secret));
    free(monitor_secret);
    return rc;
}
