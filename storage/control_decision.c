/*
 * Decisions in the control store: each enrollment's list of decisions (the
 * search's, then any adjudication), with the candidates and per-finger
 * scores an auditor needs to see why.
 *
 * Key: enrollment id, 0x00, u8 index. Value (little-endian): the head
 * below, the reason bytes, the adjudicator bytes (version 2), then per
 * candidate 56 bytes (u64 record id, f64 llr, f64 threshold, f32 signature
 * score, u16 fingers compared, u16 reserved, u16 score per finger position
 * x 10, u32 reserved). Version 1 (format-1 stores) had no adjudicator; its
 * byte was reserved and zero, so both read alike.
 *
 * Each decision is also indexed in decision order (control_find.c), in the
 * same transaction.
 */
#include "control_int.h"
#include "sidik/common.h"

#include <math.h>
#include <string.h>

#define DECISION_VERSION 2u

typedef struct decision_head {
    uint8_t version; /* DECISION_VERSION */
    uint8_t outcome;
    uint8_t ncandidates;
    uint8_t reason_len;
    uint8_t adjudicator_len; /* 0 in version 1 */
    uint8_t reserved[3];
    int64_t time_ms;
    uint64_t gallery_size;
    double threshold;
    double review_threshold;
} decision_head;
_Static_assert(sizeof(decision_head) == 40, "decision head is 40 bytes on disk");

typedef struct decision_cand {
    uint64_t record_id;
    double llr;
    double threshold;
    float signature;
    uint16_t compared;
    uint16_t reserved;
    uint16_t score[10];
    uint32_t reserved2; /* keeps the size a multiple of 8 with no hidden padding */
} decision_cand;
_Static_assert(sizeof(decision_cand) == 56, "decision candidate is 56 bytes on disk");

#define KEY_MAX   (SIDIK_ENROLL_ID_MAX + 2)
#define VALUE_MAX (sizeof(decision_head) + SIDIK_REASON_MAX + SIDIK_ADJUDICATOR_MAX + \
                   SIDIK_DECISION_RECORD_CANDIDATES * sizeof(decision_cand))

static MDB_val decision_key(const char *id, uint8_t index, uint8_t buf[KEY_MAX])
{
    size_t n = strlen(id);
    memcpy(buf, id, n);
    buf[n] = 0;
    buf[n + 1] = index;
    return (MDB_val){n + 2, buf};
}

static bool valid_outcome(sidik_status s)
{
    return s == SIDIK_STATUS_PRINT_READY || s == SIDIK_STATUS_DUPLICATE ||
           s == SIDIK_STATUS_ADJUDICATE || s == SIDIK_STATUS_REJECTED;
}

static bool valid_text(const char *r, size_t max)
{
    size_t n = strnlen(r, max + 1);
    if (n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)r[i] < ' ' || r[i] == 0x7f)
            return false;
    return true;
}

int sidik_control_decision_count(sidik_control_txn *t, const char *id, uint32_t *n)
{
    if (t == NULL || id == NULL || n == NULL || !sidik__control_valid_id(id))
        return SIDIK_EINVAL;
    bool write;
    MDB_txn *txn = sidik__control_txn(t, &write);
    uint8_t kb[KEY_MAX];
    MDB_val k = decision_key(id, 0, kb), v;
    sidik__range r;
    int rc = sidik__range_open(&r, txn, sidik__control_decision_dbi(t), &k, 1);
    if (rc != 0)
        return rc;
    *n = 0;
    for (bool first = true; (rc = sidik__range_step(&r, first, &k, &v)) == 0; first = false)
        (*n)++;
    mdb_cursor_close(r.cur);
    return rc == 1 ? 0 : rc;
}

int sidik_control_decision_add(sidik_control_txn *t, const char *id, const sidik_decision_record *d,
                               uint32_t *index)
{
    if (t == NULL || id == NULL || d == NULL || !sidik__control_valid_id(id) ||
        !valid_outcome(d->outcome) || d->ncandidates > SIDIK_DECISION_RECORD_CANDIDATES ||
        !valid_text(d->reason, SIDIK_REASON_MAX) ||
        !valid_text(d->adjudicator, SIDIK_ADJUDICATOR_MAX) || !isfinite(d->threshold) ||
        !isfinite(d->review_threshold))
        return SIDIK_EINVAL;
    for (uint32_t i = 0; i < d->ncandidates; i++)
        if (d->candidate[i].record_id == 0 || !isfinite(d->candidate[i].llr) ||
            d->candidate[i].compared >= 1u << 10)
            return SIDIK_EINVAL;
    bool write;
    MDB_txn *txn = sidik__control_txn(t, &write);
    if (!write)
        return SIDIK_ESTATE;
    sidik_enrollment e;
    int rc = sidik_control_enroll_get(t, id, &e);
    if (rc != 0)
        return rc;
    uint32_t n;
    if ((rc = sidik_control_decision_count(t, id, &n)) != 0)
        return rc;
    if (n >= SIDIK_DECISION_RECORD_MAX)
        return SIDIK_ESTATE;

    uint8_t buf[VALUE_MAX];
    decision_head h = {.version = DECISION_VERSION,
                       .outcome = (uint8_t)d->outcome,
                       .ncandidates = (uint8_t)d->ncandidates,
                       .reason_len = (uint8_t)strlen(d->reason),
                       .adjudicator_len = (uint8_t)strlen(d->adjudicator),
                       .time_ms = d->time_ms,
                       .gallery_size = d->gallery_size,
                       .threshold = d->threshold,
                       .review_threshold = d->review_threshold};
    size_t len = 0;
    memcpy(buf, &h, sizeof h);
    len += sizeof h;
    memcpy(buf + len, d->reason, h.reason_len);
    len += h.reason_len;
    memcpy(buf + len, d->adjudicator, h.adjudicator_len);
    len += h.adjudicator_len;
    for (uint32_t i = 0; i < d->ncandidates; i++) {
        const sidik_decision_candidate *c = &d->candidate[i];
        decision_cand dc = {.record_id = c->record_id,
                            .llr = c->llr,
                            .threshold = c->threshold,
                            .signature = c->signature,
                            .compared = c->compared};
        memcpy(dc.score, c->score, sizeof dc.score);
        memcpy(buf + len, &dc, sizeof dc);
        len += sizeof dc;
    }
    uint8_t kb[KEY_MAX];
    MDB_val k = decision_key(id, (uint8_t)n, kb), v = {len, buf};
    rc = sidik_lmdb_err(mdb_put(txn, sidik__control_decision_dbi(t), &k, &v, MDB_NOOVERWRITE));
    if (rc == 0)
        rc = sidik__control_decision_index(t, &e, n, d->time_ms);
    if (rc == 0 && index != NULL)
        *index = n;
    return rc;
}

int sidik_control_decision_get(sidik_control_txn *t, const char *id, uint32_t index,
                               sidik_decision_record *out)
{
    if (t == NULL || id == NULL || out == NULL || !sidik__control_valid_id(id))
        return SIDIK_EINVAL;
    if (index == UINT32_MAX) {
        uint32_t n;
        int rc = sidik_control_decision_count(t, id, &n);
        if (rc != 0)
            return rc;
        if (n == 0)
            return SIDIK_ENOTFOUND;
        index = n - 1;
    }
    if (index >= SIDIK_DECISION_RECORD_MAX)
        return SIDIK_ENOTFOUND;
    bool write;
    MDB_txn *txn = sidik__control_txn(t, &write);
    uint8_t kb[KEY_MAX];
    MDB_val k = decision_key(id, (uint8_t)index, kb), v;
    int rc = sidik_lmdb_err(mdb_get(txn, sidik__control_decision_dbi(t), &k, &v));
    if (rc != 0)
        return rc;
    decision_head h;
    if (v.mv_size < sizeof h)
        return SIDIK_ECORRUPT;
    memcpy(&h, v.mv_data, sizeof h);
    if ((h.version != 1 && h.version != DECISION_VERSION) ||
        !valid_outcome((sidik_status)h.outcome) ||
        h.ncandidates > SIDIK_DECISION_RECORD_CANDIDATES || h.reason_len > SIDIK_REASON_MAX ||
        h.adjudicator_len > SIDIK_ADJUDICATOR_MAX ||
        v.mv_size != sizeof h + h.reason_len + h.adjudicator_len +
                         h.ncandidates * sizeof(decision_cand))
        return SIDIK_ECORRUPT;
    memset(out, 0, sizeof *out);
    out->outcome = (sidik_status)h.outcome;
    out->time_ms = h.time_ms;
    out->gallery_size = h.gallery_size;
    out->threshold = h.threshold;
    out->review_threshold = h.review_threshold;
    const uint8_t *p = (const uint8_t *)v.mv_data + sizeof h;
    memcpy(out->reason, p, h.reason_len);
    p += h.reason_len;
    memcpy(out->adjudicator, p, h.adjudicator_len);
    p += h.adjudicator_len;
    out->ncandidates = h.ncandidates;
    for (uint32_t i = 0; i < h.ncandidates; i++, p += sizeof(decision_cand)) {
        decision_cand dc;
        memcpy(&dc, p, sizeof dc);
        out->candidate[i] = (sidik_decision_candidate){.record_id = dc.record_id,
                                                       .llr = dc.llr,
                                                       .threshold = dc.threshold,
                                                       .signature = dc.signature,
                                                       .compared = dc.compared};
        memcpy(out->candidate[i].score, dc.score, sizeof dc.score);
    }
    return 0;
}
