/* opts.c — config-server's options: defaults from CONFIG_SERVER_*, then the command line
 * (opts.h). */
#include "cli/opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clog.h"
#include "repo/pathsafe.h"

void cs_opts_usage(FILE *out)
{
    fprintf(
        out,
        "usage: config-server [options]\n\n"
        "Serves a config repository (YAML/.properties) with the Spring Cloud Config Server API:\n"
        "  GET /{app}/{profiles}[/{label}], /{app}-{profiles}.yml|.yaml|.properties|.json,\n"
        "  /{label}/{app}-{profiles}.{ext}, /actuator/health (also /health), and plain-text files:\n"
        "  /{app}/{profiles}/{label}/{path} (or /{app}/{profiles}/{path}?useDefaultLabel), e.g.\n"
        "  logback.xml or nginx.conf, profile-specific name-{profile}.ext first, ${…} resolved.\n"
        "Edits to the repository are served within a second (inotify + periodic rescan).\n"
        "Watch API: add ?wait=30s and If-None-Match: <ETag> to an environment request to be\n"
        "answered when that environment changes (200) or when the wait ends (304).\n\n"
        "options (environment variable in brackets):\n"
        "  --repo DIR              config repository folder (CONFIG_SERVER_REPO, default ./config-repo)\n"
        "  --repo-uri URI          serve a git repository instead: file:///…, https://…, ssh://…\n"
        "                          (CONFIG_SERVER_GIT_URI). Labels are branches, tags or commit ids;\n"
        "                          version is the commit id. Credentials from the environment only:\n"
        "                          CONFIG_SERVER_GIT_USERNAME + CONFIG_SERVER_GIT_PASSWORD (or\n"
        "                          CONFIG_SERVER_GIT_PASSWORD_FILE; a token is a password),\n"
        "                          CONFIG_SERVER_GIT_SSH_KEY_FILE (+ CONFIG_SERVER_GIT_SSH_KNOWN_HOSTS).\n"
        "                          A proxy: CONFIG_SERVER_GIT_PROXY=http://[user:pass@]host:port (or\n"
        "                          …_PROXY_FILE); a CA bundle of an https remote: "
        "CONFIG_SERVER_GIT_CA_FILE.\n"
        "  --git-basedir DIR       where the bare mirror is kept (CONFIG_SERVER_GIT_BASEDIR; default a\n"
        "                          private temporary directory, removed at exit)\n"
        "  --default-label L       label of requests without one (CONFIG_SERVER_DEFAULT_LABEL, default\n"
        "                          main, falling back to master)\n"
        "  --git-refresh-s N       fetch every N s (CONFIG_SERVER_GIT_REFRESH_S, default 30; 0 = only on\n"
        "                          POST /monitor)\n"
        "  --git-timeout-s N       give up a fetch after N s (CONFIG_SERVER_GIT_TIMEOUT_S, default 10)\n"
        "  --git-cache N           commit snapshots kept in memory (CONFIG_SERVER_GIT_CACHE, default 16)\n"
        "  --git-repos-file F      more git repositories, each picked by {application}/{profile}\n"
        "                          patterns, the first match in the file's order, else --repo-uri\n"
        "                          (Spring's spring.cloud.config.server.git.repos; YAML, read once like\n"
        "                          a secret; CONFIG_SERVER_GIT_REPOS_FILE): repos: {NAME: {pattern, uri,\n"
        "                          search-paths, username, password|password-file, ssh-key-file,\n"
        "                          known-hosts-file, default-label, refresh-rate, timeout}}\n"
        "  --git-mirrors N         a URI with {application}, {profile} or {label} (also --repo-uri) gets\n"
        "                          a mirror per value, cloned on first use; at most N are kept, the\n"
        "                          least recently used removed (CONFIG_SERVER_GIT_MIRRORS, default 16)\n"
        "  --port N                TCP port (CONFIG_SERVER_PORT, default 8888)\n"
        "  --host ADDR             bind address (CONFIG_SERVER_HOST, default 0.0.0.0)\n"
        "  --threads N             event-loop threads (CONFIG_SERVER_THREADS, default 2)\n"
        "  --rescan-ms N           periodic rescan interval (CONFIG_SERVER_RESCAN_MS, default 2000)\n"
        "  --accept-empty          unknown application → 200 with no sources, as Spring\n"
        "                          (CONFIG_SERVER_ACCEPT_EMPTY=true; default: 404 problem+json)\n"
        "  --credentials-file F    who may read what (CONFIG_SERVER_CREDENTIALS_FILE): YAML, clients:\n"
        "                          [{name, password (config-server hash-password), certificate,\n"
        "                          admin, applications, profiles, labels}] — see README (Access).\n"
        "                          The old one line user:password (or CONFIG_SERVER_USER and\n"
        "                          CONFIG_SERVER_PASSWORD) is one admin. Without: open, with a warning.\n"
        "                          Failed logins: CONFIG_SERVER_AUTH_MAX_FAILURES (10) per address\n"
        "                          within a minute, then 429 for CONFIG_SERVER_AUTH_BLOCK_S (60).\n"
        "  --encrypt-key-file F    the symmetric key of {cipher} values and POST /encrypt, /decrypt\n"
        "                          (Spring's encrypt.key; CONFIG_SERVER_ENCRYPT_KEY_FILE, or the key\n"
        "                          itself in ENCRYPT_KEY; salt ENCRYPT_SALT, default deadbeef).\n"
        "                          A PEM RSA private key there (PKCS#1: BEGIN RSA PRIVATE KEY) is\n"
        "                          Spring's RSA encrypt.key: one key.\n"
        "                          /encrypt, /decrypt and /key need an admin client.\n"
        "  --encrypt-key-store F   RSA keys by alias from a PKCS#12 key store (Spring's\n"
        "                          encrypt.key-store.*; CONFIG_SERVER_ENCRYPT_KEY_STORE, or Spring's\n"
        "                          ENCRYPT_KEY_STORE_LOCATION=file:…): password in\n"
        "                          ENCRYPT_KEY_STORE_PASSWORD (or _FILE), the default key's password\n"
        "                          ENCRYPT_KEY_STORE_SECRET (or _FILE; default the store password).\n"
        "                          {cipher}{key:alias}{secret:pw}… picks a key per value; the default\n"
        "                          key encrypts. Spring's RSA scheme: ENCRYPT_RSA_ALGORITHM DEFAULT|OAEP,\n"
        "                          ENCRYPT_RSA_SALT (deadbeef), ENCRYPT_RSA_STRONG=true (AES-GCM).\n"
        "  --encrypt-key-alias A   the default key (CONFIG_SERVER_ENCRYPT_KEY_ALIAS or\n"
        "                          ENCRYPT_KEY_STORE_ALIAS; may be left out when there is one key).\n"
        "                          Rotation: add a key, make it the default; values that name the\n"
        "                          old alias ({key:old}) still decrypt.\n"
        "  --encrypt-key-pem A=F   one more RSA key, alias A, from the PEM private key file F\n"
        "                          (repeatable; with or without a key store)\n"
        "  --max-file-bytes N      largest accepted repository file, also of the plain-text files\n"
        "                          served (CONFIG_SERVER_MAX_FILE_BYTES, 1 MiB)\n"
        "  TLS (environment only): CONFIG_SERVER_SSL_CERTIFICATE + "
        "CONFIG_SERVER_SSL_CERTIFICATE_PRIVATE_KEY\n"
        "                          (PEM files, re-read when they change) serve HTTPS, TLS 1.2+ only;\n"
        "                          CONFIG_SERVER_SSL_TRUST_CERTIFICATE (a CA file) with\n"
        "                          CONFIG_SERVER_SSL_CLIENT_AUTH=want|need asks for client certificates.\n"
        "                          CONFIG_SERVER_MAX_CONNECTIONS caps open connections (default 10000).\n"
        "  --log-level L           debug|info|warn|error (CONFIG_SERVER_LOG_LEVEL, default info)\n"
        "  --watch-max-s N         the longest ?wait= of a watch request (CONFIG_SERVER_WATCH_MAX_S,\n"
        "                          default 60; 1..3600)\n"
        "  --peers LIST            the other replicas, host:port,… : an accepted POST /monitor is\n"
        "                          forwarded to them (CONFIG_SERVER_PEERS)\n"
        "  --peers-dns NAME[:PORT] a DNS name resolving to every replica (a Kubernetes headless\n"
        "                          Service; resolved on each webhook, ourselves left out; PORT\n"
        "                          defaults to --port) (CONFIG_SERVER_PEERS_DNS). Over TLS:\n"
        "                          CONFIG_SERVER_PEERS_CA_FILE, CONFIG_SERVER_PEERS_CLIENT_CERT/_KEY.\n"

        "  --search-paths LIST     folders below --repo (or a git commit's root) searched too\n"
        "                          (Spring's search-paths; CONFIG_SERVER_SEARCH_PATHS): a comma list\n"
        "                          with {application}, {profile}, {label} placeholders and * ? **\n"
        "                          wildcards, e.g. '{application},teams/*'. The root comes first and a\n"
        "                          later path's files take precedence; on a folder, a label's folder\n"
        "                          below the root or a plain path overlays them all.\n"
        "  --override KEY=VALUE    a property every client receives, whatever its files say (Spring's\n"
        "                          spring.cloud.config.server.overrides; repeatable): served first, as\n"
        "                          the property source \"overrides\", in every form and in plain-text\n"
        "                          placeholders; taken literally (\\${ is ${), never decrypted.\n"
        "  --overrides-file F      the same from a YAML file (CONFIG_SERVER_OVERRIDES_FILE): a map of\n"
        "                          overrides, or a Spring server's application.yml (only its\n"
        "                          spring.cloud.config.server.overrides.* keys are taken); --override\n"
        "                          flags win over it\n"
        "  --help, --version\n"
        "  hash-password           read a password from stdin, print its hash for the credentials\n"
        "                          file (config-server hash-password --help)\n\n"
        "POST /monitor (Spring Cloud Config Monitor webhooks: GitHub, GitLab, Gitea, Bitbucket, or a\n"
        "form path=…) looks for changes at once; it needs the webhook's signature/token when\n"
        "CONFIG_SERVER_MONITOR_SECRET is set, or an admin client.\n\n"
        "SIGTERM/SIGINT stop accepting, drain in-flight requests and exit 0.\n"
        "Exit codes: 0 after SIGTERM/SIGINT, 2 bad command line, %d the repository or the\n"
        "credentials cannot be used, %d any other start-up failure (e.g. the port is taken).\n",
        CS_EXIT_CONFIG, CS_EXIT_SOFTWARE);
}

const char *cs_env_or(const char *name, const char *dflt)
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
int cs_opts_parse(int argc, char **argv, cs_opts_t *o)
{
    long v;
    o->repo = cs_env_or("CONFIG_SERVER_REPO", NULL);
    o->repo_given = o->repo != NULL;
    if (o->repo == NULL)
        o->repo = "config-repo";
    o->repo_uri = cs_env_or("CONFIG_SERVER_GIT_URI", NULL);
    o->git_basedir = cs_env_or("CONFIG_SERVER_GIT_BASEDIR", NULL);
    o->default_label = cs_env_or("CONFIG_SERVER_DEFAULT_LABEL", "main");
    const char *refresh = cs_env_or("CONFIG_SERVER_GIT_REFRESH_S", "30");
    const char *gtimeout = cs_env_or("CONFIG_SERVER_GIT_TIMEOUT_S", "10");
    const char *gcache = cs_env_or("CONFIG_SERVER_GIT_CACHE", "16");
    const char *gmirrors = cs_env_or("CONFIG_SERVER_GIT_MIRRORS", "16");
    o->git_repos_file = cs_env_or("CONFIG_SERVER_GIT_REPOS_FILE", NULL);
    o->host = cs_env_or("CONFIG_SERVER_HOST", "0.0.0.0");
    o->cred_file = cs_env_or("CONFIG_SERVER_CREDENTIALS_FILE", NULL);
    o->encrypt_key_file = cs_env_or("CONFIG_SERVER_ENCRYPT_KEY_FILE", NULL);
    o->encrypt_key_store =
        cs_env_or("CONFIG_SERVER_ENCRYPT_KEY_STORE", cs_env_or("ENCRYPT_KEY_STORE_LOCATION", NULL));
    if (o->encrypt_key_store != NULL && strncmp(o->encrypt_key_store, "file:", 5) == 0)
        o->encrypt_key_store += 5; /* Spring's resource form of encrypt.key-store.location */
    o->encrypt_key_alias =
        cs_env_or("CONFIG_SERVER_ENCRYPT_KEY_ALIAS", cs_env_or("ENCRYPT_KEY_STORE_ALIAS", NULL));
    o->log_level = cs_env_or("CONFIG_SERVER_LOG_LEVEL", "info");
    o->accept_empty = truthy(cs_env_or("CONFIG_SERVER_ACCEPT_EMPTY", NULL));
    const char *port = cs_env_or("CONFIG_SERVER_PORT", "8888"),
               *threads = cs_env_or("CONFIG_SERVER_THREADS", "2");
    const char *rescan = cs_env_or("CONFIG_SERVER_RESCAN_MS", "2000");
    const char *maxfile = cs_env_or("CONFIG_SERVER_MAX_FILE_BYTES", "1048576");
    const char *watchmax = cs_env_or("CONFIG_SERVER_WATCH_MAX_S", "60");
    const char *maxfail = cs_env_or("CONFIG_SERVER_AUTH_MAX_FAILURES", "10");
    const char *blocks = cs_env_or("CONFIG_SERVER_AUTH_BLOCK_S", "60");
    o->peers = cs_env_or("CONFIG_SERVER_PEERS", NULL);
    o->peers_dns = cs_env_or("CONFIG_SERVER_PEERS_DNS", NULL);
    o->overrides_file = cs_env_or("CONFIG_SERVER_OVERRIDES_FILE", NULL);
    o->search_paths = cs_env_or("CONFIG_SERVER_SEARCH_PATHS", NULL);

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cs_opts_usage(stdout);
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
        if (strcmp(a, "--override") == 0 && next != NULL) {
            if (o->noverride == CS_OPTS_MAX_OVERRIDES) {
                fprintf(stderr, "config-server: more than %d --override flags (use --overrides-file)\n",
                        CS_OPTS_MAX_OVERRIDES);
                return 2;
            }
            if (strchr(next, '=') == NULL || next[0] == '=') {
                fprintf(stderr, "config-server: --override '%s' is not KEY=VALUE\n", next);
                return 2;
            }
            o->override[o->noverride++] = next;
            i++;
            continue;
        }
        if (strcmp(a, "--encrypt-key-pem") == 0 && next != NULL) {
            const char *eq = strchr(next, '=');
            if (eq == NULL || eq == next || eq[1] == '\0' || o->nkey_pem == CS_OPTS_MAX_KEY_PEMS) {
                fprintf(stderr, "config-server: --encrypt-key-pem '%s' is not ALIAS=FILE (at most %d)\n",
                        next, CS_OPTS_MAX_KEY_PEMS);
                return 2;
            }
            o->encrypt_key_pem[o->nkey_pem++] = next;
            i++;
            continue;
        }
        if (strcmp(a, "--repo") == 0)
            o->repo_given = 1;
        const char **slot = strcmp(a, "--repo") == 0                ? &o->repo
                            : strcmp(a, "--repo-uri") == 0          ? &o->repo_uri
                            : strcmp(a, "--git-basedir") == 0       ? &o->git_basedir
                            : strcmp(a, "--default-label") == 0     ? &o->default_label
                            : strcmp(a, "--git-refresh-s") == 0     ? &refresh
                            : strcmp(a, "--git-timeout-s") == 0     ? &gtimeout
                            : strcmp(a, "--git-cache") == 0         ? &gcache
                            : strcmp(a, "--git-mirrors") == 0       ? &gmirrors
                            : strcmp(a, "--git-repos-file") == 0    ? &o->git_repos_file
                            : strcmp(a, "--host") == 0              ? &o->host
                            : strcmp(a, "--port") == 0              ? &port
                            : strcmp(a, "--threads") == 0           ? &threads
                            : strcmp(a, "--rescan-ms") == 0         ? &rescan
                            : strcmp(a, "--credentials-file") == 0  ? &o->cred_file
                            : strcmp(a, "--encrypt-key-file") == 0  ? &o->encrypt_key_file
                            : strcmp(a, "--encrypt-key-store") == 0 ? &o->encrypt_key_store
                            : strcmp(a, "--encrypt-key-alias") == 0 ? &o->encrypt_key_alias
                            : strcmp(a, "--max-file-bytes") == 0    ? &maxfile
                            : strcmp(a, "--log-level") == 0         ? &o->log_level
                            : strcmp(a, "--watch-max-s") == 0       ? &watchmax
                            : strcmp(a, "--peers") == 0             ? &o->peers
                            : strcmp(a, "--peers-dns") == 0         ? &o->peers_dns
                            : strcmp(a, "--overrides-file") == 0    ? &o->overrides_file
                            : strcmp(a, "--search-paths") == 0      ? &o->search_paths

                                                               : NULL;
        if (slot == NULL || next == NULL) {
            fprintf(stderr, "config-server: %s '%s'\n",
                    slot == NULL ? "unknown argument" : "missing value for", a);
            cs_opts_usage(stderr);
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
    if (parse_int(gmirrors, 1, 1024, &v) != 0) {
        fprintf(stderr, "config-server: invalid number of git mirrors '%s' (1..1024)\n", gmirrors);
        return 2;
    }
    o->git_mirrors = (int)v;
    if (o->git_repos_file != NULL && o->repo_uri == NULL) {
        fprintf(stderr, "config-server: --git-repos-file needs --repo-uri (the default repository)\n");
        return 2;
    }
    if (o->default_label[0] == '\0' || strlen(o->default_label) > CS_PATH_NAME_MAX) {
        fprintf(stderr, "config-server: invalid default label '%s'\n", o->default_label);
        return 2;
    }
    if (parse_int(watchmax, 1, 3600, &v) != 0) {
        fprintf(stderr, "config-server: invalid watch maximum '%s' s (1..3600)\n", watchmax);
        return 2;
    }
    o->watch_max_s = (int)v;
    if (parse_int(maxfail, 1, 1000000, &v) != 0) {
        fprintf(stderr, "config-server: invalid CONFIG_SERVER_AUTH_MAX_FAILURES '%s' (1..1000000)\n",
                maxfail);
        return 2;
    }
    o->auth_max_failures = (int)v;
    if (parse_int(blocks, 1, 86400, &v) != 0) {
        fprintf(stderr, "config-server: invalid CONFIG_SERVER_AUTH_BLOCK_S '%s' (1..86400)\n", blocks);
        return 2;
    }
    o->auth_block_s = (int)v;
    if (o->encrypt_key_file != NULL && (o->encrypt_key_store != NULL || o->nkey_pem > 0)) {
        fprintf(stderr, "config-server: give either --encrypt-key-file (one key) or --encrypt-key-store / "
                        "--encrypt-key-pem (keys by alias), not both\n");
        return 2;
    }
    if (clog_level_parse(o->log_level) < 0) {
        fprintf(stderr, "config-server: invalid log level '%s'\n", o->log_level);
        return 2;
    }
    return 0;
}
