#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sidik/cpu.h"
#include "sidik/err.h"

static sidik_cpu_features all_features(void)
{
    sidik_cpu_features f = {
        .sse42 = true,
        .popcnt = true,
        .avx2 = true,
        .bmi2 = true,
        .avx512f = true,
        .avx512bw = true,
        .avx512vl = true,
        .avx512vpopcntdq = true,
        .os_ymm = true,
        .os_zmm = true,
    };
    return f;
}

static void test_cpu_best_level_needs_every_feature(void **state)
{
    (void)state;
    sidik_cpu_features f = all_features();
    assert_int_equal(sidik_cpu_best_level(&f), SIDIK_SIMD_AVX512);
    f.avx512vpopcntdq = false;
    assert_int_equal(sidik_cpu_best_level(&f), SIDIK_SIMD_AVX2);
    f = all_features();
    f.os_zmm = false; /* CPU has AVX-512 but the OS does not save ZMM state */
    assert_int_equal(sidik_cpu_best_level(&f), SIDIK_SIMD_AVX2);
    f.os_ymm = false;
    assert_int_equal(sidik_cpu_best_level(&f), SIDIK_SIMD_SSE42);
    f.popcnt = false;
    assert_int_equal(sidik_cpu_best_level(&f), SIDIK_SIMD_SCALAR);
    sidik_cpu_features none = {0};
    assert_int_equal(sidik_cpu_best_level(&none), SIDIK_SIMD_SCALAR);
}

static void test_cpu_override_lower_level(void **state)
{
    (void)state;
    sidik_cpu_features f = all_features();
    sidik_simd_level l = SIDIK_SIMD_AVX512;
    const char *why = NULL;
    assert_int_equal(sidik_simd_choose(&f, NULL, &l, &why), 0);
    assert_int_equal(l, SIDIK_SIMD_AVX512);
    assert_int_equal(sidik_simd_choose(&f, "", &l, &why), 0);
    assert_int_equal(l, SIDIK_SIMD_AVX512);
    assert_int_equal(sidik_simd_choose(&f, "scalar", &l, &why), 0);
    assert_int_equal(l, SIDIK_SIMD_SCALAR);
    assert_int_equal(sidik_simd_choose(&f, "SSE42", &l, &why), 0);
    assert_int_equal(l, SIDIK_SIMD_SSE42);
    assert_int_equal(sidik_simd_choose(&f, "avx2", &l, &why), 0);
    assert_int_equal(l, SIDIK_SIMD_AVX2);
}

static void test_cpu_override_refuses_missing_level(void **state)
{
    (void)state;
    sidik_cpu_features f = all_features();
    f.avx512bw = false;
    sidik_simd_level l = SIDIK_SIMD_SCALAR;
    const char *why = NULL;
    assert_int_equal(sidik_simd_choose(&f, "avx512", &l, &why), SIDIK_ENOCPU);
    assert_non_null(strstr(why, "AVX-512"));
    assert_int_equal(l, SIDIK_SIMD_SCALAR); /* untouched on error */
    sidik_cpu_features none = {0};
    assert_int_equal(sidik_simd_choose(&none, "sse42", &l, &why), SIDIK_ENOCPU);
    assert_non_null(strstr(why, "SSE4.2"));
}

static void test_cpu_override_garbage(void **state)
{
    (void)state;
    sidik_cpu_features f = all_features();
    sidik_simd_level l = SIDIK_SIMD_SCALAR;
    const char *why = NULL;
    const char *bad[] = {"avx", "avx-512", "native", " avx2", "avx2 ", "0", "x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        assert_int_equal(sidik_simd_choose(&f, bad[i], &l, &why), SIDIK_EINVAL);
        assert_non_null(why);
    }
    assert_int_equal(l, SIDIK_SIMD_SCALAR);
}

static void test_cpu_names_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < SIDIK_SIMD_LEVEL_COUNT; i++) {
        sidik_simd_level l;
        assert_int_equal(sidik_simd_level_parse(sidik_simd_level_name((sidik_simd_level)i), &l), 0);
        assert_int_equal(l, i);
    }
    assert_string_equal(sidik_simd_level_name((sidik_simd_level)9), "unknown");
}

/* The kernel's view of the CPU (/proc/cpuinfo flags) must agree with ours. */
static bool cpuinfo_has(const char *flags, const char *flag)
{
    size_t n = strlen(flag);
    for (const char *p = flags; (p = strstr(p, flag)) != NULL; p += n) {
        if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
            return true;
    }
    return false;
}

static void test_cpu_detect_agrees_with_kernel(void **state)
{
    (void)state;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        skip();
    char line[8192];
    const char *flags = NULL;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "flags", 5) == 0) {
            flags = strchr(line, ':');
            break;
        }
    }
    fclose(f);
    if (flags == NULL)
        skip();
    sidik_cpu_features c;
    sidik_cpu_detect(&c);
    assert_int_equal(c.sse42, cpuinfo_has(flags, "sse4_2"));
    assert_int_equal(c.popcnt, cpuinfo_has(flags, "popcnt"));
    assert_int_equal(c.avx2, cpuinfo_has(flags, "avx2"));
    assert_int_equal(c.fma, cpuinfo_has(flags, "fma"));
    assert_int_equal(c.avx512f, cpuinfo_has(flags, "avx512f"));
    assert_int_equal(c.avx512bw, cpuinfo_has(flags, "avx512bw"));
    assert_int_equal(c.avx512vpopcntdq, cpuinfo_has(flags, "avx512_vpopcntdq"));
}

static void test_cpu_env_override(void **state)
{
    (void)state;
    sidik_simd_level l;
    const char *why = NULL;
    setenv("SIDIK_SIMD", "scalar", 1);
    assert_int_equal(sidik_simd_choose_from_env(&l, &why), 0);
    assert_int_equal(l, SIDIK_SIMD_SCALAR);
    setenv("SIDIK_SIMD", "turbo", 1);
    assert_int_equal(sidik_simd_choose_from_env(&l, &why), SIDIK_EINVAL);
    unsetenv("SIDIK_SIMD");
    sidik_cpu_features f;
    sidik_cpu_detect(&f);
    assert_int_equal(sidik_simd_choose_from_env(&l, &why), 0);
    assert_int_equal(l, sidik_cpu_best_level(&f));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_best_level_needs_every_feature),
        cmocka_unit_test(test_cpu_override_lower_level),
        cmocka_unit_test(test_cpu_override_refuses_missing_level),
        cmocka_unit_test(test_cpu_override_garbage),
        cmocka_unit_test(test_cpu_names_round_trip),
        cmocka_unit_test(test_cpu_detect_agrees_with_kernel),
        cmocka_unit_test(test_cpu_env_override),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
