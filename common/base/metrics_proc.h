/* metrics_proc.h — the process metrics every program exports (Prometheus' client
 * conventions, base units) and its build info:
 *   process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
 *   process_open_fds, process_max_fds, process_start_time_seconds, process_threads,
 *   <program>_build_info{version="…"} 1
 * read from /proc/self at scrape time (metrics_proc_update), so they cost nothing between
 * scrapes. Linux only (elsewhere the process_* series stay 0). */
#ifndef CQ_METRICS_PROC_H
#define CQ_METRICS_PROC_H

#include "metrics.h"

/* Declares the families on `m` (NULL-safe) and sets <program>_build_info{version} to 1:
 * `program` "customer-service" becomes customer_service_build_info. 0 or -1. */
int metrics_proc_declare(metrics_t *m, const char *program, const char *version);
/* Reads /proc/self and sets the process_* gauges and counter. NULL-safe. */
void metrics_proc_update(metrics_t *m);

#endif
