/* evcodec_compat.c — can records written under a writer schema be read as the reader's
 * record? Avro schema resolution's rules as this codec's decoder applies them (evcodec.h):
 * the same record name, every reader field present in the writer with a readable type (equal,
 * int → long, or a writer union with such a branch) or defaulted in the reader's JSON text
 * (avro-c keeps no defaults). Used for writer schemas from a registry (evcodec_resolve.c) and
 * for the BACKWARD check the codec makes itself when the registry enforces none
 * (evcodec_registry.c). Calls no other evcodec file. */
#include "evcodec_int.h"
#include "errbuf.h"

#include <string.h>

#include <avro.h>
#include <jansson.h>

/* A named type's definition when `s` is a reference to it. */
static avro_schema_t res_deref(avro_schema_t s)
{
    return is_avro_link(s) ? avro_schema_link_target(s) : s;
}

/* Can a value the writer wrote as `w` be read as the reader's `rd`? Equal types, int → long,
 * or a writer union with such a branch (the record's branch decides at read time). */
static int res_type_ok(avro_schema_t w, avro_schema_t rd)
{
    avro_type_t wt = avro_typeof(res_deref(w)), rt = avro_typeof(res_deref(rd));
    if (rt == AVRO_UNION || wt == rt || (wt == AVRO_INT32 && rt == AVRO_INT64))
        return 1;
    if (wt == AVRO_UNION)
        for (size_t i = 0; i < avro_schema_union_size(res_deref(w)); i++)
            if (res_type_ok(avro_schema_union_branch(res_deref(w), (int)i), rd))
                return 1;
    return 0;
}

int evcodec_readable(const evcodec_entry_t *reader, avro_schema_t w, char *why, size_t whylen)
{
    json_t *doc = json_loads(reader->text, 0, NULL), *fields = json_object_get(doc, "fields"), *f;
    size_t i;
    int rc = -1;

    if (!is_avro_record(w) || strcmp(avro_schema_name(w), avro_schema_name(reader->schema)) != 0) {
        errbuf_set(why, whylen, "it is not the record %s", avro_schema_name(reader->schema));
        goto cleanup;
    }
    json_array_foreach(fields, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        int wi = name ? avro_schema_record_field_get_index(w, name) : -1;
        if (name == NULL)
            continue;
        if (wi < 0 && json_object_get(f, "default") == NULL) {
            errbuf_set(why, whylen, "it lacks field %s, which has no default", name);
            goto cleanup;
        }
        if (wi >= 0 && !res_type_ok(avro_schema_record_field_get_by_index(w, wi),
                                    avro_schema_record_field_get(reader->schema, name))) {
            errbuf_set(why, whylen, "its field %s has type %s, which cannot be read as %s", name,
                       avro_schema_type_name(res_deref(avro_schema_record_field_get_by_index(w, wi))),
                       avro_schema_type_name(res_deref(avro_schema_record_field_get(reader->schema, name))));
            goto cleanup;
        }
    }
    rc = 0;
cleanup:
    json_decref(doc);
    return rc;
}
