/*
 * Ingest.Upload: offices stream Enrollments, sidikd answers each with a
 * Receipt once it is durable in the journal.
 *
 * For each Enrollment, in the order the office sent them:
 *   1. it must parse and pass sidik_enrollment_validate (sidik/validate.h):
 *      otherwise Receipt code INVALID_ARGUMENT, status REJECTED, one
 *      FieldError per problem; nothing is stored;
 *   2. its id is looked up among the enrollments in flight (appended, not
 *      yet recorded) and in the control store: the same content hash is a
 *      resend, answered with the original receipt (resend = true, its
 *      journal sequence and received time, its status now); other content
 *      is ALREADY_EXISTS;
 *   3. it is appended to the journal (sidik/journal.h) as one entry of
 *      kind SIDIK_JOURNAL_KIND_ENROLLMENT (the record below);
 *   4. once the journal's durable point passes it, it is recorded RECEIVED
 *      in the control store (many per transaction, with the journal point
 *      they reach: sidik_control_applied) and its Receipt (code 0, status
 *      RECEIVED) is sent.
 * Receipts go out in the order the enrollments came in, so an office can
 * match them up even without reading the ids.
 *
 * Nothing acknowledged is lost: a Receipt is only sent for what is durable
 * in the journal, and opening replays every durable entry after the control
 * store's applied point into the control store (a crash between the journal
 * sync and the control commit loses nothing).
 *
 * Backpressure: a call whose enrollments are accepted but not yet answered
 * exceed call_window_bytes, or that waits for journal room (the journal
 * answers SIDIK_EBUSY past its max_pending_bytes), is paused
 * (sidik_h2_call_pause): HTTP/2 flow control stops the office instead of
 * the server buffering without bound.
 *
 * A journal that stops (disk full, I/O error) stops ingest: every
 * enrollment not yet durable and every later one is answered with the
 * journal's error (RESOURCE_EXHAUSTED for a full disk, UNAVAILABLE
 * otherwise) and a reason saying to send it again later; what was durable
 * stays acknowledged.
 *
 * Threads: one sidik_ingest serves many libuv loops, each through its own
 * port; a call's work runs on its loop's thread. The journal's thread only
 * wakes the loops (uv_async). Accepting a new id is serialised across
 * loops, so two offices racing with one id cannot both get it in.
 *
 * Ingest.UploadChunks: the same enrollments in resumable pieces, for
 * offices whose links drop every few minutes (a cut costs the chunk in
 * flight, not the enrollment). Each EnrollmentChunk names the enrollment
 * (enrollment_id, the SHA-256 of its whole packed bytes, their length
 * total_bytes) and carries data[0..64 KiB) for offset. The service keeps,
 * per (calling office, enrollment_id), a staging: the contiguous prefix
 * received so far. Every chunk is answered, in order, with a
 * ChunkReceipt saying held_bytes, the prefix now held:
 *   - a chunk whose offset is held_bytes appends its data; any other
 *     offset (ahead or behind) and a chunk without data append nothing (a
 *     data-less chunk is how a station asks where to resume);
 *   - for an id with nothing staged that is already journaled (in flight
 *     or stored) with this content_sha256, the first chunk, data or not,
 *     is answered with the original Receipt (resend set, held_bytes =
 *     total_bytes; once durable, as for Upload): nothing is sent twice;
 *     with another content_sha256 it is ALREADY_EXISTS (held_bytes 0) at
 *     once, without the bytes;
 *   - a chunk whose content_sha256 or total_bytes differ from the
 *     staging's drops the staging and starts a new one for the new
 *     content (a station that captured again under the id before the
 *     first was received: the latest capture wins, nothing staged was
 *     ever acknowledged);
 *   - when held_bytes reaches total_bytes the bytes must hash to
 *     content_sha256, else the staging is dropped and the Receipt says
 *     DATA_LOSS (CONTENT_HASH_MISMATCH, held_bytes 0: send it again from
 *     offset 0); then they are decided exactly as one Upload message
 *     (steps 1-4 above: validation, resend, ALREADY_EXISTS, journal), its
 *     Receipt sent in a ChunkReceipt (held_bytes = total_bytes) once
 *     durable. content_sha256 must be over the canonical encoding (what
 *     protobuf-c and stock protobuf libraries write; it is what Receipt's
 *     content_sha256 is): other bytes are refused INVALID_ARGUMENT
 *     NOT_CANONICAL, so the hash a station declares is always the one the
 *     resend check above compares; and the Enrollment must carry the
 *     chunks' enrollment_id (ENROLLMENT_ID_MISMATCH otherwise). Either
 *     refusal is status REJECTED, held_bytes = total_bytes.
 * A chunk that is refused gets a Receipt with the code and a FieldError
 * (status UNSPECIFIED: the enrollment was not judged; REJECTED only comes
 * from its validation) and changes nothing staged: INVALID_ARGUMENT for a
 * malformed message, a NUL in a text field (TEXT_HAS_NUL), an id that is
 * not a UUID (ENROLLMENT_ID_FORMAT), content_sha256 not 32 bytes
 * (CONTENT_SHA256_LENGTH), total_bytes 0 or over max_enrollment_bytes
 * (TOTAL_BYTES_RANGE: never acceptable, Upload would refuse it too), data
 * over 64 KiB (CHUNK_TOO_LARGE), data running past total_bytes
 * (CHUNK_PAST_END); RESOURCE_EXHAUSTED when staging it would pass a bound
 * (the prefix held stays: send the chunk again later). The bounds, all
 * counted in buffer bytes allocated (a buffer grows with its prefix, by
 * doubling from 64 KiB up to total_bytes): per office staging_office_bytes
 * and staging_office_count enrollments, staging_total_bytes for all
 * offices together, so one office at its bounds slows no other. A staging
 * not touched for staging_idle_ms is dropped; staging is memory only, so
 * a restart drops every one: a resumed upload then starts again from 0
 * (its first chunk says held_bytes 0), and nothing acknowledged is ever
 * lost, since nothing staged was acknowledged. Stagings are shared by
 * every loop (an office that reconnects may land on another), under a
 * lock of their own. Backpressure as for Upload: while a completed
 * enrollment waits for journal room the call is paused.
 */
#ifndef SIDIK_INGEST_H
#define SIDIK_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "sidik/control.h"
#include "sidik/h2.h"
#include "sidik/journal.h"
#include "sidik/metrics.h"

/* ---- the journal record of an accepted enrollment ----------------------------- */

#define SIDIK_JOURNAL_KIND_ENROLLMENT 1u
#define SIDIK_INGEST_RECORD_VERSION   1u
#define SIDIK_INGEST_RECORD_HEADER    48u

/* Ingest.UploadChunks: the most data one chunk carries, and the staging
 * bounds' defaults (deploy/sidikd.conf's chunk_* keys). */
#define SIDIK_INGEST_CHUNK_MAX            (64u << 10)
#define SIDIK_INGEST_STAGING_OFFICE_BYTES (4u << 20)
#define SIDIK_INGEST_STAGING_OFFICE_COUNT 8u
#define SIDIK_INGEST_STAGING_TOTAL_BYTES  (256u << 20)
#define SIDIK_INGEST_STAGING_IDLE_MS      (30 * 60 * 1000)
#define SIDIK_INGEST_MAX_ENROLLMENT       (4u << 20)

/* Payload of a SIDIK_JOURNAL_KIND_ENROLLMENT entry, little-endian:
 *   0  u32 version (1)     4  u32 flags (0)
 *   8  i64 received_ms     16 sha256[32] (sidik_enrollment_hash)
 *   48 the Enrollment message as the office sent it (protobuf) */
typedef struct sidik_ingest_record {
    int64_t received_ms;
    uint8_t sha256[32];
    const uint8_t *enrollment; /* borrowed */
    size_t enrollment_len;
} sidik_ingest_record;

/** Writes r's header into hdr; the entry is hdr then r->enrollment. */
void sidik_ingest_record_header(const sidik_ingest_record *r, uint8_t hdr[SIDIK_INGEST_RECORD_HEADER]);

/** Reads an entry's payload; out->enrollment points into p. Errors:
 *  SIDIK_ETRUNCATED (shorter than the header), SIDIK_EVERSION,
 *  SIDIK_EFORMAT (flags set). */
int sidik_ingest_record_parse(const void *p, size_t n, sidik_ingest_record *out);

/* ---- the service ----------------------------------------------------------------- */

typedef struct sidik_ingest sidik_ingest;           /* shared by every loop */
typedef struct sidik_ingest_port sidik_ingest_port; /* one loop's calls */

typedef struct sidik_ingest_options {
    const char *journal_dir;
    sidik_journal_options journal; /* on_durable and ctx are the service's own */
    sidik_control *control;        /* borrowed; outlives the service */
    sidik_metrics *metrics;        /* may be NULL */
    size_t call_window_bytes;      /* pause a call past this much unanswered; 0: 1 MiB */
    int64_t (*now_ms)(void);       /* tests; NULL: the wall clock */
    /* Called (may be NULL) after enrollments were recorded RECEIVED, on
     * the thread that recorded them: the next stage's wake-up. */
    void (*on_recorded)(void *ctx);
    void *recorded_ctx;
    /* Asked (may be NULL) before a new enrollment is appended, on its
     * loop's thread: nonzero, the next stage's error (the dedup stage
     * paused by a full or failing gallery disk), refuses it, kept nowhere,
     * with RESOURCE_EXHAUSTED (SIDIK_EFULL) or UNAVAILABLE and a reason;
     * resends of enrollments already received are answered as ever. */
    int (*downstream)(void *ctx);
    void *downstream_ctx;
    /* Ingest.UploadChunks (above); 0: the SIDIK_INGEST_* defaults. */
    size_t max_enrollment_bytes;   /* total_bytes at most (max_message_bytes) */
    size_t staging_office_bytes;   /* buffer bytes one office may have staged */
    uint32_t staging_office_count; /* enrollments one office may have staged */
    size_t staging_total_bytes;    /* buffer bytes staged for all offices */
    int64_t staging_idle_ms;       /* a staging untouched this long is dropped */
} sidik_ingest_options;

/** Opens the journal and records in the control store every durable entry
 *  it holds beyond the applied point (*replayed, may be NULL, counts them).
 *  Errors: those of sidik_journal_open and of the control store,
 *  SIDIK_ECORRUPT (a journal entry that does not parse: *why),
 *  SIDIK_EINVAL, SIDIK_ENOMEM. */
int sidik_ingest_open(const sidik_ingest_options *o, sidik_ingest **out, uint64_t *replayed,
                      const char **why);

/** Call once every port is closed: syncs and closes the journal, records
 *  what became durable, frees s. Returns the journal's error, if it had
 *  stopped. */
int sidik_ingest_close(sidik_ingest *s);

/** Serves Upload calls on loop (one port per loop; from that loop's thread
 *  or before it runs). Errors: SIDIK_EINVAL, SIDIK_ENOMEM, SIDIK_ERANGE
 *  (256 ports). */
int sidik_ingest_port_open(sidik_ingest *s, uv_loop_t *loop, sidik_ingest_port **out);

/** From the port's loop, once none of its calls is left: done(arg) runs
 *  (may be NULL) when its handle has closed and it is freed. */
void sidik_ingest_port_close(sidik_ingest_port *p, void (*done)(void *arg), void *arg);

/** The h2 callbacks for Ingest.Upload and Ingest.UploadChunks calls
 *  (sidik/h2.h; the method decides which), on the port's loop. */
int sidik_ingest_on_call(sidik_ingest_port *p, sidik_h2_call *call);
int sidik_ingest_on_message(sidik_ingest_port *p, sidik_h2_call *call, const uint8_t *m,
                            size_t n);
void sidik_ingest_on_half_close(sidik_ingest_port *p, sidik_h2_call *call);
void sidik_ingest_on_close(sidik_ingest_port *p, sidik_h2_call *call);

/** The journal the service appends to: the dedup stage reads it back.
 *  Valid until sidik_ingest_close. */
sidik_journal *sidik_ingest_journal(const sidik_ingest *s);

/** Enrollments appended and not yet recorded. Any thread. */
uint32_t sidik_ingest_in_flight(const sidik_ingest *s);

/** True when nothing read is waiting: every enrollment appended is
 *  recorded, every Receipt owed for one has been handed to its call, and
 *  no message read waits for journal room (room comes as the journal
 *  syncs; were it not counted, one appended after this said true would be
 *  held with its receipt never sent). A graceful stop waits for this. Any
 *  thread. */
bool sidik_ingest_idle(const sidik_ingest *s);

#endif
