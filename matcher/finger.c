/*
 * Preparing a finger for matching: Minutia Cylinder-Code cylinders (bit
 * version), their validity, and the occupancy grid used to measure overlap.
 *
 * This runs once per template, so it favours clarity over speed, but it uses
 * tables rather than exp/erf per cell: about 60 us for a 40-minutia finger.
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

static float segment_distance(point p, point a, point b)
{
    float dx = b.x - a.x, dy = b.y - a.y, len2 = dx * dx + dy * dy;
    float u = len2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2 : 0;
    u = u < 0 ? 0 : u > 1 ? 1 : u;
    float qx = a.x + u * dx - p.x, qy = a.y + u * dy - p.y;
    return sqrtf(qx * qx + qy * qy);
}

/* The hull's edges as unit vectors: the signed distance of p beyond edge e
 * (positive outside) is ey (p.x - ax) - ex (p.y - ay). */
typedef struct {
    int k;
    point v[SIDIK_TMPL_MAX_MINUTIAE + 1];
    float ex[SIDIK_TMPL_MAX_MINUTIAE], ey[SIDIK_TMPL_MAX_MINUTIAE];
} hull_edges;

static void hull_prepare(const point *hull, int k, hull_edges *h)
{
    h->k = k;
    for (int e = 0; e < k; e++) {
        h->v[e] = hull[e];
        point b = hull[(e + 1) % k];
        float dx = b.x - hull[e].x, dy = b.y - hull[e].y, len = sqrtf(dx * dx + dy * dy);
        h->ex[e] = len > 0 ? dx / len : 0;
        h->ey[e] = len > 0 ? dy / len : 0;
    }
    if (k > 0)
        h->v[k] = hull[0];
}

/* Inside the hull enlarged by omega: MCC's test for a cell on the finger.
 * The signed edge distances settle most points at once: all <= 0 is
 * inside, one > omega is farther than omega from the hull; only the band
 * between needs the exact distance to the nearest edge segment. */
static bool in_enlarged_hull(point p, const hull_edges *h, float omega)
{
    if (h->k >= 3) {
        bool outside = false;
        for (int e = 0; e < h->k; e++) {
            float d = h->ey[e] * (p.x - h->v[e].x) - h->ex[e] * (p.y - h->v[e].y);
            if (d > omega)
                return false;
            outside |= d > 0;
        }
        if (!outside)
            return true;
        for (int e = 0; e < h->k; e++)
            if (segment_distance(p, h->v[e], h->v[e + 1]) <= omega)
                return true;
        return false;
    }
    for (int e = 0; e < h->k; e++) {
        float dx = p.x - h->v[e].x, dy = p.y - h->v[e].y;
        if (dx * dx + dy * dy <= omega * omega)
            return true;
    }
    return false;
}

/* ---- cylinders ----------------------------------------------------------- */

static void build_cylinder(const sidik__tables *tab, sidik_finger *f, int i, const hull_edges *hull)
{
    const float step = 2 * SIDIK__MCC_R / SIDIK__MCC_NS;
    const float reach = SIDIK__MCC_R + 3 * SIDIK__MCC_SIGMA_S;
    const float near = 3 * SIDIK__MCC_SIGMA_S, near2 = near * near;
    float ca = tab->cosb[f->angle[i]], sa = tab->sinb[f->angle[i]];

    /* Which cells lie on the finger. The cell grid turns with the minutia:
     * with y down and angles counter-clockwise its direction is (cos, -sin). */
    bool valid[SIDIK__MCC_CELLS];
    int valid_cells = 0;
    for (int c = 0; c < SIDIK__MCC_CELLS; c++) {
        point p = {f->x[i] + ca * tab->cell_dx[c] + sa * tab->cell_dy[c],
                   f->y[i] - sa * tab->cell_dx[c] + ca * tab->cell_dy[c]};
        valid[c] = in_enlarged_hull(p, hull, SIDIK__MCC_OMEGA);
        valid_cells += valid[c];
    }

    /* Each neighbour adds to the cells within 3 sigma of it, found from its
     * position in the cylinder's own frame: a few dozen cells rather than
     * all 112. Neighbours are taken in index order, so every cell sums its
     * contributions in that order. */
    float sum[SIDIK__MCC_CELLS][SIDIK__MCC_ND];
    memset(sum, 0, sizeof sum);
    int neighbours = 0;
    for (int t = 0; t < f->n; t++) {
        float rx = f->x[t] - f->x[i], ry = f->y[t] - f->y[i];
        if (t == i || rx * rx + ry * ry > reach * reach)
            continue;
        neighbours++;
        float u = ca * rx - sa * ry, v = sa * rx + ca * ry; /* in the cylinder's frame */
        const float *cd[SIDIK__MCC_ND];
        uint8_t dtheta = (uint8_t)(f->angle[i] - f->angle[t]);
        for (int k = 0; k < SIDIK__MCC_ND; k++)
            cd[k] = &tab->cd[k][dtheta];
        const float mid = (SIDIK__MCC_NS - 1) / 2.0f;
        int a0 = (int)ceilf((u - near) / step + mid), a1 = (int)floorf((u + near) / step + mid);
        int b0 = (int)ceilf((v - near) / step + mid), b1 = (int)floorf((v + near) / step + mid);
        a0 = a0 < 0 ? 0 : a0, b0 = b0 < 0 ? 0 : b0;
        a1 = a1 >= SIDIK__MCC_NS ? SIDIK__MCC_NS - 1 : a1;
        b1 = b1 >= SIDIK__MCC_NS ? SIDIK__MCC_NS - 1 : b1;
        for (int a = a0; a <= a1; a++) {
            for (int b = b0; b <= b1; b++) {
                int c = tab->cell_at[a][b];
                if (c < 0 || !valid[c])
                    continue;
                float du = tab->cell_dx[c] - u, dv = tab->cell_dy[c] - v, d2 = du * du + dv * dv;
                if (d2 > near2)
                    continue;
                float g = tab->gs[(int)(d2 * 4)];
                for (int k = 0; k < SIDIK__MCC_ND; k++)
                    sum[c][k] += g * *cd[k];
            }
        }
    }

    uint64_t bits[SIDIK__MCC_WORDS] = {0};
    for (int c = 0; c < SIDIK__MCC_CELLS; c++) {
        for (int k = 0; k < SIDIK__MCC_ND; k++) {
            int bit = c * SIDIK__MCC_ND + k;
            bits[bit >> 6] |= (uint64_t)(sum[c][k] > SIDIK__MCC_MU_PSI) << (bit & 63);
        }
    }
    f->valid[i] =
        valid_cells >= SIDIK__MCC_MIN_VC * SIDIK__MCC_CELLS && neighbours >= SIDIK__MCC_MIN_M;
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

int sidik_finger_create(const sidik_template *t, sidik_finger **out)
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
    hull_prepare(hull, convex_hull(f, hull), &edges);
    for (int i = 0; i < n; i++) {
        build_cylinder(tab, f, i, &edges);
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

void sidik_finger_destroy(sidik_finger *f)
{
    sidik_free(f);
}
