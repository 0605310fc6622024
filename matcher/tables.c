/*
 * The matcher's constant tables, built once per process: trigonometry of
 * byte angles, the cylinder's cell geometry and contribution functions, and
 * the per-hypothesis stretches. Tables keep exp/erf/atan2 off every hot path.
 */
#include "mcc.h"

#include <math.h>
#include <pthread.h>

#define PI_F 3.14159265358979f

static sidik__tables tab;
static pthread_once_t tab_once = PTHREAD_ONCE_INIT;

/* Area under a Gaussian of sigma_d over one angular section whose centre is
 * alpha away from the neighbour's direction difference (MCC's C^D). */
static float directional(float alpha)
{
    const float half = PI_F / SIDIK__MCC_ND;
    const float k = 1.0f / (SIDIK__MCC_SIGMA_D * sqrtf(2.0f));
    return 0.5f * (erff((alpha + half) * k) - erff((alpha - half) * k));
}

static float wrap_pi(float a)
{
    while (a < -PI_F)
        a += 2 * PI_F;
    while (a >= PI_F)
        a -= 2 * PI_F;
    return a;
}

static void build(void)
{
    const float step = 2 * SIDIK__MCC_R / SIDIK__MCC_NS;
    int c = 0;
    for (int a = 0; a < SIDIK__MCC_NS; a++) {
        for (int b = 0; b < SIDIK__MCC_NS; b++) {
            float ii = (float)a - (SIDIK__MCC_NS - 1) / 2.0f;
            float jj = (float)b - (SIDIK__MCC_NS - 1) / 2.0f;
            tab.cell_at[a][b] = -1;
            if ((ii * ii + jj * jj) * step * step > SIDIK__MCC_R * SIDIK__MCC_R)
                continue;
            tab.cell_at[a][b] = (int8_t)c;
            tab.cell_dx[c] = ii * step;
            tab.cell_dy[c] = jj * step;
            c++;
        }
    }
    /* Insertion sort by distance from the centre, ties in cell order. */
    for (int i = 0; i < SIDIK__MCC_CELLS; i++) {
        float r2 = tab.cell_dx[i] * tab.cell_dx[i] + tab.cell_dy[i] * tab.cell_dy[i];
        int j = i;
        for (; j > 0; j--) {
            int prev = tab.cell_by_r[j - 1];
            if (tab.cell_dx[prev] * tab.cell_dx[prev] + tab.cell_dy[prev] * tab.cell_dy[prev] <= r2)
                break;
            tab.cell_by_r[j] = tab.cell_by_r[j - 1];
        }
        tab.cell_by_r[j] = (uint8_t)i;
    }
    const float s = SIDIK__MCC_SIGMA_S;
    for (int q = 0; q < 3137; q++)
        tab.gs[q] = expf(-((float)q / 4) / (2 * s * s)) / (s * sqrtf(2 * PI_F));
    for (int k = 0; k < SIDIK__MCC_ND; k++) {
        float dk = -PI_F + ((float)k + 0.5f) * 2 * PI_F / SIDIK__MCC_ND;
        for (int d = 0; d < 256; d++)
            tab.cd[k][d] = directional(wrap_pi(dk - (float)(int8_t)(uint8_t)d * (2 * PI_F / 256)));
    }
    for (int d = 0; d < 256; d++) {
        tab.cosb[d] = cosf((float)d * (2 * PI_F / 256));
        tab.sinb[d] = sinf((float)d * (2 * PI_F / 256));
    }

    /* A direction (cos, -sin) stretched by (sx, sy) is (sx cos, -sy sin). */
    for (int h = 0; h < SIDIK__HYPOTHESES; h++) {
        float k = powf(1.3f, (float)(h - (SIDIK__HYPOTHESES - 1) / 2));
        tab.hyp_sx[h] = 1 / sqrtf(k);
        tab.hyp_sy[h] = sqrtf(k);
        for (int d = 0; d < 256; d++) {
            float t = atan2f(tab.sinb[d] * tab.hyp_sy[h], tab.cosb[d] * tab.hyp_sx[h]);
            int b = (int)lrintf(t * (256 / (2 * PI_F)));
            tab.hyp_angle[h][d] = (uint8_t)(b & 255);
        }
    }

    /* MCC's LSS: n_P = minNP + round(Z(min(nA, nB); 20, 2/5) * (maxNP - minNP)). */
    for (int n = 0; n <= SIDIK_TMPL_MAX_MINUTIAE; n++) {
        float z = 1 / (1 + expf(-0.4f * ((float)n - 20)));
        tab.np_for_count[n] = (uint8_t)(4 + lrintf(z * 8));
    }
}

const sidik__tables *sidik__tables_get(void)
{
    pthread_once(&tab_once, build);
    return &tab;
}
