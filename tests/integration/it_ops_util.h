/* it_ops_util.h — helpers shared by the it_ops_* integration tests: start a program of
 * CQ_BIN_DIR as a child with env overrides and its stdout/stderr captured to files, free
 * ports, a private PostgreSQL database, Kafka topic
 * configuration (Admin DescribeConfigs) and the JSON-lines log check. */
#ifndef IT_OPS_UTIL_H
#define IT_OPS_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/* (Programs are started with ts_spawn from tests/support/ts.h.) */

/* The env entries every service instance of these tests gets: config-server URL
 * (CQ_CONFIG_URL), APP_PROFILES (CQ_PROFILE or test), DATASOURCE_HOST/PORT and
 * KAFKA_CONFIG_BOOTSTRAP_SERVERS from CQ_PG_CONNINFO / CQ_KAFKA_BOOTSTRAP, SERVER_PORT and
 * DATASOURCE_DBNAME, SERVER_ADDRESS, LSAN_OPTIONS. Written into `buf` (entries point into it),
 * NULL-terminated in `env` after `n` entries; returns the count. `env` must hold at least OPS_BASE_ENV+1
 * slots. */
#define OPS_BASE_ENV 9
size_t ops_base_env(char buf[OPS_BASE_ENV][256], const char **env, int port, const char *dbname);

/* (Waiting for a child, SIGTERM with a bound and HTTP probes: ts_wait_exit, ts_term,
 * ts_alive, ts_get, ts_wait_status in tests/support/ts.h.) */

/* Runs `sql` on a connection to `dbname` of CQ_PG_CONNINFO's server (NULL = its own
 * dbname). 0 when it succeeded. */
int ops_pg_exec(const char *dbname, const char *sql);
/* The first value of `sql` as long long (-1 on error/NULL). */
long long ops_pg_scalar(const char *dbname, const char *sql);
/* Drops (FORCE) and creates database `dbname`. 0 or -1. */
int ops_create_db(const char *dbname);
void ops_drop_db(const char *dbname);
/* A conninfo for `dbname` on CQ_PG_CONNINFO's server, in `out`. */
void ops_conninfo(char *out, size_t len, const char *dbname);

/* The value of topic config `name` (DescribeConfigs) into out; the partition count
 * (metadata) into *partitions. 0 or -1. */
int ops_topic_config(const char *topic, const char *name, char *out, size_t len, int *partitions);
/* Deletes the topics (best effort). */
void ops_delete_topics(const char *const *topics, size_t n);

/* Checks every line of the file is a JSON object with string fields ts, level, service
 * (== `service`) and msg. Returns the number of lines checked, or -1 and prints the first
 * offending line. */
long ops_check_json_log(const char *path, const char *service);

#endif
