/* AVX-512 level (built with -mavx512f -mavx512bw -mavx512vl -mavx512vpopcntdq):
 * eight cylinders of B per 512-bit vector, counted with VPOPCNTQ. */
#include "key_sort.h"
#include "mcc.h"
#include "sig_int.h"

#include <immintrin.h>
#include <string.h>

/* Two cylinders of A at a time, so each load of B serves both; the sizes
 * are read once (out is uint16_t like them, so the compiler would otherwise
 * reload them after every store). */
void sidik__xor_popcount_avx512(const sidik_finger *a, const sidik_finger *b, uint16_t *out)
{
    const int na = a->n, apad = a->npad, npad = b->npad;
    const uint64_t *ac = a->cyl, *bc = b->cyl;
    int i = 0;
    for (; i + 1 < na; i += 2) {
        __m512i a0[SIDIK__MCC_WORDS], a1[SIDIK__MCC_WORDS];
        for (int w = 0; w < SIDIK__MCC_WORDS; w++) {
            a0[w] = _mm512_set1_epi64((long long)ac[w * apad + i]);
            a1[w] = _mm512_set1_epi64((long long)ac[w * apad + i + 1]);
        }
        uint16_t *o0 = out + i * npad, *o1 = o0 + npad;
        for (int j = 0; j < npad; j += 8) {
            __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
            for (int w = 0; w < SIDIK__MCC_WORDS; w++) {
                __m512i bv = _mm512_loadu_si512(bc + w * npad + j);
                s0 = _mm512_add_epi64(s0, _mm512_popcnt_epi64(_mm512_xor_si512(a0[w], bv)));
                s1 = _mm512_add_epi64(s1, _mm512_popcnt_epi64(_mm512_xor_si512(a1[w], bv)));
            }
            _mm_storeu_si128((__m128i *)(o0 + j), _mm512_cvtepi64_epi16(s0));
            _mm_storeu_si128((__m128i *)(o1 + j), _mm512_cvtepi64_epi16(s1));
        }
    }
    for (; i < na; i++) {
        __m512i a0[SIDIK__MCC_WORDS];
        for (int w = 0; w < SIDIK__MCC_WORDS; w++)
            a0[w] = _mm512_set1_epi64((long long)ac[w * apad + i]);
        for (int j = 0; j < npad; j += 8) {
            __m512i s0 = _mm512_setzero_si512();
            for (int w = 0; w < SIDIK__MCC_WORDS; w++)
                s0 = _mm512_add_epi64(s0, _mm512_popcnt_epi64(_mm512_xor_si512(
                                              a0[w], _mm512_loadu_si512(bc + w * npad + j))));
            _mm_storeu_si128((__m128i *)(out + i * npad + j), _mm512_cvtepi64_epi16(s0));
        }
    }
}

/* The consolidation's pairing (kernel_impl.h's pair_minutiae, the same
 * choices). One window of 16 B candidates is one vector: the eligible ones'
 * squared distances' bits, UINT32_MAX for the rest. The used flags are left
 * out of it, so every A minutia's window is computed first, independently;
 * the greedy walk then only masks off B minutiae already taken (a bitmap)
 * and takes the nearest left. Before, each window test waited on the
 * previous minutia's pick: its 16-byte load of the used flags could not be
 * forwarded from the byte just stored. (Skipping the reduction where one
 * candidate is left saved nothing: the branches mispredict.) */
static inline __m512i pair_window_keys(const sidik__stretched *sb, int j0, int nb, float x, float y,
                                       int theta)
{
    const __m512 bx = _mm512_loadu_ps(sb->x + j0), by = _mm512_loadu_ps(sb->y + j0);
    const __m512 dx = _mm512_sub_ps(bx, _mm512_set1_ps(x)),
                 dy = _mm512_sub_ps(by, _mm512_set1_ps(y));
    const __m512 d2 = _mm512_add_ps(_mm512_mul_ps(dx, dx), _mm512_mul_ps(dy, dy));
    const __m512i ang = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(sb->angle + j0)));
    const __m512i dt =
        _mm512_and_si512(_mm512_add_epi32(ang, _mm512_set1_epi32(SIDIK__PAIR_DTHETA - theta)),
                         _mm512_set1_epi32(255));
    const int left = nb - j0;
    __mmask16 ok = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
    ok &= _mm512_cmp_ps_mask(by, _mm512_set1_ps(y - SIDIK__PAIR_DIST), _CMP_GE_OQ);
    ok &= _mm512_cmp_ps_mask(by, _mm512_set1_ps(y + SIDIK__PAIR_DIST), _CMP_LE_OQ);
    ok &= _mm512_cmp_ps_mask(d2, _mm512_set1_ps(SIDIK__PAIR_DIST * SIDIK__PAIR_DIST), _CMP_LT_OQ);
    ok &= _mm512_cmple_epu32_mask(dt, _mm512_set1_epi32(2 * SIDIK__PAIR_DTHETA));
    return _mm512_mask_mov_epi32(_mm512_set1_epi32(-1), ok, _mm512_castps_si512(d2));
}

/* The 16 used flags from position j0 on. */
static inline __mmask16 used_at(const uint64_t *used, int j0)
{
    const int w = j0 >> 6, s = j0 & 63;
    uint64_t v = used[w] >> s;
    if (s > 48)
        v |= used[w + 1] << (64 - s);
    return (__mmask16)v;
}

/* The nearest free candidate of a window, ties to the lower position: its
 * key (UINT32_MAX: none) and position in *at. */
static inline uint32_t pair_window_best(__m512i key, __mmask16 used, int j0, int *at)
{
    key = _mm512_mask_mov_epi32(key, used, _mm512_set1_epi32(-1));
    const uint32_t kmin = (uint32_t)_mm512_reduce_min_epu32(key);
    *at = j0 + __builtin_ctz(_mm512_cmpeq_epu32_mask(key, _mm512_set1_epi32((int)kmin)) | 0x10000u);
    return kmin;
}

int sidik__pair_minutiae_avx512(const float *X, const float *Y, const uint8_t *inside,
                                const uint8_t *angle_a, int na, uint8_t rot,
                                const sidik__stretched *sb, const sidik_finger *b)
{
    /* Per A minutia inside, in A's order: its first window's start (-1: no
     * candidates), its keys, and whether the band runs past that window. */
    __m512i keys[SIDIK_TMPL_MAX_MINUTIAE];
    int16_t start[SIDIK_TMPL_MAX_MINUTIAE];
    uint8_t order[SIDIK_TMPL_MAX_MINUTIAE], more[SIDIK_TMPL_MAX_MINUTIAE];
    const int nb = b->n;
    int m = 0;
    for (int i = 0; i < na; i++) {
        if (!inside[i])
            continue;
        const float x = X[i], y = Y[i];
        const int theta = (uint8_t)(angle_a[i] + rot);
        float row =
            ((y - SIDIK__PAIR_DIST - 1) * sb->isy - SIDIK__OCC_ORIGIN) * (1.0f / SIDIK__OCC_CELL);
        int r = row < 0 ? 0 : row >= SIDIK__OCC_SIZE ? SIDIK__OCC_SIZE : (int)row;
        const int j0 = b->row_start[r], last = j0 + SIDIK__PAIR_WINDOW - 1;
        order[m] = (uint8_t)i;
        start[m] = (int16_t)(j0 < nb ? j0 : -1);
        more[m] = j0 < nb && last < nb && sb->y[last] <= y + SIDIK__PAIR_DIST;
        if (j0 < nb)
            keys[m] = pair_window_keys(sb, j0, nb, x, y, theta);
        m++;
    }
    uint64_t used[(SIDIK_TMPL_MAX_MINUTIAE + SIDIK__PAIR_WINDOW + 63) / 64 + 1] = {0};
    int paired = 0;
    for (int q = 0; q < m; q++) {
        int j0 = start[q], best = -1;
        if (j0 < 0)
            continue;
        uint32_t best_key = pair_window_best(keys[q], used_at(used, j0), j0, &best);
        if (more[q]) { /* the band spans more windows: an earlier one keeps ties */
            const int i = order[q];
            const float x = X[i], y = Y[i];
            const int theta = (uint8_t)(angle_a[i] + rot);
            for (j0 += SIDIK__PAIR_WINDOW; j0 < nb; j0 += SIDIK__PAIR_WINDOW) {
                int at;
                uint32_t kmin = pair_window_best(pair_window_keys(sb, j0, nb, x, y, theta),
                                                 used_at(used, j0), j0, &at);
                if (kmin < best_key) {
                    best_key = kmin;
                    best = at;
                }
                const int last = j0 + SIDIK__PAIR_WINDOW - 1;
                if (last >= nb || sb->y[last] > y + SIDIK__PAIR_DIST)
                    break;
            }
        }
        if (best_key != UINT32_MAX) {
            used[best >> 6] |= 1ull << (best & 63);
            paired++;
        }
    }
    return paired;
}
#define PAIR_MINUTIAE_OWN

/* The relaxation compatibilities, 16 lanes at a time (compat_simd.h). */
#define CF          __m512
#define CI          __m512i
#define VP(name)    _mm512_##name
#define C_LOADI(p)  _mm512_loadu_si512(p)
#define C_AND(a, b) _mm512_and_si512((a), (b))
#define C_ABS(x)    _mm512_abs_ps(x)
static inline __m512 compat_ramp(__m512i d, const float *ramp)
{
    return _mm512_permutexvar_ps(d, _mm512_loadu_ps(ramp));
}
#include "compat_simd.h"

void sidik__compat_avx512(const sidik__relax_geom *g, int cnt, uint16_t rho_t[][SIDIK__MAX_PAIRS])
{
    float ramp[16];
    for (int d = 0; d < 16; d++)
        ramp[d] = sidik__direction_ramp(d);
    const __m512 scale = _mm512_set1_ps(32768.0f / (float)(cnt - 1));
    const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int v = 0; v < cnt; v++)
        for (int u0 = 0; u0 < SIDIK__MAX_PAIRS; u0 += 16) {
            __m512i u = _mm512_add_epi32(lanes, _mm512_set1_epi32(u0));
            __mmask16 keep = _mm512_cmplt_epi32_mask(u, _mm512_set1_epi32(cnt)) &
                             _mm512_cmpneq_epi32_mask(u, _mm512_set1_epi32(v));
            _mm256_storeu_si256(
                (__m256i *)(rho_t[v] + u0),
                _mm512_maskz_cvtepi32_epi16(keep, compat_lanes(g, v, u0, ramp, scale)));
        }
}
#define COMPAT_OWN

/* Rows of npad (a multiple of 8) go 16 lanes at a time, the last vector
 * masked to 8 where npad is not a multiple of 16: GCC's vectorisation of
 * kernel_impl.h's loops leaves that last half to a scalar loop, and at the
 * usual 30-50 minutiae that loop took most of the time. */
static inline __mmask16 row_mask(int npad, int j0)
{
    return npad - j0 >= 16 ? (__mmask16)0xffff : (__mmask16)0x00ff;
}

/* kernel_impl.h's local_sim: the same operations in the same order. */
void sidik__local_sim_avx512(const sidik_finger *a, const sidik_finger *b, const uint16_t *px,
                             uint16_t *q)
{
    const int npad = b->npad;
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int i = 0; i < a->n; i++) {
        const uint16_t *row = px + i * npad;
        uint16_t *out = q + i * npad;
        if (!a->valid[i]) {
            memset(out, 0, sizeof *out * (size_t)npad);
            continue;
        }
        const __m512 sa = _mm512_set1_ps(a->sqrt_pop[i]);
        const __m512i ang = _mm512_set1_epi32(a->angle[i]);
        for (int j0 = 0; j0 < npad; j0 += 16) {
            const __mmask16 m = row_mask(npad, j0);
            __m512 p =
                _mm512_cvtepi32_ps(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, row + j0)));
            __m512 den =
                _mm512_add_ps(_mm512_add_ps(sa, _mm512_maskz_loadu_ps(m, b->sqrt_pop + j0)),
                              _mm512_set1_ps(1e-30f));
            __m512 l = _mm512_sub_ps(one, _mm512_div_ps(_mm512_sqrt_ps(p), den));
            __m512i dt = _mm512_and_si512(
                _mm512_sub_epi32(ang, _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, b->angle + j0))),
                _mm512_set1_epi32(255));
            dt = _mm512_min_epi32(dt, _mm512_sub_epi32(_mm512_set1_epi32(256), dt));
            __mmask16 ok = _mm512_cmple_epi32_mask(dt, _mm512_set1_epi32(SIDIK__LOCAL_DTHETA_MAX)) &
                           _mm_mask_test_epi8_mask(m, _mm_maskz_loadu_epi8(m, b->valid + j0),
                                                   _mm_set1_epi8(-1)) &
                           _mm512_cmp_ps_mask(den, _mm512_set1_ps(1e-29f), _CMP_GT_OQ);
            __m512i v = _mm512_cvttps_epi32(_mm512_mul_ps(l, _mm512_set1_ps(65535.0f)));
            _mm256_mask_storeu_epi16(out + j0, m, _mm512_maskz_cvtepi32_epi16(ok, v));
        }
    }
}
#define LOCAL_SIM_OWN

/* kernel_impl.h's candidates: each column's two best kept as there, the
 * row's two best as each lane's two best reduced at the row's end (the keys
 * are unique, so the row's second is the best of the lanes' seconds and of
 * the other lanes' firsts). The keys come out in the same order. */
/* keys[0..n) (unique) into out, largest first, by rank: each key's place is
 * how many keys are larger, counted 16 keys at a time against every other.
 * Quadratic, but branch-free; for the usual 60-150 candidates it takes
 * about half the time of key_sort.h's counting sort, whose insertion pass
 * ends every key's loop on a mispredicted branch. */
static void rank_sort_desc(const uint32_t *keys, int n, uint32_t *out)
{
    if (n > 256) {
        sidik__sort_keys_desc(keys, n, out);
        return;
    }
    /* 64 keys at a time: four independent counts, so the additions do not
     * wait on each other. */
    const __m512i one = _mm512_set1_epi32(1);
    for (int e0 = 0; e0 < n; e0 += 64) {
        __m512i v[4], rank[4];
        for (int x = 0; x < 4; x++) {
            const int left = n - e0 - 16 * x;
            const __mmask16 m = left >= 16 ? (__mmask16)0xffff
                                : left > 0 ? (__mmask16)((1u << left) - 1)
                                           : (__mmask16)0;
            v[x] = _mm512_maskz_loadu_epi32(m, keys + e0 + 16 * x);
            rank[x] = _mm512_setzero_si512();
        }
        for (int f = 0; f < n; f++) {
            const __m512i kf = _mm512_set1_epi32((int)keys[f]);
            for (int x = 0; x < 4; x++)
                rank[x] =
                    _mm512_mask_add_epi32(rank[x], _mm512_cmpgt_epu32_mask(kf, v[x]), rank[x], one);
        }
        int32_t r[64];
        for (int x = 0; x < 4; x++)
            _mm512_storeu_si512(r + 16 * x, rank[x]);
        for (int l = 0; l < 64 && e0 + l < n; l++)
            out[r[l]] = keys[e0 + l];
    }
}

int sidik__candidates_avx512(const uint16_t *q, int na, int npad, uint32_t *sorted)
{
    uint32_t keys[SIDIK__MAX_KEYS];
    uint32_t c1[SIDIK_TMPL_MAX_MINUTIAE] = {0}, c2[SIDIK_TMPL_MAX_MINUTIAE] = {0};
    uint32_t row1[SIDIK_TMPL_MAX_MINUTIAE], row2[SIDIK_TMPL_MAX_MINUTIAE];
    const __m512i lanes = _mm512_setr_epi32(255, 254, 253, 252, 251, 250, 249, 248, 247, 246, 245,
                                            244, 243, 242, 241, 240);
    int n = 0;
    for (int i = 0; i < na; i++) {
        const uint16_t *row = q + i * npad;
        const __m512i ib = _mm512_set1_epi32((255 - i) << 8);
        __m512i t1 = _mm512_setzero_si512(), t2 = _mm512_setzero_si512();
        for (int j0 = 0; j0 < npad; j0 += 16) {
            const __mmask16 m = row_mask(npad, j0);
            __m512i qv = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, row + j0));
            __m512i k = _mm512_maskz_or_epi32(
                _mm512_test_epi32_mask(qv, qv), _mm512_slli_epi32(qv, 16),
                _mm512_or_si512(ib, _mm512_sub_epi32(lanes, _mm512_set1_epi32(j0))));
            t2 = _mm512_max_epu32(t2, _mm512_min_epu32(k, t1));
            t1 = _mm512_max_epu32(k, t1);
            __m512i v1 = _mm512_maskz_loadu_epi32(m, c1 + j0),
                    v2 = _mm512_maskz_loadu_epi32(m, c2 + j0);
            v2 = _mm512_max_epu32(v2, _mm512_min_epu32(k, v1));
            v1 = _mm512_max_epu32(k, v1);
            _mm512_mask_storeu_epi32(c1 + j0, m, v1);
            _mm512_mask_storeu_epi32(c2 + j0, m, v2);
        }
        uint32_t r1 = _mm512_reduce_max_epu32(t1);
        __m512i others =
            _mm512_maskz_mov_epi32(_mm512_cmpneq_epu32_mask(t1, _mm512_set1_epi32((int)r1)), t1);
        uint32_t r2 = _mm512_reduce_max_epu32(_mm512_max_epu32(t2, others));
        n = sidik__append_row_keys(r1, r2, i, row1, row2, keys, n);
    }
    n = sidik__append_column_keys(c1, c2, row1, row2, npad, keys, n);
    rank_sort_desc(keys, n, sorted);
    return n;
}
#define CANDIDATES_OWN

/* kernel_impl.h's favoured_mean: the efficiencies' division as two vectors
 * (GCC left the loop up to cnt scalar) and each pair's rank as masked
 * additions, the ties by lane position. */
uint32_t sidik__favoured_mean_avx512(const uint32_t *lam, const uint16_t *l0, int cnt, int np)
{
    _Static_assert(SIDIK__MAX_PAIRS == 32, "two vectors of pairs");
    const __mmask16 m0 = cnt >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << cnt) - 1);
    const __mmask16 m1 = cnt >= 32  ? (__mmask16)0xffff
                         : cnt > 16 ? (__mmask16)((1u << (cnt - 16)) - 1)
                                    : (__mmask16)0;
    const __m512i lam0 = _mm512_maskz_loadu_epi32(m0, lam),
                  lam1 = _mm512_maskz_loadu_epi32(m1, lam + 16);
    const __m512 e0 = _mm512_maskz_div_ps(
        m0, _mm512_cvtepu32_ps(lam0),
        _mm512_cvtepi32_ps(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m0, l0))));
    const __m512 e1 = _mm512_maskz_div_ps(
        m1, _mm512_cvtepu32_ps(lam1),
        _mm512_cvtepi32_ps(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m1, l0 + 16))));
    const __m512i k0 = _mm512_castps_si512(e0), k1 = _mm512_castps_si512(e1);
    int32_t key[SIDIK__MAX_PAIRS];
    _mm512_storeu_si512(key, k0);
    _mm512_storeu_si512(key + 16, k1);
    const __m512i one = _mm512_set1_epi32(1);
    __m512i ahead0 = _mm512_setzero_si512(), ahead1 = _mm512_setzero_si512();
    for (int v = 0; v < cnt; v++) {
        const __m512i kv = _mm512_set1_epi32(key[v]);
        /* lanes u > v, where a tie puts v ahead */
        const __mmask16 after0 = v < 16 ? (__mmask16)(0xffffu << (v + 1)) : (__mmask16)0;
        const __mmask16 after1 = v < 15 ? (__mmask16)0xffff : (__mmask16)(0xffffu << (v - 15));
        __mmask16 a0 = _mm512_cmpgt_epi32_mask(kv, k0) | (_mm512_cmpeq_epi32_mask(kv, k0) & after0);
        __mmask16 a1 = _mm512_cmpgt_epi32_mask(kv, k1) | (_mm512_cmpeq_epi32_mask(kv, k1) & after1);
        ahead0 = _mm512_mask_add_epi32(ahead0, a0, ahead0, one);
        ahead1 = _mm512_mask_add_epi32(ahead1, a1, ahead1, one);
    }
    const __m512i npv = _mm512_set1_epi32(np);
    const __mmask16 f0 = m0 & _mm512_cmplt_epi32_mask(ahead0, npv);
    const __mmask16 f1 = m1 & _mm512_cmplt_epi32_mask(ahead1, npv);
    /* lam < 2^16 (the relaxation halves its sums), so 32 of them fit 32 bits */
    const uint32_t sum = (uint32_t)_mm512_reduce_add_epi32(
        _mm512_add_epi32(_mm512_maskz_mov_epi32(f0, lam0), _mm512_maskz_mov_epi32(f1, lam1)));
    return sum / (uint32_t)np;
}
#define FAVOURED_MEAN_OWN

#define KERNEL(name) sidik__##name##_avx512
#include "kernel_impl.h"

/* The signature products without VNNI: as the avx2 level's, 16 lanes per
 * vector (each lane's four unsigned bytes split into two 16-bit pairs,
 * PMADDWD against the probe's signed pairs; exact). */
static inline __m512i sig_pairs(int8_t a, int8_t b)
{
    return _mm512_set1_epi32((int)((uint32_t)(uint16_t)a | (uint32_t)(uint16_t)b << 16));
}

static inline void sig_products_avx512(const sidik__sig_probe *p, int f, const sidik__sig_block *b,
                                       int32_t (*cre)[SIDIK__SIG_LANES],
                                       int32_t (*cim)[SIDIK__SIG_LANES])
{
    const __m512i lo_bytes = _mm512_set1_epi32(0x00ff00ff);
    for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
        __m512i re = _mm512_set1_epi32(-p->bias_re[f][k]);
        __m512i im = _mm512_set1_epi32(-p->bias_im[f][k]);
        for (int m = 0; m < SIDIK__SIG_RING_PAIRS; m++) {
            const int8_t *pr = p->re[f][k][m], *pi = p->im[f][k][m];
            __m512i g = _mm512_loadu_si512(b->c[f][k][m]);
            __m512i e = _mm512_and_si512(g, lo_bytes);
            __m512i o = _mm512_and_si512(_mm512_srli_epi16(g, 8), lo_bytes);
            re = _mm512_add_epi32(re,
                                  _mm512_add_epi32(_mm512_madd_epi16(e, sig_pairs(pr[0], pr[2])),
                                                   _mm512_madd_epi16(o, sig_pairs(pr[1], pr[3]))));
            im = _mm512_add_epi32(im,
                                  _mm512_add_epi32(_mm512_madd_epi16(e, sig_pairs(pi[0], pi[2])),
                                                   _mm512_madd_epi16(o, sig_pairs(pi[1], pi[3]))));
        }
        _mm512_storeu_si512(cre[k], re);
        _mm512_storeu_si512(cim[k], im);
    }
}
#include "sig_rotation.h"
#define SIG_PRODUCTS sig_products_avx512
#define SCAN_NAME    sidik__sig_scan_avx512
#include "sig_scan_impl.h"
