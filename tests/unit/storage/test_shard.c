/*
 * Gallery shards: persons stored and read back (templates and signatures),
 * batches all-or-nothing, hostile records refused with the decoder's error,
 * shard identity and format version, damaged values, a full map.
 */
#include "storage_test.h"

#include "sidik/common.h"
#include "sidik/search.h"
#include "sidik/shard.h"
#include "sidik/shardset.h"
#include "people.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>


static sidik_shard *open_ok(const char *dir, uint32_t number, uint64_t map)
{
    sidik_shard_options o = {.map_bytes = map};
    sidik_shard *s = NULL;
    const char *why = NULL;
    int rc = sidik_shard_open(dir, number, &o, &s, &why);
    if (rc != 0)
        print_error("open: %s (%s)\n", sidik_err_name(rc), why ? why : "");
    assert_int_equal(rc, 0);
    return s;
}

static sidik_shard_record rec(uint64_t id, const person *x)
{
    return (sidik_shard_record){id, x->tmpl, x->len};
}

typedef struct walk {
    uint64_t ids[64];
    int n, bad;
} walk;

static int check_sig(void *ctx, uint64_t id, const sidik_person_sig *sig)
{
    walk *w = ctx;
    w->ids[w->n++] = id;
    /* ids are 1000 + person index */
    if (id < 1000 || id >= 1000 + PERSONS || memcmp(sig, &people[id - 1000].sig, sizeof *sig) != 0)
        w->bad++;
    return 0;
}

static uint64_t count(sidik_shard *s)
{
    uint64_t records, bytes;
    assert_int_equal(sidik_shard_stats(s, &records, &bytes), 0);
    return records;
}

/* Keeps each id's signature at ctx[id] (ids 1..6). */
static int keep_sig(void *ctx, uint64_t id, const sidik_person_sig *sig)
{
    if (id < 1 || id > 6)
        return SIDIK_ERANGE;
    memcpy(&((sidik_person_sig *)ctx)[id], sig, sizeof *sig);
    return 0;
}

static int insert_into(void *ctx, uint64_t id, const sidik_person_sig *sig)
{
    return sidik_gallery_insert(ctx, id, sig);
}

static void test_storage_shard_roundtrip(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_shard *s = open_ok(dir, 3, 0);
    sidik_shard_record r[PERSONS];
    for (int i = PERSONS - 1; i >= 0; i--) /* stored out of id order */
        r[PERSONS - 1 - i] = rec(1000 + (uint64_t)i, &people[i]);
    assert_int_equal(sidik_shard_put(s, r, PERSONS, NULL), 0);
    sidik_shard_close(s);

    s = open_ok(dir, 3, 0);
    sidik_fmr *got = malloc(sizeof *got);
    for (int i = 0; i < PERSONS; i++) {
        assert_int_equal(sidik_shard_get(s, 1000 + (uint64_t)i, got), 0);
        assert_int_equal(got->nviews, people[i].fmr.nviews);
        for (uint32_t v = 0; v < got->nviews; v++) {
            assert_int_equal(got->views[v].position, people[i].fmr.views[v].position);
            assert_int_equal(got->views[v].count, people[i].fmr.views[v].count);
        }
    }
    assert_int_equal(sidik_shard_get(s, 999, got), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_shard_get(s, 0, got), SIDIK_EINVAL);
    walk w = {0};
    assert_int_equal(sidik_shard_each(s, check_sig, &w), 0);
    assert_int_equal(w.n, PERSONS);
    assert_int_equal(w.bad, 0);
    for (int i = 1; i < w.n; i++)
        assert_true(w.ids[i] > w.ids[i - 1]);
    uint64_t records, bytes;
    assert_int_equal(sidik_shard_stats(s, &records, &bytes), 0);
    assert_int_equal(records, PERSONS);
    assert_true(bytes >= PERSONS * people[0].len);

    /* Loaded into the search engine from the stored signatures. */
    sidik_gallery *g;
    assert_int_equal(sidik_gallery_create(2, SIDIK_SIMD_SCALAR, &g), 0);
    assert_int_equal(sidik_shard_each(s, insert_into, g), 0);
    assert_int_equal(sidik_gallery_size(g), PERSONS);
    sidik_gallery_destroy(g);

    uint64_t gone[] = {1005, 1007};
    assert_int_equal(sidik_shard_del(s, gone, 2), 0);
    assert_int_equal(sidik_shard_del(s, gone, 1), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_shard_get(s, 1005, got), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_shard_stats(s, &records, &bytes), 0);
    assert_int_equal(records, PERSONS - 2);
    /* Ids in order, in pages. */
    uint64_t ids[5];
    size_t n;
    assert_int_equal(sidik_shard_ids(s, 0, ids, 5, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(ids[0], 1000);
    assert_int_equal(ids[4], 1004);
    assert_int_equal(sidik_shard_ids(s, 1004, ids, 5, &n), 0);
    assert_int_equal(ids[0], 1006); /* 1005 is gone */
    assert_int_equal(ids[1], 1008);
    assert_int_equal(sidik_shard_ids(s, 1011, ids, 5, &n), 0);
    assert_int_equal(n, 0);

    /* Copied as stored to another shard: all or none. */
    char *dir2 = scratch_create();
    sidik_shard *t = open_ok(dir2, 4, 0);
    uint64_t some[] = {1001, 1002, 1005};
    assert_int_equal(sidik_shard_copy(s, t, some, 3), SIDIK_ENOTFOUND);
    assert_int_equal(count(t), 0);
    assert_int_equal(sidik_shard_copy(s, t, some, 2), 0);
    assert_int_equal(sidik_shard_copy(s, t, some, 1), SIDIK_EEXISTS);
    assert_int_equal(sidik_shard_copy(s, s, some, 1), SIDIK_EINVAL);
    assert_int_equal(sidik_shard_get(t, 1002, got), 0);
    assert_int_equal(got->nviews, people[2].fmr.nviews);
    walk w2 = {0};
    assert_int_equal(sidik_shard_each(t, check_sig, &w2), 0);
    assert_int_equal(w2.n, 2);
    assert_int_equal(w2.bad, 0);
    sidik_shard_close(t);
    scratch_remove(dir2);
    free(got);
    sidik_shard_close(s);
    scratch_remove(dir);
}

static void test_storage_shard_batches_all_or_nothing(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_shard *s = open_ok(dir, 0, 0);
    sidik_shard_record r[5];
    for (int i = 0; i < 5; i++)
        r[i] = rec(10 + (uint64_t)i, &people[i]);
    size_t bad;

    /* A hostile template in the middle: the decoder's own error, its index,
     * and nothing of the batch kept. */
    uint8_t junk[64];
    memset(junk, 0xee, sizeof junk);
    struct {
        const uint8_t *p;
        size_t n;
        int rc;
    } hostile[] = {
        {people[3].tmpl, people[3].len - 1, SIDIK_ETRUNCATED}, /* cut short */
        {people[3].tmpl, 10, SIDIK_ETRUNCATED},                /* header only */
        {junk, sizeof junk, SIDIK_EFORMAT},                    /* not a record */
    };
    for (size_t h = 0; h < SIDIK_ARRAY_SIZE(hostile); h++) {
        r[3].tmpl = hostile[h].p;
        r[3].tmpl_len = hostile[h].n;
        int rc = sidik_shard_put(s, r, 5, &bad);
        assert_true(rc < 0);
        if (rc != hostile[h].rc)
            print_error("hostile %zu: %s\n", h, sidik_err_name(rc));
        assert_int_equal(rc, hostile[h].rc);
        assert_int_equal(bad, 3);
        assert_int_equal(count(s), 0);
    }
    r[3] = rec(13, &people[3]);
    r[3].tmpl_len = SIDIK_SHARD_TEMPLATE_MAX + 1;
    assert_int_equal(sidik_shard_put(s, r, 5, &bad), SIDIK_ETOOBIG);
    r[3] = rec(0, &people[3]);
    assert_int_equal(sidik_shard_put(s, r, 5, &bad), SIDIK_EINVAL);
    r[3] = rec(13, &people[3]);
    r[3].tmpl = NULL;
    assert_int_equal(sidik_shard_put(s, r, 5, &bad), SIDIK_EINVAL);
    /* The same id twice in a batch, then an id already stored. */
    r[3] = rec(11, &people[3]);
    assert_int_equal(sidik_shard_put(s, r, 5, &bad), SIDIK_EEXISTS);
    assert_int_equal(bad, 3);
    assert_int_equal(count(s), 0);
    r[3] = rec(13, &people[3]);
    assert_int_equal(sidik_shard_put(s, r, 5, NULL), 0);
    assert_int_equal(count(s), 5);
    assert_int_equal(sidik_shard_put(s, &r[2], 1, NULL), SIDIK_EEXISTS);
    assert_int_equal(count(s), 5);
    assert_int_equal(sidik_shard_put(NULL, r, 1, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_shard_put(s, NULL, 1, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_shard_put(s, NULL, 0, NULL), 0);
    sidik_shard_close(s);
    scratch_remove(dir);
}


static int count_each(void *ctx, uint64_t id, const sidik_person_sig *sig)
{
    (void)id;
    (void)sig;
    (*(int *)ctx)++;
    return 0;
}

/* Walks ids lo..hi of s and returns them in order; *n how many. */
static int walk_range(sidik_shard *s, uint64_t lo, uint64_t hi, walk *w)
{
    memset(w, 0, sizeof *w);
    return sidik_shard_each_range(s, lo, hi, check_sig, w);
}

static void test_storage_shard_ranges(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_shard *s = open_ok(dir, 2, 0);
    uint64_t first, last;
    assert_int_equal(sidik_shard_span(s, &first, &last), SIDIK_ENOTFOUND);
    /* ids 1000 + {1, 3, 4, 8, 11} */
    const int kept[] = {1, 3, 4, 8, 11};
    sidik_shard_record r[5];
    for (int i = 0; i < 5; i++)
        r[i] = rec(1000 + (uint64_t)kept[i], &people[kept[i]]);
    assert_int_equal(sidik_shard_put(s, r, 5, NULL), 0);
    assert_int_equal(sidik_shard_span(s, &first, &last), 0);
    assert_int_equal(first, 1001);
    assert_int_equal(last, 1011);

    walk w;
    assert_int_equal(walk_range(s, 1003, 1008, &w), 0); /* both ends inclusive */
    assert_int_equal(w.n, 3);
    assert_int_equal(w.ids[0], 1003);
    assert_int_equal(w.ids[2], 1008);
    assert_int_equal(w.bad, 0);
    assert_int_equal(walk_range(s, 1005, 1007, &w), 0); /* between records */
    assert_int_equal(w.n, 0);
    assert_int_equal(walk_range(s, 1012, UINT64_MAX, &w), 0); /* past the last */
    assert_int_equal(w.n, 0);
    assert_int_equal(walk_range(s, 1008, 1003, &w), 0); /* hi < lo: nothing */
    assert_int_equal(w.n, 0);
    assert_int_equal(walk_range(s, 0, UINT64_MAX, &w), 0);
    assert_int_equal(w.n, 5);
    assert_int_equal(walk_range(s, 1011, 1011, &w), 0);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.ids[0], 1011);
    assert_int_equal(sidik_shard_each_range(NULL, 0, 1, check_sig, &w), SIDIK_EINVAL);
    assert_int_equal(sidik_shard_each_range(s, 0, 1, NULL, &w), SIDIK_EINVAL);
    assert_int_equal(sidik_shard_span(NULL, &first, &last), SIDIK_EINVAL);
    assert_int_equal(sidik_shard_span(s, NULL, &last), SIDIK_EINVAL);
    assert_int_equal(sidik_shard_span(s, &first, NULL), SIDIK_EINVAL);

    /* Every split walks every record once, in order. */
    for (uint32_t parts = 1; parts <= 13; parts++) {
        uint64_t seen = 0, lo, hi, prev = 0;
        for (uint32_t j = 0; j < parts; j++) {
            if (!sidik_shard_slice(first, last, j, parts, &lo, &hi))
                continue;
            assert_int_equal(walk_range(s, lo, hi, &w), 0);
            for (int i = 0; i < w.n; i++) {
                assert_true(w.ids[i] > prev);
                prev = w.ids[i];
            }
            seen += (uint64_t)w.n;
        }
        assert_int_equal(seen, 5);
    }
    sidik_shard_close(s);
    scratch_remove(dir);
}

/* Slices of first..last: in order, adjacent, covering it exactly, about
 * equal; empty where there are more parts than ids; none out of range. */
static void test_storage_shard_slices(void **state)
{
    (void)state;
    const uint64_t spans[][2] = {{0, 0},          {5, 5},          {0, 9},
                                 {1001, 1011},    {0, UINT64_MAX}, {UINT64_MAX - 2, UINT64_MAX},
                                 {1, UINT64_MAX}, {7, 1000006}};
    const uint32_t parts_tried[] = {1, 2, 3, 7, 8, 64, 1000};
    for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++)
        for (size_t p = 0; p < sizeof parts_tried / sizeof parts_tried[0]; p++) {
            const uint64_t first = spans[i][0], last = spans[i][1];
            const uint32_t parts = parts_tried[p];
            const unsigned __int128 ids = (unsigned __int128)(last - first) + 1;
            uint64_t next = first, lo, hi;
            uint32_t nonempty = 0;
            int done = 0; /* last covered: nothing may follow */
            for (uint32_t j = 0; j < parts; j++) {
                if (!sidik_shard_slice(first, last, j, parts, &lo, &hi))
                    continue;
                assert_false(done);
                assert_int_equal(lo, next);
                assert_true(hi >= lo && hi <= last);
                /* widths differ by at most one id */
                const unsigned __int128 width = (unsigned __int128)(hi - lo) + 1;
                assert_true(width == ids / parts || width == ids / parts + 1);
                nonempty++;
                done = hi == last;
                next = hi + 1;
            }
            assert_true(done);
            assert_int_equal(nonempty, ids < parts ? (uint32_t)ids : parts);
        }
    uint64_t lo = 3, hi = 4;
    assert_int_equal(sidik_shard_slice(0, 9, 2, 2, &lo, &hi), 0); /* part >= parts */
    assert_int_equal(sidik_shard_slice(0, 9, 0, 0, &lo, &hi), 0); /* no parts */
    assert_int_equal(sidik_shard_slice(9, 0, 0, 1, &lo, &hi), 0); /* last < first */
    assert_int_equal(lo, 3);
    assert_int_equal(hi, 4);
}

static void test_storage_shard_identity_and_damage(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_shard *s = open_ok(dir, 7, 0);
    sidik_shard_record r = rec(1, &people[0]);
    assert_int_equal(sidik_shard_put(s, &r, 1, NULL), 0);
    sidik_shard_close(s);
    const char *why = NULL;
    assert_int_equal(sidik_shard_open(dir, 8, NULL, &s, &why), SIDIK_ECORRUPT);
    assert_string_equal(why, "folder holds another shard");

    /* A damaged value: get and each both report it. */
    uint8_t key[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    raw_lmdb_put(dir, "persons", key, 8, "\x01\x02\x03\x00", 4);
    s = open_ok(dir, 7, 0);
    sidik_fmr *got = malloc(sizeof *got);
    assert_int_equal(sidik_shard_get(s, 1, got), SIDIK_ECORRUPT);
    int n = 0;
    assert_int_equal(sidik_shard_each(s, count_each, &n), SIDIK_ECORRUPT);
    /* A value of the right shape whose template no longer decodes. */
    uint8_t v[8 + 8] = {1, 0, 0, 0, 8, 0, 0, 0, 'F', 'M', 'R', 0, 'x', 'x', 'x', 'x'};
    sidik_shard_close(s);
    raw_lmdb_put(dir, "persons", key, 8, v, sizeof v);
    s = open_ok(dir, 7, 0);
    assert_int_equal(sidik_shard_get(s, 1, got), SIDIK_ECORRUPT);
    free(got);
    sidik_shard_close(s);

    uint32_t meta[2] = {3, 7};
    raw_lmdb_put(dir, "meta", "format", 6, meta, sizeof meta);
    assert_int_equal(sidik_shard_open(dir, 7, NULL, &s, &why), SIDIK_EVERSION);
    assert_string_equal(why, "shard written by another format version");
    assert_int_equal(sidik_shard_open(NULL, 7, NULL, &s, &why), SIDIK_EINVAL);
    assert_int_equal(sidik_shard_each(NULL, count_each, &n), SIDIK_EINVAL);
    scratch_remove(dir);
}

/* A version-1 value as format 1 wrote it: the head, each finger's scale and
 * signature, the ISO record. The signature is written one unit off in every
 * byte, as an earlier definition of it would differ: the shard must compute
 * it afresh from the record, never hand the stored one on. */
static size_t value_v1(const person *x, uint8_t *v)
{
    uint8_t nf = 0;
    uint16_t mask = 0;
    size_t n = 8;
    for (int f = 0; f < SIDIK_SIG_FINGERS; f++) {
        if (!(x->sig.scale[f] > 0))
            continue;
        mask |= (uint16_t)(1u << f);
        nf++;
        memcpy(v + n, &x->sig.scale[f], 4);
        sidik_finger_sig old = x->sig.f[f];
        for (int r = 0; r < SIDIK_SIG_RINGS; r++)
            for (int k = 0; k < SIDIK_SIG_HARMONICS; k++)
                old.c[r][k][0] = (int8_t)(old.c[r][k][0] == 127 ? 126 : old.c[r][k][0] + 1);
        memcpy(v + n + 4, &old, sizeof old);
        n += 4 + sizeof x->sig.f[f];
    }
    uint32_t len = (uint32_t)x->len;
    v[0] = 1, v[1] = nf;
    memcpy(v + 2, &mask, 2);
    memcpy(v + 4, &len, 4);
    memcpy(v + n, x->tmpl, x->len);
    return n + x->len;
}

/* A shard of format 1 (signatures stored) opens, is marked format 2, and
 * reads its old records beside new, packed ones; a packed value is the
 * head and sidik_fmr_pack's bytes, nothing else; damaged packed values are
 * refused. */
static void test_storage_shard_reads_format_1(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_shard *s = open_ok(dir, 9, 0);
    sidik_shard_close(s);
    uint32_t meta[2] = {1, 9};
    raw_lmdb_put(dir, "meta", "format", 6, meta, sizeof meta);
    static uint8_t v[8 + SIDIK_SIG_FINGERS * 516 + SIDIK_SHARD_TEMPLATE_MAX];
    for (uint64_t i = 0; i < 3; i++) {
        uint8_t key[8] = {0, 0, 0, 0, 0, 0, 0, (uint8_t)(1 + i)};
        raw_lmdb_put(dir, "persons", key, 8, v, value_v1(&people[i], v));
    }
    s = open_ok(dir, 9, 0);
    sidik_shard_record r[3] = {rec(4, &people[3]), rec(5, &people[4]), rec(6, &people[5])};
    assert_int_equal(sidik_shard_put(s, r, 3, NULL), 0);
    sidik_shard_close(s);
    uint32_t marked[2];
    assert_int_equal(raw_lmdb_get(dir, "meta", "format", 6, marked, sizeof marked), 8);
    assert_int_equal(marked[0], 2);

    /* Each record as it went in: templates, and signatures computed from
     * them, the version-1 records' (1..3) as well. */
    s = open_ok(dir, 9, 0);
    sidik_fmr *got = malloc(sizeof *got);
    for (uint64_t id = 1; id <= 6; id++) {
        assert_int_equal(sidik_shard_get(s, id, got), 0);
        const sidik_fmr *want = &people[id - 1].fmr;
        assert_int_equal(got->nviews, want->nviews);
        for (uint32_t k = 0; k < want->nviews; k++)
            assert_memory_equal(&got->views[k], &want->views[k],
                                8 + want->views[k].count * sizeof want->views[k].m[0]);
    }
    sidik_person_sig *sigs = calloc(7, sizeof *sigs);
    assert_int_equal(sidik_shard_each(s, keep_sig, sigs), 0);
    for (uint64_t id = 1; id <= 6; id++)
        assert_memory_equal(&sigs[id], &people[id - 1].sig, sizeof sigs[id]);
    sidik_shard_close(s);

    /* A packed value: version 2, no fingers, the packed record. */
    uint8_t key4[8] = {0, 0, 0, 0, 0, 0, 0, 4};
    size_t n = raw_lmdb_get(dir, "persons", key4, 8, v, sizeof v);
    static uint8_t packed[SIDIK_FMR_PACKED_MAX];
    size_t plen;
    assert_int_equal(sidik_fmr_pack(&people[3].fmr, packed, sizeof packed, &plen), 0);
    assert_int_equal(n, 8 + plen);
    assert_int_equal(v[0], 2);
    assert_int_equal(v[1], 0);
    assert_int_equal(v[2] | v[3], 0);
    assert_memory_equal(v + 8, packed, plen);

    /* Damage: a packed record that no longer unpacks, a version-2 head
     * naming fingers, a version 3. */
    uint8_t bad[8 + 64];
    memcpy(bad, v, 8 + 64);
    uint32_t len = 64;
    memcpy(bad + 4, &len, 4);
    raw_lmdb_put(dir, "persons", key4, 8, bad, sizeof bad); /* truncated packing */
    s = open_ok(dir, 9, 0);
    assert_int_equal(sidik_shard_get(s, 4, got), SIDIK_ECORRUPT);
    assert_int_equal(sidik_shard_each(s, keep_sig, sigs), SIDIK_ECORRUPT);
    sidik_shard_close(s);
    memcpy(v + 2, "\x01\x00", 2);
    raw_lmdb_put(dir, "persons", key4, 8, v, n);
    s = open_ok(dir, 9, 0);
    assert_int_equal(sidik_shard_get(s, 4, got), SIDIK_ECORRUPT);
    sidik_shard_close(s);
    memcpy(v + 2, "\x00\x00", 2);
    v[0] = 3;
    raw_lmdb_put(dir, "persons", key4, 8, v, n);
    s = open_ok(dir, 9, 0);
    assert_int_equal(sidik_shard_get(s, 4, got), SIDIK_ECORRUPT);
    v[0] = 2;
    sidik_shard_close(s);
    raw_lmdb_put(dir, "persons", key4, 8, v, n);
    s = open_ok(dir, 9, 0);
    assert_int_equal(sidik_shard_get(s, 4, got), 0);
    sidik_shard_close(s);
    free(sigs);
    free(got);
    scratch_remove(dir);
}

static void test_storage_shard_full(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_shard *s = open_ok(dir, 1, 512 << 10);
    int rc = 0;
    uint64_t id = 1;
    for (; rc == 0 && id < 10000; id++) {
        sidik_shard_record r = rec(id, &people[id % PERSONS]);
        rc = sidik_shard_put(s, &r, 1, NULL);
    }
    assert_int_equal(rc, SIDIK_EFULL);
    uint64_t kept = count(s);
    assert_int_equal(kept, id - 2);
    sidik_shard_close(s);
    s = open_ok(dir, 1, 64 << 20);
    assert_int_equal(count(s), kept);
    int n = 0;
    assert_int_equal(sidik_shard_each(s, count_each, &n), 0);
    assert_int_equal(n, (int)kept);
    sidik_shard_close(s);
    scratch_remove(dir);
}


/* ---- a node's shards and the directory ------------------------------------ */

typedef struct node {
    char *dir;
    sidik_control *control;
    sidik_shardset *set;
} node;

static node node_open_with(char *dir, const sidik_shardset_options *o)
{
    node nd = {.dir = dir};
    char path[600];
    snprintf(path, sizeof path, "%s/control", dir);
    assert_int_equal(sidik_control_open(path, NULL, &nd.control, NULL), 0);
    snprintf(path, sizeof path, "%s/gallery", dir);
    const char *why = NULL;
    int rc = sidik_shardset_open(path, nd.control, o, &nd.set, &why);
    if (rc != 0)
        print_error("shardset: %s (%s)\n", sidik_err_name(rc), why ? why : "");
    assert_int_equal(rc, 0);
    return nd;
}

static node node_open(char *dir)
{
    return node_open_with(dir, NULL);
}

static void node_close(node *nd)
{
    sidik_shardset_close(nd->set);
    sidik_control_close(nd->control);
}

/* Records 1..n, their templates and signatures borrowed from the people. */
static void node_fill(node *nd, uint64_t n)
{
    sidik_shard_record r[100];
    for (uint64_t first = 1; first <= n; first += 100) {
        size_t m = 0;
        for (uint64_t id = first; id <= n && m < 100; id++)
            r[m++] = rec(id, &people[id % PERSONS]);
        assert_int_equal(sidik_shardset_put(nd->set, r, m, NULL), 0);
    }
}

typedef struct census {
    uint8_t *seen;
    uint64_t n, count, twice, wrong;
    sidik_control *control;
} census;

static pthread_mutex_t census_lock = PTHREAD_MUTEX_INITIALIZER;

/* Called on several threads at once when the walk has a pool. */
static int census_one(void *ctx, const uint64_t *ids, const sidik_person_sig *sigs, size_t n,
                      uint32_t shard)
{
    census *c = ctx;
    (void)shard;
    pthread_mutex_lock(&census_lock);
    c->wrong += n < 1 || n > SIDIK_SHARDSET_EACH_BATCH;
    for (size_t i = 0; i < n; i++) {
        uint64_t id = ids[i];
        int wrong_sig = memcmp(&sigs[i], &people[id % PERSONS].sig, sizeof sigs[i]) != 0;
        if (id == 0 || id > c->n) {
            c->wrong++;
        } else {
            c->twice += c->seen[id]++ != 0;
            c->wrong += wrong_sig;
            c->count++;
        }
    }
    pthread_mutex_unlock(&census_lock);
    return 0;
}

/* A pool of three threads started for each run, as sidikd's workers run
 * the walk. */
typedef struct pool_run {
    void (*task)(void *arg, uint32_t i);
    void *arg;
    uint32_t n;
    _Atomic uint32_t next;
} pool_run;

static void *pool_thread(void *arg)
{
    pool_run *r = arg;
    for (uint32_t i; (i = atomic_fetch_add(&r->next, 1)) < r->n;)
        r->task(r->arg, i);
    return NULL;
}

static void threads_run(void *ctx, uint32_t n, void (*task)(void *arg, uint32_t i), void *arg)
{
    (void)ctx;
    pool_run r = {.task = task, .arg = arg, .n = n};
    pthread_t t[3];
    for (int k = 0; k < 3; k++)
        assert_int_equal(pthread_create(&t[k], NULL, pool_thread, &r), 0);
    for (int k = 0; k < 3; k++)
        pthread_join(t[k], NULL);
}

static const sidik_pool three_threads = {threads_run, NULL};

/* The census, taken one shard after another and on three threads by
 * turns: the two must agree with the records put, whichever runs. */
static census take_census(node *nd, uint64_t n)
{
    static int turn;
    census c = {.seen = calloc(n + 1, 1), .n = n};
    const sidik_pool *pool = turn++ % 2 ? &three_threads : NULL;
    assert_int_equal(sidik_shardset_each(nd->set, pool, census_one, &c), 0);
    free(c.seen);
    c.seen = NULL;
    return c;
}

/* Fails at one record: the walk on three threads stops and says so. */
static int fail_at_7(void *ctx, const uint64_t *ids, const sidik_person_sig *sigs, size_t n,
                     uint32_t shard)
{
    (void)ctx, (void)sigs, (void)shard;
    for (size_t i = 0; i < n; i++)
        if (ids[i] == 7)
            return SIDIK_ERANGE;
    return 0;
}

/* The shards' I/O seam: while it fails, every write (put, rebalance's
 * copy) returns its error and leaves nothing half done: no record stored or
 * named, none lost, every record in one shard; once the disk is back the
 * same writes work. */
static atomic_int shard_fault_rc;

static int shard_fault(void *ctx)
{
    (void)ctx;
    return atomic_load(&shard_fault_rc);
}

static void test_storage_shardset_write_faults(void **state)
{
    (void)state;
    atomic_store(&shard_fault_rc, 0);
    sidik_shardset_options o = {.fault = shard_fault};
    node nd = node_open_with(scratch_create(), &o);
    node_fill(&nd, 40);
    sidik_shard_record r[5];
    for (uint64_t i = 0; i < 5; i++)
        r[i] = rec(41 + i, &people[(41 + i) % PERSONS]);
    static const int faults[] = {-EIO, -ENOSPC, SIDIK_EFULL};
    sidik_fmr *fmr = malloc(sizeof *fmr);
    for (size_t f = 0; f < SIDIK_ARRAY_SIZE(faults); f++) {
        atomic_store(&shard_fault_rc, faults[f]);
        assert_int_equal(sidik_shardset_put(nd.set, r, 5, NULL), faults[f]);
        for (uint64_t i = 0; i < 5; i++)
            assert_int_equal(sidik_shardset_fetch(nd.set, 41 + i, fmr), SIDIK_ENOTFOUND);
    }
    /* A shard added while the disk fails cannot take moves. */
    uint32_t added;
    atomic_store(&shard_fault_rc, 0);
    assert_int_equal(sidik_shardset_add(nd.set, &added), 0);
    atomic_store(&shard_fault_rc, -EIO);
    uint64_t moved = 99;
    assert_int_equal(sidik_shardset_rebalance(nd.set, NULL, NULL, &moved), -EIO);
    assert_int_equal(moved, 0);
    census c = take_census(&nd, 45);
    assert_int_equal(c.count, 40);
    assert_int_equal(c.twice, 0);
    assert_int_equal(c.wrong, 0);

    atomic_store(&shard_fault_rc, 0);
    assert_int_equal(sidik_shardset_put(nd.set, r, 5, NULL), 0);
    assert_int_equal(sidik_shardset_rebalance(nd.set, NULL, NULL, &moved), 0);
    assert_true(moved > 0);
    c = take_census(&nd, 45);
    assert_int_equal(c.count, 45);
    assert_int_equal(c.twice, 0);
    assert_int_equal(c.wrong, 0);
    for (uint64_t i = 0; i < 5; i++)
        assert_int_equal(sidik_shardset_fetch(nd.set, 41 + i, fmr), 0);
    free(fmr);
    node_close(&nd);
    scratch_remove(nd.dir);
}

static void test_storage_shardset_add_and_rebalance(void **state)
{
    (void)state;
    node nd = node_open(scratch_create());
    node_fill(&nd, 1000);
    uint32_t number;
    for (uint32_t i = 1; i <= 3; i++) {
        assert_int_equal(sidik_shardset_add(nd.set, &number), 0);
        assert_int_equal(number, i);
    }
    sidik_shard_info info[8];
    uint32_t n;
    assert_int_equal(sidik_shardset_list(nd.set, info, 8, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(info[0].records, 1000);
    assert_int_equal(info[3].records, 0);
    uint64_t moved;
    assert_int_equal(sidik_shardset_rebalance(nd.set, NULL, NULL, &moved), 0);
    assert_int_equal(moved, 750);
    assert_int_equal(sidik_shardset_list(nd.set, info, 8, &n), 0);
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(info[i].records, 250);
    census c = take_census(&nd, 1000);
    /* A failure in one walk stops them all and is returned. */
    assert_int_equal(sidik_shardset_each(nd.set, &three_threads, fail_at_7, NULL), SIDIK_ERANGE);
    assert_int_equal(sidik_shardset_each(nd.set, NULL, fail_at_7, NULL), SIDIK_ERANGE);
    assert_int_equal(sidik_shardset_each(NULL, NULL, fail_at_7, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_shardset_each(nd.set, NULL, NULL, NULL), SIDIK_EINVAL);
    assert_int_equal(c.count, 1000);
    assert_int_equal(c.twice + c.wrong, 0);
    sidik_fmr *f = malloc(sizeof *f);
    for (uint64_t id = 1; id <= 1000; id++)
        assert_int_equal(sidik_shardset_fetch(nd.set, id, f), 0);
    assert_int_equal(sidik_shardset_fetch(nd.set, 1001, f), SIDIK_ENOTFOUND);
    /* New records go to the emptiest shard. */
    sidik_shard_record r = rec(5000, &people[0]);
    assert_int_equal(sidik_shardset_add(nd.set, &number), 0);
    assert_int_equal(sidik_shardset_put(nd.set, &r, 1, NULL), 0);
    assert_int_equal(sidik_shardset_list(nd.set, info, 8, &n), 0);
    assert_int_equal(info[4].records, 1);
    /* Stored and named already: a repeat is refused by index. */
    sidik_shard_record two[2] = {rec(5001, &people[1]), rec(5000, &people[0])};
    size_t bad = 9;
    assert_int_equal(sidik_shardset_put(nd.set, two, 2, &bad), SIDIK_EEXISTS);
    assert_int_equal(bad, 1);
    assert_int_equal(sidik_shardset_fetch(nd.set, 5001, f), SIDIK_ENOTFOUND);
    node_close(&nd);

    /* All of it again after reopening. */
    nd = node_open(nd.dir);
    assert_int_equal(sidik_shardset_list(nd.set, info, 8, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(sidik_shardset_fetch(nd.set, 5000, f), 0);
    assert_int_equal(take_census(&nd, 5000).count, 1001);
    free(f);
    node_close(&nd);
    scratch_remove(nd.dir);
}

/* Searches' lookups and whole-gallery walks run while records move: no
 * lookup misses and no walk counts a record twice or leaves one out. */
typedef struct mover {
    sidik_shardset *set;
    int rc;
    _Atomic int done;
} mover;

static void *run_rebalance(void *arg)
{
    mover *m = arg;
    m->rc = sidik_shardset_rebalance(m->set, NULL, NULL, NULL);
    atomic_store(&m->done, 1);
    return NULL;
}

static void test_storage_shardset_moves_under_load(void **state)
{
    (void)state;
    const uint64_t n = 6000;
    node nd = node_open(scratch_create());
    node_fill(&nd, n);
    uint32_t number;
    for (int i = 0; i < 5; i++)
        assert_int_equal(sidik_shardset_add(nd.set, &number), 0);
    mover m = {.set = nd.set};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_rebalance, &m), 0);
    sidik_fmr *f = malloc(sizeof *f);
    uint64_t rng = 11, lookups = 0, misses = 0, walks = 0, bad_walks = 0;
    /* A walk holds the moves off while it runs (it computes every
     * record's signature), so walks come every fourth round of lookups. */
    for (uint64_t round = 0; !atomic_load(&m.done); round++) {
        for (int i = 0; i < 200; i++, lookups++)
            misses += sidik_shardset_fetch(nd.set, 1 + sidik_test_rand(&rng) % n, f) != 0;
        if (round % 4 != 0)
            continue;
        census c = take_census(&nd, n);
        walks++;
        bad_walks += c.count != n || c.twice != 0 || c.wrong != 0;
    }
    pthread_join(th, NULL);
    assert_int_equal(m.rc, 0);
    printf("during the moves: %llu lookups, %llu misses; %llu walks, %llu wrong\n",
           (unsigned long long)lookups, (unsigned long long)misses, (unsigned long long)walks,
           (unsigned long long)bad_walks);
    assert_true(walks >= 2);
    assert_int_equal(misses, 0);
    assert_int_equal(bad_walks, 0);
    sidik_shard_info info[8];
    uint32_t k;
    assert_int_equal(sidik_shardset_list(nd.set, info, 8, &k), 0);
    for (uint32_t i = 0; i < k; i++)
        assert_int_equal(info[i].records, n / 6);
    free(f);
    node_close(&nd);
    scratch_remove(nd.dir);
}

/* The worst moment, made certain: the record moves away after the fetch
 * read the directory and before it reads the shard. */
typedef struct gap_move {
    sidik_shardset *set;
    int calls;
    uint64_t moved;
} gap_move;

static void move_in_gap(void *ctx)
{
    gap_move *g = ctx;
    if (g->calls++ == 0)
        assert_int_equal(sidik_shardset_rebalance(g->set, NULL, NULL, &g->moved), 0);
}

static void test_storage_shardset_fetch_during_move(void **state)
{
    (void)state;
    gap_move g = {0};
    sidik_shardset_options o = {.fetch_gap = move_in_gap, .ctx = &g};
    node nd = node_open_with(scratch_create(), &o);
    g.set = nd.set;
    node_fill(&nd, 100);
    uint32_t one;
    assert_int_equal(sidik_shardset_add(nd.set, &one), 0);
    sidik_fmr *f = malloc(sizeof *f);
    assert_int_equal(sidik_shardset_fetch(nd.set, 1, f), 0); /* moves first, then found */
    assert_int_equal(g.moved, 50);
    assert_int_equal(g.calls, 2); /* the directory was read again */
    assert_int_equal(f->nviews, people[1].fmr.nviews);
    free(f);
    node_close(&nd);
    scratch_remove(nd.dir);
}

/* What a crash between a move's steps leaves: copies the directory does not
 * name, in the source and in the destination. Invisible, then removed. */
static void test_storage_shardset_orphans(void **state)
{
    (void)state;
    node nd = node_open(scratch_create());
    node_fill(&nd, 100);
    uint32_t one;
    assert_int_equal(sidik_shardset_add(nd.set, &one), 0);
    char path[700];
    snprintf(path, sizeof path, "%s/gallery/shard-0000", nd.dir);
    node_close(&nd);
    /* Behind the set's back: ids 1-3 copied into shard 1 (a move cut before
     * its flip) and id 900 stored in shard 0 with no directory entry (a put
     * cut before its naming). */
    sidik_shard *s0, *s1;
    assert_int_equal(sidik_shard_open(path, 0, NULL, &s0, NULL), 0);
    path[strlen(path) - 1] = '1';
    assert_int_equal(sidik_shard_open(path, 1, NULL, &s1, NULL), 0);
    uint64_t ids[] = {1, 2, 3};
    assert_int_equal(sidik_shard_copy(s0, s1, ids, 3), 0);
    sidik_shard_record r = rec(900, &people[0]);
    assert_int_equal(sidik_shard_put(s0, &r, 1, NULL), 0);
    r = rec(901, &people[1]); /* and one unnamed in shard 1 */
    assert_int_equal(sidik_shard_put(s1, &r, 1, NULL), 0);
    sidik_shard_close(s0);
    sidik_shard_close(s1);

    nd = node_open(nd.dir);
    census c = take_census(&nd, 1000);
    assert_int_equal(c.count, 100); /* the orphans are invisible */
    /* A put meeting an unnamed copy of its record in its shard (shard 1,
     * the emptiest) replaces it; one whose id is named is refused. */
    r = rec(901, &people[1]);
    assert_int_equal(sidik_shardset_put(nd.set, &r, 1, NULL), 0);
    r = rec(2, &people[2]);
    size_t bad;
    assert_int_equal(sidik_shardset_put(nd.set, &r, 1, &bad), SIDIK_EEXISTS);
    sidik_fmr *f = malloc(sizeof *f);
    assert_int_equal(sidik_shardset_fetch(nd.set, 900, f), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_shardset_rebalance(nd.set, NULL, NULL, NULL), 0);
    sidik_shard_info info[2];
    uint32_t k;
    assert_int_equal(sidik_shardset_list(nd.set, info, 2, &k), 0);
    assert_int_equal(info[0].records + info[1].records, 101); /* orphans gone */
    assert_true(info[0].records >= 50 && info[0].records <= 51);
    c = take_census(&nd, 1000);
    assert_int_equal(c.count, 101);
    assert_int_equal(c.twice, 0);
    for (uint64_t id = 1; id <= 100; id++)
        assert_int_equal(sidik_shardset_fetch(nd.set, id, f), 0);
    free(f);
    node_close(&nd);
    scratch_remove(nd.dir);
}

/* The plan, the cap and the cancel flag of sidik_shardset_rebalance_with:
 * progress starts at 0 of the fewest moves that balance, never goes back,
 * and ends at moved == total; a cap stops at exactly that many; a cancel
 * stops after the batch in hand with every record in exactly one shard. */
typedef struct watch {
    uint64_t calls, last_moved, last_total, first_total;
    int backwards;
    _Atomic int cancel;
    uint64_t cancel_after; /* set cancel once this many have moved (0: never) */
} watch;

static void watch_progress(void *ctx, uint64_t moved, uint64_t total)
{
    watch *w = ctx;
    if (w->calls++ == 0)
        w->first_total = total;
    w->backwards += moved < w->last_moved || moved > total;
    w->last_moved = moved;
    w->last_total = total;
    if (w->cancel_after != 0 && moved >= w->cancel_after)
        atomic_store(&w->cancel, 1);
}

/* Every record 1..n named by the directory, stored in exactly the shard
 * that names it and in no other. */
static void assert_each_once(node *nd, uint64_t n)
{
    census c = take_census(nd, n);
    assert_int_equal(c.count, n);
    assert_int_equal(c.twice + c.wrong, 0);
    sidik_shard_info info[8];
    uint32_t k;
    assert_int_equal(sidik_shardset_list(nd->set, info, 8, &k), 0);
    uint64_t stored = 0;
    for (uint32_t i = 0; i < k; i++)
        stored += info[i].records;
    assert_int_equal(stored, n); /* no copy left behind anywhere */
}

static void test_storage_shardset_rebalance_plan_cap_cancel(void **state)
{
    (void)state;
    node nd = node_open(scratch_create());
    node_fill(&nd, 2000);
    uint32_t number;
    assert_int_equal(sidik_shardset_add(nd.set, &number), 0);
    assert_int_equal(sidik_shardset_add(nd.set, &number), 0);

    /* A cap: exactly 300 move, reported against a plan of 300. */
    watch w = {0};
    sidik_rebalance_options o = {.max_moves = 300, .progress = watch_progress, .ctx = &w};
    uint64_t moved = 0;
    assert_int_equal(sidik_shardset_rebalance_with(nd.set, &o, &moved), 0);
    assert_int_equal(moved, 300);
    assert_int_equal(w.first_total, 300);
    assert_int_equal(w.last_moved, 300);
    assert_int_equal(w.last_total, 300);
    assert_int_equal(w.backwards, 0);
    assert_each_once(&nd, 2000);

    /* A cancel after the first batch: stops there, consistent. */
    w = (watch){.cancel_after = 1};
    o = (sidik_rebalance_options){.progress = watch_progress, .ctx = &w, .cancel = &w.cancel};
    assert_int_equal(sidik_shardset_rebalance_with(nd.set, &o, &moved), SIDIK_ECANCELLED);
    assert_true(moved > 0 && moved <= 256);
    assert_int_equal(moved, w.last_moved);
    assert_each_once(&nd, 2000);
    uint64_t so_far = 300 + moved;

    /* A cancel set before it starts: nothing moves. */
    atomic_store(&w.cancel, 1);
    assert_int_equal(sidik_shardset_rebalance_with(nd.set, &o, &moved), SIDIK_ECANCELLED);
    assert_int_equal(moved, 0);

    /* The rest: from the plan to moved == total, 2000 over 3 shards in
     * 667/667/666 with the 1,333 moves that takes, all told. */
    w = (watch){0};
    o = (sidik_rebalance_options){.progress = watch_progress, .ctx = &w};
    assert_int_equal(sidik_shardset_rebalance_with(nd.set, &o, &moved), 0);
    assert_int_equal(w.first_total, 1333 - so_far);
    assert_int_equal(w.backwards, 0);
    assert_int_equal(w.last_moved, moved);
    assert_int_equal(w.last_total, moved);
    assert_int_equal(so_far + moved, 1333);
    sidik_shard_info info[4];
    uint32_t k;
    assert_int_equal(sidik_shardset_list(nd.set, info, 4, &k), 0);
    for (uint32_t i = 0; i < k; i++)
        assert_true(info[i].records == 666 || info[i].records == 667);
    assert_each_once(&nd, 2000);

    /* Balanced: no progress call, nothing moved. */
    w = (watch){0};
    assert_int_equal(sidik_shardset_rebalance_with(nd.set, &o, &moved), 0);
    assert_int_equal(moved, 0);
    assert_int_equal(w.calls, 0);
    assert_int_equal(sidik_shardset_rebalance_with(NULL, &o, &moved), SIDIK_EINVAL);
    assert_int_equal(sidik_shardset_rebalance_with(nd.set, NULL, NULL), 0);
    node_close(&nd);
    scratch_remove(nd.dir);
}

static void test_storage_shardset_bad_input(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *control;
    char path[600];
    snprintf(path, sizeof path, "%s/control", dir);
    assert_int_equal(sidik_control_open(path, NULL, &control, NULL), 0);
    sidik_shardset *set;
    const char *why;
    assert_int_equal(sidik_shardset_open(NULL, control, NULL, &set, &why), SIDIK_EINVAL);
    assert_int_equal(sidik_shardset_open(dir, NULL, NULL, &set, &why), SIDIK_EINVAL);
    /* Folders that only look like shards are left alone; a shard's folder
     * under another number is refused. */
    snprintf(path, sizeof path, "%s/g", dir);
    mkdir(path, 0750);
    snprintf(path, sizeof path, "%s/g/shard-12", dir);
    mkdir(path, 0750);
    snprintf(path, sizeof path, "%s/g", dir);
    assert_int_equal(sidik_shardset_open(path, control, NULL, &set, &why), 0);
    sidik_shard_info info[4];
    uint32_t n;
    assert_int_equal(sidik_shardset_list(set, info, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(info[0].number, 0);
    assert_int_equal(sidik_shardset_fetch(set, 7, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_shardset_put(set, NULL, 1, NULL), SIDIK_EINVAL);
    sidik_shardset_close(set);
    char from[700], to[700];
    snprintf(from, sizeof from, "%s/g/shard-0000", dir);
    snprintf(to, sizeof to, "%s/g/shard-0002", dir);
    assert_int_equal(rename(from, to), 0);
    why = NULL;
    assert_int_equal(sidik_shardset_open(path, control, NULL, &set, &why), SIDIK_ECORRUPT);
    assert_string_equal(why, "folder holds another shard");
    sidik_control_close(control);
    scratch_remove(dir);
}

static const struct CMUnitTest tests[] = {
    SIDIK_TEST(test_storage_shard_roundtrip),
    SIDIK_TEST(test_storage_shard_batches_all_or_nothing),
    SIDIK_TEST(test_storage_shard_identity_and_damage),
    SIDIK_TEST(test_storage_shard_reads_format_1),
    SIDIK_TEST(test_storage_shard_full),
    SIDIK_TEST(test_storage_shardset_write_faults),
    SIDIK_TEST(test_storage_shardset_add_and_rebalance),
    SIDIK_TEST(test_storage_shardset_moves_under_load),
    SIDIK_TEST(test_storage_shardset_fetch_during_move),
    SIDIK_TEST(test_storage_shardset_orphans),
    SIDIK_TEST(test_storage_shardset_rebalance_plan_cap_cancel),
    SIDIK_TEST(test_storage_shardset_bad_input),
    SIDIK_TEST(test_storage_shard_ranges),
    SIDIK_TEST(test_storage_shard_slices),
};

int main(void)
{
    return cmocka_run_group_tests(tests, make_people, free_people);
}
