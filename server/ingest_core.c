/*
 * The ingest service's shared state (ingest_int.h): opening with the
 * journal replay, the in-flight list, recording RECEIVED, waking the loops,
 * closing.
 */
#include "ingest_int.h"
#include "sidik/pb.h"
#include "sidik.pb-c.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define DEFAULT_CALL_WINDOW (1u << 20)
#define RECORD_BATCH        1024 /* enrollments recorded per control transaction */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sidik__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void sidik__ingest_metric(sidik_ingest *s, sidik_metric m, int64_t d)
{
    if (s->metrics != NULL)
        sidik_metrics_add(s->metrics, m, d);
}

/* ---- the in-flight list and its index ----------------------------------------- */

static uint32_t id_bucket(const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % INGEST_ID_BUCKETS;
}

inflight *sidik__inflight_find(sidik_ingest *s, const char *id)
{
    for (inflight *f = s->bucket[id_bucket(id)]; f != NULL; f = f->hnext)
        if (strcmp(f->e.id, id) == 0)
            return f;
    return NULL;
}

void sidik__inflight_add(sidik_ingest *s, inflight *f)
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
    atomic_fetch_add(&s->ninflight, 1);
    sidik__ingest_metric(s, SIDIK_M_JOURNAL_LAG, 1);
}

/* Unlinks f from the index and frees it (the list is the caller's). */
static void inflight_free(sidik_ingest *s, inflight *f)
{
    inflight **bp = &s->bucket[id_bucket(f->e.id)];
    while (*bp != f)
        bp = &(*bp)->hnext;
    *bp = f->hnext;
    atomic_fetch_sub(&s->ninflight, 1);
    sidik__ingest_metric(s, SIDIK_M_JOURNAL_LAG, -1);
    sidik_free(f);
}

static void inflight_pop(sidik_ingest *s)
{
    inflight *f = s->head;
    s->head = f->next;
    if (s->head == NULL)
        s->tail = NULL;
    inflight_free(s, f);
}

/* The journal stopped: what it had not made durable never will be. Those
 * entries are the list's end. */
static void drop_lost(sidik_ingest *s, uint64_t durable)
{
    inflight **pp = &s->head;
    s->tail = NULL;
    while (*pp != NULL && (*pp)->e.journal_seq <= durable) {
        s->tail = *pp;
        pp = &(*pp)->next;
    }
    inflight *f = *pp;
    *pp = NULL;
    while (f != NULL) {
        inflight *next = f->next;
        inflight_free(s, f);
        f = next;
    }
}

/* ---- recording RECEIVED ------------------------------------------------------------- */

/* Commits one batch (outside mu): 0 or the store's error. */
static int record_batch(sidik_ingest *s, inflight *const *batch, uint32_t k)
{
    sidik_control_txn *t;
    int rc = sidik_control_begin(s->control, true, &t);
    for (uint32_t i = 0; rc == 0 && i < k; i++) {
        rc = sidik_control_enroll_put(t, &batch[i]->e);
        if (rc == SIDIK_EEXISTS) { /* only a replay can have put it: the id was checked */
            SIDIK_LOG_WARN("received enrollment already recorded", "id=%s seq=%llu",
                           batch[i]->e.id, (unsigned long long)batch[i]->e.journal_seq);
            rc = 0;
        }
    }
    if (rc == 0)
        rc = sidik_control_set_applied(t, batch[k - 1]->e.journal_seq);
    if (rc == 0)
        return sidik_control_commit(t);
    sidik_control_abort(t);
    return rc;
}

/* Records every durable in-flight enrollment, a batch per transaction,
 * with the journal point reached. A failure (the control store's disk full
 * or failing) leaves them in flight (still durable, still answered by a
 * later try; a restart's replay would record them anyway) and makes the
 * ingest refuse new enrollments until a retry works: they would only pile
 * up in memory behind the store. Retried at the next wake and whenever an
 * upload is refused for it (sidik_ingest_on_message). */
void sidik__ingest_record(sidik_ingest *s)
{
    inflight *batch[RECORD_BATCH];
    bool moved = false;
    pthread_mutex_lock(&s->mu);
    if (s->recording) {
        pthread_mutex_unlock(&s->mu);
        return; /* the recorder wakes everyone when it is done */
    }
    s->recording = true;
    uint64_t durable;
    for (;;) {
        durable = atomic_load(&s->durable);
        uint32_t k = 0;
        for (inflight *f = s->head; f != NULL && f->e.journal_seq <= durable && k < RECORD_BATCH;
             f = f->next)
            batch[k++] = f;
        if (k == 0)
            break;
        pthread_mutex_unlock(&s->mu);
        int rc = record_batch(s, batch, k);
        int64_t now = sidik__mono_ns();
        pthread_mutex_lock(&s->mu);
        if (rc != 0) {
            if (s->record_failed == 0)
                SIDIK_LOG_ERROR("recording received enrollments failed; new uploads are refused "
                                "until it works again, retried as they come",
                                "error=%s first_seq=%llu", sidik_err_name(rc),
                                (unsigned long long)batch[0]->e.journal_seq);
            s->record_failed = rc;
            atomic_store(&s->record_retry, true); /* the ports' retry timers */
            break;
        }
        if (s->record_failed != 0)
            SIDIK_LOG_WARN("recording received enrollments works again; uploads accepted",
                           "first_seq=%llu", (unsigned long long)batch[0]->e.journal_seq);
        s->record_failed = 0;
        sidik__ingest_metric(s, SIDIK_M_ENROLLMENTS_RECEIVED, k);
        for (uint32_t i = 0; i < k; i++) {
            if (s->metrics != NULL)
                sidik_metrics_observe(s->metrics, SIDIK_H_DURABLE_SECONDS,
                                      (double)(now - s->head->appended_ns) * 1e-9);
            inflight_pop(s);
        }
        moved = true;
    }
    if (s->journal == NULL || sidik_journal_status(s->journal) != 0)
        drop_lost(s, durable);
    uint64_t settled = s->head != NULL && s->head->e.journal_seq <= durable
                           ? s->head->e.journal_seq - 1
                           : durable;
    if (settled != atomic_load(&s->settled)) {
        atomic_store(&s->settled, settled);
        moved = true;
    }
    s->recording = false;
    pthread_mutex_unlock(&s->mu);
    if (moved)
        sidik__ingest_wake_all(s);
    if (moved && s->on_recorded != NULL)
        s->on_recorded(s->recorded_ctx);
}

void sidik__ingest_wake_all(sidik_ingest *s)
{
    pthread_mutex_lock(&s->ports_mu);
    for (uint32_t i = 0; i < INGEST_MAX_PORTS; i++)
        if (s->ports[i] != NULL)
            uv_async_send(&s->ports[i]->wake);
    pthread_mutex_unlock(&s->ports_mu);
}

/* From the journal's thread. */
static void journal_moved(void *ctx, uint64_t durable)
{
    sidik_ingest *s = ctx;
    atomic_store(&s->durable, durable);
    sidik__ingest_wake_all(s);
}

uint32_t sidik_ingest_in_flight(const sidik_ingest *s)
{
    return atomic_load(&s->ninflight);
}

bool sidik_ingest_idle(const sidik_ingest *s)
{
    return atomic_load(&s->ninflight) == 0 && atomic_load(&s->unanswered) == 0;
}

/* ---- opening: replay what the control store has not recorded -------------------- */

typedef struct replay {
    sidik_control_txn *t;
    uint64_t count, last;
    const char *why;
} replay;

static void copy_text(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

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

int sidik_ingest_open(const sidik_ingest_options *o, sidik_ingest **out, uint64_t *replayed,
                      const char **why)
{
    const char *ignore;
    uint64_t ignore_n;
    if (why == NULL)
        why = &ignore;
    if (replayed == NULL)
        replayed = &ignore_n;
    *why = NULL;
    *replayed = 0;
    if (o == NULL || o->journal_dir == NULL || o->control == NULL || out == NULL)
        return SIDIK_EINVAL;
    sidik_ingest *s = sidik_trycalloc(1, sizeof *s);
    if (s == NULL)
        return SIDIK_ENOMEM;
    s->control = o->control;
    s->metrics = o->metrics;
    s->call_window = o->call_window_bytes ? o->call_window_bytes : DEFAULT_CALL_WINDOW;
    s->now_ms = o->now_ms ? o->now_ms : wall_ms;
    s->on_recorded = o->on_recorded;
    s->recorded_ctx = o->recorded_ctx;
    s->downstream = o->downstream;
    s->downstream_ctx = o->downstream_ctx;
    s->max_enrollment = o->max_enrollment_bytes ? o->max_enrollment_bytes
                                                : SIDIK_INGEST_MAX_ENROLLMENT;
    if (sidik__staging_create(o, o->metrics, &s->staging) != 0) {
        sidik_free(s);
        return SIDIK_ENOMEM;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->ports_mu, NULL);
    sidik_journal_options jo = o->journal;
    jo.on_durable = journal_moved;
    jo.ctx = s;
    int rc = sidik_journal_open(o->journal_dir, &jo, &s->journal, why);
    if (rc == 0) {
        uint64_t durable = sidik_journal_durable(s->journal);
        atomic_store(&s->durable, durable);
        atomic_store(&s->settled, durable);
        rc = replay_journal(s, replayed, why);
        if (rc != 0)
            sidik_journal_close(s->journal);
    }
    if (rc != 0) {
        pthread_mutex_destroy(&s->mu);
        pthread_mutex_destroy(&s->ports_mu);
        sidik__staging_destroy(s->staging);
        sidik_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

sidik_journal *sidik_ingest_journal(const sidik_ingest *s)
{
    return s->journal;
}

int sidik_ingest_close(sidik_ingest *s)
{
    int rc = sidik_journal_close(s->journal);
    s->journal = NULL;
    /* The journal is quiet now: what it made durable is recorded, and the
     * rest (it had stopped) dropped. */
    sidik__ingest_record(s);
    while (s->head != NULL)
        inflight_pop(s);
    sidik__staging_destroy(s->staging); /* memory only: a restart starts stagings afresh */
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->ports_mu);
    sidik_free(s);
    return rc;
}
