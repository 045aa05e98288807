/* evcodec.c — CustomerAvroModel encode/decode with avro-c and Confluent framing.
 * See evcodec.h. avro-c pitfalls handled here (c-stack-facts §4): string sizes include
 * the NUL, logical types are ignored (UUIDs are checked by hand), schemas are kept as their
 * original JSON text and never re-serialised.
 */
#include "evcodec_int.h"
#include "uuidtext.h"
#include "errbuf.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>

extern const embed_file_t kafka_model_files[]; /* kafka-model/CMakeLists.txt */

static const embed_file_t *evcodec_find_file(const embed_file_t *files, const char *name)
{
    for (size_t i = 0; files[i].name != NULL; i++)
        if (strcmp(files[i].name, name) == 0)
            return &files[i];
    return NULL;
}

/* Parses one catalog line into c->e[c->n]. Returns 0 (added or blank/comment), -1. */
static int evcodec_add_line(evcodec_t *c, const embed_file_t *files, char *line, int lineno, char *err,
                            size_t errlen)
{
    char *save = NULL, *f_id, *f_subj, *f_file, *end = NULL;
    const embed_file_t *file;
    evcodec_entry_t *en;
    long id;

    while (*line == ' ' || *line == '\t')
        line++;
    if (*line == '\0' || *line == '#')
        return 0;
    f_id = strtok_r(line, "\t ", &save);
    f_subj = strtok_r(NULL, "\t ", &save);
    f_file = strtok_r(NULL, "\t \r", &save);
    if (f_id == NULL || f_subj == NULL || f_file == NULL) {
        errbuf_set(err, errlen, "catalog.tsv line %d: expected id, subject, file", lineno);
        return -1;
    }
    id = strtol(f_id, &end, 10);
    if (*end != '\0' || id <= 0 || id > INT32_MAX) {
        errbuf_set(err, errlen, "catalog.tsv line %d: bad schema id '%s'", lineno, f_id);
        return -1;
    }
    for (size_t i = 0; i < c->n; i++)
        if (c->e[i].id == (int32_t)id) {
            errbuf_set(err, errlen, "catalog.tsv line %d: duplicate schema id %ld", lineno, id);
            return -1;
        }
    if (c->n == EVCODEC_MAX_SCHEMAS || strlen(f_subj) >= sizeof c->e[0].subject) {
        errbuf_set(err, errlen, "catalog.tsv line %d: too many schemas or subject too long", lineno);
        return -1;
    }
    file = evcodec_find_file(files, f_file);
    if (file == NULL) {
        errbuf_set(err, errlen, "catalog.tsv line %d: schema file %s is not embedded", lineno, f_file);
        return -1;
    }
    en = &c->e[c->n];
    if (avro_schema_from_json_length((const char *)file->data, file->len, &en->schema) != 0) {
        errbuf_set(err, errlen, "%s: %s", f_file, avro_strerror());
        en->schema = NULL;
        return -1;
    }
    en->iface = avro_generic_class_from_schema(en->schema);
    if (en->iface == NULL) {
        errbuf_set(err, errlen, "%s: %s", f_file, avro_strerror());
        avro_schema_decref(en->schema);
        en->schema = NULL;
        return -1;
    }
    en->id = (int32_t)id;
    en->catalog_id = (int32_t)id;
    snprintf(en->subject, sizeof en->subject, "%s", f_subj);
    en->text = (const char *)file->data;
    c->n++;
    return 0;
}

evcodec_t *evcodec_new(const embed_file_t *files, char *err, size_t errlen)
{
    evcodec_t *c = NULL;
    char *copy = NULL, *line, *save = NULL;
    const embed_file_t *cat;
    int lineno = 0, ok = 0;

    if (files == NULL || (cat = evcodec_find_file(files, EVCODEC_CATALOG_NAME)) == NULL) {
        errbuf_set(err, errlen, "no %s in the schema file set", EVCODEC_CATALOG_NAME);
        goto cleanup;
    }
    c = calloc(1, sizeof *c);
    copy = strndup((const char *)cat->data, cat->len);
    if (c == NULL || copy == NULL) {
        errbuf_set(err, errlen, "out of memory");
        goto cleanup;
    }
    /* strtok_r would merge empty lines, which is fine: only line numbers shift in errors. */
    for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (evcodec_add_line(c, files, line, lineno, err, errlen) != 0)
            goto cleanup;
    }
    if (c->n == 0) {
        errbuf_set(err, errlen, "%s lists no schema", EVCODEC_CATALOG_NAME);
        goto cleanup;
    }
    ok = 1;
cleanup:
    free(copy);
    if (!ok) {
        evcodec_free(c);
        c = NULL;
    }
    return c;
}

evcodec_t *evcodec_new_default(char *err, size_t errlen)
{
    return evcodec_new(kafka_model_files, err, errlen);
}

void evcodec_free(evcodec_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++) {
        avro_value_iface_decref(c->e[i].iface);
        avro_schema_decref(c->e[i].schema);
    }
    free(c);
}

static const evcodec_entry_t *evcodec_by_id(const evcodec_t *c, int32_t id)
{
    for (size_t i = 0; c != NULL && i < c->n; i++)
        if (c->e[i].id == id)
            return &c->e[i];
    return NULL;
}

static const evcodec_entry_t *evcodec_latest(const evcodec_t *c, const char *subject)
{
    const evcodec_entry_t *best = NULL;
    for (size_t i = 0; c != NULL && subject != NULL && i < c->n; i++)
        if (strcmp(c->e[i].subject, subject) == 0 && (best == NULL || c->e[i].catalog_id > best->catalog_id))
            best = &c->e[i];
    return best;
}

int32_t evcodec_latest_id(const evcodec_t *c, const char *subject)
{
    const evcodec_entry_t *en = evcodec_latest(c, subject);
    return en ? en->id : -1;
}

const char *evcodec_schema_text(const evcodec_t *c, int32_t id)
{
    const evcodec_entry_t *en = evcodec_by_id(c, id);
    return en ? en->text : NULL;
}

const char *evcodec_event_type_name(evcodec_event_type_t t)
{
    switch (t) {
    case EVCODEC_CREATED:
        return "CREATED";
    case EVCODEC_UPDATED:
        return "UPDATED";
    }
    return NULL;
}

const char *evcodec_strerror(evcodec_err_t e)
{
    switch (e) {
    case EVCODEC_OK:
        return "ok";
    case EVCODEC_E_EMPTY:
        return "empty value (tombstone?)";
    case EVCODEC_E_SHORT:
        return "frame shorter than the 5-byte header";
    case EVCODEC_E_MAGIC:
        return "bad magic byte (not Confluent wire format)";
    case EVCODEC_E_UNKNOWN_ID:
        return "unknown schema id";
    case EVCODEC_E_AVRO:
        return "Avro body does not match the writer schema";
    case EVCODEC_E_FIELD:
        return "invalid field value";
    case EVCODEC_E_NOMEM:
        return "out of memory";
    case EVCODEC_E_ARG:
        return "invalid argument";
    }
    return "unknown error";
}

void evcodec_customer_clear(evcodec_customer_t *ev)
{
    if (ev == NULL)
        return;
    free(ev->username);
    free(ev->first_name);
    free(ev->last_name);
    memset(ev, 0, sizeof *ev);
}

evcodec_err_t evcodec_frame_id(const void *buf, size_t len, int32_t *id_out)
{
    const unsigned char *p = buf;
    if (buf == NULL || len == 0)
        return EVCODEC_E_EMPTY;
    if (len < 5)
        return EVCODEC_E_SHORT;
    if (p[0] != 0)
        return EVCODEC_E_MAGIC;
    if (id_out)
        *id_out = (int32_t)(((uint32_t)p[1] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 8) |
                            (uint32_t)p[4]);
    return EVCODEC_OK;
}

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

/* 1 when the `n` bytes are valid UTF-8 without NUL bytes. */
static int evcodec_utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char b = s[i];
        size_t k;
        uint32_t cp;
        if (b == 0)
            return 0;
        if (b < 0x80) {
            i++;
            continue;
        }
        if ((b & 0xE0) == 0xC0) {
            k = 1;
            cp = b & 0x1F;
        } else if ((b & 0xF0) == 0xE0) {
            k = 2;
            cp = b & 0x0F;
        } else if ((b & 0xF8) == 0xF0) {
            k = 3;
            cp = b & 0x07;
        } else
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

/* Copies string field `name` into *dst (malloc'ed). Missing → -2, not a valid string → -1. */
static int evcodec_get_str(avro_value_t *rec, const char *name, char **dst)
{
    avro_value_t f;
    const char *s = NULL;
    size_t sz = 0;
    if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
        return -2;
    if (avro_value_get_type(&f) != AVRO_STRING || avro_value_get_string(&f, &s, &sz) != 0 || s == NULL ||
        sz == 0)
        return -1;
    if (!evcodec_utf8_ok((const unsigned char *)s, sz - 1))
        return -1;
    *dst = strndup(s, sz - 1);
    return *dst ? 0 : -3;
}

evcodec_err_t evcodec_decode_customer(const evcodec_t *c, const void *buf, size_t len, evcodec_customer_t *ev,
                                      char *err, size_t errlen)
{
    evcodec_err_t rc;
    int32_t id = 0;
    const evcodec_entry_t *en;
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
    en = evcodec_by_id(c, id);
    if (en == NULL || strcmp(en->subject, EVCODEC_SUBJECT_CUSTOMER) != 0) {
        rc = EVCODEC_E_UNKNOWN_ID;
        errbuf_set(err, errlen, "unknown schema id %d for subject %s", (int)id, EVCODEC_SUBJECT_CUSTOMER);
        goto cleanup;
    }
    if (evcodec_guard(en->schema, (const unsigned char *)buf + 5, len - 5) != 0) {
        rc = EVCODEC_E_AVRO;
        errbuf_set(err, errlen, "schema id %d: a length runs past the end of the record", (int)id);
        goto cleanup;
    }
    rc = EVCODEC_E_NOMEM;
    if (avro_generic_value_new(en->iface, &rec) != 0)
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
    if (avro_value_get_by_name(&rec, "version", &f, NULL) == 0 &&
        (avro_value_get_type(&f) != AVRO_INT64 || avro_value_get_long(&f, &ev->version) != 0)) {
        bad = "version";
        goto cleanup;
    }
    if (avro_value_get_by_name(&rec, "occurredAt", &f, NULL) == 0 &&
        (avro_value_get_type(&f) != AVRO_INT64 || avro_value_get_long(&f, &ev->occurred_at_ms) != 0)) {
        bad = "occurredAt";
        goto cleanup;
    }
    if (avro_value_get_by_name(&rec, "eventType", &f, NULL) == 0) {
        int idx = -1;
        const char *sym = NULL;
        if (avro_value_get_type(&f) == AVRO_ENUM && avro_value_get_enum(&f, &idx) == 0)
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
    return rc;
}
