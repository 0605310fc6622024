/*
 * The journal (sidik/journal.h): appends, the group-commit thread, waits.
 * Recovery and reading are in journal_recover.c.
 */
#include "journal_int.h"
#include "journal_files.h"
#include "sidik/common.h"
#include "sidik/crc32c.h"
#include "sidik/journal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_SEGMENT_BYTES (256ull << 20)
#define DEFAULT_MAX_PENDING   ((size_t)64 << 20)

/* A growable byte buffer holding one group's entries, ready to write. */
typedef struct group {
    uint8_t *p;
    size_t len, cap;
    uint64_t first_seq, last_seq; /* last_seq < first_seq: empty */
} group;

struct sidik_journal {
    sidik_journal_options o;
    sidik__jfiles files; /* folder, current segment fd and offset */
    sidik__jio *io;

    pthread_mutex_t mu;
    pthread_cond_t work;    /* the thread: something to write, or closing */
    pthread_cond_t durable; /* waiters: the durable point moved or failed */
    pthread_t thread;
    group fill;             /* appends go here (under mu) */
    group flush;            /* the thread's, outside mu */
    uint64_t next_seq;      /* under mu */
    int failed;             /* under mu; sticky */
    bool closing;           /* under mu */
    _Atomic uint64_t durable_seq;

    /* Counters, under mu. */
    uint64_t entries, bytes, groups;
};

static int stop_error(int rc)
{
    /* A full disk is the one the operator can act on without a debugger. */
    return rc == -ENOSPC || rc == -EDQUOT ? SIDIK_EFULL : rc;
}

static int fault(sidik_journal *j, sidik_journal_op op)
{
    return j->o.fault != NULL ? j->o.fault(j->o.fault_ctx, op) : 0;
}

/* Stamps each entry of the group with the durable point its write follows
 * and completes its CRC: the payload's CRC, left in the crc field by
 * append, continued over the header. */
static void group_seal(group *g, uint64_t durable)
{
    for (size_t off = 0; off < g->len;) {
        sidik__entry_header h;
        memcpy(&h, g->p + off, sizeof h);
        h.durable_before = durable;
        h.crc = sidik_crc32c(h.crc, &h, offsetof(sidik__entry_header, crc));
        memcpy(g->p + off, &h, sizeof h);
        off += sidik__entry_span(h.len);
    }
}

/* Writes and syncs the flush group; 0 or the error. */
static int group_write(sidik_journal *j)
{
    group *g = &j->flush;
    group_seal(g, atomic_load_explicit(&j->durable_seq, memory_order_relaxed));
    int rc = fault(j, SIDIK_JOURNAL_OP_WRITE);
    if (rc != 0)
        return rc;
    int sync_fault = fault(j, SIDIK_JOURNAL_OP_SYNC);
    rc = j->io->write(j->io, j->files.fd, g->p, g->len, j->files.offset, sync_fault == 0);
    if (rc != 0)
        return rc;
    if (sync_fault != 0)
        return sync_fault; /* written, never synced: as if fdatasync failed */
    j->files.offset += g->len;
    return 0;
}

static void *journal_thread(void *arg)
{
    sidik_journal *j = arg;
    pthread_mutex_lock(&j->mu);
    for (;;) {
        while (j->fill.len == 0 && !j->closing)
            pthread_cond_wait(&j->work, &j->mu);
        if (j->fill.len == 0 || j->failed != 0)
            break;
        group t = j->flush;
        j->flush = j->fill;
        j->fill = (group){.p = t.p, .cap = t.cap, .first_seq = j->next_seq, .last_seq = j->next_seq - 1};
        pthread_mutex_unlock(&j->mu);

        int rc = group_write(j);
        bool written = rc == 0;
        if (written) {
            atomic_store_explicit(&j->durable_seq, j->flush.last_seq, memory_order_release);
            if (j->o.on_durable != NULL)
                j->o.on_durable(j->o.ctx, j->flush.last_seq);
            /* The group is durable whatever happens to the next segment. */
            if (j->files.offset >= j->o.segment_bytes) {
                rc = fault(j, SIDIK_JOURNAL_OP_CREATE);
                if (rc == 0)
                    rc = sidik__jfiles_roll(&j->files, j->flush.last_seq + 1);
            }
        }
        if (rc != 0)
            SIDIK_LOG_ERROR("journal stopped", "error=%s during=%s first_seq=%llu last_seq=%llu",
                            sidik_err_name(rc), written ? "new_segment" : "group_write",
                            (unsigned long long)j->flush.first_seq,
                            (unsigned long long)j->flush.last_seq);

        pthread_mutex_lock(&j->mu);
        if (written) {
            j->groups++;
            j->bytes += j->flush.len;
        }
        if (rc != 0)
            j->failed = stop_error(rc);
        j->flush.len = 0;
        pthread_cond_broadcast(&j->durable);
        if (j->failed != 0)
            break;
    }
    pthread_cond_broadcast(&j->durable);
    int failed = j->failed;
    pthread_mutex_unlock(&j->mu);
    /* Listeners waiting on the durable point learn that it stopped. */
    if (failed != 0 && j->o.on_durable != NULL)
        j->o.on_durable(j->o.ctx, atomic_load_explicit(&j->durable_seq, memory_order_acquire));
    return NULL;
}

static int io_choose(sidik_journal_backend b, sidik__jio **out, const char **why)
{
    if (b == SIDIK_JOURNAL_SYNC)
        return sidik__jio_sync_create(out);
    int rc = sidik__jio_uring_create(out);
    if (rc == 0)
        return 0;
    if (b == SIDIK_JOURNAL_URING) {
        if (why)
            *why = "io_uring is not available (kernel, seccomp or build)";
        return rc == SIDIK_ENOMEM ? rc : SIDIK_EUNSUPPORTED;
    }
    SIDIK_LOG_WARN("journal falls back to pwrite+fdatasync", "io_uring_error=%s",
                   sidik_err_name(rc));
    return sidik__jio_sync_create(out);
}

int sidik_journal_open(const char *dir, const sidik_journal_options *o, sidik_journal **out,
                       const char **why)
{
    const char *ignore;
    if (why == NULL)
        why = &ignore;
    *why = NULL;
    if (dir == NULL || out == NULL) {
        *why = "no folder or result pointer";
        return SIDIK_EINVAL;
    }
    sidik_journal_options opt = o != NULL ? *o : (sidik_journal_options){0};
    if (opt.backend > SIDIK_JOURNAL_SYNC) {
        *why = "unknown backend";
        return SIDIK_EINVAL;
    }
    if (opt.segment_bytes == 0)
        opt.segment_bytes = DEFAULT_SEGMENT_BYTES;
    if (opt.max_pending_bytes == 0)
        opt.max_pending_bytes = DEFAULT_MAX_PENDING;

    sidik_journal *j = sidik_trycalloc(1, sizeof *j);
    if (j == NULL)
        return SIDIK_ENOMEM;
    j->o = opt;
    uint64_t last_seq;
    int rc = sidik__jfiles_open(&j->files, dir, &last_seq, why);
    if (rc == 0)
        rc = io_choose(opt.backend, &j->io, why);
    if (rc != 0) {
        sidik__jfiles_close(&j->files);
        sidik_free(j);
        return rc;
    }
    j->next_seq = last_seq + 1;
    j->fill = (group){.first_seq = j->next_seq, .last_seq = last_seq};
    atomic_init(&j->durable_seq, last_seq);
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->work, NULL);
    pthread_cond_init(&j->durable, NULL);
    if ((rc = pthread_create(&j->thread, NULL, journal_thread, j)) != 0) {
        j->io->destroy(j->io);
        sidik__jfiles_close(&j->files);
        sidik_free(j);
        return -rc;
    }
    SIDIK_LOG_INFO("journal open", "dir=\"%s\" backend=%s next_seq=%llu segments=%llu cut_bytes=%llu",
                   dir, j->io->name, (unsigned long long)j->next_seq,
                   (unsigned long long)j->files.nsegments, (unsigned long long)j->files.cut_bytes);
    *out = j;
    return 0;
}

int sidik_journal_close(sidik_journal *j)
{
    if (j == NULL)
        return 0;
    pthread_mutex_lock(&j->mu);
    j->closing = true;
    pthread_cond_signal(&j->work);
    pthread_mutex_unlock(&j->mu);
    pthread_join(j->thread, NULL);
    int rc = j->failed;
    j->io->destroy(j->io);
    sidik__jfiles_close(&j->files);
    pthread_cond_destroy(&j->durable);
    pthread_cond_destroy(&j->work);
    pthread_mutex_destroy(&j->mu);
    sidik_free(j->fill.p);
    sidik_free(j->flush.p);
    sidik_free(j);
    return rc;
}

int sidik_journal_append(sidik_journal *j, uint32_t kind, const void *p, size_t n, uint64_t *seq)
{
    if (j == NULL || seq == NULL || (p == NULL && n > 0))
        return SIDIK_EINVAL;
    if (n > SIDIK_JOURNAL_MAX_ENTRY)
        return SIDIK_ETOOBIG;
    /* The payload's CRC outside the lock: appenders checksum in parallel. */
    uint32_t payload_crc = sidik_crc32c(0, p, n);
    size_t span = (size_t)sidik__entry_span(n);

    pthread_mutex_lock(&j->mu);
    int rc = j->failed != 0 ? j->failed : j->closing ? SIDIK_ESHUTDOWN : 0;
    if (rc == 0 && j->fill.len > 0 && j->fill.len + span > j->o.max_pending_bytes)
        rc = SIDIK_EBUSY;
    if (rc == 0 && j->fill.len + span > j->fill.cap) {
        size_t cap = j->fill.cap ? j->fill.cap : 1 << 16;
        while (cap < j->fill.len + span)
            cap *= 2;
        uint8_t *np = sidik_tryrealloc(j->fill.p, cap);
        if (np == NULL) {
            rc = SIDIK_ENOMEM;
        } else {
            j->fill.p = np;
            j->fill.cap = cap;
        }
    }
    if (rc != 0) {
        pthread_mutex_unlock(&j->mu);
        return rc;
    }
    sidik__entry_header h = {.magic = SIDIK__ENTRY_MAGIC, .len = (uint32_t)n, .seq = j->next_seq,
                             .kind = kind, .crc = payload_crc};
    uint8_t *dst = j->fill.p + j->fill.len;
    memcpy(dst, &h, sizeof h);
    if (n > 0)
        memcpy(dst + sizeof h, p, n);
    memset(dst + sizeof h + n, 0, span - sizeof h - n);
    j->fill.len += span;
    j->fill.last_seq = j->next_seq;
    *seq = j->next_seq++;
    j->entries++;
    pthread_cond_signal(&j->work);
    pthread_mutex_unlock(&j->mu);
    return 0;
}

uint64_t sidik_journal_durable(const sidik_journal *j)
{
    return atomic_load_explicit(&((sidik_journal *)j)->durable_seq, memory_order_acquire);
}

uint64_t sidik_journal_next(const sidik_journal *j)
{
    sidik_journal *m = (sidik_journal *)j;
    pthread_mutex_lock(&m->mu);
    uint64_t n = m->next_seq;
    pthread_mutex_unlock(&m->mu);
    return n;
}

int sidik_journal_wait(sidik_journal *j, uint64_t seq)
{
    pthread_mutex_lock(&j->mu);
    int rc = 0;
    while (sidik_journal_durable(j) < seq) {
        if (j->failed != 0 || seq >= j->next_seq) {
            rc = j->failed != 0 ? j->failed : SIDIK_EINVAL; /* never appended */
            break;
        }
        pthread_cond_wait(&j->durable, &j->mu);
    }
    pthread_mutex_unlock(&j->mu);
    return rc;
}

int sidik_journal_status(const sidik_journal *j)
{
    sidik_journal *m = (sidik_journal *)j;
    pthread_mutex_lock(&m->mu);
    int rc = m->failed;
    pthread_mutex_unlock(&m->mu);
    return rc;
}

void sidik_journal_get_stats(sidik_journal *j, sidik_journal_stats *out)
{
    pthread_mutex_lock(&j->mu);
    *out = (sidik_journal_stats){.entries = j->entries, .bytes = j->bytes, .groups = j->groups,
                                 .cut_bytes = j->files.cut_bytes, .backend = j->io->name};
    pthread_mutex_unlock(&j->mu);
    out->segments = sidik__jfiles_count(&j->files);
}

int sidik_journal_scan(sidik_journal *j, uint64_t from,
                       int (*fn)(void *ctx, uint64_t seq, uint32_t kind, const void *p, size_t n),
                       void *ctx)
{
    if (j == NULL || fn == NULL)
        return SIDIK_EINVAL;
    return sidik__jfiles_scan(&j->files, from, sidik_journal_durable(j), fn, ctx);
}
