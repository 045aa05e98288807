/* projection.c — the read model's decisions and batch planning. See projection.h. */
#include "projection.h"
#include "uuidtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct proj_ref {
    const char *id;
    size_t idx;
} proj_ref_t;

static int proj_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + n >= len)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}

int proj_event_valid(const proj_event_t *ev, char *msg, size_t msglen)
{
    const char *names[3] = {"username", "firstName", "lastName"};
    const char *vals[3] = {ev->username, ev->first_name, ev->last_name};
    if (!uuidtext_valid(ev->customer_id)) {
        snprintf(msg, msglen, "customer id is not a UUID");
        return 0;
    }
    if (ev->tombstone)
        return 1;
    if (ev->version < 1) {
        snprintf(msg, msglen, "version %lld is not >= 1", (long long)ev->version);
        return 0;
    }
    for (int i = 0; i < 3; i++) {
        size_t len;
        if (vals[i] == NULL) {
            snprintf(msg, msglen, "%s is missing", names[i]);
            return 0;
        }
        len = strlen(vals[i]);
        if (len > PROJ_TEXT_MAX) {
            snprintf(msg, msglen, "%s is longer than %d bytes", names[i], PROJ_TEXT_MAX);
            return 0;
        }
        if (!proj_utf8_valid((const unsigned char *)vals[i], len)) {
            snprintf(msg, msglen, "%s is not valid UTF-8", names[i]);
            return 0;
        }
    }
    return 1;
}

proj_decision_t proj_decide(int found, int64_t stored_version, const proj_event_t *ev)
{
    if (ev->tombstone)
        return found ? PROJ_DELETE : PROJ_SKIP_ABSENT;
    if (!found)
        return PROJ_INSERT;
    return stored_version < ev->version ? PROJ_UPDATE : PROJ_SKIP_STALE;
}

const char *proj_decision_name(proj_decision_t d)
{
    switch (d) {
    case PROJ_INSERT:
        return "insert";
    case PROJ_UPDATE:
        return "update";
    case PROJ_DELETE:
        return "delete";
    case PROJ_SKIP_STALE:
        return "skip-stale";
    case PROJ_SKIP_ABSENT:
        return "skip-absent";
    }
    return "unknown";
}

static int proj_ref_cmp(const void *a, const void *b)
{
    const proj_ref_t *x = a;
    const proj_ref_t *y = b;
    int c = strcmp(x->id, y->id);
    if (c != 0)
        return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int proj_stored_cmp(const void *a, const void *b)
{
    const proj_stored_t *const *x = a;
    const proj_stored_t *const *y = b;
    return strcmp((*x)->customer_id, (*y)->customer_id);
}

static proj_ref_t *proj_sorted_refs(const proj_event_t *events, size_t n)
{
    proj_ref_t *refs = malloc((n ? n : 1) * sizeof *refs);
    if (refs == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        refs[i].id = events[i].customer_id;
        refs[i].idx = i;
    }
    qsort(refs, n, sizeof *refs, proj_ref_cmp);
    return refs;
}

long proj_distinct_ids(const proj_event_t *events, size_t n, const char **ids)
{
    proj_ref_t *refs = proj_sorted_refs(events, n);
    long k = 0;
    if (refs == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(refs[i].id, refs[i - 1].id) != 0)
            ids[k++] = refs[i].id;
    free(refs);
    return k;
}

int proj_plan(const proj_event_t *events, size_t n, const proj_stored_t *stored, size_t nstored,
              proj_decision_t *decisions, proj_op_t *ops, size_t *nops)
{
    int rc = -1;
    proj_ref_t *refs = proj_sorted_refs(events, n);
    const proj_stored_t **sidx = malloc((nstored ? nstored : 1) * sizeof *sidx);
    size_t k = 0;

    if (refs == NULL || sidx == NULL)
        goto cleanup;
    for (size_t i = 0; i < nstored; i++)
        sidx[i] = &stored[i];
    qsort(sidx, nstored, sizeof *sidx, proj_stored_cmp);

    for (size_t g = 0; g < n;) {
        size_t end = g + 1;
        while (end < n && strcmp(refs[end].id, refs[g].id) == 0)
            end++;
        /* initial state of this customer */
        proj_stored_t key;
        const proj_stored_t *kp = &key;
        const proj_stored_t **hit;
        size_t idlen = strlen(refs[g].id);
        memset(&key, 0, sizeof key);
        memcpy(key.customer_id, refs[g].id, idlen < PROJ_ID_LEN ? idlen : PROJ_ID_LEN);
        hit = nstored ? bsearch(&kp, sidx, nstored, sizeof *sidx, proj_stored_cmp) : NULL;
        int had = hit != NULL && (*hit)->found;
        int found = had;
        int64_t ver = had ? (*hit)->version : 0;
        const proj_event_t *last_set = NULL; /* event that made the current row */
        const proj_event_t *last_del = NULL;

        for (size_t j = g; j < end; j++) {
            const proj_event_t *ev = &events[refs[j].idx];
            proj_decision_t d = proj_decide(found, ver, ev);
            decisions[refs[j].idx] = d;
            if (d == PROJ_INSERT || d == PROJ_UPDATE) {
                found = 1;
                ver = ev->version;
                last_set = ev;
            } else if (d == PROJ_DELETE) {
                found = 0;
                last_set = NULL;
                last_del = ev;
            }
        }
        if (found && last_set != NULL) {
            ops[k].kind = PROJ_OP_UPSERT;
            ops[k].ev = last_set;
            ops[k].had_row = had;
            k++;
        } else if (!found && had) {
            ops[k].kind = PROJ_OP_DELETE;
            ops[k].ev = last_del;
            ops[k].had_row = had;
            k++;
        }
        g = end;
    }
    *nops = k;
    rc = 0;
cleanup:
    free(refs);
    free(sidx);
    return rc;
}
