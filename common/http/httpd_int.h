/* httpd_int.h — what httpd.c (listener, loop threads) uses of httpd_tls.c (the TLS context
 * and its reload). Calls go one way: httpd.c → httpd_tls.c. */
#ifndef CQ_HTTPD_INT_H
#define CQ_HTTPD_INT_H

#include <openssl/ssl.h>

#include "httpd.h"

typedef struct httpd_tls httpd_tls_t;

/* Loads the certificate, key and client CA of `o` into a first SSL_CTX (checked: the key
 * matches the certificate). NULL with `err` filled when they cannot be used. `o` and `log`
 * are borrowed (their strings must outlive the result). */
httpd_tls_t *httpd_tls_new(const httpd_tls_opts_t *o, const clog_t *log, char *err, size_t errlen);

/* Starts the thread that polls the files and swaps in a new SSL_CTX when they change.
 * 0 or -1. */
int httpd_tls_start(httpd_tls_t *t);

/* On a loop thread, before accepting: when a newer SSL_CTX than *gen exists, releases
 * *ctx (may be NULL), stores a new reference to the current one in *ctx and its generation
 * in *gen. The caller owns one reference in *ctx (SSL_CTX_free at the end). */
void httpd_tls_refresh(httpd_tls_t *t, SSL_CTX **ctx, unsigned *gen);

/* Stops the reload thread and frees (connections keep their own SSL_CTX references).
 * NULL-safe. */
void httpd_tls_free(httpd_tls_t *t);

#endif
