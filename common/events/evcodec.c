/* evcodec.c — the event codec's schema catalog: the embedded kafka-model files parsed into
 * (id, subject, schema) entries (schemas kept as their original JSON text, never
 * re-serialised: docs/c-notes.md §4), lookups by id and newest per subject, the Confluent
 * frame header, names and messages. See evcodec.h; encoding is evcodec_encode.c, decoding
 * evcodec_decode.c, schema ids from a registry evcodec_registry.c and evcodec_resolve.c —
 * each builds on this file, which calls none of them (the resolver it owns is freed through
 * the hook set with it).
 */
#include "evcodec_int.h"
#include "errbuf.h"

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
    if (c->res != NULL)
        c->res_free(c->res);
    for (size_t i = 0; i < c->n; i++) {
        avro_value_iface_decref(c->e[i].iface);
        avro_schema_decref(c->e[i].schema);
    }
    free(c);
}

const evcodec_entry_t *evcodec_by_id(const evcodec_t *c, int32_t id)
{
    for (size_t i = 0; c != NULL && i < c->n; i++)
        if (c->e[i].id == id)
            return &c->e[i];
    return NULL;
}

const evcodec_entry_t *evcodec_latest(const evcodec_t *c, const char *subject)
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
    case EVCODEC_E_REGISTRY:
        return "schema registry unavailable";
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
