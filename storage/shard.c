/*
 * Gallery shards (sidik/shard.h) on LMDB.
 */
#include "sidik/lmdb_env.h"
#include "sidik/common.h"
#include "sidik/shard.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Format 2 writes records of version 2 and still reads version 1's
 * (storage/README.md); a format-1 shard is marked 2 when opened. */
#define FORMAT_VERSION    2u
#define RECORD_SIGNED     1u /* the signature, then the ISO/IEC 19794-2 record */
#define RECORD_PACKED     2u /* the record as sidik_fmr_pack packs it, no signature */
#define DEFAULT_MAP_BYTES (1ull << 40)

struct sidik_shard {
    MDB_env *env;
    MDB_dbi meta, persons;
    uint32_t number;
    int (*fault)(void *ctx); /* sidik_shard_options' I/O seam */
    void *fault_ctx;
};

/* A person's value: this head, then the record. Version 1 puts per finger
 * present (mask bit f, in finger order) its signature's scale and
 * coefficients between the two; version 2 has none (mask 0): the signature
 * is computed from the record when the shard is walked. */
typedef struct person_head {
    uint8_t version; /* RECORD_SIGNED or RECORD_PACKED */
    uint8_t nfingers;
    uint16_t mask;
    uint32_t tmpl_len;
} person_head;
_Static_assert(sizeof(person_head) == 8, "shard person head is 8 bytes on disk");

#define FINGER_BYTES (sizeof(float) + sizeof(sidik_finger_sig))
#define VALUE_MAX    (sizeof(person_head) + SIDIK_FMR_PACKED_MAX)

static uint64_t key_id(const MDB_val *k)
{
    return sidik_lmdb_get_be64(k->mv_data);
}

/* The value for a decoded record: a version-2 head and the packed form.
 * Returns its size. */
static size_t encode(const sidik_fmr *fmr, uint8_t *out)
{
    size_t len = 0;
    /* Cannot fail: fmr decoded, and out has VALUE_MAX bytes. */
    sidik_fmr_pack(fmr, out + sizeof(person_head), SIDIK_FMR_PACKED_MAX, &len);
    person_head h = {.version = RECORD_PACKED, .tmpl_len = (uint32_t)len};
    memcpy(out, &h, sizeof h);
    return sizeof h + len;
}

/* Checks a stored value's shape; *tmpl points at its template. */
static int parse(const MDB_val *v, person_head *h, const uint8_t **tmpl)
{
    if (v->mv_size < sizeof *h)
        return SIDIK_ECORRUPT;
    memcpy(h, v->mv_data, sizeof *h);
    if ((h->version != RECORD_SIGNED && h->version != RECORD_PACKED) ||
        (h->version == RECORD_PACKED && h->mask != 0) || h->mask >= 1u << SIDIK_SIG_FINGERS ||
        h->nfingers != __builtin_popcount(h->mask) ||
        v->mv_size != sizeof *h + h->nfingers * FINGER_BYTES + h->tmpl_len)
        return SIDIK_ECORRUPT;
    *tmpl = (const uint8_t *)v->mv_data + sizeof *h + h->nfingers * FINGER_BYTES;
    return 0;
}

/* The record of a stored value, decoded; a record that decoded when stored
 * and fails now was damaged. */
static int decode(const person_head *h, const uint8_t *tmpl, sidik_fmr *out)
{
    int rc = h->version == RECORD_PACKED ? sidik_fmr_unpack(tmpl, h->tmpl_len, out, NULL)
                                         : sidik_fmr_decode(tmpl, h->tmpl_len, out, NULL);
    return rc != 0 ? SIDIK_ECORRUPT : 0;
}

/* Commits a write transaction (freed also on error), asking the I/O seam
 * first: its answer aborts it as a failing disk would. */
static int commit(sidik_shard *s, MDB_txn *txn)
{
    int rc = s->fault != NULL ? s->fault(s->fault_ctx) : 0;
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return sidik_lmdb_err(mdb_txn_commit(txn));
}

/* ---- open / close ----------------------------------------------------------- */

static int check_meta(sidik_shard *s, MDB_txn *txn, const char **why)
{
    MDB_val k = {6, "format"}, v;
    int rc = mdb_get(txn, s->meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        MDB_stat st;
        mdb_stat(txn, s->persons, &st);
        if (st.ms_entries != 0) {
            *why = "shard has records but no format version";
            return SIDIK_ECORRUPT;
        }
        uint32_t meta[2] = {FORMAT_VERSION, s->number};
        v = (MDB_val){sizeof meta, meta};
        return sidik_lmdb_err(mdb_put(txn, s->meta, &k, &v, 0));
    }
    if (rc != 0)
        return sidik_lmdb_err(rc);
    uint32_t meta[2];
    if (v.mv_size != sizeof meta) {
        *why = "shard format record unreadable";
        return SIDIK_ECORRUPT;
    }
    memcpy(meta, v.mv_data, sizeof meta);
    if (meta[0] != FORMAT_VERSION && meta[0] != 1) {
        *why = "shard written by another format version";
        return SIDIK_EVERSION;
    }
    if (meta[1] != s->number) {
        *why = "folder holds another shard";
        return SIDIK_ECORRUPT;
    }
    if (meta[0] == 1) {
        /* Its records stay readable as they are; the mark keeps a build
         * that reads only format 1 from meeting the packed ones. */
        meta[0] = FORMAT_VERSION;
        v = (MDB_val){sizeof meta, meta};
        return sidik_lmdb_err(mdb_put(txn, s->meta, &k, &v, 0));
    }
    return 0;
}

int sidik_shard_open(const char *dir, uint32_t number, const sidik_shard_options *o,
                     sidik_shard **out, const char **why)
{
    const char *ignore;
    if (why == NULL)
        why = &ignore;
    *why = NULL;
    if (dir == NULL || out == NULL) {
        *why = "no folder or result pointer";
        return SIDIK_EINVAL;
    }
    sidik_shard *s = sidik_trycalloc(1, sizeof *s);
    if (s == NULL)
        return SIDIK_ENOMEM;
    s->number = number;
    if (o != NULL)
        s->fault = o->fault, s->fault_ctx = o->fault_ctx;
    uint64_t map = o != NULL && o->map_bytes != 0 ? o->map_bytes : DEFAULT_MAP_BYTES;
    const sidik_lmdb_db dbs[] = {{"meta", &s->meta}, {"persons", &s->persons}};
    MDB_txn *txn;
    /* NORDAHEAD: lookups of shortlisted persons are random reads; the
     * kernel's readahead would only evict useful pages. */
    int rc = sidik_lmdb_open(dir, map, MDB_NORDAHEAD, dbs, SIDIK_ARRAY_SIZE(dbs), &s->env, &txn, why);
    if (rc == 0)
        rc = sidik_lmdb_open_finish(&s->env, &txn, check_meta(s, txn, why));
    if (rc != 0) {
        sidik_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void sidik_shard_close(sidik_shard *s)
{
    if (s == NULL)
        return;
    mdb_env_close(s->env);
    sidik_free(s);
}

/* ---- records ------------------------------------------------------------------- */

int sidik_shard_put(sidik_shard *s, const sidik_shard_record *r, size_t n, size_t *bad)
{
    size_t ignore;
    if (bad == NULL)
        bad = &ignore;
    *bad = 0;
    if (s == NULL || (r == NULL && n > 0))
        return SIDIK_EINVAL;
    /* Everything is checked before the write transaction begins, so the
     * single writer is held only for the copies. */
    sidik_fmr *fmr = sidik_trymalloc(sizeof *fmr);
    if (fmr == NULL)
        return SIDIK_ENOMEM;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        *bad = i;
        if (r[i].id == 0 || r[i].tmpl == NULL)
            rc = SIDIK_EINVAL;
        else if (r[i].tmpl_len > SIDIK_SHARD_TEMPLATE_MAX)
            rc = SIDIK_ETOOBIG;
        else
            rc = sidik_fmr_decode(r[i].tmpl, r[i].tmpl_len, fmr, NULL);
    }
    if (rc != 0) {
        sidik_free(fmr);
        return rc;
    }
    uint8_t *buf = sidik_trymalloc(VALUE_MAX);
    MDB_txn *txn;
    rc = buf == NULL ? SIDIK_ENOMEM : sidik_lmdb_err(mdb_txn_begin(s->env, NULL, 0, &txn));
    if (rc == 0) {
        for (size_t i = 0; rc == 0 && i < n; i++) {
            *bad = i;
            /* Decoded again rather than kept: a batch of decoded records
             * would be 31 KB each. It decoded above, so it does now. */
            sidik_fmr_decode(r[i].tmpl, r[i].tmpl_len, fmr, NULL);
            uint8_t kb[8];
            MDB_val k = sidik_lmdb_be64_key(r[i].id, kb), v = {encode(fmr, buf), buf};
            rc = sidik_lmdb_err(mdb_put(txn, s->persons, &k, &v, MDB_NOOVERWRITE));
        }
        if (rc == 0)
            rc = commit(s, txn);
        else
            mdb_txn_abort(txn);
    }
    sidik_free(buf);
    sidik_free(fmr);
    return rc;
}

int sidik_shard_get(sidik_shard *s, uint64_t id, sidik_fmr *out)
{
    if (s == NULL || out == NULL || id == 0)
        return SIDIK_EINVAL;
    MDB_txn *txn;
    int rc = sidik_lmdb_err(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn));
    if (rc != 0)
        return rc;
    uint8_t kb[8];
    MDB_val k = sidik_lmdb_be64_key(id, kb), v;
    person_head h;
    const uint8_t *tmpl;
    rc = sidik_lmdb_err(mdb_get(txn, s->persons, &k, &v));
    if (rc == 0)
        rc = parse(&v, &h, &tmpl);
    if (rc == 0)
        rc = decode(&h, tmpl, out);
    mdb_txn_abort(txn);
    return rc;
}

int sidik_shard_del(sidik_shard *s, const uint64_t *ids, size_t n)
{
    if (s == NULL || (ids == NULL && n > 0))
        return SIDIK_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (ids[i] == 0)
            return SIDIK_EINVAL;
    MDB_txn *txn;
    int rc = sidik_lmdb_err(mdb_txn_begin(s->env, NULL, 0, &txn));
    if (rc != 0)
        return rc;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint8_t kb[8];
        MDB_val k = sidik_lmdb_be64_key(ids[i], kb);
        rc = sidik_lmdb_err(mdb_del(txn, s->persons, &k, NULL));
    }
    if (rc == 0)
        return commit(s, txn);
    mdb_txn_abort(txn);
    return rc;
}

int sidik_shard_copy(sidik_shard *src, sidik_shard *dst, const uint64_t *ids, size_t n)
{
    if (src == NULL || dst == NULL || src == dst || (ids == NULL && n > 0))
        return SIDIK_EINVAL;
    MDB_txn *rtxn, *wtxn = NULL;
    int rc = sidik_lmdb_err(mdb_txn_begin(src->env, NULL, MDB_RDONLY, &rtxn));
    if (rc != 0)
        return rc;
    rc = sidik_lmdb_err(mdb_txn_begin(dst->env, NULL, 0, &wtxn));
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint8_t kb[8];
        MDB_val k = sidik_lmdb_be64_key(ids[i], kb), v;
        person_head h;
        const uint8_t *tmpl;
        rc = ids[i] == 0 ? SIDIK_EINVAL : sidik_lmdb_err(mdb_get(rtxn, src->persons, &k, &v));
        if (rc == 0)
            rc = parse(&v, &h, &tmpl); /* never spread a damaged record */
        if (rc == 0)
            rc = sidik_lmdb_err(mdb_put(wtxn, dst->persons, &k, &v, MDB_NOOVERWRITE));
    }
    if (wtxn != NULL) {
        if (rc == 0)
            rc = commit(dst, wtxn);
        else
            mdb_txn_abort(wtxn);
    }
    mdb_txn_abort(rtxn);
    return rc;
}

/* A read-only snapshot of s and a cursor on its persons. */
static int read_cursor(sidik_shard *s, MDB_txn **txn, MDB_cursor **cur)
{
    int rc = sidik_lmdb_err(mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn));
    if (rc == 0 && (rc = sidik_lmdb_err(mdb_cursor_open(*txn, s->persons, cur))) != 0)
        mdb_txn_abort(*txn);
    return rc;
}

int sidik_shard_ids(sidik_shard *s, uint64_t after, uint64_t *ids, size_t cap, size_t *n)
{
    if (s == NULL || ids == NULL || n == NULL)
        return SIDIK_EINVAL;
    *n = 0;
    if (after == UINT64_MAX)
        return 0;
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = read_cursor(s, &txn, &cur);
    if (rc != 0)
        return rc;
    uint8_t kb[8];
    MDB_val k = sidik_lmdb_be64_key(after + 1, kb), v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (mrc == 0 && *n < cap) {
        if (k.mv_size != 8) {
            rc = SIDIK_ECORRUPT;
            break;
        }
        ids[(*n)++] = key_id(&k);
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = sidik_lmdb_err(mrc);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}

/* The walk reads the whole file, which NORDAHEAD (MADV_RANDOM on the map)
 * turns into one synchronous 4 KiB page fault per page: 60 MB/s on this
 * project's VM disk. POSIX_FADV_WILLNEED returned at once and changed
 * nothing there. So the used part of the file is first faulted into a
 * mapping of its own, read ahead as a sequential map (MADV_POPULATE_READ):
 * the page cache fills in large reads without a byte being copied, and the
 * walk's faults then find every page. Where the kernel lacks it (before
 * 5.14) the file is read in large chunks into a buffer, as fast but copying
 * every byte (2.4 s of a million-person start's CPU under `perf record`).
 * Only a warm-up: a failure leaves the walk to fault pages in as before. */
static void warm_file(MDB_env *env)
{
    MDB_envinfo info;
    MDB_stat est;
    mdb_filehandle_t fd;
    if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &est) != 0 ||
        mdb_env_get_fd(env, &fd) != 0)
        return;
    const off_t end = (off_t)(info.me_last_pgno + 1) * est.ms_psize;
#ifdef MADV_POPULATE_READ
    void *map = mmap(NULL, (size_t)end, PROT_READ, MAP_SHARED, fd, 0);
    if (map != MAP_FAILED) {
        (void)madvise(map, (size_t)end, MADV_SEQUENTIAL);
        int rc = madvise(map, (size_t)end, MADV_POPULATE_READ);
        munmap(map, (size_t)end);
        if (rc == 0)
            return;
    }
#endif
    enum { CHUNK = 4 << 20 };
    uint8_t *buf = sidik_trymalloc(CHUNK);
    if (buf == NULL)
        return;
    for (off_t at = 0; at < end;) {
        ssize_t got = pread(fd, buf, CHUNK, at);
        if (got <= 0)
            break;
        at += got;
    }
    sidik_free(buf);
}

int sidik_shard_each(sidik_shard *s, int (*fn)(void *ctx, uint64_t id, const sidik_person_sig *sig),
                     void *ctx)
{
    return sidik_shard_each_range(s, 0, UINT64_MAX, fn, ctx);
}

int sidik_shard_each_range(sidik_shard *s, uint64_t lo, uint64_t hi,
                           int (*fn)(void *ctx, uint64_t id, const sidik_person_sig *sig),
                           void *ctx)
{
    if (s == NULL || fn == NULL)
        return SIDIK_EINVAL;
    if (hi < lo)
        return 0;
    sidik_person_sig *sig = sidik_trymalloc(sizeof *sig);
    sidik_fmr *fmr = sidik_trymalloc(sizeof *fmr);
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    int rc = sig == NULL || fmr == NULL ? SIDIK_ENOMEM : read_cursor(s, &txn, &cur);
    if (rc != 0) {
        sidik_free(fmr);
        sidik_free(sig);
        return rc;
    }
    warm_file(s->env);
    uint8_t kb[8];
    MDB_val k = sidik_lmdb_be64_key(lo, kb), v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && mrc == 0) {
        person_head h;
        const uint8_t *tmpl;
        if (k.mv_size != 8)
            rc = SIDIK_ECORRUPT;
        if (rc == 0 && key_id(&k) > hi)
            break;
        if (rc == 0)
            rc = parse(&v, &h, &tmpl);
        /* Version 1's stored signature is not used: it was made by an
         * earlier definition (before the signature's weights, sig_weights.c),
         * and probes are made by this one. A record with no usable finger
         * has the empty signature, as version 1 stored it. */
        if (rc == 0 && (rc = decode(&h, tmpl, fmr)) == 0)
            sidik_sig_person(fmr, sig, NULL);
        if (rc == 0)
            rc = fn(ctx, key_id(&k), sig);
        if (rc == 0)
            mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc == 0 && mrc != MDB_NOTFOUND)
        rc = sidik_lmdb_err(mrc);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    sidik_free(fmr);
    sidik_free(sig);
    return rc;
}

int sidik_shard_span(sidik_shard *s, uint64_t *first, uint64_t *last)
{
    if (s == NULL || first == NULL || last == NULL)
        return SIDIK_EINVAL;
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = read_cursor(s, &txn, &cur);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    if (mrc == 0 && k.mv_size == 8) {
        *first = key_id(&k);
        mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    }
    if (mrc == MDB_NOTFOUND)
        rc = SIDIK_ENOTFOUND;
    else if (mrc != 0)
        rc = sidik_lmdb_err(mrc);
    else if (k.mv_size != 8)
        rc = SIDIK_ECORRUPT;
    else
        *last = key_id(&k);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}

int sidik_shard_slice(uint64_t first, uint64_t last, uint32_t part, uint32_t parts, uint64_t *lo,
                      uint64_t *hi)
{
    if (parts == 0 || part >= parts || last < first)
        return 0;
    /* Range j starts at first + ids * j / parts; 128 bits, as the count of
     * ids, last - first + 1, may be 2^64. */
    const unsigned __int128 ids = (unsigned __int128)(last - first) + 1;
    const unsigned __int128 from = ids * part / parts, to = ids * (part + 1) / parts;
    if (to == from)
        return 0;
    *lo = first + (uint64_t)from;
    *hi = first + (uint64_t)(to - 1);
    return 1;
}

int sidik_shard_stats(sidik_shard *s, uint64_t *records, uint64_t *bytes)
{
    if (s == NULL || records == NULL || bytes == NULL)
        return SIDIK_EINVAL;
    MDB_txn *txn;
    int rc = sidik_lmdb_err(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn));
    if (rc != 0)
        return rc;
    MDB_stat st;
    rc = sidik_lmdb_err(mdb_stat(txn, s->persons, &st));
    if (rc == 0) {
        *records = st.ms_entries;
        *bytes = (uint64_t)st.ms_psize * (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages);
    }
    mdb_txn_abort(txn);
    return rc;
}
