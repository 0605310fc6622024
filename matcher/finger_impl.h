/*
 * Preparing a finger for matching: Minutia Cylinder-Code cylinders (bit
 * version), their validity, and the occupancy grid used to measure overlap.
 *
 * The 1:N search prepares about 150 gallery fingers per probe for its
 * verification stage, so this is on a hot path: about 48 us for a
 * 38-minutia finger (single thread; the straightforward version took 165 us
 * on the same machine). It uses tables rather than exp/erf per cell, settles
 * most of the hull test by geometry, and sums four cells side by side. Every
 * shortcut gives bit-identical results to the straightforward computation:
 * the same float operations in the same order wherever a value is kept, and
 * a proven margin wherever a decision is taken another way.
 *
 * Compiled twice (finger.c): for baseline x86-64 and with AVX2 and -O3
 * (finger_avx2.c), the same C, so the same IEEE operations lane by lane
 * (no fused multiply-adds: -ffp-contract=off) and the same bytes; define
 * FINGER_BUILD to the function's name before including.
 */
#include "mcc.h"
#include "sidik/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- convex hull, for the cells that lie on the finger ------------------- */

typedef struct {
    float x, y;
} point;

static float cross(point o, point a, point b)
{
    return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

static int point_cmp(const void *pa, const void *pb)
{
    const point *a = pa, *b = pb;
    if (a->x != b->x)
        return a->x < b->x ? -1 : 1;
    if (a->y != b->y)
        return a->y < b->y ? -1 : 1;
    return 0;
}

/* Andrew's monotone chain; hull[] gets the vertices counter-clockwise in a
 * y-up sense (clockwise on screen). Returns the vertex count. */
static int convex_hull(const sidik_finger *f, point *hull)
{
    point p[SIDIK_TMPL_MAX_MINUTIAE];
    int n = f->n;
    for (int i = 0; i < n; i++)
        p[i] = (point){f->x[i], f->y[i]};
    qsort(p, (size_t)n, sizeof p[0], point_cmp);
    if (n < 3) {
        memcpy(hull, p, (size_t)n * sizeof p[0]);
        return n;
    }
    int k = 0;
    for (int i = 0; i < n; i++) {
        while (k >= 2 && cross(hull[k - 2], hull[k - 1], p[i]) <= 0)
            k--;
        hull[k++] = p[i];
    }
    for (int i = n - 2, lower = k + 1; i >= 0; i--) {
        while (k >= lower && cross(hull[k - 2], hull[k - 1], p[i]) <= 0)
            k--;
        hull[k++] = p[i];
    }
    return k - 1;
}

/* One hull edge from a to b, with its direction as a unit vector: the
 * signed distance of p beyond it (positive outside) is
 * ey (p.x - a.x) - ex (p.y - a.y). */
typedef struct {
    point a, b;
    float ex, ey;
} hull_edge;

/* The hull's edges; for fewer than 3 vertices, edge[e].a are the points. */
typedef struct {
    int k;
    /* A true convex polygon holding every minutia: k >= 3 and every
     * coordinate below HULL_EXACT. */
    bool convex;
    hull_edge edge[SIDIK_TMPL_MAX_MINUTIAE];
} hull_edges;

/* Below this, convex_hull's cross products multiply integers under 2^12,
 * which is exact, so the hull is truly convex and holds every minutia. */
#define HULL_EXACT 4096.0f

static void hull_prepare(const sidik_finger *f, const point *hull, int k, hull_edges *h)
{
    h->k = k;
    h->convex = k >= 3;
    for (int i = 0; i < f->n; i++)
        h->convex &= f->x[i] < HULL_EXACT && f->y[i] < HULL_EXACT;
    for (int e = 0; e < k; e++) {
        point a = hull[e], b = hull[(e + 1) % k];
        float dx = b.x - a.x, dy = b.y - a.y, len = sqrtf(dx * dx + dy * dy);
        h->edge[e] = (hull_edge){a, b, len > 0 ? dx / len : 0, len > 0 ? dy / len : 0};
    }
}

static float edge_distance(point p, const hull_edge *e)
{
    return e->ey * (p.x - e->a.x) - e->ex * (p.y - e->a.y);
}

/* ---- which cells lie on the finger -------------------------------------- */

/* Four lanes as one value (GCC's generic vectors, lowered to SSE or NEON
 * registers or to scalar code): always lane by lane with the same IEEE
 * operations as one at a time, so results are bit-identical. A comparison
 * gives -1 in the lanes where it holds. */
typedef float f32x4 __attribute__((vector_size(16)));
typedef int32_t i32x4 __attribute__((vector_size(16)));

static bool any4(i32x4 m)
{
    return (m[0] | m[1] | m[2] | m[3]) != 0;
}

/* Bit j set where lane j of m is set. */
static unsigned mask4(i32x4 m)
{
#if defined(__SSE__)
    return (unsigned)__builtin_ia32_movmskps((f32x4)m);
#else
    m &= (i32x4){1, 2, 4, 8};
    return (unsigned)(m[0] | m[1] | m[2] | m[3]);
#endif
}

/* Lanes of a where m is clear, of b where it is set. */
static f32x4 select4(i32x4 m, f32x4 a, f32x4 b)
{
    return (f32x4)(((i32x4)a & ~m) | ((i32x4)b & m));
}

/* Per-cell arrays run four cells past the last, so that four lanes
 * starting at any cell stay inside them. */
#define SUM_CELLS (SIDIK__MCC_CELLS + 4)

/* Distances (px) by which the shortcuts below stay clear of the exact
 * test's decision boundary. The float arithmetic of that test, on
 * coordinates under HULL_EXACT + R, is off the true geometry by well
 * under 0.05 px, so 1 px leaves a wide safety factor. */
#define HULL_MARGIN 1.0f

/* MCC's test for a cell on the finger is that it lies in the convex hull
 * of the minutiae enlarged by omega. This is that test for minutia i's
 * cells, and what settles it sooner. Testing every cell against every
 * edge, one cell at a time, was a third of the cost of a finger. With a
 * true convex hull (h->convex), which holds every minutia, two facts about
 * the geometry settle most of it, each with HULL_MARGIN to spare, so the
 * answers stay those of the full test:
 *  - The minutia lies depth px inside the hull's nearest edge, so the disc
 *    of that radius about it lies in the hull, and every cell within
 *    depth + omega of the minutia is valid (sure2, squared).
 *  - An edge whose line lies more than R + omega inside of the minutia is
 *    more than omega inside of every cell: its distance can neither reject
 *    a cell nor mark it outside, and its segment is too far to accept one.
 *    Only the other edges (edge[0..k)) are tested. */
typedef struct {
    const sidik__tables *tab;
    const hull_edges *h;
    point m;
    float ca, sa;
    float sure2;
    int k;
    hull_edge edge[SIDIK_TMPL_MAX_MINUTIAE]; /* only [0, k) is set */
} cell_test;

static void cell_test_init(cell_test *ct, const sidik__tables *tab, const sidik_finger *f, int i,
                           float ca, float sa, const hull_edges *h)
{
    const float omega = SIDIK__MCC_OMEGA;
    ct->tab = tab, ct->h = h, ct->m = (point){f->x[i], f->y[i]}, ct->ca = ca, ct->sa = sa;
    ct->sure2 = -1, ct->k = 0;
    if (!h->convex) {
        ct->k = h->k;
        memcpy(ct->edge, h->edge, (size_t)h->k * sizeof h->edge[0]);
        return;
    }
    float depth = INFINITY;
    for (int e = 0; e < h->k; e++) {
        float inside = -edge_distance(ct->m, &h->edge[e]);
        depth = inside < depth ? inside : depth;
        if (inside < SIDIK__MCC_R + omega + HULL_MARGIN)
            ct->edge[ct->k++] = h->edge[e];
    }
    float sure = depth + omega - HULL_MARGIN;
    if (sure > 0)
        ct->sure2 = sure * sure;
}

/* sqrtf of each lane (both ways round correctly, so they agree). */
static f32x4 sqrt4(f32x4 x)
{
#if defined(__SSE__)
    return __builtin_ia32_sqrtps(x);
#else
    return (f32x4){sqrtf(x[0]), sqrtf(x[1]), sqrtf(x[2]), sqrtf(x[3])};
#endif
}

/* The exact test for the polygon of ct's edges (k >= 3), on cells
 * cells[0..3] at once; bit j of the result is cells[j]'s answer. The signed
 * edge distances settle most cells: one > omega is farther than omega from
 * the hull, all <= 0 is inside; only the band between needs the distance
 * to the nearest edge segment. The answer does not depend on the order of
 * the edges, nor on the other lanes. */
static unsigned valid4(const cell_test *ct, const uint8_t *cells)
{
    const sidik__tables *tab = ct->tab;
    const float omega = SIDIK__MCC_OMEGA;
    f32x4 cx = {tab->cell_dx[cells[0]], tab->cell_dx[cells[1]], tab->cell_dx[cells[2]],
                tab->cell_dx[cells[3]]};
    f32x4 cy = {tab->cell_dy[cells[0]], tab->cell_dy[cells[1]], tab->cell_dy[cells[2]],
                tab->cell_dy[cells[3]]};
    /* The grid turns with the minutia: with y down and angles
     * counter-clockwise its direction is (cos, -sin). */
    f32x4 px = ct->m.x + ct->ca * cx + ct->sa * cy;
    f32x4 py = ct->m.y - ct->sa * cx + ct->ca * cy;
    i32x4 reject = {0}, outside = {0};
    for (int e = 0; e < ct->k; e++) {
        const hull_edge *h = &ct->edge[e];
        f32x4 d = h->ey * (px - h->a.x) - h->ex * (py - h->a.y);
        reject |= d > omega;
        outside |= d > 0;
    }
    i32x4 band = outside & ~reject, near = {0};
    for (int e = 0; e < ct->k && any4(band & ~near); e++) {
        point a = ct->edge[e].a, b = ct->edge[e].b;
        float dx = b.x - a.x, dy = b.y - a.y, len2 = dx * dx + dy * dy;
        f32x4 u = {0};
        if (len2 > 0)
            u = ((px - a.x) * dx + (py - a.y) * dy) / len2;
        u = select4(u < 0, u, (f32x4){0});
        u = select4(u > 1, u, (f32x4){1, 1, 1, 1});
        f32x4 qx = a.x + u * dx - px, qy = a.y + u * dy - py;
        near |= sqrt4(qx * qx + qy * qy) <= omega;
    }
    return mask4(~reject & (~outside | near));
}

/* The same for a hull of fewer than 3 points: within omega of one. */
static bool near_points(const cell_test *ct, int c)
{
    float dx = ct->tab->cell_dx[c], dy = ct->tab->cell_dy[c], omega = SIDIK__MCC_OMEGA;
    point p = {ct->m.x + ct->ca * dx + ct->sa * dy, ct->m.y - ct->sa * dx + ct->ca * dy};
    for (int e = 0; e < ct->h->k; e++) {
        float ex = p.x - ct->h->edge[e].a.x, ey = p.y - ct->h->edge[e].a.y;
        if (ex * ex + ey * ey <= omega * omega)
            return true;
    }
    return false;
}

/* Tests every cell: on[c] = -1 where cell c is valid, else 0, zero past
 * the last cell. Returns the count of valid cells. */
static int all_valid(const cell_test *ct, int32_t *on)
{
    int count = 0;
    memset(on, 0, SUM_CELLS * sizeof on[0]);
    _Static_assert(SIDIK__MCC_CELLS % 4 == 0, "cells come in fours");
    for (int c = 0; c < SIDIK__MCC_CELLS; c += 4) {
        uint8_t cells[4] = {(uint8_t)c, (uint8_t)(c + 1), (uint8_t)(c + 2), (uint8_t)(c + 3)};
        unsigned m = 0;
        if (ct->h->k >= 3)
            m = valid4(ct, cells);
        else
            for (int l = 0; l < 4; l++)
                m |= (unsigned)near_points(ct, c + l) << l;
        for (int l = 0; l < 4; l++) {
            on[c + l] = -(int32_t)(m >> l & 1);
            count += m >> l & 1;
        }
    }
    return count;
}

static float cell_r2(const sidik__tables *tab, int c)
{
    return tab->cell_dx[c] * tab->cell_dx[c] + tab->cell_dy[c] * tab->cell_dy[c];
}

/* For a convex hull: whether at least need (> 0) cells are valid, testing
 * no more than it takes. The cells within sure2 are the nearest ones, and
 * the rest are tested nearest first, four at a time. */
static bool enough_valid(const cell_test *ct, int need)
{
    const uint8_t *order = ct->tab->cell_by_r;
    if (cell_r2(ct->tab, order[need - 1]) <= ct->sure2)
        return true;
    int count = 0;
    while (count < need && cell_r2(ct->tab, order[count]) <= ct->sure2)
        count++;
    for (int j = count; j < SIDIK__MCC_CELLS; j += 4) {
        if (count >= need || count + SIDIK__MCC_CELLS - j < need)
            break;
        int lanes = SIDIK__MCC_CELLS - j < 4 ? SIDIK__MCC_CELLS - j : 4;
        uint8_t cells[4];
        for (int l = 0; l < 4; l++)
            cells[l] = order[j + (l < lanes ? l : lanes - 1)];
        count += __builtin_popcount(valid4(ct, cells) & ((1u << lanes) - 1));
    }
    return count >= need;
}

/* ---- cylinders ----------------------------------------------------------- */

/* The cylinder's sums, section by section: sum[k][c] is cell c's for
 * angular section k. */
typedef float cell_sums[SIDIK__MCC_ND][SUM_CELLS];

/* The cell grid by rows: row a holds the cells b = lo[a] .. hi[a] (the
 * circle cuts every row in one run), numbered first[a] + b - lo[a]; every
 * cell of a row has the same cell_dx. dy is the tables' cell_dy with room
 * for lanes past the last cell. */
typedef struct {
    int lo[SIDIK__MCC_NS], hi[SIDIK__MCC_NS], first[SIDIK__MCC_NS];
    float dy[SUM_CELLS];
} grid_rows;

static void grid_rows_init(const sidik__tables *tab, grid_rows *g)
{
    for (int a = 0; a < SIDIK__MCC_NS; a++) {
        g->lo[a] = SIDIK__MCC_NS, g->hi[a] = -1, g->first[a] = 0;
        for (int b = SIDIK__MCC_NS - 1; b >= 0; b--) {
            if (tab->cell_at[a][b] >= 0) {
                g->lo[a] = b, g->first[a] = tab->cell_at[a][b];
                g->hi[a] = g->hi[a] < 0 ? b : g->hi[a];
            }
        }
    }
    memset(g->dy, 0, sizeof g->dy);
    memcpy(g->dy, tab->cell_dy, sizeof tab->cell_dy);
}

/* (int)ceilf(x) and (int)floorf(x) of each lane, for |x| far below 2^31:
 * truncated, then moved by one where truncation went the wrong way. */
static i32x4 ceil_floor(f32x4 x, i32x4 up)
{
    i32x4 t = __builtin_convertvector(x, i32x4);
    f32x4 tf = __builtin_convertvector(t, f32x4);
    return t - ((tf < x) & up) + ((tf > x) & ~up);
}

static f32x4 load4(const float *p)
{
    f32x4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void store4(float *p, f32x4 v)
{
    memcpy(p, &v, sizeof v);
}

/* Adds neighbour t's contributions to the cells within 3 sigma of it, found
 * from its position (u, v) in the cylinder's own frame: a few dozen cells
 * rather than all 112. A row of the grid runs in four-cell lanes, each
 * cell's sums with the same operations as one at a time. Lanes without a
 * contribution (too far, past the row, or an invalid cell where on is
 * given) add g = +0, which leaves every sum as it was: a sum starts at +0
 * and only adds terms of its own sign, so it is never -0, the one value
 * that adding +0 changes. */
static void add_neighbour(const sidik__tables *tab, const grid_rows *rows, const int32_t *on,
                          float u, float v, uint8_t dtheta, cell_sums sum)
{
    const float step = 2 * SIDIK__MCC_R / SIDIK__MCC_NS;
    const float near = 3 * SIDIK__MCC_SIGMA_S, near2 = near * near;
    const float mid = (SIDIK__MCC_NS - 1) / 2.0f;
    /* The rows and columns within near of (u, v): the same divisions and
     * roundings as one at a time, done side by side. */
    f32x4 edge = ((f32x4){u - near, u + near, v - near, v + near} / step) + mid;
    i32x4 box = ceil_floor(edge, (i32x4){-1, 0, -1, 0});
    int a0 = box[0], a1 = box[1], b0 = box[2], b1 = box[3];
    a0 = a0 < 0 ? 0 : a0;
    a1 = a1 >= SIDIK__MCC_NS ? SIDIK__MCC_NS - 1 : a1;
    float cd[SIDIK__MCC_ND];
    for (int k = 0; k < SIDIK__MCC_ND; k++)
        cd[k] = tab->cd[k][dtheta];
    for (int a = a0; a <= a1; a++) {
        int lo = b0 > rows->lo[a] ? b0 : rows->lo[a];
        int hi = b1 < rows->hi[a] ? b1 : rows->hi[a];
        int c = rows->first[a] + lo - rows->lo[a], end = c + hi - lo + 1;
        /* Every cell of a row has the same cell_dx, so the same du. */
        float du = tab->cell_dx[rows->first[a]] - u, du2 = du * du;
        for (; c < end; c += 4) {
            f32x4 dv = load4(&rows->dy[c]) - v, d2 = du2 + dv * dv;
            i32x4 in = (d2 <= near2) & ((i32x4){0, 1, 2, 3} < end - c);
            if (on != NULL) {
                i32x4 ok;
                memcpy(&ok, &on[c], sizeof ok);
                in &= ok;
            }
            i32x4 q = __builtin_convertvector(d2 * 4, i32x4) & in;
            f32x4 g = {tab->gs[q[0]], tab->gs[q[1]], tab->gs[q[2]], tab->gs[q[3]]};
            g = (f32x4)((i32x4)g & in);
            for (int k = 0; k < SIDIK__MCC_ND; k++)
                store4(&sum[k][c], load4(&sum[k][c]) + g * cd[k]);
        }
    }
}

/* Bit j * 5 set where bit j of m is: four cells' bits for one section,
 * spread to their places among the five sections. */
static const uint32_t spread5[16] = {
    0x00000, 0x00001, 0x00020, 0x00021, 0x00400, 0x00401, 0x00420, 0x00421,
    0x08000, 0x08001, 0x08020, 0x08021, 0x08400, 0x08401, 0x08420, 0x08421,
};

/* The cylinder's bits: bit c * 5 + k is set when cell c's sum for section
 * k passes the threshold. */
static void threshold(cell_sums sum, uint64_t *bits)
{
    const f32x4 mu = {SIDIK__MCC_MU_PSI, SIDIK__MCC_MU_PSI, SIDIK__MCC_MU_PSI, SIDIK__MCC_MU_PSI};
    for (int c = 0; c < SIDIK__MCC_CELLS; c += 4) {
        uint64_t set = 0;
        for (int k = 0; k < SIDIK__MCC_ND; k++)
            set |= (uint64_t)spread5[mask4(load4(&sum[k][c]) > mu)] << k;
        int bit = c * SIDIK__MCC_ND, off = bit & 63;
        bits[bit >> 6] |= set << off;
        if (off > 64 - 4 * SIDIK__MCC_ND)
            bits[(bit >> 6) + 1] |= set >> (64 - off);
    }
}

/* The minutiae within reach of minutia i, i excepted, in index order, four
 * candidates at a time (x and y are zero past f->n, inside their arrays).
 * Returns their count. */
static int find_neighbours(const sidik_finger *f, int i, uint8_t *out)
{
    const float reach = SIDIK__MCC_R + 3 * SIDIK__MCC_SIGMA_S;
    int count = 0;
    _Static_assert(SIDIK_TMPL_MAX_MINUTIAE % 4 == 0, "minutiae come in fours");
    for (int t = 0; t < f->n; t += 4) {
        f32x4 rx = load4(&f->x[t]) - f->x[i], ry = load4(&f->y[t]) - f->y[i];
        i32x4 lane = (i32x4){0, 1, 2, 3} + t;
        unsigned m = mask4((rx * rx + ry * ry <= reach * reach) & (lane < f->n) & (lane != i));
        for (; m != 0; m &= m - 1)
            out[count++] = (uint8_t)(t + __builtin_ctz(m));
    }
    return count;
}

static void build_cylinder(const sidik__tables *tab, const grid_rows *rows, sidik_finger *f, int i,
                           const hull_edges *hull)
{
    float ca = tab->cosb[f->angle[i]], sa = tab->sinb[f->angle[i]];
    cell_test ct;
    cell_test_init(&ct, tab, f, i, ca, sa, hull);

    /* A cell a neighbour reaches lies within 3 sigma of a minutia, which a
     * convex hull holds: closer than omega - HULL_MARGIN to the hull, so
     * valid. Only other hulls need every cell tested here. */
    int32_t on_cells[SUM_CELLS], *on = NULL;
    int valid_cells = SIDIK__MCC_CELLS;
    if (!hull->convex) {
        valid_cells = all_valid(&ct, on_cells);
        on = on_cells;
    }

    /* Neighbours are taken in index order, so every cell sums its
     * contributions in that order; the five sections of a cell are
     * independent sums. */
    cell_sums sum;
    memset(sum, 0, sizeof sum);
    uint8_t nbr[SIDIK_TMPL_MAX_MINUTIAE];
    int neighbours = find_neighbours(f, i, nbr);
    for (int j = 0; j < neighbours; j++) {
        int t = nbr[j];
        float rx = f->x[t] - f->x[i], ry = f->y[t] - f->y[i];
        float u = ca * rx - sa * ry, v = sa * rx + ca * ry; /* in the cylinder's frame */
        add_neighbour(tab, rows, on, u, v, (uint8_t)(f->angle[i] - f->angle[t]), sum);
    }

    uint64_t bits[SIDIK__MCC_WORDS + 1] = {0};
    threshold(sum, bits);
    const float need = SIDIK__MCC_MIN_VC * SIDIK__MCC_CELLS;
    f->valid[i] = neighbours >= SIDIK__MCC_MIN_M &&
                  (hull->convex ? enough_valid(&ct, (int)ceilf(need)) : valid_cells >= need);
    int pop = 0;
    for (int w = 0; w < SIDIK__MCC_WORDS; w++) {
        f->cyl[w * f->npad + i] = bits[w];
        pop += __builtin_popcountll(bits[w]);
    }
    f->sqrt_pop[i] = sqrtf((float)pop);
}

/* Marks the occupancy cells within SIDIK__OCC_RADIUS of each minutia: the
 * area the finger covers, for counting minutiae inside the overlap. */
static void build_occupancy(sidik_finger *f)
{
    const float r = SIDIK__OCC_RADIUS, half = SIDIK__OCC_CELL / 2.0f;
    for (int i = 0; i < f->n; i++) {
        int cx0 = (int)floorf((f->x[i] - r - SIDIK__OCC_ORIGIN) / SIDIK__OCC_CELL);
        int cy0 = (int)floorf((f->y[i] - r - SIDIK__OCC_ORIGIN) / SIDIK__OCC_CELL);
        int span = (int)(2 * r / SIDIK__OCC_CELL) + 2;
        for (int cy = cy0; cy <= cy0 + span; cy++) {
            for (int cx = cx0; cx <= cx0 + span; cx++) {
                if (cx < 0 || cy < 0 || cx >= SIDIK__OCC_SIZE || cy >= SIDIK__OCC_SIZE)
                    continue;
                float px = SIDIK__OCC_ORIGIN + (float)cx * SIDIK__OCC_CELL + half;
                float py = SIDIK__OCC_ORIGIN + (float)cy * SIDIK__OCC_CELL + half;
                float dx = px - f->x[i], dy = py - f->y[i];
                if (dx * dx + dy * dy <= r * r)
                    f->occ[cy] |= 1ull << cx;
            }
        }
    }
}

int FINGER_BUILD(const sidik_template *t, sidik_finger **out)
{
    const sidik__tables *tab = sidik__tables_get();
    int n = t->count;
    int npad = (n + SIDIK__CYL_PAD - 1) / SIDIK__CYL_PAD * SIDIK__CYL_PAD;
    if (npad == 0)
        npad = SIDIK__CYL_PAD;
    size_t bytes = sizeof(sidik_finger) + sizeof(uint64_t) * SIDIK__MCC_WORDS * (size_t)npad;
    sidik_finger *f = sidik_trycalloc(1, bytes);
    if (f == NULL)
        return SIDIK_ENOMEM;
    f->n = (uint16_t)n;
    f->npad = (uint16_t)npad;
    for (int i = 0; i < n; i++) {
        f->x[i] = t->m[i].x;
        f->y[i] = t->m[i].y;
        f->angle[i] = t->m[i].angle;
    }
    point hull[SIDIK_TMPL_MAX_MINUTIAE + 1];
    hull_edges edges;
    hull_prepare(f, hull, convex_hull(f, hull), &edges);
    grid_rows rows;
    grid_rows_init(tab, &rows);
    for (int i = 0; i < n; i++) {
        build_cylinder(tab, &rows, f, i, &edges);
        f->nvalid += f->valid[i];
    }
    build_occupancy(f);
    /* Insertion sort by y (stable, so equal y keep index order): lets the
     * consolidation find a point's neighbours by binary search. */
    for (int i = 0; i < n; i++) {
        int j = i;
        while (j > 0 && f->y[f->by_y[j - 1]] > f->y[i]) {
            f->by_y[j] = f->by_y[j - 1];
            j--;
        }
        f->by_y[j] = (uint8_t)i;
    }
    for (int r = 0, k = 0; r <= SIDIK__OCC_SIZE; r++) {
        float top = SIDIK__OCC_ORIGIN + (float)r * SIDIK__OCC_CELL;
        while (k < n && f->y[f->by_y[k]] < top)
            k++;
        f->row_start[r] = (uint8_t)k;
    }
    *out = f;
    return 0;
}
