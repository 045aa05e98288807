/* ops_replay.h — the operations on the live projection's position (order-service/README.md,
 * "Operations"): its status (per partition: the stored position, the watermarks, the lag,
 * the leader, whether this process holds it; paused or not; the last moves), pause, resume,
 * and replay from a point — move the stored position of one, several or all partitions to an
 * offset, to the first record at or after a time (Kafka's offsets for times) or to the
 * beginning of the log. The move happens where the projection keeps its position, between
 * two batches, with the history written in the same transaction (application/ops_ports.h:
 * os_projctl_port_t). Re-applied events change nothing that is newer: the read model's
 * version guard (domain/projection.h) skips an event whose version the row already has or
 * passed. Every action is logged and counted in order_admin_actions_total{action}.
 */
#ifndef OS_OPS_REPLAY_H
#define OS_OPS_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "application/ops_ports.h"
#include "clog.h"
#include "metrics.h"

#define OS_OPS_MOVES_SHOWN 10

/* The operations' wiring (borrowed; shared by every request thread). */
typedef struct os_ops {
    const char *topic; /* the customer topic */
    const char *group; /* the projection's consumer group (shown in the status) */
    os_topicinfo_port_t kafka;
    os_projctl_port_t proj;
    os_opsdb_port_t db;
    const char *dlq_topic;           /* the dead-letter topic (application/ops_dlq.h) */
    os_dlqread_port_t dlq;           /* its reader; read NULL: not readable here */
    os_redrive_store_port_t redrive; /* the redrive's transactions; begin NULL: no redrive */
    metrics_t *metrics;              /* may be NULL */
    const clog_t *log;
    int timeout_ms; /* bound on each Kafka round trip and on waiting for a command; ≤ 0 → 10000 */
} os_ops_t;

/* How an operation ended, as the HTTP layer answers it. */
typedef enum {
    OS_OPS_OK = 0,
    OS_OPS_INVALID,    /* 400: the request names something impossible (err says what) */
    OS_OPS_NOTFOUND,   /* 404 */
    OS_OPS_CONFLICT,   /* 409: not now (another operation runs) */
    OS_OPS_UNAVAILABLE /* 503: the database, Kafka or the projection did not answer */
} os_ops_rc_t;

/* Declares the metrics of the operations (order_admin_actions_total …) on o->metrics. */
void os_ops_declare_metrics(const os_ops_t *o);
/* Counts one action (order_admin_actions_total{action, result}). */
void os_ops_count(const os_ops_t *o, const char *action, int ok);

/* One partition in the status. */
typedef struct os_ops_part {
    int32_t partition;
    int64_t position; /* the stored next offset; -1 when none is stored (starts at the beginning) */
    int64_t epoch;
    char updated_at[40]; /* when it was last stored; "" when none */
    int64_t low, high;   /* watermarks; -1 unknown */
    int64_t lag;         /* high − position (position −1 counts as low); -1 unknown */
    int32_t leader;      /* broker id; -1 unknown */
    int here;            /* held by this process */
} os_ops_part_t;

typedef struct os_ops_status {
    os_projctl_state_t proj;
    os_ops_part_t parts[OS_OPS_MAX_PARTS];
    size_t nparts;
    os_move_rec_t moves[OS_OPS_MOVES_SHOWN]; /* newest first */
    size_t nmoves;
    char kafka_error[256]; /* "" when Kafka answered; else the partitions are the stored ones only */
} os_ops_status_t;

/* The status (a large struct: allocate it). OS_OPS_OK, or OS_OPS_UNAVAILABLE when the
 * database did not answer (Kafka not answering is reported in kafka_error). */
os_ops_rc_t os_ops_status(const os_ops_t *o, os_ops_status_t *out, char *err, size_t errlen);

/* Pauses (on = 1) or resumes the projection. */
os_ops_rc_t os_ops_pause(const os_ops_t *o, int on, char *err, size_t errlen);

typedef enum { OS_REPLAY_BEGINNING = 0, OS_REPLAY_OFFSET, OS_REPLAY_TIMESTAMP } os_replay_kind_t;

typedef struct os_replay_req {
    os_replay_kind_t kind;
    int64_t value;        /* OFFSET: the offset; TIMESTAMP: Unix epoch ms */
    const int32_t *parts; /* the partitions; NULL/0 = every partition of the topic */
    size_t nparts;
    const char *requester; /* who asked (the log), may be NULL */
} os_replay_req_t;

/* Moves the stored position (see above): out[0..*n) receive the moves as made (from, to,
 * epoch). OS_OPS_INVALID names an unknown partition or an offset outside [low, high]. */
os_ops_rc_t os_ops_replay(const os_ops_t *o, const os_replay_req_t *rq, os_move_t *out, size_t *n, char *err,
                          size_t errlen);

#endif
