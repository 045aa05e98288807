/* worker_ports.h — the ports of order-service's background workers (ops-structs, as in
 * ports.h): the live projection's database session, the rebuild's store, and the rebuild
 * control the admin endpoint drives. dataaccess/ implements the stores, messaging/ the
 * workers and the control, http/ renders what the control reports; main.c builds and wires
 * them. The workers' unit tests drive them with fakes.
 *
 * Conventions as in ports.h: 0 or -1 (err filled, may be NULL) unless said otherwise.
 */
#ifndef OS_WORKER_PORTS_H
#define OS_WORKER_PORTS_H

#include <stddef.h>
#include <stdint.h>

#include "application/ports.h"

/* One partition's move of the stored position by an operator (replay from a point). */
typedef struct os_move {
    int32_t partition;
    int64_t to;    /* the new next offset (≥ 0) */
    int64_t from;  /* filled in: the stored offset before, -1 when none was stored */
    int64_t epoch; /* filled in: the partition's new epoch */
} os_move_t;

/* The live projection's database session: one connection, used by the projector's thread
 * only. */
typedef struct os_projdb_port {
    void *self;
    /* The batch transactions on the live table, offsets stored with the rows. */
    os_projstore_port_t store;
    /* Makes sure a session is open, re-making a broken one. Returns 0 when it is the same
     * server session as at the previous call, 1 when it is another one (re-made since: maybe
     * on another server, which need not have the commits this process saw — the caller must
     * re-read its position), -1 when there is none (err). No round trip when the session
     * looks healthy: a server that went away unnoticed is found by the next round trip. */
    int (*session)(void *self, char *err, size_t errlen);
    /* 1 when the server answers on the current session (a round trip), else 0. Re-makes
     * nothing. */
    int (*ping)(void *self);
    /* The stored offsets of `topic` (up to `cap` entries into out, the count in *n): where
     * the read model stands. A round trip. */
    int (*load_offsets)(void *self, const char *topic, os_offset_t *out, size_t cap, size_t *n, char *err,
                        size_t errlen);
    /* An operator's move, in one transaction (synchronous commit): stores mv[i].to as the
     * next offset of partition mv[i].partition of `topic` with its epoch bumped, and records
     * each move with `request` (what was asked, for the history); fills mv[i].from and
     * mv[i].epoch. Not inside a batch. */
    int (*move_offsets)(void *self, const char *topic, os_move_t *mv, size_t n, const char *request,
                        char *err, size_t errlen);
} os_projdb_port_t;

/* The rebuild's store: a session of its own (one rebuild at a time per database), the shadow
 * table "order".customers_rebuild and the swap. Used by one rebuild thread at a time. */
typedef struct os_rebuild_store_port {
    void *self;
    /* Opens the session, takes the database-wide rebuild lock (else -1, err "another rebuild
     * of the read model is running") and (re)creates the empty shadow table (UNLOGGED while
     * it is filled; the session commits asynchronously: the shadow is throw-away until the
     * swap). */
    int (*open)(void *self, char *err, size_t errlen);
    /* The batch store into the shadow table (no offsets; the versions are remembered in
     * memory instead of read back). Valid while open; after swap_begin its batches are
     * savepoints inside the swap transaction. */
    os_projstore_port_t (*shadow)(void *self);
    /* Makes the shadow table crash-safe (LOGGED), before the swap. */
    int (*set_logged)(void *self, char *err, size_t errlen);
    /* Begins the swap transaction (synchronous commit): locks the live table and the stored
     * offsets against the live projector (waiting for its batch) and reads the live
     * projector's stored offsets of `topic` (≤ cap into out, count in *n). On -1 call abort. */
    int (*swap_begin)(void *self, const char *topic, os_offset_t *out, size_t cap, size_t *n, char *err,
                      size_t errlen);
    /* Renames the shadow table into place, drops the old one and commits; *rows = the rows
     * of the new table. On -1 call abort. */
    int (*swap_commit)(void *self, uint64_t *rows, char *err, size_t errlen);
    /* Rolls back a begun swap and drops the shadow table (when the session still works). */
    void (*abort)(void *self);
    /* Closes the session (the lock goes with it). Safe when not open. */
    void (*close)(void *self);
} os_rebuild_store_port_t;

/* Figures of one rebuild. */
typedef struct os_rebuild_stats {
    uint64_t events; /* messages read */
    uint64_t poison; /* skipped undecodable messages */
    uint64_t rows;   /* rows in the table after the swap */
    int64_t elapsed_ms;
    int64_t swap_ms; /* time the live table was locked */
} os_rebuild_stats_t;

/* What the rebuild control reports (a plain copy; the HTTP layer renders it). */
typedef struct os_rebuild_status {
    const char *state; /* "idle", "running", "succeeded" or "failed" (static) */
    os_rebuild_stats_t stats;
    char error[512]; /* "" unless failed */
} os_rebuild_status_t;

/* Runs at most one rebuild at a time in the background (POST/GET /admin/rebuild-read-model). */
typedef struct os_rebuild_port {
    void *self; /* NULL: no rebuild available */
    /* Starts one. 1 started, 0 one is already running, -1 error. */
    int (*start)(void *self);
    void (*status)(void *self, os_rebuild_status_t *out);
} os_rebuild_port_t;

#endif
