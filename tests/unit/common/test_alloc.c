#include "test_support.h"

#include <string.h>

#include "sidik/alloc.h"

static void test_alloc_counts_blocks_and_bytes(void **state)
{
    (void)state;
    size_t b0 = sidik_alloc_blocks(), y0 = sidik_alloc_bytes();
    void *a = sidik_trymalloc(100);
    void *b = sidik_xcalloc(10, 30);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(sidik_alloc_blocks(), b0 + 2);
    assert_true(sidik_alloc_bytes() >= y0 + 400);
    a = sidik_tryrealloc(a, 5000);
    assert_non_null(a);
    assert_int_equal(sidik_alloc_blocks(), b0 + 2);
    assert_true(sidik_alloc_bytes() >= y0 + 5300);
    sidik_free(a);
    sidik_free(b);
    assert_int_equal(sidik_alloc_blocks(), b0);
    assert_int_equal(sidik_alloc_bytes(), y0);
}

static void test_alloc_fail_nth_fails_exactly_that_call(void **state)
{
    (void)state;
    sidik_alloc_fail_nth(3);
    assert_true(sidik_alloc_fail_pending());
    void *a = sidik_trymalloc(8);
    void *b = sidik_trycalloc(1, 8);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(sidik_alloc_fail_pending());
    size_t blocks = sidik_alloc_blocks();
    assert_null(sidik_trystrdup("third"));
    assert_int_equal(sidik_alloc_blocks(), blocks); /* a failed call allocates nothing */
    assert_false(sidik_alloc_fail_pending());
    void *d = sidik_trymalloc(8);
    assert_non_null(d); /* and the one after succeeds again */
    sidik_free(a);
    sidik_free(b);
    sidik_free(d);
}

static void test_alloc_fail_hook_spares_x_family(void **state)
{
    (void)state;
    sidik_alloc_fail_nth(1);
    char *s = sidik_xstrdup("start-up"); /* never fails by injection */
    assert_string_equal(s, "start-up");
    assert_true(sidik_alloc_fail_pending());
    assert_null(sidik_trymalloc(1));
    sidik_free(s);
}

static void test_alloc_failed_realloc_keeps_block(void **state)
{
    (void)state;
    char *p = sidik_trymalloc(16);
    assert_non_null(p);
    memcpy(p, "keep me", 8);
    sidik_alloc_fail_nth(1);
    assert_null(sidik_tryrealloc(p, 1 << 20));
    assert_string_equal(p, "keep me");
    sidik_free(p);
}

/* Doubling from the first capacity, the same block while there is room,
 * and on failure (no memory, or an overflowing size) the block and the
 * capacity as they were. */
static void test_alloc_trygrow(void **state)
{
    (void)state;
    size_t cap = 0;
    uint32_t *v = sidik_trygrow(NULL, &cap, 0, sizeof *v, 4);
    assert_non_null(v);
    assert_int_equal(cap, 4);
    for (uint32_t i = 0; i < 4; i++)
        v[i] = i;
    assert_ptr_equal(sidik_trygrow(v, &cap, 3, sizeof *v, 4), v);
    assert_int_equal(cap, 4);
    v = sidik_trygrow(v, &cap, 4, sizeof *v, 4);
    assert_non_null(v);
    assert_int_equal(cap, 8);
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(v[i], i);

    sidik_alloc_fail_nth(1);
    assert_null(sidik_trygrow(v, &cap, 8, sizeof *v, 4));
    assert_int_equal(cap, 8);
    assert_int_equal(v[3], 3);

    size_t huge = SIZE_MAX / 2 + 1, blocks = sidik_alloc_blocks();
    assert_null(sidik_trygrow(v, &huge, huge, sizeof *v, 4)); /* twice would wrap */
    assert_int_equal(huge, SIZE_MAX / 2 + 1);
    size_t big = SIZE_MAX / 4;
    assert_null(sidik_trygrow(v, &big, big, sizeof *v, 4)); /* bytes would overflow */
    assert_int_equal(big, SIZE_MAX / 4);
    size_t none = 0;
    assert_null(sidik_trygrow(NULL, &none, 0, sizeof *v, 0)); /* no first capacity */
    assert_null(sidik_trygrow(NULL, &none, 0, 0, 4));         /* no element size */
    assert_int_equal(sidik_alloc_blocks(), blocks);
    sidik_free(v);
}

static void test_alloc_calloc_overflow_refused(void **state)
{
    (void)state;
    size_t blocks = sidik_alloc_blocks();
    assert_null(sidik_trycalloc(SIZE_MAX / 2, 4));
    assert_int_equal(sidik_alloc_blocks(), blocks);
}

static void test_alloc_disarm(void **state)
{
    (void)state;
    sidik_alloc_fail_nth(1);
    sidik_alloc_fail_nth(0);
    assert_false(sidik_alloc_fail_pending());
    void *p = sidik_trymalloc(1);
    assert_non_null(p);
    sidik_free(p);
    sidik_free(NULL);
}

static void test_alloc_backend_named(void **state)
{
    (void)state;
    const char *b = sidik_alloc_backend();
    assert_true(strcmp(b, "jemalloc") == 0 || strcmp(b, "libc") == 0);
    assert_true(strlen(sidik_alloc_version()) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_alloc_counts_blocks_and_bytes),
        SIDIK_TEST(test_alloc_fail_nth_fails_exactly_that_call),
        SIDIK_TEST(test_alloc_fail_hook_spares_x_family),
        SIDIK_TEST(test_alloc_failed_realloc_keeps_block),
        SIDIK_TEST(test_alloc_calloc_overflow_refused),
        SIDIK_TEST(test_alloc_trygrow),
        SIDIK_TEST(test_alloc_disarm),
        SIDIK_TEST(test_alloc_backend_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
