/*
 * Draining the spool (upload.h): one uploader per spool, connections made
 * and remade with backoff, streams run on them (upload_stream.c), the
 * progress bar, and the decisions asked for at the end.
 */
#include "upload_int.h"

#include "cli.h"
#include "client_call.h"
#include "sidik/common.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_BACKOFF_BASE_MS 1000
/* An idle connection is closed after this; sidikd's own idle timeout is
 * longer (5 min), but a station that has nothing to send holds nothing. */
#define IDLE_CLOSE_NS (60ll * 1000000000)
/* While running on, decisions are asked for at most this often. */
#define REFRESH_EVERY_NS (30ll * 1000000000)

/* ---- one uploader per spool ------------------------------------------------------ */

/* An flock on DIR/uploader.lock, held for the run (the kernel drops it
 * when the process dies, however it dies). Holding it, this process knows
 * no other uploader is sending from this spool, so what is SENT and leased
 * was left by one that is gone. */
static int lock_spool(const char *dir, const sidik_upload_options *o, int *fd_out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/uploader.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(o->err, "sidik %s: cannot open %s: %s\n", o->cmd, path, strerror(errno));
        return SIDIK_CLI_EXIT_FAIL;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        fprintf(o->err,
                "sidik %s: another uploader (pid %s) is sending from the spool %s; one at a "
                "time: stop it first, or let it run ('sidik upload status' shows progress)\n",
                o->cmd, pid[0] ? pid : "?", dir);
        close(fd);
        return SIDIK_CLI_EXIT_USAGE;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        /* Only the pid in messages depends on it. */
    }
    *fd_out = fd;
    return 0;
}

/* Makes the captures a killed uploader left SENT and leased due now (the
 * lock says it is gone); their attempts are not counted as failed. */
static int reclaim(up_run *run)
{
    sidik_spool_entry page[128];
    uint64_t seqs[128], after = 0;
    int64_t now = sidik__upload_now_ms();
    for (;;) {
        size_t n = 0, k = 0;
        int rc = sidik_spool_list(run->sp, after, SIDIK_STATUS_SENT, page, 128, &n);
        if (rc != 0)
            return rc;
        for (size_t i = 0; i < n; i++)
            if (page[i].next_attempt_ms > now)
                seqs[k++] = page[i].seq;
        if (k > 0 && (rc = sidik_spool_mark_sent(run->sp, seqs, k, now, 0)) != 0)
            return rc;
        if (n < 128)
            return 0;
        after = page[n - 1].seq;
    }
}

/* ---- waiting --------------------------------------------------------------------- */

static bool stopping(const up_run *run)
{
    return run->o->stop != NULL && *run->o->stop;
}

/* Sleeps ms, in steps so a stop is seen within 100 ms. */
static void nap(const up_run *run, int64_t ms)
{
    int64_t until = sidik__upload_mono_ns() + ms * 1000000;
    while (!stopping(run)) {
        int64_t left = until - sidik__upload_mono_ns();
        if (left <= 0)
            return;
        struct timespec ts = {0, left > 100000000 ? 100000000 : left};
        nanosleep(&ts, NULL);
    }
}

static uint64_t rand64(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
        v = (uint64_t)sidik__upload_mono_ns() * 0x9e3779b97f4a7c15ull;
    return v;
}

/* The wait before connect attempt `failures` (1, 2, ...): uniform in
 * [0, min(cap, base * 2^(failures-1))], the same full jitter as the
 * spool's retries, so offices whose link returns together do not connect
 * in step. */
static int64_t connect_backoff(int64_t cap, uint64_t failures)
{
    uint64_t e = failures > 0 ? failures - 1 : 0;
    uint64_t w = e >= 40 ? (uint64_t)cap : (uint64_t)CONNECT_BACKOFF_BASE_MS << e;
    if (w > (uint64_t)cap)
        w = (uint64_t)cap;
    return (int64_t)(rand64() % (w + 1));
}

/* ---- progress --------------------------------------------------------------------- */

void sidik__upload_progress(up_run *run)
{
    int64_t t = sidik__upload_mono_ns();
    if (t - run->stats_ns > 1000000000) {
        /* The total is what was answered plus the backlog, both as they
         * stood at the same moment: an answer moves one from the second
         * to the first, so the total only grows with new captures. */
        sidik_spool_stats st;
        if (sidik_spool_stats_get(run->sp, &st) == 0) {
            run->backlog = st.backlog;
            run->total = run->answered + st.backlog;
        }
        run->stats_ns = t;
    }
    sidik_progress_update(&run->bar, run->answered, run->total);
}

/* What is due now: n (up to 1 is enough to know) and the earliest later. */
static int due(up_run *run, size_t *n, int64_t *next_ms, uint64_t *backlog)
{
    uint64_t seq;
    int rc = sidik_spool_next(run->sp, sidik__upload_now_ms(), &seq, 1, n, next_ms);
    sidik_spool_stats st;
    if (rc == 0 && (rc = sidik_spool_stats_get(run->sp, &st)) == 0) {
        *backlog = st.backlog;
        run->backlog = st.backlog;
        run->total = run->answered + st.backlog;
    }
    if (rc != 0) {
        fprintf(run->o->err, "sidik %s: cannot read the spool: %s\n", run->o->cmd,
                sidik_strerror(rc));
        run->fatal = SIDIK_CLI_EXIT_FAIL;
    }
    return rc;
}

static bool undecided(sidik_spool *sp)
{
    sidik_spool_stats st;
    return sidik_spool_stats_get(sp, &st) == 0 &&
           st.by_status[SIDIK_STATUS_RECEIVED] + st.by_status[SIDIK_STATUS_ADJUDICATE] > 0;
}

/* ---- connecting ------------------------------------------------------------------- */

/* A connection in run->c, or the reason there is none: 0 connected,
 * UP_LOST (retry later), UP_FATAL (run->fatal set). */
static int connect_once(up_run *run, const sidik_client_settings *s, bool quiet)
{
    char why[1024];
    int rc = sidik_rpc_connect(s, &run->c, why, sizeof why);
    if (rc != 0) {
        run->c = NULL;
        run->t->connect_failures++;
        int code = sidik_cli_connect_exit_code(rc);
        if (!quiet || code != SIDIK_CLI_EXIT_UNREACHABLE || run->o->once)
            fprintf(run->o->err, "sidik %s: %s\n", run->o->cmd, why);
        if (code != SIDIK_CLI_EXIT_UNREACHABLE || run->o->once) {
            run->fatal = code;
            return UP_FATAL;
        }
        return UP_LOST;
    }
    run->t->connections++;
    if (strcmp(sidik_rpc_role(run->c), "office") != 0) {
        fprintf(run->o->err,
                "sidik %s: this certificate is %s '%s'; uploading needs an office certificate "
                "(--cert, --key)\n",
                run->o->cmd, sidik_rpc_role(run->c)[0] ? sidik_rpc_role(run->c) : "(no role)",
                sidik_rpc_name(run->c));
        sidik_rpc_close(run->c);
        run->c = NULL;
        run->fatal = SIDIK_CLI_EXIT_DENIED;
        return UP_FATAL;
    }
    return 0;
}

static void disconnect(up_run *run)
{
    sidik_rpc_close(run->c);
    run->c = NULL;
}

/* ---- the run ------------------------------------------------------------------------ */

static int drain(up_run *run, const sidik_client_settings *s)
{
    uint64_t failures = 0;
    int64_t idle_since = 0, refreshed_ns = 0;
    bool told_down = false;
    while (!stopping(run) && !run->fatal) {
        if (run->nitems == 0) {
            size_t n;
            int64_t next_ms;
            uint64_t backlog;
            if (due(run, &n, &next_ms, &backlog) != 0)
                break;
            if (n == 0) {
                if (backlog == 0 && run->o->once)
                    break;
                /* Nothing due: the backlog waits for its retry times, or
                 * new captures. Meanwhile decisions may be asked for, and
                 * a connection idle too long is let go. */
                int64_t t = sidik__upload_mono_ns();
                if (idle_since == 0)
                    idle_since = t;
                if (run->c != NULL && !run->o->once && t - refreshed_ns > REFRESH_EVERY_NS &&
                    undecided(run->sp)) {
                    uint64_t moved = 0;
                    if (sidik_upload_refresh(run->sp, run->c, run->o->cmd, run->o->err, &moved) ==
                        SIDIK_CLI_EXIT_UNREACHABLE)
                        disconnect(run);
                    run->t->refreshed += moved;
                    refreshed_ns = t;
                }
                if (run->c != NULL && t - idle_since > IDLE_CLOSE_NS)
                    disconnect(run);
                int64_t wait = 1000;
                if (next_ms != 0 && next_ms - sidik__upload_now_ms() < wait)
                    wait = next_ms - sidik__upload_now_ms();
                sidik__upload_progress(run);
                nap(run, wait > 10 ? wait : 10);
                continue;
            }
        }
        idle_since = 0;
        if (run->c == NULL) {
            int rc = connect_once(run, s, told_down);
            if (rc == UP_FATAL)
                break;
            if (rc == UP_LOST) {
                failures++;
                int64_t wait = connect_backoff(run->o->retry_cap_ms, failures);
                if (!told_down)
                    fprintf(run->o->err,
                            "sidik %s: the server cannot be reached; captures stay in the spool "
                            "and go when it can (retrying with backoff up to %" PRId64 " s)\n",
                            run->o->cmd, run->o->retry_cap_ms / 1000);
                told_down = true;
                nap(run, wait);
                continue;
            }
            if (told_down)
                fprintf(run->o->err, "sidik %s: connected to %s again\n", run->o->cmd, run->server);
            failures = 0;
            told_down = false;
        }
        int out = sidik__upload_stream(run);
        if (out == UP_LOST)
            disconnect(run);
    }
    return 0;
}

int sidik_upload_run(sidik_spool *sp, const char *dir, const sidik_client_settings *s,
                     const sidik_upload_options *o, sidik_upload_totals *t)
{
    sidik_upload_totals local;
    if (t == NULL)
        t = &local;
    memset(t, 0, sizeof *t);
    int lock = -1;
    int code = lock_spool(dir, o, &lock);
    if (code != 0)
        return code;
    up_run *run = sidik_trycalloc(1, sizeof *run);
    if (run == NULL) {
        close(lock);
        fprintf(o->err, "sidik %s: out of memory\n", o->cmd);
        return SIDIK_CLI_EXIT_FAIL;
    }
    run->sp = sp;
    run->o = o;
    run->t = t;
    run->chunked = o->chunk_bytes > 0;
    run->timeout_ms = s->timeout_ms;
    snprintf(run->server, sizeof run->server, "%s", s->server);
    int rc = reclaim(run);
    if (rc != 0) {
        fprintf(o->err, "sidik %s: cannot read the spool: %s\n", o->cmd, sidik_strerror(rc));
        run->fatal = SIDIK_CLI_EXIT_FAIL;
    }
    sidik_spool_stats st0;
    if (sidik_spool_stats_get(sp, &st0) == 0)
        run->backlog = run->total = st0.backlog;
    sidik_progress_start(&run->bar, "received", run->backlog);
    if (!run->fatal)
        drain(run, s);
    run->stats_ns = 0;
    sidik__upload_progress(run);
    sidik_progress_end(&run->bar, run->answered);
    sidik__upload_fail_all(run); /* nothing is left in flight on a normal end */
    if (o->refresh && !run->fatal && !stopping(run) && undecided(sp)) {
        if (run->c == NULL && connect_once(run, s, false) != 0)
            run->fatal = 0; /* the upload itself is done; decisions can wait */
        if (run->c != NULL) {
            uint64_t moved = 0;
            sidik_upload_refresh(sp, run->c, o->cmd, o->err, &moved);
            t->refreshed += moved;
        }
    }
    disconnect(run);
    sidik_spool_stats st;
    if (sidik_spool_stats_get(sp, &st) != 0)
        memset(&st, 0, sizeof st);
    fprintf(o->out,
            "%" PRIu64 " received (%" PRIu64 " the centre had already), %" PRIu64
            " refused, %" PRIu64 " failed attempts retried; backlog %" PRIu64 " (%" PRIu64
            " bytes)",
            t->received, t->resent, t->refused, t->failed, st.backlog, st.backlog_bytes);
    if (o->refresh)
        fprintf(o->out, "; %" PRIu64 " decisions updated", t->refreshed);
    fputc('\n', o->out);
    code = run->fatal;
    if (code == 0 && t->refused > 0) {
        fprintf(o->err,
                "sidik %s: %" PRIu64 " captures were refused for good; 'sidik upload status' "
                "shows why\n",
                o->cmd, t->refused);
        code = SIDIK_CLI_EXIT_FAIL;
    }
    if (code == SIDIK_CLI_EXIT_UNREACHABLE)
        fprintf(o->err,
                "sidik %s: nothing was lost: %" PRIu64 " captures wait in the spool; run again "
                "when the link is up (or without --once to keep retrying)\n",
                o->cmd, st.backlog);
    sidik_free(run);
    close(lock);
    return code;
}
