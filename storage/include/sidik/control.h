/*
 * The control store: one LMDB environment holding where every enrollment
 * stands (status and its history), the point up to which the journal's
 * effects are applied, and the directory of record ids to gallery shards.
 * Decisions, the print queue and the audit log join it in later steps.
 *
 * Everything goes through transactions, so the pipeline can record a
 * decision, the new status and the journal sequence it came from in one
 * atomic commit; replay after a crash restarts from sidik_control_applied().
 * Key layouts and the format version are in storage/README.md; a store of
 * another format version refuses to open.
 *
 * Threads: the store is shared; a transaction is used by one thread at a
 * time, and a thread may hold several read transactions (MDB_NOTLS). One
 * write transaction at a time (LMDB's rule: a second begin waits, so never
 * begin a second write transaction while holding one); read transactions
 * run alongside it and see a snapshot. Enrollment
 * records handed to callbacks are borrowed for the call.
 */
#ifndef SIDIK_CONTROL_H
#define SIDIK_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sidik_control sidik_control;
typedef struct sidik_control_txn sidik_control_txn;

/* Numbered as EnrollmentStatus in proto/sidik.proto. */
typedef enum {
    SIDIK_STATUS_CAPTURED = 1,
    SIDIK_STATUS_SENT = 2,
    SIDIK_STATUS_RECEIVED = 3,
    SIDIK_STATUS_PRINT_READY = 4,
    SIDIK_STATUS_DUPLICATE = 5,
    SIDIK_STATUS_ADJUDICATE = 6,
    SIDIK_STATUS_REJECTED = 7,
    SIDIK_STATUS_PRINTED = 8,
} sidik_status;

/** "RECEIVED", ...; "UNKNOWN" outside the enum. */
const char *sidik_status_name(sidik_status s);

#define SIDIK_ENROLL_ID_MAX 64 /* station-minted UUIDs are 36 */
#define SIDIK_OFFICE_MAX    32
#define SIDIK_NIK_LEN       16
#define SIDIK_HISTORY_MAX   12

typedef struct sidik_status_change {
    sidik_status status;
    int64_t time_ms; /* Unix time */
} sidik_status_change;

typedef struct sidik_enrollment {
    char id[SIDIK_ENROLL_ID_MAX + 1];   /* printable ASCII, no spaces */
    char office[SIDIK_OFFICE_MAX + 1];  /* letters, digits, '-', '_' */
    char nik[SIDIK_NIK_LEN + 1];        /* 16 digits, or empty */
    uint8_t sha256[32];                 /* over the enrollment as received */
    uint64_t journal_seq;               /* where it is in the journal */
    uint64_t record_id;                 /* gallery record once UNIQUE, else 0 */
    sidik_status status;                /* the last of history */
    uint32_t nhistory;
    sidik_status_change history[SIDIK_HISTORY_MAX];
} sidik_enrollment;

typedef struct sidik_control_options {
    uint64_t map_bytes; /* LMDB map size; 0: 64 GiB (address space, not disk) */
    /* The I/O seam for tests and drills (NULL in production): asked before
     * each write transaction commits; a nonzero answer (-EIO, SIDIK_EFULL,
     * ...) aborts it and is what the commit returns, as a failing disk
     * would make it. Any thread; called with no lock of the store's held. */
    int (*fault)(void *ctx);
    void *fault_ctx;
} sidik_control_options;

/** Opens or creates the store in folder dir. o may be NULL.
 *  Errors: SIDIK_EINVAL, SIDIK_EVERSION (another format version, or an
 *  LMDB file of an incompatible LMDB), SIDIK_ECORRUPT, SIDIK_ENOMEM, -errno.
 *  *why (may be NULL) gets a static reason. */
int sidik_control_open(const char *dir, const sidik_control_options *o, sidik_control **out,
                       const char **why);
void sidik_control_close(sidik_control *c);

/** Begins a transaction (write: the only writer until commit or abort).
 *  After any error from an operation in a write transaction, abort it
 *  (LMDB's rule: a failed put may have left it half done).
 *  Errors: SIDIK_EBUSY (reader slots full), SIDIK_ENOMEM, SIDIK_ECORRUPT. */
int sidik_control_begin(sidik_control *c, bool write, sidik_control_txn **out);
/** Commits and frees t (also on error). Errors: SIDIK_EFULL (map or disk
 *  full: nothing of t was kept), -errno, the fault hook's answer. */
int sidik_control_commit(sidik_control_txn *t);
/** Drops t's changes and frees it. NULL is ignored. */
void sidik_control_abort(sidik_control_txn *t);

/** True for an office code the store keeps: 1-SIDIK_OFFICE_MAX letters,
 *  digits, '-' or '_'. */
bool sidik_control_valid_office(const char *s);

/** Records a new enrollment, as it is received: e->status RECEIVED, a
 *  journal_seq, and e->history holding exactly that one change. Errors: SIDIK_EINVAL (a field
 *  breaks the rules above), SIDIK_EEXISTS (the id is taken; read it with
 *  sidik_control_enroll_get to tell a resend from a conflict), SIDIK_EFULL,
 *  SIDIK_ESTATE (read-only transaction). */
int sidik_control_enroll_put(sidik_control_txn *t, const sidik_enrollment *e);

/** Errors: SIDIK_EINVAL, SIDIK_ENOTFOUND, SIDIK_ECORRUPT (a record that
 *  does not parse). */
int sidik_control_enroll_get(sidik_control_txn *t, const char *id, sidik_enrollment *out);

/** Moves an enrollment to status s at time_ms, appending to its history.
 *  Allowed: RECEIVED -> PRINT_READY | DUPLICATE | ADJUDICATE | REJECTED;
 *  ADJUDICATE -> PRINT_READY | DUPLICATE; PRINT_READY -> PRINTED. record_id
 *  is stored when nonzero. Errors: SIDIK_EINVAL, SIDIK_ENOTFOUND,
 *  SIDIK_ESTATE (not allowed from the current status, history full, or a
 *  read-only transaction), SIDIK_EFULL. */
int sidik_control_enroll_status(sidik_control_txn *t, const char *id, sidik_status s,
                                int64_t time_ms, uint64_t record_id);

/** Calls fn for an office's enrollments in journal order, those with
 *  status s only (0: all), starting after journal sequence after_seq, until
 *  fn returns nonzero (returned) or limit calls were made (0: no limit).
 *  Errors: fn's, SIDIK_EINVAL, SIDIK_ECORRUPT. */
int sidik_control_enroll_list(sidik_control_txn *t, const char *office, sidik_status s,
                              uint64_t after_seq, uint32_t limit,
                              int (*fn)(void *ctx, const sidik_enrollment *e), void *ctx);

typedef char sidik_enroll_id[SIDIK_ENROLL_ID_MAX + 1];

/** The enrollment received as journal sequence journal_seq into id: what a
 *  decision's candidate awaiting review is named by (its record id is its
 *  sequence until it is enrolled; enrolled persons are found with
 *  sidik_control_person_id). Every enrollment put is indexed; of those put
 *  before format 3, only the ones in the review queue at the upgrade.
 *  Errors: SIDIK_EINVAL (NULL, sequence 0), SIDIK_ENOTFOUND,
 *  SIDIK_ECORRUPT. */
int sidik_control_enroll_at(sidik_control_txn *t, uint64_t journal_seq, sidik_enroll_id id);

/* ---- decisions: what the search found and what was decided ----------- */

#define SIDIK_DECISION_RECORD_CANDIDATES 8  /* candidates kept per decision */
#define SIDIK_DECISION_RECORD_MAX        16 /* decisions per enrollment (first, then adjudications) */
#define SIDIK_REASON_MAX          96
#define SIDIK_ADJUDICATOR_MAX     80 /* "auditor:" and a certificate name of up to 64 */

typedef struct sidik_decision_candidate {
    uint64_t record_id;    /* the enrolled person it matched */
    double llr;            /* fused score */
    double threshold;      /* the DUPLICATE threshold it was held to */
    float signature;       /* the scan's score */
    uint16_t compared;     /* bit f: finger position f + 1 was matched */
    uint16_t score[10];    /* full-match score per finger position */
} sidik_decision_candidate;

typedef struct sidik_decision_record {
    sidik_status outcome;  /* PRINT_READY (unique), DUPLICATE, ADJUDICATE or REJECTED */
    int64_t time_ms;
    uint64_t gallery_size; /* persons searched */
    double threshold;      /* DUPLICATE threshold in force for that size */
    double review_threshold;
    char reason[SIDIK_REASON_MAX + 1]; /* who and why, for people: printable, may be empty */
    char adjudicator[SIDIK_ADJUDICATOR_MAX + 1]; /* "auditor:NAME"; empty for the search's */
    uint32_t ncandidates;
    sidik_decision_candidate candidate[SIDIK_DECISION_RECORD_CANDIDATES];
} sidik_decision_record;

/** Appends a decision to enrollment id's list; *index (may be NULL) gets its
 *  place (0 for the first). Errors: SIDIK_EINVAL (a field out of range),
 *  SIDIK_ENOTFOUND (no such enrollment), SIDIK_ESTATE (read-only
 *  transaction, or SIDIK_DECISION_RECORD_MAX reached), SIDIK_EFULL. */
int sidik_control_decision_add(sidik_control_txn *t, const char *id, const sidik_decision_record *d,
                               uint32_t *index);
/** Decision number index of id (UINT32_MAX: the latest). Errors:
 *  SIDIK_EINVAL, SIDIK_ENOTFOUND, SIDIK_ECORRUPT. */
int sidik_control_decision_get(sidik_control_txn *t, const char *id, uint32_t index,
                               sidik_decision_record *out);
/** How many decisions id has (0 when none). */
int sidik_control_decision_count(sidik_control_txn *t, const char *id, uint32_t *n);

/* ---- finding decisions and the review queue (format 2) ----------------- */

/** Where one decision sits in decision order: its time, then its
 *  enrollment's journal sequence, then its index among that enrollment's
 *  decisions. Every decision_add is indexed under this in three orders: all
 *  decisions, an office's, a NIK's. Decisions recorded by a format-1 store
 *  (before the upgrade) are in none of them: GetDecision still reads them. */
typedef struct sidik_decision_ref {
    int64_t time_ms;
    uint64_t journal_seq;
    uint32_t index;
    char id[SIDIK_ENROLL_ID_MAX + 1];
} sidik_decision_ref;

typedef enum {
    SIDIK_DECISIONS_ALL = 0, /* key ignored */
    SIDIK_DECISIONS_OF_OFFICE, /* key: an office code */
    SIDIK_DECISIONS_OF_NIK,  /* key: 16 digits */
} sidik_decisions_by;

/** Calls fn for the decisions in decision order (all, or one office's or
 *  NIK's) with time in [from_ms, to_ms) (to_ms 0: no end), starting after
 *  *after (NULL: from from_ms), until fn returns nonzero (returned). A range
 *  read: what is passed over costs nothing. Errors: fn's, SIDIK_EINVAL,
 *  SIDIK_ECORRUPT. */
int sidik_control_decision_walk(sidik_control_txn *t, sidik_decisions_by by, const char *key,
                                int64_t from_ms, int64_t to_ms, const sidik_decision_ref *after,
                                int (*fn)(void *ctx, const sidik_decision_ref *r), void *ctx);

typedef struct sidik_review_ref {
    int64_t time_ms;      /* when it became ADJUDICATE */
    uint64_t journal_seq;
    char id[SIDIK_ENROLL_ID_MAX + 1];
} sidik_review_ref;

/** The review queue: every enrollment in ADJUDICATE, kept by
 *  sidik_control_enroll_status in the transaction that moves it in or out,
 *  in the order they entered it (time, then journal sequence). Calls fn for
 *  those that entered in [from_ms, to_ms) (to_ms 0: no end) after *after
 *  (NULL: from from_ms; its id is not read) until fn returns nonzero
 *  (returned). A format-1 store's are added when it is upgraded. Errors:
 *  fn's, SIDIK_EINVAL, SIDIK_ECORRUPT. */
int sidik_control_review_walk(sidik_control_txn *t, int64_t from_ms, int64_t to_ms,
                              const sidik_review_ref *after,
                              int (*fn)(void *ctx, const sidik_review_ref *r), void *ctx);

/** How many enrollments wait in the review queue, in constant time (LMDB
 *  keeps the count). Errors: SIDIK_EINVAL. */
int sidik_control_review_count(sidik_control_txn *t, uint64_t *n);

/** A person's UNIQUE verdict on an ADJUDICATE enrollment, recorded for the
 *  dedup stage, which alone may put the person into the gallery: put in the
 *  transaction that records the verdict (the enrollment stays ADJUDICATE),
 *  del in the one that makes it PRINT_READY. Errors: SIDIK_EINVAL,
 *  SIDIK_ENOTFOUND (no such enrollment; for get and del, no verdict
 *  waiting), SIDIK_ESTATE (put: not ADJUDICATE; read-only), SIDIK_EEXISTS
 *  (put: one waits already). list: up to max waiting verdicts in journal
 *  order, after journal sequence after_seq, into ids[] and seqs[]. */
int sidik_control_pending_put(sidik_control_txn *t, const char *id);
int sidik_control_pending_get(sidik_control_txn *t, const char *id);
int sidik_control_pending_del(sidik_control_txn *t, const char *id);
int sidik_control_pending_list(sidik_control_txn *t, uint64_t after_seq, uint32_t max,
                               sidik_enroll_id *ids, uint64_t *seqs, uint32_t *n);

/* ---- the audit log: hash-chained, append-only ------------------------- */

typedef enum {
    SIDIK_AUDIT_DECISION = 1,  /* the search's decision on an enrollment */
    SIDIK_AUDIT_ADJUDICATION,  /* a person decided a gray-zone case */
    SIDIK_AUDIT_ADMIN,         /* a shard added, a rebalance, a setting */
    SIDIK_AUDIT_PRINT,         /* a card printed (Print.Ack) */
} sidik_audit_kind;

#define SIDIK_AUDIT_TEXT_MAX   80
#define SIDIK_AUDIT_DETAIL_MAX 512

typedef struct sidik_audit_entry {
    uint64_t seq;       /* set by append: 1, 2, ... */
    sidik_audit_kind kind;
    int64_t time_ms;
    char actor[SIDIK_AUDIT_TEXT_MAX + 1];   /* "auditor:auditor.dewi", "sidikd" */
    char subject[SIDIK_AUDIT_TEXT_MAX + 1]; /* an enrollment id, "shard 3", ... */
    char detail[SIDIK_AUDIT_DETAIL_MAX + 1];
    uint8_t prev[32];   /* set by append: the previous entry's hash (zeros first) */
    uint8_t hash[32];   /* set by append: SHA-256 over prev and this entry */
} sidik_audit_entry;

/** Appends e (kind, time, actor, subject, detail) after the last entry in
 *  the same transaction, chaining it, and returns it completed in *out (may
 *  be NULL). Errors: SIDIK_EINVAL (kind unknown, a text field unterminated
 *  or with control characters), SIDIK_ESTATE (read-only), SIDIK_EFULL,
 *  SIDIK_ECORRUPT (the head record disagrees with the last entry). */
int sidik_control_audit_append(sidik_control_txn *t, const sidik_audit_entry *e,
                               sidik_audit_entry *out);

/** Entry seq. Errors: SIDIK_ENOTFOUND, SIDIK_ECORRUPT (undecodable). */
int sidik_control_audit_get(sidik_control_txn *t, uint64_t seq, sidik_audit_entry *out);

/** The head record: the last entry's sequence (0: none) and hash (zeros
 *  when none), as the last append wrote them. Errors: SIDIK_EINVAL,
 *  SIDIK_ECORRUPT. */
int sidik_control_audit_head(sidik_control_txn *t, uint64_t *seq, uint8_t hash[32]);

/** Walks the whole chain: each entry decodes, follows its predecessor
 *  without a gap, names its predecessor's hash, and hashes to what it
 *  stores; the last one is the head recorded with every append. Returns 0
 *  with *checked entries, or SIDIK_ECORRUPT with *first_bad the first entry
 *  that fails (the head's sequence + 1 when entries were cut off the end). */
int sidik_control_audit_verify(sidik_control_txn *t, uint64_t *checked, uint64_t *first_bad);

/* ---- the print queue ---------------------------------------------------- */

#define SIDIK_REGION_MAX  16 /* print region code: digits, letters, '.', '-' */
#define SIDIK_STATION_MAX 64

/** A print region code: 1-16 of letters, digits, '.', '-', '_'. */
bool sidik_control_valid_region(const char *s);

/** Queues a PRINT_READY enrollment's authorisation for print region
 *  `region`, in journal order. Errors: SIDIK_EINVAL, SIDIK_ENOTFOUND,
 *  SIDIK_ESTATE (not PRINT_READY, or read-only), SIDIK_EEXISTS (already
 *  queued or leased). */
int sidik_control_print_enqueue(sidik_control_txn *t, const char *id, const char *region);

/** Returns expired leases to the queue, then leases up to max of region's
 *  queued authorisations to station until now_ms + lease_ms; their ids go to
 *  ids[0..*n). Errors: SIDIK_EINVAL, SIDIK_ESTATE (read-only), SIDIK_EFULL. */
int sidik_control_print_lease(sidik_control_txn *t, const char *region, const char *station,
                              int64_t now_ms, int64_t lease_ms, uint32_t max, sidik_enroll_id *ids,
                              uint32_t *n);

/** The card for id was printed by station: PRINTED, once. Errors:
 *  SIDIK_EINVAL, SIDIK_ENOTFOUND (not leased), SIDIK_EDENIED (leased to
 *  another station), SIDIK_ESTATE (read-only). A lease past its time but not
 *  yet returned may still be acknowledged by its station. */
int sidik_control_print_ack(sidik_control_txn *t, const char *id, const char *station,
                            int64_t now_ms);

/** Returns every lease that ended at or before now_ms to its queue;
 *  *returned (may be NULL) counts them. */
int sidik_control_print_expire(sidik_control_txn *t, int64_t now_ms, uint32_t *returned);

/** Authorisations waiting in the queues of every region (*queued) and
 *  leased to a station and not yet acknowledged (*leased, may be NULL).
 *  Read from LMDB's entry counts: the same cost at any depth. Errors:
 *  SIDIK_EINVAL. */
int sidik_control_print_count(sidik_control_txn *t, uint64_t *queued, uint64_t *leased);

/** The last journal sequence whose effects are in the store (0: none). */
int sidik_control_applied(sidik_control_txn *t, uint64_t *seq);
/** Sets it; it may only grow (SIDIK_ESTATE otherwise). */
int sidik_control_set_applied(sidik_control_txn *t, uint64_t seq);

/** The last journal sequence the dedup stage has decided (0: none): every
 *  enrollment up to it has its decision here. */
int sidik_control_decided(sidik_control_txn *t, uint64_t *seq);
/** Sets it; it may only grow and never pass `applied` (SIDIK_ESTATE). */
int sidik_control_set_decided(sidik_control_txn *t, uint64_t seq);

/** The single-finger scores the fusion model (sidik/fusion.h) the server
 *  decides with was learned from: recorded once, so every later start
 *  decides with the same model whatever changes around it. put replaces
 *  them (write txn: SIDIK_ESTATE otherwise; SIDIK_EINVAL for none or over
 *  4 Mi of a kind). get: SIDIK_ENOTFOUND when none were recorded,
 *  SIDIK_EVERSION, SIDIK_ECORRUPT; *genuine and *impostor are the
 *  caller's to sidik_free. */
int sidik_control_fusion_put(sidik_control_txn *t, const uint32_t *genuine, uint32_t ngenuine,
                             const uint32_t *impostor, uint32_t nimpostor);
int sidik_control_fusion_get(sidik_control_txn *t, uint32_t **genuine, uint32_t *ngenuine,
                             uint32_t **impostor, uint32_t *nimpostor);

/** The settings sidikd last started with, as "key = value" lines
 *  (sidikd compares them at each start and audits what changed). At most
 *  SIDIK_SETTINGS_MAX bytes of printable ASCII and newlines. put: write
 *  txn (SIDIK_ESTATE otherwise), SIDIK_EINVAL for other bytes or size.
 *  get: SIDIK_ENOTFOUND before the first put, SIDIK_ECORRUPT; *text (NUL
 *  terminated, n bytes before it) is the caller's to sidik_free. */
#define SIDIK_SETTINGS_MAX (64u * 1024)
int sidik_control_settings_put(sidik_control_txn *t, const char *text, size_t n);
int sidik_control_settings_get(sidik_control_txn *t, char **text, size_t *n);

/** Gallery record ids: below this, the journal sequence of the enrollment
 *  that made the person UNIQUE; from it on, persons migrated from an
 *  earlier system (`sidik preload`), which no journal sequence reaches. */
#define SIDIK_RECORD_MIGRATED_FIRST (UINT64_C(1) << 62)

/** Who the gallery's persons are. put (in the transaction that makes
 *  enrollment id UNIQUE as gallery record record_id): the record names the
 *  enrollment, and nik (16 digits; empty: none) names the record unless an
 *  earlier one holds it (the first holder stays). The same put again is no
 *  change. Errors: SIDIK_EINVAL, SIDIK_ESTATE (read-only), SIDIK_EEXISTS
 *  (the record names another enrollment). person_id: the enrollment behind
 *  a record; person_by_nik: the record holding a NIK. Both SIDIK_ENOTFOUND
 *  when there is none. */
int sidik_control_person_put(sidik_control_txn *t, uint64_t record_id, const char *id,
                             const char *nik);
int sidik_control_person_id(sidik_control_txn *t, uint64_t record_id, sidik_enroll_id id);
int sidik_control_person_by_nik(sidik_control_txn *t, const char *nik, uint64_t *record_id);

/** The directory: which shard holds gallery record id. put overwrites
 *  (a move); get: SIDIK_ENOTFOUND when absent; del: SIDIK_ENOTFOUND too. */
int sidik_control_dir_put(sidik_control_txn *t, uint64_t record_id, uint32_t shard);
int sidik_control_dir_get(sidik_control_txn *t, uint64_t record_id, uint32_t *shard);
int sidik_control_dir_del(sidik_control_txn *t, uint64_t record_id);

#endif
