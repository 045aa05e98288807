/* ops_ports.h — the ports of order-service's operations API (order-service/README.md,
 * "Operations"): the topic's description from Kafka (partitions, leaders, watermarks, offsets
 * for a time), the live projection as an operator drives it (pause, resume, move its stored
 * position), and the operations' reads of the database (the stored positions, the history of
 * moves). messaging/ implements the Kafka and projection sides, dataaccess/ the database,
 * main.c wires them; application/ops_replay.c uses them, http/ renders the results.
 * Conventions as in ports.h: 0 or -1 (err filled) unless said otherwise.
 */
#ifndef OS_OPS_PORTS_H
#define OS_OPS_PORTS_H

#include <stddef.h>
#include <stdint.h>

#include "application/worker_ports.h"

#define OS_OPS_MAX_PARTS 1024

/* One partition of a topic as Kafka describes it. */
typedef struct os_part_info {
    int32_t partition;
    int32_t leader; /* broker id; -1 when none */
    int64_t low;    /* low watermark (first offset still in the log); -1 unknown */
    int64_t high;   /* high watermark (next offset to be written); -1 unknown */
} os_part_info_t;

typedef struct os_topicinfo_port {
    void *self;
    /* The partitions of `topic` (≤ cap, in partition order) with their leaders and watermarks,
     * each round trip bounded by timeout_ms: the count, or -1. */
    int (*describe)(void *self, const char *topic, os_part_info_t *out, size_t cap, int timeout_ms, char *err,
                    size_t errlen);
    /* For each parts[i]: the first offset whose timestamp is ≥ ts_ms (Kafka's offsets for
     * times), or the high watermark when every record is older, into out[i]. */
    int (*offsets_for_time)(void *self, const char *topic, const int32_t *parts, size_t n, int64_t ts_ms,
                            int64_t *out, int timeout_ms, char *err, size_t errlen);
} os_topicinfo_port_t;

/* What the live projection reports (a copy). */
typedef struct os_projctl_state {
    int running;
    int paused;
    int32_t assigned[OS_OPS_MAX_PARTS]; /* the partitions this process holds */
    size_t nassigned;
    unsigned long long moves; /* moves executed here since start */
} os_projctl_state_t;

/* The live projection as the operator drives it; each command is executed between two
 * batches and waited for (≤ timeout_ms). */
typedef struct os_projctl_port {
    void *self;
    int (*set_paused)(void *self, int on, int timeout_ms, char *err, size_t errlen);
    /* Moves the stored position of mv[0..n) (see os_projdb_port_t.move_offsets), seeks the
     * partitions held here; fills mv[i].from and mv[i].epoch. */
    int (*move)(void *self, os_move_t *mv, size_t n, const char *request, int timeout_ms, char *err,
                size_t errlen);
    /* running = 0 when no projection runs (yet). */
    void (*state)(void *self, os_projctl_state_t *out);
} os_projctl_port_t;

/* A partition's stored position as the database has it. */
typedef struct os_stored_pos {
    int32_t partition;
    int64_t next_offset;
    int64_t epoch;
    char updated_at[40]; /* ISO-8601 */
} os_stored_pos_t;

/* One move of the history ("order".projection_moves). */
typedef struct os_move_rec {
    int64_t id;
    char at[40];
    int32_t partition;
    int64_t from; /* -1: nothing was stored */
    int64_t to;
    int64_t epoch;
    char request[256];
} os_move_rec_t;

/* The operations' reads and writes of order-service's own schema (a pool connection per
 * call, any thread). */
typedef struct os_opsdb_port {
    void *self;
    /* The stored positions of `topic` (≤ cap, partition order), count in *n. */
    int (*positions)(void *self, const char *topic, os_stored_pos_t *out, size_t cap, size_t *n, char *err,
                     size_t errlen);
    /* The newest moves of `topic` (≤ cap, newest first), count in *n. */
    int (*recent_moves)(void *self, const char *topic, os_move_rec_t *out, size_t cap, size_t *n, char *err,
                        size_t errlen);
} os_opsdb_port_t;

/* ---- the dead-letter topic ---- */

#define OS_DLQ_TEXT 1025 /* PROJ_TEXT_MAX + 1 */

/* One record of the dead-letter topic, its headers, and what the projection's decoder makes
 * of its value NOW (after a fix it may decode). */
typedef struct os_dlq_rec {
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms;  /* the record's time; -1 unknown */
    char key[80];          /* the key as text (as sent; cut at 79 bytes) */
    char reason[40];       /* dlq.reason ("" when absent) */
    char detail[256];      /* dlq.detail */
    char src_topic[200];   /* dlq.source.topic */
    int32_t src_partition; /* dlq.source.partition; -1 absent */
    int64_t src_offset;    /* dlq.source.offset; -1 absent */
    size_t value_len;
    int tombstone; /* no value: a deletion */
    /* decoded now: ok = 1 and the event; else why not (a poison reason and its detail) */
    int ok;
    char error[300];
    char id[37];
    int64_t version;
    int64_t occurred_at_ms;
    char username[OS_DLQ_TEXT], first_name[OS_DLQ_TEXT], last_name[OS_DLQ_TEXT];
} os_dlq_rec_t;

/* The dead-letter topic's partitions and watermarks. */
typedef struct os_dlq_part {
    int32_t partition;
    int64_t low, high;
} os_dlq_part_t;

typedef struct os_dlqread_port {
    void *self;
    /* Reads the dead-letter topic: of each partition (or only `partition`, ≥ 0), the records
     * from offset `from` (the low watermark when below it) up to the high watermark at the
     * call — at most cap records in all, partition by partition in offset order; *n records,
     * *more = 1 when some were left. parts (may be NULL, ≤ OS_OPS_MAX_PARTS) receive the
     * watermarks, *nparts their count. */
    int (*read)(void *self, int32_t partition, int64_t from, os_dlq_rec_t *out, size_t cap, size_t *n,
                int *more, os_dlq_part_t *parts, size_t *nparts, char *err, size_t errlen);
} os_dlqread_port_t;

/* The redrive's transactions on the read model's database (application/ops_redrive.h): one
 * per dead-letter record, on a connection of its own until commit or rollback. Any thread;
 * each handle is used by one thread. */
typedef struct os_redrive_store_port {
    void *self;
    /* Opens a transaction: its handle (freed by commit or rollback), or NULL (err). */
    void *(*begin)(void *self, char *err, size_t errlen);
    /* Claims the record (dlq_topic, partition, offset) as handled: 1 claimed (its outcome is
     * written by record), 0 it was handled before (what happened and when, into prev), -1.
     * A concurrent claim of the same record waits for this transaction's end. */
    int (*claim)(void *tx, const char *dlq_topic, int32_t partition, int64_t offset, char *prev,
                 size_t prevlen, char *err, size_t errlen);
    /* The projection's batch store inside this transaction (the live read model, the same
     * statements as the live projection; save_offsets NULL: no position moves). */
    os_projstore_port_t (*store)(void *tx);
    /* Writes the claimed record's outcome: the customer id ("" none), the event's version
     * (≤ 0: none, a tombstone), the outcome and its detail. */
    int (*record)(void *tx, const char *dlq_topic, int32_t partition, int64_t offset, const char *id,
                  int64_t version, const char *outcome, const char *detail, char *err, size_t errlen);
    /* Commits and frees the handle. */
    int (*commit)(void *tx, char *err, size_t errlen);
    /* Rolls back and frees the handle. NULL-safe. */
    void (*rollback)(void *tx);
} os_redrive_store_port_t;

#endif
