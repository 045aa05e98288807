/* projection_svc.c — one batch, one transaction. See projection_svc.h. */
#include "application/projection_svc.h"

#include <stdio.h>
#include <stdlib.h>

int os_projection_apply(const os_projstore_port_t *store, const char *topic, const proj_event_t *evs,
                        size_t n, const os_offset_t *offs, size_t noffs, os_proj_stats_t *stats, char *err,
                        size_t errlen)
{
    int rc = -1;
    int in_tx = 0;
    const char **ids = malloc((n ? n : 1) * sizeof *ids);
    proj_stored_t *stored = calloc(n ? n : 1, sizeof *stored);
    proj_decision_t *dec = malloc((n ? n : 1) * sizeof *dec);
    proj_op_t *ops = malloc((n ? n : 1) * sizeof *ops);
    size_t nops = 0;
    long nids = 0;

    if (ids == NULL || stored == NULL || dec == NULL || ops == NULL) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    if (store->begin(store->self, err, errlen) != 0)
        goto cleanup;
    in_tx = 1;
    if (n > 0) {
        nids = proj_distinct_ids(evs, n, ids);
        if (nids < 0) {
            snprintf(err, errlen, "out of memory");
            goto cleanup;
        }
        for (long i = 0; i < nids; i++)
            snprintf(stored[i].customer_id, sizeof stored[i].customer_id, "%s", ids[i]);
        if (store->load_versions(store->self, ids, (size_t)nids, stored, err, errlen) != 0)
            goto cleanup;
        if (proj_plan(evs, n, stored, (size_t)nids, dec, ops, &nops) != 0) {
            snprintf(err, errlen, "out of memory");
            goto cleanup;
        }
        if (nops > 0 && store->apply(store->self, ops, nops, err, errlen) != 0)
            goto cleanup;
    }
    if (store->save_offsets != NULL && noffs > 0 &&
        store->save_offsets(store->self, topic, offs, noffs, err, errlen) != 0)
        goto cleanup;
    if (store->commit(store->self, err, errlen) != 0) {
        in_tx = 0; /* a failed COMMIT ends the transaction (rolled back) */
        goto cleanup;
    }
    in_tx = 0;
    if (stats != NULL) {
        stats->events += n;
        stats->ops += nops;
        for (size_t i = 0; i < n; i++) {
            switch (dec[i]) {
            case PROJ_INSERT:
                stats->inserted++;
                break;
            case PROJ_UPDATE:
                stats->updated++;
                break;
            case PROJ_DELETE:
                stats->deleted++;
                break;
            case PROJ_SKIP_STALE:
                stats->skipped_stale++;
                break;
            case PROJ_SKIP_ABSENT:
                stats->skipped_absent++;
                break;
            }
        }
    }
    rc = 0;
cleanup:
    if (in_tx)
        store->rollback(store->self);
    free(ids);
    free(stored);
    free(dec);
    free(ops);
    return rc;
}
