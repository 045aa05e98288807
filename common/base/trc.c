/* trc.c — W3C traceparent parsing and formatting, span ids, the thread's current span.
 * See trc.h. */
#include "trc.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "hexdig.h"

/* The one thread-local: the span the thread works for, for its log lines (trc.h). */
static _Thread_local trc_ctx_t trc_cur;
static _Thread_local int trc_cur_set;

static int trc_hex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexdig_value(s[2 * i]), lo = hexdig_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0 || (s[2 * i] >= 'A' && s[2 * i] <= 'F') ||
            (s[2 * i + 1] >= 'A' && s[2 * i + 1] <= 'F'))
            return -1; /* W3C: lower-case hex only */
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static int trc_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return 0;
    return 1;
}

int trc_parse(const char *s, size_t len, trc_ctx_t *out)
{
    trc_ctx_t c;
    if (s == NULL)
        return -1;
    while (len > 0 && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len != TRC_TRACEPARENT_LEN || s[0] != '0' || s[1] != '0' || s[2] != '-' || s[35] != '-' ||
        s[52] != '-')
        return -1;
    if (trc_hex(s + 3, c.trace_id, 16) || trc_hex(s + 36, c.span_id, 8) || trc_hex(s + 53, &c.flags, 1) ||
        trc_zero(c.trace_id, 16) || trc_zero(c.span_id, 8))
        return -1;
    *out = c;
    return 0;
}

static void trc_tohex(const uint8_t *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

void trc_format(const trc_ctx_t *c, char *buf)
{
    char t[33], sp[17], f[3];
    trc_tohex(c->trace_id, 16, t);
    trc_tohex(c->span_id, 8, sp);
    trc_tohex(&c->flags, 1, f);
    snprintf(buf, TRC_TRACEPARENT_LEN + 1, "00-%s-%s-%s", t, sp, f);
}

void trc_trace_hex(const trc_ctx_t *c, char out[33])
{
    trc_tohex(c->trace_id, 16, out);
}

void trc_span_hex(const uint8_t id[8], char out[17])
{
    trc_tohex(id, 8, out);
}

int64_t trc_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void trc_random(uint8_t *b, size_t n)
{
    do {
        size_t got = 0;
        while (got < n) {
            ssize_t r = getrandom(b + got, n - got, 0);
            if (r > 0)
                got += (size_t)r;
        }
    } while (trc_zero(b, n));
}

void trc_span_start(trc_span_t *s, const char *name, trc_kind_t kind, const trc_ctx_t *parent)
{
    memset(s, 0, sizeof *s);
    if (parent != NULL) {
        memcpy(s->ctx.trace_id, parent->trace_id, 16);
        memcpy(s->parent_id, parent->span_id, 8);
        s->ctx.flags = parent->flags;
    } else {
        trc_random(s->ctx.trace_id, 16);
        s->ctx.flags = 1;
    }
    trc_random(s->ctx.span_id, 8);
    snprintf(s->name, sizeof s->name, "%s", name ? name : "span");
    s->kind = kind;
    s->start_ns = trc_now_ns();
}

void trc_span_attr(trc_span_t *s, const char *key, const char *value)
{
    if (s->nattrs >= TRC_MAX_ATTRS || key == NULL || value == NULL)
        return;
    s->attrs[s->nattrs].key = key;
    snprintf(s->attrs[s->nattrs].value, sizeof s->attrs[s->nattrs].value, "%s", value);
    s->nattrs++;
}

void trc_span_end(trc_span_t *s, const trc_sink_t *sink)
{
    s->end_ns = trc_now_ns();
    if (s->end_ns < s->start_ns)
        s->end_ns = s->start_ns;
    if (sink != NULL && sink->emit != NULL)
        sink->emit(sink->self, s);
}

const trc_ctx_t *trc_current(void)
{
    return trc_cur_set ? &trc_cur : NULL;
}

void trc_set_current(const trc_ctx_t *c)
{
    if (c != NULL)
        trc_cur = *c;
    trc_cur_set = c != NULL;
}
