/*
 * The dedup stage against real stores: enrollments journaled and recorded
 * RECEIVED as the ingest records them, then decided. Unique persons become
 * PRINT_READY in the gallery and on the print queue; re-enrollments are
 * DUPLICATE naming the record they match, also when both arrive in one
 * batch; a restart reloads the gallery; a batch a crash cut short after
 * its shard writes is decided once; an enrollment with no usable finger
 * goes to ADJUDICATE; the stage's thread decides what it is kicked for.
 */
#include "test_support.h"

#include "../storage/storage_test.h"
#include "enrollment_fixture.h"
#include "sidik/audit_service.h"
#include "sidik/common.h"
#include "sidik/dedup.h"
#include "sidik/ingest.h"
#include "sidik/workers.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#define SEED 4242

static sidik_fusion *fusion;
static sidik_synth_params params;
/* Every rig's gallery has a cohort, as sidikd's has. */
#define COHORT 16
static sidik_person_sig *cohort;

typedef struct rig {
    char *dir;
    sidik_control *control;
    sidik_journal *journal;
    sidik_shardset *shards;
    sidik_workers *workers;
    sidik_dedup *dedup;
} rig;

static int64_t test_now_ms(void)
{
    return NOW_MS;
}

/* The I/O seams of the gallery shards and of the control store: their
 * write commits fail with these while set (SIDIK_EFULL, -EIO); the control
 * store's lets control_passes commits through first. */
static atomic_int fail_shards, fail_control, control_passes;
static int shards_fail_at_open; /* fail_shards from the next open on */

static int shard_fault(void *ctx)
{
    (void)ctx;
    return atomic_load(&fail_shards);
}

static int control_fault(void *ctx)
{
    (void)ctx;
    if (atomic_load(&fail_control) == 0)
        return 0;
    return atomic_fetch_sub(&control_passes, 1) > 0 ? 0 : atomic_load(&fail_control);
}

static void rig_open_retrying(rig *r, uint32_t batch, int64_t retry_ms)
{
    atomic_store(&fail_shards, shards_fail_at_open);
    atomic_store(&fail_control, 0);
    if (r->dir == NULL)
        assert_non_null(r->dir = scratch_create());
    char path[600];
    const char *why = NULL;
    snprintf(path, sizeof path, "%s/control", r->dir);
    sidik_control_options co = {.fault = control_fault};
    assert_int_equal(sidik_control_open(path, &co, &r->control, NULL), 0);
    snprintf(path, sizeof path, "%s/journal", r->dir);
    assert_int_equal(sidik_journal_open(path, NULL, &r->journal, NULL), 0);
    snprintf(path, sizeof path, "%s/shards", r->dir);
    sidik_shardset_options so = {.fault = shard_fault};
    assert_int_equal(sidik_shardset_open(path, r->control, &so, &r->shards, NULL), 0);
    assert_int_equal(sidik_workers_create(2, &r->workers), 0);
    sidik_dedup_options o = {.control = r->control,
                             .journal = r->journal,
                             .shards = r->shards,
                             .fusion = fusion,
                             .pool = sidik_workers_pool(r->workers),
                             .batch = batch,
                             .partitions = 2,
                             .cohort = cohort,
                             .ncohort = COHORT,
                             .now_ms = test_now_ms,
                             .retry_ms = retry_ms};
    int rc = sidik_dedup_open(&o, &r->dedup, &why);
    if (rc != 0)
        fail_msg("dedup open: %s (%s)", sidik_err_name(rc), why ? why : "");
}

static void rig_open(rig *r, uint32_t batch)
{
    rig_open_retrying(r, batch, 0);
}

static void rig_close(rig *r, bool keep_dir)
{
    sidik_dedup_close(r->dedup);
    sidik_workers_destroy(r->workers);
    sidik_shardset_close(r->shards);
    sidik_journal_close(r->journal);
    sidik_control_close(r->control);
    if (!keep_dir) {
        scratch_remove(r->dir);
        r->dir = NULL;
    }
}

/* Enrollment `id` of synthetic person `person`, impression `impression`
 * (0 the first capture, others re-captures), journaled, made durable and
 * recorded RECEIVED; its journal sequence. The NIK is nik, or (NULL) the
 * person's own, serial person + 1. keep_minutiae > 0 cuts every finger to
 * that many minutiae. */
static uint64_t receive_as(rig *r, uint64_t person, uint32_t impression, const char *id,
                           const char *nik, uint8_t keep_minutiae)
{
    fixture *x = copy();
    snprintf(x->id, sizeof x->id, "%s", id);
    if (nik != NULL)
        snprintf(x->nik, sizeof x->nik, "%s", nik);
    else
        snprintf(x->nik, sizeof x->nik, "317101650590%04u", (unsigned)(person + 1) % 10000);
    sidik_fmr *all = malloc(sizeof *all), *one = malloc(sizeof *one);
    assert_int_equal(sidik_synth_impression(&params, SEED, person, impression, all, NULL, NULL), 0);
    x->e.n_fingers = 0;
    for (uint32_t v = 0; v < all->nviews; v++) {
        *one = (sidik_fmr){.format = SIDIK_FMR_ISO_2005, .nviews = 1};
        one->views[0] = all->views[v];
        if (keep_minutiae > 0 && one->views[0].count > keep_minutiae)
            one->views[0].count = keep_minutiae;
        size_t len;
        assert_int_equal(sidik_fmr_encode_iso2005(one, x->tmpl[v], sizeof x->tmpl[v], &len), 0);
        x->f[v].position = (Sidik__V1__FingerPosition)all->views[v].position;
        x->f[v].template_.len = len;
        x->e.n_fingers++;
    }
    size_t n = sidik__v1__enrollment__get_packed_size(&x->e);
    uint8_t *entry = malloc(SIDIK_INGEST_RECORD_HEADER + n);
    sidik__v1__enrollment__pack(&x->e, entry + SIDIK_INGEST_RECORD_HEADER);
    sidik_ingest_record rec = {.received_ms = NOW_MS - 1000};
    sidik_ingest_record_header(&rec, entry);
    uint64_t seq;
    assert_int_equal(sidik_journal_append(r->journal, SIDIK_JOURNAL_KIND_ENROLLMENT, entry,
                                          SIDIK_INGEST_RECORD_HEADER + n, &seq),
                     0);
    assert_int_equal(sidik_journal_wait(r->journal, seq), 0);
    sidik_enrollment e = {.status = SIDIK_STATUS_RECEIVED, .journal_seq = seq, .nhistory = 1};
    snprintf(e.id, sizeof e.id, "%s", id);
    snprintf(e.office, sizeof e.office, "JKT-01");
    snprintf(e.nik, sizeof e.nik, "%s", x->nik);
    e.history[0] = (sidik_status_change){SIDIK_STATUS_RECEIVED, NOW_MS - 1000};
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(r->control, true, &t), 0);
    assert_int_equal(sidik_control_enroll_put(t, &e), 0);
    assert_int_equal(sidik_control_set_applied(t, seq), 0);
    assert_int_equal(sidik_control_commit(t), 0);
    free(entry);
    free(all);
    free(one);
    free(x);
    return seq;
}

static uint64_t receive(rig *r, uint64_t person, uint32_t impression, const char *id)
{
    return receive_as(r, person, impression, id, NULL, 0);
}

/* Steps until nothing waits; how many were decided. */
static uint32_t decide_all(rig *r)
{
    uint32_t total = 0, n;
    do {
        assert_int_equal(sidik_dedup_step(r->dedup, &n), 0);
        total += n;
    } while (n > 0);
    return total;
}

static sidik_enrollment get(rig *r, const char *id)
{
    sidik_enrollment e;
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(r->control, false, &t), 0);
    assert_int_equal(sidik_control_enroll_get(t, id, &e), 0);
    sidik_control_abort(t);
    return e;
}

static sidik_decision_record decision(rig *r, const char *id)
{
    sidik_decision_record d;
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(r->control, false, &t), 0);
    assert_int_equal(sidik_control_decision_get(t, id, UINT32_MAX, &d), 0);
    sidik_control_abort(t);
    return d;
}

static void id_of(char out[37], unsigned n)
{
    snprintf(out, 37, "00000000-0000-4000-8000-%012u", n);
}

static void test_server_dedup_unique_then_duplicate(void **state)
{
    (void)state;
    rig r = {0};
    rig_open(&r, 0);
    char id[12][37];
    uint64_t seq[12];
    for (unsigned i = 0; i < 6; i++) {
        id_of(id[i], i);
        seq[i] = receive(&r, i, 0, id[i]);
    }
    assert_int_equal(decide_all(&r), 6);
    assert_int_equal(sidik_dedup_decided(r.dedup), seq[5]);
    assert_int_equal(sidik_dedup_gallery_size(r.dedup), 6);
    for (unsigned i = 0; i < 6; i++) {
        sidik_enrollment e = get(&r, id[i]);
        assert_int_equal(e.status, SIDIK_STATUS_PRINT_READY);
        assert_int_equal(e.record_id, seq[i]); /* the record id is its journal sequence */
        assert_int_equal(e.nhistory, 2);
        assert_int_equal(e.history[1].time_ms, NOW_MS);
        assert_int_equal(decision(&r, id[i]).outcome, SIDIK_STATUS_PRINT_READY);
    }
    /* A re-capture of person 3 under a new id, and a new person. */
    id_of(id[6], 6);
    id_of(id[7], 7);
    seq[6] = receive(&r, 3, 1, id[6]);
    seq[7] = receive(&r, 40, 0, id[7]);
    assert_int_equal(decide_all(&r), 2);
    assert_int_equal(get(&r, id[6]).status, SIDIK_STATUS_DUPLICATE);
    assert_int_equal(get(&r, id[6]).record_id, 0);
    sidik_decision_record d = decision(&r, id[6]);
    assert_int_equal(d.outcome, SIDIK_STATUS_DUPLICATE);
    assert_true(d.ncandidates >= 1);
    assert_int_equal(d.candidate[0].record_id, seq[3]); /* person 3's record */
    assert_true(d.candidate[0].llr >= d.candidate[0].threshold);
    assert_int_equal(d.gallery_size, 6);
    assert_int_equal(get(&r, id[7]).status, SIDIK_STATUS_PRINT_READY);
    assert_int_equal(sidik_dedup_gallery_size(r.dedup), 7);
    /* Nothing left: a step decides nothing. */
    uint32_t n = 99;
    assert_int_equal(sidik_dedup_step(r.dedup, &n), 0);
    assert_int_equal(n, 0);

    /* The unique ones are queued for printing in their regency (region
     * code 317101 prints in 31.71); every
     * decision is in the audit chain. */
    sidik_control_txn *t;
    sidik_enroll_id leased[16];
    uint32_t got = 0;
    assert_int_equal(sidik_control_begin(r.control, true, &t), 0);
    assert_int_equal(sidik_control_print_lease(t, "31.71", "PRN-1", NOW_MS, 60000, 16, leased, &got),
                     0);
    assert_int_equal(got, 7);
    assert_string_equal(leased[0], id[0]);
    uint64_t checked = 0, bad = 0;
    assert_int_equal(sidik_control_audit_verify(t, &checked, &bad), 0);
    assert_int_equal(checked, 8);
    sidik_audit_entry a;
    assert_int_equal(sidik_control_audit_get(t, 7, &a), 0);
    assert_string_equal(a.subject, id[6]);
    char want[64];
    snprintf(want, sizeof want, "DUPLICATE; candidates: record %llu llr",
             (unsigned long long)seq[3]);
    assert_memory_equal(a.detail, want, strlen(want));
    sidik_control_abort(t);
    rig_close(&r, false);
}

/* The same person from three offices at once lands in one batch: exactly
 * one becomes the enrolled person, the others are duplicates of it. */
static void test_server_dedup_same_batch(void **state)
{
    (void)state;
    rig r = {0};
    rig_open(&r, 0);
    char id[5][37];
    uint64_t seq[5];
    for (unsigned i = 0; i < 5; i++)
        id_of(id[i], 100 + i);
    seq[0] = receive(&r, 7, 0, id[0]);
    seq[1] = receive(&r, 8, 0, id[1]);
    seq[2] = receive(&r, 7, 1, id[2]);
    seq[3] = receive(&r, 7, 2, id[3]);
    seq[4] = receive(&r, 9, 0, id[4]);
    uint32_t n;
    assert_int_equal(sidik_dedup_step(r.dedup, &n), 0);
    assert_int_equal(n, 5); /* one batch */
    assert_int_equal(get(&r, id[0]).status, SIDIK_STATUS_PRINT_READY);
    assert_int_equal(get(&r, id[1]).status, SIDIK_STATUS_PRINT_READY);
    assert_int_equal(get(&r, id[4]).status, SIDIK_STATUS_PRINT_READY);
    for (int k = 2; k <= 3; k++) {
        assert_int_equal(get(&r, id[k]).status, SIDIK_STATUS_DUPLICATE);
        sidik_decision_record d = decision(&r, id[k]);
        assert_true(d.ncandidates >= 1);
        assert_int_equal(d.candidate[0].record_id, seq[0]);
    }
    assert_int_equal(sidik_dedup_gallery_size(r.dedup), 3);
    rig_close(&r, false);
}

/* Reopened, the stage loads the gallery from the shards and resumes after
 * its decided point. */
static void test_server_dedup_restart(void **state)
{
    (void)state;
    rig r = {0};
    rig_open(&r, 2); /* batches of two */
    char id[6][37];
    uint64_t seq[6];
    for (unsigned i = 0; i < 5; i++) {
        id_of(id[i], 200 + i);
        seq[i] = receive(&r, 20 + i, 0, id[i]);
    }
    uint32_t n;
    assert_int_equal(sidik_dedup_step(r.dedup, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(sidik_dedup_decided(r.dedup), seq[1]);
    rig_close(&r, true);

    rig_open(&r, 2);
    assert_int_equal(sidik_dedup_decided(r.dedup), seq[1]);
    assert_int_equal(sidik_dedup_gallery_size(r.dedup), 2);
    assert_int_equal(decide_all(&r), 3);
    id_of(id[5], 205);
    receive(&r, 21, 1, id[5]); /* decided before the restart */
    assert_int_equal(decide_all(&r), 1);
    sidik_decision_record d = decision(&r, id[5]);
    assert_int_equal(d.outcome, SIDIK_STATUS_DUPLICATE);
    assert_int_equal(d.candidate[0].record_id, seq[1]);
    rig_close(&r, false);
}

/* Three enrollments, ids id_base.. with persons person.., received. */
static void receive_three(rig *r, unsigned id_base, uint64_t person, char id[3][37],
                          uint64_t seq[3])
{
    for (unsigned i = 0; i < 3; i++) {
        id_of(id[i], id_base + i);
        seq[i] = receive(r, person + i, 0, id[i]);
    }
}

/* Stores synthetic persons first.. first + n - 1 as records ids[0..n) in
 * the shards, named in the directory, as a dedup batch's shard writes do. */
static void store_records(rig *r, const uint64_t *ids, uint64_t first, unsigned n)
{
    sidik_fmr *rec = malloc(sizeof *rec);
    uint8_t *iso = malloc(65536);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(sidik_synth_impression(&params, SEED, first + i, 0, rec, NULL, NULL), 0);
        size_t len;
        assert_int_equal(sidik_fmr_encode_iso2005(rec, iso, 65536, &len), 0);
        sidik_shard_record sr = {.id = ids[i], .tmpl = iso, .tmpl_len = len};
        assert_int_equal(sidik_shardset_put(r->shards, &sr, 1, NULL), 0);
    }
    free(rec);
    free(iso);
}

/* A crash after a batch's shard writes and before its transaction: the
 * records sit in the shards past the decided point. Opening leaves them
 * out of the search; deciding again stores the same records once, and no
 * enrollment is its own duplicate. */
static void test_server_dedup_crash_after_shard_writes(void **state)
{
    (void)state;
    rig r = {0};
    rig_open(&r, 0);
    char id[3][37];
    uint64_t seq[3];
    receive_three(&r, 300, 30, id, seq);
    /* What the cut-short batch wrote: its records, named in the directory. */
    store_records(&r, seq, 30, 3);
    rig_close(&r, true);

    rig_open(&r, 0);
    assert_int_equal(sidik_dedup_gallery_size(r.dedup), 0); /* past decided: left out */
    assert_int_equal(decide_all(&r), 3);
    for (unsigned i = 0; i < 3; i++) {
        sidik_enrollment e = get(&r, id[i]);
        assert_int_equal(e.status, SIDIK_STATUS_PRINT_READY);
        assert_int_equal(e.record_id, seq[i]);
        assert_int_equal(e.nhistory, 2); /* decided once */
    }
    assert_int_equal(sidik_dedup_gallery_size(r.dedup), 3);
    sidik_shard_info info[4];
    uint32_t ns;
    assert_int_equal(sidik_shardset_list(r.shards, info, 4, &ns), 0);
    uint64_t stored = 0;
    for (uint32_t i = 0; i < ns; i++)
        stored += info[i].records;
    assert_int_equal(stored, 3); /* the same records, not copies */
    rig_close(&r, false);
}

/* Reopening after such a crash walks decided records, cut-short ones and
 * a migrated one in one shard batch: the gallery takes the decided and the
 * migrated records around the cut-short ones. */
static void test_server_dedup_reload_around_cut_short(void **state)
{
    (void)state;
    rig r = {0};
    rig_open(&r, 1);
    char id[3][37];
    uint64_t seq[3];
    receive_three(&r, 400, 40, id, seq);
    uint32_t n;
    assert_int_equal(sidik_dedup_step(r.dedup, &n), 0);
    assert_int_equal(n, 1);
    const uint64_t cut[3] = {seq[1], seq[2], SIDIK_RECORD_MIGRATED_FIRST + 7};
    store_records(&r, cut, 41, 3);
    rig_close(&r, true);

    rig_open(&r, 1);
    assert_int_equal(sidik_dedup_decided(r.dedup), seq[0]);
    assert_int_equal(sidik_dedup_gallery_size(r.dedup), 2); /* seq[0] and the migrated one */
    rig_close(&r, false);
}

/* The audit entry of the latest decision on id. */
static sidik_audit_entry audit_of(rig *r, const char *id)
{
    sidik_control_txn *t;
    sidik_audit_entry a, found = {0};
    assert_int_equal(sidik_control_begin(r->control, false, &t), 0);
    for (uint64_t s = 1; sidik_control_audit_get(t, s, &a) == 0; s++)
        if (strcmp(a.subject, id) == 0)
            found = a;
    sidik_control_abort(t);
    assert_string_equal(found.subject, id);
    return found;
}

/* Demographics beside biometrics: a NIK some person already holds is never
 * made UNIQUE, whatever the fingers say (in the gallery or earlier in the
 * same batch); the same fingers under another NIK are a DUPLICATE naming
 * both enrollments; under the same NIK, a re-enrollment. */
static void test_server_dedup_nik(void **state)
{
    (void)state;
    rig r = {0};
    rig_open(&r, 0);
    const char *nik_a = "3171016505900001", *nik_b = "3171016505900002",
               *nik_c = "3171016505900003";
    char id[8][37];
    uint64_t seq[8];
    for (unsigned i = 0; i < 8; i++)
        id_of(id[i], 500 + i);
    seq[0] = receive_as(&r, 60, 0, id[0], nik_a, 0);
    assert_int_equal(decide_all(&r), 1);
    assert_int_equal(get(&r, id[0]).status, SIDIK_STATUS_PRINT_READY);

    seq[1] = receive_as(&r, 61, 0, id[1], nik_a, 0); /* another person, NIK a */
    seq[2] = receive_as(&r, 60, 1, id[2], nik_b, 0); /* person 60 again, NIK b */
    seq[3] = receive_as(&r, 60, 1, id[3], nik_a, 0); /* person 60 again, NIK a */
    seq[4] = receive_as(&r, 62, 0, id[4], nik_c, 0); /* two new persons, one NIK, */
    seq[5] = receive_as(&r, 63, 0, id[5], nik_c, 0); /* in one batch */
    assert_int_equal(decide_all(&r), 5);

    sidik_decision_record d = decision(&r, id[1]);
    assert_int_equal(get(&r, id[1]).status, SIDIK_STATUS_ADJUDICATE);
    char want[160];
    snprintf(want, sizeof want, "NIK already enrolled as record %llu; the fingers do not match it",
             (unsigned long long)seq[0]);
    assert_string_equal(d.reason, want);

    d = decision(&r, id[2]);
    assert_int_equal(d.outcome, SIDIK_STATUS_DUPLICATE);
    assert_int_equal(d.candidate[0].record_id, seq[0]);
    snprintf(want, sizeof want, "same fingers as record %llu under another NIK",
             (unsigned long long)seq[0]);
    assert_string_equal(d.reason, want);
    snprintf(want, sizeof want, "; record %llu is enrollment %s NIK %s; this NIK %s",
             (unsigned long long)seq[0], id[0], nik_a, nik_b);
    assert_non_null(strstr(audit_of(&r, id[2]).detail, want));

    d = decision(&r, id[3]);
    assert_int_equal(d.outcome, SIDIK_STATUS_DUPLICATE);
    snprintf(want, sizeof want, "re-enrollment of record %llu, same NIK", (unsigned long long)seq[0]);
    assert_string_equal(d.reason, want);

    assert_int_equal(get(&r, id[4]).status, SIDIK_STATUS_PRINT_READY);
    assert_int_equal(get(&r, id[5]).status, SIDIK_STATUS_ADJUDICATE);
    snprintf(want, sizeof want, "NIK already enrolled as record %llu; the fingers do not match it",
             (unsigned long long)seq[4]);
    assert_string_equal(decision(&r, id[5]).reason, want);
    /* Only the two PRINT_READY persons are in the gallery and indexed. */
    assert_int_equal(sidik_dedup_gallery_size(r.dedup), 2);
    sidik_control_txn *t;
    uint64_t rec;
    sidik_enroll_id who;
    assert_int_equal(sidik_control_begin(r.control, false, &t), 0);
    assert_int_equal(sidik_control_person_by_nik(t, nik_c, &rec), 0);
    assert_int_equal(rec, seq[4]);
    assert_int_equal(sidik_control_person_by_nik(t, nik_b, &rec), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_control_person_id(t, seq[0], who), 0);
    assert_string_equal(who, id[0]);
    sidik_control_abort(t);
    rig_close(&r, false);
}

/* ---- adjudicated UNIQUE ---------------------------------------------------------------- */

static int verdicts_kicked;

/* As sidikd wires it (server/pipeline.c): a UNIQUE verdict is counted (the
 * test steps the stage itself), a DUPLICATE_OF one goes to the stage. */
static void count_verdict(void *ctx, uint64_t journal_seq, bool unique)
{
    rig *r = ctx;
    if (unique)
        verdicts_kicked++;
    else
        sidik_dedup_forget(r->dedup, journal_seq);
}

/* Audit.Adjudicate on id, as an auditor's call: UNIQUE, or DUPLICATE_OF
 * the enrolled record duplicate_of. */
static void adjudicate(rig *r, const char *id, Sidik__V1__Decision decision, uint64_t duplicate_of)
{
    sidik_audit_service as = {.control = r->control, .fusion = fusion,
                              .on_verdict = count_verdict, .verdict_ctx = r,
                              .now_ms = test_now_ms};
    static const sidik_identity auditor = {SIDIK_ROLE_AUDITOR, "auditor.dewi"};
    Sidik__V1__AdjudicateRequest q = SIDIK__V1__ADJUDICATE_REQUEST__INIT;
    q.enrollment_id = (char *)id;
    q.decision = decision;
    q.duplicate_of = duplicate_of;
    q.reason = decision == SIDIK__V1__DECISION__UNIQUE ? "another person: the NIK was mistyped"
                                                       : "the same face and fingers";
    size_t n = sidik__v1__adjudicate_request__get_packed_size(&q);
    uint8_t *p = malloc(n + 1), *out = NULL;
    sidik__v1__adjudicate_request__pack(&q, p);
    size_t len;
    char why[256];
    int rc = sidik_audit_answer(&as, SIDIK_METHOD_AUDIT_ADJUDICATE, &auditor, p, n, &out, &len,
                                why, sizeof why);
    if (rc != 0)
        fail_msg("adjudicate %s: %s (%s)", id, sidik_err_name(rc), why);
    sidik_free(out);
    free(p);
}

static void adjudicate_unique(rig *r, const char *id)
{
    adjudicate(r, id, SIDIK__V1__DECISION__UNIQUE, 0);
}

/* How often id is queued or leased for printing in 31.71 (leases every
 * authorisation there, so call it once per test). */
static unsigned print_count(rig *r, const char *id)
{
    sidik_control_txn *t;
    sidik_enroll_id leased[64];
    uint32_t got = 0;
    assert_int_equal(sidik_control_begin(r->control, true, &t), 0);
    assert_int_equal(sidik_control_print_lease(t, "31.71", "PRN-1", NOW_MS, 60000, 64, leased, &got),
                     0);
    assert_int_equal(sidik_control_commit(t), 0);
    unsigned k = 0;
    for (uint32_t i = 0; i < got; i++)
        k += strcmp(leased[i], id) == 0;
    return k;
}

static uint64_t stored_records(rig *r)
{
    sidik_shard_info info[8];
    uint32_t ns;
    assert_int_equal(sidik_shardset_list(r->shards, info, 8, &ns), 0);
    uint64_t stored = 0;
    for (uint32_t i = 0; i < ns; i++)
        stored += info[i].records;
    return stored;
}

/* Audit entries about id whose detail begins with prefix. */
static unsigned audits_about(rig *r, const char *id, const char *prefix)
{
    sidik_control_txn *t;
    sidik_audit_entry a;
    unsigned k = 0;
    assert_int_equal(sidik_control_begin(r->control, false, &t), 0);
    for (uint64_t s = 1; sidik_control_audit_get(t, s, &a) == 0; s++)
        k += strcmp(a.subject, id) == 0 && strncmp(a.detail, prefix, strlen(prefix)) == 0;
    uint64_t checked, bad;
    assert_int_equal(sidik_control_audit_verify(t, &checked, &bad), 0);
    sidik_control_abort(t);
    return k;
}

/* A new person claiming an enrolled NIK goes to review; adjudicated
 * UNIQUE, the stage puts them into the gallery on its next step:
 * PRINT_READY under their record id, queued for printing once, indexed,
 * and found by the next search (a re-capture is their DUPLICATE). */
static void test_server_dedup_adjudicated_unique(void **state)
{
    (void)state;
    rig r = {0};
    rig_open(&r, 0);
    const char *nik = "3171016505900001";
    char id[3][37];
    uint64_t seq[3];
    for (unsigned i = 0; i < 3; i++)
        id_of(id[i], 700 + i);
    seq[0] = receive_as(&r, 70, 0, id[0], nik, 0);
    seq[1] = receive_as(&r, 71, 0, id[1], nik, 0); /* another person, the same NIK */
    assert_int_equal(decide_all(&r), 2);
    assert_int_equal(get(&r, id[1]).status, SIDIK_STATUS_ADJUDICATE);
    assert_int_equal(sidik_dedup_gallery_size(r.dedup), 1);

    verdicts_kicked = 0;
    adjudicate_unique(&r, id[1]);
    assert_int_equal(verdicts_kicked, 1);
    assert_int_equal(get(&r, id[1]).status, SIDIK_STATUS_ADJUDICATE); /* until the stage takes it */
    uint32_t n;
    assert_int_equal(sidik_dedup_step(r.dedup, &n), 0);
    assert_int_equal(n, 1); /* the verdict */
    sidik_enrollment e = get(&r, id[1]);
    assert_int_equal(e.status, SIDIK_STATUS_PRINT_READY);
    assert_int_equal(e.record_id, seq[1]);
    assert_int_equal(e.nhistory, 3);
    assert_int_equal(sidik_dedup_gallery_size(r.dedup), 2);
    assert_int_equal(stored_records(&r), 2);
    assert_int_equal(audits_about(&r, id[1], "PRINT_READY record"), 1);
    sidik_control_txn *t;
    sidik_enroll_id who;
    sidik_enroll_id ids[4];
    uint64_t seqs[4];
    assert_int_equal(sidik_control_begin(r.control, false, &t), 0);
    assert_int_equal(sidik_control_person_id(t, seq[1], who), 0);
    assert_string_equal(who, id[1]);
    assert_int_equal(sidik_control_pending_list(t, 0, 4, ids, seqs, &n), 0);
    assert_int_equal(n, 0);
    sidik_control_abort(t);
    assert_int_equal(sidik_dedup_step(r.dedup, &n), 0);
    assert_int_equal(n, 0); /* nothing more */

    /* A re-capture of person 71 now finds them. */
    seq[2] = receive_as(&r, 71, 1, id[2], "3171016505900002", 0);
    assert_int_equal(decide_all(&r), 1);
    assert_int_equal(get(&r, id[2]).status, SIDIK_STATUS_DUPLICATE);
    assert_int_equal(decision(&r, id[2]).candidate[0].record_id, seq[1]);
    assert_int_equal(print_count(&r, id[1]), 1);
    rig_close(&r, false);
}

/* The verdict recorded, then the stage stopped before taking it (or a
 * crash after its shard write): the next open takes it, exactly once, and
 * opening again changes nothing. */
static void test_server_dedup_adjudicated_unique_crash(void **state)
{
    (void)state;
    for (int stored_first = 0; stored_first < 2; stored_first++) {
        rig r = {0};
        rig_open(&r, 0);
        const char *nik = "3171016505900001";
        char id[3][37];
        uint64_t seq[3];
        for (unsigned i = 0; i < 3; i++)
            id_of(id[i], 800 + i);
        seq[0] = receive_as(&r, 80, 0, id[0], nik, 0);
        seq[1] = receive_as(&r, 81, 0, id[1], nik, 0);
        assert_int_equal(decide_all(&r), 2);
        adjudicate_unique(&r, id[1]);
        if (stored_first) {
            /* What a crash after the shard write leaves: the record
             * stored and named, the control store not yet told. */
            sidik_fmr *rec = malloc(sizeof *rec);
            uint8_t *iso = malloc(65536);
            assert_int_equal(sidik_synth_impression(&params, SEED, 81, 0, rec, NULL, NULL), 0);
            size_t len;
            assert_int_equal(sidik_fmr_encode_iso2005(rec, iso, 65536, &len), 0);
            sidik_shard_record sr = {.id = seq[1], .tmpl = iso, .tmpl_len = len};
            assert_int_equal(sidik_shardset_put(r.shards, &sr, 1, NULL), 0);
            free(rec);
            free(iso);
        }
        rig_close(&r, true); /* stopped before a step took it */

        rig_open(&r, 0); /* open carries it out */
        sidik_enrollment e = get(&r, id[1]);
        assert_int_equal(e.status, SIDIK_STATUS_PRINT_READY);
        assert_int_equal(e.record_id, seq[1]);
        assert_int_equal(e.nhistory, 3);
        assert_int_equal(sidik_dedup_gallery_size(r.dedup), 2); /* once, loaded or added */
        assert_int_equal(stored_records(&r), 2);
        uint32_t n;
        assert_int_equal(sidik_dedup_step(r.dedup, &n), 0);
        assert_int_equal(n, 0);
        rig_close(&r, true);

        rig_open(&r, 0); /* and again: nothing changes */
        assert_int_equal(get(&r, id[1]).nhistory, 3);
        assert_int_equal(sidik_dedup_gallery_size(r.dedup), 2);
        assert_int_equal(stored_records(&r), 2);
        assert_int_equal(audits_about(&r, id[1], "PRINT_READY record"), 1);
        assert_int_equal(audits_about(&r, id[1], "UNIQUE: "), 1);
        seq[2] = receive_as(&r, 81, 1, id[2], "3171016505900003", 0);
        assert_int_equal(decide_all(&r), 1);
        assert_int_equal(get(&r, id[2]).status, SIDIK_STATUS_DUPLICATE);
        assert_int_equal(decision(&r, id[2]).candidate[0].record_id, seq[1]);
        assert_int_equal(print_count(&r, id[1]), 1);
        rig_close(&r, false);
    }
}

/* A verdict left waiting and the gallery's disk full at the next open:
 * sidikd still starts (auditors and print stations need it), with the
 * stage paused on the error; nothing is decided past the verdict, and the
 * first step once the disk is back carries it out before the enrollment
 * recorded meanwhile is searched against it. */
static void test_server_dedup_verdict_waits_for_disk_at_open(void **state)
{
    (void)state;
    static const int faults[] = {SIDIK_EFULL, -EIO, -ENOSPC};
    for (size_t f = 0; f < SIDIK_ARRAY_SIZE(faults); f++) {
        rig r = {0};
        rig_open(&r, 0);
        const char *nik = "3171016505900011";
        char id[3][37];
        for (unsigned i = 0; i < 3; i++)
            id_of(id[i], 900 + i);
        receive_as(&r, 90, 0, id[0], nik, 0);
        uint64_t waiting = receive_as(&r, 91, 0, id[1], nik, 0); /* the same NIK */
        assert_int_equal(decide_all(&r), 2);
        adjudicate_unique(&r, id[1]);
        rig_close(&r, true);

        shards_fail_at_open = faults[f];
        rig_open(&r, 0); /* fails the test unless it opens */
        shards_fail_at_open = 0;
        assert_int_equal(sidik_dedup_status(r.dedup), faults[f]);
        assert_int_equal(get(&r, id[1]).status, SIDIK_STATUS_ADJUDICATE);
        assert_int_equal(sidik_dedup_gallery_size(r.dedup), 1);
        uint64_t later = receive_as(&r, 91, 1, id[2], "3171016505900013", 0);
        uint32_t n = 99;
        assert_int_equal(sidik_dedup_step(r.dedup, &n), faults[f]); /* still failing */
        assert_int_equal(n, 0);
        assert_int_equal(get(&r, id[2]).status, SIDIK_STATUS_RECEIVED);

        atomic_store(&fail_shards, 0);
        assert_int_equal(sidik_dedup_step(r.dedup, &n), 0);
        assert_int_equal(n, 1); /* the verdict, alone */
        assert_int_equal(sidik_dedup_status(r.dedup), 0);
        sidik_enrollment e = get(&r, id[1]);
        assert_int_equal(e.status, SIDIK_STATUS_PRINT_READY);
        assert_int_equal(e.record_id, waiting);
        assert_int_equal(print_count(&r, id[1]), 1);
        assert_int_equal(get(&r, id[2]).status, SIDIK_STATUS_RECEIVED);
        assert_int_equal(decide_all(&r), 1);
        assert_int_equal(get(&r, id[2]).status, SIDIK_STATUS_DUPLICATE);
        assert_int_equal(decision(&r, id[2]).candidate[0].record_id, waiting);
        assert_int_equal(sidik_dedup_decided(r.dedup), later);
        rig_close(&r, false);
    }
}

/* Whether d names record among its candidates. */
static bool names(const sidik_decision_record *d, uint64_t record)
{
    for (uint32_t j = 0; j < d->ncandidates; j++)
        if (d->candidate[j].record_id == record)
            return true;
    return false;
}

/* A person sent to review is searched until someone decides them: a second
 * capture meanwhile (another NIK, another office, the same batch or after a
 * restart) goes to review beside the first instead of being printed, which
 * would give the person two cards once the first is adjudicated UNIQUE.
 * Adjudicated UNIQUE, the first is an enrolled person (a later capture is
 * its DUPLICATE); adjudicated DUPLICATE_OF, the second leaves the search. */
static void test_server_dedup_review_is_searched(void **state)
{
    (void)state;
    rig r = {0};
    rig_open(&r, 0);
    const char *nik_a = "3171016505900001";
    char id[8][37], want[160];
    uint64_t seq[8];
    for (unsigned i = 0; i < 8; i++)
        id_of(id[i], 800 + i);
    seq[0] = receive_as(&r, 80, 0, id[0], nik_a, 0);
    seq[1] = receive_as(&r, 81, 0, id[1], nik_a, 0); /* another person, NIK a: review */
    assert_int_equal(decide_all(&r), 2);
    assert_int_equal(get(&r, id[1]).status, SIDIK_STATUS_ADJUDICATE);
    assert_int_equal(sidik_dedup_gallery_size(r.dedup), 1);
    assert_int_equal(sidik_dedup_reviewing(r.dedup), 1);

    /* Person 81 again, under their own NIK, while the first waits. */
    seq[2] = receive_as(&r, 81, 1, id[2], "3171016505900002", 0);
    assert_int_equal(decide_all(&r), 1);
    sidik_decision_record d = decision(&r, id[2]);
    assert_int_equal(d.outcome, SIDIK_STATUS_ADJUDICATE);
    snprintf(want, sizeof want, "same fingers as %s (in review)", id[1]);
    assert_string_equal(d.reason, want);
    assert_int_equal(d.candidate[0].record_id, seq[1]);
    snprintf(want, sizeof want, "; same fingers as enrollment %s (record %llu), which awaits review",
             id[1], (unsigned long long)seq[1]);
    assert_non_null(strstr(audit_of(&r, id[2]).detail, want));
    assert_int_equal(sidik_dedup_gallery_size(r.dedup), 1);
    assert_int_equal(sidik_dedup_reviewing(r.dedup), 2);

    /* In one batch: person 82 sent to review (NIK a), then captured again. */
    seq[3] = receive_as(&r, 82, 0, id[3], nik_a, 0);
    seq[4] = receive_as(&r, 82, 1, id[4], "3171016505900003", 0);
    assert_int_equal(decide_all(&r), 2);
    assert_int_equal(get(&r, id[3]).status, SIDIK_STATUS_ADJUDICATE);
    d = decision(&r, id[4]);
    assert_int_equal(d.outcome, SIDIK_STATUS_ADJUDICATE);
    snprintf(want, sizeof want, "same fingers as %s (in review)", id[3]);
    assert_string_equal(d.reason, want);
    assert_int_equal(sidik_dedup_reviewing(r.dedup), 4);

    /* A restart reads the review queue back: a third capture of 81 is
     * still held. */
    rig_close(&r, true);
    rig_open(&r, 0);
    assert_int_equal(sidik_dedup_gallery_size(r.dedup), 1);
    assert_int_equal(sidik_dedup_reviewing(r.dedup), 4);
    seq[5] = receive_as(&r, 81, 2, id[5], "3171016505900004", 0);
    assert_int_equal(decide_all(&r), 1);
    d = decision(&r, id[5]);
    assert_int_equal(d.outcome, SIDIK_STATUS_ADJUDICATE);
    assert_true(names(&d, seq[1]) || names(&d, seq[2]));
    assert_non_null(strstr(d.reason, "(in review)"));
    assert_int_equal(sidik_dedup_reviewing(r.dedup), 5);

    /* The first adjudicated UNIQUE: enrolled under its record id, stored
     * once; the second DUPLICATE_OF it, and searched no more. */
    adjudicate_unique(&r, id[1]);
    assert_int_equal(decide_all(&r), 1);
    assert_int_equal(get(&r, id[1]).status, SIDIK_STATUS_PRINT_READY);
    assert_int_equal(sidik_dedup_gallery_size(r.dedup), 2);
    assert_int_equal(sidik_dedup_reviewing(r.dedup), 4);
    assert_int_equal(stored_records(&r), 2);
    adjudicate(&r, id[2], SIDIK__V1__DECISION__DUPLICATE_OF, seq[1]);
    adjudicate(&r, id[5], SIDIK__V1__DECISION__DUPLICATE_OF, seq[1]);
    assert_int_equal(get(&r, id[2]).status, SIDIK_STATUS_DUPLICATE);
    assert_int_equal(decide_all(&r), 0);
    assert_int_equal(sidik_dedup_reviewing(r.dedup), 2); /* 82's two */
    assert_int_equal(sidik_dedup_gallery_size(r.dedup), 2);

    /* A fourth capture of 81 is the enrolled person's DUPLICATE. */
    seq[6] = receive_as(&r, 81, 3, id[6], "3171016505900005", 0);
    assert_int_equal(decide_all(&r), 1);
    d = decision(&r, id[6]);
    assert_int_equal(d.outcome, SIDIK_STATUS_DUPLICATE);
    assert_int_equal(d.candidate[0].record_id, seq[1]);
    assert_false(names(&d, seq[2]) || names(&d, seq[5]));
    assert_int_equal(print_count(&r, id[1]), 1);
    rig_close(&r, false);
}

/* A NIK claimed by an enrollment awaiting review is printed for nobody
 * else meanwhile: found through the control store's NIK index (the claims
 * here have no usable finger, so no gallery holds them), within one batch
 * too; once the claims are settled the NIK is free again. */
static void test_server_dedup_review_holds_nik(void **state)
{
    (void)state;
    rig r = {0};
    rig_open(&r, 0);
    const char *nik_b = "3171016505900010", *nik_c = "3171016505900011";
    char id[8][37], want[200];
    uint64_t seq[8];
    for (unsigned i = 0; i < 8; i++)
        id_of(id[i], 900 + i);
    seq[0] = receive_as(&r, 90, 0, id[0], nik_b, 3); /* no usable finger: review */
    assert_int_equal(decide_all(&r), 1);
    assert_int_equal(get(&r, id[0]).status, SIDIK_STATUS_ADJUDICATE);

    /* Another person claims NIK b while the first claim waits. */
    seq[1] = receive_as(&r, 91, 0, id[1], nik_b, 0);
    assert_int_equal(decide_all(&r), 1);
    sidik_decision_record d = decision(&r, id[1]);
    assert_int_equal(d.outcome, SIDIK_STATUS_ADJUDICATE);
    snprintf(want, sizeof want, "NIK also claimed by %s (in review)", id[0]);
    assert_string_equal(d.reason, want);
    snprintf(want, sizeof want,
             "; NIK %s also claimed by enrollment %s (journal %llu), which awaits review", nik_b,
             id[0], (unsigned long long)seq[0]);
    assert_non_null(strstr(audit_of(&r, id[1]).detail, want));

    /* In one batch: a claim of NIK c sent to review, then another claimant. */
    seq[2] = receive_as(&r, 92, 0, id[2], nik_c, 3);
    seq[3] = receive_as(&r, 93, 0, id[3], nik_c, 0);
    assert_int_equal(decide_all(&r), 2);
    d = decision(&r, id[3]);
    assert_int_equal(d.outcome, SIDIK_STATUS_ADJUDICATE);
    snprintf(want, sizeof want, "NIK also claimed by %s (in review)", id[2]);
    assert_string_equal(d.reason, want);

    /* The first claim of b judged UNIQUE: b is that person's now. */
    adjudicate_unique(&r, id[0]);
    assert_int_equal(decide_all(&r), 1);
    seq[4] = receive_as(&r, 94, 0, id[4], nik_b, 0);
    assert_int_equal(decide_all(&r), 1);
    d = decision(&r, id[4]);
    assert_int_equal(d.outcome, SIDIK_STATUS_ADJUDICATE);
    snprintf(want, sizeof want, "NIK already enrolled as record %llu; the fingers do not match it",
             (unsigned long long)seq[0]);
    assert_string_equal(d.reason, want);

    /* Both claims of c judged duplicates of someone else: c is free. */
    seq[5] = receive_as(&r, 95, 0, id[5], NULL, 0);
    assert_int_equal(decide_all(&r), 1);
    assert_int_equal(get(&r, id[5]).status, SIDIK_STATUS_PRINT_READY);
    adjudicate(&r, id[2], SIDIK__V1__DECISION__DUPLICATE_OF, seq[5]);
    seq[6] = receive_as(&r, 96, 0, id[6], nik_c, 0);
    assert_int_equal(decide_all(&r), 1);
    snprintf(want, sizeof want, "NIK also claimed by %s (in review)", id[3]);
    assert_string_equal(decision(&r, id[6]).reason, want);
    adjudicate(&r, id[3], SIDIK__V1__DECISION__DUPLICATE_OF, seq[5]);
    adjudicate(&r, id[6], SIDIK__V1__DECISION__DUPLICATE_OF, seq[5]);
    assert_int_equal(decide_all(&r), 0);
    seq[7] = receive_as(&r, 97, 0, id[7], nik_c, 0);
    assert_int_equal(decide_all(&r), 1);
    assert_int_equal(get(&r, id[7]).status, SIDIK_STATUS_PRINT_READY);
    rig_close(&r, false);
}

/* No finger with enough minutiae to search: a person decides. */
static void test_server_dedup_unusable_goes_to_review(void **state)
{
    (void)state;
    rig r = {0};
    rig_open(&r, 0);
    char id[37];
    id_of(id, 400);
    receive_as(&r, 50, 0, id, NULL, 3);
    assert_int_equal(decide_all(&r), 1);
    assert_int_equal(get(&r, id).status, SIDIK_STATUS_ADJUDICATE);
    sidik_decision_record d = decision(&r, id);
    assert_int_equal(d.outcome, SIDIK_STATUS_ADJUDICATE);
    assert_true(strlen(d.reason) > 0);
    assert_int_equal(sidik_dedup_gallery_size(r.dedup), 0);
    /* Judged UNIQUE by a person all the same (fingers that cannot be
     * captured): printed, but not searchable, and the audit entry says so. */
    adjudicate_unique(&r, id);
    uint32_t n;
    assert_int_equal(sidik_dedup_step(r.dedup, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(get(&r, id).status, SIDIK_STATUS_PRINT_READY);
    assert_int_equal(sidik_dedup_gallery_size(r.dedup), 0);
    assert_int_equal(stored_records(&r), 0);
    assert_non_null(strstr(audit_of(&r, id).detail, "; not in the search gallery: "));
    assert_int_equal(print_count(&r, id), 1);
    rig_close(&r, false);
}

/* Started, the stage decides on its own thread when kicked. */
static void test_server_dedup_thread(void **state)
{
    (void)state;
    rig r = {0};
    rig_open(&r, 0);
    assert_int_equal(sidik_dedup_start(r.dedup), 0);
    char id[4][37];
    uint64_t last = 0;
    for (unsigned i = 0; i < 4; i++) {
        id_of(id[i], 500 + i);
        last = receive(&r, 60 + i, 0, id[i]);
        sidik_dedup_kick(r.dedup);
    }
    for (int waited = 0; sidik_dedup_decided(r.dedup) < last && waited < 3000; waited++)
        usleep(10 * 1000);
    assert_int_equal(sidik_dedup_decided(r.dedup), last);
    assert_int_equal(sidik_dedup_status(r.dedup), 0);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(get(&r, id[i]).status, SIDIK_STATUS_PRINT_READY);
    rig_close(&r, false);
}

/* The gallery's disk full or failing (the shards' I/O seam): a step
 * decides nothing and says why, the stage reports the error (sidikd
 * refuses uploads on it), nothing waiting is lost, and the same step works
 * once the disk is back. Then the control store fails after the shard
 * writes: the retry finds its records stored and decides each once. */
static void test_server_dedup_gallery_disk_fails(void **state)
{
    (void)state;
    rig r = {0};
    rig_open(&r, 0);
    char id[3][37];
    for (unsigned i = 0; i < 3; i++)
        id_of(id[i], 700 + i);
    uint64_t first = receive(&r, 70, 0, id[0]);
    uint32_t n = 99;
    static const int faults[] = {SIDIK_EFULL, -EIO, -ENOSPC};
    for (size_t f = 0; f < SIDIK_ARRAY_SIZE(faults); f++) {
        atomic_store(&fail_shards, faults[f]);
        assert_int_equal(sidik_dedup_step(r.dedup, &n), faults[f]);
        assert_int_equal(n, 0);
        assert_int_equal(sidik_dedup_status(r.dedup), faults[f]);
        assert_int_equal(sidik_dedup_decided(r.dedup), 0);
        assert_int_equal(get(&r, id[0]).status, SIDIK_STATUS_RECEIVED);
        assert_int_equal(stored_records(&r), 0);
        assert_int_equal(sidik_dedup_gallery_size(r.dedup), 0);
    }
    uint64_t second = receive(&r, 71, 0, id[1]); /* journaled while paused */
    atomic_store(&fail_shards, 0);
    assert_int_equal(decide_all(&r), 2);
    assert_int_equal(sidik_dedup_status(r.dedup), 0);
    assert_int_equal(sidik_dedup_decided(r.dedup), second);
    assert_true(first < second);
    for (unsigned i = 0; i < 2; i++) {
        sidik_enrollment e = get(&r, id[i]);
        assert_int_equal(e.status, SIDIK_STATUS_PRINT_READY);
        assert_int_equal(e.nhistory, 2);
    }
    /* One lease takes every authorisation queued: each of the two once. */
    sidik_control_txn *t;
    sidik_enroll_id leased[64];
    uint32_t got = 0;
    assert_int_equal(sidik_control_begin(r.control, true, &t), 0);
    assert_int_equal(
        sidik_control_print_lease(t, "31.71", "PRN-1", NOW_MS, 60000, 64, leased, &got), 0);
    assert_int_equal(sidik_control_commit(t), 0);
    assert_int_equal(got, 2);
    assert_string_not_equal(leased[0], leased[1]);
    for (uint32_t i = 0; i < got; i++)
        assert_true(strcmp(leased[i], id[0]) == 0 || strcmp(leased[i], id[1]) == 0);

    /* The shard write works (and its naming in the directory, the control
     * store's first commit), the batch's transaction does not. */
    uint64_t third = receive(&r, 72, 0, id[2]);
    atomic_store(&control_passes, 1);
    atomic_store(&fail_control, SIDIK_EFULL);
    assert_int_equal(sidik_dedup_step(r.dedup, &n), SIDIK_EFULL);
    assert_int_equal(sidik_dedup_status(r.dedup), SIDIK_EFULL);
    assert_int_equal(stored_records(&r), 3); /* stored, not yet decided */
    assert_int_equal(sidik_dedup_gallery_size(r.dedup), 2);
    atomic_store(&fail_control, 0);
    assert_int_equal(decide_all(&r), 1);
    assert_int_equal(sidik_dedup_status(r.dedup), 0);
    assert_int_equal(sidik_dedup_decided(r.dedup), third);
    sidik_enrollment e = get(&r, id[2]);
    assert_int_equal(e.status, SIDIK_STATUS_PRINT_READY);
    assert_int_equal(e.record_id, third);
    assert_int_equal(e.nhistory, 2);
    assert_int_equal(print_count(&r, id[2]), 1);
    assert_int_equal(stored_records(&r), 3);
    assert_int_equal(sidik_dedup_gallery_size(r.dedup), 3);
    rig_close(&r, false);
}

/* Started, the stage paused by a full gallery disk retries on its own
 * (kicks alone do not end the pause) and decides once the disk is back. */
static void test_server_dedup_thread_retries(void **state)
{
    (void)state;
    rig r = {0};
    rig_open_retrying(&r, 0, 20);
    atomic_store(&fail_shards, SIDIK_EFULL);
    assert_int_equal(sidik_dedup_start(r.dedup), 0);
    char id[37];
    id_of(id, 800);
    uint64_t seq = receive(&r, 80, 0, id);
    sidik_dedup_kick(r.dedup);
    for (int waited = 0; sidik_dedup_status(r.dedup) == 0 && waited < 3000; waited++)
        usleep(1000);
    assert_int_equal(sidik_dedup_status(r.dedup), SIDIK_EFULL);
    usleep(100 * 1000); /* a few retries, each failing */
    assert_int_equal(sidik_dedup_decided(r.dedup), 0);
    assert_int_equal(get(&r, id).status, SIDIK_STATUS_RECEIVED);
    atomic_store(&fail_shards, 0);
    for (int waited = 0; sidik_dedup_decided(r.dedup) < seq && waited < 5000; waited++)
        usleep(1000);
    assert_int_equal(sidik_dedup_decided(r.dedup), seq);
    assert_int_equal(sidik_dedup_status(r.dedup), 0);
    assert_int_equal(get(&r, id).status, SIDIK_STATUS_PRINT_READY);
    rig_close(&r, false);
}

static void test_server_dedup_bad_options(void **state)
{
    (void)state;
    rig r = {0};
    rig_open(&r, 0);
    sidik_dedup *d = NULL;
    const char *why = NULL;
    sidik_dedup_options o = {.control = r.control, .journal = r.journal, .shards = r.shards,
                             .fusion = fusion, .pool = sidik_workers_pool(r.workers)};
    sidik_dedup_options bad = o;
    bad.fusion = NULL;
    assert_int_equal(sidik_dedup_open(&bad, &d, &why), SIDIK_EINVAL);
    assert_non_null(why);
    bad = o;
    bad.batch = 257;
    assert_int_equal(sidik_dedup_open(&bad, &d, &why), SIDIK_EINVAL);
    assert_string_equal(why, "batch must be 1-256");
    bad = o;
    bad.retry_ms = -1;
    assert_int_equal(sidik_dedup_open(&bad, &d, &why), SIDIK_EINVAL);
    assert_string_equal(why, "retry_ms must be 1-60000");
    bad = o;
    bad.duplicate_fpir = 1.5;
    assert_int_equal(sidik_dedup_open(&bad, &d, &why), SIDIK_EINVAL);
    bad = o;
    bad.duplicate_fpir = 0.01;
    bad.review_fpir = 0.001; /* below the DUPLICATE FPIR */
    assert_int_equal(sidik_dedup_open(&bad, &d, &why), SIDIK_EINVAL);
    bad = o;
    bad.ncohort = 3; /* and no cohort */
    assert_int_equal(sidik_dedup_open(&bad, &d, &why), SIDIK_EINVAL);
    assert_string_equal(why, "the cohort must be 0-1024 persons, given when not 0");
    bad.cohort = cohort;
    bad.ncohort = SIDIK_GALLERY_MAX_COHORT + 1;
    assert_int_equal(sidik_dedup_open(&bad, &d, &why), SIDIK_EINVAL);
    assert_string_equal(why, "the cohort must be 0-1024 persons, given when not 0");
    assert_null(d);
    assert_int_equal(sidik_dedup_open(NULL, &d, &why), SIDIK_EINVAL);
    assert_int_equal(sidik_dedup_step(NULL, NULL), SIDIK_EINVAL);
    rig_close(&r, false);
}

static int setup(void **state)
{
    (void)state;
    sidik_synth_params_default(&params);
    if (make_base(state) != 0 || sidik_synth_cohort(&params, SEED + 2, COHORT, &cohort) != 0)
        return -1;
    return sidik_synth_fusion(&params, SEED + 1, 120, SIDIK_SIMD_SCALAR, NULL, &fusion);
}

static int teardown(void **state)
{
    (void)state;
    sidik_free(cohort);
    sidik_fusion_destroy(fusion);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_server_dedup_unique_then_duplicate),
        SIDIK_TEST(test_server_dedup_same_batch),
        SIDIK_TEST(test_server_dedup_restart),
        SIDIK_TEST(test_server_dedup_reload_around_cut_short),
        SIDIK_TEST(test_server_dedup_crash_after_shard_writes),
        SIDIK_TEST(test_server_dedup_unusable_goes_to_review),
        SIDIK_TEST(test_server_dedup_nik),
        SIDIK_TEST(test_server_dedup_adjudicated_unique),
        SIDIK_TEST(test_server_dedup_adjudicated_unique_crash),
        SIDIK_TEST(test_server_dedup_review_is_searched),
        SIDIK_TEST(test_server_dedup_review_holds_nik),
        SIDIK_TEST(test_server_dedup_verdict_waits_for_disk_at_open),
        SIDIK_TEST(test_server_dedup_thread),
        SIDIK_TEST(test_server_dedup_gallery_disk_fails),
        SIDIK_TEST(test_server_dedup_thread_retries),
        SIDIK_TEST(test_server_dedup_bad_options),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
