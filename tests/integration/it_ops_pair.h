/* it_ops_pair.h — helpers of the operations API's integration tests (it_ops_backfill,
 * it_ops_recon): a customer-service and an order-service instance of the test's own
 * (private databases, topic and consumer group; configuration from the fixture's
 * config-server, overridden by env), both with the admin token OPS_TOKEN; admin requests; and
 * the write side compared with a read model row for row. Built on it_ops_util.h and ts.h. */
#ifndef IT_OPS_PAIR_H
#define IT_OPS_PAIR_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#define OPS_TOKEN "it-ops-admin-token"

typedef struct ops_svc {
    pid_t pid;
    int port;
    char url[64];
    char log[256];
} ops_svc_t;

/* customer-service on database `db` publishing to `topic`, with the extra "NAME=value" env
 * entries (NULL-terminated, may be NULL); waits for readiness (fails the test otherwise). */
void pair_start_customer(ops_svc_t *s, const char *name, const char *db, const char *topic,
                         const char *const *extra);
/* order-service on `db` projecting `topic` (DLQ `topic`.DLQ) in consumer group `group`. */
void pair_start_order(ops_svc_t *s, const char *name, const char *db, const char *topic, const char *group,
                      const char *const *extra);
/* SIGTERM; the exit status (0 expected) or -1. */
int pair_stop(ops_svc_t *s);

/* A test's world: private write-side and read-model databases ("it_ops_<tag>_w_<pid>",
 * "…_r_<pid>"), `ntopics` (1 or 2) topics and a consumer group named after the tag, pid and
 * time, and the two services. pair_world_init names them and creates both databases (0 or
 * -1); pair_world_cleanup, the teardown, stops the services that still run, drops both
 * databases and deletes the topics and their DLQs: 0, or -1 when a service's exit status was
 * not 0. */
typedef struct pair_world {
    char wdb[64], rdb[64], topic[2][96], group[128];
    int ntopics;
    ops_svc_t cs, os;
} pair_world_t;
int pair_world_init(pair_world_t *w, const char *tag, int ntopics);
int pair_world_cleanup(pair_world_t *w);

/* An admin request with the token: the status; the body as JSON into *out (may be NULL). */
long pair_admin(const ops_svc_t *s, const char *method, const char *path, const char *body, json_t **out);

/* The customers of the write side (customer.customers of `wdb`) and of a read model
 * ("order".customers of `rdb`), one line each (id|username|first|last|version), malloc'ed. */
char *pair_dump(const char *db, int read_model);
/* Polls until both dumps are equal (1) or timeout_ms passes (0; prints the first difference). */
int pair_wait_equal(const char *wdb, const char *rdb, long timeout_ms);

#endif
