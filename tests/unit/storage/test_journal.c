/*
 * The journal: appends and reads back, group commit, segments, recovery of
 * torn and damaged files, injected I/O faults, bad arguments. Every
 * behavioural test runs once per backend (io_uring where the kernel allows
 * it, then pwrite+fdatasync).
 */
#include "storage_test.h"

#include "sidik/common.h"
#include "sidik/crc32c.h"
#include "sidik/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#define MAXP 3000

static sidik_journal_backend backend;

static sidik_journal_options opts(void)
{
    return (sidik_journal_options){.backend = backend};
}

static sidik_journal *open_ok(const char *dir, const sidik_journal_options *o)
{
    sidik_journal *j = NULL;
    const char *why = NULL;
    int rc = sidik_journal_open(dir, o, &j, &why);
    if (rc != 0)
        print_error("open: %s (%s)\n", sidik_err_name(rc), why ? why : "");
    assert_int_equal(rc, 0);
    return j;
}

/* Appends entries first..last (their sequence numbers must follow). */
static void append_range(sidik_journal *j, uint64_t first, uint64_t last)
{
    uint8_t buf[MAXP];
    for (uint64_t s = first; s <= last; s++) {
        size_t n = payload_len(s, MAXP);
        payload_fill(s, buf, n);
        uint64_t seq;
        assert_int_equal(sidik_journal_append(j, (uint32_t)(s % 5), buf, n, &seq), 0);
        assert_int_equal(seq, s);
    }
}

typedef struct seen {
    uint64_t next, count;
    int bad;
} seen;

static int check_entry(void *ctx, uint64_t seq, uint32_t kind, const void *p, size_t n)
{
    seen *s = ctx;
    if (seq != s->next || kind != seq % 5 || payload_check(seq, p, n, MAXP) != 0)
        s->bad++;
    s->next = seq + 1;
    s->count++;
    return 0;
}

/* Every durable entry from `from` on reads back intact and in order. */
static uint64_t scan_all(sidik_journal *j, uint64_t from)
{
    seen s = {.next = from};
    assert_int_equal(sidik_journal_scan(j, from, check_entry, &s), 0);
    assert_int_equal(s.bad, 0);
    return s.count;
}

static char *seg_path(const char *dir, uint64_t first)
{
    char *p;
    assert_true(asprintf(&p, "%s/%016llx.seg", dir, (unsigned long long)first) > 0);
    return p;
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void test_storage_journal_roundtrip(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_journal_options o = opts();
    sidik_journal *j = open_ok(dir, &o);
    assert_int_equal(sidik_journal_next(j), 1);
    assert_int_equal(sidik_journal_durable(j), 0);
    append_range(j, 1, 200);
    /* Empty payloads and every padding remainder. */
    uint64_t seq;
    for (size_t n = 0; n < 9; n++) {
        assert_int_equal(sidik_journal_append(j, 7, "abcdefgh", n, &seq), 0);
    }
    assert_int_equal(sidik_journal_wait(j, seq), 0);
    assert_true(sidik_journal_durable(j) >= seq);
    sidik_journal_stats st;
    sidik_journal_get_stats(j, &st);
    assert_int_equal(st.entries, 209);
    assert_string_equal(st.backend, backend == SIDIK_JOURNAL_SYNC ? "sync" : "io_uring");
    assert_int_equal(sidik_journal_close(j), 0);

    j = open_ok(dir, &o);
    assert_int_equal(sidik_journal_next(j), 210);
    assert_int_equal(sidik_journal_durable(j), 209);
    seen s = {.next = 1};
    assert_int_equal(sidik_journal_scan(j, 1, check_entry, &s), 0);
    assert_int_equal(s.count, 209);
    assert_int_equal(s.bad, 9); /* the nine short "abcdefgh" entries are not seq payloads */
    s = (seen){.next = 50};
    assert_int_equal(sidik_journal_scan(j, 50, check_entry, &s), 0);
    assert_int_equal(s.count, 160);
    assert_int_equal(s.bad, 9);
    assert_int_equal(sidik_journal_close(j), 0);
    scratch_remove(dir);
}

/* The first group's write is held until the test has appended 100 more
 * entries; those then go out as one group. */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int writes, open;
} gate;

static int gate_fault(void *ctx, sidik_journal_op op)
{
    gate *g = ctx;
    if (op != SIDIK_JOURNAL_OP_WRITE)
        return 0;
    pthread_mutex_lock(&g->mu);
    g->writes++;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    return 0;
}

/* Options whose every group write waits at gate g. */
static sidik_journal_options gated(gate *g)
{
    sidik_journal_options o = opts();
    o.fault = gate_fault;
    o.fault_ctx = g;
    return o;
}

static void gate_wait_write(gate *g)
{
    pthread_mutex_lock(&g->mu);
    while (g->writes == 0)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void gate_open(gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void test_storage_journal_group_commit(void **state)
{
    (void)state;
    char *dir = scratch_create();
    gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    sidik_journal_options o = gated(&g);
    sidik_journal *j = open_ok(dir, &o);
    append_range(j, 1, 1);
    gate_wait_write(&g); /* the thread holds entry 1 in its write */
    append_range(j, 2, 101);
    assert_int_equal(sidik_journal_durable(j), 0);
    gate_open(&g);
    assert_int_equal(sidik_journal_wait(j, 101), 0);
    sidik_journal_stats st;
    sidik_journal_get_stats(j, &st);
    assert_int_equal(st.groups, 2);
    assert_int_equal(st.entries, 101);
    assert_int_equal(scan_all(j, 1), 101);
    assert_int_equal(sidik_journal_close(j), 0);
    scratch_remove(dir);
}

/* Pending bytes are bounded: past the limit appends get SIDIK_EBUSY until
 * the group in flight is durable. */
static void test_storage_journal_backpressure(void **state)
{
    (void)state;
    char *dir = scratch_create();
    gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    sidik_journal_options o = gated(&g);
    o.max_pending_bytes = 4096;
    sidik_journal *j = open_ok(dir, &o);
    uint8_t big[3000] = {0};
    uint64_t seq;
    assert_int_equal(sidik_journal_append(j, 0, big, sizeof big, &seq), 0);
    gate_wait_write(&g);
    assert_int_equal(sidik_journal_append(j, 0, big, sizeof big, &seq), 0);
    assert_int_equal(sidik_journal_append(j, 0, big, sizeof big, &seq), SIDIK_EBUSY);
    gate_open(&g);
    assert_int_equal(sidik_journal_wait(j, 2), 0);
    assert_int_equal(sidik_journal_append(j, 0, big, sizeof big, &seq), 0);
    assert_int_equal(seq, 3);
    assert_int_equal(sidik_journal_close(j), 0);
    scratch_remove(dir);
}

static void test_storage_journal_segments(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_journal_options o = opts();
    o.segment_bytes = 8192;
    sidik_journal *j = open_ok(dir, &o);
    for (uint64_t s = 1; s <= 300; s += 10) {
        append_range(j, s, s + 9);
        assert_int_equal(sidik_journal_wait(j, s + 9), 0);
    }
    sidik_journal_stats st;
    sidik_journal_get_stats(j, &st);
    assert_true(st.segments > 10);
    assert_int_equal(sidik_journal_close(j), 0);

    j = open_ok(dir, &o);
    assert_int_equal(sidik_journal_next(j), 301);
    assert_int_equal(scan_all(j, 1), 300);
    assert_int_equal(scan_all(j, 137), 164); /* from inside a middle segment */
    assert_int_equal(scan_all(j, 300), 1);
    assert_int_equal(scan_all(j, 301), 0);
    append_range(j, 301, 310);
    assert_int_equal(sidik_journal_wait(j, 310), 0);
    assert_int_equal(scan_all(j, 1), 310);
    assert_int_equal(sidik_journal_close(j), 0);
    scratch_remove(dir);
}

/* Cutting the file at every byte of its last two entries keeps exactly the
 * entries that are whole, and the journal goes on from there. */
static void test_storage_journal_torn_tail_every_byte(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_journal_options o = opts();
    sidik_journal *j = open_ok(dir, &o);
    append_range(j, 1, 6);
    assert_int_equal(sidik_journal_close(j), 0);
    char *seg = seg_path(dir, 1);
    off_t full = file_size(seg);
    int fd = open(seg, O_RDONLY);
    uint8_t *orig = malloc((size_t)full);
    assert_int_equal(pread(fd, orig, (size_t)full, 0), full);
    close(fd);
    /* Where entries 5 and 6 begin. */
    off_t ends[7] = {32};
    for (int s = 1; s <= 6; s++) {
        uint32_t len;
        memcpy(&len, orig + ends[s - 1] + 4, 4);
        ends[s] = ends[s - 1] + (off_t)((32 + len + 7) & ~7u);
    }
    assert_int_equal(ends[6], full);
    for (off_t cut = ends[4]; cut < full; cut++) {
        fd = open(seg, O_WRONLY | O_TRUNC);
        assert_int_equal(pwrite(fd, orig, (size_t)cut, 0), cut);
        close(fd);
        int whole = cut >= ends[5] ? 5 : 4;
        j = open_ok(dir, &o);
        assert_int_equal(sidik_journal_next(j), whole + 1);
        sidik_journal_stats st;
        sidik_journal_get_stats(j, &st);
        assert_int_equal(st.cut_bytes, cut - ends[whole]);
        assert_int_equal(file_size(seg), ends[whole]);
        assert_int_equal(scan_all(j, 1), whole);
        append_range(j, (uint64_t)whole + 1, 6);
        assert_int_equal(sidik_journal_close(j), 0);
        assert_int_equal(file_size(seg), full); /* the same bytes written again */
    }
    free(orig);
    free(seg);
    scratch_remove(dir);
}

static void flip_byte(const char *path, off_t at)
{
    int fd = open(path, O_RDWR);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
}

/* Damage to an entry that later groups were written after (so it had been
 * durable) refuses the open; damage to the last group is a torn tail. */
static void test_storage_journal_damage(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_journal_options o = opts();
    sidik_journal *j = open_ok(dir, &o);
    for (uint64_t s = 1; s <= 4; s++) {
        append_range(j, s, s);
        assert_int_equal(sidik_journal_wait(j, s), 0); /* one group each */
    }
    assert_int_equal(sidik_journal_close(j), 0);
    char *seg = seg_path(dir, 1);
    off_t at[5] = {32};
    for (int s = 1; s <= 4; s++)
        at[s] = at[s - 1] + (off_t)((32 + payload_len((uint64_t)s, MAXP) + 7) & ~7u);
    flip_byte(seg, at[1] + 8); /* entry 2's sequence number */
    const char *why = NULL;
    assert_int_equal(sidik_journal_open(dir, &o, &j, &why), SIDIK_ECORRUPT);
    assert_string_equal(why, "entry damaged after it was durable");
    flip_byte(seg, at[1] + 8);
    /* The last entry damaged: cut like a torn write. */
    flip_byte(seg, at[3] + 8);
    j = open_ok(dir, &o);
    assert_int_equal(sidik_journal_next(j), 4);
    assert_int_equal(scan_all(j, 1), 3);
    assert_int_equal(sidik_journal_close(j), 0);
    free(seg);
    scratch_remove(dir);
}

static void write_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
}

static void test_storage_journal_bad_segments(void **state)
{
    (void)state;
    sidik_journal_options o = opts();
    sidik_journal *j;
    const char *why;
    /* Garbage, a short file, another version, a header naming another
     * sequence: each refused with its own error. */
    struct {
        const char *what;
        int rc;
    } cases[] = {{"garbage", SIDIK_ECORRUPT},
                 {"short", SIDIK_ECORRUPT},
                 {"version", SIDIK_EVERSION},
                 {"name", SIDIK_ECORRUPT}};
    for (size_t c = 0; c < SIDIK_ARRAY_SIZE(cases); c++) {
        char *dir = scratch_create();
        j = open_ok(dir, &o);
        assert_int_equal(sidik_journal_close(j), 0);
        char *seg = seg_path(dir, 1);
        uint8_t h[32];
        int fd = open(seg, O_RDONLY);
        assert_int_equal(read(fd, h, 32), 32);
        close(fd);
        if (c == 0) {
            uint64_t r = 5;
            for (int i = 0; i < 32; i++)
                h[i] = (uint8_t)sidik_test_rand(&r);
            write_file(seg, h, 32);
        } else if (c == 1) {
            write_file(seg, h, 31);
        } else {
            if (c == 2)
                h[8] = 2; /* version */
            else
                h[16] = 9; /* first_seq */
            uint32_t crc = sidik_crc32c(0, h, 28);
            memcpy(h + 28, &crc, 4);
            write_file(seg, h, 32);
        }
        why = NULL;
        assert_int_equal(sidik_journal_open(dir, &o, &j, &why), cases[c].rc);
        assert_non_null(why);
        free(seg);
        scratch_remove(dir);
    }
    /* Leftovers of an interrupted creation go; strangers stay ignored. */
    char *dir = scratch_create();
    char *p;
    assert_true(asprintf(&p, "%s/0000000000000009.seg.tmp", dir) > 0);
    write_file(p, "x", 1);
    char *q;
    assert_true(asprintf(&q, "%s/README", dir) > 0);
    write_file(q, "x", 1);
    j = open_ok(dir, &o);
    assert_int_equal(access(p, F_OK), -1);
    assert_int_equal(access(q, F_OK), 0);
    assert_int_equal(sidik_journal_close(j), 0);
    free(p);
    free(q);
    scratch_remove(dir);
}

/* Fails every call of one operation from the nth on. */
typedef struct faulty {
    sidik_journal_op op;
    int nth, seen, rc;
} faulty;

static int faulty_fn(void *ctx, sidik_journal_op op)
{
    faulty *f = ctx;
    if (op != f->op)
        return 0;
    return ++f->seen >= f->nth ? f->rc : 0;
}

static void test_storage_journal_io_errors(void **state)
{
    (void)state;
    struct {
        sidik_journal_op op;
        int rc, reported;
    } cases[] = {{SIDIK_JOURNAL_OP_WRITE, -ENOSPC, SIDIK_EFULL},
                 {SIDIK_JOURNAL_OP_WRITE, -EIO, -EIO},
                 {SIDIK_JOURNAL_OP_SYNC, -EIO, -EIO},
                 {SIDIK_JOURNAL_OP_SYNC, -EDQUOT, SIDIK_EFULL},
                 {SIDIK_JOURNAL_OP_CREATE, -ENOSPC, SIDIK_EFULL}};
    for (size_t c = 0; c < SIDIK_ARRAY_SIZE(cases); c++) {
        char *dir = scratch_create();
        faulty f = {cases[c].op, 4, 0, cases[c].rc};
        sidik_journal_options o = opts();
        o.fault = faulty_fn;
        o.fault_ctx = &f;
        o.segment_bytes = 1; /* a new segment after every group */
        sidik_journal *j = open_ok(dir, &o);
        for (uint64_t s = 1; s <= 3; s++) {
            append_range(j, s, s);
            assert_int_equal(sidik_journal_wait(j, s), 0);
        }
        append_range(j, 4, 4);
        int expect_wait = cases[c].op == SIDIK_JOURNAL_OP_CREATE ? 0 : cases[c].reported;
        assert_int_equal(sidik_journal_wait(j, 4), expect_wait);
        /* Stopped: new work refused with the same status. */
        while (sidik_journal_status(j) == 0)
            usleep(1000);
        assert_int_equal(sidik_journal_status(j), cases[c].reported);
        uint64_t seq;
        assert_int_equal(sidik_journal_append(j, 0, "x", 1, &seq), cases[c].reported);
        uint64_t durable = sidik_journal_durable(j);
        assert_int_equal(durable, cases[c].op == SIDIK_JOURNAL_OP_CREATE ? 4 : 3);
        assert_int_equal(sidik_journal_close(j), cases[c].reported);

        /* Everything durable is there after reopening. */
        sidik_journal_options plain = opts();
        j = open_ok(dir, &plain);
        assert_true(sidik_journal_next(j) > durable);
        assert_true(scan_all(j, 1) >= durable);
        assert_int_equal(sidik_journal_close(j), 0);
        scratch_remove(dir);
    }
}

static int stop_at_3(void *ctx, uint64_t seq, uint32_t kind, const void *p, size_t n)
{
    (void)kind;
    (void)p;
    (void)n;
    *(uint64_t *)ctx = seq;
    return seq == 3 ? 42 : 0;
}

static void test_storage_journal_bad_arguments(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_journal *j;
    const char *why;
    sidik_journal_options o = opts();
    assert_int_equal(sidik_journal_open(NULL, &o, &j, &why), SIDIK_EINVAL);
    assert_int_equal(sidik_journal_open(dir, &o, NULL, &why), SIDIK_EINVAL);
    o.backend = (sidik_journal_backend)9;
    assert_int_equal(sidik_journal_open(dir, &o, &j, &why), SIDIK_EINVAL);
    assert_string_equal(why, "unknown backend");
    assert_int_equal(sidik_journal_open("/proc/version/x", NULL, &j, &why), -ENOTDIR);

    o = opts();
    j = open_ok(dir, &o);
    uint64_t seq;
    assert_int_equal(sidik_journal_append(j, 0, NULL, 1, &seq), SIDIK_EINVAL);
    assert_int_equal(sidik_journal_append(j, 0, "x", 1, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_journal_append(NULL, 0, "x", 1, &seq), SIDIK_EINVAL);
    assert_int_equal(sidik_journal_append(j, 0, "x", (size_t)SIDIK_JOURNAL_MAX_ENTRY + 1, &seq),
                     SIDIK_ETOOBIG);
    assert_int_equal(sidik_journal_wait(j, 1), SIDIK_EINVAL); /* never appended */
    append_range(j, 1, 5);
    assert_int_equal(sidik_journal_wait(j, 5), 0);
    uint64_t last = 0;
    assert_int_equal(sidik_journal_scan(j, 1, stop_at_3, &last), 42);
    assert_int_equal(last, 3);
    assert_int_equal(sidik_journal_scan(j, 1, NULL, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_journal_close(j), 0);
    assert_int_equal(sidik_journal_close(NULL), 0);
    scratch_remove(dir);
}

/* Every allocation open and append make can fail; each failure is reported
 * and leaves nothing behind. */
static void test_storage_journal_alloc_failures(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_journal_options o = opts();
    int failed = 0;
    for (uint64_t nth = 1; nth < 50; nth++) {
        sidik_journal *j = NULL;
        sidik_alloc_fail_nth(nth);
        int rc = sidik_journal_open(dir, &o, &j, NULL);
        if (rc == 0) {
            uint64_t seq;
            rc = sidik_journal_append(j, 0, "abc", 3, &seq);
            if (rc == 0)
                assert_int_equal(sidik_journal_wait(j, seq), 0);
            assert_int_equal(sidik_journal_close(j), 0);
        }
        bool pending = sidik_alloc_fail_pending();
        sidik_alloc_fail_nth(0);
        if (rc != 0) {
            assert_int_equal(rc, SIDIK_ENOMEM);
            failed++;
        }
        if (pending && rc == 0)
            break; /* every allocation on the path has been failed once */
    }
    assert_true(failed >= 3);
    sidik_journal *j = open_ok(dir, &o);
    seen s = {.next = 1};
    assert_int_equal(sidik_journal_scan(j, 1, check_entry, &s), 0);
    assert_int_equal(sidik_journal_close(j), 0);
    scratch_remove(dir);
}

/* Several threads append and wait at once; every entry lands once. */
typedef struct racer {
    sidik_journal *j;
    uint64_t seqs[500];
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    for (int i = 0; i < 500; i++) {
        uint8_t b[64];
        memset(b, i & 0xff, sizeof b);
        if (sidik_journal_append(r->j, 1, b, (size_t)(i % 64), &r->seqs[i]) != 0)
            r->seqs[i] = 0;
        if (i % 50 == 49 && sidik_journal_wait(r->j, r->seqs[i]) != 0)
            r->seqs[i] = 0;
    }
    return NULL;
}

static int count_entries(void *ctx, uint64_t seq, uint32_t kind, const void *p, size_t n)
{
    (void)seq;
    (void)p;
    (void)n;
    *(uint64_t *)ctx += kind == 1;
    return 0;
}

static void test_storage_journal_concurrent(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_journal_options o = opts();
    sidik_journal *j = open_ok(dir, &o);
    racer *r = calloc(4, sizeof *r);
    pthread_t th[4];
    for (int t = 0; t < 4; t++) {
        r[t].j = j;
        pthread_create(&th[t], NULL, race, &r[t]);
    }
    for (int t = 0; t < 4; t++)
        pthread_join(th[t], NULL);
    uint8_t *hit = calloc(2001, 1);
    for (int t = 0; t < 4; t++)
        for (int i = 0; i < 500; i++) {
            assert_true(r[t].seqs[i] >= 1 && r[t].seqs[i] <= 2000);
            hit[r[t].seqs[i]]++;
        }
    for (int s = 1; s <= 2000; s++)
        assert_int_equal(hit[s], 1);
    assert_int_equal(sidik_journal_close(j), 0);
    j = open_ok(dir, &o);
    uint64_t n = 0;
    assert_int_equal(sidik_journal_scan(j, 1, count_entries, &n), 0);
    assert_int_equal(n, 2000);
    assert_int_equal(sidik_journal_close(j), 0);
    free(hit);
    free(r);
    scratch_remove(dir);
}

static const struct CMUnitTest tests[] = {
    SIDIK_TEST(test_storage_journal_roundtrip),
    SIDIK_TEST(test_storage_journal_group_commit),
    SIDIK_TEST(test_storage_journal_backpressure),
    SIDIK_TEST(test_storage_journal_segments),
    SIDIK_TEST(test_storage_journal_torn_tail_every_byte),
    SIDIK_TEST(test_storage_journal_damage),
    SIDIK_TEST(test_storage_journal_bad_segments),
    SIDIK_TEST(test_storage_journal_io_errors),
    SIDIK_TEST(test_storage_journal_bad_arguments),
    SIDIK_TEST(test_storage_journal_alloc_failures),
    SIDIK_TEST(test_storage_journal_concurrent),
};

int main(void)
{
    /* The faults below are logged as errors on purpose; keep the output to
     * what fails. */
    sidik_log_set_fd(open("/dev/null", O_WRONLY));
    int failures = 0;
    sidik_journal *j;
    char *dir = scratch_create();
    sidik_journal_options o = {.backend = SIDIK_JOURNAL_URING};
    int rc = sidik_journal_open(dir, &o, &j, NULL);
    if (rc == 0) {
        sidik_journal_close(j);
        backend = SIDIK_JOURNAL_URING;
        failures += cmocka_run_group_tests_name("journal on io_uring", tests, NULL, NULL);
    } else {
        /* Where the kernel refuses io_uring, forcing it must say so. */
        printf("io_uring unavailable here (%s); forcing it is refused as it should be\n",
               sidik_err_name(rc));
        if (rc != SIDIK_EUNSUPPORTED)
            failures++;
    }
    scratch_remove(dir);
    backend = SIDIK_JOURNAL_SYNC;
    failures += cmocka_run_group_tests_name("journal on pwrite+fdatasync", tests, NULL, NULL);
    return failures != 0;
}
