/*
 * The dedup stage's set of enrollments awaiting review (server/dedup_review.h):
 * kept in sequence order whatever order they come in, found by sequence,
 * removed once, refusing bad arguments and a second add of one sequence, and
 * unchanged when an allocation fails.
 */
#include "test_support.h"

#include "../../../server/dedup_review.h"
#include "sidik/common.h"

#include <stdio.h>
#include <string.h>

static const uint8_t iso[] = {'F', 'M', 'R', 0, ' ', '2', '0', 0};

static void add(sidik__review_set *r, uint64_t seq)
{
    char id[37];
    snprintf(id, sizeof id, "00000000-0000-4000-8000-%012llu", (unsigned long long)seq);
    assert_int_equal(sidik__review_add(r, seq, id, iso, sizeof iso - (seq % 3)), 0);
}

static void expect_sorted(const sidik__review_set *r, size_t n)
{
    assert_int_equal(r->n, n);
    for (size_t i = 1; i < r->n; i++)
        assert_true(r->e[i - 1].seq < r->e[i].seq);
}

static void test_server_dedup_review_set(void **state)
{
    (void)state;
    sidik__review_set r = {0};
    assert_null(sidik__review_find(&r, 5));
    assert_false(sidik__review_remove(&r, 5));
    /* In journal order (appends) and out of it (a restart's walk by time). */
    for (uint64_t s = 10; s <= 200; s += 2)
        add(&r, s);
    for (uint64_t s = 199; s >= 11; s -= 2)
        add(&r, s);
    add(&r, 1);
    expect_sorted(&r, 192);
    const sidik__review_entry *e = sidik__review_find(&r, 77);
    assert_non_null(e);
    assert_int_equal(e->seq, 77);
    assert_string_equal(e->id, "00000000-0000-4000-8000-000000000077");
    assert_int_equal(e->iso_len, sizeof iso - 2);
    assert_memory_equal(e->iso, iso, e->iso_len);
    assert_null(sidik__review_find(&r, 2));
    assert_null(sidik__review_find(&r, 201));

    assert_int_equal(sidik__review_add(&r, 77, "other", iso, sizeof iso), SIDIK_EEXISTS);
    assert_int_equal(sidik__review_add(&r, 0, "zero", iso, sizeof iso), SIDIK_EINVAL);
    assert_int_equal(sidik__review_add(&r, 300, NULL, iso, sizeof iso), SIDIK_EINVAL);
    assert_int_equal(sidik__review_add(&r, 300, "x", NULL, sizeof iso), SIDIK_EINVAL);
    assert_int_equal(sidik__review_add(&r, 300, "x", iso, 0), SIDIK_EINVAL);
    char long_id[SIDIK_ENROLL_ID_MAX + 2];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = 0;
    assert_int_equal(sidik__review_add(&r, 300, long_id, iso, sizeof iso), SIDIK_EINVAL);
    long_id[SIDIK_ENROLL_ID_MAX] = 0; /* the longest id there is */
    assert_int_equal(sidik__review_add(&r, 300, long_id, iso, sizeof iso), 0);
    assert_string_equal(sidik__review_find(&r, 300)->id, long_id);
    expect_sorted(&r, 193);

    assert_true(sidik__review_remove(&r, 77));
    assert_false(sidik__review_remove(&r, 77));
    assert_null(sidik__review_find(&r, 77));
    assert_true(sidik__review_remove(&r, 1));
    assert_true(sidik__review_remove(&r, 300));
    expect_sorted(&r, 190);
    assert_non_null(sidik__review_find(&r, 78));
    sidik__review_close(&r);
    assert_int_equal(r.n, 0);
    assert_null(sidik__review_find(&r, 78));
}

/* Every allocation an add makes, failed in turn: SIDIK_ENOMEM and the set
 * as it was; then the same add works. */
static void test_server_dedup_review_set_out_of_memory(void **state)
{
    (void)state;
    sidik__review_set r = {0};
    for (uint64_t s = 1; s <= 64; s++) /* full: the next add grows the array */
        add(&r, s * 10);
    for (uint64_t nth = 1;; nth++) {
        sidik_alloc_fail_nth(nth);
        int rc = sidik__review_add(&r, 5, "new", iso, sizeof iso);
        bool fired = !sidik_alloc_fail_pending();
        sidik_alloc_fail_nth(0);
        if (!fired) {
            assert_int_equal(rc, 0);
            break;
        }
        assert_int_equal(rc, SIDIK_ENOMEM);
        assert_null(sidik__review_find(&r, 5));
        expect_sorted(&r, 64);
        assert_int_equal(sidik__review_find(&r, 640)->seq, 640);
    }
    expect_sorted(&r, 65);
    assert_string_equal(sidik__review_find(&r, 5)->id, "new");
    sidik__review_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_server_dedup_review_set),
        SIDIK_TEST(test_server_dedup_review_set_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
