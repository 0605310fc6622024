/*
 * sidik_finger_create: the finger preparation of finger_impl.h, built for
 * baseline x86-64 here and with AVX2 in finger_avx2.c, the build chosen once
 * for the CPU. The AVX2 build is about 1.17 times as fast (bench_match
 * prints both; docs/search.md) and gives the same bytes, which
 * tests/unit/matcher/test_match.c checks.
 */
#define FINGER_BUILD sidik__finger_build_base
#include "finger_impl.h"

#include <pthread.h>

static int (*build)(const sidik_template *t, sidik_finger **out);
static pthread_once_t build_once = PTHREAD_ONCE_INIT;

static void build_choose(void)
{
    sidik_cpu_features f;
    sidik_cpu_detect(&f);
    build = sidik_cpu_best_level(&f) >= SIDIK_SIMD_AVX2 ? sidik__finger_build_avx2
                                                        : sidik__finger_build_base;
}

int sidik_finger_create(const sidik_template *t, sidik_finger **out)
{
    pthread_once(&build_once, build_choose);
    return build(t, out);
}

void sidik_finger_destroy(sidik_finger *f)
{
    sidik_free(f);
}
