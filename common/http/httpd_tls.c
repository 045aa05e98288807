/* httpd_tls.c — TLS for httpd (httpd.h): the server SSL_CTX (TLS 1.2+, a modern cipher
 * list, HTTP/1.1 by ALPN, optional client certificates), its reload when the certificate,
 * key or CA file changes (a poll thread; cert-manager rotates them), the verified client
 * identity of a request, and the client-auth option's parser. httpd.c takes the current
 * SSL_CTX for each accepted connection (httpd_int.h).
 */
#include "httpd_int.h"

#include "errbuf.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

/* TLS 1.2 suites: forward secrecy and AEAD only (ECDHE + AES-GCM / ChaCha20-Poly1305). TLS
 * 1.3's are OpenSSL's defaults (all AEAD). */
#define HTTPD_TLS12_CIPHERS                                                                                  \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"               \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define HTTPD_TLS_RETIRED_MAX 8
/* A replaced SSL_CTX stays referenced this long: h2o keeps a bare pointer to it from the
 * accept until the first bytes of the handshake (its SSL then holds a reference), and a
 * handshake that has not started by h2o's 10 s handshake timeout is closed. */
#define HTTPD_TLS_RETIRE_MS 60000

typedef struct httpd_tls_stamp {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    int missing;
} httpd_tls_stamp_t;

typedef struct httpd_tls_retired {
    SSL_CTX *ctx;
    long long at_ms;
} httpd_tls_retired_t;

struct httpd_tls {
    httpd_tls_opts_t o;
    const clog_t *log;
    pthread_mutex_t mu;
    SSL_CTX *cur; /* one reference, under mu */
    atomic_uint gen;
    httpd_tls_retired_t retired[HTTPD_TLS_RETIRED_MAX];
    int nretired;
    httpd_tls_stamp_t seen[3];
    pthread_t thread;
    int thread_started;
    pthread_cond_t cv;
    int stop; /* under mu */
};

static const h2o_iovec_t httpd_tls_alpn[] = {{H2O_STRLIT("http/1.1")}, {NULL, 0}};

static long long httpd_tls_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void httpd_tls_ossl_err(char *err, size_t errlen, const char *what, const char *file)
{
    char e[256] = "";
    unsigned long code = ERR_peek_last_error();
    if (code != 0)
        ERR_error_string_n(code, e, sizeof e);
    ERR_clear_error();
    errbuf_set(err, errlen, "%s %s: %s", what, file, e[0] ? e : "unknown OpenSSL error");
}

/* A new server SSL_CTX from the files of `o`. NULL with err filled. */
static SSL_CTX *httpd_tls_build(const httpd_tls_opts_t *o, char *err, size_t errlen)
{
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());
    STACK_OF(X509_NAME) *names = NULL;
    ERR_clear_error();
    if (c == NULL) {
        httpd_tls_ossl_err(err, errlen, "cannot create an SSL context", "");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_set_cipher_list(c, HTTPD_TLS12_CIPHERS) != 1 ||
        SSL_CTX_set1_groups_list(c, "X25519:P-256:P-384") != 1) {
        httpd_tls_ossl_err(err, errlen, "cannot set the cipher list", "");
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(c, o->cert_file) != 1) {
        httpd_tls_ossl_err(err, errlen, "cannot load the certificate", o->cert_file);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(c, o->key_file, SSL_FILETYPE_PEM) != 1) {
        int mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
        httpd_tls_ossl_err(err, errlen,
                           mismatch ? "the private key does not match the certificate"
                                    : "cannot load the private key",
                           o->key_file);
        goto fail;
    }
    if (SSL_CTX_check_private_key(c) != 1) {
        httpd_tls_ossl_err(err, errlen, "the private key does not match the certificate", o->key_file);
        goto fail;
    }
    /* a session resumed under client verification needs a context id */
    SSL_CTX_set_session_id_context(c, (const unsigned char *)"cq-httpd", 8);
    if (o->client_auth != HTTPD_CLIENT_AUTH_NONE) {
        if (SSL_CTX_load_verify_locations(c, o->client_ca_file, NULL) != 1 ||
            (names = SSL_load_client_CA_file(o->client_ca_file)) == NULL) {
            httpd_tls_ossl_err(err, errlen, "cannot load the client CA file", o->client_ca_file);
            goto fail;
        }
        SSL_CTX_set_client_CA_list(c, names); /* takes `names` */
        SSL_CTX_set_verify(
            c,
            SSL_VERIFY_PEER |
                (o->client_auth == HTTPD_CLIENT_AUTH_NEED ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
            NULL);
        SSL_CTX_set_verify_depth(c, 5);
    }
    h2o_ssl_register_alpn_protocols(c, httpd_tls_alpn);
    return c;
fail:
    SSL_CTX_free(c);
    return NULL;
}

static void httpd_tls_stamp(const char *path, httpd_tls_stamp_t *st)
{
    struct stat sb;
    memset(st, 0, sizeof *st);
    if (path == NULL || path[0] == '\0')
        return;
    if (stat(path, &sb) != 0) {
        st->missing = 1;
        return;
    }
    st->dev = sb.st_dev;
    st->ino = sb.st_ino;
    st->size = sb.st_size;
    st->mtime = sb.st_mtim;
}

static int httpd_tls_stamps_differ(const httpd_tls_stamp_t *a, const httpd_tls_stamp_t *b)
{
    for (int i = 0; i < 3; i++)
        if (a[i].dev != b[i].dev || a[i].ino != b[i].ino || a[i].size != b[i].size ||
            a[i].mtime.tv_sec != b[i].mtime.tv_sec || a[i].mtime.tv_nsec != b[i].mtime.tv_nsec ||
            a[i].missing != b[i].missing)
            return 1;
    return 0;
}

static void httpd_tls_stamps(const httpd_tls_t *t, httpd_tls_stamp_t st[3])
{
    httpd_tls_stamp(t->o.cert_file, &st[0]);
    httpd_tls_stamp(t->o.key_file, &st[1]);
    httpd_tls_stamp(t->o.client_auth != HTTPD_CLIENT_AUTH_NONE ? t->o.client_ca_file : NULL, &st[2]);
}

httpd_tls_t *httpd_tls_new(const httpd_tls_opts_t *o, const clog_t *log, char *err, size_t errlen)
{
    if (o->key_file == NULL || o->key_file[0] == '\0') {
        errbuf_set(err, errlen, "TLS: a certificate without a private key file");
        return NULL;
    }
    if (o->client_auth != HTTPD_CLIENT_AUTH_NONE &&
        (o->client_ca_file == NULL || o->client_ca_file[0] == '\0')) {
        errbuf_set(err, errlen, "TLS: client authentication needs a CA file (trust certificate)");
        return NULL;
    }
    httpd_tls_t *t = calloc(1, sizeof *t);
    if (t == NULL) {
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    t->o = *o;
    if (t->o.reload_interval_ms <= 0)
        t->o.reload_interval_ms = 5000;
    t->log = log;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    httpd_tls_stamps(t, t->seen);
    t->cur = httpd_tls_build(&t->o, err, errlen);
    if (t->cur == NULL) {
        httpd_tls_free(t);
        return NULL;
    }
    atomic_init(&t->gen, 1);
    return t;
}

/* Frees retired contexts older than HTTPD_TLS_RETIRE_MS (all with `all`); under mu. */
static void httpd_tls_reap(httpd_tls_t *t, int all)
{
    long long now = httpd_tls_now_ms();
    int keep = 0;
    for (int i = 0; i < t->nretired; i++) {
        if (all || now - t->retired[i].at_ms >= HTTPD_TLS_RETIRE_MS)
            SSL_CTX_free(t->retired[i].ctx);
        else
            t->retired[keep++] = t->retired[i];
    }
    t->nretired = keep;
}

/* One poll: a change of any file → try a new context. */
static void httpd_tls_check(httpd_tls_t *t)
{
    httpd_tls_stamp_t now[3];
    char err[512];
    httpd_tls_stamps(t, now);
    pthread_mutex_lock(&t->mu);
    httpd_tls_reap(t, 0);
    pthread_mutex_unlock(&t->mu);
    if (!httpd_tls_stamps_differ(now, t->seen))
        return;
    memcpy(t->seen, now, sizeof now);
    SSL_CTX *c = httpd_tls_build(&t->o, err, sizeof err);
    if (c == NULL) {
        if (t->log != NULL)
            clog_warn(t->log,
                      "httpd: TLS files changed but cannot be used (%s); keeping the previous certificate",
                      err);
        return;
    }
    pthread_mutex_lock(&t->mu);
    if (t->nretired == HTTPD_TLS_RETIRED_MAX) {
        pthread_mutex_unlock(&t->mu);
        SSL_CTX_free(c);
        memset(t->seen, 0, sizeof t->seen); /* try again at the next poll */
        return;
    }
    t->retired[t->nretired++] = (httpd_tls_retired_t){t->cur, httpd_tls_now_ms()};
    t->cur = c;
    atomic_fetch_add(&t->gen, 1);
    pthread_mutex_unlock(&t->mu);
    if (t->log != NULL)
        clog_info(t->log, "httpd: TLS certificate reloaded from %s (new connections use it)", t->o.cert_file);
}

static void *httpd_tls_main(void *arg)
{
    httpd_tls_t *t = arg;
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += t->o.reload_interval_ms / 1000;
        until.tv_nsec += (long)(t->o.reload_interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!t->stop && pthread_cond_timedwait(&t->cv, &t->mu, &until) != ETIMEDOUT) {
        }
        if (t->stop)
            break;
        pthread_mutex_unlock(&t->mu);
        httpd_tls_check(t);
        pthread_mutex_lock(&t->mu);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

int httpd_tls_start(httpd_tls_t *t)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_destroy(&t->cv);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&t->thread, NULL, httpd_tls_main, t) != 0)
        return -1;
    t->thread_started = 1;
    return 0;
}

void httpd_tls_refresh(httpd_tls_t *t, SSL_CTX **ctx, unsigned *gen)
{
    unsigned g = atomic_load(&t->gen);
    if (*ctx != NULL && g == *gen)
        return;
    pthread_mutex_lock(&t->mu);
    SSL_CTX_up_ref(t->cur);
    SSL_CTX *old = *ctx;
    *ctx = t->cur;
    *gen = atomic_load(&t->gen);
    pthread_mutex_unlock(&t->mu);
    SSL_CTX_free(old); /* the retired list keeps it alive for a pending handshake */
}

void httpd_tls_free(httpd_tls_t *t)
{
    if (t == NULL)
        return;
    if (t->thread_started) {
        pthread_mutex_lock(&t->mu);
        t->stop = 1;
        pthread_cond_signal(&t->cv);
        pthread_mutex_unlock(&t->mu);
        pthread_join(t->thread, NULL);
    }
    httpd_tls_reap(t, 1);
    SSL_CTX_free(t->cur);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* ---------------------------------------------------------------- the peer */

/* The SSL of the request's connection, or NULL. h2o 2.2.5 has no accessor for it: its
 * (private) struct st_h2o_socket_ssl_t starts with the SSL_CTX and the SSL. The two are
 * checked against each other, so another layout gives NULL (no identity), never a wrong
 * pointer's data. */
static SSL *httpd_req_ssl(h2o_req_t *req)
{
    struct httpd_h2o_ssl_head {
        SSL_CTX *ctx;
        SSL *ossl;
    } * head;
    if (req == NULL || req->conn == NULL || req->conn->callbacks->get_socket == NULL)
        return NULL;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    if (sock == NULL || sock->ssl == NULL)
        return NULL;
    head = (struct httpd_h2o_ssl_head *)(void *)sock->ssl;
    if (head->ossl == NULL || head->ctx == NULL || SSL_get_SSL_CTX(head->ossl) != head->ctx)
        return NULL;
    return head->ossl;
}

int httpd_is_tls(h2o_req_t *req)
{
    if (req == NULL || req->conn == NULL || req->conn->callbacks->get_socket == NULL)
        return 0;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    return sock != NULL && sock->ssl != NULL;
}

/* The verified peer certificate (borrowed) or NULL. */
static X509 *httpd_verified_peer(h2o_req_t *req)
{
    SSL *ssl = httpd_req_ssl(req);
    if (ssl == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
        return NULL;
    if (!(SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER))
        return NULL;
    return SSL_get0_peer_certificate(ssl);
}

int httpd_client_cert_cn(h2o_req_t *req, char *cn, size_t cnlen)
{
    if (cn != NULL && cnlen > 0)
        cn[0] = '\0';
    X509 *x = httpd_verified_peer(req);
    if (x == NULL || cn == NULL || cnlen == 0)
        return 0;
    X509_NAME *subj = X509_get_subject_name(x);
    int i = subj != NULL ? X509_NAME_get_index_by_NID(subj, NID_commonName, -1) : -1;
    if (i < 0)
        return 0;
    ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, d);
    if (n <= 0 || memchr(utf8, '\0', (size_t)n) != NULL) {
        OPENSSL_free(utf8);
        return 0;
    }
    snprintf(cn, cnlen, "%.*s", n, (const char *)utf8);
    OPENSSL_free(utf8);
    return 1;
}

int httpd_client_cert_has_san(h2o_req_t *req, const char *name)
{
    X509 *x = httpd_verified_peer(req);
    int found = 0;
    if (x == NULL || name == NULL || name[0] == '\0')
        return 0;
    GENERAL_NAMES *sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    size_t nlen = strlen(name);
    for (int i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans) && !found; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        if (g->type != GEN_DNS && g->type != GEN_URI)
            continue;
        const ASN1_IA5STRING *s = g->type == GEN_DNS ? g->d.dNSName : g->d.uniformResourceIdentifier;
        const char *v = (const char *)ASN1_STRING_get0_data(s);
        if ((size_t)ASN1_STRING_length(s) != nlen)
            continue;
        found = g->type == GEN_DNS ? strncasecmp(v, name, nlen) == 0 : memcmp(v, name, nlen) == 0;
    }
    GENERAL_NAMES_free(sans);
    return found;
}

static const char *httpd_env(const char *prefix, const char *name, char *var, size_t cap)
{
    snprintf(var, cap, "%s%s", prefix, name);
    const char *v = getenv(var);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static int httpd_env_int(const char *v, const char *var, long lo, long hi, int *out, char *err, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || x < lo || x > hi) {
        errbuf_set(err, errlen, "%s = '%s' is not an integer in [%ld, %ld]", var, v, lo, hi);
        return -1;
    }
    *out = (int)x;
    return 0;
}

int httpd_opts_from_env(httpd_opts_t *o, const char *prefix, char *err, size_t errlen)
{
    char var[128];
    const char *v;
    o->tls = (httpd_tls_opts_t){0};
    if ((v = httpd_env(prefix, "MAX_CONNECTIONS", var, sizeof var)) != NULL &&
        httpd_env_int(v, var, 1, 1000000, &o->max_connections, err, errlen) != 0)
        return -1;
    if ((v = httpd_env(prefix, "SSL_RELOAD_INTERVAL_MS", var, sizeof var)) != NULL &&
        httpd_env_int(v, var, 100, 3600000, &o->tls.reload_interval_ms, err, errlen) != 0)
        return -1;
    o->tls.cert_file = httpd_env(prefix, "SSL_CERTIFICATE", var, sizeof var);
    o->tls.key_file = httpd_env(prefix, "SSL_CERTIFICATE_PRIVATE_KEY", var, sizeof var);
    o->tls.client_ca_file = httpd_env(prefix, "SSL_TRUST_CERTIFICATE", var, sizeof var);
    if ((v = httpd_env(prefix, "SSL_CLIENT_AUTH", var, sizeof var)) != NULL &&
        httpd_client_auth_parse(v, &o->tls.client_auth) != 0) {
        errbuf_set(err, errlen, "%s = '%s' is not none, want or need", var, v);
        return -1;
    }
    if (o->tls.cert_file == NULL &&
        (o->tls.key_file != NULL || o->tls.client_auth != HTTPD_CLIENT_AUTH_NONE)) {
        errbuf_set(err, errlen,
                   "%sSSL_CERTIFICATE is needed with %sSSL_CERTIFICATE_PRIVATE_KEY / %sSSL_CLIENT_AUTH",
                   prefix, prefix, prefix);
        return -1;
    }
    return 0;
}

int httpd_client_auth_parse(const char *s, httpd_client_auth_t *out)
{
    if (s == NULL || s[0] == '\0' || strcasecmp(s, "none") == 0)
        *out = HTTPD_CLIENT_AUTH_NONE;
    else if (strcasecmp(s, "want") == 0)
        *out = HTTPD_CLIENT_AUTH_WANT;
    else if (strcasecmp(s, "need") == 0)
        *out = HTTPD_CLIENT_AUTH_NEED;
    else
        return -1;
    return 0;
}
