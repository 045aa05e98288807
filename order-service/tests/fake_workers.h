/* fake_workers.h — fakes of the live projector's ports for its unit tests (no I/O): a topic
 * read through a group consumer (scripted rebalances), a database holding the read model and
 * the stored offsets behind the batch store and the session port (outages, a re-made
 * session, a snapshot that a "failover" or a "crash" restores, rows it refuses), a
 * dead-letter sink and a clock the test moves. Values are real Avro frames (evcodec), so the
 * projector decodes them as in production.
 */
#ifndef OS_FAKE_WORKERS_H
#define OS_FAKE_WORKERS_H

#include <stddef.h>
#include <stdint.h>

#include "application/worker_ports.h"
#include "evcodec.h"
#include "messaging/consumer_port.h"
#include "messaging/projector_int.h"

#define FW_PARTS 4
#define FW_RECS 64
#define FW_ROWS 64
#define FW_DLQ 16

/* ---- the topic and its consumer ---- */

typedef struct fw_rec {
    char key[40];
    unsigned char *val; /* owned; NULL: a tombstone */
    size_t len;
} fw_rec_t;

typedef struct fw_topic {
    fw_rec_t log[FW_PARTS][FW_RECS];
    int len[FW_PARTS];
    int32_t held[FW_PARTS]; /* the assignment */
    int nheld;
    int64_t pos[FW_PARTS]; /* the next offset each partition returns */
    int next;              /* round robin over the held partitions */
    int polls;
    /* A rebalance served inside poll number `rebalance_at` (1 = the first poll: joining the
     * group): everything held is revoked, then `reassign` is assigned. */
    int rebalance_at;
    int32_t reassign[FW_PARTS];
    int nreassign;
    int rebalance_again; /* then another one at this poll number (0: none), assigning reassign */
    int seeks;
    os_offset_t kcommitted[FW_PARTS]; /* what was committed to "Kafka" */
    int paused;                       /* the consumer's pause: polls return no record */
} fw_topic_t;

/* An empty topic of `nparts` partitions whose first poll assigns all of them. */
void fw_topic_init(fw_topic_t *t, int nparts);
/* The first poll assigns partitions 0..nparts-1. */
void fw_topic_assign_all(fw_topic_t *t, int nparts);
void fw_topic_free(fw_topic_t *t);
/* Appends customer `n` (fw_id) at `version` with username `name` to `part`; a NULL name
 * appends its tombstone. */
void fw_send(fw_topic_t *t, const evcodec_t *codec, int part, int n, int64_t version, const char *name);
/* Appends raw bytes (poison) under customer `n`'s key. */
void fw_send_raw(fw_topic_t *t, int part, int n, const void *val, size_t len);
os_consumer_port_t fw_consumer(fw_topic_t *t);

/* ---- the database ---- */

typedef struct fw_row {
    char id[40];
    char username[64];
    int64_t version;
    int used;
} fw_row_t;

typedef struct fw_state {
    fw_row_t rows[FW_ROWS];
    int64_t offsets[FW_PARTS]; /* stored next offset; -1 none */
    int64_t epochs[FW_PARTS];  /* the stored position's epoch (bumped by moves) */
} fw_state_t;

typedef struct fw_db {
    fw_state_t committed;
    fw_state_t tx;
    int in_tx;
    int down;         /* nothing answers: session -1, every call fails */
    int new_session;  /* the next session() reports a re-made session */
    int fail_commits; /* this many next commits fail */
    char refuse[32];  /* a username the database refuses (a constraint), "" none */
    int commits, failed, loads;
    int moves;      /* move_offsets calls that succeeded */
    int epoch_fail; /* commits refused because an epoch had moved */
} fw_db_t;

void fw_db_init(fw_db_t *d);
os_projdb_port_t fw_db_port(fw_db_t *d);
/* Customer n's row: its version, or -1 when absent; `name` (may be NULL) gets its username. */
int64_t fw_version(const fw_db_t *d, int n, const char **name);
int fw_rows(const fw_db_t *d);

/* ---- the dead-letter sink and the clock ---- */

typedef struct fw_dlq {
    char reason[FW_DLQ][32];
    int32_t partition[FW_DLQ];
    int64_t offset[FW_DLQ];
    int n;
} fw_dlq_t;

os_dlq_port_t fw_dlq_port(fw_dlq_t *q);

typedef struct fw_clock {
    int64_t now;
} fw_clock_t;

os_clock_port_t fw_clock_port(fw_clock_t *c);

/* "00000000-0000-4000-8000-<n as 12 digits>" into out[40]. */
void fw_id(char *out, int n);

/* ---- a live projector on these fakes (test_projector_loop.c, test_projector_ctl.c) ---- */

typedef struct fw_world {
    evcodec_t *codec; /* owned, as are metrics and p */
    fw_topic_t topic;
    fw_db_t db;
    fw_dlq_t dlq;
    fw_clock_t clock;
    metrics_t *metrics;
    clog_t log;
    int check_ms;      /* the projector's check interval (tuning) */
    os_projector_t *p; /* NULL until fw_world_start */
} fw_world_t;

/* Clears *w and makes its codec, metrics, log (named `name`, level error), an empty database
 * and a topic of one partition. 0, or -1 when the codec or the metrics cannot be made. */
int fw_world_setup(fw_world_t *w, const char *name, int check_ms);
/* A cmocka teardown: frees what fw_world_setup and fw_world_start made in the fw_world_t at
 * *state. */
int fw_world_teardown(void **state);
/* The projector on the fakes (batches of at most `batch_max` records, 3 retries): `nparts`
 * partitions assigned at the first poll. */
void fw_world_start(fw_world_t *w, int nparts, int batch_max);
/* n steps of the projector's loop. */
void fw_world_steps(fw_world_t *w, int n);

#endif
