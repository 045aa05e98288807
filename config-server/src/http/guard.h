/* guard.h — who is asking, and may they: config-server's endpoints on top of the access
 * table (auth/access.h).
 *
 * Identity: an `Authorization: Basic` header decides when present (a wrong one is 401, even
 * on health); else a verified TLS client certificate whose subject CN is a client with
 * `certificate: true`; else the request is anonymous. Failed logins are logged (address,
 * user name, reason — never the password) and limited per address (429 with Retry-After).
 *
 * With credentials configured: health without details for anonymous callers (details for
 * any identity, as Spring's show-details: when-authorized), liveness/readiness open,
 * everything else needs an identity (401 with WWW-Authenticate), reads need the client's
 * rules (403), and the admin endpoints (/encrypt, /decrypt, /encrypt/status, /key, and
 * /monitor unless its webhook secret vouches) need an admin (403). Without credentials
 * (cs_access_t.open) everything is open except /encrypt and /decrypt, which stay 403.
 */
#ifndef CS_GUARD_H
#define CS_GUARD_H

#include "auth/access.h"
#include "httpd.h"

/* Identifies the request's client into *who (NULL: anonymous). Returns 0, or -1 when it
 * has answered (401 bad credentials, 429 too many failures). */
int cs_guard_identify(cs_access_t *a, h2o_req_t *req, const cs_client_t **who, const clog_t *log);
/* 401 with WWW-Authenticate (no or bad credentials). Returns 0. */
int cs_guard_send_401(h2o_req_t *req, const char *detail);
/* 1 when `who` is an admin (or the table is open and `open_ok`). */
int cs_guard_is_admin(const cs_access_t *a, const cs_client_t *who, int open_ok);

#endif
