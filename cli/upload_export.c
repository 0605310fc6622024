/*
 * `sidik upload export` (cmd_upload.h): the spool's captures written out as
 * a capture folder, one <enrollment_id>.pb each, the layout `upload add
 * --folder` reads. For a station whose link is gone for weeks (the bytes
 * carried to another office on a disk and added to its spool: the same
 * ids, so the centre takes each once whichever office sends it first), and
 * for measuring what the captures are made of (bench/bench_upload.sh).
 *
 * Each file is written under a temporary name and renamed into place, so
 * a reader of the folder never sees a half-written capture.
 */
#include "cmd_upload.h"

#include "cli.h"
#include "sidik/common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define PAGE 256

static int write_capture(const char *out, const char *id, const uint8_t *p, size_t n)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s.pb", out, id);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (f == NULL)
        return -errno;
    size_t w = fwrite(p, 1, n, f);
    int rc = w == n && fflush(f) == 0 ? 0 : -EIO;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0)
        remove(tmp);
    return rc;
}

int sidik__upload_export(int argc, char **argv)
{
    const char *spool = NULL, *out = NULL;
    bool all = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--all") == 0) {
            all = true;
        } else if ((strcmp(argv[i], "--spool") == 0 || strcmp(argv[i], "--out") == 0) &&
                   i + 1 < argc) {
            const char **dst = strcmp(argv[i], "--spool") == 0 ? &spool : &out;
            *dst = argv[i + 1];
            i++;
        } else {
            fprintf(stderr, "sidik upload export: %s '%s'; see 'sidik upload --help'\n",
                    argv[i][0] == '-' ? "unknown option or missing value" : "unexpected", argv[i]);
            return SIDIK_CLI_EXIT_USAGE;
        }
    }
    if (out == NULL) {
        fprintf(stderr, "sidik upload export: needs --out DIR, the folder to write "
                        "<enrollment_id>.pb files into; see 'sidik upload --help'\n");
        return SIDIK_CLI_EXIT_USAGE;
    }
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "sidik upload export: cannot make %s: %s\n", out, strerror(errno));
        return SIDIK_CLI_EXIT_FAIL;
    }
    char dir[4096];
    sidik__upload_spool_dir(spool, dir, sizeof dir);
    sidik_spool *sp;
    int code = sidik__upload_spool_open("export", dir, 0, &sp);
    if (code != 0)
        return code;
    sidik_spool_entry *page = sidik_trymalloc(PAGE * sizeof *page);
    uint64_t after = 0, written = 0, bytes = 0;
    int rc = page != NULL ? 0 : SIDIK_ENOMEM;
    while (rc == 0) {
        size_t n = 0;
        if ((rc = sidik_spool_list(sp, after, 0, page, PAGE, &n)) != 0)
            break;
        for (size_t i = 0; i < n && rc == 0; i++) {
            const sidik_spool_entry *e = &page[i];
            /* Without --all, what the centre does not hold yet: the
             * backlog a disk would carry elsewhere. */
            if (!e->body_held || (!all && e->at_centre))
                continue;
            uint8_t *p;
            size_t len;
            if ((rc = sidik_spool_body(sp, e->seq, &p, &len)) != 0) {
                fprintf(stderr, "sidik upload export: capture %" PRIu64 " (%s): %s\n", e->seq,
                        e->id, sidik_strerror(rc));
                break;
            }
            rc = write_capture(out, e->id, p, len);
            sidik_free(p);
            if (rc != 0) {
                fprintf(stderr, "sidik upload export: cannot write %s/%s.pb: %s\n", out, e->id,
                        sidik_strerror(rc));
                break;
            }
            written++;
            bytes += len;
        }
        if (n < PAGE)
            break;
        after = page[n - 1].seq;
    }
    sidik_free(page);
    sidik_spool_close(sp);
    if (rc == SIDIK_ENOMEM)
        fprintf(stderr, "sidik upload export: out of memory\n");
    printf("exported %" PRIu64 " captures (%" PRIu64 " bytes) to %s\n", written, bytes, out);
    return rc == 0 ? SIDIK_CLI_EXIT_OK : SIDIK_CLI_EXIT_FAIL;
}
