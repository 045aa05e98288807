/* evcodec_encode.c — CustomerAvroModel → Confluent frame (magic byte, 4-byte schema id,
 * Avro binary) with the newest schema of the subject. See evcodec.h. avro-c pitfalls
 * (docs/c-notes.md §4): string sizes include the NUL; fields an older schema lacks are left
 * out.
 */
#include "evcodec_int.h"
#include "uuidtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>

/* ---- encode ---- */

/* Sets string field `name` if the schema has it; missing field → 0 (older schema). */
static int evcodec_set_str(avro_value_t *rec, const char *name, const char *s)
{
    avro_value_t f;
    if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
        return 0;
    return avro_value_set_string_len(&f, s, strlen(s) + 1) == 0 ? 0 : -1;
}

static int evcodec_set_long(avro_value_t *rec, const char *name, int64_t v)
{
    avro_value_t f;
    if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
        return 0;
    return avro_value_set_long(&f, v) == 0 ? 0 : -1;
}

static int evcodec_set_enum_sym(avro_value_t *rec, const char *name, const char *sym)
{
    avro_value_t f;
    int idx;
    if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
        return 0;
    idx = avro_schema_enum_get_by_name(avro_value_get_schema(&f), sym);
    if (idx < 0)
        return -1;
    return avro_value_set_enum(&f, idx) == 0 ? 0 : -1;
}

evcodec_err_t evcodec_encode_customer(const evcodec_t *c, const evcodec_customer_t *ev, unsigned char **out,
                                      size_t *out_len)
{
    evcodec_err_t rc = EVCODEC_E_ARG;
    const evcodec_entry_t *en = evcodec_latest(c, EVCODEC_SUBJECT_CUSTOMER);
    avro_value_t rec = {0};
    avro_writer_t w = NULL;
    unsigned char *buf = NULL;
    size_t sz = 0;
    int have_rec = 0;
    const char *et = ev ? evcodec_event_type_name(ev->event_type) : NULL;

    if (out)
        *out = NULL;
    if (en == NULL || ev == NULL || out == NULL || out_len == NULL || !uuidtext_valid(ev->id) ||
        ev->username == NULL || ev->first_name == NULL || ev->last_name == NULL || et == NULL)
        goto cleanup;
    rc = EVCODEC_E_NOMEM;
    if (avro_generic_value_new(en->iface, &rec) != 0)
        goto cleanup;
    have_rec = 1;
    rc = EVCODEC_E_ARG;
    if (evcodec_set_str(&rec, "id", ev->id) != 0 || evcodec_set_str(&rec, "username", ev->username) != 0 ||
        evcodec_set_str(&rec, "firstName", ev->first_name) != 0 ||
        evcodec_set_str(&rec, "lastName", ev->last_name) != 0 ||
        evcodec_set_long(&rec, "version", ev->version) != 0 ||
        evcodec_set_enum_sym(&rec, "eventType", et) != 0 ||
        evcodec_set_long(&rec, "occurredAt", ev->occurred_at_ms) != 0)
        goto cleanup;
    rc = EVCODEC_E_NOMEM;
    if (avro_value_sizeof(&rec, &sz) != 0 || (buf = malloc(sz + 5)) == NULL)
        goto cleanup;
    buf[0] = 0;
    buf[1] = (unsigned char)((uint32_t)en->id >> 24);
    buf[2] = (unsigned char)((uint32_t)en->id >> 16);
    buf[3] = (unsigned char)((uint32_t)en->id >> 8);
    buf[4] = (unsigned char)((uint32_t)en->id);
    w = avro_writer_memory((char *)buf + 5, (int64_t)sz);
    if (w == NULL || avro_value_write(w, &rec) != 0 || (size_t)avro_writer_tell(w) != sz)
        goto cleanup;
    *out = buf;
    *out_len = sz + 5;
    buf = NULL;
    rc = EVCODEC_OK;
cleanup:
    avro_writer_free(w);
    if (have_rec)
        avro_value_decref(&rec);
    free(buf);
    return rc;
}
