/*
 * The office uploader behind `sidik upload` (cmd_upload.c): captures made
 * into packed Enrollments for the spool (spool.h), and the engine that
 * drains the spool to sidikd over Ingest.Upload or, on thin links,
 * Ingest.UploadChunks.
 *
 * Captures. Two sources, both giving protobuf-c's canonical encoding of a
 * sidik.v1.Enrollment (what the spool and the centre's content hash want):
 *   - a `sidik gen` folder (records.iso, truth.csv): one enrollment per
 *     record, demographics made structurally valid from the person id, a
 *     synthetic face (and signature) of a chosen size, and an id derived
 *     from the office and the record's bytes, so adding the same folder
 *     twice adds nothing (sidik_upload_gen_*);
 *   - a station's capture folder: one `<enrollment_id>.pb` file per
 *     capture, the packed Enrollment as the capture software wrote it
 *     (sidik_upload_folder_*). Each file is checked and re-encoded; a bad
 *     one is refused with a reason naming it.
 *
 * Draining (sidik_upload_run). One process at a time per spool (an flock
 * on DIR/uploader.lock), so at start the captures a killed uploader left
 * SENT are due again at once; the spool's lease guards the rest. Captures
 * go in capture order, at most `concurrency` without their receipt on one
 * stream; a receipt is recorded (mark_received) only as the server sends
 * it, which it does once the enrollment is durable; a refusal
 * (INVALID_ARGUMENT, ALREADY_EXISTS) is recorded for good; anything else
 * (the connection lost, a stream that ended, a transient refusal) is a
 * failed attempt, retried after the spool's backoff with full jitter. An
 * unreachable server is retried with a backoff of its own (1 s doubling to
 * the cap, full jitter). In chunked mode each enrollment goes in pieces;
 * one the server already holds part of (it was SENT before) starts with
 * an empty chunk asking how much, and the rest follows from there. A
 * server that answers UNIMPLEMENTED for UploadChunks gets whole
 * enrollments over Upload instead.
 *
 * Threads: none of its own; everything runs on the caller's thread. The
 * functions print nothing themselves except sidik_upload_run, which writes
 * its progress and its messages to the options' streams.
 */
#ifndef SIDIK_CLI_UPLOAD_H
#define SIDIK_CLI_UPLOAD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "client_settings.h"
#include "rpc.h"
#include "spool.h"

#define SIDIK_UPLOAD_ID_LEN 36 /* a UUID, 8-4-4-4-12 */

/* ---- captures from `sidik gen` ------------------------------------------------ */

typedef struct sidik_upload_capture_options {
    const char *office;       /* office_code, the station's certificate CN */
    const char *station;      /* station_id, 1-64 printable characters */
    uint32_t face_bytes;      /* the synthetic JPEG face: 64 .. 1 MiB */
    uint32_t signature_bytes; /* the synthetic PNG signature: 0 (none) .. 256 KiB */
    int64_t capture_time_ms;  /* capture_time_ms of every enrollment */
} sidik_upload_capture_options;

/* One record of a `sidik gen` folder. */
typedef struct sidik_upload_gen_record {
    uint64_t index;      /* from 0, in records.iso */
    uint64_t person;     /* truth.csv's person (the index when there is no truth.csv) */
    uint32_t impression; /* truth.csv's impression (0 without it) */
    /* Which NIK the person gets: the person id offset by a hash of the
     * folder's first record, so folders of different seeds (whose person
     * ids all start at 0) do not claim each other's NIKs. */
    uint64_t nik_index;
    const uint8_t *p; /* the ISO/IEC 19794-2 record, valid until the next call */
    size_t n;
} sidik_upload_gen_record;

typedef struct sidik_upload_gen sidik_upload_gen;

/** Opens DIR's records.iso (and truth.csv when present, whose rows must
 *  match the records one for one). why (cap bytes) says what is wrong.
 *  Errors: -errno (no records.iso: -ENOENT), SIDIK_EFORMAT (truth.csv has
 *  no header or the wrong one), SIDIK_ENOMEM. */
int sidik_upload_gen_open(const char *dir, sidik_upload_gen **out, char *why, size_t cap);

/** The next record into *r: 1 one came, 0 the end. Errors (why says which
 *  record, at which byte, and what): SIDIK_ETRUNCATED (records.iso ends
 *  inside a record), SIDIK_EFORMAT (not an ISO record: magic, a length
 *  under its header or over 1 MiB; a truth.csv row that does not parse or
 *  names another record), -errno. */
int sidik_upload_gen_next(sidik_upload_gen *g, sidik_upload_gen_record *r, char *why, size_t cap);

/** NULL is a no-op. */
void sidik_upload_gen_close(sidik_upload_gen *g);

/** The enrollment_id for record bytes p[0..n) captured at office: a UUID
 *  (version 8, RFC 9562) from SHA-256 over both, so the same record at the
 *  same office always gets the same id and another office another. */
void sidik_upload_gen_id(const char *office, const uint8_t *p, size_t n,
                         char id[SIDIK_UPLOAD_ID_LEN + 1]);

/** Builds the packed Enrollment for record r: id as above; demographics
 *  from r->nik_index (a NIK that passes the centre's structure checks,
 *  one of 167,983,200, birth date and sex agreeing with it; a
 *  re-enrollment keeps its person's NIK); one FingerRecord per
 *  finger position the record has a view of, each a single-view ISO/IEC
 *  19794-2:2005 record as a station's scanner writes one; a FACE JPEG of
 *  o->face_bytes and, unless 0, a SIGNATURE PNG, their bytes random-looking
 *  as compressed images are, deterministic from the id. *p (sidik_free) and
 *  *n get the bytes, id the enrollment_id.
 *  Errors (why static): SIDIK_EINVAL (options out of range), SIDIK_EFORMAT
 *  (the record does not decode, or no view has a finger position),
 *  SIDIK_ENOMEM. */
int sidik_upload_gen_build(const sidik_upload_gen_record *r, const sidik_upload_capture_options *o,
                           uint8_t **p, size_t *n, char id[SIDIK_UPLOAD_ID_LEN + 1],
                           const char **why);

/* ---- captures from a station's folder ----------------------------------------- */

/** Whether name is one the folder reader takes ("<something>.pb"), skips
 *  without a word (hidden files, "*.tmp" and "*.part" being written), or
 *  refuses: 1 take, 0 skip, -1 refuse. */
int sidik_upload_folder_kind(const char *name);

/** The names in dir to read, sorted (byte order), every name that is not
 *  skipped (sidik_upload_folder_kind 0) included so a refused one is
 *  reported: *names (sidik_free each and the array) and *n.
 *  Errors: -errno (why names the folder), SIDIK_ENOMEM. */
int sidik_upload_folder_list(const char *dir, char ***names, size_t *n, char *why, size_t cap);

/** Reads dir/name as one capture: *p (sidik_free) the canonical packed
 *  Enrollment, *n its size, id its enrollment_id, *capture_ms its
 *  capture_time_ms. On error why (cap bytes) is the exact reason, naming
 *  the file:
 *    SIDIK_EINVAL   not named *.pb; the file is not a regular file; it is
 *                   empty; enrollment_id missing or not a UUID; the file is
 *                   not named after its enrollment_id
 *    SIDIK_ETOOBIG  over SIDIK_SPOOL_BODY_MAX bytes (checked before reading)
 *    SIDIK_EFORMAT  not a packed sidik.v1.Enrollment (truncated, garbage)
 *    SIDIK_ENOMEM, -errno (it cannot be opened or read) */
int sidik_upload_folder_read(const char *dir, const char *name, uint8_t **p, size_t *n,
                             char id[SIDIK_UPLOAD_ID_LEN + 1], int64_t *capture_ms, char *why,
                             size_t cap);

/* ---- draining the spool -------------------------------------------------------- */

#define SIDIK_UPLOAD_DEFAULT_CONCURRENCY 4
#define SIDIK_UPLOAD_MAX_CONCURRENCY     64
#define SIDIK_UPLOAD_DEFAULT_CHUNK       (16u << 10)
#define SIDIK_UPLOAD_MAX_CHUNK           (64u << 10) /* EnrollmentChunk.data's limit */

typedef struct sidik_upload_options {
    unsigned concurrency; /* enrollments without a receipt on the stream, 1..64 */
    uint32_t chunk_bytes; /* 0: whole enrollments (Upload); else UploadChunks pieces */
    bool once;            /* stop once the backlog is empty or a connection cannot be made */
    bool refresh;         /* ask Status for decisions before returning */
    int64_t lease_ms;     /* how long a capture on the wire stays out of other uploaders' way */
    int64_t retry_cap_ms; /* the longest wait between attempts to connect */
    FILE *out, *err;      /* the summary; messages (and the progress bar, on a terminal) */
    const char *cmd;      /* "upload run", for messages */
    /* Set (by a signal handler) to stop soon: nothing more is sent, the
     * connection is closed; what is in flight is due again at next start. */
    const volatile sig_atomic_t *stop;
} sidik_upload_options;

typedef struct sidik_upload_totals {
    uint64_t received, refused, failed; /* receipts, refusals, failed attempts */
    uint64_t resent;                    /* receipts that said resend (the centre had it) */
    uint64_t connections, connect_failures;
    uint64_t bytes_queued;     /* enrollment and chunk message bytes handed to gRPC */
    uint64_t refreshed;        /* statuses that moved on with --refresh */
    bool chunks_unimplemented; /* UploadChunks was answered UNIMPLEMENTED */
} sidik_upload_totals;

/** Drains sp (opened on folder dir) to the server of settings s with o.
 *  Returns the process exit code (cli.h): 0 the backlog is empty (--once)
 *  or a stop was asked for; 1 captures were refused during the run (they
 *  are recorded, the rest went on), or the server does not serve Upload;
 *  2 another uploader holds the spool, or the settings are wrong (a
 *  certificate refused); 3 (--once) the server could not be reached;
 *  4 the certificate's role may not upload. The message is on o->err.
 *  *t (may be NULL) gets the totals. */
int sidik_upload_run(sidik_spool *sp, const char *dir, const sidik_client_settings *s,
                     const sidik_upload_options *o, sidik_upload_totals *t);

/** Asks the server (Status.Get for a few, Status.List for many) where the
 *  captures it holds and has not decided finally stand (RECEIVED,
 *  ADJUDICATE, PRINT_READY) and records what moved on in sp. The
 *  connection c is borrowed. *moved gets how many changed. Returns an exit
 *  code as above, the message on err. */
int sidik_upload_refresh(sidik_spool *sp, sidik_rpc *c, const char *cmd, FILE *err,
                         uint64_t *moved);

#endif
