/* CPUID/XGETBV feature detection and the start-up SIMD level choice. */
#include "sidik/cpu.h"
#include "sidik/err.h"
#include "sidik/log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/* XGETBV with ECX=0 reads XCR0. Written as bytes-free inline asm rather than
 * _xgetbv() so this file needs no -mxsave flag. */
static uint64_t read_xcr0(void)
{
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

void sidik_cpu_detect(sidik_cpu_features *out)
{
    memset(out, 0, sizeof *out);
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return;
    out->sse42 = (c & bit_SSE4_2) != 0;
    out->popcnt = (c & bit_POPCNT) != 0;
    out->fma = (c & bit_FMA) != 0;
    bool osxsave = (c & bit_OSXSAVE) != 0;
    if (osxsave) {
        uint64_t xcr0 = read_xcr0();
        out->os_ymm = (xcr0 & 0x6) == 0x6;
        out->os_zmm = out->os_ymm && (xcr0 & 0xe0) == 0xe0;
    }
    if (__get_cpuid_max(0, NULL) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        out->avx2 = (b & bit_AVX2) != 0;
        out->bmi2 = (b & bit_BMI2) != 0;
        out->avx512f = (b & bit_AVX512F) != 0;
        out->avx512bw = (b & bit_AVX512BW) != 0;
        out->avx512vl = (b & bit_AVX512VL) != 0;
        out->avx512vpopcntdq = (c & bit_AVX512VPOPCNTDQ) != 0;
        out->avx512vnni = (c & bit_AVX512VNNI) != 0;
    }
}
#else
void sidik_cpu_detect(sidik_cpu_features *out)
{
    memset(out, 0, sizeof *out);
}
#endif

/* What each level needs, highest first in the checks below. */
static bool has_sse42(const sidik_cpu_features *f)
{
    return f->sse42 && f->popcnt;
}

static bool has_avx2(const sidik_cpu_features *f)
{
    return has_sse42(f) && f->avx2 && f->os_ymm;
}

static bool has_avx512(const sidik_cpu_features *f)
{
    return has_avx2(f) && f->avx512f && f->avx512bw && f->avx512vl && f->avx512vpopcntdq &&
           f->os_zmm;
}

sidik_simd_level sidik_cpu_best_level(const sidik_cpu_features *f)
{
    if (has_avx512(f))
        return SIDIK_SIMD_AVX512;
    if (has_avx2(f))
        return SIDIK_SIMD_AVX2;
    if (has_sse42(f))
        return SIDIK_SIMD_SSE42;
    return SIDIK_SIMD_SCALAR;
}

static const char *const level_names[SIDIK_SIMD_LEVEL_COUNT] = {"scalar", "sse42", "avx2",
                                                                "avx512"};

const char *sidik_simd_level_name(sidik_simd_level level)
{
    if ((unsigned)level < SIDIK_SIMD_LEVEL_COUNT)
        return level_names[level];
    return "unknown";
}

int sidik_simd_level_parse(const char *s, sidik_simd_level *out)
{
    if (s == NULL)
        return SIDIK_EINVAL;
    for (int i = 0; i < SIDIK_SIMD_LEVEL_COUNT; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (sidik_simd_level)i;
            return 0;
        }
    }
    return SIDIK_EINVAL;
}

int sidik_simd_choose(const sidik_cpu_features *f, const char *override, sidik_simd_level *out,
                      const char **why)
{
    sidik_simd_level best = sidik_cpu_best_level(f);
    if (override == NULL || *override == '\0') {
        *out = best;
        return 0;
    }
    sidik_simd_level want;
    if (sidik_simd_level_parse(override, &want) != 0) {
        *why = "SIDIK_SIMD must be one of scalar, sse42, avx2, avx512";
        return SIDIK_EINVAL;
    }
    if (want > best) {
        static const char *const lacks[SIDIK_SIMD_LEVEL_COUNT] = {
            "",
            "this CPU lacks SSE4.2 or POPCNT",
            "this CPU or OS lacks AVX2 (or YMM state)",
            "this CPU or OS lacks AVX-512 F/BW/VL/VPOPCNTDQ (or ZMM state)",
        };
        *why = lacks[want];
        return SIDIK_ENOCPU;
    }
    *out = want;
    return 0;
}

int sidik_simd_choose_from_env(sidik_simd_level *out, const char **why)
{
    sidik_cpu_features f;
    sidik_cpu_detect(&f);
    const char *env = getenv("SIDIK_SIMD");
    int rc = sidik_simd_choose(&f, env, out, why);
    if (rc != 0) {
        SIDIK_LOG_ERROR("SIDIK_SIMD refused", "requested=\"%.32s\" best=%s why=\"%s\"", env,
                        sidik_simd_level_name(sidik_cpu_best_level(&f)), *why);
        return rc;
    }
    SIDIK_LOG_DEBUG("simd level chosen", "simd=%s source=%s best=%s", sidik_simd_level_name(*out),
                    env != NULL && *env != '\0' ? "SIDIK_SIMD" : "cpuid",
                    sidik_simd_level_name(sidik_cpu_best_level(&f)));
    return 0;
}
