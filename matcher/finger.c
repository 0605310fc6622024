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

/* Inside the hull enlarged by omega: MCC's test for a cell on the finger. */
static bool in_enlarged_hull(point p, const point *hull, int k, float omega)
{
    if (k >= 3) {
        bool inside = true;
        for (int i = 0; i < k && inside; i++)
            inside = cross(hull[i], hull[(i + 1) % k], p) >= 0;
        if (inside)
            return true;
        for (int i = 0; i < k; i++)
            if (segment_distance(p, hull[i], hull[(i + 1) % k]) <= omega)
                return true;
        return false;
    }
    for (int i = 0; i < k; i++) {
        float dx = p.x - hull[i].x, dy = p.y - hull[i].y;
        if (dx * dx + dy * dy <= omega * omega)
            return true;
    }
    return false;
}

/* ---- cylinders ----------------------------------------------------------- */

static void build_cylinder(const sidik__tables *tab, sidik_finger *f, int i, const point *hull,
                           int nhull)
{
    const float reach = SIDIK__MCC_R + 3 * SIDIK__MCC_SIGMA_S;
    const float near2 = 9 * SIDIK__MCC_SIGMA_S * SIDIK__MCC_SIGMA_S;
    int nb[SIDIK_TMPL_MAX_MINUTIAE], nn = 0;
    for (int t = 0; t < f->n; t++) {
        float dx = f->x[t] - f->x[i], dy = f->y[t] - f->y[i];
        if (t != i && dx * dx + dy * dy <= reach * reach)
            nb[nn++] = t;
    }
    float ca = tab->cosb[f->angle[i]], sa = tab->sinb[f->angle[i]];
    uint64_t bits[SIDIK__MCC_WORDS] = {0};
    int valid_cells = 0;
    for (int c = 0; c < SIDIK__MCC_CELLS; c++) {
        /* The cell grid turns with the minutia. With y down and angles
         * counter-clockwise, the minutia's direction is (cos, -sin). */
        point p = {f->x[i] + ca * tab->cell_dx[c] + sa * tab->cell_dy[c],
                   f->y[i] - sa * tab->cell_dx[c] + ca * tab->cell_dy[c]};
        if (!in_enlarged_hull(p, hull, nhull, SIDIK__MCC_OMEGA))
            continue;
        valid_cells++;
        float sum[SIDIK__MCC_ND] = {0};
        for (int q = 0; q < nn; q++) {
            int t = nb[q];
            float dx = f->x[t] - p.x, dy = f->y[t] - p.y, d2 = dx * dx + dy * dy;
            if (d2 > near2)
                continue;
            float g = tab->gs[(int)(d2 * 4)];
            uint8_t dtheta = (uint8_t)(f->angle[i] - f->angle[t]);
            for (int k = 0; k < SIDIK__MCC_ND; k++)
                sum[k] += g * tab->cd[k][dtheta];
        }
        for (int k = 0; k < SIDIK__MCC_ND; k++) {
            if (sum[k] > SIDIK__MCC_MU_PSI) {
                int bit = c * SIDIK__MCC_ND + k;
                bits[bit >> 6] |= 1ull << (bit & 63);
            }
        }
    }
    f->valid[i] = valid_cells >= SIDIK__MCC_MIN_VC * SIDIK__MCC_CELLS && nn >= SIDIK__MCC_MIN_M;
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
    int nhull = convex_hull(f, hull);
    for (int i = 0; i < n; i++) {
        build_cylinder(tab, f, i, hull, nhull);
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
