/* clog.c — JSON-lines logging. See clog.h. */
#include "clog.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "dbuf.h"
#include "trc.h"

static const char *const clog_names[] = {"debug", "info", "warn", "error"};

int clog_level_parse(const char *name)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, clog_names[i]) == 0)
            return i;
    if (strcasecmp(name, "warning") == 0)
        return CLOG_WARN;
    return -1;
}

void clog_init(clog_t *l, const char *service, const char *level, FILE *out)
{
    int lv = clog_level_parse(level);
    l->service = service;
    atomic_store_explicit(&l->min, lv < 0 ? (int)CLOG_INFO : lv, memory_order_relaxed);
    l->out = out ? out : stderr;
}

void clog_set_level(clog_t *l, clog_level_t lv)
{
    atomic_store_explicit(&l->min, (int)lv, memory_order_relaxed);
}

const char *clog_level_name(clog_level_t lv)
{
    return (unsigned)lv < 4 ? clog_names[lv] : "?";
}

static void clog_write(const clog_t *l, clog_level_t lv, json_t *fields, const char *fmt, va_list ap)
{
    json_t *o = NULL;
    char *line = NULL;
    dbuf_t msg;
    dbuf_init(&msg, 64 * 1024);

    if (l == NULL || (int)lv < atomic_load_explicit(&l->min, memory_order_relaxed))
        goto cleanup;
    if (dbuf_vaddf(&msg, fmt, ap) != 0)
        dbuf_adds(&msg, "(log message too long)");

    struct timespec ts;
    struct tm tm;
    char when[40];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);

    o = json_object();
    if (o == NULL)
        goto cleanup;
    json_object_set_new(o, "ts", json_string(when));
    json_object_set_new(o, "level", json_string(clog_names[lv]));
    json_object_set_new(o, "service", json_string(l->service ? l->service : "?"));
    /* json_stringn_nocheck would keep invalid UTF-8; json_stringn rejects it, so fall back. */
    json_t *m = json_stringn(dbuf_ptr(&msg), dbuf_len(&msg));
    json_object_set_new(o, "msg", m ? m : json_string("(message was not valid UTF-8)"));
    const trc_ctx_t *tc = trc_current(); /* the span this thread works for (trc.h) */
    if (tc != NULL) {
        char tid[33], sid[17];
        trc_trace_hex(tc, tid);
        trc_span_hex(tc->span_id, sid);
        json_object_set_new(o, "trace_id", json_string(tid));
        json_object_set_new(o, "span_id", json_string(sid));
    }
    if (fields != NULL && json_is_object(fields))
        json_object_update_missing(o, fields);
    line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (line != NULL) {
        size_t len = strlen(line);
        line[len] = '\n'; /* json_dumps' NUL becomes the newline; we write len+1 bytes */
        fwrite(line, 1, len + 1, l->out);
        fflush(l->out);
    }

cleanup:
    free(line);
    json_decref(o);
    json_decref(fields);
    dbuf_free(&msg);
}

void clog_msg(const clog_t *l, clog_level_t lv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    clog_write(l, lv, NULL, fmt, ap);
    va_end(ap);
}

void clog_ev(const clog_t *l, clog_level_t lv, json_t *fields, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    clog_write(l, lv, fields, fmt, ap);
    va_end(ap);
}
