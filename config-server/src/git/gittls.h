/* gittls.h — checking a git remote's TLS certificate against a CA bundle of the remote's
 * own (CONFIG_SERVER_GIT_CA_FILE: a corporate or test CA that the system trust store does
 * not hold). libgit2 verifies against the system's store first; when that fails it hands
 * the peer's certificate to the fetch's certificate callback, which asks this module. */
#ifndef CS_GITTLS_H
#define CS_GITTLS_H

#include <stddef.h>

/* Verifies the DER certificate `der` (`len` bytes) of `host` (a DNS name or an IP address)
 * against the PEM bundle `ca_file`: signed by one of its certificates (intermediates must
 * be in the bundle: libgit2 hands over the leaf only), in its validity period, issued for
 * `host`. 0, or -1 with `why` saying what failed. */
int cs_gittls_verify(const char *ca_file, const char *host, const unsigned char *der, size_t len, char *why,
                     size_t whylen);

#endif
