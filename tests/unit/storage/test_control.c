/*
 * The control store: enrollment records and their status rules, the office
 * listing, the replay point, the directory, format versions, a full map,
 * damaged records and hostile field values.
 */
#include "storage_test.h"

#include "sidik/common.h"
#include "sidik/control.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>

static sidik_control *open_ok(const char *dir, uint64_t map_bytes)
{
    sidik_control_options o = {.map_bytes = map_bytes};
    sidik_control *c = NULL;
    const char *why = NULL;
    int rc = sidik_control_open(dir, &o, &c, &why);
    if (rc != 0)
        print_error("open: %s (%s)\n", sidik_err_name(rc), why ? why : "");
    assert_int_equal(rc, 0);
    return c;
}

static sidik_enrollment make(const char *id, const char *office, uint64_t seq)
{
    sidik_enrollment e = {.status = SIDIK_STATUS_RECEIVED, .journal_seq = seq, .nhistory = 1};
    snprintf(e.id, sizeof e.id, "%s", id);
    snprintf(e.office, sizeof e.office, "%s", office);
    snprintf(e.nik, sizeof e.nik, "3171%012llu", (unsigned long long)seq);
    for (int i = 0; i < 32; i++)
        e.sha256[i] = (uint8_t)(seq * 31 + (uint64_t)i);
    e.history[0] = (sidik_status_change){SIDIK_STATUS_RECEIVED, 1700000000000 + (int64_t)seq};
    return e;
}

static int put(sidik_control *c, const sidik_enrollment *e)
{
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    int rc = sidik_control_enroll_put(t, e);
    if (rc == 0)
        return sidik_control_commit(t);
    sidik_control_abort(t);
    return rc;
}

static int set_status(sidik_control *c, const char *id, sidik_status s, uint64_t rec)
{
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    int rc = sidik_control_enroll_status(t, id, s, 1800000000000, rec);
    if (rc == 0)
        return sidik_control_commit(t);
    sidik_control_abort(t);
    return rc;
}

static int get(sidik_control *c, const char *id, sidik_enrollment *out)
{
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    int rc = sidik_control_enroll_get(t, id, out);
    sidik_control_abort(t);
    return rc;
}

static void test_storage_control_enrollment_roundtrip(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *c = open_ok(dir, 0);
    sidik_enrollment e = make("5f0c6a3e-9b1d-4c47-8f2a-0d6e1b7c9a11", "JKT-01", 7), got;
    assert_int_equal(put(c, &e), 0);
    assert_int_equal(get(c, e.id, &got), 0);
    assert_memory_equal(&got, &e, sizeof e);
    /* The same id again, whatever the content: EEXISTS, the first kept. */
    sidik_enrollment other = make(e.id, "BDG-02", 9);
    assert_int_equal(put(c, &other), SIDIK_EEXISTS);
    assert_int_equal(get(c, e.id, &got), 0);
    assert_memory_equal(&got, &e, sizeof e);
    assert_int_equal(get(c, "no-such-id", &got), SIDIK_ENOTFOUND);
    sidik_control_close(c);

    c = open_ok(dir, 0); /* and it is still there after reopening */
    assert_int_equal(get(c, e.id, &got), 0);
    assert_memory_equal(&got, &e, sizeof e);
    sidik_control_close(c);
    scratch_remove(dir);
}

static void test_storage_control_status_rules(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *c = open_ok(dir, 0);
    sidik_enrollment a = make("a", "OF1", 1), b = make("b", "OF1", 2), got;
    assert_int_equal(put(c, &a), 0);
    assert_int_equal(put(c, &b), 0);
    assert_int_equal(set_status(c, "a", SIDIK_STATUS_PRINTED, 0), SIDIK_ESTATE);
    assert_int_equal(set_status(c, "a", SIDIK_STATUS_RECEIVED, 0), SIDIK_ESTATE);
    assert_int_equal(set_status(c, "a", SIDIK_STATUS_ADJUDICATE, 0), 0);
    assert_int_equal(set_status(c, "a", SIDIK_STATUS_REJECTED, 0), SIDIK_ESTATE);
    assert_int_equal(set_status(c, "a", SIDIK_STATUS_PRINT_READY, 42), 0);
    assert_int_equal(set_status(c, "a", SIDIK_STATUS_PRINTED, 0), 0);
    assert_int_equal(set_status(c, "a", SIDIK_STATUS_PRINTED, 0), SIDIK_ESTATE); /* printed once */
    assert_int_equal(get(c, "a", &got), 0);
    assert_int_equal(got.status, SIDIK_STATUS_PRINTED);
    assert_int_equal(got.record_id, 42);
    assert_int_equal(got.nhistory, 4);
    sidik_status path[] = {SIDIK_STATUS_RECEIVED, SIDIK_STATUS_ADJUDICATE, SIDIK_STATUS_PRINT_READY,
                           SIDIK_STATUS_PRINTED};
    for (int i = 0; i < 4; i++)
        assert_int_equal(got.history[i].status, path[i]);
    assert_int_equal(got.history[3].time_ms, 1800000000000);
    /* DUPLICATE and REJECTED are final. */
    assert_int_equal(set_status(c, "b", SIDIK_STATUS_DUPLICATE, 0), 0);
    assert_int_equal(set_status(c, "b", SIDIK_STATUS_PRINT_READY, 0), SIDIK_ESTATE);
    assert_int_equal(set_status(c, "b", (sidik_status)99, 0), SIDIK_EINVAL);
    assert_int_equal(set_status(c, "b", (sidik_status)0, 0), SIDIK_EINVAL);
    assert_int_equal(set_status(c, "zzz", SIDIK_STATUS_DUPLICATE, 0), SIDIK_ENOTFOUND);
    /* Read-only transactions change nothing. */
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    sidik_enrollment d = make("d", "OF1", 3);
    assert_int_equal(sidik_control_enroll_put(t, &d), SIDIK_ESTATE);
    assert_int_equal(sidik_control_set_applied(t, 5), SIDIK_ESTATE);
    assert_int_equal(sidik_control_dir_put(t, 5, 1), SIDIK_ESTATE);
    sidik_control_abort(t);
    assert_string_equal(sidik_status_name(SIDIK_STATUS_PRINT_READY), "PRINT_READY");
    assert_string_equal(sidik_status_name((sidik_status)0), "UNKNOWN");
    sidik_control_close(c);
    scratch_remove(dir);
}

typedef struct listed {
    char ids[64][8];
    uint64_t seqs[64];
    int n;
} listed;

static int collect(void *ctx, const sidik_enrollment *e)
{
    listed *l = ctx;
    snprintf(l->ids[l->n], sizeof l->ids[0], "%.7s", e->id);
    l->seqs[l->n++] = e->journal_seq;
    return 0;
}

static int stop_with_1(void *ctx, const sidik_enrollment *e)
{
    (void)e;
    (*(int *)ctx)++;
    return 1;
}

static listed list(sidik_control *c, const char *office, sidik_status s, uint64_t after,
                   uint32_t limit)
{
    listed l = {0};
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    assert_int_equal(sidik_control_enroll_list(t, office, s, after, limit, collect, &l), 0);
    sidik_control_abort(t);
    return l;
}

static void test_storage_control_office_listing(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *c = open_ok(dir, 0);
    /* Offices "A" and "AB" share a prefix; the index must keep them apart.
     * Inserted out of journal order. */
    for (uint64_t i = 30; i >= 1; i--) {
        char id[8];
        snprintf(id, sizeof id, "e%02llu", (unsigned long long)i);
        sidik_enrollment e = make(id, i % 3 == 0 ? "AB" : "A", i);
        assert_int_equal(put(c, &e), 0);
        if (i % 5 == 0)
            assert_int_equal(set_status(c, id, SIDIK_STATUS_DUPLICATE, 0), 0);
    }
    listed l = list(c, "A", 0, 0, 0);
    assert_int_equal(l.n, 20);
    for (int i = 1; i < l.n; i++)
        assert_true(l.seqs[i] > l.seqs[i - 1]);
    l = list(c, "AB", 0, 0, 0);
    assert_int_equal(l.n, 10);
    l = list(c, "A", SIDIK_STATUS_DUPLICATE, 0, 0);
    assert_int_equal(l.n, 4); /* 5, 10, 20, 25 */
    assert_string_equal(l.ids[0], "e05");
    assert_string_equal(l.ids[3], "e25");
    l = list(c, "A", SIDIK_STATUS_RECEIVED, 0, 0);
    assert_int_equal(l.n, 16);
    /* Paging: 7 at a time, each page after the last seen. */
    uint64_t after = 0;
    int total = 0;
    for (;;) {
        l = list(c, "A", 0, after, 7);
        if (l.n == 0)
            break;
        assert_true(l.n <= 7);
        assert_true(l.seqs[0] > after);
        after = l.seqs[l.n - 1];
        total += l.n;
    }
    assert_int_equal(total, 20);
    assert_int_equal(list(c, "A", 0, UINT64_MAX, 0).n, 0);
    assert_int_equal(list(c, "NOBODY", 0, 0, 0).n, 0);
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    assert_int_equal(sidik_control_enroll_list(t, "bad office", 0, 0, 0, collect, &l), SIDIK_EINVAL);
    assert_int_equal(sidik_control_enroll_list(t, "A", (sidik_status)77, 0, 0, collect, &l),
                     SIDIK_EINVAL);
    assert_int_equal(sidik_control_enroll_list(t, "A", 0, 0, 0, NULL, NULL), SIDIK_EINVAL);
    int seen = 0; /* the callback's value comes back, even 1 */
    assert_int_equal(sidik_control_enroll_list(t, "A", 0, 0, 0, stop_with_1, &seen), 1);
    assert_int_equal(seen, 1);
    sidik_control_abort(t);
    sidik_control_close(c);
    scratch_remove(dir);
}

static void test_storage_control_hostile_fields(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *c = open_ok(dir, 0);
    sidik_enrollment e;
    sidik_enrollment good = make("ok-1", "OF", 1);
    sidik_enrollment bad[16];
    int n = 0;
    bad[n] = good, bad[n++].id[0] = 0;                              /* empty id */
    bad[n] = good, strcpy(bad[n++].id, "has space");                /* space */
    bad[n] = good, strcpy(bad[n++].id, "caf\xc3\xa9");              /* not ASCII */
    bad[n] = good, memset(bad[n++].id, 'x', sizeof good.id);      /* no end within 64 */
    bad[n] = good, bad[n++].office[0] = 0;                          /* empty office */
    bad[n] = good, strcpy(bad[n++].office, "OF/../x");              /* path-ish */
    bad[n] = good, memset(bad[n++].office, 'O', sizeof good.office);
    bad[n] = good, strcpy(bad[n++].nik, "317100000000001");         /* 15 digits */
    bad[n] = good, strcpy(bad[n++].nik, "31710000000000x1");        /* a letter */
    bad[n] = good, bad[n++].status = SIDIK_STATUS_PRINT_READY;      /* not as received */
    bad[n] = good, bad[n++].journal_seq = 0;
    bad[n] = good, bad[n++].nhistory = 2;
    bad[n] = good, bad[n++].history[0].status = SIDIK_STATUS_PRINTED;
    for (int i = 0; i < n; i++)
        assert_int_equal(put(c, &bad[i]), SIDIK_EINVAL);
    /* An empty NIK is allowed (a resident without one yet). */
    good.nik[0] = 0;
    assert_int_equal(put(c, &good), 0);
    assert_int_equal(get(c, "ok-1", &e), 0);
    assert_string_equal(e.nik, "");
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    assert_int_equal(sidik_control_enroll_put(t, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_control_enroll_get(t, NULL, &e), SIDIK_EINVAL);
    assert_int_equal(sidik_control_enroll_get(t, "a b", &e), SIDIK_EINVAL);
    assert_int_equal(sidik_control_enroll_put(NULL, &good), SIDIK_EINVAL);
    sidik_control_abort(t);
    assert_int_equal(sidik_control_begin(NULL, true, &t), SIDIK_EINVAL);
    assert_int_equal(sidik_control_commit(NULL), SIDIK_EINVAL);
    sidik_control_abort(NULL);
    sidik_control_close(c);
    scratch_remove(dir);
}

static void test_storage_control_replay_points_and_directory(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *c = open_ok(dir, 0);
    sidik_control_txn *t;
    uint64_t seq;
    uint32_t shard;
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    assert_int_equal(sidik_control_applied(t, &seq), 0);
    assert_int_equal(seq, 0);
    assert_int_equal(sidik_control_set_applied(t, 10), 0);
    assert_int_equal(sidik_control_set_applied(t, 9), SIDIK_ESTATE); /* only grows */
    assert_int_equal(sidik_control_decided(t, &seq), 0);
    assert_int_equal(seq, 0);
    assert_int_equal(sidik_control_set_decided(t, 11), SIDIK_ESTATE); /* past applied */
    assert_int_equal(sidik_control_set_decided(t, 7), 0);
    assert_int_equal(sidik_control_set_decided(t, 6), SIDIK_ESTATE); /* only grows */
    assert_int_equal(sidik_control_set_decided(t, 10), 0);
    assert_int_equal(sidik_control_decided(NULL, &seq), SIDIK_EINVAL);
    assert_int_equal(sidik_control_dir_put(t, 1000, 3), 0);
    assert_int_equal(sidik_control_dir_put(t, 1001, 4), 0);
    assert_int_equal(sidik_control_dir_put(t, 0, 4), SIDIK_EINVAL);
    assert_int_equal(sidik_control_commit(t), 0);

    /* An aborted transaction leaves no trace. */
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    assert_int_equal(sidik_control_set_applied(t, 99), 0);
    assert_int_equal(sidik_control_dir_put(t, 1000, 7), 0);
    sidik_control_abort(t);
    sidik_control_close(c);

    c = open_ok(dir, 0);
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    assert_int_equal(sidik_control_applied(t, &seq), 0);
    assert_int_equal(seq, 10);
    assert_int_equal(sidik_control_decided(t, &seq), 0);
    assert_int_equal(seq, 10);
    assert_int_equal(sidik_control_dir_get(t, 1000, &shard), 0);
    assert_int_equal(shard, 3);
    assert_int_equal(sidik_control_dir_put(t, 1000, 5), 0); /* a move */
    assert_int_equal(sidik_control_dir_get(t, 1000, &shard), 0);
    assert_int_equal(shard, 5);
    assert_int_equal(sidik_control_dir_del(t, 1001), 0);
    assert_int_equal(sidik_control_dir_get(t, 1001, &shard), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_control_dir_del(t, 1001), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_control_dir_get(t, 0, &shard), SIDIK_EINVAL);
    assert_int_equal(sidik_control_commit(t), 0);
    sidik_control_close(c);
    scratch_remove(dir);
}

/* The fusion model's scores: kept across a reopen exactly, refused when
 * absent, empty or read-only, and a damaged value named as such. */
static void test_storage_control_fusion_scores(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *c = open_ok(dir, 0);
    sidik_control_txn *t;
    uint32_t gen[3] = {9000, 12000, 7}, imp[5] = {1, 2, 3, 4, 65535};
    uint32_t *g, *i, ng, ni;
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    assert_int_equal(sidik_control_fusion_get(t, &g, &ng, &i, &ni), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_control_fusion_put(t, gen, 3, imp, 5), SIDIK_ESTATE); /* read-only */
    sidik_control_abort(t);
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    assert_int_equal(sidik_control_fusion_put(t, gen, 0, imp, 5), SIDIK_EINVAL);
    assert_int_equal(sidik_control_fusion_put(t, gen, 3, imp, 0), SIDIK_EINVAL);
    assert_int_equal(sidik_control_fusion_put(t, NULL, 3, imp, 5), SIDIK_EINVAL);
    assert_int_equal(sidik_control_fusion_put(t, gen, 3, imp, (1u << 22) + 1), SIDIK_EINVAL);
    assert_int_equal(sidik_control_fusion_put(t, gen, 3, imp, 5), 0);
    assert_int_equal(sidik_control_fusion_get(t, NULL, &ng, &i, &ni), SIDIK_EINVAL);
    assert_int_equal(sidik_control_commit(t), 0);
    sidik_control_close(c);

    c = open_ok(dir, 0);
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    assert_int_equal(sidik_control_fusion_get(t, &g, &ng, &i, &ni), 0);
    assert_int_equal(ng, 3);
    assert_int_equal(ni, 5);
    assert_memory_equal(g, gen, sizeof gen);
    assert_memory_equal(i, imp, sizeof imp);
    sidik_free(g);
    sidik_free(i);
    sidik_control_abort(t);
    sidik_control_close(c);

    /* A value cut short, one whose counts lie, another version. */
    uint32_t lying[5] = {1, 3, 5, 10, 20}, other[5] = {2, 1, 1, 10, 20};
    struct {
        const void *v;
        size_t n;
        int want;
    } bad[] = {{lying, 6, SIDIK_ECORRUPT}, {lying, sizeof lying, SIDIK_ECORRUPT},
               {other, sizeof other, SIDIK_EVERSION}};
    for (size_t k = 0; k < SIDIK_ARRAY_SIZE(bad); k++) {
        raw_lmdb_put(dir, "meta", "fusion", 6, bad[k].v, bad[k].n);
        c = open_ok(dir, 0);
        assert_int_equal(sidik_control_begin(c, false, &t), 0);
        assert_int_equal(sidik_control_fusion_get(t, &g, &ng, &i, &ni), bad[k].want);
        sidik_control_abort(t);
        sidik_control_close(c);
    }
    scratch_remove(dir);
}

/* The person index: a record names its enrollment, a NIK its first
 * holder; repeats are no change, conflicts refused, damage named. */
static void test_storage_control_persons(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *c = open_ok(dir, 0);
    sidik_control_txn *t;
    sidik_enroll_id id;
    uint64_t rec = 0;
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    assert_int_equal(sidik_control_person_put(t, 5, "e5", "3171012505900001"), SIDIK_ESTATE);
    assert_int_equal(sidik_control_person_id(t, 5, id), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_control_person_by_nik(t, "3171012505900001", &rec), SIDIK_ENOTFOUND);
    sidik_control_abort(t);
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    assert_int_equal(sidik_control_person_put(t, 5, "e5", "3171012505900001"), 0);
    assert_int_equal(sidik_control_person_put(t, 5, "e5", "3171012505900001"), 0); /* again */
    assert_int_equal(sidik_control_person_put(t, 5, "other", "3171012505900001"), SIDIK_EEXISTS);
    assert_int_equal(sidik_control_person_put(t, 9, "e9", "3171012505900001"), 0); /* NIK taken */
    assert_int_equal(sidik_control_person_put(t, 11, "e11", ""), 0);               /* no NIK */
    assert_int_equal(sidik_control_person_put(t, 0, "e0", ""), SIDIK_EINVAL);
    assert_int_equal(sidik_control_person_put(t, 12, "has space", ""), SIDIK_EINVAL);
    assert_int_equal(sidik_control_person_put(t, 12, "e12", "31710125059"), SIDIK_EINVAL);
    assert_int_equal(sidik_control_person_put(t, 12, "e12", "317101250590000A"), SIDIK_EINVAL);
    assert_int_equal(sidik_control_person_put(t, 12, NULL, ""), SIDIK_EINVAL);
    assert_int_equal(sidik_control_commit(t), 0);
    sidik_control_close(c);

    c = open_ok(dir, 0);
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    assert_int_equal(sidik_control_person_id(t, 5, id), 0);
    assert_string_equal(id, "e5");
    assert_int_equal(sidik_control_person_id(t, 9, id), 0);
    assert_string_equal(id, "e9");
    assert_int_equal(sidik_control_person_by_nik(t, "3171012505900001", &rec), 0);
    assert_int_equal(rec, 5); /* the first holder */
    assert_int_equal(sidik_control_person_by_nik(t, "", &rec), SIDIK_EINVAL);
    assert_int_equal(sidik_control_person_by_nik(t, "12", &rec), SIDIK_EINVAL);
    assert_int_equal(sidik_control_person_id(t, 0, id), SIDIK_EINVAL);
    sidik_control_abort(t);
    sidik_control_close(c);

    /* Damage behind the store's back. */
    uint8_t k5[8] = {0, 0, 0, 0, 0, 0, 0, 5};
    raw_lmdb_put(dir, "person", k5, 8, "", 0);
    raw_lmdb_put(dir, "nik", "3171012505900001", 16, "\x01\x02\x03", 3);
    c = open_ok(dir, 0);
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    assert_int_equal(sidik_control_person_id(t, 5, id), SIDIK_ECORRUPT);
    assert_int_equal(sidik_control_person_by_nik(t, "3171012505900001", &rec), SIDIK_ECORRUPT);
    sidik_control_abort(t);
    sidik_control_close(c);
    scratch_remove(dir);
}

/* Every enrollment put is found by its journal sequence, whatever its
 * status; a refused put indexes nothing; damage reads as ECORRUPT. */
static void test_storage_control_enroll_at(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *c = open_ok(dir, 0);
    sidik_enrollment a = make("a-7", "JKT-01", 7), b = make("b-9", "BDG-02", 9);
    assert_int_equal(put(c, &a), 0);
    assert_int_equal(put(c, &b), 0);
    sidik_enrollment clash = make("a-7", "JKT-01", 8); /* the same id at another sequence */
    assert_int_equal(put(c, &clash), SIDIK_EEXISTS);
    assert_int_equal(set_status(c, "b-9", SIDIK_STATUS_ADJUDICATE, 0), 0);
    sidik_control_txn *t;
    sidik_enroll_id id;
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    assert_int_equal(sidik_control_enroll_at(t, 7, id), 0);
    assert_string_equal(id, "a-7");
    assert_int_equal(sidik_control_enroll_at(t, 9, id), 0);
    assert_string_equal(id, "b-9");
    assert_int_equal(sidik_control_enroll_at(t, 8, id), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_control_enroll_at(t, UINT64_MAX, id), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_control_enroll_at(t, 0, id), SIDIK_EINVAL);
    assert_int_equal(sidik_control_enroll_at(t, 7, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_control_enroll_at(NULL, 7, id), SIDIK_EINVAL);
    sidik_control_abort(t);
    sidik_control_close(c);

    uint8_t k7[8] = {0, 0, 0, 0, 0, 0, 0, 7}, k9[8] = {0, 0, 0, 0, 0, 0, 0, 9};
    char long_id[SIDIK_ENROLL_ID_MAX + 1];
    memset(long_id, 'x', sizeof long_id);
    raw_lmdb_put(dir, "enroll_seq", k7, 8, "", 0);
    raw_lmdb_put(dir, "enroll_seq", k9, 8, long_id, sizeof long_id);
    c = open_ok(dir, 0);
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    assert_int_equal(sidik_control_enroll_at(t, 7, id), SIDIK_ECORRUPT);
    assert_int_equal(sidik_control_enroll_at(t, 9, id), SIDIK_ECORRUPT);
    sidik_control_abort(t);
    sidik_control_close(c);
    scratch_remove(dir);
}

static void test_storage_control_format_and_damage(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *c = open_ok(dir, 0);
    sidik_enrollment e = make("victim", "OF", 1), got;
    assert_int_equal(put(c, &e), 0);
    sidik_control_close(c);

    /* A record that does not parse. */
    raw_lmdb_put(dir, "enroll", "victim", 6, "\x01\x03", 2);
    c = open_ok(dir, 0);
    assert_int_equal(get(c, "victim", &got), SIDIK_ECORRUPT);
    sidik_control_close(c);

    /* Another format version (a later one: 1 and 2 are upgraded, 3 is this one). */
    uint32_t v4 = 4;
    raw_lmdb_put(dir, "meta", "format", 6, &v4, sizeof v4);
    const char *why = NULL;
    assert_int_equal(sidik_control_open(dir, NULL, &c, &why), SIDIK_EVERSION);
    assert_string_equal(why, "control store written by another format version");
    scratch_remove(dir);

    /* Not an LMDB file at all. */
    dir = scratch_create();
    char *path;
    assert_true(asprintf(&path, "%s/data.mdb", dir) > 0);
    int fd = open(path, O_WRONLY | O_CREAT, 0640);
    uint8_t junk[8192];
    uint64_t r = 3;
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)sidik_test_rand(&r);
    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);
    assert_int_equal(sidik_control_open(dir, NULL, &c, &why), SIDIK_ECORRUPT);
    free(path);
    scratch_remove(dir);
    assert_int_equal(sidik_control_open(NULL, NULL, &c, &why), SIDIK_EINVAL);
    assert_int_equal(sidik_control_open("/proc/version/x", NULL, &c, &why), -ENOTDIR);
}

/* A full map refuses the transaction with SIDIK_EFULL and keeps every
 * committed record; a larger map carries on. */
static void test_storage_control_full(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *c = open_ok(dir, 256 << 10);
    int committed = 0, rc = 0;
    for (int i = 0; rc == 0 && i < 100000; i++) {
        char id[16];
        snprintf(id, sizeof id, "id-%d", i);
        sidik_enrollment e = make(id, "OF", (uint64_t)i + 1);
        rc = put(c, &e);
        committed += rc == 0;
    }
    assert_int_equal(rc, SIDIK_EFULL);
    assert_true(committed > 100);
    sidik_control_close(c);
    c = open_ok(dir, 64 << 20);
    listed l;
    int seen = 0;
    for (uint64_t after = 0;; after = l.seqs[l.n - 1]) {
        l = list(c, "OF", 0, after, 64);
        if (l.n == 0)
            break;
        seen += l.n;
    }
    assert_int_equal(seen, committed);
    sidik_enrollment e = make("after-growth", "OF", 1000000);
    assert_int_equal(put(c, &e), 0);
    sidik_control_close(c);
    scratch_remove(dir);
}

static void test_storage_control_alloc_failures(void **state)
{
    (void)state;
    char *dir = scratch_create();
    for (uint64_t nth = 1; nth < 10; nth++) {
        sidik_control *c = NULL;
        sidik_alloc_fail_nth(nth);
        int rc = sidik_control_open(dir, NULL, &c, NULL);
        sidik_control_txn *t = NULL;
        if (rc == 0)
            rc = sidik_control_begin(c, false, &t);
        bool pending = sidik_alloc_fail_pending();
        sidik_alloc_fail_nth(0);
        if (rc != 0)
            assert_int_equal(rc, SIDIK_ENOMEM);
        sidik_control_abort(t);
        sidik_control_close(c);
        if (pending)
            break;
    }
    scratch_remove(dir);
}


static sidik_decision_record decision(sidik_status outcome, uint32_t ncand)
{
    sidik_decision_record d = {.outcome = outcome, .time_ms = 1800000000123, .gallery_size = 1000000,
                        .threshold = -2.5, .review_threshold = -5.75, .ncandidates = ncand};
    snprintf(d.reason, sizeof d.reason, "search: %u candidates", ncand);
    for (uint32_t i = 0; i < ncand; i++) {
        sidik_decision_candidate *c = &d.candidate[i];
        c->record_id = 7000 + i;
        c->llr = 12.5 - i;
        c->threshold = -2.5;
        c->signature = 0.25f + (float)i;
        c->compared = (uint16_t)(0x3ff >> i);
        for (int f = 0; f < 10; f++)
            c->score[f] = (uint16_t)(100 * i + (uint32_t)f);
    }
    return d;
}

static void test_storage_control_decisions(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *c = open_ok(dir, 0);
    sidik_enrollment e = make("dec-1", "OF", 1);
    assert_int_equal(put(c, &e), 0);
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    uint32_t n, index;
    assert_int_equal(sidik_control_decision_count(t, "dec-1", &n), 0);
    assert_int_equal(n, 0);
    sidik_decision_record got, first = decision(SIDIK_STATUS_ADJUDICATE, SIDIK_DECISION_RECORD_CANDIDATES);
    assert_int_equal(sidik_control_decision_get(t, "dec-1", UINT32_MAX, &got), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_control_decision_add(t, "dec-1", &first, &index), 0);
    assert_int_equal(index, 0);
    /* The adjudicator's, with who decided. */
    sidik_decision_record second = decision(SIDIK_STATUS_DUPLICATE, 1);
    snprintf(second.reason, sizeof second.reason, "adjudicator CN=ana.sari: same person, scar");
    assert_int_equal(sidik_control_decision_add(t, "dec-1", &second, &index), 0);
    assert_int_equal(index, 1);
    assert_int_equal(sidik_control_commit(t), 0);
    sidik_control_close(c);

    c = open_ok(dir, 0);
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    assert_int_equal(sidik_control_decision_count(t, "dec-1", &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(sidik_control_decision_get(t, "dec-1", 0, &got), 0);
    assert_memory_equal(&got, &first, sizeof got);
    assert_int_equal(sidik_control_decision_get(t, "dec-1", UINT32_MAX, &got), 0);
    assert_memory_equal(&got, &second, sizeof got);
    assert_int_equal(sidik_control_decision_get(t, "dec-1", 2, &got), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_control_decision_get(t, "nobody", 0, &got), SIDIK_ENOTFOUND);
    /* An id that is a prefix of another keeps its own list. */
    assert_int_equal(sidik_control_decision_count(t, "dec-", &n), 0);
    assert_int_equal(n, 0);
    sidik_decision_record d = decision(SIDIK_STATUS_PRINT_READY, 0);
    assert_int_equal(sidik_control_decision_add(t, "dec-1", &d, NULL), SIDIK_ESTATE); /* read-only */
    sidik_control_abort(t);
    sidik_control_close(c);
    scratch_remove(dir);
}

static void test_storage_control_decision_hostile(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *c = open_ok(dir, 0);
    sidik_enrollment e = make("dec-2", "OF", 1);
    assert_int_equal(put(c, &e), 0);
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    sidik_decision_record d = decision(SIDIK_STATUS_PRINT_READY, 2);
    assert_int_equal(sidik_control_decision_add(t, "no-such", &d, NULL), SIDIK_ENOTFOUND);
    sidik_decision_record bad[8];
    int n = 0;
    bad[n] = d, bad[n++].outcome = SIDIK_STATUS_RECEIVED;           /* not a decision */
    bad[n] = d, bad[n++].outcome = (sidik_status)42;
    bad[n] = d, bad[n++].ncandidates = SIDIK_DECISION_RECORD_CANDIDATES + 1;
    bad[n] = d, memset(bad[n++].reason, 'r', sizeof d.reason);       /* unterminated */
    bad[n] = d, strcpy(bad[n++].reason, "line\nbreak");              /* control byte */
    bad[n] = d, bad[n++].threshold = NAN;
    bad[n] = d, bad[n++].candidate[1].record_id = 0;
    bad[n] = d, bad[n++].candidate[0].compared = 1u << 10;
    for (int i = 0; i < n; i++)
        assert_int_equal(sidik_control_decision_add(t, "dec-2", &bad[i], NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_control_decision_add(t, "bad id", &d, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_control_decision_add(t, "dec-2", NULL, NULL), SIDIK_EINVAL);
    for (int i = 0; i < SIDIK_DECISION_RECORD_MAX; i++)
        assert_int_equal(sidik_control_decision_add(t, "dec-2", &d, NULL), 0);
    assert_int_equal(sidik_control_decision_add(t, "dec-2", &d, NULL), SIDIK_ESTATE);
    assert_int_equal(sidik_control_commit(t), 0);
    sidik_control_close(c);

    /* A damaged value. */
    uint8_t key[7] = {'d', 'e', 'c', '-', '2', 0, 3};
    raw_lmdb_put(dir, "decision", key, sizeof key, "\x01\x02", 2);
    c = open_ok(dir, 0);
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    sidik_decision_record got;
    assert_int_equal(sidik_control_decision_get(t, "dec-2", 3, &got), SIDIK_ECORRUPT);
    assert_int_equal(sidik_control_decision_get(t, "dec-2", 4, &got), 0);
    sidik_control_abort(t);
    sidik_control_close(c);
    scratch_remove(dir);
}


static void audit_add(sidik_control *c, int i)
{
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    sidik_audit_entry e = {.kind = SIDIK_AUDIT_DECISION + i % 4, .time_ms = 1800000000000 + i};
    snprintf(e.actor, sizeof e.actor, "auditor:auditor.dewi");
    snprintf(e.subject, sizeof e.subject, "enr-%04d", i);
    snprintf(e.detail, sizeof e.detail, "decision %d: PRINT_READY, 0 candidates", i);
    sidik_audit_entry out;
    assert_int_equal(sidik_control_audit_append(t, &e, &out), 0);
    assert_int_equal(out.seq, (uint64_t)i);
    assert_int_equal(sidik_control_commit(t), 0);
}

static int audit_verify(sidik_control *c, uint64_t *checked, uint64_t *bad)
{
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    int rc = sidik_control_audit_verify(t, checked, bad);
    sidik_control_abort(t);
    return rc;
}

static void test_storage_control_audit_chain(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *c = open_ok(dir, 0);
    uint64_t checked, bad;
    assert_int_equal(audit_verify(c, &checked, &bad), 0);
    assert_int_equal(checked, 0);
    for (int i = 1; i <= 10; i++)
        audit_add(c, i);
    assert_int_equal(audit_verify(c, &checked, &bad), 0);
    assert_int_equal(checked, 10);
    sidik_control_txn *t;
    sidik_audit_entry e, prev;
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    assert_int_equal(sidik_control_audit_get(t, 4, &e), 0);
    assert_int_equal(sidik_control_audit_get(t, 3, &prev), 0);
    assert_string_equal(e.subject, "enr-0004");
    assert_int_equal(e.kind, SIDIK_AUDIT_DECISION);
    assert_memory_equal(e.prev, prev.hash, 32); /* the chain */
    assert_int_equal(sidik_control_audit_get(t, 11, &e), SIDIK_ENOTFOUND);
    sidik_control_abort(t);
    /* Hostile fields. */
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    sidik_audit_entry bad_e = {.kind = (sidik_audit_kind)9};
    assert_int_equal(sidik_control_audit_append(t, &bad_e, NULL), SIDIK_EINVAL);
    bad_e.kind = SIDIK_AUDIT_ADMIN;
    strcpy(bad_e.detail, "two\nlines");
    assert_int_equal(sidik_control_audit_append(t, &bad_e, NULL), SIDIK_EINVAL);
    bad_e.detail[0] = 0;
    memset(bad_e.actor, 'a', sizeof bad_e.actor); /* unterminated */
    assert_int_equal(sidik_control_audit_append(t, &bad_e, NULL), SIDIK_EINVAL);
    sidik_control_abort(t);
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    sidik_audit_entry ok_e = {.kind = SIDIK_AUDIT_ADMIN};
    assert_int_equal(sidik_control_audit_append(t, &ok_e, NULL), SIDIK_ESTATE);
    sidik_control_abort(t);
    sidik_control_close(c);
    scratch_remove(dir);
}

/* Someone edits the store behind sidik's back: verify names the first
 * entry that no longer holds, and appends refuse to chain onto damage. */
static void test_storage_control_audit_tamper(void **state)
{
    (void)state;
    for (int scenario = 0; scenario < 4; scenario++) {
        char *dir = scratch_create();
        sidik_control *c = open_ok(dir, 0);
        for (int i = 1; i <= 10; i++)
            audit_add(c, i);
        sidik_control_txn *t;
        sidik_audit_entry e;
        assert_int_equal(sidik_control_begin(c, false, &t), 0);
        assert_int_equal(sidik_control_audit_get(t, 5, &e), 0);
        sidik_control_abort(t);
        sidik_control_close(c);
        uint8_t key[8] = {0, 0, 0, 0, 0, 0, 0, 5};
        uint64_t want_bad = 5;
        if (scenario == 0) {
            /* One letter of entry 5's detail changed, its value otherwise intact:
             * re-read the raw value and flip a byte of the detail. */
            MDB_env *env;
            MDB_txn *txn;
            MDB_dbi dbi;
            assert_int_equal(mdb_env_create(&env), 0);
            assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
            assert_int_equal(mdb_env_open(env, dir, 0, 0640), 0);
            assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
            assert_int_equal(mdb_dbi_open(txn, "audit", 0, &dbi), 0);
            MDB_val k = {8, key}, v;
            assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
            uint8_t copy[1024];
            memcpy(copy, v.mv_data, v.mv_size);
            copy[16 + strlen(e.actor) + strlen(e.subject)] ^= 0x20; /* first detail letter */
            MDB_val nv = {v.mv_size, copy};
            assert_int_equal(mdb_put(txn, dbi, &k, &nv, 0), 0);
            assert_int_equal(mdb_txn_commit(txn), 0);
            mdb_env_close(env);
        } else if (scenario == 1) {
            raw_lmdb_put(dir, "audit", key, 8, NULL, 0); /* entry 5 removed */
        } else if (scenario == 2) {
            key[7] = 10;
            raw_lmdb_put(dir, "audit", key, 8, NULL, 0); /* the last entry removed */
            want_bad = 10;
        } else {
            key[7] = 10; /* the last entry and the head rewritten together */
            raw_lmdb_put(dir, "audit", key, 8, NULL, 0);
            uint8_t head[40] = {9}; /* seq 9, a made-up hash */
            raw_lmdb_put(dir, "meta", "audit_head", 10, head, sizeof head);
            want_bad = 10;
        }
        c = open_ok(dir, 0);
        uint64_t checked, bad;
        assert_int_equal(audit_verify(c, &checked, &bad), SIDIK_ECORRUPT);
        if (bad != want_bad)
            print_error("scenario %d: first bad %llu\n", scenario, (unsigned long long)bad);
        assert_int_equal(bad, want_bad);
        assert_int_equal(checked, want_bad - 1);
        if (scenario == 2) {
            assert_int_equal(sidik_control_begin(c, true, &t), 0);
            sidik_audit_entry more = {.kind = SIDIK_AUDIT_ADMIN};
            assert_int_equal(sidik_control_audit_append(t, &more, NULL), SIDIK_ECORRUPT);
            sidik_control_abort(t);
        }
        sidik_control_close(c);
        scratch_remove(dir);
    }
}


static int print_op(sidik_control *c, int op, const char *a, const char *b, int64_t now,
                    sidik_enroll_id *ids, uint32_t *n)
{
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    int rc = op == 0   ? sidik_control_print_enqueue(t, a, b)
             : op == 1 ? sidik_control_print_lease(t, a, b, now, 60000, *n, ids, n)
                       : sidik_control_print_ack(t, a, b, now);
    if (rc == 0)
        return sidik_control_commit(t);
    sidik_control_abort(t);
    return rc;
}

static void test_storage_control_print_queue(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *c = open_ok(dir, 0);
    /* Journal sequences 5, 3, 9 in region 31.71; 7 in 32.73; 8 not ready. */
    const struct {
        const char *id;
        uint64_t seq;
        const char *region;
    } en[] = {{"p5", 5, "31.71"}, {"p3", 3, "31.71"}, {"p9", 9, "31.71"}, {"p7", 7, "32.73"},
              {"p8", 8, "31.71"}};
    for (size_t i = 0; i < SIDIK_ARRAY_SIZE(en); i++) {
        sidik_enrollment e = make(en[i].id, "OF", en[i].seq);
        assert_int_equal(put(c, &e), 0);
        if (i < 4)
            assert_int_equal(set_status(c, en[i].id, SIDIK_STATUS_PRINT_READY, en[i].seq), 0);
        int rc = print_op(c, 0, en[i].id, en[i].region, 0, NULL, NULL);
        assert_int_equal(rc, i < 4 ? 0 : SIDIK_ESTATE);
    }
    assert_int_equal(print_op(c, 0, "p5", "31.71", 0, NULL, NULL), SIDIK_EEXISTS);
    sidik_enroll_id ids[8];
    uint32_t n = 2;
    assert_int_equal(print_op(c, 1, "31.71", "st-A", 1000, ids, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ids[0], "p3"); /* journal order */
    assert_string_equal(ids[1], "p5");
    n = 8;
    assert_int_equal(print_op(c, 1, "31.71", "st-A", 1000, ids, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], "p9");
    n = 8;
    assert_int_equal(print_op(c, 1, "31.71", "st-B", 2000, ids, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(print_op(c, 0, "p3", "31.71", 0, NULL, NULL), SIDIK_EEXISTS); /* leased */

    /* Acknowledged by its station only, and once. */
    assert_int_equal(print_op(c, 2, "p3", "st-B", 3000, NULL, NULL), SIDIK_EDENIED);
    assert_int_equal(print_op(c, 2, "p3", "st-A", 3000, NULL, NULL), 0);
    assert_int_equal(print_op(c, 2, "p3", "st-A", 3001, NULL, NULL), SIDIK_ENOTFOUND);
    sidik_enrollment e;
    assert_int_equal(get(c, "p3", &e), 0);
    assert_int_equal(e.status, SIDIK_STATUS_PRINTED);
    assert_int_equal(e.nhistory, 3);
    assert_int_equal(print_op(c, 0, "p3", "31.71", 0, NULL, NULL), SIDIK_ESTATE); /* printed */

    /* p5 and p9 not acknowledged by the end of their lease: back in the
     * queue, in journal order, for whoever asks next. */
    sidik_control_close(c);
    c = open_ok(dir, 0);
    n = 8;
    assert_int_equal(print_op(c, 1, "31.71", "st-B", 1000 + 60000, ids, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ids[0], "p5");
    assert_string_equal(ids[1], "p9");
    assert_int_equal(print_op(c, 2, "p5", "st-A", 61001, NULL, NULL), SIDIK_EDENIED);
    assert_int_equal(print_op(c, 2, "p5", "st-B", 61001, NULL, NULL), 0);
    /* Another region's queue is its own. */
    n = 8;
    assert_int_equal(print_op(c, 1, "32.73", "st-C", 61001, ids, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], "p7");
    /* Expire by itself: p9 (st-B, until 121000) and p7 (st-C, until 121001). */
    sidik_control_txn *t;
    uint32_t back;
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    assert_int_equal(sidik_control_print_expire(t, 121000, &back), 0);
    assert_int_equal(back, 1);
    assert_int_equal(sidik_control_print_expire(t, 200000, &back), 0);
    assert_int_equal(back, 1);
    assert_int_equal(sidik_control_commit(t), 0);
    sidik_control_close(c);
    scratch_remove(dir);
}

static void test_storage_control_print_hostile(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *c = open_ok(dir, 0);
    sidik_enroll_id ids[2];
    uint32_t n = 2;
    char long_station[80];
    memset(long_station, 's', 79);
    long_station[79] = 0;
    assert_int_equal(print_op(c, 0, "x", "31 71", 0, NULL, NULL), SIDIK_EINVAL);
    assert_int_equal(print_op(c, 0, "x", "", 0, NULL, NULL), SIDIK_EINVAL);
    assert_int_equal(print_op(c, 0, "x", "12345678901234567", 0, NULL, NULL), SIDIK_EINVAL);
    assert_int_equal(print_op(c, 0, "nobody", "31.71", 0, NULL, NULL), SIDIK_ENOTFOUND);
    assert_int_equal(print_op(c, 1, "31.71", long_station, 0, ids, &n), SIDIK_EINVAL);
    assert_int_equal(print_op(c, 1, "31.71", "st/../x", 0, ids, &n), SIDIK_EINVAL);
    assert_int_equal(print_op(c, 2, "bad id", "st-A", 0, NULL, NULL), SIDIK_EINVAL);
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    assert_int_equal(sidik_control_print_lease(t, "31.71", "st-A", 0, 0, 2, ids, &n), SIDIK_EINVAL);
    assert_int_equal(sidik_control_print_lease(t, "31.71", "st-A", 0, 1000, 2, NULL, &n), SIDIK_EINVAL);
    sidik_control_abort(t);
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    assert_int_equal(sidik_control_print_lease(t, "31.71", "st-A", 0, 1000, 2, ids, &n), SIDIK_ESTATE);
    assert_int_equal(sidik_control_print_ack(t, "p1", "st-A", 0), SIDIK_ESTATE);
    sidik_control_abort(t);
    sidik_control_close(c);
    scratch_remove(dir);
}

static const struct CMUnitTest tests[] = {
    SIDIK_TEST(test_storage_control_enrollment_roundtrip),
    SIDIK_TEST(test_storage_control_status_rules),
    SIDIK_TEST(test_storage_control_office_listing),
    SIDIK_TEST(test_storage_control_hostile_fields),
    SIDIK_TEST(test_storage_control_replay_points_and_directory),
    SIDIK_TEST(test_storage_control_fusion_scores),
    SIDIK_TEST(test_storage_control_persons),
    SIDIK_TEST(test_storage_control_enroll_at),
    SIDIK_TEST(test_storage_control_format_and_damage),
    SIDIK_TEST(test_storage_control_full),
    SIDIK_TEST(test_storage_control_alloc_failures),
    SIDIK_TEST(test_storage_control_decisions),
    SIDIK_TEST(test_storage_control_decision_hostile),
    SIDIK_TEST(test_storage_control_audit_chain),
    SIDIK_TEST(test_storage_control_audit_tamper),
    SIDIK_TEST(test_storage_control_print_queue),
    SIDIK_TEST(test_storage_control_print_hostile),
};

int main(void)
{
    return cmocka_run_group_tests(tests, NULL, NULL);
}
