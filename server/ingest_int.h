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
 *
 * Ingest.UploadChunks' staging (ingest_chunks.c) has a lock of its own,
 * never held while mu is taken: a chunk looks at the staging, lets go,
 * asks the in-flight list and the store whether its id is known (under
 * mu), then takes the staging again to append.
 */
#ifndef SIDIK_INGEST_INT_H
#define SIDIK_INGEST_INT_H

#include "sidik/common.h"
#include "sidik/ingest.h"
#include "sidik/validate.h"

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
typedef struct sidik__staging sidik__staging;

struct sidik_ingest_port {
    sidik_ingest *ing;
    uv_async_t wake;
    uv_timer_t sweep; /* drops idle stagings */
    uv_timer_t retry; /* records again while the control store fails */
    int open_handles; /* of wake and sweep, until both have closed */
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
    int (*downstream)(void *ctx); /* sidik_ingest_options' */
    void *downstream_ctx;
    size_t max_enrollment;   /* UploadChunks: the largest total_bytes */
    sidik__staging *staging; /* UploadChunks: the prefixes held */

    _Atomic uint64_t durable;  /* as the journal last reported it (it outlives the journal) */
    _Atomic uint64_t settled;  /* every entry up to here is durable and recorded */
    _Atomic int64_t unanswered; /* Receipts owed that wait for a durable point, and messages
                                   waiting for journal room, all calls */

    pthread_mutex_t mu;
    inflight *head, *tail;
    inflight *bucket[INGEST_ID_BUCKETS];
    _Atomic uint32_t ninflight; /* written under mu */
    bool recording;             /* a batch is being committed */
    int record_failed;          /* the control store's last refusal; 0 once a batch is recorded */
    _Atomic bool record_retry;  /* an upload was refused for it: record again from the loop */

    pthread_mutex_t ports_mu;
    sidik_ingest_port *ports[INGEST_MAX_PORTS];
};

/* What one answer says (ingest.c builds the Receipt from it). */
typedef struct receipt {
    const char *id;
    const uint8_t *sha256;
    uint64_t seq;
    int64_t received_ms;
    sidik_status status;
    sidik_grpc_status code;
    const char *reason;
    const sidik_validation *v;
    bool resend;
} receipt;

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

/* ---- Ingest.UploadChunks ------------------------------------------------------------ */

/* ingest.c, takes mu: whether id is known (in flight or stored) so that a
 * chunk can be answered at once. 1 with *r (its id and sha256 the
 * caller's) and *wait_seq filled: a resend of the enrollment hashing to
 * sha256 (the original receipt, resend set), other content under that id
 * (ALREADY_EXISTS), or the store's error. 0: new to the service, or the
 * same content recorded for another office than `office` (which the
 * Upload path's validation, not this shortcut, answers). */
int sidik__ingest_lookup(sidik_ingest *s, const char *id, const uint8_t sha256[32],
                         const char *office, receipt *r, uint64_t *wait_seq);

/* ingest_chunks.c. The staging, sized from o (0s: the defaults in
 * sidik/ingest.h): SIDIK_ENOMEM. Destroy frees what it still holds. Sweep
 * drops every staging idle for longer than the idle time (any thread);
 * sweep_ms is how often a loop should call it. */
int sidik__staging_create(const sidik_ingest_options *o, sidik_metrics *metrics,
                          sidik__staging **out);
void sidik__staging_destroy(sidik__staging *g);
void sidik__staging_sweep(sidik__staging *g);
uint64_t sidik__staging_sweep_ms(const sidik__staging *g);

/* What one EnrollmentChunk comes to. When `assembled` is set, the chunk
 * completed an enrollment whose bytes hash to its content_sha256 (copied
 * into sha256): assembled[0..assembled_len) is the caller's (sidik_free),
 * to be decided exactly like an Upload message, its answer a ChunkReceipt
 * with held_bytes = assembled_len. Otherwise the answer is a ChunkReceipt
 * with held_bytes = held, and, when `final`, r as its Receipt, owed once
 * wait_seq is settled (0: at once). r points into this struct. */
typedef struct sidik__chunk_result {
    uint64_t held;
    bool final;
    receipt r;
    uint64_t wait_seq;
    uint8_t *assembled;
    size_t assembled_len;
    char id[SIDIK_ENROLL_ID_MAX + 1]; /* "" when the chunk's was unusable */
    uint8_t sha256[32];
    sidik_validation v;
} sidik__chunk_result;

/* One EnrollmentChunk message p[0..n) from who, on any loop's thread:
 * validated, answered from the store for a known id, staged. 0 (see
 * *out), or SIDIK_ENOMEM when a completed enrollment's hash cannot be
 * computed; a staging short of memory is a RESOURCE_EXHAUSTED answer for
 * the chunk instead, so the call goes on. */
int sidik__chunk_take(sidik_ingest *s, const sidik_identity *who, const uint8_t *p, size_t n,
                      sidik__chunk_result *out);

#endif
