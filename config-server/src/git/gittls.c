/* gittls.c — a git remote's TLS certificate checked against the CA bundle configured for
 * it (OpenSSL's X509 store: chain, validity and host name). See gittls.h. */
#include "git/gittls.h"

#include <stdio.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "errbuf.h"

/* 1 when `host` is an IPv4 or IPv6 literal (checked as an address, not a DNS name). */
static int is_ip(const char *host)
{
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(host);
    int yes = ip != NULL;
    ASN1_OCTET_STRING_free(ip);
    return yes;
}

int cs_gittls_verify(const char *ca_file, const char *host, const unsigned char *der, size_t len, char *why,
                     size_t whylen)
{
    int rc = -1;
    const unsigned char *p = der;
    X509 *leaf = d2i_X509(NULL, &p, (long)len);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (leaf == NULL) {
        errbuf_set(why, whylen, "the remote's certificate cannot be parsed");
        goto cleanup;
    }
    if (store == NULL || ctx == NULL) {
        errbuf_set(why, whylen, "out of memory");
        goto cleanup;
    }
    if (X509_STORE_load_file(store, ca_file) != 1) {
        snprintf(why, whylen, "cannot read the CA bundle %s (CONFIG_SERVER_GIT_CA_FILE)", ca_file);
        goto cleanup;
    }
    if (X509_STORE_CTX_init(ctx, store, leaf, NULL) != 1) {
        errbuf_set(why, whylen, "out of memory");
        goto cleanup;
    }
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    if ((is_ip(host) ? X509_VERIFY_PARAM_set1_ip_asc(param, host)
                     : X509_VERIFY_PARAM_set1_host(param, host, 0)) != 1) {
        snprintf(why, whylen, "cannot check the certificate for host %s", host);
        goto cleanup;
    }
    if (X509_verify_cert(ctx) != 1) {
        snprintf(why, whylen, "the certificate of %s is not trusted by %s: %s", host, ca_file,
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        goto cleanup;
    }
    rc = 0;
cleanup:
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(leaf);
    return rc;
}
