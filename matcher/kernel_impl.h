/*
 * The element-wise kernels, written once in plain C and compiled once per
 * SIMD level: kernel_scalar.c includes this with vectorisation off (the
 * oracle), kernel_sse42.c, kernel_avx2.c and kernel_avx512.c include it with
 * their ISA flags and -O3, and the compiler vectorises the inner loops.
 *
 * Why that gives identical results: every loop here is element-wise (no
 * reductions over floats), the matcher is built with -ffp-contract=off (no
 * fused multiply-add) and without -ffast-math (no reassociation), and the
 * float operations used (+, -, *, /, sqrt, conversions) are correctly rounded
 * in scalar and vector form alike. Integer sums are exact in any order. The
 * tests run every level against the scalar one and compare bit for bit.
 *
 * Before including, define KERNEL(name) to give the functions their level
 * suffix.
 */
#include "key_sort.h"
#include "mcc.h"

#include <math.h>
#include <string.h>

/* q[i * b->npad + j] = local similarity of cylinder i of a and j of b in Q16,
 * 0 when either is unusable or their directions differ by more than 90
 * degrees. */
#ifndef LOCAL_SIM_OWN
void KERNEL(local_sim)(const sidik_finger *a, const sidik_finger *b, const uint16_t *px,
                       uint16_t *q)
{
    const int npad = b->npad;
    for (int i = 0; i < a->n; i++) {
        const float sa = a->sqrt_pop[i];
        const int va = a->valid[i];
        const int ang = a->angle[i];
        const uint16_t *row = px + i * npad;
        uint16_t *out = q + i * npad;
        for (int j = 0; j < npad; j++) {
            /* Written without branches so every level vectorises it: an
             * unusable pair computes a harmless value and is masked to 0. */
            float den = sa + b->sqrt_pop[j] + 1e-30f;
            float l = 1.0f - sqrtf((float)row[j]) / den;
            int dt = (ang - (int)b->angle[j]) & 255;
            dt = dt > 128 ? 256 - dt : dt;
            int ok = va & b->valid[j] & (dt <= SIDIK__LOCAL_DTHETA_MAX) & (den > 1e-29f);
            out[j] = (uint16_t)((int)(l * 65535.0f) & -ok);
        }
    }
}

#endif

/* The candidate correspondences for the greedy selection: each row's two
 * best and each column's two best local similarities, as keys
 * q << 16 | (255 - i) << 8 | (255 - j): unique per pair, larger = earlier in
 * the greedy order (higher similarity, then lower i, then lower j). Returns
 * how many, each pair once, sorted in that order (largest first).
 * Integer max/min only, so every level vectorises it and agrees exactly. */
#ifndef CANDIDATES_OWN
int KERNEL(candidates)(const uint16_t *q, int na, int npad, uint32_t *sorted)
{
    uint32_t keys[SIDIK__MAX_KEYS];
    uint32_t c1[SIDIK_TMPL_MAX_MINUTIAE] = {0}, c2[SIDIK_TMPL_MAX_MINUTIAE] = {0};
    uint32_t row1[SIDIK_TMPL_MAX_MINUTIAE], row2[SIDIK_TMPL_MAX_MINUTIAE];
    int n = 0;
    for (int i = 0; i < na; i++) {
        const uint16_t *row = q + i * npad;
        const uint32_t ib = (uint32_t)(255 - i) << 8;
        /* Two loops, each of max/min only, so each vectorises: the columns'
         * two-best and the row's best, then the row's second best. */
        uint32_t r1 = 0, r2 = 0;
        for (int j = 0; j < npad; j++) {
            uint32_t k =
                ((uint32_t)row[j] << 16 | ib | (uint32_t)(255 - j)) & -(uint32_t)(row[j] != 0);
            r1 = k > r1 ? k : r1;
            uint32_t clo = k < c1[j] ? k : c1[j];
            c1[j] = k > c1[j] ? k : c1[j];
            c2[j] = clo > c2[j] ? clo : c2[j];
        }
        for (int j = 0; j < npad; j++) {
            uint32_t k =
                ((uint32_t)row[j] << 16 | ib | (uint32_t)(255 - j)) & -(uint32_t)(row[j] != 0);
            k &= -(uint32_t)(k < r1);
            r2 = k > r2 ? k : r2;
        }
        n = sidik__append_row_keys(r1, r2, i, row1, row2, keys, n);
    }
    n = sidik__append_column_keys(c1, c2, row1, row2, npad, keys, n);
    sidik__sort_keys_desc(keys, n, sorted);
    return n;
}

#endif

/* Maps points through an alignment, p' = o + R (p - anchor) with
 * R = [[c, s], [-s, c]] (pass -s for the inverse turn), into X and Y, and
 * sets inside[i] when p' lies in occupancy grid occ, read at (X isx, Y isy):
 * the other finger's own, unstretched frame. Returns how many are inside. */
int KERNEL(map_occupied)(const float *x, const float *y, int n, const sidik__alignment *al,
                         const uint64_t *occ, float *X, float *Y, uint8_t *inside)
{
    /* Copied out: X and Y are floats too, so the compiler would otherwise
     * reload every field after every store. */
    const float ax = al->ax, ay = al->ay, ox = al->ox, oy = al->oy, c = al->c, s = al->s;
    const float isx = al->isx, isy = al->isy;
    int32_t cell[SIDIK_TMPL_MAX_MINUTIAE]; /* y << 8 | x of the grid cell, -1 outside */
    for (int i = 0; i < n; i++) {
        float rx = x[i] - ax, ry = y[i] - ay;
        float px = ox + c * rx + s * ry, py = oy - s * rx + c * ry;
        X[i] = px;
        Y[i] = py;
        float fx = (px * isx - SIDIK__OCC_ORIGIN) * (1.0f / SIDIK__OCC_CELL);
        float fy = (py * isy - SIDIK__OCC_ORIGIN) * (1.0f / SIDIK__OCC_CELL);
        int in = (fx >= 0.0f) & (fy >= 0.0f) & (fx < (float)SIDIK__OCC_SIZE) &
                 (fy < (float)SIDIK__OCC_SIZE);
        float cx = fx > 0.0f ? fx : 0.0f, cy = fy > 0.0f ? fy : 0.0f;
        cx = cx < (float)(SIDIK__OCC_SIZE - 1) ? cx : (float)(SIDIK__OCC_SIZE - 1);
        cy = cy < (float)(SIDIK__OCC_SIZE - 1) ? cy : (float)(SIDIK__OCC_SIZE - 1);
        cell[i] = (((int)cy << 8) | (int)cx) | -(1 - in);
    }
    /* The grid lookups: a 64-bit gather the compilers do not vectorise. */
    int count = 0;
    for (int i = 0; i < n; i++) {
        int bit = cell[i] >= 0 && ((occ[cell[i] >> 8] >> (cell[i] & 0xff)) & 1);
        inside[i] = (uint8_t)bit;
        count += bit;
    }
    return count;
}

/* The consolidation's pairing: each minutia of A inside the overlap, in A's
 * order, takes the nearest B minutia still free within SIDIK__PAIR_DIST and
 * SIDIK__PAIR_DTHETA (ties to the lower position in y order). B's candidates
 * lie within SIDIK__PAIR_DIST in y: they are tested a window at a time from
 * the first B minutia of the occupancy row that holds y - SIDIK__PAIR_DIST
 * (in B's own, unstretched coordinates, a pixel early against rounding), each
 * window as one vector with the nearest found by two integer minimum
 * reductions (a non-negative float's bits order as the float does; a level
 * may define PAIR_MINUTIAE_OWN and its own pairing, as AVX-512 does). A
 * scalar walk that stops at the first minutia past the band ends its loops
 * on mispredicted branches; here the only loop that varies is over windows,
 * and a band of 30 px rarely holds more than one. */
#ifndef PAIR_MINUTIAE_OWN
/* Within window j0 of sb: the eligible candidate nearest (x, y), ties to the
 * lower position, as its squared distance's bits (UINT32_MAX: none) and its
 * position in *at. */
static inline uint32_t KERNEL(pair_window)(const sidik__stretched *sb, int j0, int nb,
                                           const uint8_t *used, float x, float y, int theta,
                                           int *at)
{
    const float ylo = y - SIDIK__PAIR_DIST, yhi = y + SIDIK__PAIR_DIST;
    uint32_t key[SIDIK__PAIR_WINDOW];
    for (int t = 0; t < SIDIK__PAIR_WINDOW; t++) {
        const int j = j0 + t;
        float bx = sb->x[j], by = sb->y[j];
        float dx = bx - x, dy = by - y, d2 = dx * dx + dy * dy;
        int dt = ((int)sb->angle[j] - theta + SIDIK__PAIR_DTHETA) & 255;
        uint32_t bits;
        memcpy(&bits, &d2, sizeof bits);
        int ok = (j < nb) & (by >= ylo) & (by <= yhi) & ((int)used[j] == 0) &
                 (d2 < SIDIK__PAIR_DIST * SIDIK__PAIR_DIST) & (dt <= 2 * SIDIK__PAIR_DTHETA);
        key[t] = ok ? bits : UINT32_MAX;
    }
    uint32_t kmin = UINT32_MAX;
    for (int t = 0; t < SIDIK__PAIR_WINDOW; t++)
        kmin = key[t] < kmin ? key[t] : kmin;
    int first = SIDIK__PAIR_WINDOW;
    for (int t = 0; t < SIDIK__PAIR_WINDOW; t++) {
        int pos = key[t] == kmin ? t : SIDIK__PAIR_WINDOW;
        first = pos < first ? pos : first;
    }
    *at = j0 + first;
    return kmin;
}
#define PAIR_WINDOW_BEST KERNEL(pair_window)

int KERNEL(pair_minutiae)(const float *X, const float *Y, const uint8_t *inside,
                          const uint8_t *angle_a, int na, uint8_t rot, const sidik__stretched *sb,
                          const sidik_finger *b)
{
    uint8_t order[SIDIK_TMPL_MAX_MINUTIAE]; /* the minutiae of A inside, in order */
    int m = 0;
    for (int i = 0; i < na; i++) {
        order[m] = (uint8_t)i;
        m += inside[i];
    }
    uint8_t used[SIDIK_TMPL_MAX_MINUTIAE + SIDIK__PAIR_WINDOW] = {0};
    const int nb = b->n;
    int paired = 0;
    for (int q = 0; q < m; q++) {
        const int i = order[q];
        const float x = X[i], y = Y[i], yhi = y + SIDIK__PAIR_DIST;
        const int theta = (uint8_t)(angle_a[i] + rot);
        float row =
            ((y - SIDIK__PAIR_DIST - 1) * sb->isy - SIDIK__OCC_ORIGIN) * (1.0f / SIDIK__OCC_CELL);
        int r = row < 0 ? 0 : row >= SIDIK__OCC_SIZE ? SIDIK__OCC_SIZE : (int)row;
        int best = -1;
        uint32_t best_key = UINT32_MAX;
        for (int j0 = b->row_start[r]; j0 < nb; j0 += SIDIK__PAIR_WINDOW) {
            int at;
            uint32_t kmin = PAIR_WINDOW_BEST(sb, j0, nb, used, x, y, theta, &at);
            if (kmin < best_key) { /* an earlier window keeps ties */
                best_key = kmin;
                best = at;
            }
            const int last = j0 + SIDIK__PAIR_WINDOW - 1;
            if (last >= nb || sb->y[last] > yhi)
                break;
        }
        if (best >= 0) {
            used[best] = 1;
            paired++;
        }
    }
    return paired;
}

#endif

/* rho_t[v][u]: how well correspondence v agrees with u, scaled by
 * 32768 / (cnt - 1) so the relaxation needs no division (MCC's rho with
 * its sigmoids linearised to ramps): same distance (1 below 3 px difference,
 * 0 above 7), same bearing of v seen from u's frame (cos of the difference
 * from 0.9563 to 0.9744: 17 to 13 degrees), same relative direction (0.32
 * to 0.20 rad). Stored transposed (v's row
 * holds every u) so the relaxation's sums run down whole vectors. Rows
 * v < cnt are filled across all SIDIK__MAX_PAIRS columns (a fixed trip count
 * vectorises without a scalar tail); columns u >= cnt and the diagonal are
 * 0. g's arrays must be filled (zeros) beyond cnt.
 *
 * The bearings' cosine is (R(alpha_u) da . R(beta_u) db) / (|da| |db|),
 * da and db being A's and B's offsets from u to v. R(alpha)^T R(beta) =
 * R(beta - alpha) makes the numerator cos(turn_u) (da . db) +
 * sin(turn_u) (da x db): six products where turning both offsets took
 * twelve. The two roots and the division are the bound (the divider);
 * one root of |da|^2 |db|^2 with the distance ramp in the squared
 * difference would save a third of that, but moved DB3's extended EER
 * from 3.91% to 4.28% (matcher/README.md). */
#ifndef COMPAT_OWN
void KERNEL(compat)(const sidik__relax_geom *g, int cnt, uint16_t rho_t[][SIDIK__MAX_PAIRS])
{
    const float scale = 32768.0f / (float)(cnt - 1);
    for (int v = 0; v < cnt; v++) {
        const float vax = g->ax[v], vay = g->ay[v], vbx = g->bx[v], vby = g->by[v];
        const int vaang = g->aang[v], vbang = g->bang[v];
        uint16_t *out = rho_t[v];
        for (int u = 0; u < SIDIK__MAX_PAIRS; u++) {
            float dxa = vax - g->ax[u], dya = vay - g->ay[u];
            float dxb = vbx - g->bx[u], dyb = vby - g->by[u];
            float d2a = dxa * dxa + dya * dya, d2b = dxb * dxb + dyb * dyb;
            float dot = dxa * dxb + dya * dyb, crs = dya * dxb - dxa * dyb;
            float da = sqrtf(d2a), db = sqrtf(d2b), m = da * db;
            float r1 = 1.0f - (fabsf(da - db) - 3.0f) * 0.25f;
            r1 = r1 > 0.0f ? r1 : 0.0f; /* clamps as max/min, so every ISA vectorises */
            r1 = r1 < 1.0f ? r1 : 1.0f;
            float cosb = (g->turn_c[u] * dot + g->turn_s[u] * crs) / (m + 1e-6f);
            float r3 = (cosb - 0.9563f) * (1.0f / (0.9744f - 0.9563f));
            r3 = r3 > 0.0f ? r3 : 0.0f;
            r3 = r3 < 1.0f ? r3 : 1.0f;
            int d2 = ((vaang - g->aang[u]) - (vbang - g->bang[u])) & 255;
            float r2 = sidik__direction_ramp(d2 > 128 ? 256 - d2 : d2);
            int keep = (u < cnt) & (u != v);
            out[u] = (uint16_t)((int)(r1 * r2 * r3 * scale + 0.5f) & -keep);
        }
    }
}

#endif

/* LSS-R's relaxation, in integers: lambda' = (lambda + sum_v rho lambda_v) / 2
 * with rho already divided by (n - 1) and scaled by 2^15 (see compat),
 * SIDIK__RELAX_ITER times. The sums stay below 2^31: rho <= 2^15 / (n - 1)
 * over n - 1 terms, lambda < 2^16. Columns of rho_t beyond cnt are 0, so
 * every u runs over all SIDIK__MAX_PAIRS and the lanes beyond cnt stay 0. */
void KERNEL(relax)(const uint16_t rho_t[][SIDIK__MAX_PAIRS], int cnt, uint32_t *lam)
{
    uint32_t cur[SIDIK__MAX_PAIRS] = {0};
    for (int u = 0; u < cnt; u++)
        cur[u] = lam[u];
    for (int it = 0; it < SIDIK__RELAX_ITER; it++) {
        uint32_t s[SIDIK__MAX_PAIRS] = {0};
        for (int v = 0; v < cnt; v++) {
            const uint32_t c = cur[v];
            for (int u = 0; u < SIDIK__MAX_PAIRS; u++)
                s[u] += (uint32_t)rho_t[v][u] * c;
        }
        for (int u = 0; u < SIDIK__MAX_PAIRS; u++)
            cur[u] = (cur[u] + (s[u] >> 15)) >> 1;
    }
    for (int u = 0; u < cnt; u++)
        lam[u] = cur[u];
}

#ifndef FAVOURED_MEAN_OWN
/* LSS-R's score: the mean relaxed similarity of the np pairs whose
 * similarity grew most (efficiency lam / l0, ties to the lower index). A
 * pair's rank is the number of pairs ahead of it: branch-free and
 * vectorisable, unlike a sort. A non-negative float's bits order as the
 * float does, so the comparisons are on 32-bit integers, 16 to a vector.
 * Ranks of slots from cnt on are computed and ignored. */
uint32_t KERNEL(favoured_mean)(const uint32_t *lam, const uint16_t *l0, int cnt, int np)
{
    int32_t key[SIDIK__MAX_PAIRS] = {0};
    for (int u = 0; u < cnt; u++) {
        float eff = (float)lam[u] / (float)l0[u];
        memcpy(&key[u], &eff, sizeof key[u]);
    }
    /* Outer loop over the pair that may be ahead, so the inner one fills a
     * whole vector of ranks with no horizontal sums. */
    int32_t ahead[SIDIK__MAX_PAIRS] = {0};
    for (int v = 0; v < cnt; v++) {
        const int32_t kv = key[v];
        for (int u = 0; u < SIDIK__MAX_PAIRS; u++)
            ahead[u] += (kv > key[u]) | ((kv == key[u]) & (v < u));
    }
    uint64_t sum = 0;
    for (int u = 0; u < cnt; u++)
        sum += ahead[u] < np ? lam[u] : 0;
    return (uint32_t)(sum / (uint64_t)np);
}
#endif
