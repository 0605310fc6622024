/*
 * Inside the ingest service (sidik/ingest.h): the state every loop shares
 * (ingest_core.c) and the calls each loop serves (ingest.c).
 *
 * An accepted enrollment is in the shared in-flight list (journal order,
 * with an index by id) from its append until it is recorded RECEIVED in
 * the control store, so at every moment an id is known to the list or to
 * the store and a resend is always recognised. Each call keeps its own
 * list of Receipts owed, in arrival order, each waiting for the point
 * `settled` (durable and recorded) to pass its sequence.
 *
 * Locking: mu guards the in-flight list and index and `recording`; the
 * check-and-append of a new id happens under it, so two loops cannot both
 * accept one id. The control store commit of a batch runs outside mu (by
 * one recorder at a time); the entries stay in the list, findable, until
 * their commit is done. ports_mu guards the ports array, which the
 * journal's thread walks to wake every loop.
 */
#ifndef SIDIK_INGEST_INT_H
#define SIDIK_INGEST_INT_H

#include "sidik/common.h"
#include "sidik/ingest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define INGEST_ID_BUCKETS 4096 /* in-flight index; a few thousand in flight at most */
#define INGEST_MAX_PORTS  256  /* loops (io_threads is at most 256) */

typedef struct inflight {
    struct inflight *next;  /* the list, in journal order */
    struct inflight *hnext; /* its index bucket */
    int64_t appended_ns;
    sidik_enrollment e; /* the control record: id, office, nik, hash, seq, RECEIVED */
} inflight;

typedef struct upload upload;

struct sidik_ingest_port {
    sidik_ingest *ing;
    uv_async_t wake;
    upload *uploads; /* this loop's Upload calls */
    uint32_t slot;   /* in ing->ports */
    void (*done)(void *);
    void *done_arg;
};

struct sidik_ingest {
    sidik_journal *journal;
    sidik_control *control;
    sidik_metrics *metrics;
    size_t call_window;
    int64_t (*now_ms)(void);
    void (*on_recorded)(void *ctx);
    void *recorded_ctx;

    _Atomic uint64_t durable;  /* as the journal last reported it (it outlives the journal) */
    _Atomic uint64_t settled;  /* every entry up to here is durable and recorded */
    _Atomic int64_t unanswered; /* Receipts owed that wait for a durable point, and messages
                                   waiting for journal room, all calls */

    pthread_mutex_t mu;
    inflight *head, *tail;
    inflight *bucket[INGEST_ID_BUCKETS];
    _Atomic uint32_t ninflight; /* written under mu */
    bool recording;             /* a batch is being committed */

    pthread_mutex_t ports_mu;
    sidik_ingest_port *ports[INGEST_MAX_PORTS];
};

/* Under mu. */
inflight *sidik__inflight_find(sidik_ingest *s, const char *id);
void sidik__inflight_add(sidik_ingest *s, inflight *f);

/* Records what became durable (one recorder at a time; the others return
 * at once) and wakes every loop when `settled` moved. Takes mu itself. */
void sidik__ingest_record(sidik_ingest *s);

/* Wakes every loop's port. */
void sidik__ingest_wake_all(sidik_ingest *s);

void sidik__ingest_metric(sidik_ingest *s, sidik_metric m, int64_t d);
int64_t sidik__mono_ns(void);

#endif
