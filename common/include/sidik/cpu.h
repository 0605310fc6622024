/*
 * CPU feature detection and the choice of SIMD level.
 *
 * The level is decided once at start-up: the best the CPU and the operating
 * system both support (CPUID for the instructions, XGETBV for the register
 * state the OS saves), or a lower one forced with SIDIK_SIMD. A forced level
 * the CPU lacks is refused, never silently downgraded: an operator who asks
 * for avx2 on a machine without it must hear about it.
 *
 * Levels and what each requires:
 *   scalar  portable C, every machine
 *   sse42   SSE4.2 + POPCNT
 *   avx2    sse42 + AVX2, with YMM state enabled by the OS (XCR0 bits 1,2)
 *   avx512  avx2 + AVX-512 F, BW, VL and VPOPCNTDQ, with opmask and ZMM state
 *           enabled by the OS (XCR0 bits 5,6,7)
 *
 * Thread safety: all functions are pure or read-only; call them from anywhere.
 */
#ifndef SIDIK_CPU_H
#define SIDIK_CPU_H

#include <stdbool.h>

typedef enum {
    SIDIK_SIMD_SCALAR = 0,
    SIDIK_SIMD_SSE42 = 1,
    SIDIK_SIMD_AVX2 = 2,
    SIDIK_SIMD_AVX512 = 3,
} sidik_simd_level;

#define SIDIK_SIMD_LEVEL_COUNT 4

typedef struct {
    bool sse42, popcnt, avx2, bmi2;
    bool avx512f, avx512bw, avx512vl, avx512vpopcntdq;
    bool avx512vnni; /* not required by any level; kernels that have a VNNI form check it */
    bool fma;        /* FMA3; not required by any level; the signature's fused builds check it */
    bool os_ymm; /* the OS saves YMM state (XCR0 & 0x6) */
    bool os_zmm; /* the OS saves opmask and ZMM state (XCR0 & 0xe0) */
} sidik_cpu_features;

/** Reads this CPU's features. On non-x86 machines every flag is false. */
void sidik_cpu_detect(sidik_cpu_features *out);

/** The highest level f supports. */
sidik_simd_level sidik_cpu_best_level(const sidik_cpu_features *f);

/** "scalar", "sse42", "avx2", "avx512". */
const char *sidik_simd_level_name(sidik_simd_level level);

/** Parses a level name (case-insensitive). Returns 0 or SIDIK_EINVAL. */
int sidik_simd_level_parse(const char *s, sidik_simd_level *out);

/**
 * Chooses the SIMD level for features f: the best one when override is NULL
 * or empty, else the level override names.
 * Returns 0 and sets *out; or
 *   SIDIK_EINVAL  override is not a level name;
 *   SIDIK_ENOCPU  f lacks what the named level needs.
 * On error *why points at a static explanation and *out is untouched.
 */
int sidik_simd_choose(const sidik_cpu_features *f, const char *override, sidik_simd_level *out,
                      const char **why);

/** Detects this CPU and applies $SIDIK_SIMD; logs the outcome. Same returns
 *  as sidik_simd_choose. */
int sidik_simd_choose_from_env(sidik_simd_level *out, const char **why);

#endif
