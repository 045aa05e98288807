/* evcodec.h — the customer event codec: CustomerAvroModel <-> Confluent-framed Avro (avro-c).
 *
 * Wire format (docs/design.md §4): byte 0 = 0x00 (magic), bytes 1..4 = schema id (big-endian),
 * then the Avro binary encoding of the record under that schema. Schema ids come from the
 * schema catalog of kafka-model/ (catalog.tsv: "id<TAB>subject<TAB>file.avsc" lines),
 * embedded into the program at build time. The encoder writes with the newest schema of
 * subject "customer-value"; the decoder reads with the WRITER's schema, found by the id in
 * the frame, so records written by older schemas (e.g. the seed's 4-field one, id 1) decode
 * with the defaults of the fields they lack (version 1, eventType CREATED, occurredAt 0).
 *
 * avro-c has no logical types: the decoder itself checks that `id` is a canonical UUID.
 * A tombstone (customer deleted) is a record with a NULL value; it is not a frame — check
 * for it before decoding (evcodec_decode_customer returns EVCODEC_E_EMPTY for len 0).
 *
 * An evcodec_t is immutable after its set-up calls (evcodec_use_registry,
 * evcodec_resolve_by_registry); encode/decode may then run concurrently from several threads
 * on the same codec (every call builds its own avro values; the registry cache has a lock).
 */
#ifndef CQ_EVCODEC_H
#define CQ_EVCODEC_H

#include <stddef.h>
#include <stdint.h>

#include "embed.h"
#include "metrics.h"

#define EVCODEC_SUBJECT_CUSTOMER "customer-value"
#define EVCODEC_UUID_LEN 36

typedef enum {
    EVCODEC_CREATED = 0, /* Avro enum symbol "CREATED" */
    EVCODEC_UPDATED = 1  /* Avro enum symbol "UPDATED" */
} evcodec_event_type_t;

/* Result codes. Every decode failure is one of these; evcodec_strerror names them. */
typedef enum {
    EVCODEC_OK = 0,
    EVCODEC_E_EMPTY = -1,      /* NULL / zero-length value (a tombstone is not a frame) */
    EVCODEC_E_SHORT = -2,      /* fewer than 5 bytes: no room for magic + schema id */
    EVCODEC_E_MAGIC = -3,      /* first byte is not 0x00 */
    EVCODEC_E_UNKNOWN_ID = -4, /* schema id not in the catalog */
    EVCODEC_E_AVRO = -5,       /* Avro body does not parse under the writer's schema */
    EVCODEC_E_FIELD = -6,      /* parsed, but a field is invalid (id not a UUID, bad enum …) */
    EVCODEC_E_NOMEM = -7,
    EVCODEC_E_ARG = -8,     /* invalid argument to encode (missing field, bad UUID …) */
    EVCODEC_E_REGISTRY = -9 /* the schema registry gave no usable answer for the id: NOT the
                               record's fault — retry it later (evcodec_resolve_by_registry) */
} evcodec_err_t;

/* One customer event. Strings are owned by the struct after a decode (free them with
 * evcodec_customer_clear); for encode the caller's strings are only borrowed. */
typedef struct evcodec_customer {
    char id[EVCODEC_UUID_LEN + 1]; /* canonical lower-case UUID text */
    char *username;
    char *first_name;
    char *last_name;
    int64_t version; /* per-customer, starts at 1 */
    evcodec_event_type_t event_type;
    int64_t occurred_at_ms; /* Unix epoch milliseconds (timestamp-millis) */
    int32_t schema_id;      /* decode: the writer's schema id; ignored by encode */
} evcodec_customer_t;

typedef struct evcodec evcodec_t;

/* Builds a codec from an embedded kafka-model file set (catalog.tsv plus the .avsc files
 * it names). Returns an owned codec, or NULL with a message in err (may be NULL). */
evcodec_t *evcodec_new(const embed_file_t *files, char *err, size_t errlen);
/* Same, from the kafka-model files embedded in this program at build time. */
evcodec_t *evcodec_new_default(char *err, size_t errlen);
/* NULL-safe. */
void evcodec_free(evcodec_t *c);

/* The schema id the encoder writes for `subject` (the newest one), or -1. */
int32_t evcodec_latest_id(const evcodec_t *c, const char *subject);
/* The original JSON text of schema `id` (borrowed, for registering with a schema
 * registry — never re-serialise avro-c schemas), or NULL. */
const char *evcodec_schema_text(const evcodec_t *c, int32_t id);

/* Confluent-compatible schema registry (docs/design.md §4, kafka-config.schema-registry-url).
 *
 * Producer side: registers every catalog schema of `subject` with the registry at `url`
 * (POST {url}/subjects/{subject}/versions with the ORIGINAL schema text; the registry answers
 * the existing id for a schema it already has, so this is idempotent and gives every producer
 * and consumer the same ids), then re-keys the codec by the registry's ids: the encoder
 * writes them and the decoder looks them up. Before registering anything, the newest schema
 * is checked against the subject's latest version (POST
 * {url}/compatibility/subjects/{subject}/versions/latest): the registry judges it under the
 * subject's configured compatibility level (BACKWARD is what the catalog's evolution
 * follows; the level is the registry's to set and is not changed here); a subject with no
 * versions yet is compatible. When that level enforces no backward compatibility (NONE,
 * FORWARD…, or not told — Apicurio's default is NONE), the codec checks BACKWARD itself: the
 * subject's latest version (GET …/versions/latest) must be readable by the new schema under
 * the decoder's resolution rules. Call once at start-up, before the codec is shared between
 * threads. Schemas are registered oldest first, so a registry enforcing BACKWARD accepts
 * them. `user`/`password` (may be NULL) are HTTP Basic credentials. Returns 0; -2 when the
 * registry finds the schema incompatible (err names the subject and the registry's
 * message); -1 for any other failure (err names the URL and the answer). On failure the
 * codec is unchanged. */
int evcodec_use_registry(evcodec_t *c, const char *url, const char *subject, const char *user,
                         const char *password, long timeout_ms, char *err, size_t errlen);

/* The level the registry applies to `subject` (GET {url}/config/{subject}?defaultToGlobal=true,
 * then {url}/config): e.g. "BACKWARD" into out, 0; -1 (err says why) when it does not say.
 * Informational: evcodec_use_registry does not need it. */
int evcodec_registry_level(const char *url, const char *subject, const char *user, const char *password,
                           long timeout_ms, char *out, size_t outlen, char *err, size_t errlen);

/* Consumer side: from now on the codec decodes by the REGISTRY's ids — the catalog's ids
 * are no longer looked up (in a shared registry they name other schemas); its newest schema
 * of each subject stays the reader's. An id seen first is resolved with GET
 * {url}/schemas/ids/{id}; the writer schema is parsed from the registry's text (avro-c) and
 * checked against the reader's fields (the same record name; each field the decoder needs
 * present, or one with a default the decoder applies; types equal or promotable, a union
 * branch allowed); records are then read with the writer's schema and resolved to the
 * reader's fields by name. Schemas are cached: at most `cache_max` ids (0 = 64), the least
 * recently used dropped first; the cache is thread-safe, so decoding stays concurrent.
 * Failures, in evcodec_decode_customer's result:
 *   EVCODEC_E_UNKNOWN_ID — the registry answered 404 with error code 40403 (schema not
 *                          found): the record is poison;
 *   EVCODEC_E_AVRO       — the registry's schema does not parse or cannot be read as the
 *                          reader's record (cached, so not asked again): poison;
 *   EVCODEC_E_REGISTRY   — no usable answer (refused, timed out, 5xx, 401/403, any other
 *                          404 — e.g. a wrong URL path — or a malformed body): the record is
 *                          fine, retry it later; nothing is cached.
 * `metrics` (borrowed, may be NULL; it must outlive the codec) gets
 * schema_registry_lookups_total{result="found|not_found|unusable|error"} and the gauge
 * schema_registry_cached_schemas. Call once at start-up before the codec is shared. Returns
 * 0, or -1 (err) for a bad argument or no memory. */
int evcodec_resolve_by_registry(evcodec_t *c, const char *url, const char *user, const char *password,
                                long timeout_ms, size_t cache_max, metrics_t *metrics, char *err,
                                size_t errlen);

/* Encodes `ev` (borrowed) as a framed record under the newest customer schema. On success
 * *out is a malloc'ed buffer (caller frees) of *out_len bytes. Returns EVCODEC_OK or an
 * error (EVCODEC_E_ARG when a field is missing/invalid). */
evcodec_err_t evcodec_encode_customer(const evcodec_t *c, const evcodec_customer_t *ev, unsigned char **out,
                                      size_t *out_len);

/* Decodes a framed record into `ev` (which must be zeroed or cleared; on error it is left
 * cleared). On success the caller owns the strings: evcodec_customer_clear(ev). If err is
 * not NULL it receives a human-readable detail. */
evcodec_err_t evcodec_decode_customer(const evcodec_t *c, const void *buf, size_t len, evcodec_customer_t *ev,
                                      char *err, size_t errlen);

/* Reads only the frame header: the schema id, or an error code (< 0). */
evcodec_err_t evcodec_frame_id(const void *buf, size_t len, int32_t *id_out);

/* Frees the owned strings and zeroes the struct. NULL-safe. */
void evcodec_customer_clear(evcodec_customer_t *ev);

/* "CREATED" / "UPDATED", or NULL. */
const char *evcodec_event_type_name(evcodec_event_type_t t);
/* Static text for a result code, e.g. "unknown schema id". */
const char *evcodec_strerror(evcodec_err_t e);

#endif
