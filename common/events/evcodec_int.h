/* evcodec_int.h — internals of the event codec shared by evcodec.c (the catalog),
 * evcodec_encode.c, evcodec_decode.c, evcodec_registry.c (registering, the compatibility
 * check, the HTTP call), evcodec_compat.c (writer vs reader) and evcodec_resolve.c (writer schemas looked up
 * by id, cached). Not for use outside common/events/evcodec*.c. The others build on evcodec.c, which calls
 * none of them; evcodec_decode.c calls evcodec_resolve.c, which calls evcodec_registry.c; both of these call
 * evcodec_compat.c (schema resolution's checks), which calls none. */
#ifndef CQ_EVCODEC_INT_H
#define CQ_EVCODEC_INT_H

#include <pthread.h>

#include <avro.h>

#include "dbuf.h"
#include "evcodec.h"
#include "metrics.h"

#define EVCODEC_MAX_SCHEMAS 32
#define EVCODEC_CATALOG_NAME "catalog.tsv"

typedef struct evcodec_entry {
    int32_t id;         /* the id on the wire: the catalog's, or the registry's */
    int32_t catalog_id; /* the catalog's id: defines "newest" even after re-keying */
    char subject[128];
    const char *text; /* borrowed from the embedded file set (static) */
    avro_schema_t schema;
    avro_value_iface_t *iface;
} evcodec_entry_t;

/* Where the registry is and how to talk to it (copied strings, owned by the holder). */
typedef struct evcodec_regconf {
    char *url; /* no trailing '/' */
    char *user, *password;
    long timeout_ms;
} evcodec_regconf_t;

/* A writer schema the registry gave for an id (evcodec_resolve.c). Shared by the cache and
 * the decoders using it: `refs` counts both, under the resolver's mutex; the last release
 * frees it. */
typedef struct evcodec_wschema {
    int32_t id;
    avro_schema_t schema;      /* NULL when `bad` says why it cannot be used */
    avro_value_iface_t *iface; /* its generic class */
    char bad[256];             /* "" or why records under it are poison (definite) */
    unsigned refs;
    unsigned long long used; /* the resolver's tick at its last use (least recently used goes) */
} evcodec_wschema_t;

/* The registry lookups of a consumer (evcodec_resolve_by_registry). */
typedef struct evcodec_resolver {
    evcodec_regconf_t conf;
    size_t max;                    /* the most schemas cached */
    const evcodec_entry_t *reader; /* the codec's newest customer schema (borrowed) */
    metrics_t *metrics;            /* borrowed, may be NULL */
    pthread_mutex_t mu;            /* guards what follows */
    evcodec_wschema_t **cache;
    size_t n, cap;
    unsigned long long tick;
} evcodec_resolver_t;

struct evcodec {
    evcodec_entry_t e[EVCODEC_MAX_SCHEMAS];
    size_t n;
    evcodec_resolver_t *res; /* owned; NULL = ids from the catalog (or re-keyed by a registry) */
    void (*res_free)(evcodec_resolver_t *r); /* frees res (set with it: evcodec.c calls no resolver code) */
};

/* ---- evcodec.c ---- */
/* The entry whose wire id is `id`, or NULL. Borrowed. */
const evcodec_entry_t *evcodec_by_id(const evcodec_t *c, int32_t id);
/* The newest (highest catalog id) entry of `subject`, or NULL. Borrowed. */
const evcodec_entry_t *evcodec_latest(const evcodec_t *c, const char *subject);

/* ---- evcodec_compat.c ---- */
/* Can records written under `writer` be read as `reader`'s record (schema resolution as the
 * decoder applies it: the same record name; every reader field in the writer with a readable
 * type, or with a default in the reader's text)? 0, or -1 with why ("it lacks field x, which
 * has no default"). */
int evcodec_readable(const evcodec_entry_t *reader, avro_schema_t writer, char *why, size_t whylen);

/* ---- evcodec_registry.c ---- */
/* One call to the registry at conf->url + path: GET when body is NULL, else POST of the JSON
 * body. *status gets the HTTP status, `out` (initialised by the caller) the answer's body.
 * Returns 0 when an answer came (whatever its status), -1 when none did (err names the URL
 * and the transport's error: refused, timed out …). */
int evcodec_http(const evcodec_regconf_t *conf, const char *path, const char *body, long *status, dbuf_t *out,
                 char *err, size_t errlen);
/* The Confluent error code of an answer body ({"error_code": 40403, …}), or 0. */
long evcodec_http_error_code(const char *body);

/* ---- evcodec_resolve.c ---- */
/* The writer schema of registry id `id` (a reference the caller gives back with
 * evcodec_wschema_release), from the cache or the registry. On failure NULL and *rc:
 * EVCODEC_E_UNKNOWN_ID (the registry says no such id), EVCODEC_E_REGISTRY (no usable
 * answer: retry later); err says which. A schema that is there but unusable comes back
 * with its `bad` text set (the caller makes the record poison). */
evcodec_wschema_t *evcodec_wschema_get(evcodec_resolver_t *r, int32_t id, evcodec_err_t *rc, char *err,
                                       size_t errlen);
void evcodec_wschema_release(evcodec_resolver_t *r, evcodec_wschema_t *w);

#endif
