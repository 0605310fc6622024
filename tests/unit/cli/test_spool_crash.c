/*
 * The spool under SIGKILL.
 *
 * A child opens the spool and loops as an uploader would: it puts capture
 * number next_seq (bytes that follow from the number) and tells the parent
 * through a pipe once the put returned 0; takes batches and marks them
 * sent, failed or received (a receipt that follows from the sequence, told
 * to the parent once recorded); now and then compacts (bodies of received
 * captures dropped at once) and records a later status. The parent kills
 * it at a random moment, reopens the spool and requires: every put that
 * returned 0 present, capture order gap-free (sequence k holds capture k),
 * every record whole (its id, its length, its hash; its bytes intact
 * wherever they are still held, and dropped only once the centre holds
 * them), every recorded receipt present and exact, the id index, the
 * pending index and the counters in step with the records, and nothing
 * past the last sequence.
 *
 * SIDIK_SPOOL_KILLS sets the number of kills (default 60).
 */
#include "storage_test.h"

#include "spool_test.h"

#include <fcntl.h>
#include <time.h>

enum { MSG_PUT = 1, MSG_RECEIVED = 2 };

typedef struct msg {
    uint64_t kind, seq;
} msg;

/* Capture k's attachment size: mostly a few KB, one in twenty large enough
 * to span many LMDB overflow pages. */
static size_t size_of(uint64_t k)
{
    uint64_t s = k * 2654435761u;
    uint64_t r = sidik_test_rand(&s);
    return r % 20 == 0 ? 65536 + (size_t)(r >> 8) % 196608 : (size_t)(r >> 8) % 4096;
}

static sidik_spool_receipt receipt_of(uint64_t seq, const uint8_t sha[32])
{
    sidik_spool_receipt r = {.journal_seq = seq * 3 + 7, .received_time_ms = T0 + (int64_t)seq};
    memcpy(r.content_sha256, sha, 32);
    return r;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void tell(int fd, uint64_t kind, uint64_t seq)
{
    msg m = {kind, seq};
    if (write(fd, &m, sizeof m) != (ssize_t)sizeof m)
        _exit(9);
}

static void uploader(const char *dir, int ack, uint64_t seed)
{
    sidik_spool_options o = {
        .backoff_base_ms = 5, .backoff_cap_ms = 50, .rand = spool_test_rand, .rand_ctx = &seed};
    sidik_spool *sp;
    if (sidik_spool_open(dir, &o, &sp, NULL) != 0)
        _exit(3);
    for (unsigned it = 0;; it++) {
        sidik_spool_stats st;
        if (sidik_spool_stats_get(sp, &st) != 0)
            _exit(4);
        size_t n;
        uint8_t *p = capture_make(st.next_seq, NULL, size_of(st.next_seq), &n);
        uint64_t seq;
        if (sidik_spool_put(sp, p, n, now_ms(), &seq, NULL) != 0 || seq != st.next_seq)
            _exit(5);
        free(p);
        tell(ack, MSG_PUT, seq);

        uint64_t batch[4];
        int64_t now = now_ms();
        switch (sidik_test_rand(&seed) % 4) {
        case 0: /* send what is due */
            if (sidik_spool_next(sp, now, batch, 4, &n, NULL) != 0 ||
                sidik_spool_mark_sent(sp, batch, n, now, 20) != 0)
                _exit(6);
            break;
        case 1:
        case 2: /* receipts for the oldest in the backlog, due or not */
            if (sidik_spool_next(sp, INT64_MAX, batch, 4, &n, NULL) != 0)
                _exit(7);
            for (size_t i = 0; i < n; i++) {
                sidik_spool_entry e;
                sidik_spool_receipt r;
                if (sidik_spool_get(sp, batch[i], &e) != 0)
                    _exit(7);
                r = receipt_of(batch[i], e.sha256);
                if (sidik_spool_mark_received(sp, batch[i], &r, now) != 0)
                    _exit(7);
                tell(ack, MSG_RECEIVED, batch[i]);
            }
            break;
        default: /* the link went down under a batch */
            if (sidik_spool_next(sp, now, batch, 3, &n, NULL) != 0 ||
                sidik_spool_mark_failed(sp, batch, n, now, NULL) != 0)
                _exit(8);
        }
        if (it % 5 == 4) {
            sidik_spool_policy pol = {0, INT64_MAX / 4};
            sidik_spool_entry e;
            if (sidik_spool_compact(sp, &pol, now, NULL) != 0 ||
                sidik_spool_get(sp, seq / 2 + 1, &e) != 0)
                _exit(10);
            if (e.at_centre &&
                sidik_spool_set_status(sp, e.seq, SIDIK_STATUS_PRINT_READY, now) != 0)
                _exit(11);
        }
    }
}

/* Runs the uploader in a child, kills it after a random delay below
 * max_ns, and folds what it acknowledged into *acked and received[]. */
static void round_once(const char *dir, uint64_t *rng, long max_ns, uint64_t *acked,
                       uint8_t **received, size_t *cap)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    uint64_t seed = sidik_test_rand(rng);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        uploader(dir, fds[1], seed);
        _exit(2);
    }
    close(fds[1]);
    struct timespec d = {0, (long)(sidik_test_rand(rng) % (uint64_t)max_ns)};
    nanosleep(&d, NULL);
    kill(pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status))
        print_error("the child exited by itself (%d)\n", WEXITSTATUS(status));
    assert_true(WIFSIGNALED(status));
    msg m;
    while (read(fds[0], &m, sizeof m) == (ssize_t)sizeof m) {
        if (m.seq >= *cap) {
            size_t ncap = (size_t)m.seq * 2 + 64;
            *received = realloc(*received, ncap);
            memset(*received + *cap, 0, ncap - *cap);
            *cap = ncap;
        }
        if (m.kind == MSG_PUT && m.seq > *acked)
            *acked = m.seq;
        if (m.kind == MSG_RECEIVED)
            (*received)[m.seq] = 1;
    }
    close(fds[0]);
}

/* What capture k must hash to, computed once per k. */
typedef struct expect {
    uint8_t (*sha)[32];
    uint64_t *bytes;
    size_t n;
} expect;

static void expect_upto(expect *x, uint64_t last)
{
    if (last < x->n)
        return;
    size_t ncap = (size_t)last * 2 + 64;
    x->sha = realloc(x->sha, ncap * 32);
    x->bytes = realloc(x->bytes, ncap * sizeof *x->bytes);
    for (size_t k = x->n; k < ncap; k++) {
        size_t n;
        uint8_t *p = capture_make(k, NULL, size_of(k), &n);
        capture_sha(p, n, x->sha[k]);
        x->bytes[k] = n;
        free(p);
    }
    x->n = ncap;
}

static void verify(const char *dir, uint64_t acked, const uint8_t *received, size_t cap, expect *x,
                   int kill)
{
    sidik_spool *sp = spool_open_ok(dir, NULL);
    sidik_spool_stats st;
    assert_int_equal(sidik_spool_stats_get(sp, &st), 0);
    uint64_t last = st.next_seq - 1;
    if (last < acked)
        print_error("kill %d: put %llu returned 0, the spool ends at %llu\n", kill,
                    (unsigned long long)acked, (unsigned long long)last);
    assert_true(last >= acked);
    expect_upto(x, last + 1);
    sidik_spool_stats tally = {0};
    for (uint64_t seq = 1; seq <= last; seq++) {
        sidik_spool_entry e;
        char id[32];
        uint64_t found;
        snprintf(id, sizeof id, "cap-%08llu", (unsigned long long)seq);
        assert_int_equal(sidik_spool_get(sp, seq, &e), 0);
        assert_string_equal(e.id, id);
        assert_int_equal(sidik_spool_find(sp, id, &found), 0);
        assert_int_equal(found, seq);
        assert_int_equal(e.bytes, x->bytes[seq]);
        assert_memory_equal(e.sha256, x->sha[seq], 32);
        if (e.body_held) {
            uint8_t *p;
            size_t n;
            assert_int_equal(sidik_spool_body(sp, seq, &p, &n), 0); /* checks the hash */
            sidik_free(p);
        } else {
            assert_true(e.at_centre);
        }
        if (seq < cap && received[seq])
            assert_true(e.at_centre);
        if (e.at_centre) {
            sidik_spool_receipt r = receipt_of(seq, x->sha[seq]);
            assert_true(e.status == SIDIK_STATUS_RECEIVED || e.status == SIDIK_STATUS_PRINT_READY);
            assert_int_equal(e.receipt.journal_seq, r.journal_seq);
            assert_int_equal(e.receipt.received_time_ms, r.received_time_ms);
            assert_memory_equal(e.receipt.content_sha256, r.content_sha256, 32);
        } else {
            assert_true(e.status == SIDIK_STATUS_CAPTURED || e.status == SIDIK_STATUS_SENT);
            tally.backlog++;
            tally.backlog_bytes += e.bytes;
        }
        tally.by_status[e.status]++;
        tally.records++;
        tally.body_bytes += e.body_held ? e.bytes : 0;
    }
    sidik_spool_entry e;
    char id[32];
    uint64_t found;
    snprintf(id, sizeof id, "cap-%08llu", (unsigned long long)last + 1);
    assert_int_equal(sidik_spool_get(sp, last + 1, &e), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_spool_find(sp, id, &found), SIDIK_ENOTFOUND);
    assert_memory_equal(st.by_status, tally.by_status, sizeof tally.by_status);
    assert_int_equal(st.records, tally.records);
    assert_int_equal(st.backlog, tally.backlog);
    assert_int_equal(st.backlog_bytes, tally.backlog_bytes);
    assert_int_equal(st.body_bytes, tally.body_bytes);
    /* The pending index names exactly the backlog, in capture order. */
    uint64_t *due = malloc((size_t)(tally.backlog + 1) * sizeof *due);
    size_t n;
    assert_int_equal(sidik_spool_next(sp, INT64_MAX, due, (size_t)tally.backlog + 1, &n, NULL), 0);
    assert_int_equal(n, tally.backlog);
    for (size_t i = 0; i < n; i++) {
        assert_true(i == 0 || due[i] > due[i - 1]);
        assert_int_equal(sidik_spool_get(sp, due[i], &e), 0);
        assert_false(e.at_centre);
    }
    free(due);
    sidik_spool_close(sp);
}

static void test_cli_spool_sigkill(void **state)
{
    (void)state;
    const char *env = getenv("SIDIK_SPOOL_KILLS");
    int kills = env ? atoi(env) : 60;
    char *dir = scratch_create();
    uint64_t rng = 9091, acked = 0;
    uint8_t *received = NULL;
    size_t cap = 0;
    expect x = {0};
    for (int k = 0; k < kills; k++) {
        round_once(dir, &rng, 40000000, &acked, &received, &cap);
        verify(dir, acked, received, cap, &x, k);
    }
    size_t nrecv = 0;
    for (size_t i = 0; i < cap; i++)
        nrecv += received[i];
    printf("%d kills: %llu captures put, %zu receipts recorded, every one intact\n", kills,
           (unsigned long long)acked, nrecv);
    assert_true(acked > (uint64_t)kills / 4);
    free(received);
    free(x.sha);
    free(x.bytes);
    scratch_remove(dir);
}

int main(void)
{
    sidik_log_set_fd(open("/dev/null", O_WRONLY));
    const struct CMUnitTest tests[] = {SIDIK_TEST(test_cli_spool_sigkill)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
