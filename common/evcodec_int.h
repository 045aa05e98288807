/* evcodec_int.h — internals of the event codec shared by evcodec.c and
 * evcodec_registry.c. Not for use outside common/evcodec*.c. */
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

#endif
