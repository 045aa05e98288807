/* ts.h — test support shared by every integration and e2e test.
 *
 * Where the test stack lives (env set by ctest, see cmake/CqTesting.cmake), a small
 * libcurl HTTP client, and a PostgreSQL helper. Used from cmocka tests, so failures
 * fail the current test through cmocka's assertions.
 */
#ifndef CQ_TS_H
#define CQ_TS_H

#include <stddef.h>
#include <sys/types.h>

/* The value of env var `name`, or `dflt` when unset or empty. Borrowed. */
const char *ts_env(const char *name, const char *dflt);

typedef struct ts_resp {
    long status; /* HTTP status, 0 when the request failed */
    char *body;  /* malloc'ed, NUL-terminated; free with ts_resp_free */
    size_t body_len;
    char *headers; /* malloc'ed raw response header block */
} ts_resp_t;

/* Performs one request. `body` may be NULL; `hdrs` is a NULL-terminated list of
 * "Name: value" strings or NULL. Returns 0 when a response arrived (any status). */
int ts_http(const char *method, const char *url, const char *body, size_t body_len, const char *const *hdrs,
            ts_resp_t *out);
void ts_resp_free(ts_resp_t *r);
/* The value of response header `name` (case-insensitive), malloc'ed, or NULL. */
char *ts_resp_header(const ts_resp_t *r, const char *name);

/* 0 when `r` is the problem+json answer a bad request must get: status `want`, an
 * application/problem+json Content-Type, a JSON body whose "status" is `want` and whose
 * "detail" (or "field") contains `needle`. Otherwise prints what came (prefixed by `what`)
 * to stderr and returns -1. */
int ts_problem_check(const ts_resp_t *r, long want, const char *needle, const char *what);

/* Mutation fuzzing: applies 1–3 random edits to buf[0..len) — a byte replaced or inserted
 * (drawn from `alphabet`, the input language's own characters), or the text truncated —
 * without growing it past `cap`. Returns the new length. Deterministic for a given seed. */
size_t ts_mutate(char *buf, size_t len, size_t cap, const char *alphabet, unsigned *seed);

/* POSTs `n` bytes of `fill` as application/json to `url` (an oversize body); as ts_http. */
int ts_post_filled(const char *url, size_t n, char fill, ts_resp_t *out);

/* The status of GET `url`, or 0 when no response came. */
long ts_http_status(const char *url);

/* The sum of the `metric` series of GET http://127.0.0.1:port/metrics (Prometheus text)
 * whose labels contain `label` (NULL = every series); 0 when none or no answer. */
double ts_metric_sum(int port, const char *metric, const char *label);

/* Starts `prog` from $CQ_BIN_DIR with `args` (NULL-terminated, may be NULL) and the test's
 * environment, in which every NAME=value of `env` (NULL-terminated, may be NULL) replaces
 * or adds that variable. stdin is /dev/null; stdout and stderr go to the files named (NULL:
 * /dev/null), so a child outliving a failed test holds no pipe of the test's. Returns the
 * pid, or -1. */
pid_t ts_spawn(const char *prog, const char *const *args, const char *const *env, const char *out_path,
               const char *err_path);
/* The one spawner every test uses (ts_spawn is it with $CQ_BIN_DIR/prog): `bin` with `args`
 * (NULL-terminated, argv[1..]), the test's environment minus every variable starting with
 * `drop` (may be NULL) and with `env` replacing or adding; stdin /dev/null, stdout and stderr
 * to the files named (NULL: /dev/null; "-": the test's own; the same path twice: one file),
 * truncated or appended. Of two `env` entries for one name the last wins.
 * The child dies with the test (PR_SET_PDEATHSIG) and inherits no descriptor above 2.
 * Returns the pid, or -1. */
pid_t ts_spawn_bin(const char *bin, const char *const *args, const char *const *env, const char *drop,
                   const char *out_path, const char *err_path, int append);

/* Waits up to timeout_ms for `pid` to exit: its exit code (128 + signal when killed), or -1
 * after SIGKILLing it when the time ran out. */
int ts_wait_exit(pid_t pid, long timeout_ms);
/* SIGTERM, then ts_wait_exit. */
int ts_term(pid_t pid, long timeout_ms);
/* 1 when `pid` (a child of the test) is still running. */
int ts_alive(pid_t pid);

/* GET http://127.0.0.1:port/path: the status (0 when no answer); *body and *ctype (either
 * may be NULL) receive malloc'ed copies. */
long ts_get(int port, const char *path, char **body, char **ctype);
/* Polls GET port/path until it answers `want` or timeout_ms passes (sooner when `pid` > 0
 * has died); returns the last status. */
long ts_wait_status(int port, const char *path, long want, long timeout_ms, pid_t pid);

/* A new empty database `dbname` (dropped first if it exists, WITH (FORCE)) on the test
 * stack's PostgreSQL server ($CQ_PG_CONNINFO). Returns 0, or -1 after printing why. */
int ts_pg_fresh_db(const char *dbname);

/* A TCP port on 127.0.0.1 that nothing listens on now, for a server the test starts: drawn
 * from TS_PORT_LO..TS_PORT_HI, below Linux's ephemeral range (32768-60999), so the kernel
 * never hands it out as the source port of an outgoing connection between this probe and
 * the server's bind; successive calls (and concurrent test processes, by their pid) walk
 * different sequences, and the fixed ports of the test stack and the fault suite lie
 * outside the range. -1 when none is free. */
#define TS_PORT_LO 20000
#define TS_PORT_HI 24999
int ts_free_port(void);

/* Milliseconds on a monotonic clock. */
long long ts_now_ms(void);
/* Sleeps `ms` milliseconds. */
void ts_sleep_ms(long ms);

#endif
