/* cfgcli_opts.c — the config client's options: defaults, reading them from the process
 * environment (CONFIG_SERVER_URL, APP_PROFILES, …), applying the credentials and TLS
 * settings to a libcurl handle, and the retry backoff schedule.
 */
#include "cfgcli_int.h"

#include <curl/curl.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

void cfgcli_opts_init(cfgcli_opts_t *o, const char *app)
{
    memset(o, 0, sizeof *o);
    copy_str(o->urls, sizeof o->urls, CFGCLI_DEFAULT_URL);
    copy_str(o->app, sizeof o->app, app);
    copy_str(o->profiles, sizeof o->profiles, CFGCLI_DEFAULT_PROFILES);
    o->format = CFGCLI_FORMAT_JSON;
    o->attempts = CFGCLI_DEFAULT_ATTEMPTS;
    o->initial_backoff_ms = CFGCLI_DEFAULT_INITIAL_BACKOFF_MS;
    o->max_backoff_ms = CFGCLI_DEFAULT_MAX_BACKOFF_MS;
    o->multiplier = CFGCLI_DEFAULT_MULTIPLIER;
    o->jitter = CFGCLI_DEFAULT_JITTER;
    o->connect_timeout_ms = CFGCLI_DEFAULT_CONNECT_TIMEOUT_MS;
    o->request_timeout_ms = CFGCLI_DEFAULT_REQUEST_TIMEOUT_MS;
    o->env_overrides = 1;
    o->envp = NULL;
    o->watch = 1;
    o->watch_interval_ms = CFGCLI_DEFAULT_WATCH_INTERVAL_MS;
    o->watch_wait_s = CFGCLI_DEFAULT_WATCH_WAIT_S;
}

/* Copies env var `name` into dst when set and non-empty. 0, or -1 when too long. */
static int env_str(const char *name, char *dst, size_t cap, char *err, size_t errlen)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0')
        return 0;
    if (strlen(v) >= cap) {
        errbuf_set(err, errlen, "env %s is too long (max %zu bytes)", name, cap - 1);
        return -1;
    }
    copy_str(dst, cap, v);
    return 0;
}

/* Reads a positive integer env var into *out when set. */
static int env_long(const char *name, long min, long max, long *out, char *err, size_t errlen)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0')
        return 0;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end != '\0' || errno != 0 || x < min || x > max) {
        errbuf_set(err, errlen, "env %s = '%s' is not an integer in [%ld, %ld]", name, v, min, max);
        return -1;
    }
    *out = x;
    return 0;
}

int cfgcli_opts_from_env(cfgcli_opts_t *o, const char *app, char *err, size_t errlen)
{
    cfgcli_opts_init(o, app);
    long attempts = o->attempts;
    const char *prof = getenv("APP_PROFILES");
    if (prof == NULL || prof[0] == '\0')
        prof = getenv("SPRING_PROFILES_ACTIVE");
    if (prof != NULL && prof[0] != '\0') {
        if (strlen(prof) >= sizeof o->profiles) {
            errbuf_set(err, errlen, "env APP_PROFILES is too long");
            return -1;
        }
        copy_str(o->profiles, sizeof o->profiles, prof);
    }
    if (env_str("CONFIG_SERVER_URL", o->urls, sizeof o->urls, err, errlen) < 0 ||
        env_str("SPRING_CLOUD_CONFIG_LABEL", o->label, sizeof o->label, err, errlen) < 0 ||
        env_str("CONFIG_LABEL", o->label, sizeof o->label, err, errlen) < 0 ||
        env_str("CONFIG_SERVER_USER", o->user, sizeof o->user, err, errlen) < 0 ||
        env_str("CONFIG_SERVER_PASSWORD", o->password, sizeof o->password, err, errlen) < 0 ||
        env_str("CONFIG_CACHE_FILE", o->cache_file, sizeof o->cache_file, err, errlen) < 0 ||
        env_str("CONFIG_SERVER_CA_FILE", o->ca_file, sizeof o->ca_file, err, errlen) < 0 ||
        env_str("CONFIG_SERVER_CLIENT_CERT", o->client_cert, sizeof o->client_cert, err, errlen) < 0 ||
        env_str("CONFIG_SERVER_CLIENT_KEY", o->client_key, sizeof o->client_key, err, errlen) < 0 ||
        env_long("CONFIG_FETCH_ATTEMPTS", 1, 1000, &attempts, err, errlen) < 0 ||
        env_long("CONFIG_BACKOFF_INITIAL_MS", 0, 3600000, &o->initial_backoff_ms, err, errlen) < 0 ||
        env_long("CONFIG_BACKOFF_MAX_MS", 0, 3600000, &o->max_backoff_ms, err, errlen) < 0 ||
        env_long("CONFIG_CONNECT_TIMEOUT_MS", 1, 3600000, &o->connect_timeout_ms, err, errlen) < 0 ||
        env_long("CONFIG_REQUEST_TIMEOUT_MS", 1, 3600000, &o->request_timeout_ms, err, errlen) < 0 ||
        env_long("CONFIG_WATCH_INTERVAL_MS", 50, 86400000, &o->watch_interval_ms, err, errlen) < 0 ||
        env_long("CONFIG_WATCH_WAIT_S", 1, 3600, &o->watch_wait_s, err, errlen) < 0)
        return -1;
    o->attempts = (int)attempts;
    const char *fmt = getenv("CONFIG_FORMAT");
    if (fmt != NULL && fmt[0] != '\0') {
        if (strcasecmp(fmt, "json") == 0)
            o->format = CFGCLI_FORMAT_JSON;
        else if (strcasecmp(fmt, "yaml") == 0 || strcasecmp(fmt, "yml") == 0)
            o->format = CFGCLI_FORMAT_YAML;
        else {
            errbuf_set(err, errlen, "env CONFIG_FORMAT = '%s' is not json or yaml", fmt);
            return -1;
        }
    }
    if (o->client_key[0] && !o->client_cert[0]) {
        errbuf_set(err, errlen, "env CONFIG_SERVER_CLIENT_KEY is set but CONFIG_SERVER_CLIENT_CERT is not");
        return -1;
    }
    const char *w = getenv("CONFIG_WATCH");
    if (w != NULL && w[0] != '\0') {
        if (strcasecmp(w, "false") == 0 || strcmp(w, "0") == 0 || strcasecmp(w, "no") == 0 ||
            strcasecmp(w, "off") == 0)
            o->watch = 0;
        else if (!(strcasecmp(w, "true") == 0 || strcmp(w, "1") == 0 || strcasecmp(w, "yes") == 0 ||
                   strcasecmp(w, "on") == 0)) {
            errbuf_set(err, errlen, "env CONFIG_WATCH = '%s' is not true or false", w);
            return -1;
        }
    }
    const char *ov = getenv("CONFIG_ENV_OVERRIDES");
    if (ov != NULL && (strcasecmp(ov, "false") == 0 || strcmp(ov, "0") == 0 || strcasecmp(ov, "no") == 0))
        o->env_overrides = 0;
    return 0;
}

void cfgcli_opts_curl(void *curl, const cfgcli_opts_t *o)
{
    CURL *h = curl;
    if (o->user[0]) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, o->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, o->password);
    }
    if (o->ca_file[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
    if (o->client_cert[0]) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, o->client_cert);
        curl_easy_setopt(h, CURLOPT_SSLKEY, o->client_key[0] ? o->client_key : o->client_cert);
    }
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
}

long cfgcli_backoff_ms(const cfgcli_opts_t *o, int round, uint32_t rnd)
{
    if (round < 1)
        round = 1;
    double mult = o->multiplier < 1.0 ? 1.0 : o->multiplier;
    double maxd = (double)(o->max_backoff_ms < 0 ? 0 : o->max_backoff_ms);
    double d = (double)(o->initial_backoff_ms < 0 ? 0 : o->initial_backoff_ms);
    for (int i = 1; i < round && d < maxd; i++)
        d *= mult;
    if (d > maxd)
        d = maxd;
    double j = o->jitter < 0 ? 0 : (o->jitter > 1 ? 1 : o->jitter);
    d *= 1.0 - j + 2.0 * j * ((double)rnd / 4294967296.0);
    if (d > maxd)
        d = maxd;
    return (long)llround(d);
}

uint32_t cfgcli_rand32(void)
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        r = (uint32_t)ts.tv_nsec * 2654435761u;
    }
    return r;
}
