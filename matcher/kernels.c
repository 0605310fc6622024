/* Which kernels each SIMD level uses. The tables are constant; the level is
 * chosen once at start-up by whoever creates a sidik_matcher. */
#include "mcc.h"
#include "sig_int.h"

#define LEVEL(lvl, sfx)                                                                         \
    {                                                                                           \
        .level = lvl, .xor_popcount = sidik__xor_popcount_##sfx,                                \
        .local_sim = sidik__local_sim_##sfx, .candidates = sidik__candidates_##sfx,             \
        .map_occupied = sidik__map_occupied_##sfx, .pair_minutiae = sidik__pair_minutiae_##sfx, \
        .compat = sidik__compat_##sfx, .relax = sidik__relax_##sfx,                             \
        .favoured_mean = sidik__favoured_mean_##sfx,                                            \
    }

static const sidik__match_kernels tables[SIDIK_SIMD_LEVEL_COUNT] = {
    LEVEL(SIDIK_SIMD_SCALAR, scalar),
    LEVEL(SIDIK_SIMD_SSE42, sse42),
    LEVEL(SIDIK_SIMD_AVX2, avx2),
    LEVEL(SIDIK_SIMD_AVX512, avx512),
};

const sidik__match_kernels *sidik__match_kernels_get(sidik_simd_level level)
{
    if ((unsigned)level >= SIDIK_SIMD_LEVEL_COUNT)
        return NULL;
    sidik_cpu_features f;
    sidik_cpu_detect(&f);
    if (level > sidik_cpu_best_level(&f))
        return NULL;
    return &tables[level];
}

sidik__sig_scan_fn sidik__sig_scan_get(sidik_simd_level level)
{
    static const sidik__sig_scan_fn scans[SIDIK_SIMD_LEVEL_COUNT] = {
        sidik__sig_scan_scalar, sidik__sig_scan_sse42, sidik__sig_scan_avx2,
        sidik__sig_scan_avx512};
    if (sidik__match_kernels_get(level) == NULL)
        return NULL;
    sidik_cpu_features f;
    sidik_cpu_detect(&f);
    if (level == SIDIK_SIMD_AVX512 && f.avx512vnni)
        return sidik__sig_scan_avx512vnni;
    return scans[level];
}
