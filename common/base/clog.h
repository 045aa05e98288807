/* clog.h — JSON-lines logging for the three programs.
 *
 * One line per event on the chosen stream (stderr by default):
 *   {"ts":"2026-11-26T11:52:03.123Z","level":"info","service":"config-server","msg":"…",…}
 * While the thread works for a traced span (trc_set_current, common/base/trc.h), each line
 * also carries "trace_id" and "span_id" (W3C, lower-case hex).
 * A clog_t is created in main() and passed to whoever logs; there is no global logger.
 * Each line is written with a single fwrite, so threads never interleave within a line.
 */
#ifndef CQ_CLOG_H
#define CQ_CLOG_H

#include <stdatomic.h>
#include <stdio.h>

#include <jansson.h>

typedef enum { CLOG_DEBUG = 0, CLOG_INFO, CLOG_WARN, CLOG_ERROR } clog_level_t;

typedef struct clog {
    const char *service; /* borrowed; must outlive the logger */
    atomic_int min;      /* lines below this level (a clog_level_t) are dropped; clog_set_level */
    FILE *out;           /* borrowed */
} clog_t;

/* Sets up a logger. `level` is "debug", "info", "warn" or "error" (NULL or unknown → info). */
void clog_init(clog_t *l, const char *service, const char *level, FILE *out);
/* Parses a level name; returns -1 when unknown. */
int clog_level_parse(const char *name);
/* Changes the level of a logger in use (other threads see it at their next line). */
void clog_set_level(clog_t *l, clog_level_t lv);
/* The level's name ("debug", "info", "warn", "error"). */
const char *clog_level_name(clog_level_t lv);

/* Logs a message built from `fmt`. */
void clog_msg(const clog_t *l, clog_level_t lv, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Same, with extra fields: `fields` is a JSON object whose reference is STOLEN (may be NULL). */
void clog_ev(const clog_t *l, clog_level_t lv, json_t *fields, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define clog_debug(l, ...) clog_msg((l), CLOG_DEBUG, __VA_ARGS__)
#define clog_info(l, ...) clog_msg((l), CLOG_INFO, __VA_ARGS__)
#define clog_warn(l, ...) clog_msg((l), CLOG_WARN, __VA_ARGS__)
#define clog_error(l, ...) clog_msg((l), CLOG_ERROR, __VA_ARGS__)

#endif
