/* answer.h — what one environment request (JSON Environment or a flat .yml/.properties/
 * .json form) resolves to, computed the same way for a plain GET and for the watch hub's
 * re-evaluation of a held request (http/watchreq.c).
 *
 *     cs_answer_t a;
 *     cs_answer_eval(h, &q, &a);          // status + ETag (the memo's body when it has one)
 *     if (a.status == 200 && the client's If-None-Match lists a.etag) → 304 / hold
 *     else cs_answer_body(h, &q, &a) → cs_answer_send(req, &a);
 *     cs_answer_done(h, &a);
 *
 * The ETag identifies the resolved environment, not the repository: it is a hash over the
 * request (form, media type, applications, profiles, label), how sources are named, and
 * for each property source that applies its file (path and content digest) and document.
 * An edit of another application's file, or a commit that changes nothing this request
 * reads, leaves it as it is (`version` in the JSON body may then be older than the
 * repository's). It is strong and quoted: "<32 hex digits>".
 */
#ifndef CS_ANSWER_H
#define CS_ANSWER_H

#include <stddef.h>

#include "dbuf.h"
#include "env/environment.h"
#include "http/routes.h"
#include "repo/store.h"

/* One evaluable request: the parsed path plus what else selects the representation. */
typedef struct cs_query {
    cs_req_t r;     /* CS_REQ_ENV or CS_REQ_FLAT */
    int v2;         /* the v2 media type (JSON Environment) */
    int resolve;    /* placeholders resolved (flat forms) */
    char key[2600]; /* the memo key: every field above */
} cs_query_t;

typedef struct cs_answer {
    int status;        /* 200, or the status of a problem (400, 404, 500, 503) */
    const char *title; /* problem title (static) */
    char detail[2048]; /* problem detail */
    char etag[40];     /* 200: "\"<32 hex>\"" */
    const char *ctype; /* 200 with a body: static */
    const char *body;  /* 200 after cs_answer_body: borrowed from the memo or `own` */
    size_t len;
    dbuf_t own;       /* a rendered body the memo did not take */
    cs_env_t *env;    /* owned: the sources, until the body is rendered */
    cs_lease_t lease; /* held from eval to done */
    int leased;
} cs_answer_t;

/* Fills `q` from a parsed request and its representation choices. */
void cs_query_init(cs_query_t *q, const cs_req_t *r, int v2, int resolve);
/* Fills `q` back from its key (q->key as cs_query_init made it). 0, or -1 when `key` is
 * not such a key. */
int cs_query_from_key(cs_query_t *q, const char *key);

/* Evaluates `q` against the store of `h`: leases the label's snapshot, then the memo's
 * entry or the sources and their ETag. Always fills `a` (status 200 or a problem); call
 * cs_answer_done afterwards in every case. */
void cs_answer_eval(cs_http_t *h, const cs_query_t *q, cs_answer_t *a);
/* Renders the body of a 200 answer if it has none yet (memoised per snapshot). May turn
 * `a` into a problem (a placeholder cycle: 400; out of memory: 500). */
void cs_answer_body(cs_http_t *h, const cs_query_t *q, cs_answer_t *a);
/* Sends `a` (status, ETag and Cache-Control on 200, the body — cs_answer_body first — or
 * the problem); with `not_modified` a 200 is sent as 304 with its ETag and no body.
 * Returns 0. */
int cs_answer_send(h2o_req_t *req, const cs_answer_t *a, int not_modified);
/* Releases the lease and frees what `a` owns. */
void cs_answer_done(cs_http_t *h, cs_answer_t *a);

/* An ETag from a digest: "\"<32 hex>\"" of md's first 16 bytes (`ok` 0: "\"\""), into out
 * (size ≥ 35). The environment's and plaintext.c's answers share it. */
void cs_etag_format(const unsigned char *md, int ok, char *out, size_t size);

#endif
