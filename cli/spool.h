/*
 * The office's spool: every capture, held durably at the station until the
 * centre has acknowledged it, and where each one stands for
 * `sidik upload status`.
 *
 * Purpose. An office captures faster than its link can send, and its link
 * is down for hours or days. A capture goes into the spool before the
 * operator is told it is saved (sidik_spool_put returns only after an LMDB
 * commit with fdatasync); the uploader then takes batches in capture order
 * (sidik_spool_next), sends them, and records what happened: sent, received
 * with the centre's receipt, refused for good, or failed (retried after an
 * exponential backoff with full jitter). Decisions seen later through
 * Status.Get are recorded too, so the office sees each capture's whole path:
 * CAPTURED, SENT, RECEIVED, then PRINT_READY, DUPLICATE, ADJUDICATE,
 * REJECTED, PRINTED (sidik_status, numbered as EnrollmentStatus in
 * proto/sidik.proto).
 *
 * Layout. One LMDB environment in a folder (data.mdb, lock.mdb), format
 * version 1, named databases:
 *   meta     "spool": magic "SIDIKSPL", u32 format version;
 *            "next": u64 next sequence; "counts": the stats below
 *   rec      sequence (u64 big-endian, so a cursor walks capture order) ->
 *            the state record (fixed header, then id, then reason)
 *   body     sequence -> the enrollment's packed bytes
 *   id       enrollment_id -> sequence
 *   pending  sequence -> next attempt time (i64), for records the centre
 *            does not hold yet (CAPTURED, SENT)
 * Values are in the host's byte order: a spool never leaves its station.
 * Opening a folder that holds anything else fails (SIDIK_EFORMAT), as does
 * another format version (SIDIK_EVERSION).
 *
 * Identity and content. The spool takes the enrollment packed (protobuf
 * sidik.v1.Enrollment) and reads enrollment_id from the bytes themselves,
 * so the id it indexes is the one the centre will see. The bytes must be
 * protobuf-c's own encoding of the message they decode to (what
 * sidik__v1__enrollment__pack writes): the centre hashes its re-encoding,
 * so only then is the spool's SHA-256 the receipt's content_sha256, and
 * sidik_spool_mark_received can refuse a receipt for other content. A put
 * of an id already held with the same bytes is a no-op that answers the
 * existing sequence (a station retrying after a crash); with other bytes it
 * is refused (SIDIK_EEXISTS), as the centre would refuse it.
 *
 * Limits. SIDIK_SPOOL_BODY_MAX (16 MiB) per enrollment: ten ISO templates
 * are a few KB, an ISO 19794-5 face and a signature image a few hundred KB,
 * so 16 MiB is far above any real capture yet bounds what one put holds in
 * memory (it decodes the message once to check it) and what one resend
 * costs on a thin link (16 MiB at 64 kbit/s is 35 minutes). The server's
 * max_message_bytes may be lower; the uploader's chunking is its concern.
 *
 * Compaction (sidik_spool_compact, run by the caller, e.g. at start and
 * hourly). Bytes are only worth keeping until the centre holds them: its
 * receipt is sent only once the enrollment is in its fsync'd journal
 * (DESIGN.md decision 3), and a backlog of a month offline can be tens of
 * GB on a station's disk. So a body is dropped body_keep_ms after the
 * centre was seen to hold it (default one day, a margin for an operator to
 * notice a centre restored from an old backup); a body the centre refused
 * is kept with its record, for the operator to inspect. The small state
 * record (about 300 bytes) stays, so `upload status` can answer for it,
 * until record_keep_ms (default 90 days) after it reached an end state:
 * PRINTED, DUPLICATE or REJECTED. PRINT_READY and ADJUDICATE records are
 * never deleted: the office still waits on them. Sequences are never
 * reused. LMDB reuses freed pages but never shrinks data.mdb.
 *
 * Threads and processes. A sidik_spool is thread-safe: every call is its
 * own LMDB transaction (one writer at a time; readers see a snapshot).
 * Several processes may open the same folder (`sidik upload status` while
 * `sidik upload` runs), but one process opens it once (LMDB's rule: its
 * locks are per process), and an open spool is not carried across fork().
 * No call takes a callback; the options' random source is called inside
 * the write transaction, so never by two threads at once. Every write call
 * is one synced commit: all of it is durable when it returns 0, none of it
 * is when it fails.
 *
 * Caveats. Times are the caller's (Unix ms), so tests control them; a
 * clock stepped backwards only delays retries. A full spool (SIDIK_EFULL)
 * refuses puts until it is reopened with a larger map_bytes or the disk has
 * room; compaction frees pages for later puts but needs a few free pages
 * itself. The spool trusts its own
 * folder: a damaged record reads as SIDIK_ECORRUPT, and a damaged body is
 * caught by its hash when read (sidik_spool_body).
 */
#ifndef SIDIK_CLI_SPOOL_H
#define SIDIK_CLI_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sidik/control.h" /* sidik_status, SIDIK_ENROLL_ID_MAX */

#define SIDIK_SPOOL_FORMAT     1u
#define SIDIK_SPOOL_BODY_MAX   (16u << 20)
#define SIDIK_SPOOL_REASON_MAX 255 /* longer refusal reasons are cut */

typedef struct sidik_spool sidik_spool;

typedef struct sidik_spool_options {
    uint64_t map_bytes;      /* LMDB map size; 0: 64 GiB (address space, not disk) */
    int64_t backoff_base_ms; /* first retry within this; 0: 2 s */
    int64_t backoff_cap_ms;  /* never wait longer than this; 0: 10 min */
    /* Random source for the jitter, called during sidik_spool_mark_failed
     * on the calling thread; NULL: getrandom(2). */
    uint64_t (*rand)(void *ctx);
    void *rand_ctx;
} sidik_spool_options;

/* What the centre answered for a received enrollment (proto Receipt). */
typedef struct sidik_spool_receipt {
    uint64_t journal_seq;
    int64_t received_time_ms;
    uint8_t content_sha256[32]; /* all zero: the receipt carried none */
} sidik_spool_receipt;

/* One capture as the spool knows it. */
typedef struct sidik_spool_entry {
    uint64_t seq; /* capture order, from 1, gap-free, never reused */
    char id[SIDIK_ENROLL_ID_MAX + 1];
    sidik_status status;
    uint8_t sha256[32]; /* of the packed bytes */
    uint64_t bytes;     /* packed size */
    bool body_held;     /* the bytes are still in the spool */
    bool at_centre;     /* the centre holds it (a receipt, or Status said so) */
    uint32_t attempts;  /* failed attempts */
    int64_t next_attempt_ms;
    /* When the spool recorded each status (index: sidik_status; 0: never).
     * For decisions, the centre's time when Status gave one. */
    int64_t changed_ms[SIDIK_STATUS_PRINTED + 1];
    sidik_spool_receipt receipt; /* zero until a receipt was recorded */
    int32_t refusal_code;        /* gRPC status of a permanent refusal, else 0 */
    char reason[SIDIK_SPOOL_REASON_MAX + 1];
} sidik_spool_entry;

/* The backlog. */
typedef struct sidik_spool_stats {
    uint64_t by_status[SIDIK_STATUS_PRINTED + 1]; /* records in each status */
    uint64_t records;                             /* all records held */
    uint64_t backlog;                             /* not at the centre, not refused */
    uint64_t backlog_bytes;                       /* their packed bytes */
    uint64_t body_bytes;                          /* all packed bytes held */
    uint64_t next_seq;                            /* the next put's sequence */
    int64_t oldest_backlog_ms;                    /* capture time of the oldest; 0: none */
} sidik_spool_stats;

typedef struct sidik_spool_policy {
    int64_t body_keep_ms;   /* after the centre holds it; 0 here: drop at once */
    int64_t record_keep_ms; /* after an end state */
} sidik_spool_policy;

/* The defaults: bodies one day, records 90 days (see Compaction above). */
#define SIDIK_SPOOL_POLICY_DEFAULT ((sidik_spool_policy){86400000LL, 90 * 86400000LL})

typedef struct sidik_spool_compacted {
    uint64_t bodies_dropped, bytes_freed, records_dropped;
} sidik_spool_compacted;

/** Opens the spool in folder dir, creating it (and the folder) when absent
 *  or empty. o may be NULL. *why (may be NULL) gets a static reason.
 *  Errors: SIDIK_EINVAL, -ENOTDIR (dir is a file), -EACCES (not writable),
 *  SIDIK_EFORMAT (a folder or LMDB environment that is not a spool),
 *  SIDIK_EVERSION (another format version), SIDIK_ECORRUPT, SIDIK_ENOMEM,
 *  other -errno. */
int sidik_spool_open(const char *dir, const sidik_spool_options *o, sidik_spool **out,
                     const char **why);
/** NULL is a no-op. */
void sidik_spool_close(sidik_spool *sp);

/** Adds a capture: p[0..n) is a packed sidik.v1.Enrollment, borrowed for the
 *  call. *seq gets its sequence (the existing one when the same id with the
 *  same bytes is already held). Durable when it returns 0.
 *  Errors: SIDIK_EINVAL (n == 0; no enrollment_id; an id empty, over
 *  SIDIK_ENROLL_ID_MAX bytes, holding a NUL, a space or a non-ASCII byte),
 *  SIDIK_ETOOBIG (n > SIDIK_SPOOL_BODY_MAX), SIDIK_EFORMAT (not an
 *  Enrollment, or not protobuf-c's encoding of it), SIDIK_EEXISTS (the id
 *  is held with other bytes), SIDIK_EFULL (map or disk full), SIDIK_ENOMEM,
 *  SIDIK_ECORRUPT, -errno. On error nothing is written. */
int sidik_spool_put(sidik_spool *sp, const uint8_t *p, size_t n, int64_t now_ms, uint64_t *seq,
                    const char **why);

/** The sequence of the capture with this enrollment_id.
 *  Errors: SIDIK_EINVAL, SIDIK_ENOTFOUND. */
int sidik_spool_find(sidik_spool *sp, const char *id, uint64_t *seq);

/** Capture seq's state into *out (caller's storage).
 *  Errors: SIDIK_EINVAL, SIDIK_ENOTFOUND, SIDIK_ECORRUPT. */
int sidik_spool_get(sidik_spool *sp, uint64_t seq, sidik_spool_entry *out);

/** Capture seq's packed bytes, checked against their hash: *p is the
 *  caller's to sidik_free, *n its length.
 *  Errors: SIDIK_EINVAL, SIDIK_ENOTFOUND (no such capture, or its bytes
 *  were dropped by compaction), SIDIK_ECORRUPT (the bytes no longer match
 *  their hash), SIDIK_ENOMEM. */
int sidik_spool_body(sidik_spool *sp, uint64_t seq, uint8_t **p, size_t *n);

/** Up to max sequences to send now, in capture order: captures the centre
 *  does not hold, not refused, whose next attempt time is <= now_ms.
 *  *n gets how many; *next_due_ms (may be NULL) the earliest next attempt
 *  among those not due yet (0: none; complete only when *n < max), for the
 *  caller's sleep. A record stays due until marked; sidik_spool_mark_sent's
 *  lease keeps it out while it is in flight.
 *  Errors: SIDIK_EINVAL, SIDIK_ECORRUPT. */
int sidik_spool_next(sidik_spool *sp, int64_t now_ms, uint64_t *seqs, size_t max, size_t *n,
                     int64_t *next_due_ms);

/** Records that seqs[0..n) go on the wire now: CAPTURED becomes SENT, and
 *  each is not due again before now_ms + lease_ms (so a crashed uploader's
 *  sends are retried after the lease, and a live one's are not sent twice).
 *  Captures the centre already holds or refused are left as they are.
 *  All or none. Errors: SIDIK_EINVAL, SIDIK_ENOTFOUND, SIDIK_ECORRUPT,
 *  SIDIK_EFULL, -errno. */
int sidik_spool_mark_sent(sidik_spool *sp, const uint64_t *seqs, size_t n, int64_t now_ms,
                          int64_t lease_ms);

/** Records the centre's receipt for seq: RECEIVED (a later status stays),
 *  no longer due. Idempotent: the same receipt again is a no-op.
 *  Errors: SIDIK_EINVAL, SIDIK_ENOTFOUND, SIDIK_ECORRUPT (the receipt's
 *  content_sha256 is not the hash of what the spool holds: nothing is
 *  recorded and the capture stays due), SIDIK_EEXISTS (another receipt is
 *  recorded), SIDIK_ESTATE (the capture was refused), SIDIK_EFULL, -errno. */
int sidik_spool_mark_received(sidik_spool *sp, uint64_t seq, const sidik_spool_receipt *r,
                              int64_t now_ms);

/** Records a permanent refusal (gRPC status code, reason cut to
 *  SIDIK_SPOOL_REASON_MAX bytes; may be NULL): REJECTED, never retried.
 *  Again on a refused capture: a no-op.
 *  Errors: SIDIK_EINVAL (code 0), SIDIK_ENOTFOUND, SIDIK_ESTATE (the centre
 *  holds it), SIDIK_ECORRUPT, SIDIK_EFULL, -errno. */
int sidik_spool_mark_refused(sidik_spool *sp, uint64_t seq, int32_t code, const char *reason,
                             int64_t now_ms);

/** Records a failed attempt for each of seqs[0..n): attempts + 1, next
 *  attempt at now_ms + a delay drawn uniformly from [0, min(cap, base *
 *  2^(attempts - 1))] ("full jitter", so offices whose link returns at once
 *  do not retry in step). *next_ms (may be NULL) gets the earliest of the
 *  new times. Captures the centre holds or refused are left as they are.
 *  All or none. Errors: as sidik_spool_mark_sent. */
int sidik_spool_mark_failed(sidik_spool *sp, const uint64_t *seqs, size_t n, int64_t now_ms,
                            int64_t *next_ms);

/** Records a status Status.Get gave for seq (RECEIVED or later) at time_ms.
 *  Any of them means the centre holds the capture, so it is no longer due.
 *  The path only moves on: ADJUDICATE may become a decision, a decision
 *  PRINTED; an older answer (RECEIVED after PRINT_READY) is ignored.
 *  Errors: SIDIK_EINVAL (status before RECEIVED), SIDIK_ENOTFOUND,
 *  SIDIK_ECORRUPT, SIDIK_EFULL, -errno. */
int sidik_spool_set_status(sidik_spool *sp, uint64_t seq, sidik_status status, int64_t time_ms);

/** The backlog and the counts by status (kept with every change, so this
 *  is a few reads). Errors: SIDIK_EINVAL, SIDIK_ECORRUPT. */
int sidik_spool_stats_get(sidik_spool *sp, sidik_spool_stats *out);

/** A page of captures in capture order, from the first sequence after
 *  `after` (0: the start), only those in status `status` (0: any): up to max
 *  into out (caller's storage), *n how many. The next page starts after
 *  out[*n - 1].seq; *n < max means the end. Errors: SIDIK_EINVAL,
 *  SIDIK_ECORRUPT. */
int sidik_spool_list(sidik_spool *sp, uint64_t after, sidik_status status, sidik_spool_entry *out,
                     size_t max, size_t *n);

/** Applies policy p (NULL: SIDIK_SPOOL_POLICY_DEFAULT) at now_ms, in
 *  transactions of a few hundred records so the uploader is never held up
 *  for long. *out (may be NULL) gets what it freed. Errors: SIDIK_EINVAL,
 *  SIDIK_ECORRUPT, SIDIK_EFULL, -errno; what earlier transactions freed
 *  stays freed. */
int sidik_spool_compact(sidik_spool *sp, const sidik_spool_policy *p, int64_t now_ms,
                        sidik_spool_compacted *out);

#endif
