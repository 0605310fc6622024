/*
 * 1:1 matching: Minutia Cylinder-Code local similarities, consolidated by
 * relaxation (MCC's LSS-R) under three anisotropy hypotheses, then checked
 * globally by counting paired minutiae inside the two fingers' overlap.
 *
 *   1. local: every pair of usable cylinders whose directions differ by at
 *      most 90 degrees gets 1 - sqrt|a^b| / (sqrt|a| + sqrt|b|) (the SIMD
 *      kernel counts the bits);
 *   2. selection: the n_R best pairs, each minutia used once (greedy);
 *   3. relaxation: each pair's similarity is reinforced by the pairs whose
 *      relative geometry agrees with it (distance, direction, and bearing);
 *      the pairs that gained most are averaged (LSS-R);
 *   4. consolidation: the two strongest pairs anchor a rigid alignment; the
 *      score is multiplied by sqrt(M^2 / (overlap_A * overlap_B)), M being
 *      the minutiae paired under that alignment and overlap_X the minutiae of
 *      X that fall where the other finger has ridges.
 * Step 3 runs with both fingers stretched by each of three hypotheses (x and
 * y scaled apart, area kept): templates from scanners whose pixels are not
 * square, or images resized to another aspect ratio, turn rotation into
 * shear, and the relaxation is sensitive to it. Step 4 runs under the
 * hypothesis that relaxed best. matcher/README.md has the measurements
 * behind each step.
 *
 * Determinism: integer arithmetic wherever sums are formed; float work is
 * element-wise with fixed operation order (the matcher is built with
 * -ffp-contract=off), so every SIMD level gives the same score bit for bit.
 */
#include "key_sort.h"
#include "mcc.h"
#include "sidik/common.h"

#include <math.h>
#include <string.h>

#define MAX_N       SIDIK_TMPL_MAX_MINUTIAE
#define ANCHORS     2 /* strongest relaxed pairs tried as alignment anchors */
#define OVERLAP_MIN 8 /* overlap counts below this are raised to it */

struct sidik_matcher {
    const sidik__match_kernels *k;
    uint16_t px[MAX_N * MAX_N]; /* popcount(a_i ^ b_j), row stride b->npad */
    uint16_t q[MAX_N * MAX_N];  /* local similarity, Q16 */
    uint32_t keys[SIDIK__MAX_KEYS]; /* the candidates, in greedy order */
};

int sidik_matcher_create(sidik_simd_level level, sidik_matcher **out)
{
    const sidik__match_kernels *k = sidik__match_kernels_get(level);
    if (k == NULL)
        return SIDIK_ENOCPU;
    sidik_matcher *m = sidik_trymalloc(sizeof *m);
    if (m == NULL)
        return SIDIK_ENOMEM;
    m->k = k;
    *out = m;
    return 0;
}

void sidik_matcher_destroy(sidik_matcher *m)
{
    sidik_free(m);
}

/* ---- step 2: greedy one-to-one selection ------------------------------------ */

/* A selected correspondence: minutia ia of A with ib of B. */
typedef struct {
    uint8_t ia, ib;
    uint16_t l0; /* local similarity, Q16 */
} pair;

/* Greedy one-to-one selection: walk the candidates by descending key (higher
 * similarity first, ties to the lower ia, then ib) and keep each pair whose
 * two minutiae are still free.
 *
 * The candidates are each row's and each column's two best pairs, not every
 * pair: the greedy walk over all pairs picked the same ones in effect (the
 * FVC2002 error rates moved by noise, README.md) and had to sort and walk a
 * few hundred keys, most of them conflicts, to pick 32. */
/* out needs want + 1 slots. */
static int select_pairs(sidik_matcher *m, int na, int npad, int want, pair *out)
{
    int n = m->k->candidates(m->q, na, npad, m->keys);
    const uint32_t *k = m->keys;
    /* Branch-free: whether a key is taken is a coin toss to the branch
     * predictor, and the walk usually visits every candidate. */
    bool used_a[MAX_N] = {false}, used_b[MAX_N] = {false};
    int cnt = 0;
    for (int e = 0; e < n && cnt < want; e++) {
        int ia = 255 - (int)((k[e] >> 8) & 0xff), ib = 255 - (int)(k[e] & 0xff);
        bool take = !(used_a[ia] | used_b[ib]);
        used_a[ia] |= take;
        used_b[ib] |= take;
        out[cnt] = (pair){(uint8_t)ia, (uint8_t)ib, (uint16_t)(k[e] >> 16)}; /* kept if taken */
        cnt += take;
    }
    return cnt;
}

/* ---- steps 3 and 4, per hypothesis ------------------------------------------- */

typedef sidik__stretched stretched;

static void stretch(const sidik__tables *t, int h, const sidik_finger *f, const uint8_t *order,
                    stretched *s)
{
    float sx = t->hyp_sx[h], sy = t->hyp_sy[h];
    for (int k = 0; k < f->n; k++) {
        int i = order != NULL ? order[k] : k;
        s->x[k] = f->x[i] * sx;
        s->y[k] = f->y[i] * sy;
        s->angle[k] = t->hyp_angle[h][f->angle[i]];
    }
    for (int k = f->n; k < f->n + SIDIK__PAIR_WINDOW; k++) {
        s->x[k] = s->y[k] = 0;
        s->angle[k] = 0;
    }
    s->isy = 1 / sy;
}

/* The relaxed score (LSS-R, Q16) under hypothesis h; lam gets each pair's
 * relaxed similarity. */
static uint32_t relaxed_score(const sidik__match_kernels *k, const sidik__tables *t, int h,
                              const sidik_finger *a, const sidik_finger *b, const pair *p, int cnt,
                              int np, uint32_t *lam)
{
    sidik__relax_geom g;
    memset(&g, 0, sizeof g); /* the kernel reads all SIDIK__MAX_PAIRS columns */
    float sx = t->hyp_sx[h], sy = t->hyp_sy[h];
    for (int u = 0; u < cnt; u++) {
        uint8_t aa = t->hyp_angle[h][a->angle[p[u].ia]], ba = t->hyp_angle[h][b->angle[p[u].ib]];
        g.ax[u] = a->x[p[u].ia] * sx, g.ay[u] = a->y[p[u].ia] * sy;
        g.bx[u] = b->x[p[u].ib] * sx, g.by[u] = b->y[p[u].ib] * sy;
        g.turn_c[u] = t->cosb[(uint8_t)(ba - aa)], g.turn_s[u] = t->sinb[(uint8_t)(ba - aa)];
        g.aang[u] = aa, g.bang[u] = ba;
        lam[u] = p[u].l0;
    }
    uint16_t rho_t[SIDIK__MAX_PAIRS][SIDIK__MAX_PAIRS];
    k->compat(&g, cnt, rho_t);
    k->relax(rho_t, cnt, lam);

    uint16_t l0[SIDIK__MAX_PAIRS];
    for (int u = 0; u < cnt; u++)
        l0[u] = p[u].l0;
    return k->favoured_mean(lam, l0, cnt, np < cnt ? np : cnt);
}

/* Step 4 for one anchor: paired^2 / (overlap_A * overlap_B). sb is in order
 * of y. */
static float consolidate(const sidik__match_kernels *k, const sidik__tables *t, int h,
                         const sidik_finger *a, const sidik_finger *b, const stretched *sa,
                         const stretched *sb, int anchor_a, int anchor_b)
{
    uint8_t rot = (uint8_t)(sb->angle[anchor_b] - sa->angle[anchor_a]);
    float c = t->cosb[rot], s = t->sinb[rot];
    float ax = sa->x[anchor_a], ay = sa->y[anchor_a];
    float bx = sb->x[anchor_b], by = sb->y[anchor_b];
    float isx = 1 / t->hyp_sx[h], isy = 1 / t->hyp_sy[h];
    /* A into B's frame, and B back into A's; only the overlap counts. */
    float X[MAX_N], Y[MAX_N];
    uint8_t inside[MAX_N];
    const sidik__alignment to_b = {ax, ay, bx, by, c, s, isx, isy};
    const sidik__alignment to_a = {bx, by, ax, ay, c, -s, isx, isy};
    int over_b = k->map_occupied(sb->x, sb->y, b->n, &to_a, a->occ, X, Y, inside);
    int over_a = k->map_occupied(sa->x, sa->y, a->n, &to_b, b->occ, X, Y, inside);
    int paired = k->pair_minutiae(X, Y, inside, sa->angle, a->n, rot, sb, b);
    over_a = over_a > OVERLAP_MIN ? over_a : OVERLAP_MIN;
    over_b = over_b > OVERLAP_MIN ? over_b : OVERLAP_MIN;
    return (float)(paired * paired) / ((float)over_a * (float)over_b);
}

/* The best consolidation over the ANCHORS strongest relaxed pairs. */
static float consolidated(const sidik__match_kernels *k, const sidik__tables *t, int h,
                          const sidik_finger *a, const sidik_finger *b, const pair *p, int cnt,
                          const uint32_t *lam)
{
    stretched sa, sb;
    stretch(t, h, a, NULL, &sa);
    stretch(t, h, b, b->by_y, &sb);
    uint8_t pos_in_b[MAX_N]; /* minutia index -> position in y order */
    for (int q = 0; q < b->n; q++)
        pos_in_b[b->by_y[q]] = (uint8_t)q;
    float best = 0;
    int taken[ANCHORS], ntaken = 0;
    for (int q = 0; q < ANCHORS && q < cnt; q++) {
        int bi = -1; /* strongest not yet taken, ties to the lower index */
        for (int u = 0; u < cnt; u++) {
            bool skip = false;
            for (int r = 0; r < ntaken; r++)
                skip |= taken[r] == u;
            if (!skip && (bi < 0 || lam[u] > lam[bi]))
                bi = u;
        }
        taken[ntaken++] = bi;
        float g = consolidate(k, t, h, a, b, &sa, &sb, p[bi].ia, pos_in_b[p[bi].ib]);
        best = g > best ? g : best;
    }
    return best;
}

/* ---- the score ----------------------------------------------------------------- */

/* A total order on fingers, so score(a, b) and score(b, a) compute the same
 * thing: the smaller finger always plays A. */
static int finger_order(const sidik_finger *a, const sidik_finger *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    int c = memcmp(a->x, b->x, sizeof(float) * a->n);
    if (c == 0)
        c = memcmp(a->y, b->y, sizeof(float) * a->n);
    if (c == 0)
        c = memcmp(a->angle, b->angle, a->n);
    return c;
}

uint32_t sidik_match_score(sidik_matcher *m, const sidik_finger *a, const sidik_finger *b)
{
    if (finger_order(a, b) > 0) {
        const sidik_finger *t = a;
        a = b;
        b = t;
    }
    if (a->nvalid < 2 || b->nvalid < 2)
        return 0;
    const sidik__tables *t = sidik__tables_get();
    const sidik__match_kernels *k = m->k;

    /* Step 1: local similarities. */
    k->xor_popcount(a, b, m->px);
    k->local_sim(a, b, m->px, m->q);

    /* Step 2. */
    int nmin = a->n < b->n ? a->n : b->n;
    int want = nmin < SIDIK__MAX_PAIRS ? nmin : SIDIK__MAX_PAIRS;
    pair p[SIDIK__MAX_PAIRS + 1]; /* + 1: select_pairs writes one slot past its picks */
    int cnt = select_pairs(m, a->n, b->npad, want, p);
    if (cnt < 2)
        return 0;
    int np = t->np_for_count[nmin];

    /* Step 3 under every hypothesis. */
    uint32_t lss[SIDIK__HYPOTHESES];
    uint32_t lam[SIDIK__HYPOTHESES][SIDIK__MAX_PAIRS];
    for (int h = 0; h < SIDIK__HYPOTHESES; h++)
        lss[h] = relaxed_score(k, t, h, a, b, p, cnt, np, lam[h]);

    /* Step 4 for the hypothesis that relaxed best (ties to the lower index):
     * consolidating the runner-up as well changed the FVC2002 error rates
     * by noise only and cost a fifth of the time (README.md). */
    int h = 0;
    for (int x = 1; x < SIDIK__HYPOTHESES; x++)
        h = lss[x] > lss[h] ? x : h;
    float best = (float)lss[h] / 65535.0f * sqrtf(consolidated(k, t, h, a, b, p, cnt, lam[h]));
    /* Relaxed similarities are small (impostors score about 0.001, genuine
     * pairs 0.01 to 0.3): the square root spreads them over the integer range
     * so decision thresholds fall on a fine grid. Monotonic: no rate changes. */
    float score = sqrtf(best) * SIDIK_MATCH_SCORE_MAX + 0.5f;
    return score >= SIDIK_MATCH_SCORE_MAX ? SIDIK_MATCH_SCORE_MAX : (uint32_t)score;
}
