/*
 * Ingest.Upload (sidik/ingest.h): validate, deduplicate by id, journal,
 * record, answer.
 *
 * Two queues carry an accepted enrollment. The service's in-flight list
 * (journal order, with an index by id) holds it from the append until it
 * is recorded RECEIVED in the control store, so an id is known to exactly
 * one of the two at every moment and a resend can always be recognised.
 * The call's answer list holds the Receipts owed to that caller in arrival
 * order; each waits for the durable point it names. The journal thread
 * wakes the loop (uv_async) when the durable point moves; the loop then
 * records, answers and resumes paused calls.
 */
#include "sidik/common.h"
#include "sidik/ingest.h"
#include "sidik/pb.h"
#include "sidik/validate.h"
#include "sidik.pb-c.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define DEFAULT_CALL_WINDOW (1u << 20)
#define ID_BUCKETS          4096 /* in-flight index; a few thousand in flight at most */
#define RECORD_BATCH        4096 /* enrollments recorded per control transaction */

typedef struct inflight {
    struct inflight *next;  /* the service's list, in journal order */
    struct inflight *hnext; /* its index bucket */
    int64_t appended_ns;
    sidik_enrollment e; /* the control record: id, office, nik, hash, seq, RECEIVED */
} inflight;

typedef struct answer { /* a Receipt owed to the caller */
    struct answer *next;
    uint64_t seq; /* sent once this is durable; 0: as soon as its turn comes */
    size_t bytes; /* the message bytes it answers (the call's window) */
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

typedef struct upload {
    sidik_ingest *ing;
    sidik_h2_call *call;
    struct upload *prev, *next; /* the service's calls */
    answer *ahead, *atail;
    waiting *whead, *wtail;
    size_t owed; /* bytes of messages not answered yet */
    bool half_closed;
} upload;

struct sidik_ingest {
    uv_loop_t *loop;
    uv_async_t wake;
    sidik_journal *journal;
    _Atomic uint64_t durable; /* as the journal last reported it (it outlives the journal) */
    uint64_t settled;         /* every entry up to here is durable and recorded */
    sidik_control *control;
    sidik_metrics *metrics;
    size_t call_window;
    int64_t (*now_ms)(void);
    inflight *head, *tail;
    inflight *bucket[ID_BUCKETS];
    uint32_t ninflight;
    upload *uploads;
    void (*done)(void *);
    void *done_arg;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void metric(sidik_ingest *s, sidik_metric m, int64_t d)
{
    if (s->metrics != NULL)
        sidik_metrics_add(s->metrics, m, d);
}

/* Bounded copy for fixed fields; the sources were validated to fit. */
static void copy_text(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

/* ---- the in-flight list and its index ----------------------------------------- */

static uint32_t id_bucket(const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % ID_BUCKETS;
}

static inflight *inflight_find(sidik_ingest *s, const char *id)
{
    for (inflight *f = s->bucket[id_bucket(id)]; f != NULL; f = f->hnext)
        if (strcmp(f->e.id, id) == 0)
            return f;
    return NULL;
}

static void inflight_add(sidik_ingest *s, inflight *f)
{
    uint32_t b = id_bucket(f->e.id);
    f->hnext = s->bucket[b];
    s->bucket[b] = f;
    f->next = NULL;
    if (s->tail != NULL)
        s->tail->next = f;
    else
        s->head = f;
    s->tail = f;
    s->ninflight++;
}

/* Removes the list's first entry. */
static void inflight_pop(sidik_ingest *s)
{
    inflight *f = s->head;
    inflight **pp = &s->bucket[id_bucket(f->e.id)];
    while (*pp != f)
        pp = &(*pp)->hnext;
    *pp = f->hnext;
    s->head = f->next;
    if (s->head == NULL)
        s->tail = NULL;
    s->ninflight--;
    sidik_free(f);
}

/* ---- receipts ------------------------------------------------------------------------ */

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

static answer *answer_new(const receipt *r, uint64_t wait_seq, size_t bytes)
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
    size_t len = sidik__v1__receipt__get_packed_size(&m);
    answer *a = sidik_trymalloc(sizeof *a + len);
    if (a == NULL)
        return NULL;
    a->next = NULL;
    a->seq = wait_seq;
    a->bytes = bytes;
    copy_text(a->id, sizeof a->id, r->id);
    if (r->sha256 != NULL)
        memcpy(a->sha256, r->sha256, 32);
    else
        memset(a->sha256, 0, 32);
    a->len = sidik__v1__receipt__pack(&m, a->packed);
    return a;
}

/* Queues r for the caller, after those owed before it. */
static int owe(upload *u, const receipt *r, uint64_t wait_seq, size_t bytes)
{
    answer *a = answer_new(r, wait_seq, bytes);
    if (a == NULL)
        return SIDIK_ENOMEM;
    if (u->atail != NULL)
        u->atail->next = a;
    else
        u->ahead = a;
    u->atail = a;
    return 0;
}

static int owe_exists(upload *u, receipt *r, size_t bytes)
{
    r->resend = false;
    r->code = SIDIK_GRPC_ALREADY_EXISTS;
    r->reason = "this enrollment_id was already received with other content; a correction is a "
                "new enrollment with a new id";
    return owe(u, r, 0, bytes);
}

static const char *journal_reason(int rc)
{
    return rc == SIDIK_EFULL ? "the server's journal disk is full; nothing of this enrollment was "
                               "kept: keep it in the spool and send it again later"
                             : "the server's journal stopped; nothing of this enrollment was kept: "
                               "keep it in the spool and send it again later";
}

/* ---- one message --------------------------------------------------------------------- */

/* Appends an accepted enrollment; SIDIK_EBUSY when the journal has no room. */
static int append(upload *u, const Sidik__V1__Enrollment *e, const uint8_t sha[32],
                  const uint8_t *p, size_t n, int64_t now)
{
    sidik_ingest *s = u->ing;
    inflight *f = sidik_trycalloc(1, sizeof *f);
    uint8_t *buf = sidik_trymalloc(SIDIK_INGEST_RECORD_HEADER + n);
    if (f == NULL || buf == NULL) {
        sidik_free(f);
        sidik_free(buf);
        return SIDIK_ENOMEM;
    }
    sidik_ingest_record rec = {.received_ms = now};
    memcpy(rec.sha256, sha, 32);
    sidik_ingest_record_header(&rec, buf);
    memcpy(buf + SIDIK_INGEST_RECORD_HEADER, p, n);
    uint64_t seq;
    int rc = sidik_journal_append(s->journal, SIDIK_JOURNAL_KIND_ENROLLMENT, buf,
                                  SIDIK_INGEST_RECORD_HEADER + n, &seq);
    sidik_free(buf);
    receipt r = {.id = e->enrollment_id, .sha256 = sha};
    if (rc != 0) {
        sidik_free(f);
        if (rc == SIDIK_EBUSY || rc == SIDIK_ENOMEM)
            return rc;
        r.code = sidik_err_grpc(rc);
        r.reason = journal_reason(rc);
        return owe(u, &r, 0, n);
    }
    copy_text(f->e.id, sizeof f->e.id, e->enrollment_id);
    copy_text(f->e.office, sizeof f->e.office, e->office_code);
    copy_text(f->e.nik, sizeof f->e.nik, e->demographics->nik);
    memcpy(f->e.sha256, sha, 32);
    f->e.journal_seq = seq;
    f->e.status = SIDIK_STATUS_RECEIVED;
    f->e.nhistory = 1;
    f->e.history[0] = (sidik_status_change){SIDIK_STATUS_RECEIVED, now};
    f->appended_ns = mono_ns();
    inflight_add(s, f);
    metric(s, SIDIK_M_JOURNAL_LAG, 1);
    r.seq = seq;
    r.received_ms = now;
    r.status = SIDIK_STATUS_RECEIVED;
    return owe(u, &r, seq, n);
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

static int decide(upload *u, const Sidik__V1__Enrollment *e, const uint8_t *p, size_t n,
                  int64_t now)
{
    sidik_ingest *s = u->ing;
    sidik_validation v;
    sidik_validate_limits lim = {.now_ms = now};
    int rc = sidik_enrollment_validate(e, sidik_h2_call_peer(u->call), &lim, &v);
    if (rc == SIDIK_EINVAL) {
        metric(s, SIDIK_M_ENROLLMENTS_REJECTED, 1);
        receipt r = {.id = e->enrollment_id,
                     .status = SIDIK_STATUS_REJECTED,
                     .code = SIDIK_GRPC_INVALID_ARGUMENT,
                     .reason = "refused: see field_errors; correct the capture and send it again",
                     .v = &v};
        return owe(u, &r, 0, n);
    }
    if (rc != 0)
        return rc;
    uint8_t sha[32];
    if ((rc = sidik_enrollment_hash(e, sha)) != 0)
        return rc;
    receipt r = {.id = e->enrollment_id, .sha256 = sha, .resend = true};
    const inflight *f = inflight_find(s, e->enrollment_id);
    if (f != NULL) {
        if (memcmp(f->e.sha256, sha, 32) != 0)
            return owe_exists(u, &r, n);
        r.seq = f->e.journal_seq;
        r.received_ms = f->e.history[0].time_ms;
        r.status = SIDIK_STATUS_RECEIVED;
        return owe(u, &r, f->e.journal_seq, n);
    }
    sidik_enrollment old;
    rc = stored(s, e->enrollment_id, &old);
    if (rc == 0) {
        if (memcmp(old.sha256, sha, 32) != 0)
            return owe_exists(u, &r, n);
        r.seq = old.journal_seq;
        r.received_ms = old.history[0].time_ms;
        r.status = old.status;
        return owe(u, &r, 0, n);
    }
    if (rc != SIDIK_ENOTFOUND) {
        SIDIK_LOG_ERROR("control store unreadable", "error=%s id=%s", sidik_err_name(rc),
                        e->enrollment_id);
        r.resend = false;
        r.code = sidik_err_grpc(rc);
        r.reason = "the server cannot read its control store; send it again later";
        return owe(u, &r, 0, n);
    }
    return append(u, e, sha, p, n, now);
}

/* One message: 0 (an answer is owed), SIDIK_EBUSY (no journal room: keep
 * it and try again), SIDIK_ENOMEM. */
static int take(upload *u, const uint8_t *p, size_t n)
{
    static const sidik_validation malformed = {
        .nerrors = 1,
        .err = {
            {"", "MESSAGE_MALFORMED", "not an Enrollment message: the protobuf does not parse"}}};
    Sidik__V1__Enrollment *e = sidik__v1__enrollment__unpack(&sidik_pb_alloc, n, p);
    if (e == NULL) {
        metric(u->ing, SIDIK_M_ENROLLMENTS_REJECTED, 1);
        receipt r = {.status = SIDIK_STATUS_REJECTED,
                     .code = SIDIK_GRPC_INVALID_ARGUMENT,
                     .reason = "the message does not parse as an Enrollment",
                     .v = &malformed};
        return owe(u, &r, 0, n);
    }
    int rc = decide(u, e, p, n, u->ing->now_ms());
    sidik__v1__enrollment__free_unpacked(e, &sidik_pb_alloc);
    return rc;
}

/* ---- answering ------------------------------------------------------------------------ */

static void upload_pause_check(upload *u)
{
    if (u->call != NULL)
        sidik_h2_call_pause(u->call, u->whead != NULL || u->owed > u->ing->call_window);
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
    if (u->wtail != NULL)
        u->wtail->next = w;
    else
        u->whead = w;
    u->wtail = w;
    return 0;
}

/* Retries the messages waiting for journal room, in order. */
static int retry_waiting(upload *u)
{
    while (u->whead != NULL) {
        waiting *w = u->whead;
        int rc = take(u, w->p, w->n);
        if (rc == SIDIK_EBUSY)
            return 0;
        if (rc != 0)
            return rc;
        u->whead = w->next;
        if (u->whead == NULL)
            u->wtail = NULL;
        sidik_free(w);
    }
    return 0;
}

/* Sends, in order, the answers whose enrollments are durable and recorded
 * (so a Status call made on receipt finds them); those the journal will
 * never make durable (it stopped) get its error instead. */
static int send_answers(upload *u, int journal_rc)
{
    sidik_ingest *s = u->ing;
    uint64_t durable = atomic_load(&s->durable);
    while (u->ahead != NULL) {
        answer *a = u->ahead;
        bool lost = journal_rc != 0 && a->seq > durable;
        if (a->seq > s->settled && !lost)
            break;
        int rc;
        if (lost) {
            receipt r = {.id = a->id,
                         .sha256 = a->sha256,
                         .code = sidik_err_grpc(journal_rc),
                         .reason = journal_reason(journal_rc)};
            answer *err = answer_new(&r, 0, a->bytes);
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
        sidik_free(a);
    }
    return 0;
}

/* Moves one call on: retries, answers, pause, and the end of the call once
 * the office has half-closed and everything is answered. */
static void upload_progress(upload *u)
{
    sidik_ingest *s = u->ing;
    int jrc = sidik_journal_status(s->journal);
    int rc = retry_waiting(u);
    if (rc == 0)
        rc = send_answers(u, jrc);
    if (rc != 0) {
        sidik_h2_call_finish(u->call, sidik_err_grpc(rc), NULL);
        return;
    }
    upload_pause_check(u);
    if (u->half_closed && u->ahead == NULL && u->whead == NULL)
        sidik_h2_call_finish(u->call, SIDIK_GRPC_OK, NULL);
}

/* ---- recording RECEIVED ------------------------------------------------------------- */

/* Records every durable in-flight enrollment, a batch per transaction,
 * with the journal point reached. A failure leaves them in flight (still
 * durable, still answered) and is retried at the next wake; on restart the
 * journal replay would record them anyway. */
static void record_durable(sidik_ingest *s, uint64_t durable)
{
    while (s->head != NULL && s->head->e.journal_seq <= durable) {
        sidik_control_txn *t;
        int rc = sidik_control_begin(s->control, true, &t);
        uint32_t k = 0;
        uint64_t last = 0;
        for (inflight *f = s->head;
             rc == 0 && f != NULL && f->e.journal_seq <= durable && k < RECORD_BATCH;
             f = f->next, k++) {
            rc = sidik_control_enroll_put(t, &f->e);
            if (rc == SIDIK_EEXISTS) { /* only a replay can have put it: the id was checked */
                SIDIK_LOG_WARN("received enrollment already recorded", "id=%s seq=%llu", f->e.id,
                               (unsigned long long)f->e.journal_seq);
                rc = 0;
            }
            last = f->e.journal_seq;
        }
        if (rc == 0)
            rc = sidik_control_set_applied(t, last);
        if (rc == 0)
            rc = sidik_control_commit(t);
        else
            sidik_control_abort(t);
        if (rc != 0) {
            SIDIK_LOG_ERROR(
                "recording received enrollments failed; retrying at the next durable point",
                "error=%s first_seq=%llu", sidik_err_name(rc),
                (unsigned long long)s->head->e.journal_seq);
            break;
        }
        metric(s, SIDIK_M_ENROLLMENTS_RECEIVED, k);
        int64_t now = mono_ns();
        for (; k > 0; k--) {
            if (s->metrics != NULL)
                sidik_metrics_observe(s->metrics, SIDIK_H_DURABLE_SECONDS,
                                      (double)(now - s->head->appended_ns) * 1e-9);
            inflight_pop(s);
        }
    }
    s->settled =
        s->head != NULL && s->head->e.journal_seq <= durable ? s->head->e.journal_seq - 1 : durable;
}

/* The journal stopped: what it had not made durable never will be. Those
 * entries are the list's end. */
static void drop_lost(sidik_ingest *s, uint64_t durable)
{
    inflight **pp = &s->head;
    while (*pp != NULL && (*pp)->e.journal_seq <= durable)
        pp = &(*pp)->next;
    inflight *f = *pp;
    *pp = NULL;
    s->tail = NULL;
    for (inflight *g = s->head; g != NULL; g = g->next)
        s->tail = g;
    while (f != NULL) {
        inflight *next = f->next;
        inflight **bp = &s->bucket[id_bucket(f->e.id)];
        while (*bp != f)
            bp = &(*bp)->hnext;
        *bp = f->hnext;
        s->ninflight--;
        sidik_free(f);
        f = next;
    }
}

static void on_wake(uv_async_t *h)
{
    sidik_ingest *s = h->data;
    uint64_t durable = atomic_load(&s->durable);
    int64_t before = s->ninflight;
    record_durable(s, durable);
    if (sidik_journal_status(s->journal) != 0)
        drop_lost(s, durable);
    metric(s, SIDIK_M_JOURNAL_LAG, (int64_t)s->ninflight - before);
    for (upload *u = s->uploads; u != NULL; u = u->next)
        upload_progress(u);
}

/* From the journal's thread. */
static void journal_moved(void *ctx, uint64_t durable)
{
    sidik_ingest *s = ctx;
    atomic_store(&s->durable, durable);
    uv_async_send(&s->wake);
}

/* ---- the h2 callbacks --------------------------------------------------------------- */

int sidik_ingest_on_call(sidik_ingest *s, sidik_h2_call *call)
{
    upload *u = sidik_trycalloc(1, sizeof *u);
    if (u == NULL)
        return SIDIK_ENOMEM;
    u->ing = s;
    u->call = call;
    u->next = s->uploads;
    if (s->uploads != NULL)
        s->uploads->prev = u;
    s->uploads = u;
    sidik_h2_call_set_data(call, u);
    return 0;
}

int sidik_ingest_on_message(sidik_ingest *s, sidik_h2_call *call, const uint8_t *p, size_t n)
{
    (void)s;
    upload *u = sidik_h2_call_data(call);
    u->owed += n;
    int rc = u->whead != NULL ? SIDIK_EBUSY : take(u, p, n);
    if (rc == SIDIK_EBUSY)
        rc = wait_for_room(u, p, n);
    if (rc != 0)
        return rc;
    upload_progress(u);
    return 0;
}

void sidik_ingest_on_half_close(sidik_ingest *s, sidik_h2_call *call)
{
    (void)s;
    upload *u = sidik_h2_call_data(call);
    u->half_closed = true;
    upload_progress(u);
}

void sidik_ingest_on_close(sidik_ingest *s, sidik_h2_call *call)
{
    upload *u = sidik_h2_call_data(call);
    if (u == NULL)
        return;
    if (u->prev != NULL)
        u->prev->next = u->next;
    else
        s->uploads = u->next;
    if (u->next != NULL)
        u->next->prev = u->prev;
    /* Answers not sent stay true: a resend gets them from the store. */
    while (u->ahead != NULL) {
        answer *a = u->ahead;
        u->ahead = a->next;
        sidik_free(a);
    }
    while (u->whead != NULL) {
        waiting *w = u->whead;
        u->whead = w->next;
        sidik_free(w);
    }
    sidik_free(u);
}

uint32_t sidik_ingest_in_flight(const sidik_ingest *s)
{
    return s->ninflight;
}

bool sidik_ingest_idle(const sidik_ingest *s)
{
    if (s->ninflight > 0)
        return false;
    for (const upload *u = s->uploads; u != NULL; u = u->next)
        if (u->ahead != NULL)
            return false;
    return true;
}

/* ---- opening: replay what the control store has not recorded -------------------- */

typedef struct replay {
    sidik_control_txn *t;
    uint64_t count, last;
    const char *why;
} replay;

static int replay_entry(void *ctx, uint64_t seq, uint32_t kind, const void *p, size_t n)
{
    replay *r = ctx;
    r->last = seq;
    if (kind != SIDIK_JOURNAL_KIND_ENROLLMENT)
        return 0;
    sidik_ingest_record rec;
    if (sidik_ingest_record_parse(p, n, &rec) != 0) {
        r->why = "a journal entry is not an enrollment record this build reads";
        return SIDIK_ECORRUPT;
    }
    Sidik__V1__Enrollment *e =
        sidik__v1__enrollment__unpack(&sidik_pb_alloc, rec.enrollment_len, rec.enrollment);
    if (e == NULL) {
        r->why = "a journal entry's enrollment does not parse";
        return SIDIK_ECORRUPT;
    }
    sidik_enrollment x = {.journal_seq = seq, .status = SIDIK_STATUS_RECEIVED, .nhistory = 1};
    copy_text(x.id, sizeof x.id, e->enrollment_id);
    copy_text(x.office, sizeof x.office, e->office_code);
    copy_text(x.nik, sizeof x.nik, e->demographics != NULL ? e->demographics->nik : "");
    memcpy(x.sha256, rec.sha256, 32);
    x.history[0] = (sidik_status_change){SIDIK_STATUS_RECEIVED, rec.received_ms};
    sidik__v1__enrollment__free_unpacked(e, &sidik_pb_alloc);
    int rc = sidik_control_enroll_put(r->t, &x);
    if (rc == SIDIK_EEXISTS) /* recorded before the applied point was: fine */
        return 0;
    if (rc == 0)
        r->count++;
    else
        r->why = "a journaled enrollment cannot be recorded in the control store";
    return rc;
}

static int replay_journal(sidik_ingest *s, uint64_t *replayed, const char **why)
{
    sidik_control_txn *t;
    int rc = sidik_control_begin(s->control, true, &t);
    if (rc != 0)
        return rc;
    uint64_t applied = 0;
    rc = sidik_control_applied(t, &applied);
    replay r = {.t = t, .last = applied};
    if (rc == 0)
        rc = sidik_journal_scan(s->journal, applied + 1, replay_entry, &r);
    if (rc == 0 && r.last > applied)
        rc = sidik_control_set_applied(t, r.last);
    if (rc == 0)
        rc = sidik_control_commit(t);
    else
        sidik_control_abort(t);
    if (rc != 0 && r.why != NULL)
        *why = r.why;
    *replayed = r.count;
    return rc;
}

int sidik_ingest_open(uv_loop_t *loop, const sidik_ingest_options *o, sidik_ingest **out,
                      uint64_t *replayed, const char **why)
{
    const char *ignore;
    uint64_t ignore_n;
    if (why == NULL)
        why = &ignore;
    if (replayed == NULL)
        replayed = &ignore_n;
    *why = NULL;
    *replayed = 0;
    if (loop == NULL || o == NULL || o->journal_dir == NULL || o->control == NULL || out == NULL)
        return SIDIK_EINVAL;
    sidik_ingest *s = sidik_trycalloc(1, sizeof *s);
    if (s == NULL)
        return SIDIK_ENOMEM;
    s->loop = loop;
    s->control = o->control;
    s->metrics = o->metrics;
    s->call_window = o->call_window_bytes ? o->call_window_bytes : DEFAULT_CALL_WINDOW;
    s->now_ms = o->now_ms ? o->now_ms : wall_ms;
    sidik_journal_options jo = o->journal;
    jo.on_durable = journal_moved;
    jo.ctx = s;
    /* The handle exists before the journal can call journal_moved. */
    uv_async_init(loop, &s->wake, on_wake);
    s->wake.data = s;
    int rc = sidik_journal_open(o->journal_dir, &jo, &s->journal, why);
    if (rc == 0) {
        atomic_store(&s->durable, sidik_journal_durable(s->journal));
        s->settled = sidik_journal_durable(s->journal);
        rc = replay_journal(s, replayed, why);
        if (rc != 0)
            sidik_journal_close(s->journal);
    }
    if (rc != 0) {
        uv_close((uv_handle_t *)&s->wake, NULL);
        uv_run(loop, UV_RUN_NOWAIT); /* the handle must finish closing before it is freed */
        sidik_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static void wake_closed(uv_handle_t *h)
{
    sidik_ingest *s = h->data;
    void (*done)(void *) = s->done;
    void *arg = s->done_arg;
    sidik_free(s);
    if (done != NULL)
        done(arg);
}

int sidik_ingest_close(sidik_ingest *s, void (*done)(void *arg), void *arg)
{
    int rc = sidik_journal_close(s->journal);
    s->journal = NULL;
    /* The journal is quiet now: what it made durable is recorded. */
    record_durable(s, atomic_load(&s->durable));
    while (s->head != NULL)
        inflight_pop(s);
    s->done = done;
    s->done_arg = arg;
    uv_close((uv_handle_t *)&s->wake, wake_closed);
    return rc;
}
