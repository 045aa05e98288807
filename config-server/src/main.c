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

#include <openssl/crypto.h>

#include "clog.h"
#include "cqexit.h"
#include "crypto/cipher.h"
#include "git/gitrepo.h"
#include "http/monitor.h"
#include "http/routes.h"
#include "httpd.h"
#include "repo/repo.h"
#include "watch/watcher.h"

/* LeakSanitizer: httpd's suppressions, and libgit2 1.5.1's git_regexp_match, which leaks its
 * pcre2 match data when nothing matches (its frames are not unwound, so it is named by the
 * library). gitmirror.c makes the remote once, so this happens once per process; the
 * valgrind test (valgrind_config_server_git), which sees the whole stack, checks that. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return HTTPD_LSAN_SUPPRESSIONS "leak:libpcre2-8.so\n";
}

/* Exit codes, as the services' (sysexits.h): a repository or credentials that cannot be
 * used is a configuration error; anything else that stops the start-up (the port taken…)
 * is EX_SOFTWARE. */
#define CS_EXIT_CONFIG CQ_EXIT_CONFIG     /* 78 */
#define CS_EXIT_SOFTWARE CQ_EXIT_SOFTWARE /* 70 */

typedef struct opts {
    const char *repo;
    int repo_given; /* --repo or CONFIG_SERVER_REPO */
    const char *repo_uri;
    const char *git_basedir;
    const char *default_label;
    int git_refresh_s;
    int git_timeout_s;
    int git_cache;
    const char *host;
    int port;
    int threads;
    int rescan_ms;
    int accept_empty;
    const char *cred_file;
    const char *encrypt_key_file;
    const char *log_level;
    long max_file_bytes;
} opts_t;

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: config-server [options]\n\n"
        "Serves a config repository (YAML/.properties) with the Spring Cloud Config Server API:\n"
        "  GET /{app}/{profiles}[/{label}], /{app}-{profiles}.yml|.yaml|.properties|.json,\n"
        "  /{label}/{app}-{profiles}.{ext}, /actuator/health (also /health).\n"
        "Edits to the repository are served within a second (inotify + periodic rescan).\n\n"
        "options (environment variable in brackets):\n"
        "  --repo DIR              config repository folder (CONFIG_SERVER_REPO, default ./config-repo)\n"
        "  --repo-uri URI          serve a git repository instead: file:///…, https://…, ssh://…\n"
        "                          (CONFIG_SERVER_GIT_URI). Labels are branches, tags or commit ids;\n"
        "                          version is the commit id. Credentials from the environment only:\n"
        "                          CONFIG_SERVER_GIT_USERNAME + CONFIG_SERVER_GIT_PASSWORD (or\n"
        "                          CONFIG_SERVER_GIT_PASSWORD_FILE; a token is a password),\n"
        "                          CONFIG_SERVER_GIT_SSH_KEY_FILE (+ CONFIG_SERVER_GIT_SSH_KNOWN_HOSTS).\n"
        "  --git-basedir DIR       where the bare mirror is kept (CONFIG_SERVER_GIT_BASEDIR; default a\n"
        "                          private temporary directory, removed at exit)\n"
        "  --default-label L       label of requests without one (CONFIG_SERVER_DEFAULT_LABEL, default\n"
        "                          main, falling back to master)\n"
        "  --git-refresh-s N       fetch every N s (CONFIG_SERVER_GIT_REFRESH_S, default 30; 0 = only on\n"
        "                          POST /monitor)\n"
        "  --git-timeout-s N       give up a fetch after N s (CONFIG_SERVER_GIT_TIMEOUT_S, default 10)\n"
        "  --git-cache N           commit snapshots kept in memory (CONFIG_SERVER_GIT_CACHE, default 16)\n"
        "  --port N                TCP port (CONFIG_SERVER_PORT, default 8888)\n"
        "  --host ADDR             bind address (CONFIG_SERVER_HOST, default 0.0.0.0)\n"
        "  --threads N             event-loop threads (CONFIG_SERVER_THREADS, default 2)\n"
        "  --rescan-ms N           periodic rescan interval (CONFIG_SERVER_RESCAN_MS, default 2000)\n"
        "  --accept-empty          unknown application → 200 with no sources, as Spring\n"
        "                          (CONFIG_SERVER_ACCEPT_EMPTY=true; default: 404 problem+json)\n"
        "  --credentials-file F    HTTP Basic credentials, one line user:password\n"
        "                          (CONFIG_SERVER_CREDENTIALS_FILE; or CONFIG_SERVER_USER and\n"
        "                          CONFIG_SERVER_PASSWORD). Health stays open.\n"
        "  --encrypt-key-file F    the symmetric key of {cipher} values and POST /encrypt, /decrypt\n"
        "                          (Spring's encrypt.key; CONFIG_SERVER_ENCRYPT_KEY_FILE, or the key\n"
        "                          itself in ENCRYPT_KEY; salt ENCRYPT_SALT, default deadbeef).\n"
        "                          /encrypt and /decrypt also need --credentials-file.\n"
        "  --max-file-bytes N      largest accepted repository file (CONFIG_SERVER_MAX_FILE_BYTES, 1 MiB)\n"
        "  TLS (environment only): CONFIG_SERVER_SSL_CERTIFICATE + "
        "CONFIG_SERVER_SSL_CERTIFICATE_PRIVATE_KEY\n"
        "                          (PEM files, re-read when they change) serve HTTPS, TLS 1.2+ only;\n"
        "                          CONFIG_SERVER_SSL_TRUST_CERTIFICATE (a CA file) with\n"
        "                          CONFIG_SERVER_SSL_CLIENT_AUTH=want|need asks for client certificates.\n"
        "                          CONFIG_SERVER_MAX_CONNECTIONS caps open connections (default 10000).\n"
        "  --log-level L           debug|info|warn|error (CONFIG_SERVER_LOG_LEVEL, default info)\n"
        "  --help, --version\n\n"
        "POST /monitor (Spring Cloud Config Monitor webhooks: GitHub, GitLab, Gitea, Bitbucket, or a\n"
        "form path=…) looks for changes at once; with CONFIG_SERVER_MONITOR_SECRET it checks the\n"
        "webhook's signature/token, else it needs the Basic credentials when they are set.\n\n"
        "SIGTERM/SIGINT stop accepting, drain in-flight requests and exit 0.\n"
        "Exit codes: 0 after SIGTERM/SIGINT, 2 bad command line, %d the repository or the\n"
        "credentials cannot be used, %d any other start-up failure (e.g. the port is taken).\n",
        CS_EXIT_CONFIG, CS_EXIT_SOFTWARE);
}

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? v : dflt;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int truthy(const char *s)
{
    return s != NULL && (strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0);
}

/* Returns 0 to run, 1 when --help/--version was handled, 2 on a usage error. */
static int parse_opts(int argc, char **argv, opts_t *o)
{
    long v;
    o->repo = env_or("CONFIG_SERVER_REPO", NULL);
    o->repo_given = o->repo != NULL;
    if (o->repo == NULL)
        o->repo = "config-repo";
    o->repo_uri = env_or("CONFIG_SERVER_GIT_URI", NULL);
    o->git_basedir = env_or("CONFIG_SERVER_GIT_BASEDIR", NULL);
    o->default_label = env_or("CONFIG_SERVER_DEFAULT_LABEL", "main");
    const char *refresh = env_or("CONFIG_SERVER_GIT_REFRESH_S", "30");
    const char *gtimeout = env_or("CONFIG_SERVER_GIT_TIMEOUT_S", "10");
    const char *gcache = env_or("CONFIG_SERVER_GIT_CACHE", "16");
    o->host = env_or("CONFIG_SERVER_HOST", "0.0.0.0");
    o->cred_file = env_or("CONFIG_SERVER_CREDENTIALS_FILE", NULL);
    o->encrypt_key_file = env_or("CONFIG_SERVER_ENCRYPT_KEY_FILE", NULL);
    o->log_level = env_or("CONFIG_SERVER_LOG_LEVEL", "info");
    o->accept_empty = truthy(env_or("CONFIG_SERVER_ACCEPT_EMPTY", NULL));
    const char *port = env_or("CONFIG_SERVER_PORT", "8888"), *threads = env_or("CONFIG_SERVER_THREADS", "2");
    const char *rescan = env_or("CONFIG_SERVER_RESCAN_MS", "2000");
    const char *maxfile = env_or("CONFIG_SERVER_MAX_FILE_BYTES", "1048576");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(a, "--version") == 0) {
            printf("config-server %s\n", CQ_VERSION);
            return 1;
        }
        if (strcmp(a, "--accept-empty") == 0) {
            o->accept_empty = 1;
            continue;
        }
        if (strcmp(a, "--repo") == 0)
            o->repo_given = 1;
        const char **slot = strcmp(a, "--repo") == 0               ? &o->repo
                            : strcmp(a, "--repo-uri") == 0         ? &o->repo_uri
                            : strcmp(a, "--git-basedir") == 0      ? &o->git_basedir
                            : strcmp(a, "--default-label") == 0    ? &o->default_label
                            : strcmp(a, "--git-refresh-s") == 0    ? &refresh
                            : strcmp(a, "--git-timeout-s") == 0    ? &gtimeout
                            : strcmp(a, "--git-cache") == 0        ? &gcache
                            : strcmp(a, "--host") == 0             ? &o->host
                            : strcmp(a, "--port") == 0             ? &port
                            : strcmp(a, "--threads") == 0          ? &threads
                            : strcmp(a, "--rescan-ms") == 0        ? &rescan
                            : strcmp(a, "--credentials-file") == 0 ? &o->cred_file
                            : strcmp(a, "--encrypt-key-file") == 0 ? &o->encrypt_key_file
                            : strcmp(a, "--max-file-bytes") == 0   ? &maxfile
                            : strcmp(a, "--log-level") == 0        ? &o->log_level
                                                                   : NULL;
        if (slot == NULL || next == NULL) {
            fprintf(stderr, "config-server: %s '%s'\n",
                    slot == NULL ? "unknown argument" : "missing value for", a);
            usage(stderr);
            return 2;
        }
        *slot = next;
        i++;
    }
    if (parse_int(port, 1, 65535, &v) != 0) {
        fprintf(stderr, "config-server: invalid port '%s' (1..65535)\n", port);
        return 2;
    }
    o->port = (int)v;
    if (parse_int(threads, 1, 64, &v) != 0) {
        fprintf(stderr, "config-server: invalid thread count '%s' (1..64)\n", threads);
        return 2;
    }
    o->threads = (int)v;
    if (parse_int(rescan, 100, 3600000, &v) != 0) {
        fprintf(stderr, "config-server: invalid rescan interval '%s' ms (100..3600000)\n", rescan);
        return 2;
    }
    o->rescan_ms = (int)v;
    if (parse_int(maxfile, 1024, 64L << 20, &v) != 0) {
        fprintf(stderr, "config-server: invalid max file size '%s' (1024..67108864)\n", maxfile);
        return 2;
    }
    o->max_file_bytes = v;
    if (o->repo_uri != NULL && o->repo_given) {
        fprintf(stderr,
                "config-server: give either --repo DIR (a folder) or --repo-uri URI (git), not both\n");
        return 2;
    }
    if (parse_int(refresh, 0, 86400, &v) != 0) {
        fprintf(stderr, "config-server: invalid git refresh interval '%s' s (0..86400)\n", refresh);
        return 2;
    }
    o->git_refresh_s = (int)v;
    if (parse_int(gtimeout, 1, 3600, &v) != 0) {
        fprintf(stderr, "config-server: invalid git timeout '%s' s (1..3600)\n", gtimeout);
        return 2;
    }
    o->git_timeout_s = (int)v;
    if (parse_int(gcache, 1, 4096, &v) != 0) {
        fprintf(stderr, "config-server: invalid git snapshot cache size '%s' (1..4096)\n", gcache);
        return 2;
    }
    o->git_cache = (int)v;
    if (o->default_label[0] == '\0' || strlen(o->default_label) > CS_PATH_NAME_MAX) {
        fprintf(stderr, "config-server: invalid default label '%s'\n", o->default_label);
        return 2;
    }
    if (clog_level_parse(o->log_level) < 0) {
        fprintf(stderr, "config-server: invalid log level '%s'\n", o->log_level);
        return 2;
    }
    return 0;
}

/* httpd observe hook: one debug line per request (dropped cheaply above debug level). */
static void access_log(void *ctx, const char *route, const h2o_req_t *req, int status, uint64_t duration_us)
{
    const clog_t *log = ctx;
    if (log->min > CLOG_DEBUG)
        return;
    clog_ev(log, CLOG_DEBUG,
            json_pack("{s:s%,s:s%,s:i,s:I,s:s}", "method", req->method.base, req->method.len, "path",
                      req->path.base, req->path.len, "status", status, "us", (json_int_t)duration_us, "route",
                      route),
            "request");
}

/* Reads the first `size` - 1 bytes of the secret file `path` into buf (NUL-terminated),
 * refusing a file inside the served repository `repo_real`; `what` names it in the log.
 * Returns the length, or -1. */
static long read_secret_file(const char *path, const char *repo_real, const char *what, char *buf,
                             size_t size, const clog_t *log)
{
    char real[PATH_MAX];
    if (realpath(path, real) == NULL) {
        clog_error(log, "cannot read %s file %s: %s", what, path, strerror(errno));
        return -1;
    }
    size_t rl = strlen(repo_real);
    if (strncmp(real, repo_real, rl) == 0 && (real[rl] == '/' || real[rl] == '\0')) {
        clog_error(log, "%s file %s lies inside the served repository; refusing", what, path);
        return -1;
    }
    FILE *f = fopen(real, "r");
    if (f == NULL) {
        clog_error(log, "cannot read %s file %s: %s", what, path, strerror(errno));
        return -1;
    }
    size_t n = fread(buf, 1, size - 1, f);
    int err = ferror(f);
    fclose(f);
    if (err) {
        clog_error(log, "cannot read %s file %s", what, path);
        return -1;
    }
    buf[n] = '\0';
    return (long)n;
}

/* Reads "user:password" from the first line of `path`. 0 or -1. */
static int read_credentials(const char *path, const char *repo_real, char *user, size_t usize, char *pass,
                            size_t psize, const clog_t *log)
{
    char line[1024];
    if (read_secret_file(path, repo_real, "credentials", line, sizeof(line), log) < 0)
        return -1;
    line[strcspn(line, "\r\n")] = '\0';
    char *colon = strchr(line, ':');
    int rc = -1;
    if (colon == NULL || colon == line) {
        clog_error(log, "credentials file %s: expected one line user:password", path);
        goto cleanup;
    }
    *colon = '\0';
    snprintf(user, usize, "%s", line);
    snprintf(pass, psize, "%s", colon + 1);
    rc = 0;
cleanup:
    OPENSSL_cleanse(line, sizeof(line));
    return rc;
}

/* The {cipher} key: --encrypt-key-file (one trailing line break dropped), else ENCRYPT_KEY.
 * Returns 1 (key in *c), 0 (no key configured), -1 (unusable: logged). */
static int load_cipher(const opts_t *o, const char *repo_real, cs_cipher_t *c, const char **source,
                       const clog_t *log)
{
    char key[4096];
    long n = 0;
    int rc = -1;
    *source = "none";
    if (o->encrypt_key_file != NULL) {
        n = read_secret_file(o->encrypt_key_file, repo_real, "encryption key", key, sizeof(key), log);
        if (n < 0)
            goto cleanup;
        if (n > 0 && key[n - 1] == '\n')
            key[--n] = '\0';
        if (n > 0 && key[n - 1] == '\r')
            key[--n] = '\0';
        *source = "file";
    } else if (getenv("ENCRYPT_KEY") != NULL && getenv("ENCRYPT_KEY")[0] != '\0') {
        n = (long)snprintf(key, sizeof(key), "%s", getenv("ENCRYPT_KEY"));
        if ((size_t)n >= sizeof(key)) {
            clog_error(log, "ENCRYPT_KEY is longer than %zu bytes", sizeof(key) - 1);
            goto cleanup;
        }
        *source = "ENCRYPT_KEY";
    } else {
        rc = 0;
        goto cleanup;
    }
    if (n == 0 || memchr(key, '\0', (size_t)n) != NULL) {
        clog_error(log, "the encryption key (%s) is empty or contains a NUL byte", *source);
        goto cleanup;
    }
    if (strncmp(key, "-----BEGIN", 10) == 0 || strncmp(key, "ssh-rsa", 7) == 0) {
        clog_error(log, "the encryption key (%s) is an RSA key; only a symmetric encrypt.key is supported",
                   *source);
        goto cleanup;
    }
    const char *salt = env_or("ENCRYPT_SALT", "deadbeef");
    if (cs_cipher_init(c, key, (size_t)n, salt) != 0) {
        clog_error(log, "ENCRYPT_SALT '%s' is not an even number of hex digits", salt);
        goto cleanup;
    }
    rc = 1;
cleanup:
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

/* A secret from env `name`, or from the file named by env `name`_FILE (one trailing line
 * break dropped). Returns a malloc'ed string, NULL when neither is set; *bad set when the
 * file cannot be read. */
static char *env_secret(const char *name, const char *repo_real, const clog_t *log, int *bad)
{
    char fname[128], buf[4096];
    const char *v = getenv(name);
    if (v != NULL && *v != '\0')
        return strdup(v);
    snprintf(fname, sizeof(fname), "%s_FILE", name);
    const char *file = getenv(fname);
    if (file == NULL || *file == '\0')
        return NULL;
    long n = read_secret_file(file, repo_real, fname, buf, sizeof(buf), log);
    if (n < 0) {
        *bad = 1;
        return NULL;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    char *out = strdup(buf);
    OPENSSL_cleanse(buf, sizeof(buf));
    return out;
}

static char *env_dup(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? strdup(v) : NULL;
}

int main(int argc, char **argv)
{
    opts_t o = {0};
    int prc = parse_opts(argc, argv, &o);
    if (prc != 0)
        return prc == 1 ? 0 : 2;
    if (httpd_block_signals() != 0) {
        fprintf(stderr, "config-server: cannot block signals\n");
        return CS_EXIT_SOFTWARE;
    }
    clog_t log;
    clog_init(&log, "config-server", o.log_level, stderr);

    int rc = CS_EXIT_CONFIG, repo_open = 0, git_open = 0, git_inited = 0, http_ready = 0, bad = 0;
    char err[512];
    char repo_real[PATH_MAX];
    char user[1024] = "", pass[1024] = "";
    const char *display = repo_real;
    cs_srcnames_t names = {.dir = repo_real};
    cs_repo_t repo;
    cs_gitrepo_t git;
    cs_store_t store;
    cs_http_t http;
    cs_monitor_t mon = {0};
    char *monitor_secret = NULL;
    cs_watch_t watch = {.ifd = -1, .wake = {-1, -1}};
    cs_cipher_t cipher;
    const char *key_source = "none";
    int have_key = 0;
    httpd_t *srv = NULL;
    cs_snap_limits_t lim = {.max_file_bytes = (size_t)o.max_file_bytes};

    if (o.repo_uri != NULL) {
        /* secrets may not come from the mirror either */
        snprintf(repo_real, sizeof(repo_real), "%s", o.git_basedir != NULL ? o.git_basedir : "/nonexistent");
    } else if (realpath(o.repo, repo_real) == NULL) {
        clog_error(&log, "config repository %s: %s", o.repo, strerror(errno));
        goto cleanup;
    }
    if (o.cred_file != NULL) {
        if (read_credentials(o.cred_file, repo_real, user, sizeof(user), pass, sizeof(pass), &log) != 0)
            goto cleanup;
    } else {
        snprintf(user, sizeof(user), "%s", env_or("CONFIG_SERVER_USER", ""));
        snprintf(pass, sizeof(pass), "%s", env_or("CONFIG_SERVER_PASSWORD", ""));
    }
    have_key = load_cipher(&o, repo_real, &cipher, &key_source, &log);
    if (have_key < 0)
        goto cleanup;
    monitor_secret = env_secret("CONFIG_SERVER_MONITOR_SECRET", repo_real, &log, &bad);
    if (bad)
        goto cleanup;
    if (o.repo_uri != NULL) {
        git_libgit2_init();
        git_inited = 1;
        cs_gitrepo_opts_t go = {.uri = o.repo_uri,
                                .basedir = o.git_basedir,
                                .default_label = o.default_label,
                                .refresh_s = o.git_refresh_s,
                                .timeout_s = o.git_timeout_s,
                                .cache_max = (size_t)o.git_cache,
                                .lim = lim,
                                .log = &log};
        go.cred.user = env_dup("CONFIG_SERVER_GIT_USERNAME");
        go.cred.pass = env_secret("CONFIG_SERVER_GIT_PASSWORD", repo_real, &log, &bad);
        go.cred.ssh_key = env_dup("CONFIG_SERVER_GIT_SSH_KEY_FILE");
        go.cred.known_hosts = env_dup("CONFIG_SERVER_GIT_SSH_KNOWN_HOSTS");
        if (bad || cs_gitrepo_open(&git, &go, err, sizeof(err)) != 0) {
            if (!bad)
                clog_error(&log, "cannot open the git config repository: %s", err);
            free(go.cred.user);
            free(go.cred.pass);
            free(go.cred.ssh_key);
            free(go.cred.known_hosts);
            goto cleanup;
        }
        git_open = 1;
        store = cs_gitrepo_store(&git);
        display = git.m.uri_display;
        /* Spring's names show its work dir: a file: remote's own path, else its basedir */
        names.uri = display;
        names.dir = git.basedir;
        if (strncmp(display, "file://", 7) == 0)
            names.dir = display + 7;
        else if (strncmp(display, "file:", 5) == 0)
            names.dir = display + 5;
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
    if (cs_http_init(&http, store, names, o.accept_empty, user, pass, &log) != 0) {
        clog_error(&log, "out of memory");
        goto cleanup;
    }
    http_ready = 1;
    if (have_key)
        cs_http_set_cipher(&http, &cipher);
    memset(pass, 0, sizeof(pass));
    mon = (cs_monitor_t){.store = &store, .http = &http, .secret = monitor_secret, .log = &log};
    httpd_opts_t ho = {.host = o.host,
                       .port = o.port,
                       .threads = o.threads,
                       .max_body = 1024 * 1024, /* webhook payloads */
                       .drain_ms = 5000,
                       .server_name = "",
                       .log = &log,
                       .observe = access_log,
                       .observe_ctx = &log};
    if (httpd_opts_from_env(&ho, "CONFIG_SERVER_", err, sizeof(err)) != 0) {
        clog_error(&log, "TLS / connection settings: %s", err);
        rc = CS_EXIT_CONFIG;
        goto cleanup;
    }
    srv = httpd_new(&ho, err, sizeof(err));
    if (srv == NULL || httpd_route(srv, "GET", "/", "config", cs_http_handle, &http) != 0 ||
        httpd_route(srv, "GET", "/encrypt", "config", cs_http_handle, &http) != 0 ||
        httpd_route(srv, "GET", "/decrypt", "config", cs_http_handle, &http) != 0 ||
        httpd_route(srv, "POST", "/encrypt", "encrypt", cs_http_encrypt, &http) != 0 ||
        httpd_route(srv, "POST", "/decrypt", "decrypt", cs_http_encrypt, &http) != 0 ||
        httpd_route(srv, "POST", "/monitor", "monitor", cs_monitor_handle, &mon) != 0) {
        clog_error(&log, "cannot set up the HTTP server: %s", err);
        goto cleanup;
    }
    /* the repository is watched (or fetched) before the first request is answered */
    if (git_open) {
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
                json_pack("{s:s,s:s,s:i,s:O,s:O,s:b,s:b,s:s,s:b}", "backend", git_open ? "git" : "folder",
                          "repo", display, "port", httpd_port(srv), "version", json_object_get(h, "version"),
                          "files", json_object_get(h, "files"), "auth", user[0] != '\0', "accept_empty",
                          o.accept_empty, "encrypt_key", key_source, "degraded", degraded),
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
    if (http_ready)
        cs_http_free(&http);
    if (repo_open)
        cs_repo_close(&repo);
    if (git_open)
        cs_gitrepo_close(&git);
    if (git_inited)
        git_libgit2_shutdown();
    if (have_key > 0)
        cs_cipher_wipe(&cipher);
    if (monitor_secret != NULL)
        OPENSSL_cleanse(monitor_secret, strlen(monitor_secret));
    free(monitor_secret);
    return rc;
}
