/* evcodec_int.h — internals of the event codec shared by evcodec.c (the catalog),
 * evcodec_encode.c, evcodec_decode.c and evcodec_registry.c. Not for use outside
 * common/evcodec*.c. The other three build on evcodec.c, which calls none of them. */
#ifndef CQ_EVCODEC_INT_H
#define CQ_EVCODEC_INT_H

#include <avro.h>

#include "evcodec.h"

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

struct evcodec {
    evcodec_entry_t e[EVCODEC_MAX_SCHEMAS];
    size_t n;
};

/* ---- evcodec.c ---- */
/* The entry whose wire id is `id`, or NULL. Borrowed. */
const evcodec_entry_t *evcodec_by_id(const evcodec_t *c, int32_t id);
/* The newest (highest catalog id) entry of `subject`, or NULL. Borrowed. */
const evcodec_entry_t *evcodec_latest(const evcodec_t *c, const char *subject);

#endif
