/* peers.h — POST /monitor reaches every config-server replica: the replica that receives a
 * webhook answers it at once and forwards a copy to its peers from a background thread
 * (libcurl, all peers at once; 2 s to connect, 5 s in all), so each replica fetches (git)
 * or re-reads (folder) and wakes its own watchers, whichever replica the webhook reached.
 *
 * Peers: a static list (--peers "host:port,https://host:port,…") and/or a DNS name that
 * resolves to every replica (--peers-dns name[:port], a Kubernetes headless Service;
 * resolved again for each webhook, so scaling needs no restart; the port defaults to ours).
 * This replica is left out: an address of one of its own interfaces on its own port, and
 * (a static list naming it) a forwarded request carrying its own instance id.
 *
 * Loop-safe: a forwarded request carries `X-Config-Monitor-Forwarded: <instance id of the
 * origin>` and is never forwarded again. Authenticated as any /monitor request is: with a
 * webhook secret the copy is signed with it (X-Hub-Signature-256 over the body, which every
 * replica checks); without one the original Authorization header goes along; over TLS the
 * optional client certificate (CONFIG_SERVER_PEERS_CLIENT_CERT/_KEY) identifies the sender.
 * The original event headers and Content-Type are kept, so a peer reads the same payload.
 * Every forward is logged with each peer's status; a peer that fails is logged (warn) and
 * not retried (the periodic fetch remains the fallback).
 */
#ifndef CS_PEERS_H
#define CS_PEERS_H

#include <stddef.h>

#include "clog.h"
#include "httpd.h"

typedef struct cs_peers cs_peers_t;

typedef struct cs_peers_opts {
    const char *list;      /* "host:port,scheme://host:port,…" or NULL */
    const char *dns;       /* "name[:port]" or NULL */
    int self_port;         /* ours: the DNS peers' default port, and how we recognise ourselves */
    const char *secret;    /* the webhook secret the copies are signed with, or NULL */
    int tls;               /* peers speak https (we do) */
    const char *ca_file;   /* CA of the peers' certificates (https), or NULL: the system's */
    const char *cert_file; /* client certificate + key for peers that want one, or NULL */
    const char *key_file;
    const clog_t *log; /* borrowed, may be NULL */
} cs_peers_opts_t;

/* A forwarder (its thread started), or NULL with `err` filled (a malformed list). The
 * strings of `o` are borrowed and must outlive it. curl_global_init must have run. */
cs_peers_t *cs_peers_new(const cs_peers_opts_t *o, char *err, size_t errlen);
/* Stops the thread (a forward in flight finishes first) and frees. NULL-safe. */
void cs_peers_free(cs_peers_t *p);

/* This process's instance id (32 hex digits). */
const char *cs_peers_id(const cs_peers_t *p);
/* Queues a copy of the accepted POST /monitor `req` for every peer (on a loop thread; never
 * blocks: when 16 forwards are already waiting the oldest is dropped and logged). */
void cs_peers_forward(cs_peers_t *p, h2o_req_t *req);

#endif
