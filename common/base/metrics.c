/* metrics.c — a tiny thread-safe Prometheus registry. See metrics.h. Series are found
 * through a hash of their label text; each family holds at most METRICS_MAX_SERIES. */
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbuf.h"

#define METRICS_MAX_BUCKETS 32
#define METRICS_HASH 256

const double metrics_default_buckets[METRICS_DEFAULT_NBUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

typedef struct metrics_series {
    struct metrics_series *next;  /* creation order */
    struct metrics_series *hnext; /* same hash bucket */
    char *labels;                 /* owned, "" when none */
    double value;                 /* counter/gauge value, histogram sum */
    unsigned long long count;
    unsigned long long *bucket; /* histogram: per-bucket (non-cumulative) counts, owned */
} metrics_series_t;

typedef struct metrics_family {
    struct metrics_family *next;
    char *name;
    char *help;
    metrics_type_t type;
    double buckets[METRICS_MAX_BUCKETS];
    size_t nbuckets;
    metrics_series_t *series; /* in creation order */
    metrics_series_t **tail;
    metrics_series_t *hash[METRICS_HASH];
    size_t nseries;
} metrics_family_t;

struct metrics {
    pthread_mutex_t mu;
    metrics_family_t *families; /* in declaration order */
    metrics_family_t **tail;
    unsigned long long dropped; /* updates refused: their family had METRICS_MAX_SERIES */
};

metrics_t *metrics_new(void)
{
    metrics_t *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    pthread_mutex_init(&m->mu, NULL);
    m->tail = &m->families;
    return m;
}

void metrics_free(metrics_t *m)
{
    if (m == NULL)
        return;
    for (metrics_family_t *f = m->families, *fn; f != NULL; f = fn) {
        fn = f->next;
        for (metrics_series_t *s = f->series, *sn; s != NULL; s = sn) {
            sn = s->next;
            free(s->labels);
            free(s->bucket);
            free(s);
        }
        free(f->name);
        free(f->help);
        free(f);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static int metrics_name_ok(const char *n)
{
    if (n == NULL || *n == '\0' || (*n >= '0' && *n <= '9'))
        return 0;
    for (; *n; n++)
        if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') || *n == '_' ||
              *n == ':'))
            return 0;
    return 1;
}

static metrics_family_t *metrics_find(metrics_t *m, const char *name)
{
    for (metrics_family_t *f = m->families; f != NULL; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

int metrics_declare(metrics_t *m, const char *name, metrics_type_t type, const char *help,
                    const double *buckets, size_t nbuckets)
{
    metrics_family_t *f;
    int rc = -1;
    if (m == NULL || !metrics_name_ok(name) || nbuckets > METRICS_MAX_BUCKETS)
        return -1;
    if (buckets == NULL || nbuckets == 0) {
        buckets = metrics_default_buckets;
        nbuckets = METRICS_DEFAULT_NBUCKETS;
    }
    pthread_mutex_lock(&m->mu);
    f = metrics_find(m, name);
    if (f != NULL) {
        rc = f->type == type ? 0 : -1;
        goto cleanup;
    }
    f = calloc(1, sizeof *f);
    if (f == NULL)
        goto cleanup;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    if (f->name == NULL || f->help == NULL) {
        free(f->name);
        free(f->help);
        free(f);
        goto cleanup;
    }
    f->type = type;
    memcpy(f->buckets, buckets, nbuckets * sizeof *buckets);
    f->nbuckets = nbuckets;
    f->tail = &f->series;
    *m->tail = f;
    m->tail = &f->next;
    rc = 0;
cleanup:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static unsigned metrics_hash(const char *labels)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)labels; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % METRICS_HASH;
}

static metrics_series_t *metrics_lookup(const metrics_family_t *f, const char *labels, unsigned h)
{
    for (metrics_series_t *s = f->hash[h]; s != NULL; s = s->hnext)
        if (strcmp(s->labels, labels) == 0)
            return s;
    return NULL;
}

/* Finds or creates the series; called with the mutex held. NULL when the family is full
 * (counted in m->dropped) or out of memory. */
static metrics_series_t *metrics_series(metrics_t *m, metrics_family_t *f, const char *labels)
{
    metrics_series_t *s;
    if (labels == NULL)
        labels = "";
    unsigned h = metrics_hash(labels);
    s = metrics_lookup(f, labels, h);
    if (s != NULL)
        return s;
    if (f->nseries >= METRICS_MAX_SERIES) {
        m->dropped++;
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->labels = strdup(labels);
    if (f->type == METRICS_HISTOGRAM)
        s->bucket = calloc(f->nbuckets, sizeof *s->bucket);
    if (s->labels == NULL || (f->type == METRICS_HISTOGRAM && s->bucket == NULL)) {
        free(s->labels);
        free(s->bucket);
        free(s);
        return NULL;
    }
    *f->tail = s;
    f->tail = &s->next;
    s->hnext = f->hash[h];
    f->hash[h] = s;
    f->nseries++;
    return s;
}

/* op: 0 add, 1 set, 2 observe */
static int metrics_update(metrics_t *m, const char *name, const char *labels, double v, int op)
{
    metrics_family_t *f;
    metrics_series_t *s;
    int rc = -1;
    if (m == NULL || name == NULL || isnan(v))
        return -1;
    pthread_mutex_lock(&m->mu);
    f = metrics_find(m, name);
    if (f == NULL)
        goto cleanup;
    if ((op == 0 && f->type == METRICS_HISTOGRAM) || (op == 1 && f->type != METRICS_GAUGE) ||
        (op == 2 && f->type != METRICS_HISTOGRAM) || (op == 0 && f->type == METRICS_COUNTER && v < 0) ||
        (op == 3 && f->type != METRICS_COUNTER))
        goto cleanup;
    s = metrics_series(m, f, labels);
    if (s == NULL)
        goto cleanup;
    if (op == 0) {
        s->value += v;
    } else if (op == 3) {
        if (v > s->value)
            s->value = v;
    } else if (op == 1) {
        s->value = v;
    } else {
        size_t i = 0;
        while (i < f->nbuckets && v > f->buckets[i])
            i++;
        if (i < f->nbuckets)
            s->bucket[i]++;
        s->value += v;
        s->count++;
    }
    rc = 0;
cleanup:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int metrics_add(metrics_t *m, const char *name, const char *labels, double v)
{
    return metrics_update(m, name, labels, v, 0);
}

int metrics_set(metrics_t *m, const char *name, const char *labels, double v)
{
    return metrics_update(m, name, labels, v, 1);
}

int metrics_raise(metrics_t *m, const char *name, const char *labels, double v)
{
    return metrics_update(m, name, labels, v, 3);
}

int metrics_observe(metrics_t *m, const char *name, const char *labels, double v)
{
    return metrics_update(m, name, labels, v, 2);
}

double metrics_get(metrics_t *m, const char *name, const char *labels)
{
    double v = 0;
    if (m == NULL || name == NULL)
        return 0;
    if (labels == NULL)
        labels = "";
    pthread_mutex_lock(&m->mu);
    metrics_family_t *f = metrics_find(m, name);
    metrics_series_t *s = f != NULL ? metrics_lookup(f, labels, metrics_hash(labels)) : NULL;
    if (s != NULL)
        v = f->type == METRICS_HISTOGRAM ? (double)s->count : s->value;
    pthread_mutex_unlock(&m->mu);
    return v;
}

static const char *const metrics_type_names[] = {"counter", "gauge", "histogram"};

/* Appends name{labels[,extra]} — extra is a le="…" pair or NULL. */
static int metrics_put_name(dbuf_t *b, const char *name, const char *suffix, const char *labels,
                            const char *extra)
{
    int have = labels && *labels;
    if (dbuf_addf(b, "%s%s", name, suffix) != 0)
        return -1;
    if (!have && extra == NULL)
        return 0;
    return dbuf_addf(b, "{%s%s%s}", have ? labels : "", have && extra ? "," : "", extra ? extra : "");
}

char *metrics_render(metrics_t *m, size_t *len)
{
    dbuf_t b;
    char *out = NULL;
    int bad = 0;
    if (m == NULL)
        return NULL;
    dbuf_init(&b, 64 * 1024 * 1024);
    pthread_mutex_lock(&m->mu);
    for (metrics_family_t *f = m->families; f != NULL && !bad; f = f->next) {
        bad |= dbuf_addf(&b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                         metrics_type_names[f->type]);
        for (metrics_series_t *s = f->series; s != NULL && !bad; s = s->next) {
            if (f->type != METRICS_HISTOGRAM) {
                bad |= metrics_put_name(&b, f->name, "", s->labels, NULL);
                bad |= dbuf_addf(&b, " %.15g\n", s->value);
                continue;
            }
            unsigned long long cum = 0;
            char le[64];
            for (size_t i = 0; i < f->nbuckets && !bad; i++) {
                cum += s->bucket[i];
                snprintf(le, sizeof le, "le=\"%g\"", f->buckets[i]);
                bad |= metrics_put_name(&b, f->name, "_bucket", s->labels, le);
                bad |= dbuf_addf(&b, " %llu\n", cum);
            }
            bad |= metrics_put_name(&b, f->name, "_bucket", s->labels, "le=\"+Inf\"");
            bad |= dbuf_addf(&b, " %llu\n", s->count);
            bad |= metrics_put_name(&b, f->name, "_sum", s->labels, NULL);
            bad |= dbuf_addf(&b, " %.15g\n", s->value);
            bad |= metrics_put_name(&b, f->name, "_count", s->labels, NULL);
            bad |= dbuf_addf(&b, " %llu\n", s->count);
        }
    }
    if (m->dropped > 0 && !bad)
        bad |= dbuf_addf(
            &b,
            "# HELP metrics_series_dropped_total Updates not recorded: their family already had %d "
            "series.\n# TYPE metrics_series_dropped_total counter\nmetrics_series_dropped_total %llu\n",
            METRICS_MAX_SERIES, m->dropped);
    pthread_mutex_unlock(&m->mu);
    if (!bad)
        out = dbuf_take(&b, len);
    dbuf_free(&b);
    return out;
}

char *metrics_label_escape(const char *value, char *out, size_t outlen)
{
    size_t o = 0;
    if (out == NULL || outlen == 0)
        return out;
    for (const char *p = value ? value : ""; *p != '\0'; p++) {
        const char *rep = NULL;
        char one[2] = {*p, '\0'};
        if (*p == '\\')
            rep = "\\\\";
        else if (*p == '"')
            rep = "\\\"";
        else if (*p == '\n')
            rep = "\\n";
        else
            rep = one;
        size_t rl = strlen(rep);
        if (o + rl >= outlen)
            break;
        memcpy(out + o, rep, rl);
        o += rl;
    }
    out[o] = '\0';
    return out;
}
