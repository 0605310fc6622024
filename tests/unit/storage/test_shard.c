/*
 * Gallery shards: persons stored and read back (templates and signatures),
 * batches all-or-nothing, hostile records refused with the decoder's error,
 * shard identity and format version, damaged values, a full map.
 */
#include "storage_test.h"

#include "sidik/common.h"
#include "sidik/search.h"
#include "sidik/shard.h"
#include "synth.h"


#define PERSONS 12

typedef struct person {
    sidik_fmr fmr;
    sidik_person_sig sig;
    uint8_t tmpl[SIDIK_SHARD_TEMPLATE_MAX];
    size_t len;
} person;

static person *people;

static int make_people(void **state)
{
    (void)state;
    sidik_synth_params p;
    sidik_synth_params_default(&p);
    people = calloc(PERSONS, sizeof *people);
    for (uint64_t i = 0; i < PERSONS; i++) {
        person *x = &people[i];
        if (sidik_synth_impression(&p, 99, i, 0, &x->fmr, NULL, NULL) != 0 ||
            sidik_sig_person(&x->fmr, &x->sig, NULL) != 0 ||
            sidik_fmr_encode_iso2005(&x->fmr, x->tmpl, sizeof x->tmpl, &x->len) != 0)
            return -1;
    }
    return 0;
}

static int free_people(void **state)
{
    (void)state;
    free(people);
    return 0;
}

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
    return (sidik_shard_record){id, &x->sig, x->tmpl, x->len};
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
    r[3].sig = NULL;
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

    uint32_t meta[2] = {2, 7};
    raw_lmdb_put(dir, "meta", "format", 6, meta, sizeof meta);
    assert_int_equal(sidik_shard_open(dir, 7, NULL, &s, &why), SIDIK_EVERSION);
    assert_string_equal(why, "shard written by another format version");
    assert_int_equal(sidik_shard_open(NULL, 7, NULL, &s, &why), SIDIK_EINVAL);
    assert_int_equal(sidik_shard_each(NULL, count_each, &n), SIDIK_EINVAL);
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

static const struct CMUnitTest tests[] = {
    SIDIK_TEST(test_storage_shard_roundtrip),
    SIDIK_TEST(test_storage_shard_batches_all_or_nothing),
    SIDIK_TEST(test_storage_shard_identity_and_damage),
    SIDIK_TEST(test_storage_shard_full),
};

int main(void)
{
    return cmocka_run_group_tests(tests, make_people, free_people);
}
