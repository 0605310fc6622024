/*
 * The office spool (spool.h) on LMDB: opening and its format checks, puts,
 * and the reads. State changes and compaction are in spool_mark.c.
 */
#include "spool_int.h"

#include "sidik/lmdb_env.h"
#include "sidik.pb-c.h"
#include "sidik/common.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#define DEFAULT_MAP_BYTES (64ull << 30)
#define DEFAULT_BASE_MS   2000
#define DEFAULT_CAP_MS    600000
#define MAGIC             "SIDIKSPL"

typedef struct spool_format {
    char magic[8];
    uint32_t version;
    uint32_t reserved;
} spool_format;
_Static_assert(sizeof(spool_format) == 16, "spool format record is on disk");

/* ---- keys, records, counters ---------------------------------------------- */

MDB_val sidik__spool_key(uint64_t seq, uint8_t buf[8])
{
    return sidik_lmdb_be64_key(seq, buf);
}

uint64_t sidik__spool_key_seq(const MDB_val *k)
{
    return k->mv_size == 8 ? sidik_lmdb_get_be64(k->mv_data) : 0;
}

int sidik__spool_rec_get(sidik_spool *sp, MDB_txn *txn, uint64_t seq, spool_rec *r)
{
    uint8_t kb[8];
    MDB_val k = sidik__spool_key(seq, kb), v;
    int rc = sidik_lmdb_err(mdb_get(txn, sp->rec, &k, &v));
    return rc != 0 ? rc : sidik__spool_rec_decode(&v, r);
}

int sidik__spool_rec_decode(const MDB_val *v, spool_rec *r)
{
    if (v->mv_size < sizeof r->h)
        return SIDIK_ECORRUPT;
    memcpy(&r->h, v->mv_data, sizeof r->h);
    const char *tail = (const char *)v->mv_data + sizeof r->h;
    if (v->mv_size != sizeof r->h + r->h.id_len + r->h.reason_len || r->h.id_len == 0 ||
        r->h.id_len > SIDIK_ENROLL_ID_MAX || r->h.status < SIDIK_STATUS_CAPTURED ||
        r->h.status > SIDIK_STATUS_PRINTED)
        return SIDIK_ECORRUPT;
    memcpy(r->id, tail, r->h.id_len);
    r->id[r->h.id_len] = '\0';
    memcpy(r->reason, tail + r->h.id_len, r->h.reason_len);
    r->reason[r->h.reason_len] = '\0';
    return 0;
}

void sidik__spool_count(spool_counts *c, const spool_rec *r, int sign)
{
    uint64_t d = (uint64_t)(int64_t)sign; /* 1 or all ones: wraps to a subtraction */
    c->by_status[r->h.status] += d;
    c->records += d;
    if (sidik__spool_due(r)) {
        c->backlog += d;
        c->backlog_bytes += d * r->h.bytes;
    }
    if (r->h.flags & SPOOL_F_BODY)
        c->body_bytes += d * r->h.bytes;
}

int sidik__spool_rec_put(sidik_spool *sp, MDB_txn *txn, uint64_t seq, const spool_rec *old,
                         const spool_rec *r, spool_counts *c)
{
    uint8_t buf[sizeof r->h + SIDIK_ENROLL_ID_MAX + SIDIK_SPOOL_REASON_MAX], kb[8];
    memcpy(buf, &r->h, sizeof r->h);
    memcpy(buf + sizeof r->h, r->id, r->h.id_len);
    memcpy(buf + sizeof r->h + r->h.id_len, r->reason, r->h.reason_len);
    MDB_val k = sidik__spool_key(seq, kb), v = {sizeof r->h + r->h.id_len + r->h.reason_len, buf};
    int rc = sidik_lmdb_err(mdb_put(txn, sp->rec, &k, &v, 0));
    if (rc != 0)
        return rc;
    if (sidik__spool_due(r)) {
        MDB_val pv = {sizeof r->h.next_attempt_ms, (void *)&r->h.next_attempt_ms};
        rc = sidik_lmdb_err(mdb_put(txn, sp->pending, &k, &pv, 0));
    } else if (old != NULL && sidik__spool_due(old)) {
        rc = sidik_lmdb_err(mdb_del(txn, sp->pending, &k, NULL));
    }
    if (old != NULL)
        sidik__spool_count(c, old, -1);
    sidik__spool_count(c, r, 1);
    return rc;
}

static int meta_get(sidik_spool *sp, MDB_txn *txn, const char *key, void *out, size_t n)
{
    MDB_val k = {strlen(key), (void *)key}, v;
    int rc = sidik_lmdb_err(mdb_get(txn, sp->meta, &k, &v));
    if (rc == SIDIK_ENOTFOUND || (rc == 0 && v.mv_size != n))
        return SIDIK_ECORRUPT; /* written when the spool was made */
    if (rc == 0)
        memcpy(out, v.mv_data, n);
    return rc;
}

static int meta_put(sidik_spool *sp, MDB_txn *txn, const char *key, const void *p, size_t n)
{
    MDB_val k = {strlen(key), (void *)key}, v = {n, (void *)p};
    return sidik_lmdb_err(mdb_put(txn, sp->meta, &k, &v, 0));
}

int sidik__spool_counts_get(sidik_spool *sp, MDB_txn *txn, spool_counts *c)
{
    return meta_get(sp, txn, "counts", c, sizeof *c);
}

int sidik__spool_counts_put(sidik_spool *sp, MDB_txn *txn, const spool_counts *c)
{
    return meta_put(sp, txn, "counts", c, sizeof *c);
}

/* ---- open / close --------------------------------------------------------- */

static const char *const db_names[] = {"meta", "rec", "body", "id", "pending"};

/* A folder LMDB may make a spool in: absent, empty, or holding data.mdb.
 * Anything else (someone's home folder, the centre's journal) is refused
 * before LMDB creates its files there. */
static int check_folder(const char *dir, const char **why)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        *why = "cannot reach the spool folder";
        return -errno;
    }
    if (!S_ISDIR(st.st_mode)) {
        *why = "the spool path is not a folder";
        return -ENOTDIR;
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        *why = "cannot read the spool folder";
        return -errno;
    }
    bool lmdb = false, other = false;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, "data.mdb") == 0)
            lmdb = true;
        else if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
                 strcmp(e->d_name, "lock.mdb") != 0)
            other = true;
    }
    closedir(d);
    if (other && !lmdb) {
        *why = "the folder holds other files and no spool";
        return SIDIK_EFORMAT;
    }
    return 0;
}

/* A new spool, or another program's LMDB environment? The opening
 * transaction has just created our databases (undone if we refuse), so
 * the main database may name ours and nothing else. */
static int check_new(sidik_spool *sp, MDB_txn *txn, const char **why)
{
    MDB_dbi main;
    MDB_cursor *cur;
    int rc = sidik_lmdb_err(mdb_dbi_open(txn, NULL, 0, &main));
    if (rc == 0)
        rc = sidik_lmdb_err(mdb_cursor_open(txn, main, &cur));
    if (rc != 0)
        return rc;
    MDB_val k, v;
    int mrc;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && rc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        bool ours = false;
        for (size_t i = 0; i < SIDIK_ARRAY_SIZE(db_names); i++)
            ours |=
                k.mv_size == strlen(db_names[i]) && memcmp(k.mv_data, db_names[i], k.mv_size) == 0;
        if (!ours) {
            *why = "the folder holds an LMDB environment that is not a spool";
            rc = SIDIK_EFORMAT;
        }
    }
    mdb_cursor_close(cur);
    if (rc == 0 && mrc != MDB_NOTFOUND)
        rc = sidik_lmdb_err(mrc);
    MDB_dbi dbs[] = {sp->meta, sp->rec, sp->body, sp->id, sp->pending};
    for (size_t i = 0; rc == 0 && i < SIDIK_ARRAY_SIZE(dbs); i++) {
        MDB_stat s;
        rc = sidik_lmdb_err(mdb_stat(txn, dbs[i], &s));
        if (rc == 0 && s.ms_entries != 0) {
            *why = "spool records without a format record";
            rc = SIDIK_ECORRUPT;
        }
    }
    spool_format f = {.version = SIDIK_SPOOL_FORMAT};
    memcpy(f.magic, MAGIC, sizeof f.magic);
    uint64_t next = 1;
    spool_counts c = {0};
    if (rc == 0)
        rc = meta_put(sp, txn, "spool", &f, sizeof f);
    if (rc == 0)
        rc = meta_put(sp, txn, "next", &next, sizeof next);
    if (rc == 0)
        rc = sidik__spool_counts_put(sp, txn, &c);
    return rc;
}

static int check_format(sidik_spool *sp, MDB_txn *txn, const char **why)
{
    MDB_val k = {5, "spool"}, v;
    int rc = mdb_get(txn, sp->meta, &k, &v);
    if (rc == MDB_NOTFOUND)
        return check_new(sp, txn, why);
    if (rc != 0)
        return sidik_lmdb_err(rc);
    spool_format f;
    if (v.mv_size != sizeof f || memcmp(v.mv_data, MAGIC, sizeof f.magic) != 0) {
        *why = "the folder holds an LMDB environment that is not a spool";
        return SIDIK_EFORMAT;
    }
    memcpy(&f, v.mv_data, sizeof f);
    if (f.version != SIDIK_SPOOL_FORMAT) {
        *why = "the spool was written by another format version of sidik";
        return SIDIK_EVERSION;
    }
    uint64_t next;
    spool_counts c;
    if ((rc = meta_get(sp, txn, "next", &next, sizeof next)) == 0)
        rc = sidik__spool_counts_get(sp, txn, &c);
    if (rc != 0)
        *why = "the spool's counters are missing or damaged";
    return rc;
}

int sidik_spool_open(const char *dir, const sidik_spool_options *o, sidik_spool **out,
                     const char **why)
{
    const char *ignore;
    if (why == NULL)
        why = &ignore;
    *why = NULL;
    if (dir == NULL || out == NULL ||
        (o != NULL && (o->backoff_base_ms < 0 || o->backoff_cap_ms < 0))) {
        *why = "no folder, no result pointer, or a negative backoff";
        return SIDIK_EINVAL;
    }
    int rc = check_folder(dir, why);
    if (rc != 0)
        return rc;
    sidik_spool *sp = sidik_trycalloc(1, sizeof *sp);
    if (sp == NULL)
        return SIDIK_ENOMEM;
    sp->base_ms = o != NULL && o->backoff_base_ms != 0 ? o->backoff_base_ms : DEFAULT_BASE_MS;
    sp->cap_ms = o != NULL && o->backoff_cap_ms != 0 ? o->backoff_cap_ms : DEFAULT_CAP_MS;
    sp->rand = o != NULL ? o->rand : NULL;
    sp->rand_ctx = o != NULL ? o->rand_ctx : NULL;
    uint64_t map = o != NULL && o->map_bytes != 0 ? o->map_bytes : DEFAULT_MAP_BYTES;
    const sidik_lmdb_db dbs[] = {
        {"meta", &sp->meta}, {"rec", &sp->rec},         {"body", &sp->body},
        {"id", &sp->id},     {"pending", &sp->pending},
    };
    _Static_assert(SIDIK_ARRAY_SIZE(dbs) == SIDIK_ARRAY_SIZE(db_names), "one list of databases");
    MDB_txn *txn;
    rc = sidik_lmdb_open(dir, map, 0, dbs, SIDIK_ARRAY_SIZE(dbs), &sp->env, &txn, why);
    if (rc == 0)
        rc = sidik_lmdb_open_finish(&sp->env, &txn, check_format(sp, txn, why));
    if (rc != 0) {
        sidik_free(sp);
        return rc;
    }
    *out = sp;
    return 0;
}

void sidik_spool_close(sidik_spool *sp)
{
    if (sp == NULL)
        return;
    mdb_env_close(sp->env);
    sidik_free(sp);
}

/* ---- put ---------------------------------------------------------------------- */

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0)
            return true;
    }
    return false;
}

/* Finds enrollment_id (field 1) in the top level of the encoded message,
 * the last one as protobuf's rules say, without decoding the rest: its raw
 * bytes, so a NUL inside is seen (protobuf-c would hand back the id cut at
 * it). */
static int find_id(const uint8_t *p, size_t n, const uint8_t **id, size_t *idn, const char **why)
{
    const uint8_t *end = p + n;
    *id = NULL;
    while (p < end) {
        uint64_t tag, len;
        if (!varint(&p, end, &tag))
            goto bad;
        switch (tag & 7) {
        case 0:
            if (!varint(&p, end, &len))
                goto bad;
            continue;
        case 1:
        case 5:
            if ((size_t)(end - p) < ((tag & 7) == 1 ? 8u : 4u))
                goto bad;
            p += (tag & 7) == 1 ? 8 : 4;
            continue;
        case 2:
            if (!varint(&p, end, &len) || len > (uint64_t)(end - p))
                goto bad;
            if (tag >> 3 == 1) {
                *id = p;
                *idn = (size_t)len;
            }
            p += len;
            continue;
        default:
            goto bad;
        }
    }
    if (*id == NULL) {
        *why = "the enrollment has no enrollment_id";
        return SIDIK_EINVAL;
    }
    return 0;
bad:
    *why = "not a protobuf message";
    return SIDIK_EFORMAT;
}

static int check_id(const uint8_t *id, size_t n, const char **why)
{
    if (n == 0) {
        *why = "enrollment_id is empty";
        return SIDIK_EINVAL;
    }
    if (n > SIDIK_ENROLL_ID_MAX) {
        *why = "enrollment_id is longer than 64 bytes";
        return SIDIK_EINVAL;
    }
    if (memchr(id, 0, n) != NULL) {
        *why = "enrollment_id holds a NUL byte";
        return SIDIK_EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        if (id[i] <= ' ' || id[i] > '~') {
            /* The centre's rule (sidik__control_valid_id): refused there too. */
            *why = "enrollment_id holds a space, a control or a non-ASCII byte";
            return SIDIK_EINVAL;
        }
    return 0;
}

/* protobuf-c on sidik's allocator, remembering whether it failed, so that
 * a NULL from unpack can be told apart: no memory, or not an Enrollment. */
typedef struct pb_alloc_state {
    bool failed;
} pb_alloc_state;

static void *pb_alloc(void *ctx, size_t n)
{
    void *p = sidik_trymalloc(n);
    if (p == NULL)
        ((pb_alloc_state *)ctx)->failed = true;
    return p;
}

static void pb_free(void *ctx, void *p)
{
    (void)ctx;
    sidik_free(p);
}

/* A ProtobufCBuffer that compares what is packed into it with the input. */
typedef struct cmp_buf {
    ProtobufCBuffer base;
    const uint8_t *p;
    size_t n, off;
    bool differs;
} cmp_buf;

static void cmp_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
    cmp_buf *c = (cmp_buf *)b;
    if (c->differs || len > c->n - c->off || memcmp(c->p + c->off, data, len) != 0)
        c->differs = true;
    else
        c->off += len;
}

/* Decodes p as an Enrollment and requires protobuf-c's encoding of it to be
 * p itself (the header says why): no copy, the re-encoding is compared as
 * it is produced. */
static int check_message(const uint8_t *p, size_t n, const char **why)
{
    pb_alloc_state st = {false};
    ProtobufCAllocator a = {pb_alloc, pb_free, &st};
    Sidik__V1__Enrollment *e = sidik__v1__enrollment__unpack(&a, n, p);
    if (e == NULL) {
        if (st.failed)
            return SIDIK_ENOMEM;
        *why = "not a sidik.v1.Enrollment";
        return SIDIK_EFORMAT;
    }
    cmp_buf c = {.base = {cmp_append}, .p = p, .n = n};
    protobuf_c_message_pack_to_buffer(&e->base, &c.base);
    sidik__v1__enrollment__free_unpacked(e, &a);
    if (c.differs || c.off != n) {
        *why = "not protobuf-c's encoding of the enrollment (its hash would not be the centre's)";
        return SIDIK_EFORMAT;
    }
    return 0;
}

static int put_txn(sidik_spool *sp, MDB_txn *txn, const spool_rec *r, const uint8_t *p, size_t n,
                   uint64_t *seq, const char **why)
{
    MDB_val ik = {r->h.id_len, (void *)r->id}, iv;
    int rc = sidik_lmdb_err(mdb_get(txn, sp->id, &ik, &iv));
    if (rc == 0) {
        spool_rec old;
        if (iv.mv_size != 8)
            return SIDIK_ECORRUPT;
        uint64_t s = sidik__spool_key_seq(&iv);
        if ((rc = sidik__spool_rec_get(sp, txn, s, &old)) != 0)
            return rc == SIDIK_ENOTFOUND ? SIDIK_ECORRUPT : rc;
        if (old.h.bytes != n || memcmp(old.h.sha256, r->h.sha256, 32) != 0) {
            *why = "enrollment_id is already spooled with other content";
            return SIDIK_EEXISTS;
        }
        *seq = s;
        return 1; /* the same capture again: nothing to write */
    }
    if (rc != SIDIK_ENOTFOUND)
        return rc;
    uint64_t next;
    spool_counts c;
    if ((rc = meta_get(sp, txn, "next", &next, sizeof next)) != 0 ||
        (rc = sidik__spool_counts_get(sp, txn, &c)) != 0)
        return rc;
    uint8_t kb[8];
    MDB_val k = sidik__spool_key(next, kb), bv = {n, (void *)p};
    iv = k;
    uint64_t after = next + 1;
    if ((rc = sidik_lmdb_err(mdb_put(txn, sp->body, &k, &bv, MDB_NOOVERWRITE))) != 0 ||
        (rc = sidik_lmdb_err(mdb_put(txn, sp->id, &ik, &iv, MDB_NOOVERWRITE))) != 0 ||
        (rc = sidik__spool_rec_put(sp, txn, next, NULL, r, &c)) != 0 ||
        (rc = sidik__spool_counts_put(sp, txn, &c)) != 0 ||
        (rc = meta_put(sp, txn, "next", &after, sizeof after)) != 0)
        return rc == SIDIK_EEXISTS ? SIDIK_ECORRUPT : rc; /* next's key is never taken */
    *seq = next;
    return 0;
}

int sidik_spool_put(sidik_spool *sp, const uint8_t *p, size_t n, int64_t now_ms, uint64_t *seq,
                    const char **why)
{
    const char *ignore;
    if (why == NULL)
        why = &ignore;
    *why = NULL;
    if (sp == NULL || seq == NULL || (p == NULL && n != 0)) {
        *why = "no spool, bytes or result pointer";
        return SIDIK_EINVAL;
    }
    if (n == 0) {
        *why = "the enrollment is empty";
        return SIDIK_EINVAL;
    }
    if (n > SIDIK_SPOOL_BODY_MAX) {
        *why = "the enrollment is larger than 16 MiB";
        return SIDIK_ETOOBIG;
    }
    const uint8_t *id = NULL;
    size_t idn = 0;
    int rc = find_id(p, n, &id, &idn, why);
    if (rc == 0)
        rc = check_id(id, idn, why);
    if (rc == 0)
        rc = check_message(p, n, why);
    if (rc != 0)
        return rc;
    spool_rec r = {.h = {.bytes = n,
                         .status = SIDIK_STATUS_CAPTURED,
                         .flags = SPOOL_F_BODY,
                         .id_len = (uint8_t)idn}};
    r.h.changed_ms[SIDIK_STATUS_CAPTURED] = now_ms;
    memcpy(r.id, id, idn);
    unsigned mdlen = 0;
    if (EVP_Digest(p, n, r.h.sha256, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return SIDIK_ENOMEM; /* OpenSSL fails a digest only when it cannot allocate */
    MDB_txn *txn;
    if ((rc = sidik_lmdb_err(mdb_txn_begin(sp->env, NULL, 0, &txn))) != 0)
        return rc;
    rc = put_txn(sp, txn, &r, p, n, seq, why);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc > 0 ? 0 : rc;
    }
    /* The commit syncs (no MDB_NOSYNC): the capture is on disk before the
     * operator is told it is saved. */
    return sidik_lmdb_err(mdb_txn_commit(txn));
}

/* ---- reads ---------------------------------------------------------------------- */

static void to_entry(uint64_t seq, const spool_rec *r, sidik_spool_entry *e)
{
    *e = (sidik_spool_entry){
        .seq = seq,
        .status = (sidik_status)r->h.status,
        .bytes = r->h.bytes,
        .body_held = (r->h.flags & SPOOL_F_BODY) != 0,
        .at_centre = (r->h.flags & SPOOL_F_CENTRE) != 0,
        .attempts = r->h.attempts,
        .next_attempt_ms = r->h.next_attempt_ms,
        .receipt = {.journal_seq = r->h.journal_seq, .received_time_ms = r->h.received_time_ms},
        .refusal_code = r->h.refusal_code};
    memcpy(e->id, r->id, sizeof e->id);
    memcpy(e->reason, r->reason, sizeof e->reason);
    memcpy(e->sha256, r->h.sha256, 32);
    memcpy(e->receipt.content_sha256, r->h.centre_sha256, 32);
    memcpy(e->changed_ms, r->h.changed_ms, sizeof e->changed_ms);
}

static int read_begin(sidik_spool *sp, MDB_txn **txn)
{
    return sidik_lmdb_err(mdb_txn_begin(sp->env, NULL, MDB_RDONLY, txn));
}

int sidik_spool_find(sidik_spool *sp, const char *id, uint64_t *seq)
{
    if (sp == NULL || id == NULL || seq == NULL)
        return SIDIK_EINVAL;
    size_t n = strnlen(id, SIDIK_ENROLL_ID_MAX + 1);
    if (n == 0 || n > SIDIK_ENROLL_ID_MAX)
        return SIDIK_EINVAL;
    MDB_txn *txn;
    int rc = read_begin(sp, &txn);
    if (rc != 0)
        return rc;
    MDB_val k = {n, (void *)id}, v;
    rc = sidik_lmdb_err(mdb_get(txn, sp->id, &k, &v));
    if (rc == 0 && v.mv_size != 8)
        rc = SIDIK_ECORRUPT;
    if (rc == 0)
        *seq = sidik__spool_key_seq(&v);
    mdb_txn_abort(txn);
    return rc;
}

int sidik_spool_get(sidik_spool *sp, uint64_t seq, sidik_spool_entry *out)
{
    if (sp == NULL || out == NULL)
        return SIDIK_EINVAL;
    MDB_txn *txn;
    int rc = read_begin(sp, &txn);
    if (rc != 0)
        return rc;
    spool_rec r;
    if ((rc = sidik__spool_rec_get(sp, txn, seq, &r)) == 0)
        to_entry(seq, &r, out);
    mdb_txn_abort(txn);
    return rc;
}

int sidik_spool_body(sidik_spool *sp, uint64_t seq, uint8_t **p, size_t *n)
{
    if (sp == NULL || p == NULL || n == NULL)
        return SIDIK_EINVAL;
    MDB_txn *txn;
    int rc = read_begin(sp, &txn);
    if (rc != 0)
        return rc;
    spool_rec r;
    uint8_t kb[8], md[32];
    MDB_val k = sidik__spool_key(seq, kb), v;
    if ((rc = sidik__spool_rec_get(sp, txn, seq, &r)) == 0 &&
        (rc = sidik_lmdb_err(mdb_get(txn, sp->body, &k, &v))) == 0) {
        unsigned mdlen = 0;
        uint8_t *b = sidik_trymalloc(v.mv_size);
        if (b == NULL) {
            rc = SIDIK_ENOMEM;
        } else if (v.mv_size != r.h.bytes ||
                   EVP_Digest(v.mv_data, v.mv_size, md, &mdlen, EVP_sha256(), NULL) != 1 ||
                   memcmp(md, r.h.sha256, 32) != 0) {
            sidik_free(b);
            rc = SIDIK_ECORRUPT;
        } else {
            memcpy(b, v.mv_data, v.mv_size);
            *p = b;
            *n = v.mv_size;
        }
    }
    mdb_txn_abort(txn);
    return rc;
}

int sidik_spool_next(sidik_spool *sp, int64_t now_ms, uint64_t *seqs, size_t max, size_t *n,
                     int64_t *next_due_ms)
{
    if (sp == NULL || n == NULL || (seqs == NULL && max != 0))
        return SIDIK_EINVAL;
    *n = 0;
    int64_t due = 0;
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = read_begin(sp, &txn);
    if (rc != 0)
        return rc;
    if ((rc = sidik_lmdb_err(mdb_cursor_open(txn, sp->pending, &cur))) != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    MDB_val k, v;
    int mrc;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && *n < max;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        int64_t at;
        if (k.mv_size != 8 || v.mv_size != sizeof at) {
            rc = SIDIK_ECORRUPT;
            break;
        }
        memcpy(&at, v.mv_data, sizeof at);
        if (at <= now_ms)
            seqs[(*n)++] = sidik__spool_key_seq(&k);
        else if (due == 0 || at < due)
            due = at;
    }
    if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = sidik_lmdb_err(mrc);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (next_due_ms != NULL)
        *next_due_ms = due;
    return rc;
}

int sidik_spool_stats_get(sidik_spool *sp, sidik_spool_stats *out)
{
    if (sp == NULL || out == NULL)
        return SIDIK_EINVAL;
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    int rc = read_begin(sp, &txn);
    if (rc != 0)
        return rc;
    spool_counts c;
    uint64_t next;
    *out = (sidik_spool_stats){0};
    if ((rc = sidik__spool_counts_get(sp, txn, &c)) == 0 &&
        (rc = meta_get(sp, txn, "next", &next, sizeof next)) == 0 &&
        (rc = sidik_lmdb_err(mdb_cursor_open(txn, sp->pending, &cur))) == 0) {
        memcpy(out->by_status, c.by_status, sizeof out->by_status);
        out->records = c.records;
        out->backlog = c.backlog;
        out->backlog_bytes = c.backlog_bytes;
        out->body_bytes = c.body_bytes;
        out->next_seq = next;
        /* The oldest of the backlog is the first pending sequence. */
        MDB_val k, v;
        spool_rec r;
        int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        if (mrc == 0 && (rc = sidik__spool_rec_get(sp, txn, sidik__spool_key_seq(&k), &r)) == 0)
            out->oldest_backlog_ms = r.h.changed_ms[SIDIK_STATUS_CAPTURED];
        else if (mrc != 0 && mrc != MDB_NOTFOUND)
            rc = sidik_lmdb_err(mrc);
        if (rc == SIDIK_ENOTFOUND)
            rc = SIDIK_ECORRUPT; /* a pending entry without its record */
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}

int sidik_spool_list(sidik_spool *sp, uint64_t after, sidik_status status, sidik_spool_entry *out,
                     size_t max, size_t *n)
{
    if (sp == NULL || n == NULL || (out == NULL && max != 0) ||
        (unsigned)status > SIDIK_STATUS_PRINTED || after == UINT64_MAX)
        return SIDIK_EINVAL;
    *n = 0;
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = read_begin(sp, &txn);
    if (rc != 0)
        return rc;
    if ((rc = sidik_lmdb_err(mdb_cursor_open(txn, sp->rec, &cur))) != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    uint8_t kb[8];
    MDB_val k = sidik__spool_key(after + 1, kb), v;
    int mrc;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0 && rc == 0 && *n < max;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        spool_rec r;
        uint64_t seq = sidik__spool_key_seq(&k);
        if ((rc = sidik__spool_rec_get(sp, txn, seq, &r)) == 0 &&
            (status == 0 || r.h.status == status))
            to_entry(seq, &r, &out[(*n)++]);
    }
    if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = sidik_lmdb_err(mrc);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}

/* ---- the default random source ---------------------------------------------------- */

uint64_t sidik__spool_rand(sidik_spool *sp)
{
    if (sp->rand != NULL)
        return sp->rand(sp->rand_ctx);
    uint64_t v = 0;
    /* getrandom blocks only before the kernel's pool is first seeded, long
     * past by the time an operator runs the uploader; if it fails anyway,
     * the jitter falls back to the address of v (still per-process). */
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
        v = (uint64_t)(uintptr_t)&v * 0x9e3779b97f4a7c15ull;
    return v;
}
