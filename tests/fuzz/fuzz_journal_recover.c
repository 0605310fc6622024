/*
 * Fuzz target: the journal's recovery (sidik_journal_open) of a folder whose
 * only segment, 0000000000000001.seg, holds arbitrary bytes: a torn tail, a
 * flipped bit, a lying length, a stray header. The seeds are segments the
 * journal wrote itself, so mutations stay near the real layout.
 *
 * Beyond "no crash, no sanitizer report", it checks the contract against
 * its own reading of the layout in storage/README.md:
 *  - open answers 0, SIDIK_ECORRUPT or SIDIK_EVERSION (with a why), nothing
 *    else; EVERSION only for a header whose magic and CRC hold;
 *  - it refuses (SIDIK_ECORRUPT) exactly when a valid entry past the first
 *    bad one was written after the bad one was durable (acknowledged data
 *    damaged), and otherwise opens;
 *  - when it opens, what it recovered is exactly the longest run of valid
 *    entries after the header (magic, length, CRC32C, durable point before
 *    the entry, sequence one more than the last): same sequence numbers,
 *    kinds and payload bytes, and nothing past it, so no damaged byte is
 *    ever trusted and no valid prefix lost;
 *  - recovery is stable: an entry appended after it and made durable is
 *    there, with everything recovered before, when the folder is opened
 *    again, and that second open cuts nothing.
 * Any breach aborts, which libFuzzer reports as a crash with the input saved.
 */
#include "fuzz.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sidik/crc32c.h"
#include "sidik/err.h"
#include "sidik/journal.h"
#include "sidik/log.h"

#define SEGMENT     "0000000000000001.seg"
#define HEADER      32
#define ENTRY       32
#define MAX_ENTRIES 4096

static void breach(const char *what, int rc)
{
    fprintf(stderr, "fuzz_journal_recover: %s (%s)\n", what, sidik_err_name(rc));
    abort();
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* One entry as the README lays it out: where its payload lies in the input. */
typedef struct entry {
    uint64_t seq;
    uint32_t kind;
    size_t off, len;
} entry;

/* The header's verdict: 0, SIDIK_ECORRUPT or SIDIK_EVERSION, as the README
 * orders the checks (magic and CRC first: only a header that is whole can
 * say it is of another version). */
static int header_verdict(const uint8_t *p, size_t n)
{
    if (n < HEADER || memcmp(p, "SIDIKJNL", 8) != 0 || le32(p + 28) != sidik_crc32c(0, p, 28))
        return SIDIK_ECORRUPT;
    if (le32(p + 8) != 1 || le32(p + 12) != HEADER)
        return SIDIK_EVERSION;
    return le64(p + 16) == 1 ? 0 : SIDIK_ECORRUPT;
}

/* Whether an entry starts at p (n bytes left): magic, length, room, a
 * durable point before its own sequence number, CRC32C. *span gets its
 * size with padding. */
static bool entry_valid(const uint8_t *p, size_t n, size_t *span)
{
    if (n < ENTRY)
        return false;
    uint32_t len = le32(p + 4);
    if (le32(p) != 0x314e4a53u || len > SIDIK_JOURNAL_MAX_ENTRY)
        return false;
    *span = ENTRY + ((len + 7u) & ~(size_t)7);
    if (*span > n || le64(p + 16) >= le64(p + 8))
        return false;
    return sidik_crc32c(sidik_crc32c(0, p + ENTRY, len), p, 28) == le32(p + 28);
}

/* The longest run of valid entries after the header, each one more than the
 * last; returns its count (at most max) and sets *end just past it. */
static size_t valid_prefix(const uint8_t *p, size_t n, entry *out, size_t max, size_t *end)
{
    size_t off = HEADER, count = 0, span;
    uint64_t last = 0;
    while (count < max && entry_valid(p + off, n - off, &span) && le64(p + off + 8) == last + 1) {
        last = le64(p + off + 8);
        out[count++] = (entry){last, le32(p + off + 24), off + ENTRY, le32(p + off + 4)};
        off += span;
    }
    *end = off;
    return count;
}

/* Whether the bytes past the valid prefix (from end, the last good sequence
 * number last) hold a valid entry written after the first bad one was
 * durable: damage to acknowledged data, which must be refused, not cut.
 * Candidates are looked for at every 8-byte step; a valid one is stepped
 * over whole. */
static bool damaged_durable(const uint8_t *p, size_t n, size_t end, uint64_t last)
{
    if (end >= n)
        return false;
    for (size_t o = end + 8, span; o < n;) {
        if (!entry_valid(p + o, n - o, &span)) {
            o += 8;
            continue;
        }
        if (le64(p + o + 8) > last && le64(p + o + 16) > last)
            return true;
        o += span;
    }
    return false;
}

typedef struct seen {
    const uint8_t *input;
    const entry *want;
    size_t nwant, got;
    uint64_t extra_seq; /* the entry appended after recovery, or 0 */
} seen;

static const uint8_t appended[] = "appended after recovery";

static int check_entry(void *ctx, uint64_t seq, uint32_t kind, const void *p, size_t n)
{
    seen *s = ctx;
    if (s->got < s->nwant) {
        const entry *e = &s->want[s->got];
        if (seq != e->seq || kind != e->kind || n != e->len ||
            (n > 0 && memcmp(p, s->input + e->off, n) != 0))
            breach("a recovered entry differs from the valid prefix", 0);
    } else if (s->extra_seq == 0 || s->got > s->nwant || seq != s->extra_seq || kind != 7 ||
               n != sizeof appended || memcmp(p, appended, n) != 0) {
        breach("an entry past the valid prefix was recovered", 0);
    }
    s->got++;
    return 0;
}

static char dir[64];

/* The folder exists only while an input runs, so nothing is left behind
 * however the run ends (libFuzzer's time limit skips atexit handlers). */
static void folder_create(void)
{
    if (dir[0] == 0) {
        /* tmpfs where there is one: fdatasync costs nothing there. */
        snprintf(dir, sizeof dir, "%s/sidik-fuzz-journal-XXXXXX",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (mkdtemp(dir) == NULL)
            breach("mkdtemp", -1);
        sidik_log_set_fd(open("/dev/null", O_WRONLY | O_CLOEXEC));
    } else if (mkdir(dir, 0700) != 0) {
        breach("mkdir", -1);
    }
}

static void folder_remove(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, SEGMENT);
    unlink(path);
    rmdir(dir);
}

static sidik_journal *open_checked(int *rc_out)
{
    sidik_journal_options o = {.backend = SIDIK_JOURNAL_SYNC};
    sidik_journal *j = NULL;
    const char *why = NULL;
    int rc = sidik_journal_open(dir, &o, &j, &why);
    if (rc != 0 && rc != SIDIK_ECORRUPT && rc != SIDIK_EVERSION)
        breach("open answered a code it does not document for damage", rc);
    if (rc != 0 && why == NULL)
        breach("a refusal without a why", rc);
    *rc_out = rc;
    return j;
}

/* Opens the folder holding data as its segment and checks what comes of it. */
static void check(const uint8_t *data, size_t size)
{
    static entry want[MAX_ENTRIES];
    int header = header_verdict(data, size);
    size_t end = HEADER,
           nwant = header == 0 ? valid_prefix(data, size, want, MAX_ENTRIES, &end) : 0;
    if (nwant == MAX_ENTRIES)
        return; /* beyond what this harness keeps track of */

    int rc;
    sidik_journal *j = open_checked(&rc);
    if (header != 0) {
        if (rc != header)
            breach("the header's damage was not reported as such", rc);
        return;
    }
    bool refuse = damaged_durable(data, size, end, nwant ? want[nwant - 1].seq : 0);
    if (refuse != (rc == SIDIK_ECORRUPT))
        breach(refuse ? "acknowledged data damaged, and the damage cut instead of refused"
                      : "a torn tail or a whole segment refused as damaged",
               rc);
    if (rc != 0) {
        if (rc != SIDIK_ECORRUPT)
            breach("a valid header refused", rc);
        return;
    }

    sidik_journal_stats st;
    sidik_journal_get_stats(j, &st);
    if (st.cut_bytes != size - end)
        breach("the cut does not end the valid prefix", 0);
    uint64_t next = nwant ? want[nwant - 1].seq + 1 : 1;
    if (sidik_journal_durable(j) != next - 1 || sidik_journal_next(j) != next)
        breach("recovered sequence numbers disagree with the valid prefix", 0);
    seen s = {data, want, nwant, 0, 0};
    if ((rc = sidik_journal_scan(j, 1, check_entry, &s)) != 0 || s.got != nwant)
        breach("the recovered entries are not the valid prefix", rc);

    uint64_t seq;
    if ((rc = sidik_journal_append(j, 7, appended, sizeof appended, &seq)) != 0 || seq != next)
        breach("append after recovery", rc);
    if ((rc = sidik_journal_wait(j, seq)) != 0 || (rc = sidik_journal_close(j)) != 0)
        breach("durable append after recovery", rc);

    j = open_checked(&rc);
    if (rc != 0)
        breach("a recovered journal does not open again", rc);
    sidik_journal_get_stats(j, &st);
    if (st.cut_bytes != 0)
        breach("the second open cut what the first kept", 0);
    s = (seen){data, want, nwant, 0, seq};
    if ((rc = sidik_journal_scan(j, 1, check_entry, &s)) != 0 || s.got != nwant + 1)
        breach("recovered entries or the appended one lost on reopening", rc);
    if ((rc = sidik_journal_close(j)) != 0)
        breach("close", rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    folder_create();
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, SEGMENT);
    FILE *f = fopen(path, "wb");
    if (f == NULL || (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        breach("writing the segment", -1);
    check(data, size);
    folder_remove();
    return 0;
}
