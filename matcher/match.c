/* PLACEHOLDER until the real matcher lands: counts minutiae pairs that agree
 * in position and angle without any alignment. Not for accuracy work. */
#include "sidik/matcher.h"
#include "sidik/common.h"

#include <string.h>

struct sidik_finger {
    sidik_template t;
};

struct sidik_matcher {
    sidik_simd_level level;
};

int sidik_finger_create(const sidik_template *t, sidik_finger **out)
{
    sidik_finger *f = sidik_trymalloc(sizeof *f);
    if (f == NULL)
        return SIDIK_ENOMEM;
    memcpy(&f->t, t, sizeof *t);
    *out = f;
    return 0;
}

void sidik_finger_destroy(sidik_finger *f)
{
    sidik_free(f);
}

int sidik_matcher_create(sidik_simd_level level, sidik_matcher **out)
{
    sidik_matcher *m = sidik_trymalloc(sizeof *m);
    if (m == NULL)
        return SIDIK_ENOMEM;
    m->level = level;
    *out = m;
    return 0;
}

void sidik_matcher_destroy(sidik_matcher *m)
{
    sidik_free(m);
}

uint32_t sidik_match_score(sidik_matcher *m, const sidik_finger *a, const sidik_finger *b)
{
    (void)m;
    uint32_t hits = 0;
    for (int i = 0; i < a->t.count; i++)
        for (int j = 0; j < b->t.count; j++) {
            int dx = a->t.m[i].x - b->t.m[j].x, dy = a->t.m[i].y - b->t.m[j].y;
            int da = (int8_t)(uint8_t)(a->t.m[i].angle - b->t.m[j].angle);
            if (dx * dx + dy * dy < 225 && da > -12 && da < 12)
                hits++;
        }
    uint32_t n = a->t.count + b->t.count;
    return n == 0 ? 0 : (hits * 2 * SIDIK_MATCH_SCORE_MAX) / n;
}
