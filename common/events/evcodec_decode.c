/* evcodec_decode.c — Confluent frame → CustomerAvroModel with the writer's schema (found by
 * the frame's id in the catalog, or through the registry: evcodec_resolve.c), resolved to
 * the reader's fields by name (a missing field takes the reader's default, an int is
 * promoted to long, a union gives its branch), every field checked: a length guard walks the Avro body before
 * avro-c reads it (a hostile length cannot make it allocate), strings must be NUL-free UTF-8
 * (common/utf8text), the id a UUID. See evcodec.h and docs/c-notes.md §4 (logical types are
 * ignored by avro-c: UUIDs are checked by hand).
 */
#include "evcodec_int.h"
#include "errbuf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>

#include "utf8text.h"
#include "uuidtext.h"

/* ---- length guard ---- */

/* Reads one zigzag varint at *pos. Returns 0, or -1 when truncated/overlong. */
static int evcodec_varint(const unsigned char *p, size_t n, size_t *pos, int64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= n)
            return -1;
        unsigned char b = p[(*pos)++];
        v |= (uint64_t)(b & 0x7F) << shift;
        if ((b & 0x80) == 0) {
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            return 0;
        }
    }
    return -1;
}

/* avro-c allocates a string's declared length before it notices the buffer is shorter,
 * so a hostile length prefix could ask for gigabytes. For flat records of primitive
 * fields (all our schemas), walk the body first and reject lengths that overrun it.
 * Returns 0 (plausible, or schema not flat: avro-c decides), -1 (overrun). */
static int evcodec_guard(avro_schema_t rs, const unsigned char *p, size_t n)
{
    size_t pos = 0, nf = avro_schema_record_size(rs);
    int64_t v;
    for (size_t i = 0; i < nf; i++) {
        avro_schema_t fs = avro_schema_record_field_get_by_index(rs, (int)i);
        switch (avro_typeof(fs)) {
        case AVRO_STRING:
        case AVRO_BYTES:
            if (evcodec_varint(p, n, &pos, &v) != 0 || v < 0 || (uint64_t)v > n - pos)
                return -1;
            pos += (size_t)v;
            break;
        case AVRO_INT32:
        case AVRO_INT64:
        case AVRO_ENUM:
            if (evcodec_varint(p, n, &pos, &v) != 0)
                return -1;
            break;
        default:
            return 0;
        }
    }
    return 0;
}

/* ---- decode ---- */

/* Field `name` of `rec` into *f, through a union to its current branch (a writer may wrap a
 * field in one). 0, or -1 when the record has no such field. */
static int evcodec_field(avro_value_t *rec, const char *name, avro_value_t *f)
{
    avro_value_t br;
    if (avro_value_get_by_name(rec, name, f, NULL) != 0)
        return -1;
    if (avro_value_get_type(f) == AVRO_UNION) {
        if (avro_value_get_current_branch(f, &br) != 0)
            return -1;
        *f = br;
    }
    return 0;
}

/* Copies string field `name` into *dst (malloc'ed). Missing → -2, not a valid string → -1. */
static int evcodec_get_str(avro_value_t *rec, const char *name, char **dst)
{
    avro_value_t f;
    const char *s = NULL;
    size_t sz = 0;
    if (evcodec_field(rec, name, &f) != 0)
        return -2;
    if (avro_value_get_type(&f) != AVRO_STRING || avro_value_get_string(&f, &s, &sz) != 0 || s == NULL ||
        sz == 0)
        return -1;
    if (memchr(s, '\0', sz - 1) != NULL || utf8text_chars(s, sz - 1) < 0) /* NUL-free UTF-8 */
        return -1;
    *dst = strndup(s, sz - 1);
    return *dst ? 0 : -3;
}

/* Long field `name` (an int is promoted) into *out; a missing field leaves *out (the
 * reader's default). 0, or -1 when it is there but not a number. */
static int evcodec_get_long(avro_value_t *rec, const char *name, int64_t *out)
{
    avro_value_t f;
    int32_t i;
    if (evcodec_field(rec, name, &f) != 0)
        return 0;
    if (avro_value_get_type(&f) == AVRO_INT64)
        return avro_value_get_long(&f, out) == 0 ? 0 : -1;
    if (avro_value_get_type(&f) == AVRO_INT32 && avro_value_get_int(&f, &i) == 0) {
        *out = i;
        return 0;
    }
    return -1;
}

evcodec_err_t evcodec_decode_customer(const evcodec_t *c, const void *buf, size_t len, evcodec_customer_t *ev,
                                      char *err, size_t errlen)
{
    evcodec_err_t rc;
    int32_t id = 0;
    const evcodec_entry_t *en;
    evcodec_wschema_t *ws = NULL;
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_reader_t r = NULL;
    avro_value_t rec = {0}, f;
    int have_rec = 0, g;
    size_t consumed = 0;
    char *idtxt = NULL;
    const char *bad = NULL;

    if (ev == NULL || c == NULL) {
        rc = EVCODEC_E_ARG;
        goto cleanup;
    }
    memset(ev, 0, sizeof *ev);
    rc = evcodec_frame_id(buf, len, &id);
    if (rc != EVCODEC_OK) {
        errbuf_set(err, errlen, "%s", evcodec_strerror(rc));
        goto cleanup;
    }
    if (c->res != NULL) { /* the registry's ids: its writer schema, resolved to the reader's */
        ws = evcodec_wschema_get(c->res, id, &rc, err, errlen);
        if (ws == NULL)
            goto cleanup;
        if (ws->bad[0] != '\0') {
            rc = EVCODEC_E_AVRO;
            errbuf_set(err, errlen, "%s", ws->bad);
            goto cleanup;
        }
        schema = ws->schema;
        iface = ws->iface;
    } else {
        en = evcodec_by_id(c, id);
        if (en == NULL || strcmp(en->subject, EVCODEC_SUBJECT_CUSTOMER) != 0) {
            rc = EVCODEC_E_UNKNOWN_ID;
            errbuf_set(err, errlen, "unknown schema id %d for subject %s", (int)id, EVCODEC_SUBJECT_CUSTOMER);
            goto cleanup;
        }
        schema = en->schema;
        iface = en->iface;
    }
    if (evcodec_guard(schema, (const unsigned char *)buf + 5, len - 5) != 0) {
        rc = EVCODEC_E_AVRO;
        errbuf_set(err, errlen, "schema id %d: a length runs past the end of the record", (int)id);
        goto cleanup;
    }
    rc = EVCODEC_E_NOMEM;
    if (avro_generic_value_new(iface, &rec) != 0)
        goto cleanup;
    have_rec = 1;
    r = avro_reader_memory((const char *)buf + 5, (int64_t)(len - 5));
    if (r == NULL)
        goto cleanup;
    rc = EVCODEC_E_AVRO;
    if (avro_value_read(r, &rec) != 0) {
        errbuf_set(err, errlen, "schema id %d: %s", (int)id, avro_strerror());
        goto cleanup;
    }
    /* avro_reader_is_eof is always 0 for memory readers: compare the canonical size. */
    if (avro_value_sizeof(&rec, &consumed) != 0 || consumed != len - 5) {
        errbuf_set(err, errlen, "schema id %d: trailing bytes after the record", (int)id);
        goto cleanup;
    }
    rc = EVCODEC_E_FIELD;
    ev->schema_id = id;
    ev->version = 1;
    ev->event_type = EVCODEC_CREATED;
    ev->occurred_at_ms = 0;
    if ((g = evcodec_get_str(&rec, "id", &idtxt)) != 0 || !uuidtext_valid(idtxt)) {
        bad = "id";
        rc = g == -3 ? EVCODEC_E_NOMEM : EVCODEC_E_FIELD;
        goto cleanup;
    }
    for (int i = 0; i < EVCODEC_UUID_LEN; i++)
        ev->id[i] = (char)tolower((unsigned char)idtxt[i]);
    if ((g = evcodec_get_str(&rec, "username", &ev->username)) != 0)
        bad = "username";
    else if ((g = evcodec_get_str(&rec, "firstName", &ev->first_name)) != 0)
        bad = "firstName";
    else if ((g = evcodec_get_str(&rec, "lastName", &ev->last_name)) != 0)
        bad = "lastName";
    if (bad != NULL) {
        rc = g == -3 ? EVCODEC_E_NOMEM : EVCODEC_E_FIELD;
        goto cleanup;
    }
    if (evcodec_get_long(&rec, "version", &ev->version) != 0) {
        bad = "version";
        goto cleanup;
    }
    if (evcodec_get_long(&rec, "occurredAt", &ev->occurred_at_ms) != 0) {
        bad = "occurredAt";
        goto cleanup;
    }
    if (evcodec_field(&rec, "eventType", &f) == 0) {
        int idx = -1;
        const char *sym = NULL;
        /* avro-c reads any index off the wire, and enum_get of one out of range reads garbage */
        if (avro_value_get_type(&f) == AVRO_ENUM && avro_value_get_enum(&f, &idx) == 0 && idx >= 0 &&
            idx < avro_schema_enum_number_of_symbols(avro_value_get_schema(&f)))
            sym = avro_schema_enum_get(avro_value_get_schema(&f), idx);
        if (sym != NULL && strcmp(sym, "CREATED") == 0)
            ev->event_type = EVCODEC_CREATED;
        else if (sym != NULL && strcmp(sym, "UPDATED") == 0)
            ev->event_type = EVCODEC_UPDATED;
        else {
            bad = "eventType";
            goto cleanup;
        }
    }
    if (ev->version < 1) {
        bad = "version";
        goto cleanup;
    }
    rc = EVCODEC_OK;
cleanup:
    if (rc != EVCODEC_OK && bad != NULL)
        errbuf_set(err, errlen, "schema id %d: field %s is missing or invalid", (int)id, bad);
    if (rc != EVCODEC_OK && ev != NULL)
        evcodec_customer_clear(ev);
    free(idtxt);
    avro_reader_free(r);
    if (have_rec)
        avro_value_decref(&rec);
    if (ws != NULL)
        evcodec_wschema_release(c->res, ws);
    return rc;
}
