/*
 * sidikd's metrics, rendered in the Prometheus text exposition format
 * (version 0.0.4) for GET /metrics.
 *
 * The set is fixed at compile time (one table in metrics.c), so updating a
 * metric is one relaxed atomic add on a known slot: no lookup, no lock, no
 * allocation on the request path. Histograms have fixed buckets.
 *
 * Threads: update from any thread; render from any thread (a render sees
 * each value at some moment during the call, not one global snapshot).
 */
#ifndef SIDIK_METRICS_H
#define SIDIK_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    SIDIK_M_CONNECTIONS_OPEN = 0,   /* gauge */
    SIDIK_M_CONNECTIONS_TOTAL,      /* counter */
    SIDIK_M_HANDSHAKE_FAILURES,     /* counter */
    SIDIK_M_CONNECTIONS_REFUSED,    /* counter: over max_connections or a client's share */
    SIDIK_M_STREAMS_OPEN,           /* gauge */
    SIDIK_M_ENROLLMENTS_RECEIVED,   /* counter; by status below */
    SIDIK_M_ENROLLMENTS_PRINT_READY,
    SIDIK_M_ENROLLMENTS_DUPLICATE,
    SIDIK_M_ENROLLMENTS_ADJUDICATE,
    SIDIK_M_ENROLLMENTS_REJECTED,
    SIDIK_M_JOURNAL_LAG,            /* gauge: appended but not yet durable */
    SIDIK_M_DEDUP_QUEUE,            /* gauge */
    SIDIK_M_DEDUP_PAUSED,           /* gauge: 1 while the dedup stage is paused */
    SIDIK_M_PRINT_QUEUE,            /* gauge */
    SIDIK_M_CHUNKS_RECEIVED,        /* counter: Ingest.UploadChunks messages */
    SIDIK_M_CHUNK_STAGED_BYTES,     /* gauge: buffer bytes of part-uploaded enrollments */
    SIDIK_M_VALUES_                 /* not a metric */
} sidik_metric;

typedef enum {
    SIDIK_H_DURABLE_SECONDS = 0, /* receipt latency: append to durable */
    SIDIK_H_DECISION_SECONDS,    /* receipt to decision */
    SIDIK_H_HISTOGRAMS_          /* not a histogram */
} sidik_histogram;

typedef struct sidik_metrics sidik_metrics;

/** Errors: SIDIK_ENOMEM. */
int sidik_metrics_create(sidik_metrics **out);
void sidik_metrics_destroy(sidik_metrics *m);

void sidik_metrics_add(sidik_metrics *m, sidik_metric which, int64_t delta);
/** Records one observation of seconds (negative counts as 0). */
void sidik_metrics_observe(sidik_metrics *m, sidik_histogram which, double seconds);
int64_t sidik_metrics_get(const sidik_metrics *m, sidik_metric which);

/** Writes the exposition text into buf[0..cap) NUL-terminated; *len gets
 *  its length. Errors: SIDIK_ETOOBIG (cap too small; *len is the size
 *  needed, without the NUL). */
int sidik_metrics_render(const sidik_metrics *m, char *buf, size_t cap, size_t *len);

#endif
