/*
 * A synthetic master finger: the field (synth_field.c) and the minutiae on
 * it, in the finger-centred frame (see synth.h).
 *
 * Positions: a Poisson-disk process, dart throwing with a hard core of
 * min_spacing px, which is how minutiae are spaced on real fingers (no two
 * closer than about a ridge period, otherwise independent: the spatial
 * statistics of Pankanti, Prabhakar and Jain, "On the individuality of
 * fingerprints", IEEE PAMI 24(8), 2002, assume the same). The expected count
 * is density x area, with a per-finger spread (fingers differ in how many
 * minutiae they carry: FVC2002's flat impressions hold 13 to 69).
 *
 * Directions: the ridge orientation there (modulo pi), plus dir_sigma of
 * scatter, pointing one way or the other along the flow by a vote of
 *  - dir_down x the steepness of the flow: where ridges run down the
 *    finger's sides, minutiae point down (proximally), the way ridges
 *    multiply as the finger widens. In the FVC2002 templates (DB1-DB3)
 *    71-83% of the minutiae on near-vertical flow point down;
 *  - dir_coherence x a smooth random field (wavelengths 80-200 px), so
 *    neighbours agree: 51-67% of FVC2002 neighbours 20-45 px apart point
 *    the same way, whatever their types;
 *  - and a coin for the rest.
 * The vote ignores the type: under ISO/IEC 19794-2's conventions a ridge
 * ending's angle follows its ridge and a bifurcation's the valley it closes,
 * so where ridges fan out both point the same way, as FVC2002 shows (same-
 * type and different-type neighbours are parallel equally often). Uniform
 * directions would make impostors easy: a matcher comparing neighbourhoods
 * of random directions finds nothing in common by chance, whereas real
 * neighbourhoods all follow one flow (on FVC2002, scrambling the polarity
 * alone lowers the 99th impostor percentile by 14%).
 *
 * Random access within a finger: each minutia's type and direction come
 * from draws 3i+1..3i+3 of their own stream, so a capture can compute them
 * for the minutiae it sees only, and the master's and the capture's values
 * are the same numbers.
 *
 * Speed: a grid of cells of side min_spacing / sqrt(2) holds at most one
 * minutia each, so a candidate is tested against the occupied cells of the
 * 5 x 5 around it, found from a bitmap of each row, in 18 KB of stack,
 * without allocation.
 */
#define SIDIK_SYNTH_INTERNAL
#include "synth.h"

#include "sidik/err.h"

#include <string.h>

/* Grid cells per axis, at most, padding included: the largest default
 * master (a thumb with hand and own size factors both at +3.5 sigma) spans
 * under 745 px, 124 cells of 8.5 / sqrt(2) px. */
#define GRID_MAX 128

int sidik__synth_master_points(const sidik_synth_params *p, uint64_t seed, uint64_t person,
                               int position, sidik_synth_master_finger *out)
{
    if (p == NULL || out == NULL || position < 1 || position > SIDIK_SYNTH_FINGERS)
        return SIDIK_EINVAL;
    sidik__synth_field_create(p, seed, person, position, out);
    const double A = out->half_width, B = out->half_height;

    sidik__synth_rng r;
    sidik__synth_rng_init(&r, seed, person, (unsigned)position, 0, SIDIK__SYNTH_MINUTIAE);
    sidik__synth_rng ra;
    sidik__synth_rng_init(&ra, seed, person, (unsigned)position, 0, SIDIK__SYNTH_ATTR);
    out->attr_key = ra.key;
    double spread = 1.0 + p->density_sigma * sidik__synth_gauss(&r);
    if (spread < 0.3)
        spread = 0.3;
    double want = p->density * 1e-4 * SIDIK__SYNTH_PI * A * B * spread;
    int target = (int)(want + 0.5);
    if (target > SIDIK_SYNTH_MAX_MASTER)
        target = SIDIK_SYNTH_MAX_MASTER;

    /* Cells of side min_spacing / sqrt(2) hold at most one minutia each,
     * so a neighbour closer than min_spacing is at most two cells away
     * along each axis. occ[] marks the occupied cells of each row (cell i
     * at bit i + 2, so the 5-cell window at cell gx is bits gx..gx+4 and
     * needs no bounds test); idx[] is read only where occ says so and needs
     * no clearing. A finger too large for the grid (only with parameters
     * far from the defaults) is checked against every minutia instead. */
    const double r2 = (double)p->min_spacing * p->min_spacing;
    const double cell = p->min_spacing * 0.70710678118654752, inv_cell = 1 / cell;
    const double ia2 = 1 / (A * A), ib2 = 1 / (B * B);
    const int gw = (int)(2 * A * inv_cell) + 1, gh = (int)(2 * B * inv_cell) + 1;
    const int use_grid = gw <= GRID_MAX - 4 && gh <= GRID_MAX - 4;
    unsigned __int128 occ[GRID_MAX];
    uint8_t idx[GRID_MAX * GRID_MAX];
    if (use_grid)
        memset(occ, 0, (size_t)(gh + 4) * sizeof occ[0]);

    int n = 0;
    for (int tries = 4 * target + 32; tries > 0 && n < target; tries--) {
        double x = (2 * sidik__synth_unif(&r) - 1) * A, y = (2 * sidik__synth_unif(&r) - 1) * B;
        if (x * x * ia2 + y * y * ib2 > 1)
            continue;
        int gx = (int)((x + A) * inv_cell), gy = (int)((y + B) * inv_cell);
        int ok = 1;
        if (use_grid) {
            /* Rows gy - 2 .. gy + 2 are occ[gy .. gy + 4] (two rows of
             * padding above). */
            for (int j = gy; j <= gy + 4 && ok; j++) {
                unsigned bits = (unsigned)(occ[j] >> gx) & 0x1f;
                while (bits != 0) {
                    int i = gx - 2 + __builtin_ctz(bits);
                    bits &= bits - 1;
                    const sidik_synth_minutia *o = &out->m[idx[(j - 2) * GRID_MAX + i]];
                    double dx = o->x - x, dy = o->y - y;
                    if (dx * dx + dy * dy < r2) {
                        ok = 0;
                        break;
                    }
                }
            }
        } else {
            for (int k = 0; k < n && ok; k++) {
                double dx = out->m[k].x - x, dy = out->m[k].y - y;
                ok = dx * dx + dy * dy >= r2;
            }
        }
        if (!ok)
            continue;
        if (use_grid) {
            occ[gy + 2] |= (unsigned __int128)1 << (gx + 2);
            idx[gy * GRID_MAX + gx] = (uint8_t)n;
        }
        sidik_synth_minutia *m = &out->m[n++];
        m->x = (float)x;
        m->y = (float)y;
        m->angle = 0;
        m->type = SIDIK_MINUTIA_OTHER; /* set by sidik__synth_master_attr */
        memset(m->reserved, 0, sizeof m->reserved);
    }
    out->count = (uint16_t)n;
    return 0;
}

double sidik__synth_master_attr(const sidik_synth_params *p, const sidik_synth_master_finger *f,
                                int i, uint8_t *type)
{
    const sidik_synth_minutia *m = &f->m[i];
    sidik__synth_rng r = {f->attr_key, 3 * (uint64_t)i};
    int ending = sidik__synth_unif(&r) < p->ending_share;
    double coin = 2 * sidik__synth_unif(&r) - 1, g = sidik__synth_gauss(&r);
    /* theta in [0, pi) points up (or right along horizontal flow); theta +
     * pi points down. sin(theta) is how steep the flow is there. */
    double th = sidik__synth_wrap(sidik__synth_theta(&f->field, m->x, m->y), SIDIK__SYNTH_PI);
    double coh = p->dir_coherence;
    double vote = p->dir_down * sidik__synth_sin(th) +
                  coh * sidik__synth_flip_field(&f->field, m->x, m->y) + (1 - coh) * coin;
    double a = th + (vote > 0 ? SIDIK__SYNTH_PI : 0) + p->dir_sigma * (SIDIK__SYNTH_PI / 180) * g;
    *type = ending ? SIDIK_MINUTIA_ENDING : SIDIK_MINUTIA_BIFURCATION;
    return sidik__synth_wrap(a, SIDIK__SYNTH_TWO_PI);
}

int sidik_synth_master(const sidik_synth_params *p, uint64_t seed, uint64_t person, int position,
                       sidik_synth_master_finger *out)
{
    int rc = sidik__synth_master_points(p, seed, person, position, out);
    if (rc != 0)
        return rc;
    for (int i = 0; i < out->count; i++)
        out->m[i].angle = (float)sidik__synth_master_attr(p, out, i, &out->m[i].type);
    return 0;
}
