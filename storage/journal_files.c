/*
 * The journal's segment files: naming, creation, recovery and reading.
 *
 * Only the last segment is walked at open: it is the only one a crash can
 * have torn, because a segment is started only after the one before it was
 * synced whole. Earlier segments have their headers checked at open and
 * every entry verified when they are scanned. This keeps start-up time
 * independent of the journal's size (the journal keeps every upload,
 * attachments included, so it grows to terabytes).
 */
#include "journal_files.h"
#include "journal_int.h"
#include "sidik/common.h"
#include "sidik/crc32c.h"
#include "sidik/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_LEN 21 /* 16 hex digits + ".seg" + NUL */

static void seg_name(char out[NAME_LEN], uint64_t first)
{
    snprintf(out, NAME_LEN, "%016" PRIx64 ".seg", first);
}

/* A segment file's name: exactly 16 lowercase hex digits then ".seg". */
static int parse_name(const char *s, uint64_t *first)
{
    if (strlen(s) != 20 || strcmp(s + 16, ".seg") != 0)
        return -1;
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = v << 4 | (uint64_t)d;
    }
    *first = v;
    return v == 0 ? -1 : 0;
}

bool sidik__entry_valid(const uint8_t *p, uint64_t avail)
{
    sidik__entry_header h;
    if (avail < sizeof h)
        return false;
    memcpy(&h, p, sizeof h);
    if (h.magic != SIDIK__ENTRY_MAGIC || h.len > SIDIK_JOURNAL_MAX_ENTRY ||
        sidik__entry_span(h.len) > avail || h.durable_before >= h.seq)
        return false;
    uint32_t crc = sidik_crc32c(0, p + sizeof h, h.len);
    return sidik_crc32c(crc, &h, offsetof(sidik__entry_header, crc)) == h.crc;
}

static int list_add(sidik__jfiles *f, uint64_t first)
{
    pthread_mutex_lock(&f->mu);
    int rc = 0;
    uint64_t *grown = sidik_trygrow(f->first, &f->cap, f->nsegments, sizeof *grown, 16);
    if (grown == NULL)
        rc = SIDIK_ENOMEM;
    else
        f->first = grown;
    if (rc == 0)
        f->first[f->nsegments++] = first;
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static int sync_fd(int fd)
{
    while (fsync(fd) != 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

/* Writes a new segment holding only its header, as journal_files.h says. */
static int seg_create(sidik__jfiles *f, uint64_t first, int *fd_out)
{
    char name[NAME_LEN], tmp[NAME_LEN + 4];
    seg_name(name, first);
    snprintf(tmp, sizeof tmp, "%s.tmp", name);
    sidik__seg_header h = {.version = SIDIK__SEG_VERSION,
                           .header_bytes = sizeof h,
                           .first_seq = first};
    memcpy(h.magic, SIDIK__SEG_MAGIC, sizeof h.magic);
    h.crc = sidik_crc32c(0, &h, offsetof(sidik__seg_header, crc));

    int fd = openat(f->dirfd, tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    int rc = 0;
    ssize_t w = pwrite(fd, &h, sizeof h, 0);
    if (w != (ssize_t)sizeof h)
        rc = w < 0 ? -errno : -EIO;
    if (rc == 0)
        rc = sync_fd(fd);
    if (rc == 0 && renameat(f->dirfd, tmp, f->dirfd, name) != 0)
        rc = -errno;
    if (rc == 0)
        rc = sync_fd(f->dirfd);
    if (rc != 0) {
        close(fd);
        unlinkat(f->dirfd, tmp, 0);
        return rc;
    }
    *fd_out = fd;
    return 0;
}

int sidik__jfiles_roll(sidik__jfiles *f, uint64_t first_seq)
{
    int fd;
    int rc = seg_create(f, first_seq, &fd);
    if (rc == 0 && (rc = list_add(f, first_seq)) != 0)
        close(fd);
    if (rc != 0)
        return rc;
    close(f->fd);
    f->fd = fd;
    f->offset = sizeof(sidik__seg_header);
    return 0;
}

/* Checks a segment's header against the first sequence its name gives. */
static int header_check(const uint8_t *p, uint64_t size, uint64_t first, const char **why)
{
    sidik__seg_header h;
    if (size < sizeof h) {
        *why = "segment shorter than its header";
        return SIDIK_ECORRUPT;
    }
    memcpy(&h, p, sizeof h);
    if (memcmp(h.magic, SIDIK__SEG_MAGIC, sizeof h.magic) != 0) {
        *why = "segment file without the journal's magic";
        return SIDIK_ECORRUPT;
    }
    if (h.crc != sidik_crc32c(0, &h, offsetof(sidik__seg_header, crc))) {
        *why = "segment header fails its CRC";
        return SIDIK_ECORRUPT;
    }
    if (h.version != SIDIK__SEG_VERSION || h.header_bytes != sizeof h) {
        *why = "segment written by another journal format version";
        return SIDIK_EVERSION;
    }
    if (h.first_seq != first) {
        *why = "segment header disagrees with its file name";
        return SIDIK_ECORRUPT;
    }
    return 0;
}

static int header_read(sidik__jfiles *f, uint64_t first, const char **why)
{
    char name[NAME_LEN];
    seg_name(name, first);
    int fd = openat(f->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    uint8_t buf[sizeof(sidik__seg_header)];
    ssize_t r = pread(fd, buf, sizeof buf, 0);
    int rc = r < 0 ? -errno : header_check(buf, (uint64_t)r, first, why);
    close(fd);
    return rc;
}

/* Opens segment first with flags and maps it read-only (*p NULL when
 * empty); the caller closes *fd and unmaps. */
static int seg_map(sidik__jfiles *f, uint64_t first, int flags, int *fd, const uint8_t **p,
                   uint64_t *size)
{
    char name[NAME_LEN];
    seg_name(name, first);
    *p = NULL;
    *fd = openat(f->dirfd, name, flags | O_CLOEXEC);
    if (*fd < 0)
        return -errno;
    struct stat st;
    int rc = fstat(*fd, &st) != 0 ? -errno : 0;
    *size = rc == 0 ? (uint64_t)st.st_size : 0;
    if (rc == 0 && *size > 0) {
        void *m = mmap(NULL, *size, PROT_READ, MAP_SHARED, *fd, 0);
        if (m == MAP_FAILED)
            rc = -errno;
        else
            *p = m;
    }
    if (rc != 0)
        close(*fd);
    return rc;
}

/* Walks the last segment, cuts a torn tail, leaves it open for appends. */
static int recover_last(sidik__jfiles *f, uint64_t first, uint64_t *last_seq, const char **why)
{
    char name[NAME_LEN];
    seg_name(name, first);
    int fd;
    const uint8_t *p;
    uint64_t size;
    int rc = seg_map(f, first, O_RDWR, &fd, &p, &size);
    if (rc != 0)
        return rc;
    rc = header_check(p, size, first, why);
    uint64_t off = sizeof(sidik__seg_header), last = first - 1;
    while (rc == 0 && off < size) {
        sidik__entry_header h;
        if (!sidik__entry_valid(p + off, size - off))
            break;
        memcpy(&h, p + off, sizeof h);
        if (h.seq != last + 1)
            break;
        last = h.seq;
        off += sidik__entry_span(h.len);
    }
    /* Past the first bad entry: a later valid entry written after the bad
     * one was durable proves the damage hit acknowledged data. */
    for (uint64_t o = off + SIDIK__ENTRY_ALIGN; rc == 0 && off < size && o < size;) {
        sidik__entry_header h;
        if (!sidik__entry_valid(p + o, size - o)) {
            o += SIDIK__ENTRY_ALIGN;
            continue;
        }
        memcpy(&h, p + o, sizeof h);
        if (h.seq > last && h.durable_before > last) {
            *why = "entry damaged after it was durable";
            SIDIK_LOG_ERROR("journal damaged", "segment=%s offset=%llu seq=%llu", name,
                            (unsigned long long)off, (unsigned long long)(last + 1));
            rc = SIDIK_ECORRUPT;
        }
        o += sidik__entry_span(h.len);
    }
    if (p != NULL)
        munmap((void *)p, size);
    if (rc == 0 && off < size) {
        SIDIK_LOG_WARN("journal tail cut", "segment=%s offset=%llu bytes=%llu last_seq=%llu", name,
                       (unsigned long long)off, (unsigned long long)(size - off),
                       (unsigned long long)last);
        if (ftruncate(fd, (off_t)off) != 0)
            rc = -errno;
        if (rc == 0)
            rc = sync_fd(fd);
        f->cut_bytes = size - off;
    }
    if (rc != 0) {
        close(fd);
        return rc;
    }
    f->fd = fd;
    f->offset = off;
    *last_seq = last;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Lists the segments (sorted) and removes interrupted creations. */
static int list_dir(sidik__jfiles *f)
{
    int fd = dup(f->dirfd);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return -errno;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        uint64_t first;
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".tmp") == 0) {
            SIDIK_LOG_WARN("journal removes an unfinished segment", "file=%s", e->d_name);
            if (unlinkat(f->dirfd, e->d_name, 0) != 0)
                rc = -errno;
        } else if (parse_name(e->d_name, &first) == 0) {
            rc = list_add(f, first);
        }
    }
    closedir(d);
    if (rc == 0 && f->nsegments > 1)
        qsort(f->first, f->nsegments, sizeof *f->first, cmp_u64);
    return rc;
}

int sidik__jfiles_open(sidik__jfiles *f, const char *dir, uint64_t *last_seq, const char **why)
{
    *f = (sidik__jfiles){.dirfd = -1, .fd = -1};
    pthread_mutex_init(&f->mu, NULL);
    f->dir = sidik_trystrdup(dir);
    if (f->dir == NULL)
        return SIDIK_ENOMEM;
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        *why = "cannot create the journal folder";
        return -errno;
    }
    f->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (f->dirfd < 0) {
        *why = "cannot open the journal folder";
        return -errno;
    }
    int rc = list_dir(f);
    if (rc != 0)
        return rc;
    if (f->nsegments == 0) {
        *last_seq = 0;
        rc = seg_create(f, 1, &f->fd);
        if (rc == 0)
            rc = list_add(f, 1);
        f->offset = sizeof(sidik__seg_header);
        return rc;
    }
    for (size_t i = 0; rc == 0 && i + 1 < f->nsegments; i++)
        rc = header_read(f, f->first[i], why);
    if (rc == 0)
        rc = recover_last(f, f->first[f->nsegments - 1], last_seq, why);
    return rc;
}

void sidik__jfiles_close(sidik__jfiles *f)
{
    if (f->fd >= 0)
        close(f->fd);
    if (f->dirfd >= 0)
        close(f->dirfd);
    sidik_free(f->first);
    sidik_free(f->dir);
    pthread_mutex_destroy(&f->mu);
    *f = (sidik__jfiles){.dirfd = -1, .fd = -1};
}

size_t sidik__jfiles_count(sidik__jfiles *f)
{
    pthread_mutex_lock(&f->mu);
    size_t n = f->nsegments;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* Reads one segment's entries in [from, upto]; *expect is the sequence the
 * next entry must carry, and passes upto once all are read. */
static int scan_segment(sidik__jfiles *f, uint64_t first, uint64_t from, uint64_t upto,
                        uint64_t *expect,
                        int (*fn)(void *, uint64_t, uint32_t, const void *, size_t), void *ctx)
{
    char name[NAME_LEN];
    seg_name(name, first);
    int fd;
    const uint8_t *p;
    uint64_t size;
    int rc = seg_map(f, first, O_RDONLY, &fd, &p, &size);
    if (rc != 0)
        return rc;
    close(fd);
    const char *why;
    if (rc == 0)
        rc = header_check(p, size, first, &why);
    if (rc == 0 && first != *expect)
        rc = SIDIK_ECORRUPT; /* a gap or overlap between segments */
    uint64_t off = sizeof(sidik__seg_header);
    while (rc == 0 && *expect <= upto && off < size) {
        sidik__entry_header h;
        memcpy(&h, p + off, sizeof h < size - off ? sizeof h : size - off);
        /* Entries below from are skipped on their headers alone. */
        bool ok = h.seq < from ? size - off >= sizeof h && h.magic == SIDIK__ENTRY_MAGIC &&
                                     sidik__entry_span(h.len) <= size - off
                               : sidik__entry_valid(p + off, size - off);
        if (!ok || h.seq != *expect) {
            SIDIK_LOG_ERROR("journal damaged", "segment=%s offset=%llu seq=%llu", name,
                            (unsigned long long)off, (unsigned long long)*expect);
            rc = SIDIK_ECORRUPT;
            break;
        }
        if (h.seq >= from)
            rc = fn(ctx, h.seq, h.kind, p + off + sizeof h, h.len);
        (*expect)++;
        off += sidik__entry_span(h.len);
    }
    if (p != NULL)
        munmap((void *)p, size);
    return rc;
}

int sidik__jfiles_scan(sidik__jfiles *f, uint64_t from, uint64_t upto,
                       int (*fn)(void *ctx, uint64_t seq, uint32_t kind, const void *p, size_t n),
                       void *ctx)
{
    if (from == 0)
        from = 1;
    if (from > upto)
        return 0;
    pthread_mutex_lock(&f->mu);
    size_t n = f->nsegments;
    uint64_t *first = sidik_trymalloc(n * sizeof *first);
    if (first != NULL)
        memcpy(first, f->first, n * sizeof *first);
    pthread_mutex_unlock(&f->mu);
    if (first == NULL)
        return SIDIK_ENOMEM;
    size_t i = 0;
    while (i + 1 < n && first[i + 1] <= from)
        i++;
    uint64_t expect = first[i];
    int rc = 0;
    for (; rc == 0 && i < n && expect <= upto; i++)
        rc = scan_segment(f, first[i], from, upto, &expect, fn, ctx);
    sidik_free(first);
    if (rc == 0 && expect <= upto)
        rc = SIDIK_ECORRUPT; /* durable entries missing from the files */
    return rc;
}
