/* cs_it.h — helpers for customer-service's integration tests: reading the records a test
 * caused off the real topic (from a watermark snapshot onwards), decoding them, and
 * calling the HTTP API. */
#ifndef CS_IT_H
#define CS_IT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "evcodec.h"

#define CS_IT_MAX_PARTITIONS 64

typedef struct cs_rec {
    char key[64];
    int tombstone;
    evcodec_customer_t ev; /* decoded value (zero for tombstones) */
    int decode_rc;         /* evcodec result */
    long long outbox_id;   /* the relay's outbox-id header, -1 when absent */
    int32_t partition;
    int64_t offset;
    int64_t ts_ms; /* the record's timestamp: when the relay produced it (CreateTime) */
} cs_rec_t;

typedef struct cs_recs {
    cs_rec_t *v;
    size_t n, cap;
} cs_recs_t;

/* High watermarks of every partition of `topic` (-1 fills absent partitions). Returns the
 * partition count, or -1. */
int cs_it_watermarks(const char *bootstrap, const char *topic, int64_t *hi);
/* Reads every record after `from` (from cs_it_watermarks) until `until(recs, ud)` returns 1
 * or timeout_ms passes, appending to out. Returns 0 when `until` was satisfied. */
int cs_it_consume(const char *bootstrap, const char *topic, const int64_t *from, int np,
                  int (*until)(const cs_recs_t *, void *), void *ud, long timeout_ms, cs_recs_t *out);
void cs_recs_free(cs_recs_t *r);
/* Records of one key, in topic order (borrowed pointers into r); returns the count. */
size_t cs_recs_for_key(const cs_recs_t *r, const char *key, const cs_rec_t **out, size_t max);

/* POST /customers with the given fields (customerId may be NULL). Returns the HTTP status;
 * the new id is copied into id_out (37 bytes) on 201. */
long cs_it_create(const char *base, const char *id, const char *username, const char *first, const char *last,
                  char *id_out);
/* PUT /customers/{id}. Returns the status. */
long cs_it_update(const char *base, const char *id, const char *username, const char *first,
                  const char *last);
/* DELETE /customers/{id}. Returns the status. */
long cs_it_delete(const char *base, const char *id);

/* Starts a customer-service of the test's own (CQ_BIN_DIR) on 127.0.0.1:`port` with database
 * `db` and topic `topic`, the config-server at CQ_CONFIG_URL (profile CQ_PROFILE), and the
 * NULL-terminated `extra` env settings (may be NULL); its stderr (the JSON-lines log) goes to
 * `log`. Returns the pid or -1. */
pid_t cs_it_spawn(int port, const char *db, const char *topic, const char *const *extra, const char *log);
/* Waits up to ~30 s for GET base/health/readiness to answer 200. Returns its last status. */
long cs_it_wait_ready(const char *base);

#endif
