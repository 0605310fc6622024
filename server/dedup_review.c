/* The enrollments awaiting review, kept searchable (dedup_review.h). */
#include "dedup_review.h"

#include "sidik/common.h"

#include <string.h>

/* The first index whose sequence is >= seq. */
static size_t lower_bound(const sidik__review_set *r, uint64_t seq)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->e[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int sidik__review_add(sidik__review_set *r, uint64_t seq, const char *id, const uint8_t *iso,
                      size_t len)
{
    if (r == NULL || seq == 0 || id == NULL || iso == NULL || len == 0 ||
        strlen(id) > SIDIK_ENROLL_ID_MAX)
        return SIDIK_EINVAL;
    size_t at = lower_bound(r, seq);
    if (at < r->n && r->e[at].seq == seq)
        return SIDIK_EEXISTS;
    sidik__review_entry *grown = sidik_trygrow(r->e, &r->cap, r->n, sizeof *grown, 64);
    if (grown == NULL)
        return SIDIK_ENOMEM;
    r->e = grown;
    uint8_t *copy = sidik_trymalloc(len);
    if (copy == NULL)
        return SIDIK_ENOMEM;
    memcpy(copy, iso, len);
    memmove(&r->e[at + 1], &r->e[at], (r->n - at) * sizeof *r->e);
    sidik__review_entry *e = &r->e[at];
    e->seq = seq;
    memset(e->id, 0, sizeof e->id);
    memcpy(e->id, id, strlen(id));
    e->iso = copy;
    e->iso_len = len;
    r->n++;
    return 0;
}

const sidik__review_entry *sidik__review_find(const sidik__review_set *r, uint64_t seq)
{
    size_t at = lower_bound(r, seq);
    return at < r->n && r->e[at].seq == seq ? &r->e[at] : NULL;
}

bool sidik__review_remove(sidik__review_set *r, uint64_t seq)
{
    size_t at = lower_bound(r, seq);
    if (at == r->n || r->e[at].seq != seq)
        return false;
    sidik_free(r->e[at].iso);
    memmove(&r->e[at], &r->e[at + 1], (r->n - at - 1) * sizeof *r->e);
    r->n--;
    return true;
}

void sidik__review_close(sidik__review_set *r)
{
    for (size_t i = 0; i < r->n; i++)
        sidik_free(r->e[i].iso);
    sidik_free(r->e);
    memset(r, 0, sizeof *r);
}
