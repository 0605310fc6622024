/*
 * The office spool (cli/spool.h): puts and reads, one capture's path
 * (sent, failed with backoff, received, refused, later statuses), paging,
 * compaction, and every hostile input the header names: bad enrollments,
 * bad folders, other format versions, a full map, damaged records and
 * failed allocations. The SIGKILL harness is test_spool_crash.c.
 */
#include "storage_test.h"

#include "spool_test.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

static void stats(sidik_spool *sp, sidik_spool_stats *s)
{
    assert_int_equal(sidik_spool_stats_get(sp, s), 0);
}

static uint64_t put_ok(sidik_spool *sp, uint64_t k, size_t size)
{
    size_t n;
    uint8_t *p = capture_make(k, NULL, size, &n);
    uint64_t seq = 0;
    const char *why = NULL;
    int rc = sidik_spool_put(sp, p, n, T0 + (int64_t)k, &seq, &why);
    if (rc != 0)
        print_error("put %llu: %s (%s)\n", (unsigned long long)k, sidik_err_name(rc),
                    why ? why : "");
    assert_int_equal(rc, 0);
    free(p);
    return seq;
}

/* Capture k's bytes read back equal what was put. */
static void body_is(sidik_spool *sp, uint64_t seq, uint64_t k, size_t size)
{
    size_t n, got;
    uint8_t *want = capture_make(k, NULL, size, &n), *p;
    assert_int_equal(sidik_spool_body(sp, seq, &p, &got), 0);
    assert_int_equal(got, n);
    assert_memory_equal(p, want, n);
    sidik_free(p);
    free(want);
}

static void test_cli_spool_put_read(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_spool *sp = spool_open_ok(dir, NULL);
    for (uint64_t k = 1; k <= 5; k++)
        assert_int_equal(put_ok(sp, k, 100 * k), k);
    sidik_spool_entry e;
    assert_int_equal(sidik_spool_get(sp, 3, &e), 0);
    assert_string_equal(e.id, "cap-00000003");
    assert_int_equal(e.status, SIDIK_STATUS_CAPTURED);
    assert_int_equal(e.changed_ms[SIDIK_STATUS_CAPTURED], T0 + 3);
    assert_true(e.body_held);
    assert_false(e.at_centre);
    size_t n;
    uint8_t *p = capture_make(3, NULL, 300, &n), md[32];
    capture_sha(p, n, md);
    assert_memory_equal(e.sha256, md, 32);
    assert_int_equal(e.bytes, n);
    free(p);
    body_is(sp, 3, 3, 300);
    uint64_t seq;
    assert_int_equal(sidik_spool_find(sp, "cap-00000004", &seq), 0);
    assert_int_equal(seq, 4);
    assert_int_equal(sidik_spool_find(sp, "cap-00000009", &seq), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_spool_get(sp, 6, &e), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_spool_get(sp, 0, &e), SIDIK_ENOTFOUND);

    sidik_spool_stats s;
    stats(sp, &s);
    assert_int_equal(s.records, 5);
    assert_int_equal(s.by_status[SIDIK_STATUS_CAPTURED], 5);
    assert_int_equal(s.backlog, 5);
    assert_int_equal(s.backlog_bytes, s.body_bytes);
    assert_int_equal(s.next_seq, 6);
    assert_int_equal(s.oldest_backlog_ms, T0 + 1);

    /* Reopened, everything is as it was and numbering carries on. */
    sidik_spool_close(sp);
    sp = spool_open_ok(dir, NULL);
    body_is(sp, 5, 5, 500);
    assert_int_equal(put_ok(sp, 6, 10), 6);
    sidik_spool_close(sp);
    scratch_remove(dir);
}

/* The same capture put again (a station retrying after a crash) is the
 * same record; the same id with other bytes is refused and changes
 * nothing. */
static void test_cli_spool_put_same_id(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_spool *sp = spool_open_ok(dir, NULL);
    assert_int_equal(put_ok(sp, 1, 50), 1);
    assert_int_equal(put_ok(sp, 2, 50), 2);
    assert_int_equal(put_ok(sp, 1, 50), 1);
    size_t n;
    uint8_t *p = capture_make(99, "cap-00000001", 50, &n);
    uint64_t seq = 0;
    const char *why = NULL;
    assert_int_equal(sidik_spool_put(sp, p, n, T0, &seq, &why), SIDIK_EEXISTS);
    assert_non_null(why);
    free(p);
    sidik_spool_stats s;
    stats(sp, &s);
    assert_int_equal(s.records, 2);
    assert_int_equal(s.next_seq, 3);
    body_is(sp, 1, 1, 50);
    sidik_spool_close(sp);
    scratch_remove(dir);
}

/* Appends a length-delimited field. */
static size_t field(uint8_t *p, unsigned num, const void *s, size_t n)
{
    p[0] = (uint8_t)(num << 3 | 2);
    p[1] = (uint8_t)n; /* n < 128 here */
    memcpy(p + 2, s, n);
    return n + 2;
}

static void put_fails(sidik_spool *sp, const uint8_t *p, size_t n, int want)
{
    uint64_t seq = 77;
    const char *why = NULL;
    int rc = sidik_spool_put(sp, p, n, T0, &seq, &why);
    if (rc != want)
        print_error("put: %s, wanted %s\n", sidik_err_name(rc), sidik_err_name(want));
    assert_int_equal(rc, want);
    assert_non_null(why);
    assert_int_equal(seq, 77);
}

static void test_cli_spool_put_hostile(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_spool *sp = spool_open_ok(dir, NULL);
    assert_int_equal(put_ok(sp, 1, 10), 1);
    uint8_t b[512];
    size_t n;

    put_fails(sp, b, 0, SIDIK_EINVAL); /* empty */
    uint8_t *big = calloc(1, SIDIK_SPOOL_BODY_MAX + 1);
    put_fails(sp, big, SIDIK_SPOOL_BODY_MAX + 1, SIDIK_ETOOBIG);
    free(big);
    n = field(b, 2, "JKT-01", 6); /* no id */
    put_fails(sp, b, n, SIDIK_EINVAL);
    n = field(b, 1, "", 0);
    put_fails(sp, b, n, SIDIK_EINVAL);
    char longid[SIDIK_ENROLL_ID_MAX + 2];
    memset(longid, 'a', sizeof longid);
    n = field(b, 1, longid, sizeof longid - 1); /* 65 bytes */
    put_fails(sp, b, n, SIDIK_EINVAL);
    n = field(b, 1, longid, sizeof longid - 2); /* 64 bytes: fine */
    uint64_t seq;
    assert_int_equal(sidik_spool_put(sp, b, n, T0, &seq, NULL), 0);
    assert_int_equal(seq, 2);
    n = field(b, 1, "cap\0-1", 6);
    put_fails(sp, b, n, SIDIK_EINVAL);
    n = field(b, 1, "cap 1", 5);
    put_fails(sp, b, n, SIDIK_EINVAL);
    n = field(b, 1, "cap\xc3\xa9", 5);
    put_fails(sp, b, n, SIDIK_EINVAL);
    /* Not protobuf: a varint that never ends, a length past the end, a
     * group. */
    memset(b, 0xff, 12);
    put_fails(sp, b, 12, SIDIK_EFORMAT);
    n = field(b, 1, "cap-x", 5);
    b[1] = 100;
    put_fails(sp, b, n, SIDIK_EFORMAT);
    b[0] = 0x0b;
    put_fails(sp, b, 1, SIDIK_EFORMAT);
    /* Protobuf, but not an Enrollment: field 5 (demographics) holding
     * bytes that are not a message. */
    n = field(b, 1, "cap-x", 5);
    n += field(b + n, 5, "\xff\xff\xff", 3);
    put_fails(sp, b, n, SIDIK_EFORMAT);
    /* An Enrollment, but not in protobuf-c's order: its hash would not be
     * the centre's. */
    n = field(b, 2, "JKT-01", 6);
    n += field(b + n, 1, "cap-x", 5);
    put_fails(sp, b, n, SIDIK_EFORMAT);
    n = field(b, 1, "cap-x", 5);
    n += field(b + n, 2, "JKT-01", 6);
    assert_int_equal(sidik_spool_put(sp, b, n, T0, &seq, NULL), 0);
    assert_int_equal(seq, 3);

    sidik_spool_stats s;
    stats(sp, &s);
    assert_int_equal(s.records, 3);
    assert_int_equal(s.next_seq, 4);
    assert_int_equal(sidik_spool_find(sp, "cap", &seq), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_spool_put(NULL, b, n, T0, &seq, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_spool_put(sp, NULL, 1, T0, &seq, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_spool_find(sp, "", &seq), SIDIK_EINVAL);
    sidik_spool_close(sp);
    scratch_remove(dir);
}

/* The largest capture the spool takes goes in and comes back intact. */
static void test_cli_spool_put_largest(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_spool *sp = spool_open_ok(dir, NULL);
    size_t n;
    uint8_t *p = capture_make(1, NULL, 1000, &n);
    size_t size = SIDIK_SPOOL_BODY_MAX - (n - 1000) - 8; /* within a few bytes of the cap */
    free(p);
    p = capture_make(1, NULL, size, &n);
    assert_true(n <= SIDIK_SPOOL_BODY_MAX && n > SIDIK_SPOOL_BODY_MAX - 16);
    uint64_t seq;
    assert_int_equal(sidik_spool_put(sp, p, n, T0, &seq, NULL), 0);
    free(p);
    body_is(sp, seq, 1, size);
    sidik_spool_close(sp);
    scratch_remove(dir);
}

/* Opens as a user who may not write (as root, in a child as nobody:
 * root's writes ignore permissions). */
static int open_as_nobody(const char *dir)
{
    if (geteuid() != 0) {
        sidik_spool *sp;
        return sidik_spool_open(dir, NULL, &sp, NULL);
    }
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        sidik_spool *sp;
        int rc = setgid(65534) == 0 && setuid(65534) == 0 ? sidik_spool_open(dir, NULL, &sp, NULL)
                                                          : SIDIK_EINTERNAL;
        ssize_t w = write(fds[1], &rc, sizeof rc);
        _exit(w == (ssize_t)sizeof rc ? 0 : 1);
    }
    int rc = 1, status;
    close(fds[1]);
    assert_int_equal(read(fds[0], &rc, sizeof rc), (ssize_t)sizeof rc);
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return rc;
}

static void test_cli_spool_open_hostile(void **state)
{
    (void)state;
    char *dir = scratch_create();
    char path[600];
    sidik_spool *sp = NULL;
    const char *why = NULL;

    /* A file where the folder should be. */
    snprintf(path, sizeof path, "%s/file", dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0640);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(sidik_spool_open(path, NULL, &sp, &why), -ENOTDIR);
    assert_non_null(why);
    /* A folder with other things in it (here the file above) and no
     * spool: refused before LMDB writes there. */
    assert_int_equal(sidik_spool_open(dir, NULL, &sp, &why), SIDIK_EFORMAT);
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    assert_int_equal(access(path, F_OK), -1);
    /* The centre's control store is an LMDB folder, but not a spool. */
    snprintf(path, sizeof path, "%s/control", dir);
    sidik_control *c;
    assert_int_equal(sidik_control_open(path, NULL, &c, NULL), 0);
    sidik_control_close(c);
    assert_int_equal(sidik_spool_open(path, NULL, &sp, &why), SIDIK_EFORMAT);
    assert_int_equal(sidik_control_open(path, NULL, &c, NULL), 0); /* left as it was */
    sidik_control_close(c);
    /* A missing parent. */
    snprintf(path, sizeof path, "%s/no/such", dir);
    assert_int_equal(sidik_spool_open(path, NULL, &sp, &why), -ENOENT);
    /* A folder the user may not write: nothing made in it. */
    snprintf(path, sizeof path, "%s/ro", dir);
    assert_int_equal(mkdir(path, 0555), 0);
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(open_as_nobody(path), -EACCES);
    snprintf(path, sizeof path, "%s/ro/data.mdb", dir);
    assert_int_equal(access(path, F_OK), -1);

    /* Another format version; another magic. */
    snprintf(path, sizeof path, "%s/spool", dir);
    sp = spool_open_ok(path, NULL);
    sidik_spool_close(sp);
    struct {
        char magic[8];
        uint32_t version, reserved;
    } f = {"SIDIKSPL", 2, 0};
    raw_lmdb_put(path, "meta", "spool", 5, &f, sizeof f);
    assert_int_equal(sidik_spool_open(path, NULL, &sp, &why), SIDIK_EVERSION);
    assert_non_null(strstr(why, "version"));
    memcpy(f.magic, "NOTSPOOL", 8);
    f.version = 1;
    raw_lmdb_put(path, "meta", "spool", 5, &f, sizeof f);
    assert_int_equal(sidik_spool_open(path, NULL, &sp, &why), SIDIK_EFORMAT);
    memcpy(f.magic, "SIDIKSPL", 8);
    raw_lmdb_put(path, "meta", "spool", 5, &f, sizeof f);
    raw_lmdb_put(path, "meta", "counts", 6, NULL, 0);
    assert_int_equal(sidik_spool_open(path, NULL, &sp, &why), SIDIK_ECORRUPT);

    sidik_spool_options o = {.backoff_base_ms = -1};
    assert_int_equal(sidik_spool_open(path, &o, &sp, &why), SIDIK_EINVAL);
    assert_int_equal(sidik_spool_open(NULL, NULL, &sp, &why), SIDIK_EINVAL);
    scratch_remove(dir);
}

/* A full map refuses the put that does not fit with SIDIK_EFULL and
 * nothing of it is written; every earlier capture stays intact. */
static void test_cli_spool_map_full(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_spool_options o = {.map_bytes = 1 << 20};
    sidik_spool *sp = spool_open_ok(dir, &o);
    int rc = 0;
    uint64_t k, seq;
    for (k = 1; k < 1000; k++) {
        size_t n;
        uint8_t *p = capture_make(k, NULL, 20000, &n);
        rc = sidik_spool_put(sp, p, n, T0, &seq, NULL);
        free(p);
        if (rc != 0)
            break;
        assert_int_equal(seq, k);
    }
    assert_int_equal(rc, SIDIK_EFULL);
    assert_true(k > 10);
    sidik_spool_stats s;
    stats(sp, &s);
    assert_int_equal(s.records, k - 1);
    assert_int_equal(s.next_seq, k);
    char id[32];
    snprintf(id, sizeof id, "cap-%08llu", (unsigned long long)k);
    assert_int_equal(sidik_spool_find(sp, id, &seq), SIDIK_ENOTFOUND);
    /* A state change still fits (it rewrites a small record). */
    assert_int_equal(sidik_spool_mark_sent(sp, (uint64_t[]){1}, 1, T0, 1000), 0);
    sidik_spool_close(sp);
    o.map_bytes = 64 << 20;
    sp = spool_open_ok(dir, &o);
    for (uint64_t i = 1; i < k; i++)
        body_is(sp, i, i, 20000);
    assert_int_equal(put_ok(sp, k, 20000), k);
    sidik_spool_close(sp);
    scratch_remove(dir);
}

/* A random source that replays a list. */
typedef struct replay {
    const uint64_t *v;
    size_t i;
} replay;

static uint64_t replay_next(void *ctx)
{
    replay *r = ctx;
    return r->v[r->i++];
}

static void test_cli_spool_send_and_backoff(void **state)
{
    (void)state;
    char *dir = scratch_create();
    /* Windows 1000, 2000, 4000, then the cap 5000; each drawn value below
     * its window is the delay itself, and window + 1 wraps to 0. */
    const uint64_t draws[] = {999, 1999, 3999, 4999, 5001, 17};
    replay r = {draws, 0};
    sidik_spool_options o = {
        .backoff_base_ms = 1000, .backoff_cap_ms = 5000, .rand = replay_next, .rand_ctx = &r};
    sidik_spool *sp = spool_open_ok(dir, &o);
    for (uint64_t k = 1; k <= 4; k++)
        put_ok(sp, k, 10);
    uint64_t seqs[8];
    size_t n;
    int64_t due;
    assert_int_equal(sidik_spool_next(sp, T0, seqs, 8, &n, &due), 0);
    assert_int_equal(n, 4);
    assert_int_equal(seqs[0], 1);
    assert_int_equal(seqs[3], 4);
    assert_int_equal(due, 0);
    assert_int_equal(sidik_spool_next(sp, T0, seqs, 2, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_int_equal(seqs[1], 2);

    /* Sent with a 30 s lease: not due again until it runs out. */
    assert_int_equal(sidik_spool_mark_sent(sp, (uint64_t[]){1, 2}, 2, T0, 30000), 0);
    assert_int_equal(sidik_spool_next(sp, T0 + 1, seqs, 8, &n, &due), 0);
    assert_int_equal(n, 2);
    assert_int_equal(seqs[0], 3);
    assert_int_equal(due, T0 + 30000);
    assert_int_equal(sidik_spool_next(sp, T0 + 30000, seqs, 8, &n, NULL), 0);
    assert_int_equal(n, 4);
    sidik_spool_entry e;
    assert_int_equal(sidik_spool_get(sp, 1, &e), 0);
    assert_int_equal(e.status, SIDIK_STATUS_SENT);
    assert_int_equal(e.changed_ms[SIDIK_STATUS_SENT], T0);

    /* Failures back off: 999, then 1999, 3999, 4999 (capped), 0. */
    const int64_t want[] = {999, 1999, 3999, 4999, 0};
    int64_t now = T0;
    for (int i = 0; i < 5; i++) {
        int64_t next;
        assert_int_equal(sidik_spool_mark_failed(sp, (uint64_t[]){1}, 1, now, &next), 0);
        assert_int_equal(next, now + want[i]);
        assert_int_equal(sidik_spool_get(sp, 1, &e), 0);
        assert_int_equal(e.attempts, (uint32_t)i + 1);
        assert_int_equal(e.next_attempt_ms, now + want[i]);
        assert_int_equal(e.status, SIDIK_STATUS_SENT);
        now += 10;
    }
    /* A capture not yet sent can fail too (the connection never came up). */
    int64_t next;
    assert_int_equal(sidik_spool_mark_failed(sp, (uint64_t[]){3}, 1, T0, &next), 0);
    assert_int_equal(next, T0 + 17);
    assert_int_equal(sidik_spool_get(sp, 3, &e), 0);
    assert_int_equal(e.status, SIDIK_STATUS_CAPTURED);
    assert_int_equal(r.i, SIDIK_ARRAY_SIZE(draws));

    /* All or none: an unknown sequence in the batch changes nothing. */
    assert_int_equal(sidik_spool_mark_sent(sp, (uint64_t[]){4, 9}, 2, T0, 5), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_spool_get(sp, 4, &e), 0);
    assert_int_equal(e.status, SIDIK_STATUS_CAPTURED);
    assert_int_equal(sidik_spool_mark_sent(sp, seqs, 0, T0, 5), 0);
    assert_int_equal(sidik_spool_mark_sent(sp, (uint64_t[]){4}, 1, T0, -1), SIDIK_EINVAL);
    sidik_spool_close(sp);
    scratch_remove(dir);
}

static sidik_spool_receipt receipt_for(sidik_spool *sp, uint64_t seq, uint64_t jseq)
{
    sidik_spool_entry e;
    assert_int_equal(sidik_spool_get(sp, seq, &e), 0);
    sidik_spool_receipt r = {.journal_seq = jseq, .received_time_ms = T0 + 500};
    memcpy(r.content_sha256, e.sha256, 32);
    return r;
}

static void test_cli_spool_receipts(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_spool *sp = spool_open_ok(dir, NULL);
    for (uint64_t k = 1; k <= 4; k++)
        put_ok(sp, k, 10);
    assert_int_equal(sidik_spool_mark_sent(sp, (uint64_t[]){1, 2, 3}, 3, T0, 1000), 0);

    /* A receipt for other bytes: refused, nothing recorded, still due. */
    sidik_spool_receipt r = receipt_for(sp, 1, 41);
    r.content_sha256[7] ^= 1;
    assert_int_equal(sidik_spool_mark_received(sp, 1, &r, T0 + 600), SIDIK_ECORRUPT);
    r.content_sha256[7] ^= 1;
    assert_int_equal(sidik_spool_mark_received(sp, 1, &r, T0 + 600), 0);
    assert_int_equal(sidik_spool_mark_received(sp, 1, &r, T0 + 700), 0); /* again: a no-op */
    sidik_spool_entry e;
    assert_int_equal(sidik_spool_get(sp, 1, &e), 0);
    assert_int_equal(e.status, SIDIK_STATUS_RECEIVED);
    assert_true(e.at_centre);
    assert_int_equal(e.changed_ms[SIDIK_STATUS_RECEIVED], T0 + 600);
    assert_int_equal(e.receipt.journal_seq, 41);
    assert_int_equal(e.receipt.received_time_ms, T0 + 500);
    r.journal_seq = 42; /* another receipt for the same capture */
    assert_int_equal(sidik_spool_mark_received(sp, 1, &r, T0 + 700), SIDIK_EEXISTS);
    r.journal_seq = 0;
    assert_int_equal(sidik_spool_mark_received(sp, 1, &r, T0 + 700), SIDIK_EINVAL);
    /* Late news about it changes nothing. */
    assert_int_equal(sidik_spool_mark_sent(sp, (uint64_t[]){1}, 1, T0 + 800, 1000), 0);
    assert_int_equal(sidik_spool_mark_failed(sp, (uint64_t[]){1}, 1, T0 + 800, NULL), 0);
    assert_int_equal(sidik_spool_mark_refused(sp, 1, 3, "late", T0 + 800), SIDIK_ESTATE);
    assert_int_equal(sidik_spool_get(sp, 1, &e), 0);
    assert_int_equal(e.status, SIDIK_STATUS_RECEIVED);
    assert_int_equal(e.attempts, 0);

    /* A refusal: REJECTED with its reason, never due again. */
    char reason[400];
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    assert_int_equal(sidik_spool_mark_refused(sp, 2, 3, reason, T0 + 900), 0);
    assert_int_equal(sidik_spool_mark_refused(sp, 2, 3, "again", T0 + 950), 0);
    assert_int_equal(sidik_spool_get(sp, 2, &e), 0);
    assert_int_equal(e.status, SIDIK_STATUS_REJECTED);
    assert_int_equal(e.refusal_code, 3);
    assert_int_equal(strlen(e.reason), SIDIK_SPOOL_REASON_MAX);
    assert_false(e.at_centre);
    assert_true(e.body_held);
    r = receipt_for(sp, 2, 50);
    assert_int_equal(sidik_spool_mark_received(sp, 2, &r, T0 + 990), SIDIK_ESTATE);
    assert_int_equal(sidik_spool_mark_refused(sp, 3, 0, "no code", T0), SIDIK_EINVAL);

    /* Status seen from the centre: 3 was received though its receipt was
     * lost; then its path moves on only forwards. */
    assert_int_equal(sidik_spool_set_status(sp, 3, SIDIK_STATUS_ADJUDICATE, T0 + 1000), 0);
    assert_int_equal(sidik_spool_set_status(sp, 3, SIDIK_STATUS_RECEIVED, T0 + 1100), 0);
    assert_int_equal(sidik_spool_get(sp, 3, &e), 0);
    assert_int_equal(e.status, SIDIK_STATUS_ADJUDICATE);
    assert_true(e.at_centre);
    assert_int_equal(e.changed_ms[SIDIK_STATUS_RECEIVED], T0 + 1000);
    assert_int_equal(sidik_spool_set_status(sp, 3, SIDIK_STATUS_PRINT_READY, T0 + 1200), 0);
    assert_int_equal(sidik_spool_set_status(sp, 3, SIDIK_STATUS_ADJUDICATE, T0 + 1300), 0);
    assert_int_equal(sidik_spool_set_status(sp, 3, SIDIK_STATUS_PRINTED, T0 + 1400), 0);
    assert_int_equal(sidik_spool_set_status(sp, 3, SIDIK_STATUS_PRINT_READY, T0 + 1500), 0);
    assert_int_equal(sidik_spool_get(sp, 3, &e), 0);
    assert_int_equal(e.status, SIDIK_STATUS_PRINTED);
    assert_int_equal(e.changed_ms[SIDIK_STATUS_PRINT_READY], T0 + 1200);
    assert_int_equal(e.changed_ms[SIDIK_STATUS_PRINTED], T0 + 1400);
    /* Its receipt arriving after all that fills the receipt in only. */
    r = receipt_for(sp, 3, 60);
    assert_int_equal(sidik_spool_mark_received(sp, 3, &r, T0 + 1600), 0);
    assert_int_equal(sidik_spool_get(sp, 3, &e), 0);
    assert_int_equal(e.status, SIDIK_STATUS_PRINTED);
    assert_int_equal(e.receipt.journal_seq, 60);
    assert_int_equal(sidik_spool_set_status(sp, 3, SIDIK_STATUS_SENT, T0), SIDIK_EINVAL);
    assert_int_equal(sidik_spool_set_status(sp, 9, SIDIK_STATUS_PRINTED, T0), SIDIK_ENOTFOUND);

    /* Only 4 is left to send; the counts follow every change. */
    uint64_t seqs[8];
    size_t n;
    assert_int_equal(sidik_spool_next(sp, T0 + 100000, seqs, 8, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(seqs[0], 4);
    sidik_spool_stats s;
    stats(sp, &s);
    assert_int_equal(s.records, 4);
    assert_int_equal(s.backlog, 1);
    assert_int_equal(s.by_status[SIDIK_STATUS_CAPTURED], 1);
    assert_int_equal(s.by_status[SIDIK_STATUS_RECEIVED], 1);
    assert_int_equal(s.by_status[SIDIK_STATUS_REJECTED], 1);
    assert_int_equal(s.by_status[SIDIK_STATUS_PRINTED], 1);
    assert_int_equal(s.oldest_backlog_ms, T0 + 4);
    sidik_spool_close(sp);
    scratch_remove(dir);
}

static void test_cli_spool_list_pages(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_spool *sp = spool_open_ok(dir, NULL);
    for (uint64_t k = 1; k <= 25; k++)
        put_ok(sp, k, 5);
    for (uint64_t k = 3; k <= 25; k += 3)
        assert_int_equal(sidik_spool_set_status(sp, k, SIDIK_STATUS_PRINT_READY, T0), 0);
    sidik_spool_entry page[4];
    size_t n, seen = 0;
    uint64_t after = 0, last = 0;
    do {
        assert_int_equal(sidik_spool_list(sp, after, 0, page, 4, &n), 0);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(page[i].seq, ++last);
            seen++;
        }
        if (n != 0)
            after = page[n - 1].seq;
    } while (n == 4);
    assert_int_equal(seen, 25);
    after = 0;
    seen = 0;
    do {
        assert_int_equal(sidik_spool_list(sp, after, SIDIK_STATUS_PRINT_READY, page, 4, &n), 0);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(page[i].seq % 3, 0);
            assert_int_equal(page[i].status, SIDIK_STATUS_PRINT_READY);
            seen++;
        }
        if (n != 0)
            after = page[n - 1].seq;
    } while (n == 4);
    assert_int_equal(seen, 8);
    assert_int_equal(sidik_spool_list(sp, 25, 0, page, 4, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sidik_spool_list(sp, 0, (sidik_status)9, page, 4, &n), SIDIK_EINVAL);
    sidik_spool_close(sp);
    scratch_remove(dir);
}

static void test_cli_spool_compact(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_spool *sp = spool_open_ok(dir, NULL);
    for (uint64_t k = 1; k <= 6; k++)
        put_ok(sp, k, 1000);
    sidik_spool_receipt r = receipt_for(sp, 1, 1);
    assert_int_equal(sidik_spool_mark_received(sp, 1, &r, T0 + 1000), 0); /* 1: at the centre */
    assert_int_equal(sidik_spool_set_status(sp, 2, SIDIK_STATUS_DUPLICATE, T0 + 1000),
                     0);                                                       /* 2: ended */
    assert_int_equal(sidik_spool_mark_refused(sp, 3, 3, "bad", T0 + 1000), 0); /* 3: refused */
    assert_int_equal(sidik_spool_set_status(sp, 4, SIDIK_STATUS_PRINT_READY, T0 + 1000), 0);
    /* 5 stays in the backlog; 6 is received and then compacted away with
     * the last sequence, which must not be handed out again. */
    assert_int_equal(sidik_spool_set_status(sp, 6, SIDIK_STATUS_PRINTED, T0 + 1000), 0);

    sidik_spool_policy p = {.body_keep_ms = 5000, .record_keep_ms = 60000};
    sidik_spool_compacted done;
    assert_int_equal(sidik_spool_compact(sp, &p, T0 + 5999, &done), 0);
    assert_int_equal(done.bodies_dropped, 0);
    assert_int_equal(sidik_spool_compact(sp, &p, T0 + 6000, &done), 0);
    assert_int_equal(done.bodies_dropped, 4); /* 1, 2, 4, 6: not 3 (refused), not 5 */
    assert_int_equal(done.records_dropped, 0);
    uint8_t *b;
    size_t n;
    assert_int_equal(sidik_spool_body(sp, 1, &b, &n), SIDIK_ENOTFOUND);
    sidik_spool_entry e;
    assert_int_equal(sidik_spool_get(sp, 1, &e), 0);
    assert_false(e.body_held);
    assert_int_equal(e.receipt.journal_seq, 1);
    body_is(sp, 3, 3, 1000);
    body_is(sp, 5, 5, 1000);

    assert_int_equal(sidik_spool_compact(sp, &p, T0 + 61000, &done), 0);
    assert_int_equal(done.records_dropped, 3); /* 2, 3, 6 ended; 1 and 4 still wait */
    assert_int_equal(done.bodies_dropped, 1);  /* 3's */
    uint64_t seq;
    assert_int_equal(sidik_spool_find(sp, "cap-00000002", &seq), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_spool_get(sp, 6, &e), SIDIK_ENOTFOUND);
    sidik_spool_stats s;
    stats(sp, &s);
    assert_int_equal(s.records, 3);
    assert_int_equal(s.backlog, 1);
    assert_int_equal(s.body_bytes, s.backlog_bytes);
    assert_int_equal(put_ok(sp, 7, 10), 7);

    /* The defaults keep everything a day old. */
    assert_int_equal(sidik_spool_compact(sp, NULL, T0 + 80000, &done), 0);
    assert_int_equal(done.bodies_dropped + done.records_dropped, 0);
    p.body_keep_ms = -1;
    assert_int_equal(sidik_spool_compact(sp, &p, T0, &done), SIDIK_EINVAL);
    sidik_spool_close(sp);
    scratch_remove(dir);
}

/* Compaction of more records than one transaction takes. */
static void test_cli_spool_compact_many(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_spool *sp = spool_open_ok(dir, NULL);
    for (uint64_t k = 1; k <= 300; k++) {
        put_ok(sp, k, 8);
        if (k % 7 != 0)
            assert_int_equal(sidik_spool_set_status(sp, k, SIDIK_STATUS_RECEIVED, T0), 0);
    }
    sidik_spool_policy p = {0, 1};
    sidik_spool_compacted done;
    assert_int_equal(sidik_spool_compact(sp, &p, T0, &done), 0);
    assert_int_equal(done.bodies_dropped, 258); /* two transactions */
    sidik_spool_stats s;
    stats(sp, &s);
    assert_int_equal(s.records, 300);
    assert_int_equal(s.body_bytes, s.backlog_bytes);
    assert_int_equal(s.backlog, 42);
    sidik_spool_close(sp);
    scratch_remove(dir);
}

/* Damage inside the folder is reported, never handed on. */
static void test_cli_spool_damaged(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_spool *sp = spool_open_ok(dir, NULL);
    put_ok(sp, 1, 100);
    put_ok(sp, 2, 100);
    sidik_spool_close(sp);
    uint8_t key[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    size_t n;
    uint8_t *p = capture_make(1, NULL, 100, &n);
    p[n - 1] ^= 0x40;
    raw_lmdb_put(dir, "body", key, 8, p, n);
    free(p);
    key[7] = 2;
    raw_lmdb_put(dir, "rec", key, 8, "short", 5);
    sp = spool_open_ok(dir, NULL);
    uint8_t *b;
    assert_int_equal(sidik_spool_body(sp, 1, &b, &n), SIDIK_ECORRUPT);
    sidik_spool_entry e;
    assert_int_equal(sidik_spool_get(sp, 2, &e), SIDIK_ECORRUPT);
    assert_int_equal(sidik_spool_mark_sent(sp, (uint64_t[]){2}, 1, T0, 1), SIDIK_ECORRUPT);
    sidik_spool_entry page[4];
    assert_int_equal(sidik_spool_list(sp, 0, 0, page, 4, &n), SIDIK_ECORRUPT);
    sidik_spool_close(sp);
    scratch_remove(dir);
}

/* Fail the 1st, 2nd, ... allocation of open, put and body in turn: each
 * fails with SIDIK_ENOMEM and leaves the spool as it was (no record, or
 * the one record), until the three need fewer allocations than allowed. */
static void test_cli_spool_alloc_failures(void **state)
{
    (void)state;
    char *dir = scratch_create();
    size_t n;
    uint8_t *p = capture_make(1, NULL, 3000, &n);
    bool stored = false;
    uint64_t nth;
    for (nth = 1; nth < 1000; nth++) {
        sidik_spool *sp = NULL;
        uint8_t *b = NULL;
        size_t bn;
        uint64_t seq = 0;
        sidik_alloc_fail_nth(nth);
        int rc = sidik_spool_open(dir, NULL, &sp, NULL);
        if (rc == 0)
            rc = sidik_spool_put(sp, p, n, T0, &seq, NULL);
        stored |= rc == 0;
        if (rc == 0)
            rc = sidik_spool_body(sp, 1, &b, &bn);
        bool pending = sidik_alloc_fail_pending();
        sidik_alloc_fail_nth(0);
        sidik_free(b);
        if (rc != 0 && pending)
            fail_msg("nth %llu: %s without an injected fault", (unsigned long long)nth,
                     sidik_err_name(rc));
        if (rc != 0)
            assert_int_equal(rc, SIDIK_ENOMEM);
        else
            assert_false(!pending && "a failed allocation was swallowed");
        if (sp == NULL)
            sp = spool_open_ok(dir, NULL);
        sidik_spool_stats s;
        stats(sp, &s);
        assert_int_equal(s.records, stored ? 1 : 0);
        assert_int_equal(s.next_seq, stored ? 2 : 1);
        sidik_spool_close(sp);
        if (rc == 0)
            break;
    }
    assert_true(nth > 3); /* open, at least one in put's decoding, body */
    free(p);
    scratch_remove(dir);
}

int main(void)
{
    sidik_log_set_fd(open("/dev/null", O_WRONLY));
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_cli_spool_put_read),         SIDIK_TEST(test_cli_spool_put_same_id),
        SIDIK_TEST(test_cli_spool_put_hostile),      SIDIK_TEST(test_cli_spool_put_largest),
        SIDIK_TEST(test_cli_spool_open_hostile),     SIDIK_TEST(test_cli_spool_map_full),
        SIDIK_TEST(test_cli_spool_send_and_backoff), SIDIK_TEST(test_cli_spool_receipts),
        SIDIK_TEST(test_cli_spool_list_pages),       SIDIK_TEST(test_cli_spool_compact),
        SIDIK_TEST(test_cli_spool_compact_many),     SIDIK_TEST(test_cli_spool_damaged),
        SIDIK_TEST(test_cli_spool_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
