/* jnum.h — numbers as Spring writes them: Java's Double.toString (1000.0, 1.5E-7,
 * 1.0E7, Infinity, NaN) and integers of any size (Java BigInteger), inside jansson trees.
 *
 * jansson has no number type for either, so a render keeps them as marked strings: a
 * json_t string "\x01<nonce>:<index>" refers to an entry of the render's table. The
 * nonce is 16 random hex digits drawn per render, so no configuration value can look
 * like a mark. cs_jnum_dump writes the tree with every mark replaced by the raw number
 * (or "Infinity"/"NaN" as a JSON string, as Jackson writes them); the text forms
 * (.properties, placeholders) and YAML ask for the entry of a mark.
 */
#ifndef CS_JNUM_H
#define CS_JNUM_H

#include <stddef.h>

#include <jansson.h>

#include "dbuf.h"
#include "yamlconf.h"

typedef struct cs_jnum_ent {
    int big;    /* 1: `text` holds an integer's decimal digits; 0: `d` is a double */
    double d;   /* !big */
    char *text; /* owned: Java's text of the number */
} cs_jnum_ent_t;

typedef struct cs_jnum {
    char tag[20]; /* "\x01" + 16 hex + ":" */
    cs_jnum_ent_t *ents;
    size_t n, cap;
} cs_jnum_t;

/* Starts a table with a fresh nonce. 0 or -1. */
int cs_jnum_init(cs_jnum_t *t);
void cs_jnum_free(cs_jnum_t *t);

/* Java's Double.toString(d) into buf (at least 32 bytes). */
void cs_jnum_java_double(double d, char *buf, size_t size);

/* A property's value as Spring's JSON has it: ints, booleans and strings as jansson
 * values; FLOAT and BIGINT as marks of `t`. New reference or NULL. */
json_t *cs_jnum_prop_json(cs_jnum_t *t, const yamlconf_prop_t *p);
/* The entry `v` marks, or NULL when `v` is no mark of `t`. Borrowed. */
const cs_jnum_ent_t *cs_jnum_get(const cs_jnum_t *t, const json_t *v);

/* Text form of a flat value as Spring prints it ("8080", "true", "1000.0", "1.5E-7",
 * "Infinity", "a"; "" for null); malloc'ed, NULL out of memory. */
char *cs_jnum_text(const cs_jnum_t *t, const json_t *v);

/* json_dumps(j, JSON_COMPACT) with the marks replaced, appended to `out`. 0 or -1. */
int cs_jnum_dump(const cs_jnum_t *t, const json_t *j, dbuf_t *out);

#endif
