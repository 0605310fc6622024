/*
 * The control store's format-2 indexes: decisions in decision order (all,
 * by office, by NIK; bounds and resume points), the review queue following
 * ADJUDICATE in and out, the waiting UNIQUE verdicts, the adjudicator kept
 * with a decision, and a format-1 store upgraded when opened.
 */
#include "storage_test.h"

#include "sidik/common.h"
#include "sidik/control.h"

#define T0 1800000000000LL

static sidik_control *open_ok(const char *dir)
{
    sidik_control *c = NULL;
    const char *why = NULL;
    int rc = sidik_control_open(dir, NULL, &c, &why);
    if (rc != 0)
        print_error("open: %s (%s)\n", sidik_err_name(rc), why ? why : "");
    assert_int_equal(rc, 0);
    return c;
}

static void put_in(sidik_control_txn *t, const char *id, const char *office, const char *nik,
                   uint64_t seq)
{
    sidik_enrollment e = {.status = SIDIK_STATUS_RECEIVED, .journal_seq = seq, .nhistory = 1};
    snprintf(e.id, sizeof e.id, "%s", id);
    snprintf(e.office, sizeof e.office, "%s", office);
    snprintf(e.nik, sizeof e.nik, "%s", nik);
    e.history[0] = (sidik_status_change){SIDIK_STATUS_RECEIVED, T0};
    assert_int_equal(sidik_control_enroll_put(t, &e), 0);
}

/* Decided st at T0 + at. */
static void decide_in(sidik_control_txn *t, const char *id, sidik_status st, int64_t at)
{
    assert_int_equal(sidik_control_enroll_status(t, id, st, T0 + at, 0), 0);
    sidik_decision_record d = {.outcome = st, .time_ms = T0 + at};
    assert_int_equal(sidik_control_decision_add(t, id, &d, NULL), 0);
}

typedef struct seen {
    char ids[64][112];
    size_t n;
    int stop_at; /* return 7 from the call with this number (1-based); 0: never */
} seen;

static int on_dec(void *ctx, const sidik_decision_ref *r)
{
    seen *s = ctx;
    snprintf(s->ids[s->n++], sizeof s->ids[0], "%s/%u@%lld", r->id, r->index,
             (long long)(r->time_ms - T0));
    return (int)s->n == s->stop_at ? 7 : 0;
}

static int on_rev(void *ctx, const sidik_review_ref *r)
{
    seen *s = ctx;
    snprintf(s->ids[s->n++], sizeof s->ids[0], "%s@%lld", r->id, (long long)(r->time_ms - T0));
    return (int)s->n == s->stop_at ? 7 : 0;
}

static void check(const seen *s, const char *const *want, size_t n)
{
    if (s->n != n) {
        print_error("got %zu, want %zu:", s->n, n);
        for (size_t i = 0; i < s->n; i++)
            print_error(" %s", s->ids[i]);
        print_error("\n");
    }
    assert_int_equal(s->n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(s->ids[i], want[i]);
}

#define CHECK(s, ...)                                  \
    do {                                               \
        static const char *const w_[] = {__VA_ARGS__}; \
        check(s, w_, sizeof w_ / sizeof w_[0]);        \
    } while (0)

static void test_storage_control_decision_walk(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *c = open_ok(dir);
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    put_in(t, "a", "JKT-01", "3171016505900001", 5);
    put_in(t, "b", "JKT", "", 3); /* an office code that is a prefix of another */
    put_in(t, "c", "JKT-01", "3171016505900001", 9);
    put_in(t, "d", "BDG-02", "3171016505900002", 1);
    decide_in(t, "a", SIDIK_STATUS_ADJUDICATE, 2000);
    decide_in(t, "b", SIDIK_STATUS_PRINT_READY, 2000); /* the same millisecond: seq 3 first */
    decide_in(t, "c", SIDIK_STATUS_ADJUDICATE, 1000);
    decide_in(t, "d", SIDIK_STATUS_PRINT_READY, 3000);
    decide_in(t, "a", SIDIK_STATUS_DUPLICATE, 4000);  /* an adjudication: index 1 */
    decide_in(t, "c", SIDIK_STATUS_PRINT_READY, -50); /* a clock that went back */
    assert_int_equal(sidik_control_commit(t), 0);

    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    seen s = {0};
    assert_int_equal(
        sidik_control_decision_walk(t, SIDIK_DECISIONS_ALL, NULL, INT64_MIN, 0, NULL, on_dec, &s),
        0);
    CHECK(&s, "c/1@-50", "c/0@1000", "b/0@2000", "a/0@2000", "d/0@3000", "a/1@4000");
    s = (seen){0};
    assert_int_equal(sidik_control_decision_walk(t, SIDIK_DECISIONS_ALL, NULL, T0 + 1000, T0 + 3000,
                                                 NULL, on_dec, &s),
                     0);
    CHECK(&s, "c/0@1000", "b/0@2000", "a/0@2000");
    s = (seen){0};
    assert_int_equal(
        sidik_control_decision_walk(t, SIDIK_DECISIONS_OF_OFFICE, "JKT-01", 0, 0, NULL, on_dec, &s),
        0);
    CHECK(&s, "c/1@-50", "c/0@1000", "a/0@2000", "a/1@4000");
    s = (seen){0};
    assert_int_equal(
        sidik_control_decision_walk(t, SIDIK_DECISIONS_OF_OFFICE, "JKT", 0, 0, NULL, on_dec, &s),
        0);
    CHECK(&s, "b/0@2000");
    s = (seen){0};
    assert_int_equal(sidik_control_decision_walk(t, SIDIK_DECISIONS_OF_NIK, "3171016505900002", 0,
                                                 0, NULL, on_dec, &s),
                     0);
    CHECK(&s, "d/0@3000");
    /* Resume after each place: the rest, none twice. */
    sidik_decision_ref after = {.time_ms = T0 + 2000, .journal_seq = 3, .index = 0};
    s = (seen){0};
    assert_int_equal(
        sidik_control_decision_walk(t, SIDIK_DECISIONS_ALL, NULL, 0, 0, &after, on_dec, &s), 0);
    CHECK(&s, "a/0@2000", "d/0@3000", "a/1@4000");
    after = (sidik_decision_ref){.time_ms = T0 + 2000, .journal_seq = 4}; /* between two */
    s = (seen){0};
    assert_int_equal(
        sidik_control_decision_walk(t, SIDIK_DECISIONS_ALL, NULL, 0, 0, &after, on_dec, &s), 0);
    CHECK(&s, "a/0@2000", "d/0@3000", "a/1@4000");
    after = (sidik_decision_ref){.time_ms = T0 + 4000, .journal_seq = 5, .index = 1};
    s = (seen){0};
    assert_int_equal(
        sidik_control_decision_walk(t, SIDIK_DECISIONS_ALL, NULL, 0, 0, &after, on_dec, &s), 0);
    assert_int_equal(s.n, 0);
    /* A resume point before from_ms: from_ms wins. */
    after = (sidik_decision_ref){.time_ms = T0, .journal_seq = 1};
    s = (seen){0};
    assert_int_equal(
        sidik_control_decision_walk(t, SIDIK_DECISIONS_ALL, NULL, T0 + 3000, 0, &after, on_dec, &s),
        0);
    CHECK(&s, "d/0@3000", "a/1@4000");
    /* fn's stop comes back. */
    s = (seen){.stop_at = 2};
    assert_int_equal(
        sidik_control_decision_walk(t, SIDIK_DECISIONS_ALL, NULL, 0, 0, NULL, on_dec, &s), 7);
    assert_int_equal(s.n, 2);
    /* Keys the order does not take. */
    assert_int_equal(
        sidik_control_decision_walk(t, SIDIK_DECISIONS_OF_OFFICE, "JKT 01", 0, 0, NULL, on_dec, &s),
        SIDIK_EINVAL);
    assert_int_equal(
        sidik_control_decision_walk(t, SIDIK_DECISIONS_OF_NIK, "", 0, 0, NULL, on_dec, &s),
        SIDIK_EINVAL);
    assert_int_equal(
        sidik_control_decision_walk(t, SIDIK_DECISIONS_OF_NIK, "12", 0, 0, NULL, on_dec, &s),
        SIDIK_EINVAL);
    assert_int_equal(
        sidik_control_decision_walk(t, (sidik_decisions_by)9, NULL, 0, 0, NULL, on_dec, &s),
        SIDIK_EINVAL);
    sidik_control_abort(t);
    sidik_control_close(c);
    scratch_remove(dir);
}

static void test_storage_control_review_queue(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *c = open_ok(dir);
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    put_in(t, "a", "JKT-01", "", 1);
    put_in(t, "b", "JKT-01", "", 2);
    put_in(t, "c", "BDG-02", "", 3);
    put_in(t, "d", "BDG-02", "", 4);
    decide_in(t, "c", SIDIK_STATUS_ADJUDICATE, 1000);
    decide_in(t, "a", SIDIK_STATUS_ADJUDICATE, 2000);
    decide_in(t, "b", SIDIK_STATUS_ADJUDICATE, 2000);
    decide_in(t, "d", SIDIK_STATUS_PRINT_READY, 500);
    assert_int_equal(sidik_control_commit(t), 0);

    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    seen s = {0};
    assert_int_equal(sidik_control_review_walk(t, 0, 0, NULL, on_rev, &s), 0);
    CHECK(&s, "c@1000", "a@2000", "b@2000");
    s = (seen){0};
    sidik_review_ref after = {.time_ms = T0 + 2000, .journal_seq = 1};
    assert_int_equal(sidik_control_review_walk(t, 0, 0, &after, on_rev, &s), 0);
    CHECK(&s, "b@2000");
    s = (seen){0};
    assert_int_equal(sidik_control_review_walk(t, T0 + 1001, T0 + 2001, NULL, on_rev, &s), 0);
    CHECK(&s, "a@2000", "b@2000");
    s = (seen){.stop_at = 1};
    assert_int_equal(sidik_control_review_walk(t, 0, 0, NULL, on_rev, &s), 7);
    sidik_control_abort(t);

    /* Leaving ADJUDICATE either way leaves the queue, in that transaction. */
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    decide_in(t, "a", SIDIK_STATUS_DUPLICATE, 9000);
    decide_in(t, "c", SIDIK_STATUS_PRINT_READY, 9000);
    s = (seen){0};
    assert_int_equal(sidik_control_review_walk(t, 0, 0, NULL, on_rev, &s), 0);
    CHECK(&s, "b@2000");
    sidik_control_abort(t); /* and aborted, they are back */
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    s = (seen){0};
    assert_int_equal(sidik_control_review_walk(t, 0, 0, NULL, on_rev, &s), 0);
    assert_int_equal(s.n, 3);
    sidik_control_abort(t);
    sidik_control_close(c);
    scratch_remove(dir);
}

static void test_storage_control_pending(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *c = open_ok(dir);
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    put_in(t, "a", "JKT-01", "", 7);
    put_in(t, "b", "JKT-01", "", 3);
    put_in(t, "c", "JKT-01", "", 5);
    decide_in(t, "a", SIDIK_STATUS_ADJUDICATE, 1000);
    decide_in(t, "b", SIDIK_STATUS_ADJUDICATE, 1000);
    decide_in(t, "c", SIDIK_STATUS_PRINT_READY, 1000);
    assert_int_equal(sidik_control_pending_put(t, "a"), 0);
    assert_int_equal(sidik_control_pending_put(t, "a"), SIDIK_EEXISTS);
    assert_int_equal(sidik_control_pending_put(t, "b"), 0);
    assert_int_equal(sidik_control_pending_put(t, "c"), SIDIK_ESTATE); /* not ADJUDICATE */
    assert_int_equal(sidik_control_pending_put(t, "zz"), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_control_pending_put(t, "a b"), SIDIK_EINVAL);
    assert_int_equal(sidik_control_commit(t), 0);

    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    assert_int_equal(sidik_control_pending_get(t, "a"), 0);
    assert_int_equal(sidik_control_pending_get(t, "c"), SIDIK_ENOTFOUND);
    sidik_enroll_id ids[4];
    uint64_t seqs[4];
    uint32_t n;
    assert_int_equal(sidik_control_pending_list(t, 0, 4, ids, seqs, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ids[0], "b"); /* journal order */
    assert_int_equal(seqs[0], 3);
    assert_string_equal(ids[1], "a");
    assert_int_equal(sidik_control_pending_list(t, 0, 1, ids, seqs, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(sidik_control_pending_list(t, 3, 4, ids, seqs, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], "a");
    assert_int_equal(sidik_control_pending_list(t, UINT64_MAX, 4, ids, seqs, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sidik_control_pending_del(t, "a"), SIDIK_ESTATE); /* read-only */
    sidik_control_abort(t);

    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    assert_int_equal(sidik_control_pending_del(t, "a"), 0);
    assert_int_equal(sidik_control_pending_del(t, "a"), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_control_pending_list(t, 0, 4, ids, seqs, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(sidik_control_commit(t), 0);
    sidik_control_close(c);
    scratch_remove(dir);
}

static void test_storage_control_decision_adjudicator(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *c = open_ok(dir);
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    put_in(t, "a", "JKT-01", "", 1);
    decide_in(t, "a", SIDIK_STATUS_ADJUDICATE, 1000);
    sidik_decision_record d = {
        .outcome = SIDIK_STATUS_DUPLICATE, .time_ms = T0 + 2000, .ncandidates = 1};
    d.candidate[0] = (sidik_decision_candidate){.record_id = 9, .llr = 1.5};
    snprintf(d.reason, sizeof d.reason, "the photo");
    snprintf(d.adjudicator, sizeof d.adjudicator, "auditor:auditor.dewi");
    uint32_t index;
    assert_int_equal(sidik_control_decision_add(t, "a", &d, &index), 0);
    assert_int_equal(index, 1);
    sidik_decision_record bad = d;
    snprintf(bad.adjudicator, sizeof bad.adjudicator, "auditor:\x01");
    assert_int_equal(sidik_control_decision_add(t, "a", &bad, NULL), SIDIK_EINVAL);
    memset(bad.adjudicator, 'x', sizeof bad.adjudicator); /* unterminated */
    assert_int_equal(sidik_control_decision_add(t, "a", &bad, NULL), SIDIK_EINVAL);
    sidik_decision_record got;
    assert_int_equal(sidik_control_decision_get(t, "a", 1, &got), 0);
    assert_string_equal(got.adjudicator, "auditor:auditor.dewi");
    assert_string_equal(got.reason, "the photo");
    assert_int_equal(got.candidate[0].record_id, 9);
    assert_int_equal(sidik_control_decision_get(t, "a", 0, &got), 0);
    assert_string_equal(got.adjudicator, "");
    assert_int_equal(sidik_control_commit(t), 0);
    sidik_control_close(c);
    scratch_remove(dir);
}

/* The upgrade tests' store in dir: enrollments e-01..e-40 over four
 * offices, every third decided ADJUDICATE (e-03 at 970, e-39 at 610), the
 * rest PRINT_READY. */
static void forty_decided(const char *dir)
{
    sidik_control *c = open_ok(dir);
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    const char *offices[] = {"JKT", "JKT-01", "BDG-02", "SBY-03"};
    for (uint64_t seq = 1; seq <= 40; seq++) {
        char id[16];
        snprintf(id, sizeof id, "e-%02llu", (unsigned long long)seq);
        put_in(t, id, offices[seq % 4], "", seq);
        decide_in(t, id, seq % 3 == 0 ? SIDIK_STATUS_ADJUDICATE : SIDIK_STATUS_PRINT_READY,
                  (int64_t)(100 - seq) * 10);
    }
    assert_int_equal(sidik_control_commit(t), 0);
    sidik_control_close(c);
}

/* What a store of an older format lacks: the sequence index of
 * enrollments 1..n (format 2 added none of it). */
static void drop_seq_index(const char *dir, uint64_t n)
{
    for (uint64_t seq = 1; seq <= n; seq++) {
        uint8_t k[8];
        for (int i = 0; i < 8; i++)
            k[i] = (uint8_t)(seq >> (56 - 8 * i));
        raw_lmdb_put(dir, "enroll_seq", k, 8, NULL, 0);
    }
}

/* The sequence index after an upgrade: the enrollments in the review queue
 * (every third of 1..40 here) and no other. */
static void check_seq_index_upgraded(sidik_control_txn *t)
{
    for (uint64_t seq = 1; seq <= 40; seq++) {
        sidik_enroll_id id;
        char want[16];
        snprintf(want, sizeof want, "e-%02llu", (unsigned long long)seq);
        if (seq % 3 == 0) {
            assert_int_equal(sidik_control_enroll_at(t, seq, id), 0);
            assert_string_equal(id, want);
        } else {
            assert_int_equal(sidik_control_enroll_at(t, seq, id), SIDIK_ENOTFOUND);
        }
    }
}

/* A format-1 store (written before these indexes): opening upgrades it,
 * the review queue rebuilt from the office index, the sequence index from
 * the review queue, and its version-1 decisions read as before. */
static void test_storage_control_upgrade_from_1(void **state)
{
    (void)state;
    char *dir = scratch_create();
    forty_decided(dir);

    /* Back to what format 1 had: no review keys, decisions of version 1,
     * format 1. */
    for (uint64_t seq = 3; seq <= 40; seq += 3) {
        uint8_t k[16];
        uint64_t tm = (uint64_t)(T0 + (int64_t)(100 - seq) * 10) ^ (1ull << 63);
        for (int i = 0; i < 8; i++) {
            k[i] = (uint8_t)(tm >> (56 - 8 * i));
            k[8 + i] = (uint8_t)(seq >> (56 - 8 * i));
        }
        raw_lmdb_put(dir, "review", k, 16, NULL, 0);
    }
    uint8_t dk[] = {'e', '-', '0', '3', 0, 0};
    uint8_t v1[40] = {1, SIDIK_STATUS_ADJUDICATE, 0, 0};
    int64_t tm = T0 + 970;
    memcpy(v1 + 8, &tm, 8);
    raw_lmdb_put(dir, "decision", dk, sizeof dk, v1, sizeof v1);
    drop_seq_index(dir, 40);
    uint32_t f1 = 1;
    raw_lmdb_put(dir, "meta", "format", 6, &f1, sizeof f1);
    sidik_control *c = open_ok(dir);
    sidik_control_close(c);
    c = open_ok(dir); /* once upgraded, opens as format 3 */
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    seen s = {0};
    assert_int_equal(sidik_control_review_walk(t, 0, 0, NULL, on_rev, &s), 0);
    CHECK(&s, "e-39@610", "e-36@640", "e-33@670", "e-30@700", "e-27@730", "e-24@760", "e-21@790",
          "e-18@820", "e-15@850", "e-12@880", "e-09@910", "e-06@940", "e-03@970");
    sidik_decision_record d;
    assert_int_equal(sidik_control_decision_get(t, "e-03", 0, &d), 0);
    assert_int_equal(d.outcome, SIDIK_STATUS_ADJUDICATE);
    assert_int_equal(d.time_ms, T0 + 970);
    assert_string_equal(d.adjudicator, "");
    check_seq_index_upgraded(t);
    sidik_control_abort(t);
    sidik_control_close(c);
    uint32_t f4 = 4;
    raw_lmdb_put(dir, "meta", "format", 6, &f4, sizeof f4);
    const char *why;
    assert_int_equal(sidik_control_open(dir, NULL, &c, &why), SIDIK_EVERSION);
    scratch_remove(dir);
}

/* A format-2 store (before the sequence index): opening indexes the
 * enrollments in the review queue; one received after the upgrade is
 * indexed as it is put. */
static void test_storage_control_upgrade_from_2(void **state)
{
    (void)state;
    char *dir = scratch_create();
    forty_decided(dir);
    drop_seq_index(dir, 40);
    uint32_t f2 = 2;
    raw_lmdb_put(dir, "meta", "format", 6, &f2, sizeof f2);

    sidik_control *c = open_ok(dir);
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    check_seq_index_upgraded(t);
    put_in(t, "late-41", "JKT-01", "", 41);
    assert_int_equal(sidik_control_commit(t), 0);
    sidik_control_close(c);
    c = open_ok(dir);
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    check_seq_index_upgraded(t);
    sidik_enroll_id id;
    assert_int_equal(sidik_control_enroll_at(t, 41, id), 0);
    assert_string_equal(id, "late-41");
    sidik_control_abort(t);
    sidik_control_close(c);
    scratch_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_storage_control_decision_walk),
        SIDIK_TEST(test_storage_control_review_queue),
        SIDIK_TEST(test_storage_control_pending),
        SIDIK_TEST(test_storage_control_decision_adjudicator),
        SIDIK_TEST(test_storage_control_upgrade_from_1),
        SIDIK_TEST(test_storage_control_upgrade_from_2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
