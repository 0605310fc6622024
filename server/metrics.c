/*
 * Metrics (sidik/metrics.h): one table, atomic slots, text rendering.
 */
#include "sidik/common.h"
#include "sidik/metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

/* Buckets in seconds: a receipt should come within milliseconds, a decision
 * within the minute (issue 7's p99 target is 60 s). */
static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                 0.5,   1,      2.5,   5,    10,    30,   60,  120};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

typedef struct metric_def {
    const char *name, *type, *help, *label; /* label: NULL, or `key="value"` */
} metric_def;

static const metric_def defs[SIDIK_M_VALUES_] = {
    [SIDIK_M_CONNECTIONS_OPEN] = {"sidik_connections_open", "gauge", "TLS connections open now", NULL},
    [SIDIK_M_CONNECTIONS_TOTAL] = {"sidik_connections_total", "counter", "TLS connections accepted", NULL},
    [SIDIK_M_HANDSHAKE_FAILURES] = {"sidik_handshake_failures_total", "counter",
                                    "TLS handshakes refused or failed", NULL},
    [SIDIK_M_CONNECTIONS_REFUSED] = {"sidik_connections_refused_total", "counter",
                                     "connections closed at once: over max_connections or over "
                                     "max_connections_per_client", NULL},
    [SIDIK_M_STREAMS_OPEN] = {"sidik_streams_open", "gauge", "HTTP/2 streams open now", NULL},
    [SIDIK_M_ENROLLMENTS_RECEIVED] = {"sidik_enrollments_total", "counter",
                                      "enrollments by the status they reached", "status=\"RECEIVED\""},
    [SIDIK_M_ENROLLMENTS_PRINT_READY] = {"sidik_enrollments_total", NULL, NULL, "status=\"PRINT_READY\""},
    [SIDIK_M_ENROLLMENTS_DUPLICATE] = {"sidik_enrollments_total", NULL, NULL, "status=\"DUPLICATE\""},
    [SIDIK_M_ENROLLMENTS_ADJUDICATE] = {"sidik_enrollments_total", NULL, NULL, "status=\"ADJUDICATE\""},
    [SIDIK_M_ENROLLMENTS_REJECTED] = {"sidik_enrollments_total", NULL, NULL, "status=\"REJECTED\""},
    [SIDIK_M_JOURNAL_LAG] = {"sidik_journal_lag_entries", "gauge",
                             "journal entries appended but not yet durable", NULL},
    [SIDIK_M_DEDUP_QUEUE] = {"sidik_dedup_queue_depth", "gauge", "enrollments waiting for their search", NULL},
    [SIDIK_M_DEDUP_PAUSED] = {"sidik_dedup_paused", "gauge", "1 while the dedup stage is paused by a failing store (new uploads refused)", NULL},
    [SIDIK_M_PRINT_QUEUE] = {"sidik_print_queue_depth", "gauge", "print authorisations not yet leased", NULL},
    [SIDIK_M_CHUNKS_RECEIVED] = {"sidik_upload_chunks_total", "counter",
                                 "Ingest.UploadChunks messages received", NULL},
    [SIDIK_M_CHUNK_STAGED_BYTES] = {"sidik_upload_staged_bytes", "gauge",
                                    "buffer bytes held for part-uploaded enrollments", NULL},
};

static const metric_def hdefs[SIDIK_H_HISTOGRAMS_] = {
    [SIDIK_H_DURABLE_SECONDS] = {"sidik_receipt_seconds", "histogram",
                                 "from an enrollment's arrival to its durable receipt", NULL},
    [SIDIK_H_DECISION_SECONDS] = {"sidik_decision_seconds", "histogram",
                                  "from receipt to decision", NULL},
};

typedef struct histogram {
    _Atomic uint64_t bucket[NBUCKETS]; /* observations <= buckets[i], not cumulative */
    _Atomic uint64_t count;
    _Atomic uint64_t sum_us;
} histogram;

struct sidik_metrics {
    _Atomic int64_t v[SIDIK_M_VALUES_];
    histogram h[SIDIK_H_HISTOGRAMS_];
};

int sidik_metrics_create(sidik_metrics **out)
{
    sidik_metrics *m = sidik_trycalloc(1, sizeof *m);
    if (m == NULL)
        return SIDIK_ENOMEM;
    *out = m;
    return 0;
}

void sidik_metrics_destroy(sidik_metrics *m)
{
    sidik_free(m);
}

void sidik_metrics_add(sidik_metrics *m, sidik_metric which, int64_t delta)
{
    if ((unsigned)which < SIDIK_M_VALUES_)
        atomic_fetch_add_explicit(&m->v[which], delta, memory_order_relaxed);
}

int64_t sidik_metrics_get(const sidik_metrics *m, sidik_metric which)
{
    if ((unsigned)which >= SIDIK_M_VALUES_)
        return 0;
    return atomic_load_explicit(&((sidik_metrics *)m)->v[which], memory_order_relaxed);
}

void sidik_metrics_observe(sidik_metrics *m, sidik_histogram which, double seconds)
{
    if ((unsigned)which >= SIDIK_H_HISTOGRAMS_)
        return;
    histogram *h = &m->h[which];
    if (!(seconds > 0))
        seconds = 0; /* also NaN */
    size_t b = 0;
    while (b < NBUCKETS && seconds > buckets[b])
        b++;
    if (b < NBUCKETS)
        atomic_fetch_add_explicit(&h->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    double us = seconds * 1e6;
    atomic_fetch_add_explicit(&h->sum_us, us < 1.8e19 ? (uint64_t)us : UINT64_MAX / 2,
                              memory_order_relaxed);
}

/* Appends to the output, counting what did not fit. */
typedef struct out {
    char *buf;
    size_t cap, len;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->cap ? o->cap - o->len : 0;
    int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

int sidik_metrics_render(const sidik_metrics *m, char *buf, size_t cap, size_t *len)
{
    if (m == NULL || len == NULL || (buf == NULL && cap > 0))
        return SIDIK_EINVAL;
    out o = {buf, cap, 0};
    for (int i = 0; i < SIDIK_M_VALUES_; i++) {
        const metric_def *d = &defs[i];
        if (d->type != NULL) /* the first of a family carries HELP and TYPE */
            put(&o, "# HELP %s %s\n# TYPE %s %s\n", d->name, d->help, d->name, d->type);
        if (d->label != NULL)
            put(&o, "%s{%s} %lld\n", d->name, d->label, (long long)sidik_metrics_get(m, i));
        else
            put(&o, "%s %lld\n", d->name, (long long)sidik_metrics_get(m, i));
    }
    for (int i = 0; i < SIDIK_H_HISTOGRAMS_; i++) {
        const metric_def *d = &hdefs[i];
        const histogram *h = &m->h[i];
        put(&o, "# HELP %s %s\n# TYPE %s histogram\n", d->name, d->help, d->name);
        uint64_t cum = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cum += atomic_load_explicit(&((histogram *)h)->bucket[b], memory_order_relaxed);
            put(&o, "%s_bucket{le=\"%g\"} %llu\n", d->name, buckets[b], (unsigned long long)cum);
        }
        uint64_t count = atomic_load_explicit(&((histogram *)h)->count, memory_order_relaxed);
        if (count < cum)
            count = cum; /* a concurrent observation between the two loads */
        put(&o, "%s_bucket{le=\"+Inf\"} %llu\n", d->name, (unsigned long long)count);
        put(&o, "%s_sum %.6f\n", d->name,
            (double)atomic_load_explicit(&((histogram *)h)->sum_us, memory_order_relaxed) / 1e6);
        put(&o, "%s_count %llu\n", d->name, (unsigned long long)count);
    }
    *len = o.len;
    return o.len < cap ? 0 : SIDIK_ETOOBIG;
}
