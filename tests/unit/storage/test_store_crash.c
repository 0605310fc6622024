/*
 * The whole store under SIGKILL: journal, control store and shards written
 * the way the pipeline writes them.
 *
 * The child takes enrollments (here: record id = journal sequence, the
 * person's template as payload), acknowledges each batch once the journal
 * says it is durable, and applies the journal to the stores: the person into
 * a shard and the directory (sidik_shardset_put), then in one control
 * transaction its enrollment, PRINT_READY with the record id, and the replay
 * point. The parent kills it at a random moment, reopens everything, replays
 * the journal after the replay point exactly as the child would, and
 * requires: every acknowledged enrollment in the journal intact, decided
 * once (one history of RECEIVED then PRINT_READY), its record in exactly one
 * shard (one walk of the directory's snapshot) and readable; nothing beyond
 * the journal's end anywhere.
 *
 * SIDIK_CRASH_KILLS sets the number of kills (default 200).
 */
#include "people.h"
#include "storage_test.h"

#include "sidik/common.h"
#include "sidik/control.h"
#include "sidik/journal.h"
#include "sidik/shardset.h"

#include <fcntl.h>

#define SHARDS 3

typedef struct store {
    sidik_journal *journal;
    sidik_control *control;
    sidik_shardset *gallery;
} store;

static int store_open(const char *root, store *st)
{
    char path[600];
    int rc;
    sidik_journal_options jo = {.segment_bytes = 64 << 10};
    snprintf(path, sizeof path, "%s/journal", root);
    if ((rc = sidik_journal_open(path, &jo, &st->journal, NULL)) != 0)
        return rc;
    snprintf(path, sizeof path, "%s/control", root);
    if ((rc = sidik_control_open(path, NULL, &st->control, NULL)) != 0)
        return rc;
    snprintf(path, sizeof path, "%s/gallery", root);
    if ((rc = sidik_shardset_open(path, st->control, NULL, &st->gallery, NULL)) != 0)
        return rc;
    sidik_shard_info info[SHARDS];
    uint32_t n, added;
    if ((rc = sidik_shardset_list(st->gallery, info, SHARDS, &n)) != 0)
        return rc;
    while (rc == 0 && n++ < SHARDS)
        rc = sidik_shardset_add(st->gallery, &added);
    return rc;
}

static void store_close(store *st)
{
    sidik_shardset_close(st->gallery);
    sidik_control_close(st->control);
    sidik_journal_close(st->journal);
}

static void enroll_id(char out[SIDIK_ENROLL_ID_MAX + 1], uint64_t seq)
{
    snprintf(out, SIDIK_ENROLL_ID_MAX + 1, "enr-%08llu", (unsigned long long)seq);
}

/* Applies journal entry seq: what the pipeline does for a UNIQUE decision. */
static int apply_one(void *ctx, uint64_t seq, uint32_t kind, const void *p, size_t n)
{
    store *st = ctx;
    uint64_t id;
    if (kind != 1 || n != sizeof id)
        return SIDIK_ECORRUPT;
    memcpy(&id, p, sizeof id);
    if (id != seq)
        return SIDIK_ECORRUPT;
    sidik_shard_record r = person_record(id);
    int rc = sidik_shardset_put(st->gallery, &r, 1, NULL);
    if (rc != 0 && rc != SIDIK_EEXISTS) /* EEXISTS: stored before a crash */
        return rc;
    sidik_control_txn *t;
    if ((rc = sidik_control_begin(st->control, true, &t)) != 0)
        return rc;
    sidik_enrollment e = {.status = SIDIK_STATUS_RECEIVED, .journal_seq = seq, .nhistory = 1};
    enroll_id(e.id, seq);
    snprintf(e.office, sizeof e.office, "OFFICE-%llu", (unsigned long long)(seq % 7));
    e.history[0] = (sidik_status_change){SIDIK_STATUS_RECEIVED, (int64_t)seq};
    rc = sidik_control_enroll_put(t, &e);
    if (rc == 0)
        rc = sidik_control_enroll_status(t, e.id, SIDIK_STATUS_PRINT_READY, (int64_t)seq, id);
    if (rc == 0)
        rc = sidik_control_set_applied(t, seq);
    if (rc != 0) {
        sidik_control_abort(t);
        return rc;
    }
    return sidik_control_commit(t);
}

/* Replays everything durable after the replay point. */
static int apply_all(store *st)
{
    sidik_control_txn *t;
    uint64_t applied;
    int rc = sidik_control_begin(st->control, false, &t);
    if (rc != 0)
        return rc;
    rc = sidik_control_applied(t, &applied);
    sidik_control_abort(t);
    return rc != 0 ? rc : sidik_journal_scan(st->journal, applied + 1, apply_one, st);
}

static void writer(const char *root, int ack, uint64_t seed)
{
    store st;
    if (store_open(root, &st) != 0 || apply_all(&st) != 0)
        _exit(3);
    for (;;) {
        unsigned k = 1 + (unsigned)(sidik_test_rand(&seed) % 8);
        uint64_t seq = 0;
        for (unsigned i = 0; i < k; i++) {
            uint64_t id = sidik_journal_next(st.journal);
            if (sidik_journal_append(st.journal, 1, &id, sizeof id, &seq) != 0 || seq != id)
                _exit(4);
        }
        if (sidik_journal_wait(st.journal, seq) != 0)
            _exit(5);
        if (write(ack, &seq, sizeof seq) != (ssize_t)sizeof seq)
            _exit(6);
        if (apply_all(&st) != 0)
            _exit(7);
    }
}

static void writer_child(void *ctx, int ack, uint64_t seed)
{
    writer(ctx, ack, seed);
}

typedef struct census {
    uint8_t *seen;
    uint64_t last, count, twice, stray;
} census;

static int census_one(void *ctx, const uint64_t *ids, const sidik_person_sig *sigs, size_t n,
                      uint32_t shard)
{
    census *c = ctx;
    (void)shard;
    for (size_t i = 0; i < n; i++) {
        uint64_t id = ids[i];
        if (id == 0 || id > c->last ||
            memcmp(&sigs[i], &people[id % PERSONS].sig, sizeof sigs[i]) != 0) {
            c->stray++;
            continue;
        }
        c->twice += c->seen[id]++ != 0;
        c->count++;
    }
    return 0;
}

/* After a restart and replay: the invariants of the header. */
static void verify(store *st, uint64_t acked, int kill)
{
    uint64_t last = sidik_journal_next(st->journal) - 1;
    if (last < acked)
        print_error("kill %d: acknowledged %llu, journal ends at %llu\n", kill,
                    (unsigned long long)acked, (unsigned long long)last);
    assert_true(last >= acked);
    sidik_control_txn *t;
    uint64_t applied;
    assert_int_equal(sidik_control_begin(st->control, false, &t), 0);
    assert_int_equal(sidik_control_applied(t, &applied), 0);
    assert_int_equal(applied, last);
    sidik_fmr *f = malloc(sizeof *f);
    for (uint64_t seq = 1; seq <= last; seq++) {
        sidik_enrollment e;
        char id[SIDIK_ENROLL_ID_MAX + 1];
        enroll_id(id, seq);
        assert_int_equal(sidik_control_enroll_get(t, id, &e), 0);
        assert_int_equal(e.status, SIDIK_STATUS_PRINT_READY);
        assert_int_equal(e.nhistory, 2); /* decided once */
        assert_int_equal(e.record_id, seq);
        assert_int_equal(sidik_shardset_fetch(st->gallery, seq, f), 0);
        assert_int_equal(f->nviews, people[seq % PERSONS].fmr.nviews);
    }
    /* Nothing past the journal's end. */
    sidik_enrollment e;
    char id[SIDIK_ENROLL_ID_MAX + 1];
    enroll_id(id, last + 1);
    assert_int_equal(sidik_control_enroll_get(t, id, &e), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_shardset_fetch(st->gallery, last + 1, f), SIDIK_ENOTFOUND);
    sidik_control_abort(t);
    free(f);
    census c = {.seen = calloc(last + 2, 1), .last = last};
    assert_int_equal(sidik_shardset_each(st->gallery, NULL, census_one, &c), 0);
    assert_int_equal(c.count, last);
    assert_int_equal(c.twice, 0);
    assert_int_equal(c.stray, 0);
    free(c.seen);
}

static void test_storage_store_sigkill(void **state)
{
    (void)state;
    const char *env = getenv("SIDIK_CRASH_KILLS");
    int kills = env ? atoi(env) : 200;
    char *root = scratch_create();
    uint64_t rng = 5150, acked = 0;
    for (int k = 0; k < kills; k++) {
        acked = crash_round(writer_child, root, &rng, 30000000, acked);

        store st;
        assert_int_equal(store_open(root, &st), 0);
        assert_int_equal(apply_all(&st), 0); /* the restart's replay */
        verify(&st, acked, k);
        store_close(&st);
    }
    printf("%d kills: %llu enrollments acknowledged, every one present once\n", kills,
           (unsigned long long)acked);
    assert_true(acked > 0);
    scratch_remove(root);
}

int main(void)
{
    sidik_log_set_fd(open("/dev/null", O_WRONLY));
    const struct CMUnitTest tests[] = {SIDIK_TEST(test_storage_store_sigkill)};
    return cmocka_run_group_tests(tests, make_people, free_people);
}
