/* knownhosts.h — verifies an ssh server's host key against an OpenSSH known_hosts file
 * for the git backend (libgit2 1.5 does not check host keys itself).
 *
 * Lines "host[,host…] keytype base64key" are matched on the host name for port 22 (or
 * "[host]:22"), on "[host]:port" exactly for any other port;
 * hashed entries ("|1|…") and markers ("@revoked", "@cert-authority") are not supported
 * and skipped. A host that is not listed, or listed with other keys only, is refused.
 */
#ifndef CS_KNOWNHOSTS_H
#define CS_KNOWNHOSTS_H

#include <stddef.h>

/* 0 when `key` (raw, `len` bytes) is a known key of `host`:`port` in `file` (NULL → the
 * HOME's ~/.ssh/known_hosts); -1 with the reason in `why`. */
int cs_khosts_check(const char *file, const char *host, int port, const char *key, size_t len, char *why,
                    size_t whylen);
/* The ssh port of a remote URI: ssh://[user@]host[:port]/… → port, else (scp-like
 * user@host:path, no port) 22. */
int cs_khosts_uri_port(const char *uri);

#endif
