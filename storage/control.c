/*
 * The control store (sidik/control.h) on LMDB. Key layouts are in
 * storage/README.md; this file is their only writer.
 */
#include "control_int.h"
#include "sidik/common.h"
#include "sidik/control.h"

#include <string.h>

/* 2: the decision-order and review-queue indexes and the waiting verdicts;
 * 3: the enrollments by journal sequence (storage/README.md). Stores of
 * formats 1 and 2 are upgraded when opened. */
#define FORMAT_VERSION    3u
#define DEFAULT_MAP_BYTES (64ull << 30)

struct sidik_control {
    MDB_env *env;
    int (*fault)(void *ctx); /* sidik_control_options' I/O seam */
    void *fault_ctx;
    MDB_dbi meta, enroll, office, dir, decision, audit, printq, lease, lease_exp, person, nik;
    MDB_dbi dfind, review, pending, enroll_seq;
};

struct sidik_control_txn {
    sidik_control *c;
    MDB_txn *txn;
    bool write;
};

static const char *const status_names[] = {
    [SIDIK_STATUS_CAPTURED] = "CAPTURED",     [SIDIK_STATUS_SENT] = "SENT",
    [SIDIK_STATUS_RECEIVED] = "RECEIVED",     [SIDIK_STATUS_PRINT_READY] = "PRINT_READY",
    [SIDIK_STATUS_DUPLICATE] = "DUPLICATE",   [SIDIK_STATUS_ADJUDICATE] = "ADJUDICATE",
    [SIDIK_STATUS_REJECTED] = "REJECTED",     [SIDIK_STATUS_PRINTED] = "PRINTED",
};

const char *sidik_status_name(sidik_status s)
{
    return s >= SIDIK_STATUS_CAPTURED && s <= SIDIK_STATUS_PRINTED ? status_names[s] : "UNKNOWN";
}

/* ---- open / close --------------------------------------------------------- */

/* The databases a store of an older format lacks were just created empty.
 * Reading every decision or enrollment of a large store in the opening
 * transaction would hold up the start, so each index is filled only as far
 * as it must be:
 *  - from format 1, the decision-order index stays empty for the decisions
 *    made before (GetDecision reads them still), but the review queue must
 *    name every enrollment waiting for a person, and the office index finds
 *    those in a few seeks per office;
 *  - from formats 1 and 2, the sequence index gets the enrollments in the
 *    review queue: what it is read for is naming a candidate awaiting
 *    review (enrolled persons have the person index). A candidate that
 *    left review before the upgrade shows no enrollment id. */
static int upgrade(sidik_control *c, MDB_txn *txn, uint32_t from, const char **why)
{
    struct sidik_control_txn t = {.c = c, .txn = txn, .write = true};
    int rc = 0;
    if (from < 2 && (rc = sidik__control_review_rebuild(&t)) != 0) {
        *why = "upgrading the control store from format 1: the review queue";
        return rc;
    }
    if ((rc = sidik__control_seq_rebuild(&t)) != 0) {
        *why = "upgrading the control store: the sequence index of the review queue";
        return rc;
    }
    uint32_t f = FORMAT_VERSION;
    MDB_val k = {6, "format"}, v = {sizeof f, &f};
    rc = sidik_lmdb_err(mdb_put(txn, c->meta, &k, &v, 0));
    if (rc == 0)
        SIDIK_LOG_INFO("control store upgraded", "from=%u to=%u", from, FORMAT_VERSION);
    return rc;
}

static int check_format(sidik_control *c, MDB_txn *txn, const char **why)
{
    MDB_val k = {6, "format"}, v;
    int rc = mdb_get(txn, c->meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        /* A new store, unless something else is already in it. */
        MDB_stat st;
        mdb_stat(txn, c->enroll, &st);
        if (st.ms_entries != 0) {
            *why = "control store has records but no format version";
            return SIDIK_ECORRUPT;
        }
        uint32_t f = FORMAT_VERSION;
        v = (MDB_val){sizeof f, &f};
        return sidik_lmdb_err(mdb_put(txn, c->meta, &k, &v, 0));
    }
    if (rc != 0)
        return sidik_lmdb_err(rc);
    uint32_t f;
    if (v.mv_size != sizeof f) {
        *why = "control store format version unreadable";
        return SIDIK_ECORRUPT;
    }
    memcpy(&f, v.mv_data, sizeof f);
    if (f == 1 || f == 2)
        return upgrade(c, txn, f, why);
    if (f != FORMAT_VERSION) {
        *why = "control store written by another format version";
        return SIDIK_EVERSION;
    }
    return 0;
}

int sidik_control_open(const char *dir, const sidik_control_options *o, sidik_control **out,
                       const char **why)
{
    const char *ignore;
    if (why == NULL)
        why = &ignore;
    *why = NULL;
    if (dir == NULL || out == NULL) {
        *why = "no folder or result pointer";
        return SIDIK_EINVAL;
    }
    uint64_t map = o != NULL && o->map_bytes != 0 ? o->map_bytes : DEFAULT_MAP_BYTES;
    sidik_control *c = sidik_trycalloc(1, sizeof *c);
    if (c == NULL)
        return SIDIK_ENOMEM;
    const sidik_lmdb_db dbs[] = {
        {"meta", &c->meta},         {"enroll", &c->enroll}, {"office", &c->office},
        {"dir", &c->dir},           {"decision", &c->decision}, {"audit", &c->audit},
        {"printq", &c->printq},     {"lease", &c->lease},   {"lease_exp", &c->lease_exp},
        {"person", &c->person},     {"nik", &c->nik},
        {"dfind", &c->dfind},       {"review", &c->review}, {"pending", &c->pending},
        {"enroll_seq", &c->enroll_seq},
    };
    MDB_txn *txn;
    int rc = sidik_lmdb_open(dir, map, 0, dbs, SIDIK_ARRAY_SIZE(dbs), &c->env, &txn, why);
    if (rc == 0)
        rc = sidik_lmdb_open_finish(&c->env, &txn, check_format(c, txn, why));
    if (rc != 0) {
        sidik_free(c);
        return rc;
    }
    if (o != NULL)
        c->fault = o->fault, c->fault_ctx = o->fault_ctx;
    *out = c;
    return 0;
}

void sidik_control_close(sidik_control *c)
{
    if (c == NULL)
        return;
    mdb_env_close(c->env);
    sidik_free(c);
}

/* ---- transactions --------------------------------------------------------- */

int sidik_control_begin(sidik_control *c, bool write, sidik_control_txn **out)
{
    if (c == NULL || out == NULL)
        return SIDIK_EINVAL;
    sidik_control_txn *t = sidik_trymalloc(sizeof *t);
    if (t == NULL)
        return SIDIK_ENOMEM;
    *t = (sidik_control_txn){.c = c, .write = write};
    int rc = sidik_lmdb_err(mdb_txn_begin(c->env, NULL, write ? 0 : MDB_RDONLY, &t->txn));
    if (rc != 0) {
        sidik_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int sidik_control_commit(sidik_control_txn *t)
{
    if (t == NULL)
        return SIDIK_EINVAL;
    int rc = t->write && t->c->fault != NULL ? t->c->fault(t->c->fault_ctx) : 0;
    if (rc != 0)
        mdb_txn_abort(t->txn); /* the disk refused: nothing of it is kept */
    else
        rc = sidik_lmdb_err(mdb_txn_commit(t->txn));
    sidik_free(t);
    return rc;
}

void sidik_control_abort(sidik_control_txn *t)
{
    if (t == NULL)
        return;
    mdb_txn_abort(t->txn);
    sidik_free(t);
}

/* ---- the replay points ------------------------------------------------------ */

/* A u64 in meta under key (0 when absent). */
static int meta_u64(sidik_control_txn *t, const char *key, uint64_t *v)
{
    if (t == NULL || v == NULL)
        return SIDIK_EINVAL;
    MDB_val k = {strlen(key), (void *)key}, d;
    int rc = mdb_get(t->txn, t->c->meta, &k, &d);
    if (rc == MDB_NOTFOUND) {
        *v = 0;
        return 0;
    }
    if (rc != 0)
        return sidik_lmdb_err(rc);
    if (d.mv_size != sizeof *v)
        return SIDIK_ECORRUPT;
    memcpy(v, d.mv_data, sizeof *v);
    return 0;
}

/* Sets it; it may only grow. */
static int meta_u64_grow(sidik_control_txn *t, const char *key, uint64_t v)
{
    uint64_t cur;
    int rc = meta_u64(t, key, &cur);
    if (rc != 0)
        return rc;
    if (!t->write || v < cur)
        return SIDIK_ESTATE;
    MDB_val k = {strlen(key), (void *)key}, d = {sizeof v, &v};
    return sidik_lmdb_err(mdb_put(t->txn, t->c->meta, &k, &d, 0));
}

int sidik_control_applied(sidik_control_txn *t, uint64_t *seq)
{
    return meta_u64(t, "applied", seq);
}

int sidik_control_set_applied(sidik_control_txn *t, uint64_t seq)
{
    return meta_u64_grow(t, "applied", seq);
}

int sidik_control_decided(sidik_control_txn *t, uint64_t *seq)
{
    return meta_u64(t, "decided", seq);
}

int sidik_control_set_decided(sidik_control_txn *t, uint64_t seq)
{
    uint64_t applied;
    int rc = meta_u64(t, "applied", &applied);
    if (rc != 0)
        return rc;
    if (seq > applied)
        return SIDIK_ESTATE; /* nothing is decided before it is recorded */
    return meta_u64_grow(t, "decided", seq);
}

/* ---- the fusion model's scores ------------------------------------------------ */

#define FUSION_VERSION 1u
#define FUSION_MAX     (1u << 22) /* scores of one kind: far past any training set */

int sidik_control_fusion_put(sidik_control_txn *t, const uint32_t *genuine, uint32_t ngenuine,
                             const uint32_t *impostor, uint32_t nimpostor)
{
    if (t == NULL || genuine == NULL || impostor == NULL || ngenuine == 0 || nimpostor == 0 ||
        ngenuine > FUSION_MAX || nimpostor > FUSION_MAX)
        return SIDIK_EINVAL;
    if (!t->write)
        return SIDIK_ESTATE;
    size_t n = 3 + (size_t)ngenuine + nimpostor;
    MDB_val k = {6, (void *)"fusion"}, d = {n * sizeof(uint32_t), NULL};
    int rc = sidik_lmdb_err(mdb_put(t->txn, t->c->meta, &k, &d, MDB_RESERVE));
    if (rc != 0)
        return rc;
    uint32_t head[3] = {FUSION_VERSION, ngenuine, nimpostor};
    uint8_t *p = d.mv_data;
    memcpy(p, head, sizeof head);
    memcpy(p + sizeof head, genuine, ngenuine * sizeof *genuine);
    memcpy(p + sizeof head + ngenuine * sizeof *genuine, impostor, nimpostor * sizeof *impostor);
    return 0;
}

int sidik_control_fusion_get(sidik_control_txn *t, uint32_t **genuine, uint32_t *ngenuine,
                             uint32_t **impostor, uint32_t *nimpostor)
{
    if (t == NULL || genuine == NULL || ngenuine == NULL || impostor == NULL || nimpostor == NULL)
        return SIDIK_EINVAL;
    MDB_val k = {6, (void *)"fusion"}, d;
    int rc = mdb_get(t->txn, t->c->meta, &k, &d);
    if (rc == MDB_NOTFOUND)
        return SIDIK_ENOTFOUND;
    if (rc != 0)
        return sidik_lmdb_err(rc);
    uint32_t head[3];
    if (d.mv_size < sizeof head)
        return SIDIK_ECORRUPT;
    memcpy(head, d.mv_data, sizeof head);
    if (head[0] != FUSION_VERSION)
        return SIDIK_EVERSION;
    if (head[1] == 0 || head[2] == 0 || head[1] > FUSION_MAX || head[2] > FUSION_MAX ||
        d.mv_size != (3 + (size_t)head[1] + head[2]) * sizeof(uint32_t))
        return SIDIK_ECORRUPT;
    uint32_t *g = sidik_trymalloc(head[1] * sizeof *g), *i = sidik_trymalloc(head[2] * sizeof *i);
    if (g == NULL || i == NULL) {
        sidik_free(g);
        sidik_free(i);
        return SIDIK_ENOMEM;
    }
    const uint8_t *p = (const uint8_t *)d.mv_data + sizeof head;
    memcpy(g, p, head[1] * sizeof *g);
    memcpy(i, p + head[1] * sizeof *g, head[2] * sizeof *i);
    *genuine = g, *ngenuine = head[1];
    *impostor = i, *nimpostor = head[2];
    return 0;
}

/* ---- the settings sidikd last started with -------------------------------- */

static bool settings_text(const char *p, size_t n)
{
    if (n > SIDIK_SETTINGS_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] != '\n' && (p[i] < 0x20 || p[i] > 0x7e))
            return false;
    return true;
}

int sidik_control_settings_put(sidik_control_txn *t, const char *text, size_t n)
{
    if (t == NULL || text == NULL || !settings_text(text, n))
        return SIDIK_EINVAL;
    if (!t->write)
        return SIDIK_ESTATE;
    MDB_val k = {8, (void *)"settings"}, d = {n, (void *)text};
    return sidik_lmdb_err(mdb_put(t->txn, t->c->meta, &k, &d, 0));
}

int sidik_control_settings_get(sidik_control_txn *t, char **text, size_t *n)
{
    if (t == NULL || text == NULL || n == NULL)
        return SIDIK_EINVAL;
    MDB_val k = {8, (void *)"settings"}, d;
    int rc = mdb_get(t->txn, t->c->meta, &k, &d);
    if (rc == MDB_NOTFOUND)
        return SIDIK_ENOTFOUND;
    if (rc != 0)
        return sidik_lmdb_err(rc);
    if (!settings_text(d.mv_data, d.mv_size))
        return SIDIK_ECORRUPT;
    char *s = sidik_trymalloc(d.mv_size + 1);
    if (s == NULL)
        return SIDIK_ENOMEM;
    memcpy(s, d.mv_data, d.mv_size);
    s[d.mv_size] = 0;
    *text = s, *n = d.mv_size;
    return 0;
}

/* ---- the directory ---------------------------------------------------------- */

int sidik_control_dir_put(sidik_control_txn *t, uint64_t record_id, uint32_t shard)
{
    if (t == NULL || record_id == 0)
        return SIDIK_EINVAL;
    if (!t->write)
        return SIDIK_ESTATE;
    uint8_t kb[8];
    MDB_val k = sidik_lmdb_be64_key(record_id, kb), v = {sizeof shard, &shard};
    return sidik_lmdb_err(mdb_put(t->txn, t->c->dir, &k, &v, 0));
}

int sidik_control_dir_get(sidik_control_txn *t, uint64_t record_id, uint32_t *shard)
{
    if (t == NULL || shard == NULL || record_id == 0)
        return SIDIK_EINVAL;
    uint8_t kb[8];
    MDB_val k = sidik_lmdb_be64_key(record_id, kb), v;
    int rc = sidik_lmdb_err(mdb_get(t->txn, t->c->dir, &k, &v));
    if (rc == 0 && v.mv_size != sizeof *shard)
        rc = SIDIK_ECORRUPT;
    if (rc == 0)
        memcpy(shard, v.mv_data, sizeof *shard);
    return rc;
}

int sidik_control_dir_del(sidik_control_txn *t, uint64_t record_id)
{
    if (t == NULL || record_id == 0)
        return SIDIK_EINVAL;
    if (!t->write)
        return SIDIK_ESTATE;
    uint8_t kb[8];
    MDB_val k = sidik_lmdb_be64_key(record_id, kb);
    return sidik_lmdb_err(mdb_del(t->txn, t->c->dir, &k, NULL));
}

/* ---- enrollments: in control_enroll.c, on these accessors ------------------ */

MDB_txn *sidik__control_txn(sidik_control_txn *t, bool *write)
{
    *write = t->write;
    return t->txn;
}

void sidik__control_dbis(sidik_control_txn *t, MDB_dbi *enroll, MDB_dbi *office)
{
    *enroll = t->c->enroll;
    *office = t->c->office;
}

MDB_dbi sidik__control_seq_dbi(sidik_control_txn *t)
{
    return t->c->enroll_seq;
}

MDB_dbi sidik__control_decision_dbi(sidik_control_txn *t)
{
    return t->c->decision;
}

void sidik__control_print_dbis(sidik_control_txn *t, MDB_dbi *printq, MDB_dbi *lease,
                               MDB_dbi *lease_exp)
{
    *printq = t->c->printq;
    *lease = t->c->lease;
    *lease_exp = t->c->lease_exp;
}

void sidik__control_person_dbis(sidik_control_txn *t, MDB_dbi *person, MDB_dbi *nik)
{
    *person = t->c->person;
    *nik = t->c->nik;
}

void sidik__control_find_dbis(sidik_control_txn *t, MDB_dbi *dfind, MDB_dbi *review,
                              MDB_dbi *pending)
{
    *dfind = t->c->dfind;
    *review = t->c->review;
    *pending = t->c->pending;
}

void sidik__control_audit_dbis(sidik_control_txn *t, MDB_dbi *audit, MDB_dbi *meta)
{
    *audit = t->c->audit;
    *meta = t->c->meta;
}

/* ---- key ranges (control_int.h) -------------------------------------------- */

int sidik__range_open(sidik__range *r, MDB_txn *txn, MDB_dbi dbi, const MDB_val *start, size_t tail)
{
    if (start->mv_size > sizeof r->start || tail > start->mv_size)
        return SIDIK_EINVAL;
    memcpy(r->start, start->mv_data, start->mv_size);
    r->len = start->mv_size;
    r->tail = tail;
    return sidik_lmdb_err(mdb_cursor_open(txn, dbi, &r->cur));
}

int sidik__range_step(sidik__range *r, bool first, MDB_val *k, MDB_val *v)
{
    if (first)
        *k = (MDB_val){r->len, r->start};
    int mrc = mdb_cursor_get(r->cur, k, v, first ? MDB_SET_RANGE : MDB_NEXT);
    if (mrc == MDB_NOTFOUND)
        return 1;
    if (mrc != 0)
        return sidik_lmdb_err(mrc);
    size_t prefix = r->len - r->tail;
    return k->mv_size == r->len && memcmp(k->mv_data, r->start, prefix) == 0 ? 0 : 1;
}
