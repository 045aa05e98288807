/* batch.c — decoding a polled batch into projection events and poison. See batch.h. */
#include "messaging/batch.h"

#include "trc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void os_batch_init(os_batch_t *b, void (*release)(void *self, os_msg_t *m), void *self)
{
    memset(b, 0, sizeof *b);
    b->release = release;
    b->release_self = self;
}

static int os_batch_grow(os_batch_t *b)
{
    size_t cap = b->cap ? b->cap * 2 : 256;
    void *p;
#define OS_GROW(field)                                                                                       \
    p = realloc(b->field, cap * sizeof *b->field);                                                           \
    if (p == NULL)                                                                                           \
        return -1;                                                                                           \
    b->field = p;
    OS_GROW(msgs)
    OS_GROW(decoded)
    OS_GROW(keys)
    OS_GROW(events)
    OS_GROW(ev_msg)
    OS_GROW(poison)
    OS_GROW(offs)
#undef OS_GROW
    memset(b->decoded + b->cap, 0, (cap - b->cap) * sizeof *b->decoded);
    b->cap = cap;
    return 0;
}

int os_batch_add(os_batch_t *b, os_msg_t *m)
{
    if (b->n == b->cap && os_batch_grow(b) != 0) {
        b->release(b->release_self, m);
        return -1;
    }
    if (b->n == 0)
        b->start_ns = trc_now_ns();
    b->msgs[b->n++] = *m;
    size_t i;
    for (i = 0; i < b->noffs; i++)
        if (b->offs[i].partition == m->partition)
            break;
    if (i == b->noffs) {
        b->offs[i].partition = m->partition;
        b->noffs++;
    }
    b->offs[i].next_offset = m->offset + 1;
    return 0;
}

static const char *os_batch_reason(evcodec_err_t e)
{
    switch (e) {
    case EVCODEC_E_MAGIC:
        return "bad-magic";
    case EVCODEC_E_UNKNOWN_ID:
        return "unknown-schema-id";
    case EVCODEC_E_FIELD:
        return "invalid-event";
    case EVCODEC_E_SHORT:
    case EVCODEC_E_AVRO:
    default:
        return "bad-avro";
    }
}

static void os_batch_poison(os_batch_t *b, size_t i, const char *reason, const char *detail)
{
    os_poison_t *p = &b->poison[b->npoison++];
    p->msg = &b->msgs[i];
    p->reason = reason;
    size_t n = strlen(detail);
    if (n >= sizeof p->detail)
        n = sizeof p->detail - 1;
    memcpy(p->detail, detail, n);
    p->detail[n] = '\0';
}

int os_batch_decode(os_batch_t *b, const evcodec_t *codec)
{
    char detail[256];
    b->nev = 0;
    b->npoison = 0;
    b->retry[0] = '\0';
    for (size_t i = 0; i < b->n; i++) {
        const os_msg_t *m = &b->msgs[i];
        proj_event_t *ev = &b->events[b->nev];
        memset(ev, 0, sizeof *ev);
        if (m->value == NULL || m->len == 0) {
            /* tombstone: the key is the customer id */
            size_t kl = m->key_len;
            if (m->key == NULL || kl != PROJ_ID_LEN) {
                os_batch_poison(b, i, "bad-key", "tombstone without a UUID key");
                continue;
            }
            for (size_t k = 0; k < kl; k++) {
                char c = ((const char *)m->key)[k];
                b->keys[i][k] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
            }
            b->keys[i][PROJ_ID_LEN] = '\0';
            ev->customer_id = b->keys[i];
            ev->tombstone = 1;
        } else {
            detail[0] = '\0';
            evcodec_err_t e =
                evcodec_decode_customer(codec, m->value, m->len, &b->decoded[i], detail, sizeof detail);
            if (e == EVCODEC_E_REGISTRY) { /* not the record's fault: the batch waits */
                snprintf(b->retry, sizeof b->retry, "partition %d offset %lld: %s", (int)m->partition,
                         (long long)m->offset, detail);
                return OS_BATCH_RETRY;
            }
            if (e != EVCODEC_OK) {
                /* the codec's detail usually starts with its strerror text already */
                const char *what = evcodec_strerror(e);
                size_t wl = strlen(what);
                char full[600];
                if (*detail == '\0')
                    snprintf(full, sizeof full, "%s", what);
                else if (strncmp(detail, what, wl) == 0)
                    snprintf(full, sizeof full, "%s", detail);
                else
                    snprintf(full, sizeof full, "%s: %s", what, detail);
                os_batch_poison(b, i, os_batch_reason(e), full);
                continue;
            }
            const evcodec_customer_t *c = &b->decoded[i];
            ev->customer_id = c->id;
            ev->version = c->version;
            ev->username = c->username;
            ev->first_name = c->first_name;
            ev->last_name = c->last_name;
            ev->occurred_at_ms = c->occurred_at_ms;
        }
        if (!proj_event_valid(ev, detail, sizeof detail)) {
            os_batch_poison(b, i, "invalid-event", detail);
            continue;
        }
        b->ev_msg[b->nev] = i;
        b->nev++;
    }
    return 0;
}

void os_batch_reset(os_batch_t *b)
{
    for (size_t i = 0; i < b->n; i++) {
        evcodec_customer_clear(&b->decoded[i]);
        b->release(b->release_self, &b->msgs[i]);
    }
    b->n = 0;
    b->nev = 0;
    b->npoison = 0;
    b->noffs = 0;
}

void os_batch_free(os_batch_t *b)
{
    if (b == NULL)
        return;
    os_batch_reset(b);
    free(b->msgs);
    free(b->decoded);
    free(b->keys);
    free(b->events);
    free(b->ev_msg);
    free(b->poison);
    free(b->offs);
    memset(b, 0, sizeof *b);
}
