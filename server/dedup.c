/* The dedup stage (sidik/dedup.h). */
#include "dedup_int.h"
#include "sidik/common.h"
#include "sidik/ingest.h"
#include "sidik/pb.h"
#include "sidik.pb-c.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define DEFAULT_BATCH      32
#define DEFAULT_SHORTLIST  64
#define DEFAULT_PARTITIONS 8
#define DEFAULT_DUP_FPIR   1e-3
#define DEFAULT_REV_FPIR   1e-2
#define DEFAULT_RETRY_MS   1000
#define RETRY_MAX_MS       60000

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void metric_add(sidik_dedup *d, sidik_metric m, int64_t delta)
{
    if (d->o.metrics != NULL)
        sidik_metrics_add(d->o.metrics, m, delta);
}

/* A gauge only this stage moves. */
static void metric_set(sidik_dedup *d, sidik_metric m, int64_t value)
{
    if (d->o.metrics != NULL)
        sidik_metrics_add(d->o.metrics, m, value - sidik_metrics_get(d->o.metrics, m));
}

/* ---- reading a batch back from the journal ------------------------------------------- */

/* The ten-print of e: each finger's own view out of its record (validation
 * made sure the record holds one of that position). */
static void tenprint(sidik_dedup *d, const Sidik__V1__Enrollment *e, sidik_fmr *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->format = SIDIK_FMR_ISO_2005;
    for (size_t i = 0; i < e->n_fingers && rec->nviews < SIDIK_SIG_FINGERS; i++) {
        const Sidik__V1__FingerRecord *f = e->fingers[i];
        if (f->template_.len == 0 ||
            sidik_fmr_decode(f->template_.data, f->template_.len, d->scratch, NULL) != 0)
            continue;
        const sidik_template *best = NULL;
        for (uint32_t v = 0; v < d->scratch->nviews; v++) {
            const sidik_template *t = &d->scratch->views[v];
            if (t->position == (uint8_t)f->position && (best == NULL || t->count > best->count))
                best = t;
        }
        if (best != NULL)
            rec->views[rec->nviews++] = *best;
    }
}

static void item_clear(sidik__dedup_item *it)
{
    sidik_probe_destroy(it->probe);
    it->probe = NULL;
    it->unusable = NULL;
}

/* Cards are printed by the civil registry of the person's regency
 * (kabupaten/kota): the print region is the region code's first two
 * pairs of digits in the official dotted form, 317101 -> "31.71", which a
 * print station's certificate names (deploy/pki.sh). The ingest accepted
 * only 6-digit codes; anything else (an entry from another build) queues
 * under "unknown", for an operator to see. */
static void print_region(const char *code, char out[SIDIK_REGION_MAX + 1])
{
    bool ok = code != NULL && strlen(code) == 6;
    for (int i = 0; ok && i < 6; i++)
        ok = code[i] >= '0' && code[i] <= '9';
    if (ok)
        snprintf(out, SIDIK_REGION_MAX + 1, "%.2s.%.2s", code, code + 2);
    else
        snprintf(out, SIDIK_REGION_MAX + 1, "unknown");
}

/* Fills it from a journal entry. Only SIDIK_ENOMEM fails: an entry that
 * cannot be searched is decided ADJUDICATE with the reason. */
static int item_load(sidik_dedup *d, sidik__dedup_item *it, uint64_t seq, const void *p, size_t n)
{
    it->seq = seq;
    it->id[0] = it->region[0] = it->nik[0] = 0;
    it->nik_record = it->nik_review = it->review_match = 0;
    it->review_id[0] = it->nik_review_id[0] = 0;
    it->iso_len = 0;
    memset(&it->found, 0, sizeof it->found);
    sidik_ingest_record r;
    Sidik__V1__Enrollment *e = NULL;
    if (sidik_ingest_record_parse(p, n, &r) != 0 ||
        (e = sidik__v1__enrollment__unpack(&sidik_pb_alloc, r.enrollment_len, r.enrollment)) ==
            NULL) {
        it->unusable = "the journal entry is not an enrollment this build reads";
        return 0;
    }
    it->received_ms = r.received_ms;
    snprintf(it->id, sizeof it->id, "%s", e->enrollment_id);
    if (e->demographics != NULL) {
        print_region(e->demographics->region_code, it->region);
        const char *nik = e->demographics->nik;
        if (nik != NULL && strlen(nik) == SIDIK_NIK_LEN && strspn(nik, "0123456789") == SIDIK_NIK_LEN)
            memcpy(it->nik, nik, SIDIK_NIK_LEN + 1);
    }
    tenprint(d, e, it->rec);
    sidik__v1__enrollment__free_unpacked(e, &sidik_pb_alloc);
    int rc = sidik_probe_create(it->rec, &it->probe, &it->unusable);
    if (rc == SIDIK_ENOMEM)
        return rc;
    if (rc == 0 && sidik_sig_person(it->rec, &it->sig, &it->unusable) != 0) {
        sidik_probe_destroy(it->probe);
        it->probe = NULL;
    }
    if (it->probe == NULL && it->unusable == NULL)
        it->unusable = "no finger usable for searching";
    return 0;
}

typedef struct collecting {
    sidik_dedup *d;
    uint64_t applied;
    int rc;
} collecting;

#define COLLECT_DONE 1 /* the scan's own stop */

static int collect(void *ctx, uint64_t seq, uint32_t kind, const void *p, size_t n)
{
    collecting *c = ctx;
    sidik_dedup *d = c->d;
    if (seq > c->applied || d->nitems == d->o.batch)
        return COLLECT_DONE;
    if (kind != SIDIK_JOURNAL_KIND_ENROLLMENT)
        return 0;
    sidik__dedup_item *it = &d->items[d->nitems];
    int rc = item_load(d, it, seq, p, n);
    if (rc != 0)
        return rc;
    d->nitems++;
    return 0;
}

/* The UNIQUE ones into the shards, under their journal sequence as record
 * id. A repeat after a crash finds some already stored: one by one then. */
static int store_unique(sidik_dedup *d)
{
    sidik_shard_record r[SIDIK_SEARCH_MAX_BATCH];
    size_t k = 0, bad;
    for (uint32_t i = 0; i < d->nitems; i++) {
        sidik__dedup_item *it = &d->items[i];
        if (sidik__dedup_outcome(it) != SIDIK_STATUS_PRINT_READY)
            continue;
        int rc = sidik_fmr_encode_iso2005(it->rec, it->iso, sizeof it->iso, &it->iso_len);
        if (rc != 0)
            return rc;
        r[k++] = (sidik_shard_record){.id = it->seq, .tmpl = it->iso,
                                      .tmpl_len = it->iso_len};
    }
    if (k == 0)
        return 0;
    int rc = sidik_shardset_put(d->o.shards, r, k, &bad);
    for (size_t i = 0; rc == SIDIK_EEXISTS && i < k; i++) {
        int one = sidik_shardset_put(d->o.shards, &r[i], 1, &bad);
        if (one != 0 && one != SIDIK_EEXISTS)
            return one;
        if (i + 1 == k)
            rc = 0;
    }
    return rc;
}

/* Makes it, an enrollment in ADJUDICATE, searchable until a person decides
 * it (dedup_review.h). Only SIDIK_ENOMEM fails (nothing kept then). */
static int review_put(sidik_dedup *d, sidik__dedup_item *it)
{
    int rc = sidik_fmr_encode_iso2005(it->rec, it->iso, sizeof it->iso, &it->iso_len);
    if (rc == 0)
        rc = sidik__review_add(&d->review, it->seq, it->id, it->iso, it->iso_len);
    if (rc == SIDIK_EEXISTS)
        return 0;
    if (rc == 0 && (rc = sidik_gallery_insert(d->gallery, it->seq, &it->sig)) != 0 &&
        rc != SIDIK_EEXISTS)
        sidik__review_remove(&d->review, it->seq);
    else
        rc = 0;
    atomic_store(&d->reviewing, d->review.n);
    return rc;
}

/* Takes seq, no longer awaiting review, out of the review set; and out of
 * the search gallery too unless it has become an enrolled person there. */
static void review_drop(sidik_dedup *d, uint64_t seq, bool enrolled)
{
    if (sidik__review_remove(&d->review, seq) && !enrolled)
        sidik_gallery_remove(d->gallery, seq);
    atomic_store(&d->reviewing, d->review.n);
}

/* After the commit: the new persons searchable, and those sent to review
 * too; the figures counted. */
static void publish(sidik_dedup *d, uint64_t applied)
{
    static const sidik_metric counted[] = {
        [SIDIK_STATUS_PRINT_READY] = SIDIK_M_ENROLLMENTS_PRINT_READY,
        [SIDIK_STATUS_DUPLICATE] = SIDIK_M_ENROLLMENTS_DUPLICATE,
        [SIDIK_STATUS_ADJUDICATE] = SIDIK_M_ENROLLMENTS_ADJUDICATE,
    };
    int64_t now = d->o.now_ms();
    for (uint32_t i = 0; i < d->nitems; i++) {
        sidik__dedup_item *it = &d->items[i];
        sidik_status st = sidik__dedup_outcome(it);
        if (st == SIDIK_STATUS_PRINT_READY) {
            int rc = sidik_gallery_insert(d->gallery, it->seq, &it->sig);
            if (rc != 0 && rc != SIDIK_EEXISTS)
                SIDIK_LOG_ERROR("a unique person is stored but not searchable until a restart",
                                "id=%s record=%llu error=%s", it->id,
                                (unsigned long long)it->seq, sidik_err_name(rc));
        }
        int rc;
        if (st == SIDIK_STATUS_ADJUDICATE && it->probe != NULL && (rc = review_put(d, it)) != 0)
            SIDIK_LOG_ERROR("an enrollment awaiting review is not searchable until a restart",
                            "id=%s seq=%llu error=%s", it->id, (unsigned long long)it->seq,
                            sidik_err_name(rc));
        metric_add(d, counted[st], 1);
        if (d->o.metrics != NULL && now >= it->received_ms)
            sidik_metrics_observe(d->o.metrics, SIDIK_H_DECISION_SECONDS,
                                  (double)(now - it->received_ms) * 1e-3);
    }
    uint64_t last = d->items[d->nitems - 1].seq;
    atomic_store(&d->decided, last);
    metric_set(d, SIDIK_M_DEDUP_QUEUE, (int64_t)(applied - last));
}

/* CLOCK_MONOTONIC in ns: a batch's busy time for sidik_dedup_work. */
static uint64_t busy_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- UNIQUE verdicts of adjudicators ---------------------------------------------------- */

/* A person adjudicated UNIQUE enters the gallery like a search's UNIQUE,
 * and only this stage may put anyone there (it owns the search gallery, and
 * the batch searching beside it must see each person once). Audit.Adjudicate
 * records the verdict with a marker in the control store and kicks the
 * stage; before its next batch the stage reads each marked enrollment back
 * from the journal, stores it in a shard under its record id (its journal
 * sequence, as for every UNIQUE), and in one transaction makes it
 * PRINT_READY, indexes the person, queues the print authorisation and
 * clears the marker; then the search gallery gets the person.
 *
 * A crash before that transaction leaves the marker, and the work is done
 * again on the next start (sidik_dedup_open): the shard put finds the
 * record already named (SIDIK_EEXISTS, taken as done), and the gallery,
 * loaded from the shards (the record id is below `decided`, so it is
 * loaded), holds it once (a second insert is SIDIK_EEXISTS). A crash after
 * it leaves the finished state and no marker. So no person is twice in
 * the gallery and no authorisation is queued twice (print_enqueue refuses
 * a second, and the enrollment is no longer ADJUDICATE). */

typedef struct reading_one {
    sidik_dedup *d;
    sidik__dedup_item *it;
    bool found;
} reading_one;

static int read_one(void *ctx, uint64_t seq, uint32_t kind, const void *p, size_t n)
{
    reading_one *r = ctx;
    if (kind != SIDIK_JOURNAL_KIND_ENROLLMENT)
        return COLLECT_DONE;
    int rc = item_load(r->d, r->it, seq, p, n);
    r->found = rc == 0;
    return rc != 0 ? rc : COLLECT_DONE;
}

/* Reads enrollment id back from the journal at seq into it, for what
 * (named in the log): SIDIK_ECORRUPT when the journal holds something else
 * there. */
static int read_back(sidik_dedup *d, sidik__dedup_item *it, uint64_t seq, const char *id,
                     const char *what)
{
    reading_one r = {.d = d, .it = it};
    int rc = sidik_journal_scan(d->o.journal, seq, read_one, &r);
    if (rc == COLLECT_DONE)
        rc = 0;
    if (rc == 0 && (!r.found || it->seq != seq || strcmp(it->id, id) != 0)) {
        SIDIK_LOG_ERROR("the control store names an enrollment the journal does not hold there",
                        "for=\"%s\" id=%s seq=%llu", what, id, (unsigned long long)seq);
        rc = SIDIK_ECORRUPT;
    }
    return rc;
}

/* Carries out up to one batch of waiting UNIQUE verdicts; *taken gets how
 * many. Uses the batch's items, so call it between batches. */
static int take_verdicts(sidik_dedup *d, uint32_t *taken)
{
    *taken = 0;
    sidik_enroll_id ids[SIDIK_SEARCH_MAX_BATCH];
    uint64_t seqs[SIDIK_SEARCH_MAX_BATCH];
    uint32_t n = 0;
    sidik_control_txn *t;
    int rc = sidik_control_begin(d->o.control, false, &t);
    if (rc == 0) {
        rc = sidik_control_pending_list(t, 0, d->o.batch, ids, seqs, &n);
        sidik_control_abort(t);
    }
    if (rc != 0 || n == 0)
        return rc;
    d->nitems = 0;
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        sidik__dedup_item *it = &d->items[d->nitems];
        rc = read_back(d, it, seqs[i], ids[i], "a UNIQUE verdict");
        if (rc == 0)
            d->nitems++;
        else
            item_clear(it);
    }
    /* Into the shards first (a repeat after a crash finds them there). A
     * person with no finger usable for searching, judged UNIQUE by a
     * person, is printed but cannot be stored for searching; the audit
     * entry says so. */
    for (uint32_t i = 0; rc == 0 && i < d->nitems; i++) {
        sidik__dedup_item *it = &d->items[i];
        if (it->probe == NULL) {
            SIDIK_LOG_WARN("an adjudicated UNIQUE person is not searchable", "id=%s why=\"%s\"",
                           it->id, it->unusable);
            continue;
        }
        size_t bad;
        if ((rc = sidik_fmr_encode_iso2005(it->rec, it->iso, sizeof it->iso, &it->iso_len)) != 0)
            break;
        sidik_shard_record r = {.id = it->seq, .tmpl = it->iso,
                                .tmpl_len = it->iso_len};
        rc = sidik_shardset_put(d->o.shards, &r, 1, &bad);
        if (rc == SIDIK_EEXISTS)
            rc = 0;
    }
    if (rc == 0)
        rc = sidik__dedup_record_verdicts(d, ids);
    for (uint32_t i = 0; rc == 0 && i < d->nitems; i++) {
        sidik__dedup_item *it = &d->items[i];
        /* One searched while in review is in the gallery already (EEXISTS):
         * from now on as an enrolled person. */
        int one = it->probe != NULL ? sidik_gallery_insert(d->gallery, it->seq, &it->sig) : 0;
        if (one != 0 && one != SIDIK_EEXISTS)
            SIDIK_LOG_ERROR("a unique person is stored but not searchable until a restart",
                            "id=%s record=%llu error=%s", it->id, (unsigned long long)it->seq,
                            sidik_err_name(one));
        review_drop(d, it->seq, one == 0 || one == SIDIK_EEXISTS);
        metric_add(d, SIDIK_M_ENROLLMENTS_PRINT_READY, 1);
    }
    if (rc == 0)
        *taken = d->nitems;
    for (uint32_t i = 0; i < d->nitems; i++)
        item_clear(&d->items[i]);
    d->nitems = 0;
    return rc;
}

/* A step failed (a gallery shard's or the control store's disk full or
 * failing, most often): nothing of the batch is decided, and since every
 * write of a step is repeatable (the shard puts find their records, the
 * control store's transaction is all or none), trying the same step again
 * later is what a restart would do. The ingest refuses new enrollments
 * meanwhile (sidikd asks sidik_dedup_status). Logged once per error. */
static int stalled(sidik_dedup *d, int rc, const char *doing)
{
    metric_set(d, SIDIK_M_DEDUP_PAUSED, 1);
    if (atomic_exchange(&d->status, rc) != rc)
        SIDIK_LOG_ERROR("the dedup stage is paused; nothing undecided is lost and it is retried",
                        "while=\"%s\" decided=%llu error=%s", doing,
                        (unsigned long long)atomic_load(&d->decided), sidik_err_name(rc));
    return rc;
}

/* What time or an operator freeing space can mend: the store's own
 * full-map error or an OS error (-errno), ENOMEM aside. */
static bool disk_trouble(int rc)
{
    return rc == SIDIK_EFULL || (rc < 0 && rc > -4096 && rc != -ENOMEM);
}

static int works(sidik_dedup *d)
{
    int was = atomic_exchange(&d->status, 0);
    if (was != 0) {
        metric_set(d, SIDIK_M_DEDUP_PAUSED, 0);
        SIDIK_LOG_WARN("the dedup stage works again", "decided=%llu was=%s",
                       (unsigned long long)atomic_load(&d->decided), sidik_err_name(was));
    }
    return 0;
}

/* The enrollments adjudicated DUPLICATE_OF since the last step leave the
 * review set and the search gallery (sidik_dedup_forget). */
static void forget_taken(sidik_dedup *d)
{
    pthread_mutex_lock(&d->mu);
    uint64_t *seqs = d->forget;
    size_t n = d->nforget;
    d->forget = NULL;
    d->nforget = d->forget_cap = 0;
    pthread_mutex_unlock(&d->mu);
    for (size_t i = 0; i < n; i++)
        review_drop(d, seqs[i], false);
    sidik_free(seqs);
}

int sidik_dedup_step(sidik_dedup *d, uint32_t *decided)
{
    uint32_t ignore;
    if (decided == NULL)
        decided = &ignore;
    *decided = 0;
    if (d == NULL)
        return SIDIK_EINVAL;
    forget_taken(d);
    uint32_t verdicts = 0;
    int rc = take_verdicts(d, &verdicts);
    if (rc != 0)
        return stalled(d, rc, "carrying out UNIQUE verdicts");
    *decided = verdicts;
    if (verdicts > 0)
        return works(d); /* the next step decides the next batch */
    uint64_t applied = 0;
    sidik_control_txn *t;
    rc = sidik_control_begin(d->o.control, false, &t);
    if (rc == 0) {
        rc = sidik_control_applied(t, &applied);
        sidik_control_abort(t);
    }
    uint64_t from = atomic_load(&d->decided);
    if (rc != 0)
        return stalled(d, rc, "reading the control store");
    if (applied <= from)
        return works(d);
    uint64_t busy_from = busy_clock_ns();
    collecting c = {.d = d, .applied = applied};
    d->nitems = 0;
    rc = sidik_journal_scan(d->o.journal, from + 1, collect, &c);
    if (rc == COLLECT_DONE)
        rc = 0;
    if (rc == 0 && d->nitems > 0)
        rc = sidik__dedup_search_batch(d);
    if (rc == 0 && d->nitems > 0)
        rc = store_unique(d);
    if (rc == 0 && d->nitems > 0)
        rc = sidik__dedup_record_batch(d);
    if (rc == 0 && d->nitems > 0) {
        publish(d, applied);
        *decided = d->nitems;
        /* Busy time first, so a reader never sees decisions without their time. */
        atomic_fetch_add(&d->work_busy_ns, busy_clock_ns() - busy_from);
        atomic_fetch_add(&d->work_decided, d->nitems);
    }
    for (uint32_t i = 0; i < d->nitems; i++)
        item_clear(&d->items[i]);
    return rc != 0 ? stalled(d, rc, "deciding a batch") : works(d);
}

/* ---- the stage's thread ------------------------------------------------------------- */

static void *stage(void *arg)
{
    sidik_dedup *d = arg;
    int64_t retry_ms = d->o.retry_ms;
    pthread_mutex_lock(&d->mu);
    while (!d->stop) {
        d->kicked = false;
        pthread_mutex_unlock(&d->mu);
        uint32_t n = 0;
        int rc = sidik_dedup_step(d, &n);
        pthread_mutex_lock(&d->mu);
        if (rc != 0) {
            /* Paused (logged; status says why): kicks cannot help, only
             * time can (a disk freed), so the next try waits, twice as
             * long after each failure, up to RETRY_MAX_MS. */
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            int64_t ns = until.tv_nsec + (retry_ms % 1000) * 1000000;
            until.tv_sec += retry_ms / 1000 + ns / 1000000000;
            until.tv_nsec = ns % 1000000000;
            while (!d->stop && pthread_cond_timedwait(&d->cv, &d->mu, &until) == 0)
                ;
            retry_ms = retry_ms * 2 < RETRY_MAX_MS ? retry_ms * 2 : RETRY_MAX_MS;
            continue;
        }
        retry_ms = d->o.retry_ms;
        while (n == 0 && !d->kicked && !d->stop)
            pthread_cond_wait(&d->cv, &d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

int sidik_dedup_start(sidik_dedup *d)
{
    if (d == NULL || d->started)
        return SIDIK_EINVAL;
    int e = pthread_create(&d->thread, NULL, stage, d);
    if (e != 0)
        return -e;
    d->started = true;
    return 0;
}

void sidik_dedup_forget(sidik_dedup *d, uint64_t journal_seq)
{
    pthread_mutex_lock(&d->mu);
    uint64_t *more = sidik_trygrow(d->forget, &d->forget_cap, d->nforget, sizeof *more, 16);
    if (more == NULL) {
        pthread_mutex_unlock(&d->mu);
        SIDIK_LOG_ERROR("an enrollment adjudicated a duplicate is searched until a restart",
                        "seq=%llu error=%s", (unsigned long long)journal_seq,
                        sidik_err_name(SIDIK_ENOMEM));
        return;
    }
    d->forget = more;
    d->forget[d->nforget++] = journal_seq;
    d->kicked = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

void sidik_dedup_kick(sidik_dedup *d)
{
    pthread_mutex_lock(&d->mu);
    d->kicked = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

uint64_t sidik_dedup_decided(const sidik_dedup *d)
{
    return atomic_load(&d->decided);
}

uint64_t sidik_dedup_gallery_size(const sidik_dedup *d)
{
    uint64_t all = sidik_gallery_size(d->gallery), reviewing = atomic_load(&d->reviewing);
    return all > reviewing ? all - reviewing : 0;
}

uint64_t sidik_dedup_reviewing(const sidik_dedup *d)
{
    return atomic_load(&d->reviewing);
}

int sidik_dedup_status(const sidik_dedup *d)
{
    return atomic_load(&d->status);
}

void sidik_dedup_work(const sidik_dedup *d, uint64_t *decided, uint64_t *busy_ns)
{
    *decided = atomic_load(&d->work_decided);
    *busy_ns = atomic_load(&d->work_busy_ns);
}

/* ---- opening: the search gallery from the shards ------------------------------------ */

typedef struct loading {
    sidik_dedup *d;
    _Atomic uint64_t skipped; /* the shards are walked on the pool's threads */
} loading;

/* A shard's batch into the gallery in one sidik_gallery_insert_many per run
 * of records, around those a crash cut short. */
static int load_batch(void *ctx, const uint64_t *ids, const sidik_person_sig *sigs, size_t n,
                      uint32_t shard)
{
    (void)shard;
    loading *l = ctx;
    size_t from = 0;
    for (size_t i = 0; i <= n; i++) {
        /* stored by a batch a crash cut short: it is decided again */
        const bool skip =
            i < n && ids[i] < SIDIK_RECORD_MIGRATED_FIRST && ids[i] > atomic_load(&l->d->decided);
        if (i < n && !skip)
            continue;
        int rc = i > from ? sidik_gallery_insert_many(l->d->gallery, &ids[from], &sigs[from],
                                                      i - from, NULL)
                          : 0;
        if (rc != 0)
            return rc;
        if (skip)
            atomic_fetch_add(&l->skipped, 1);
        from = i + 1;
    }
    return 0;
}

/* ---- opening: the enrollments awaiting review, searchable again --------------------- */

typedef struct review_refs {
    sidik_review_ref *r;
    size_t n, cap;
} review_refs;

static int collect_review(void *ctx, const sidik_review_ref *ref)
{
    review_refs *l = ctx;
    sidik_review_ref *more = sidik_trygrow(l->r, &l->cap, l->n, sizeof *more, 256);
    if (more == NULL)
        return SIDIK_ENOMEM;
    l->r = more;
    l->r[l->n++] = *ref;
    return 0;
}

/* Every enrollment of the review queue with a usable probe, read back from
 * the journal, into the review set and the search gallery. Those with a
 * UNIQUE verdict waiting have left the queue; take_verdicts stores them.
 * Costs a probe's preparation per enrollment (decoding, signature, fingers:
 * 2.4-3.1 core-ms in docs/capacity.md), so a backlog of 10,000 adds about
 * half a minute to the open; not measured at that size. Errors: SIDIK_ECORRUPT (the journal does not hold
 * one), the control store's, the journal's, SIDIK_ENOMEM. */
static int load_review(sidik_dedup *d)
{
    review_refs l = {0};
    sidik_control_txn *t;
    int rc = sidik_control_begin(d->o.control, false, &t);
    if (rc == 0) {
        rc = sidik_control_review_walk(t, 0, 0, NULL, collect_review, &l);
        sidik_control_abort(t);
    }
    sidik__dedup_item *it = &d->items[0];
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        rc = read_back(d, it, l.r[i].journal_seq, l.r[i].id, "the review queue");
        if (rc == 0 && it->probe != NULL)
            rc = review_put(d, it);
        item_clear(it);
    }
    sidik_free(l.r);
    return rc;
}

static int check_options(sidik_dedup_options *o, const char **why)
{
    if (o->batch == 0)
        o->batch = DEFAULT_BATCH;
    if (o->shortlist == 0)
        o->shortlist = DEFAULT_SHORTLIST;
    if (o->partitions == 0)
        o->partitions = DEFAULT_PARTITIONS;
    if (o->duplicate_fpir == 0)
        o->duplicate_fpir = DEFAULT_DUP_FPIR;
    if (o->review_fpir == 0)
        o->review_fpir = o->duplicate_fpir > DEFAULT_REV_FPIR ? o->duplicate_fpir : DEFAULT_REV_FPIR;
    if (o->now_ms == NULL)
        o->now_ms = wall_ms;
    if (o->retry_ms == 0)
        o->retry_ms = DEFAULT_RETRY_MS;
    if (o->control == NULL || o->journal == NULL || o->shards == NULL || o->fusion == NULL ||
        o->pool == NULL)
        *why = "the control store, journal, shards, fusion model and pool are all needed";
    else if (o->batch > SIDIK_SEARCH_MAX_BATCH)
        *why = "batch must be 1-256";
    else if (o->shortlist > SIDIK_SEARCH_MAX_SHORTLIST)
        *why = "shortlist must be 1-4096";
    else if (o->partitions > SIDIK_GALLERY_MAX_PARTITIONS)
        *why = "partitions must be 1-256";
    else if (o->ncohort > SIDIK_GALLERY_MAX_COHORT || (o->ncohort > 0 && o->cohort == NULL))
        *why = "the cohort must be 0-1024 persons, given when not 0";
    else if (o->retry_ms < 0 || o->retry_ms > RETRY_MAX_MS)
        *why = "retry_ms must be 1-60000";
    else if (!(o->duplicate_fpir > 0 && o->duplicate_fpir < 1) ||
             !(o->review_fpir >= o->duplicate_fpir && o->review_fpir < 1))
        *why = "duplicate_fpir must be in (0, 1) and review_fpir in [duplicate_fpir, 1)";
    else
        return 0;
    return SIDIK_EINVAL;
}

int sidik_dedup_open(const sidik_dedup_options *o, sidik_dedup **out, const char **why)
{
    static const char *ignore;
    if (why == NULL)
        why = &ignore;
    *why = NULL;
    if (o == NULL || out == NULL)
        return SIDIK_EINVAL;
    sidik_dedup *d = sidik_trycalloc(1, sizeof *d);
    if (d == NULL)
        return SIDIK_ENOMEM;
    d->o = *o;
    pthread_mutex_init(&d->mu, NULL);
    pthread_condattr_t ca; /* the retry's timed wait, on the monotonic clock */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc = check_options(&d->o, why);
    if (rc == 0 && ((d->items = sidik_trycalloc(d->o.batch, sizeof *d->items)) == NULL ||
                    (d->scratch = sidik_trymalloc(sizeof *d->scratch)) == NULL))
        rc = SIDIK_ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < d->o.batch; i++)
        if ((d->items[i].rec = sidik_trymalloc(sizeof *d->items[i].rec)) == NULL)
            rc = SIDIK_ENOMEM;
    if (rc == 0 && d->o.ncohort > 0) {
        if ((d->cohort = sidik_trymalloc(d->o.ncohort * sizeof *d->cohort)) == NULL)
            rc = SIDIK_ENOMEM;
        else
            memcpy(d->cohort, d->o.cohort, d->o.ncohort * sizeof *d->cohort);
        d->o.cohort = d->cohort;
    }
    if (rc == 0)
        rc = sidik__dedup_gallery_create(d, d->o.partitions, &d->gallery);
    uint64_t decided = 0;
    if (rc == 0) {
        sidik_control_txn *t;
        rc = sidik_control_begin(d->o.control, false, &t);
        if (rc == 0) {
            rc = sidik_control_decided(t, &decided);
            sidik_control_abort(t);
        }
        atomic_store(&d->decided, decided);
    }
    loading l = {.d = d};
    if (rc == 0 && (rc = sidik_shardset_each(d->o.shards, d->o.pool, load_batch, &l)) != 0 &&
        *why == NULL)
        *why = "loading the gallery from the shards";
    if (rc == 0 && (rc = load_review(d)) != 0)
        *why = "loading the enrollments awaiting review";
    /* Verdicts a stop or crash left waiting are carried out before anything
     * else is decided. A disk that is full or failing now may not be later:
     * the stage then opens paused, as a failed step leaves it (every step
     * takes the waiting verdicts first, so the order holds), and sidikd
     * serves auditors and print stations meanwhile. What no retry can mend
     * (ECORRUPT: a verdict the journal does not back) fails the open. */
    for (uint32_t taken = 1; rc == 0 && taken > 0;)
        if ((rc = take_verdicts(d, &taken)) != 0 && disk_trouble(rc)) {
            stalled(d, rc, "carrying out the UNIQUE verdicts left waiting");
            rc = 0;
            break;
        } else if (rc != 0) {
            *why = "carrying out the UNIQUE verdicts left waiting";
        }
    if (rc != 0) {
        sidik_dedup_close(d);
        return rc;
    }
    SIDIK_LOG_INFO("dedup stage open",
                   "gallery=%llu reviewing=%llu decided=%llu skipped=%llu status=%s",
                   (unsigned long long)sidik_dedup_gallery_size(d),
                   (unsigned long long)atomic_load(&d->reviewing),
                   (unsigned long long)decided, (unsigned long long)atomic_load(&l.skipped),
                   sidik_err_name(atomic_load(&d->status)));
    *out = d;
    return 0;
}

void sidik_dedup_close(sidik_dedup *d)
{
    if (d == NULL)
        return;
    if (d->started) {
        pthread_mutex_lock(&d->mu);
        d->stop = true;
        pthread_cond_signal(&d->cv);
        pthread_mutex_unlock(&d->mu);
        pthread_join(d->thread, NULL);
    }
    for (uint32_t i = 0; d->items != NULL && i < d->o.batch; i++) {
        item_clear(&d->items[i]);
        sidik_free(d->items[i].rec);
    }
    sidik_free(d->items);
    sidik_free(d->scratch);
    sidik_free(d->cohort);
    sidik__review_close(&d->review);
    sidik_free(d->forget);
    sidik_gallery_destroy(d->gallery);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    sidik_free(d);
}
