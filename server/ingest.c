/*
 * Ingest.Upload and Ingest.UploadChunks calls on one loop (sidik/ingest.h,
 * ingest_int.h): validate, deduplicate by id, journal, answer in order
 * once settled. An UploadChunks call is an Upload call whose messages go
 * through the staging first (ingest_chunks.c) and whose answers are
 * ChunkReceipts; an enrollment its chunks complete takes the Upload path
 * from the parse on.
 */
#include "ingest_int.h"
#include "sidik/pb.h"
#include "sidik/validate.h"
#include "sidik.pb-c.h"

#include <stdio.h>
#include <string.h>

typedef struct answer { /* a Receipt (or ChunkReceipt) owed to the caller */
    struct answer *next;
    uint64_t seq; /* sent once this is durable; 0: as soon as its turn comes */
    size_t bytes; /* the message bytes it answers (the call's window) */
    bool chunk;   /* a ChunkReceipt */
    char id[SIDIK_ENROLL_ID_MAX + 1];
    uint8_t sha256[32];
    size_t len;
    uint8_t packed[]; /* the Receipt, encoded */
} answer;

typedef struct waiting { /* a message waiting for room in the journal */
    struct waiting *next;
    size_t n;
    uint8_t p[];
} waiting;

struct upload {
    sidik_ingest_port *port;
    sidik_h2_call *call;
    struct upload *prev, *next; /* the port's calls */
    answer *ahead, *atail;
    waiting *whead, *wtail;
    size_t owed; /* bytes of messages not answered yet */
    bool half_closed;
    bool chunked; /* Ingest.UploadChunks */
    /* UploadChunks: an enrollment its chunks completed that found no
     * journal room; decided before any later message. */
    uint8_t *assembled;
    size_t assembled_len, assembled_bytes;
    uint8_t assembled_sha[32];
    char assembled_id[SIDIK_ENROLL_ID_MAX + 1];
};

/* Bounded copy for fixed fields; the sources were validated to fit. */
static void copy_text(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

/* ---- receipts ------------------------------------------------------------------------ */

/* How one answer goes out: an Upload call's Receipt, or an UploadChunks
 * call's ChunkReceipt with held_bytes and, when final, the Receipt. */
typedef struct reply_as {
    bool chunk;
    const char *id;        /* ChunkReceipt: the chunks' enrollment_id */
    bool final;            /* ChunkReceipt: carries the Receipt */
    uint64_t held;         /* ChunkReceipt: held_bytes */
    size_t bytes;          /* the message bytes it answers (the call's window) */
    const uint8_t *sha256; /* UploadChunks: the content_sha256 the bytes hash to */
} reply_as;

static answer *answer_new(const receipt *r, const reply_as *as, uint64_t wait_seq)
{
    Sidik__V1__Receipt m = SIDIK__V1__RECEIPT__INIT;
    m.enrollment_id = (char *)(r->id != NULL ? r->id : "");
    if (r->sha256 != NULL) {
        m.content_sha256.data = (uint8_t *)r->sha256;
        m.content_sha256.len = 32;
    }
    m.journal_seq = r->seq;
    m.received_time_ms = r->received_ms;
    m.status = (Sidik__V1__EnrollmentStatus)r->status;
    m.code = (int32_t)r->code;
    m.reason = (char *)(r->reason != NULL ? r->reason : "");
    m.resend = r->resend;
    Sidik__V1__FieldError fe[SIDIK_VALIDATE_MAX_ERRORS];
    Sidik__V1__FieldError *fep[SIDIK_VALIDATE_MAX_ERRORS];
    if (r->v != NULL) {
        for (uint32_t i = 0; i < r->v->nerrors && i < SIDIK_VALIDATE_MAX_ERRORS; i++) {
            sidik__v1__field_error__init(&fe[i]);
            fe[i].field = (char *)r->v->err[i].field;
            fe[i].reason_code = (char *)r->v->err[i].reason_code;
            fe[i].detail = (char *)r->v->err[i].detail;
            fep[i] = &fe[i];
            m.n_field_errors = i + 1;
        }
        m.field_errors = fep;
    }
    Sidik__V1__ChunkReceipt cm = SIDIK__V1__CHUNK_RECEIPT__INIT;
    cm.enrollment_id = as->id != NULL ? (char *)as->id : m.enrollment_id;
    cm.held_bytes = as->held;
    cm.receipt = as->final ? &m : NULL;
    size_t len = as->chunk ? sidik__v1__chunk_receipt__get_packed_size(&cm)
                           : sidik__v1__receipt__get_packed_size(&m);
    answer *a = sidik_trymalloc(sizeof *a + len);
    if (a == NULL)
        return NULL;
    a->next = NULL;
    a->seq = wait_seq;
    a->bytes = as->bytes;
    a->chunk = as->chunk;
    copy_text(a->id, sizeof a->id, r->id);
    if (r->sha256 != NULL)
        memcpy(a->sha256, r->sha256, 32);
    else
        memset(a->sha256, 0, 32);
    a->len = as->chunk ? sidik__v1__chunk_receipt__pack(&cm, a->packed)
                       : sidik__v1__receipt__pack(&m, a->packed);
    return a;
}

/* Queues r for the caller, after those owed before it. */
static int owe(upload *u, const receipt *r, uint64_t wait_seq, const reply_as *as)
{
    answer *a = answer_new(r, as, wait_seq);
    if (a == NULL)
        return SIDIK_ENOMEM;
    if (wait_seq != 0) /* a graceful stop waits for these (sidik_ingest_idle) */
        atomic_fetch_add(&u->port->ing->unanswered, 1);
    if (u->atail != NULL)
        u->atail->next = a;
    else
        u->ahead = a;
    u->atail = a;
    return 0;
}

static const char *journal_reason(int rc)
{
    return rc == SIDIK_EFULL ? "the server's journal disk is full; nothing of this enrollment was "
                               "kept: keep it in the spool and send it again later"
                             : "the server's journal stopped; nothing of this enrollment was kept: "
                               "keep it in the spool and send it again later";
}

static const char *record_reason(int rc)
{
    return rc == SIDIK_EFULL ? "the server's control store disk is full; nothing of this enrollment "
                               "was kept and nothing acknowledged is lost: keep it in the spool and "
                               "send it again later"
                             : "the server cannot record enrollments (its control store refused a "
                               "write); nothing of this enrollment was kept and nothing acknowledged "
                               "is lost: keep it in the spool and send it again later";
}

static const char *downstream_reason(int rc)
{
    return rc == SIDIK_EFULL ? "the server's gallery disk is full, so deduplication is paused; "
                               "nothing of this enrollment was kept and nothing acknowledged is "
                               "lost: keep it in the spool and send it again later"
                             : "the server cannot deduplicate (its gallery store refused a write), "
                               "so deduplication is paused; nothing of this enrollment was kept "
                               "and nothing acknowledged is lost: keep it in the spool and send it "
                               "again later";
}

static void answer_free(sidik_ingest *s, answer *a)
{
    if (a->seq != 0)
        atomic_fetch_sub(&s->unanswered, 1);
    sidik_free(a);
}

/* ---- one message --------------------------------------------------------------------- */

/* Appends an accepted enrollment (under mu) and lists it in flight; *r
 * becomes its receipt and *wait_seq the point it waits for. SIDIK_EBUSY
 * when the journal has no room, SIDIK_ENOMEM. */
static int append(sidik_ingest *s, const Sidik__V1__Enrollment *e, const uint8_t *p, size_t n,
                  int64_t now, receipt *r, uint64_t *wait_seq)
{
    if (s->record_failed != 0) {
        atomic_store(&s->record_retry, true);
        r->resend = false;
        r->code = s->record_failed == SIDIK_EFULL ? SIDIK_GRPC_RESOURCE_EXHAUSTED
                                                  : SIDIK_GRPC_UNAVAILABLE;
        r->reason = record_reason(s->record_failed);
        return 0;
    }
    /* Taken now, it would only wait in the journal behind the paused stage
     * for as long as the disk stays full; the office's spool keeps it. */
    int down = s->downstream != NULL ? s->downstream(s->downstream_ctx) : 0;
    if (down != 0) {
        r->resend = false;
        r->code = down == SIDIK_EFULL ? SIDIK_GRPC_RESOURCE_EXHAUSTED : SIDIK_GRPC_UNAVAILABLE;
        r->reason = downstream_reason(down);
        return 0;
    }
    inflight *f = sidik_trycalloc(1, sizeof *f);
    uint8_t *buf = sidik_trymalloc(SIDIK_INGEST_RECORD_HEADER + n);
    if (f == NULL || buf == NULL) {
        sidik_free(f);
        sidik_free(buf);
        return SIDIK_ENOMEM;
    }
    sidik_ingest_record rec = {.received_ms = now};
    memcpy(rec.sha256, r->sha256, 32);
    sidik_ingest_record_header(&rec, buf);
    memcpy(buf + SIDIK_INGEST_RECORD_HEADER, p, n);
    uint64_t seq;
    int rc = sidik_journal_append(s->journal, SIDIK_JOURNAL_KIND_ENROLLMENT, buf,
                                  SIDIK_INGEST_RECORD_HEADER + n, &seq);
    sidik_free(buf);
    r->resend = false;
    if (rc != 0) {
        sidik_free(f);
        if (rc == SIDIK_EBUSY || rc == SIDIK_ENOMEM)
            return rc;
        r->code = sidik_err_grpc(rc);
        r->reason = journal_reason(rc);
        return 0;
    }
    copy_text(f->e.id, sizeof f->e.id, e->enrollment_id);
    copy_text(f->e.office, sizeof f->e.office, e->office_code);
    copy_text(f->e.nik, sizeof f->e.nik, e->demographics->nik);
    memcpy(f->e.sha256, r->sha256, 32);
    f->e.journal_seq = seq;
    f->e.status = SIDIK_STATUS_RECEIVED;
    f->e.nhistory = 1;
    f->e.history[0] = (sidik_status_change){SIDIK_STATUS_RECEIVED, now};
    f->appended_ns = sidik__mono_ns();
    sidik__inflight_add(s, f);
    r->seq = seq;
    r->received_ms = now;
    r->status = SIDIK_STATUS_RECEIVED;
    *wait_seq = seq;
    return 0;
}

/* The enrollment as the control store has it; SIDIK_ENOTFOUND when new. */
static int stored(sidik_ingest *s, const char *id, sidik_enrollment *out)
{
    sidik_control_txn *t;
    int rc = sidik_control_begin(s->control, false, &t);
    if (rc != 0)
        return rc;
    rc = sidik_control_enroll_get(t, id, out);
    sidik_control_abort(t);
    return rc;
}

static void set_exists(receipt *r)
{
    r->resend = false;
    r->code = SIDIK_GRPC_ALREADY_EXISTS;
    r->reason = "this enrollment_id was already received with other content; a correction is a "
                "new enrollment with a new id";
}

/* Under mu: the enrollment id names, in flight (*in_flight) or stored.
 * 0, SIDIK_ENOTFOUND (new), or the store's error (logged). */
static int find_known(sidik_ingest *s, const char *id, sidik_enrollment *out, bool *in_flight)
{
    const inflight *f = sidik__inflight_find(s, id);
    *in_flight = f != NULL;
    if (f != NULL) {
        *out = f->e;
        return 0;
    }
    int rc = stored(s, id, out);
    if (rc != 0 && rc != SIDIK_ENOTFOUND)
        SIDIK_LOG_ERROR("control store unreadable", "error=%s id=%s", sidik_err_name(rc), id);
    return rc;
}

/* The answer for a known id: the original receipt for the same content
 * (waiting for its durable point while in flight), ALREADY_EXISTS for
 * other content; or the store's error rc. */
static void answer_known(int rc, const sidik_enrollment *old, bool in_flight, receipt *r,
                         uint64_t *wait_seq)
{
    if (rc != 0) {
        r->resend = false;
        r->code = sidik_err_grpc(rc);
        r->reason = "the server cannot read its control store; send it again later";
    } else if (memcmp(old->sha256, r->sha256, 32) != 0) {
        set_exists(r);
    } else {
        r->seq = old->journal_seq;
        r->received_ms = old->history[0].time_ms;
        r->status = in_flight ? SIDIK_STATUS_RECEIVED : old->status;
        if (in_flight)
            *wait_seq = old->journal_seq;
    }
}

/* What a valid enrollment is, under mu: a resend of one in flight or
 * stored, a conflict, or new (appended). Fills *r and *wait_seq. */
static int admit(sidik_ingest *s, const Sidik__V1__Enrollment *e, const uint8_t *p, size_t n,
                 int64_t now, receipt *r, uint64_t *wait_seq)
{
    sidik_enrollment old;
    bool in_flight;
    int rc = find_known(s, e->enrollment_id, &old, &in_flight);
    if (rc == SIDIK_ENOTFOUND)
        return append(s, e, p, n, now, r, wait_seq);
    answer_known(rc, &old, in_flight, r, wait_seq);
    return 0;
}

int sidik__ingest_lookup(sidik_ingest *s, const char *id, const uint8_t sha256[32],
                         const char *office, receipt *r, uint64_t *wait_seq)
{
    sidik_enrollment old;
    bool in_flight;
    pthread_mutex_lock(&s->mu);
    int rc = find_known(s, id, &old, &in_flight);
    pthread_mutex_unlock(&s->mu);
    if (rc == SIDIK_ENOTFOUND)
        return 0;
    /* The same bytes under another office's name: its validation
     * (OFFICE_NOT_CALLER) answers that, never another office's receipt. */
    if (rc == 0 && memcmp(old.sha256, sha256, 32) == 0 && strcmp(old.office, office) != 0)
        return 0;
    *r = (receipt){.id = id, .sha256 = sha256, .resend = true};
    answer_known(rc, &old, in_flight, r, wait_seq);
    return 1;
}

/* An enrollment its chunks assembled must be the one they named: its id
 * the chunks' (the staging and the resend shortcut go by it), its
 * canonical hash their content_sha256 (the shortcut compares that with
 * the stored hash). NULL when it is, else why not. */
static const sidik_field_error *not_as_chunked(const Sidik__V1__Enrollment *e,
                                               const uint8_t sha[32], const reply_as *as,
                                               const char *chunk_id)
{
    static const sidik_field_error other_id = {
        "enrollment_id", "ENROLLMENT_ID_MISMATCH",
        "the assembled Enrollment's enrollment_id is not the one its chunks named"};
    static const sidik_field_error not_canonical = {
        "content_sha256", "NOT_CANONICAL",
        "the bytes are not the canonical encoding of the Enrollment they hold (fields in number "
        "order, as protobuf-c and stock protobuf libraries write them); content_sha256 must be "
        "the hash of that encoding"};
    if (!as->chunk)
        return NULL;
    if (strcmp(e->enrollment_id, chunk_id) != 0)
        return &other_id;
    return memcmp(sha, as->sha256, 32) != 0 ? &not_canonical : NULL;
}

static int decide(upload *u, const Sidik__V1__Enrollment *e, const uint8_t *p, size_t n,
                  int64_t now, const reply_as *as, const char *chunk_id)
{
    sidik_ingest *s = u->port->ing;
    sidik_validation v;
    sidik_validate_limits lim = {.now_ms = now};
    int rc = sidik_enrollment_validate(e, sidik_h2_call_peer(u->call), &lim, &v);
    if (rc == SIDIK_EINVAL) {
        sidik__ingest_metric(s, SIDIK_M_ENROLLMENTS_REJECTED, 1);
        receipt r = {.id = e->enrollment_id,
                     .status = SIDIK_STATUS_REJECTED,
                     .code = SIDIK_GRPC_INVALID_ARGUMENT,
                     .reason = "refused: see field_errors; correct the capture and send it again",
                     .v = &v};
        return owe(u, &r, 0, as);
    }
    if (rc != 0)
        return rc;
    uint8_t sha[32];
    if ((rc = sidik_enrollment_hash(e, sha)) != 0)
        return rc;
    const sidik_field_error *fe = not_as_chunked(e, sha, as, chunk_id);
    if (fe != NULL) {
        sidik__ingest_metric(s, SIDIK_M_ENROLLMENTS_REJECTED, 1);
        v = (sidik_validation){.nerrors = 1, .err = {*fe}};
        receipt r = {.id = chunk_id,
                     .status = SIDIK_STATUS_REJECTED,
                     .code = SIDIK_GRPC_INVALID_ARGUMENT,
                     .reason = "refused: see field_errors",
                     .v = &v};
        return owe(u, &r, 0, as);
    }
    receipt r = {.id = e->enrollment_id, .sha256 = sha, .resend = true};
    uint64_t wait_seq = 0;
    pthread_mutex_lock(&s->mu);
    rc = admit(s, e, p, n, now, &r, &wait_seq);
    pthread_mutex_unlock(&s->mu);
    return rc != 0 ? rc : owe(u, &r, wait_seq, as);
}

/* One Enrollment p[0..n), answered as `as` says (chunk_id: the id its
 * chunks named, for an UploadChunks call): 0 (an answer is owed),
 * SIDIK_EBUSY (no journal room: keep it and try again), SIDIK_ENOMEM. */
static int take_enrollment(upload *u, const uint8_t *p, size_t n, const reply_as *as,
                           const char *chunk_id)
{
    static const sidik_validation malformed = {
        .nerrors = 1,
        .err = {
            {"", "MESSAGE_MALFORMED", "not an Enrollment message: the protobuf does not parse"}}};
    static const sidik_validation nul = {
        .nerrors = 1,
        .err = {{"", "TEXT_HAS_NUL", "a text field holds a NUL byte; none may"}}};
    Sidik__V1__Enrollment *e = sidik__v1__enrollment__unpack(&sidik_pb_alloc, n, p);
    int wire = e != NULL ? sidik_pb_check(&sidik__v1__enrollment__descriptor, p, n)
                         : SIDIK_PB_MALFORMED;
    if (wire != SIDIK_PB_CLEAN) {
        if (e != NULL)
            sidik__v1__enrollment__free_unpacked(e, &sidik_pb_alloc);
        sidik__ingest_metric(u->port->ing, SIDIK_M_ENROLLMENTS_REJECTED, 1);
        receipt r = {.id = chunk_id,
                     .status = SIDIK_STATUS_REJECTED,
                     .code = SIDIK_GRPC_INVALID_ARGUMENT,
                     .reason = wire == SIDIK_PB_NUL ? "a text field holds a NUL byte"
                                                    : "the message does not parse as an Enrollment",
                     .v = wire == SIDIK_PB_NUL ? &nul : &malformed};
        return owe(u, &r, 0, as);
    }
    int rc = decide(u, e, p, n, u->port->ing->now_ms(), as, chunk_id);
    sidik__v1__enrollment__free_unpacked(e, &sidik_pb_alloc);
    return rc;
}

/* An enrollment assembled from chunks: decided like an Upload message,
 * answered as a ChunkReceipt that says all of it was held. */
static int take_assembled(upload *u, const uint8_t *p, size_t n, const uint8_t sha[32],
                          const char *id, size_t bytes)
{
    reply_as as = {
        .chunk = true, .id = id, .final = true, .held = n, .bytes = bytes, .sha256 = sha};
    return take_enrollment(u, p, n, &as, id);
}

/* One EnrollmentChunk: staged (ingest_chunks.c) and answered, or, when it
 * completed its enrollment, that enrollment decided. 0, SIDIK_ENOMEM; an
 * enrollment that finds no journal room is kept in u->assembled. */
static int take_chunk(upload *u, const uint8_t *p, size_t n)
{
    sidik__chunk_result *c = sidik_trymalloc(sizeof *c);
    if (c == NULL)
        return SIDIK_ENOMEM;
    int rc = sidik__chunk_take(u->port->ing, sidik_h2_call_peer(u->call), p, n, c);
    if (rc == 0 && c->assembled == NULL) {
        reply_as as = {.chunk = true, .id = c->id, .final = c->final, .held = c->held, .bytes = n};
        if (!c->final)
            c->r = (receipt){.id = c->id};
        rc = owe(u, &c->r, c->wait_seq, &as);
    } else if (rc == 0) {
        rc = take_assembled(u, c->assembled, c->assembled_len, c->sha256, c->id, n);
        if (rc == SIDIK_EBUSY) {
            u->assembled = c->assembled;
            u->assembled_len = c->assembled_len;
            u->assembled_bytes = n;
            memcpy(u->assembled_sha, c->sha256, 32);
            copy_text(u->assembled_id, sizeof u->assembled_id, c->id);
            /* Read, so answered before a graceful stop closes the call. */
            atomic_fetch_add(&u->port->ing->unanswered, 1);
            c->assembled = NULL;
            rc = 0;
        }
        sidik_free(c->assembled);
    }
    sidik_free(c);
    return rc;
}

/* One message of either call: 0 (an answer is owed), SIDIK_EBUSY (no
 * journal room: keep it and try again), SIDIK_ENOMEM. */
static int take(upload *u, const uint8_t *p, size_t n)
{
    if (u->chunked)
        return take_chunk(u, p, n);
    reply_as as = {.bytes = n};
    return take_enrollment(u, p, n, &as, NULL);
}

/* ---- answering ------------------------------------------------------------------------ */

static void upload_pause_check(upload *u)
{
    if (u->call != NULL)
        sidik_h2_call_pause(u->call, u->whead != NULL || u->assembled != NULL ||
                                         u->owed > u->port->ing->call_window);
}

/* Keeps a message that found no journal room. */
static int wait_for_room(upload *u, const uint8_t *p, size_t n)
{
    waiting *w = sidik_trymalloc(sizeof *w + n);
    if (w == NULL)
        return SIDIK_ENOMEM;
    w->next = NULL;
    w->n = n;
    memcpy(w->p, p, n);
    /* Read, so answered before a graceful stop closes the call. */
    atomic_fetch_add(&u->port->ing->unanswered, 1);
    if (u->wtail != NULL)
        u->wtail->next = w;
    else
        u->whead = w;
    u->wtail = w;
    return 0;
}

static void waiting_free(sidik_ingest *s, waiting *w)
{
    atomic_fetch_sub(&s->unanswered, 1);
    sidik_free(w);
}

/* Retries the enrollment assembled from chunks, then the messages
 * waiting for journal room, in order. */
static int retry_waiting(upload *u)
{
    if (u->assembled != NULL) {
        int rc = take_assembled(u, u->assembled, u->assembled_len, u->assembled_sha,
                                u->assembled_id, u->assembled_bytes);
        if (rc == SIDIK_EBUSY)
            return 0;
        sidik_free(u->assembled);
        u->assembled = NULL;
        atomic_fetch_sub(&u->port->ing->unanswered, 1);
        if (rc != 0)
            return rc;
    }
    /* A chunk that completes an enrollment finding no room leaves it in
     * u->assembled: the messages after it wait for it. */
    while (u->whead != NULL && u->assembled == NULL) {
        waiting *w = u->whead;
        int rc = take(u, w->p, w->n);
        if (rc == SIDIK_EBUSY)
            return 0;
        if (rc != 0)
            return rc;
        u->whead = w->next;
        if (u->whead == NULL)
            u->wtail = NULL;
        waiting_free(u->port->ing, w);
    }
    return 0;
}

/* Sends, in order, the answers whose enrollments are durable and recorded
 * (so a Status call made on receipt finds them); those the journal will
 * never make durable (it stopped) get its error instead. */
static int send_answers(upload *u, int journal_rc)
{
    sidik_ingest *s = u->port->ing;
    uint64_t durable = atomic_load(&s->durable);
    uint64_t settled = atomic_load(&s->settled);
    while (u->ahead != NULL) {
        answer *a = u->ahead;
        bool lost = journal_rc != 0 && a->seq > durable;
        if (a->seq > settled && !lost)
            break;
        int rc;
        if (lost) {
            receipt r = {.id = a->id,
                         .sha256 = a->sha256,
                         .code = sidik_err_grpc(journal_rc),
                         .reason = journal_reason(journal_rc)};
            /* UploadChunks: nothing of it is held any more. */
            reply_as as = {.chunk = a->chunk, .id = a->id, .final = true, .bytes = a->bytes};
            answer *err = answer_new(&r, &as, 0);
            if (err == NULL)
                return SIDIK_ENOMEM;
            rc = sidik_h2_call_send(u->call, err->packed, err->len);
            sidik_free(err);
        } else {
            rc = sidik_h2_call_send(u->call, a->packed, a->len);
        }
        if (rc != 0)
            return rc;
        u->ahead = a->next;
        if (u->ahead == NULL)
            u->atail = NULL;
        u->owed -= a->bytes;
        answer_free(s, a);
    }
    return 0;
}

/* Moves one call on: retries, answers, pause, and the end of the call once
 * the office has half-closed and everything is answered. */
static void upload_progress(upload *u)
{
    sidik_ingest *s = u->port->ing;
    int jrc = sidik_journal_status(s->journal);
    int rc = retry_waiting(u);
    if (rc == 0)
        rc = send_answers(u, jrc);
    if (rc != 0) {
        sidik_h2_call_finish(u->call, sidik_err_grpc(rc), NULL);
        return;
    }
    upload_pause_check(u);
    if (u->half_closed && u->ahead == NULL && u->whead == NULL && u->assembled == NULL)
        sidik_h2_call_finish(u->call, SIDIK_GRPC_OK, NULL);
}

/* ---- the loop's port ------------------------------------------------------------- */

/* The durable point moved, or another loop recorded: record what this loop
 * can, then move this loop's calls on. */
static void on_wake(uv_async_t *h)
{
    sidik_ingest_port *port = h->data;
    sidik__ingest_record(port->ing);
    for (upload *u = port->uploads; u != NULL; u = u->next)
        upload_progress(u);
}

/* Stagings idle past their time are dropped even when no chunk comes to
 * look (every loop sweeps; a sweep with nothing to drop is a lock and a
 * comparison). */
static void on_sweep(uv_timer_t *h)
{
    sidik_ingest_port *port = h->data;
    sidik__staging_sweep(port->ing->staging);
}

/* While the control store fails, what the journal holds waits unanswered
 * for its record (a receipt follows both) even when no upload comes to
 * trigger a retry: every loop tries again each second until one works. */
#define RECORD_RETRY_MS 1000
static void on_retry(uv_timer_t *h)
{
    sidik_ingest_port *port = h->data;
    if (atomic_exchange(&port->ing->record_retry, false))
        sidik__ingest_record(port->ing);
}

int sidik_ingest_port_open(sidik_ingest *s, uv_loop_t *loop, sidik_ingest_port **out)
{
    if (s == NULL || loop == NULL || out == NULL)
        return SIDIK_EINVAL;
    sidik_ingest_port *port = sidik_trycalloc(1, sizeof *port);
    if (port == NULL)
        return SIDIK_ENOMEM;
    port->ing = s;
    pthread_mutex_lock(&s->ports_mu);
    uint32_t i = 0;
    while (i < INGEST_MAX_PORTS && s->ports[i] != NULL)
        i++;
    if (i == INGEST_MAX_PORTS) {
        pthread_mutex_unlock(&s->ports_mu);
        sidik_free(port);
        return SIDIK_ERANGE;
    }
    port->slot = i;
    uv_async_init(loop, &port->wake, on_wake);
    port->wake.data = port;
    uv_timer_init(loop, &port->sweep);
    port->sweep.data = port;
    uint64_t every = sidik__staging_sweep_ms(s->staging);
    uv_timer_start(&port->sweep, on_sweep, every, every);
    uv_unref((uv_handle_t *)&port->sweep); /* it never keeps a loop running */
    uv_timer_init(loop, &port->retry);
    port->retry.data = port;
    uv_timer_start(&port->retry, on_retry, RECORD_RETRY_MS, RECORD_RETRY_MS);
    uv_unref((uv_handle_t *)&port->retry);
    port->open_handles = 3;
    s->ports[i] = port;
    pthread_mutex_unlock(&s->ports_mu);
    *out = port;
    return 0;
}

static void port_closed(uv_handle_t *h)
{
    sidik_ingest_port *port = h->data;
    if (--port->open_handles > 0)
        return;
    void (*done)(void *) = port->done;
    void *arg = port->done_arg;
    sidik_free(port);
    if (done != NULL)
        done(arg);
}

void sidik_ingest_port_close(sidik_ingest_port *port, void (*done)(void *arg), void *arg)
{
    sidik_ingest *s = port->ing;
    pthread_mutex_lock(&s->ports_mu);
    s->ports[port->slot] = NULL;
    pthread_mutex_unlock(&s->ports_mu);
    port->done = done;
    port->done_arg = arg;
    uv_close((uv_handle_t *)&port->wake, port_closed);
    uv_close((uv_handle_t *)&port->sweep, port_closed);
    uv_close((uv_handle_t *)&port->retry, port_closed);
}

/* ---- the h2 callbacks --------------------------------------------------------------- */

int sidik_ingest_on_call(sidik_ingest_port *port, sidik_h2_call *call)
{
    upload *u = sidik_trycalloc(1, sizeof *u);
    if (u == NULL)
        return SIDIK_ENOMEM;
    u->port = port;
    u->call = call;
    u->chunked = sidik_h2_call_method(call)->method == SIDIK_METHOD_INGEST_UPLOAD_CHUNKS;
    u->next = port->uploads;
    if (port->uploads != NULL)
        port->uploads->prev = u;
    port->uploads = u;
    sidik_h2_call_set_data(call, u);
    return 0;
}

int sidik_ingest_on_message(sidik_ingest_port *port, sidik_h2_call *call, const uint8_t *p,
                            size_t n)
{
    (void)port;
    upload *u = sidik_h2_call_data(call);
    u->owed += n;
    /* An earlier upload was refused because the control store failed: try
     * recording again first, so the first one after it recovers is taken. */
    if (atomic_exchange(&u->port->ing->record_retry, false))
        sidik__ingest_record(u->port->ing);
    int rc = u->whead != NULL || u->assembled != NULL ? SIDIK_EBUSY : take(u, p, n);
    if (rc == SIDIK_EBUSY)
        rc = wait_for_room(u, p, n);
    if (rc != 0)
        return rc;
    upload_progress(u);
    return 0;
}

void sidik_ingest_on_half_close(sidik_ingest_port *port, sidik_h2_call *call)
{
    (void)port;
    upload *u = sidik_h2_call_data(call);
    u->half_closed = true;
    upload_progress(u);
}

void sidik_ingest_on_close(sidik_ingest_port *port, sidik_h2_call *call)
{
    upload *u = sidik_h2_call_data(call);
    if (u == NULL)
        return;
    if (u->prev != NULL)
        u->prev->next = u->next;
    else
        port->uploads = u->next;
    if (u->next != NULL)
        u->next->prev = u->prev;
    /* Answers not sent stay true: a resend gets them from the store. */
    while (u->ahead != NULL) {
        answer *a = u->ahead;
        u->ahead = a->next;
        answer_free(port->ing, a);
    }
    while (u->whead != NULL) {
        waiting *w = u->whead;
        u->whead = w->next;
        waiting_free(port->ing, w);
    }
    if (u->assembled != NULL) { /* never acknowledged: the station sends it again */
        sidik_free(u->assembled);
        atomic_fetch_sub(&port->ing->unanswered, 1);
    }
    sidik_free(u);
}
