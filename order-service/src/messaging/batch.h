/* batch.h — one polled batch of customer-topic messages, decoded for the projection.
 *
 * Messages are added in poll order (ownership passes to the batch, which gives them back to
 * their consumer with its release function). os_batch_decode turns
 * each into a proj_event_t (a tombstone when the value is NULL/empty, keyed by the message
 * key) or marks it poison with a reason (bad magic byte, unknown schema id, bad Avro, an
 * invalid field, a tombstone without a UUID key) — poison goes to the dead-letter topic and
 * the projection goes on. A record whose schema the registry cannot give now (it does not
 * answer: EVCODEC_E_REGISTRY) is neither: the decode stops there and the whole batch is to be
 * retried later (os_batch_decode returns OS_BATCH_RETRY, `retry` says why). The batch also tracks the next
 * offset per partition.
 */
#ifndef OS_BATCH_H
#define OS_BATCH_H

#include <stddef.h>

#include "application/ports.h"
#include "domain/projection.h"
#include "evcodec.h"
#include "messaging/consumer_port.h"

typedef struct os_batch {
    os_msg_t *msgs; /* owned (released with `release`) */
    size_t n, cap;
    void (*release)(void *self, os_msg_t *m);
    void *release_self;
    evcodec_customer_t *decoded; /* one per message (zeroed when not decoded) */
    char (*keys)[PROJ_ID_LEN + 1];
    proj_event_t *events; /* decoded events, in poll order */
    size_t *ev_msg;       /* events[i] came from msgs[ev_msg[i]] */
    size_t nev;
    os_poison_t *poison;
    size_t npoison;
    os_offset_t *offs; /* next offset per partition seen */
    size_t noffs;
    int64_t start_ns; /* when its first message was added (since the epoch): its spans start there */
    char retry[512];  /* after OS_BATCH_RETRY: why (names the registry and the record's place) */
} os_batch_t;

#define OS_BATCH_RETRY (-2) /* os_batch_decode: a schema could not be resolved now, retry */

/* An empty batch whose messages go back through release(self, m). */
void os_batch_init(os_batch_t *b, void (*release)(void *self, os_msg_t *m), void *self);
/* Adds a message (STOLEN, also on failure: released then). Returns 0 or -1 (out of memory). */
int os_batch_add(os_batch_t *b, os_msg_t *m);
/* Decodes every message. Returns 0, -1 (out of memory) or OS_BATCH_RETRY (the schema
 * registry gave no usable answer for a record's id: nothing of this batch may be applied or
 * dead-lettered; b->retry says why). */
int os_batch_decode(os_batch_t *b, const evcodec_t *codec);
/* Releases the messages and frees the decoded values; keeps the memory for the next batch. */
void os_batch_reset(os_batch_t *b);
/* Frees everything. NULL-safe. */
void os_batch_free(os_batch_t *b);

#endif
