/*
 * The journal under SIGKILL: a child process appends groups of entries and
 * reports each durable point it was told of (what a server would have
 * acknowledged); the parent kills it at a random moment, reopens the
 * journal and requires every acknowledged entry to be there, intact, in
 * order, and nothing after the cut to be half there. Small segments make
 * the kills land in segment changes too. The child alternates backends.
 *
 * SIDIK_CRASH_KILLS sets the number of kills (default 200; the stress label
 * runs more).
 */
#include "storage_test.h"

#include "sidik/common.h"
#include "sidik/journal.h"

#include <errno.h>
#include <fcntl.h>

#define MAXP 3000

static int verify(void *ctx, uint64_t seq, uint32_t kind, const void *p, size_t n)
{
    uint64_t *next = ctx;
    if (seq != *next || kind != 3 || payload_check(seq, p, n, MAXP) != 0)
        return -1;
    (*next)++;
    return 0;
}

/* The child: append, wait, report, forever (until killed). */
static void writer(const char *dir, int out, sidik_journal_backend backend, uint64_t seed)
{
    sidik_journal_options o = {.backend = backend, .segment_bytes = 64 << 10};
    sidik_journal *j;
    if (sidik_journal_open(dir, &o, &j, NULL) != 0)
        _exit(3);
    static uint8_t buf[MAXP];
    for (;;) {
        unsigned k = 1 + (unsigned)(sidik_test_rand(&seed) % 16);
        uint64_t seq = 0;
        for (unsigned i = 0; i < k; i++) {
            uint64_t s = sidik_journal_next(j);
            size_t n = payload_len(s, MAXP);
            payload_fill(s, buf, n);
            if (sidik_journal_append(j, 3, buf, n, &seq) != 0 || seq != s)
                _exit(4);
        }
        if (sidik_journal_wait(j, seq) != 0)
            _exit(5);
        if (write(out, &seq, sizeof seq) != (ssize_t)sizeof seq)
            _exit(6);
    }
}

typedef struct writer_args {
    const char *dir;
    sidik_journal_backend backend;
} writer_args;

static void writer_child(void *ctx, int ack, uint64_t seed)
{
    writer_args *w = ctx;
    writer(w->dir, ack, w->backend, seed);
}

static void test_storage_journal_sigkill(void **state)
{
    (void)state;
    const char *env = getenv("SIDIK_CRASH_KILLS");
    int kills = env ? atoi(env) : 200;
    char *dir = scratch_create();
    uint64_t rng = 20261122, verified = 0, acked_max = 0, cuts = 0;
    for (int k = 0; k < kills; k++) {
        writer_args w = {dir, k % 2 ? SIDIK_JOURNAL_SYNC : SIDIK_JOURNAL_AUTO};
        acked_max = crash_round(writer_child, &w, &rng, 25000000, acked_max);

        sidik_journal *j;
        sidik_journal_options o = {.backend = SIDIK_JOURNAL_SYNC, .segment_bytes = 64 << 10};
        const char *why = NULL;
        int rc = sidik_journal_open(dir, &o, &j, &why);
        if (rc != 0)
            print_error("kill %d: open %s (%s)\n", k, sidik_err_name(rc), why ? why : "");
        assert_int_equal(rc, 0);
        uint64_t last = sidik_journal_next(j) - 1;
        if (last < acked_max)
            print_error("kill %d: acknowledged %llu, journal ends at %llu\n", k,
                        (unsigned long long)acked_max, (unsigned long long)last);
        assert_true(last >= acked_max);
        sidik_journal_stats st;
        sidik_journal_get_stats(j, &st);
        cuts += st.cut_bytes > 0;
        /* Everything new since the last check reads back whole. */
        uint64_t next = verified + 1;
        assert_int_equal(sidik_journal_scan(j, next, verify, &next), 0);
        assert_int_equal(next, last + 1);
        verified = last;
        assert_int_equal(sidik_journal_close(j), 0);
    }
    /* Once more from the start, across every segment. */
    sidik_journal *j;
    sidik_journal_options o = {.backend = SIDIK_JOURNAL_SYNC};
    assert_int_equal(sidik_journal_open(dir, &o, &j, NULL), 0);
    uint64_t next = 1;
    assert_int_equal(sidik_journal_scan(j, 1, verify, &next), 0);
    assert_int_equal(next, verified + 1);
    sidik_journal_stats st;
    sidik_journal_get_stats(j, &st);
    printf("%d kills: %llu entries acknowledged, %llu kept, %llu segments, %llu torn tails cut\n",
           kills, (unsigned long long)acked_max, (unsigned long long)verified,
           (unsigned long long)st.segments, (unsigned long long)cuts);
    assert_int_equal(sidik_journal_close(j), 0);
    assert_true(acked_max > 0);
    scratch_remove(dir);
}

int main(void)
{
    sidik_log_set_fd(open("/dev/null", O_WRONLY));
    const struct CMUnitTest tests[] = {SIDIK_TEST(test_storage_journal_sigkill)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
