/*
 * Shared by every cmocka test: a leak check on sidik's own allocation
 * counters. Tests that allocate run with setup/teardown below, so a test that
 * forgets to free fails by name even in builds without LeakSanitizer.
 */
#ifndef SIDIK_TEST_SUPPORT_H
#define SIDIK_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sidik/alloc.h"

static size_t sidik_test_blocks_before;

static inline int sidik_test_setup(void **state)
{
    (void)state;
    sidik_alloc_fail_nth(0);
    sidik_test_blocks_before = sidik_alloc_blocks();
    return 0;
}

static inline int sidik_test_teardown(void **state)
{
    (void)state;
    sidik_alloc_fail_nth(0);
    if (sidik_alloc_blocks() != sidik_test_blocks_before) {
        print_error("leak: %zu blocks allocated through sidik_* still live\n",
                    sidik_alloc_blocks() - sidik_test_blocks_before);
        return -1;
    }
    return 0;
}

/* A test with the leak check around it. */
#define SIDIK_TEST(f) cmocka_unit_test_setup_teardown(f, sidik_test_setup, sidik_test_teardown)

/* Deterministic pseudo-random numbers for tests (splitmix64). */
static inline uint64_t sidik_test_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#endif
