/*
 * `sidik upload`: an office's captures into its durable spool, and from
 * there to sidikd when the link allows (upload.h, spool.h).
 *
 *   sidik upload add (--gen DIR | --folder DIR)   capture into the spool
 *   sidik upload run [--once] ...                 drain the spool to sidikd
 *   sidik upload status [--refresh] ...           where each capture stands
 *
 * The one mutable global here is the stop flag a signal handler sets (a
 * handler can reach nothing else); the engine only reads it.
 */
#include "cmd_upload.h"

#include "cli.h"
#include "client_call.h"
#include "client_settings.h"
#include "sidik/common.h"
#include "upload.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_asked;

static void on_signal(int sig)
{
    (void)sig;
    stop_asked = 1;
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: sidik upload add (--gen DIR | --folder DIR) [--spool DIR] [--office CODE]\n"
        "                        [--station ID] [--face-bytes N] [--signature-bytes N]\n"
        "                        [--count N] [CONNECTION]\n"
        "       sidik upload run [--spool DIR] [--once] [--concurrency N] [--chunked]\n"
        "                        [--chunk-size BYTES] [--max-backoff SECONDS] [CONNECTION]\n"
        "       sidik upload status [--spool DIR] [--refresh] [--all] [--json] [CONNECTION]\n"
        "       sidik upload export --out DIR [--spool DIR] [--all]\n"
        "\n"
        "An office's captures go first into a durable spool on the station (an LMDB\n"
        "folder: each capture is on disk before 'add' says so), then to sidikd over\n"
        "Ingest.Upload when the link allows. Nothing is lost when the link, the\n"
        "uploader or the station fails, and nothing arrives twice: the centre answers a\n"
        "resend with the original receipt. Each capture's path: CAPTURED, SENT,\n"
        "RECEIVED (durable at the centre), then PRINT_READY, DUPLICATE, ADJUDICATE or\n"
        "REJECTED, then PRINTED.\n"
        "\n"
        "  add     capture into the spool, from one of:\n"
        "          --gen DIR     a `sidik gen --out` folder (records.iso, truth.csv): one\n"
        "                        enrollment per record, one ISO 19794-2:2005 record per\n"
        "                        finger, demographics valid for the centre (a NIK per\n"
        "                        person), a synthetic face (--face-bytes, default 16384)\n"
        "                        and signature (--signature-bytes, default 4096; 0: none);\n"
        "                        the id comes from the office and the record, so adding\n"
        "                        the same folder again adds nothing. --count N: the first\n"
        "                        N records only\n"
        "          --folder DIR  a station's capture folder: one file per capture named\n"
        "                        <enrollment_id>.pb, holding the packed sidik.v1.Enrollment\n"
        "                        (proto/sidik.proto) as the capture software wrote it, its\n"
        "                        enrollment_id a UUID equal to the file's name. Files are\n"
        "                        taken in capture_time_ms order; names starting with '.'\n"
        "                        or ending in .tmp or .part (being written) are skipped;\n"
        "                        anything else is refused with the reason. Files are\n"
        "                        left where they are (adding again adds nothing)\n"
        "          The office (office_code) is --office, else the CN of the station's\n"
        "          certificate (--cert, SIDIK_CERT or client.conf); the station id is\n"
        "          --station, else this host's name.\n"
        "  run     send the backlog in capture order, at most --concurrency (1-64,\n"
        "          default 4) without their receipt; a receipt is recorded only once the\n"
        "          centre has the capture durably; a refusal is recorded with its reason\n"
        "          and not retried; a failed attempt is retried after an exponential\n"
        "          backoff with full jitter (2 s doubling, up to --max-backoff, default\n"
        "          600); an unreachable server is retried the same way. Without --once it\n"
        "          runs until stopped (SIGINT, SIGTERM), sending new captures as they are\n"
        "          added (another process may 'add' meanwhile) and asking for decisions\n"
        "          every 30 s; with --once it stops when the backlog is empty (after\n"
        "          asking for the decisions) or when the server cannot be reached.\n"
        "          --chunked (or --chunk-size BYTES, 1024-65536, default 16384): send\n"
        "          through Ingest.UploadChunks in pieces, so a capture cut mid-way goes\n"
        "          on from what the centre holds instead of from the start (thin links,\n"
        "          big captures); a server without it gets whole enrollments. A progress\n"
        "          bar (rate, time left) is drawn on a terminal. Killing it at any moment\n"
        "          loses nothing: the next run sends what had no receipt again.\n"
        "  status  each capture's state and the backlog: by default the captures still\n"
        "          on their way or needing a look (CAPTURED, SENT, RECEIVED, ADJUDICATE,\n"
        "          REJECTED with its reason); --all every one; --json one JSON object;\n"
        "          --refresh first asks the centre (Status) for the decisions of those\n"
        "          it holds and has not decided finally.\n"
        "  export  write the backlog (--all: every capture whose bytes the spool still\n"
        "          holds) into DIR as <enrollment_id>.pb files, the layout 'add --folder'\n"
        "          reads: a backlog carried on a disk to another office's station is sent\n"
        "          from there, each capture still once (its id is kept).\n"
        "\n"
        "  --spool DIR   the spool folder (default $SIDIK_SPOOL, else\n"
        "                $XDG_DATA_HOME/sidik/spool, else ~/.local/share/sidik/spool)\n"
        "\n"
        "Connection (CONNECTION; run and status --refresh, and add for the office):\n%s"
        "\n"
        "Examples:\n"
        "  sidik upload add --folder /var/lib/capture/out\n"
        "  sidik upload add --gen day1 --office JKT-01 --spool /var/lib/sidik/spool\n"
        "  sidik upload run --server sidik.example.id:7443      # runs on; Ctrl-C stops\n"
        "  sidik upload run --once --chunked --concurrency 2     # a thin link, then stop\n"
        "  sidik upload status --refresh\n"
        "  sidik upload status --all --json | jq '.captures[] | select(.status==\"DUPLICATE\")'\n"
        "\n"
        "Exit codes: 0 done (add: every capture is in the spool; run --once: the\n"
        "backlog is empty); 1 some captures were refused (add: a bad file; run: by the\n"
        "centre, recorded with the reason) or the spool failed; 2 the command line,\n"
        "the settings or the certificates are wrong, or another uploader runs on this\n"
        "spool; 3 (run --once, status --refresh) the server could not be reached: the\n"
        "captures wait in the spool, run again later; 4 this certificate's role may not\n"
        "upload (an office certificate is needed).\n",
        sidik_client_flags_usage);
}

static int bad(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(const char *sub, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sidik upload%s%s: ", sub ? " " : "", sub ? sub : "");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "; see 'sidik upload --help'\n");
    va_end(ap);
    return SIDIK_CLI_EXIT_USAGE;
}

/* ---- shared -------------------------------------------------------------------- */

void sidik__upload_spool_dir(const char *flag, char *out, size_t cap)
{
    const char *env = getenv("SIDIK_SPOOL"), *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (flag != NULL)
        snprintf(out, cap, "%s", flag);
    else if (env != NULL && env[0])
        snprintf(out, cap, "%s", env);
    else if (xdg != NULL && xdg[0])
        snprintf(out, cap, "%s/sidik/spool", xdg);
    else
        snprintf(out, cap, "%s/.local/share/sidik/spool", home != NULL && home[0] ? home : ".");
}

int sidik__upload_spool_open(const char *sub, const char *dir, int64_t retry_cap_ms,
                             sidik_spool **out)
{
    sidik_spool_options o = {.backoff_cap_ms = retry_cap_ms};
    const char *why = NULL;
    int rc = sidik_spool_open(dir, &o, out, &why);
    if (rc == 0)
        return 0;
    fprintf(stderr, "sidik upload %s: cannot open the spool %s: %s%s%s", sub, dir,
            sidik_strerror(rc), why ? ": " : "", why ? why : "");
    if (rc == SIDIK_EFORMAT)
        fprintf(stderr, "; --spool must name a spool folder or an empty one");
    else if (rc == -EACCES)
        fprintf(stderr, "; this user may not write there");
    fputc('\n', stderr);
    return SIDIK_CLI_EXIT_FAIL;
}

/* A decimal argument within [lo, hi]. */
static int number(const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
    size_t n = strlen(s);
    if (n == 0 || n > 19 || strspn(s, "0123456789") != n)
        return SIDIK_EINVAL;
    unsigned long long x = strtoull(s, NULL, 10);
    if (x < lo || x > hi)
        return SIDIK_EINVAL;
    *v = x;
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The CN of the PEM certificate at path, "" when it cannot be read. */
static void cert_cn(const char *path, char *out, size_t cap)
{
    out[0] = 0;
    FILE *f = fopen(path, "r");
    X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f != NULL)
        fclose(f);
    if (x == NULL)
        return;
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)cap);
    X509_free(x);
}

static void print_backlog(sidik_spool *sp, const char *dir)
{
    sidik_spool_stats st;
    if (sidik_spool_stats_get(sp, &st) == 0)
        printf("backlog %" PRIu64 " captures (%" PRIu64 " bytes) in %s\n", st.backlog,
               st.backlog_bytes, dir);
}

/* ---- add ------------------------------------------------------------------------- */

typedef struct add_args {
    const char *gen, *folder, *spool, *office, *station;
    uint64_t face, signature, count;
    sidik_client_flags net;
} add_args;

/* The office: --office, else the certificate's CN. */
static int office_of(const add_args *a, char *out, size_t cap)
{
    if (a->office != NULL) {
        snprintf(out, cap, "%s", a->office);
        return 0;
    }
    sidik_client_settings s;
    char why[1024];
    int rc = sidik_client_settings_load(&s, &a->net, why, sizeof why);
    if ((rc == 0 || rc == SIDIK_EINVAL) && s.cert[0] != 0) {
        cert_cn(s.cert, out, cap);
        if (out[0] != 0)
            return 0;
        return bad("add",
                   "cannot read the office code (CN) from the certificate %s; give "
                   "--office CODE",
                   s.cert);
    }
    return bad("add", "needs the office: --office CODE, or the station's certificate (--cert "
                      "FILE or SIDIK_CERT) to read it from");
}

static int add_gen(const add_args *a, sidik_spool *sp, const char *office, const char *station)
{
    char why[512];
    sidik_upload_gen *g;
    int rc = sidik_upload_gen_open(a->gen, &g, why, sizeof why);
    if (rc != 0) {
        fprintf(stderr, "sidik upload add: %s\n", why);
        return SIDIK_CLI_EXIT_FAIL;
    }
    sidik_upload_capture_options o = {.office = office,
                                      .station = station,
                                      .face_bytes = (uint32_t)a->face,
                                      .signature_bytes = (uint32_t)a->signature,
                                      .capture_time_ms = now_ms()};
    uint64_t added = 0, held = 0;
    int code = SIDIK_CLI_EXIT_OK;
    sidik_upload_gen_record r;
    while (!stop_asked && (a->count == 0 || added + held < a->count) &&
           (rc = sidik_upload_gen_next(g, &r, why, sizeof why)) == 1) {
        char id[SIDIK_UPLOAD_ID_LEN + 1];
        uint64_t seq;
        sidik_upload_gen_id(office, r.p, r.n, id);
        if (sidik_spool_find(sp, id, &seq) == 0) {
            held++;
            continue;
        }
        uint8_t *p;
        size_t n;
        const char *bwhy = NULL;
        if ((rc = sidik_upload_gen_build(&r, &o, &p, &n, id, &bwhy)) != 0) {
            fprintf(stderr, "sidik upload add: record %" PRIu64 " of %s/records.iso: %s\n", r.index,
                    a->gen, bwhy);
            code = SIDIK_CLI_EXIT_FAIL;
            break;
        }
        const char *pwhy = NULL;
        rc = sidik_spool_put(sp, p, n, now_ms(), &seq, &pwhy);
        sidik_free(p);
        if (rc != 0) {
            fprintf(stderr, "sidik upload add: record %" PRIu64 ": the spool refused it: %s%s%s\n",
                    r.index, sidik_strerror(rc), pwhy ? ": " : "", pwhy ? pwhy : "");
            code = SIDIK_CLI_EXIT_FAIL;
            break;
        }
        added++;
    }
    if (rc < 0) {
        fprintf(stderr, "sidik upload add: %s/%s\n", a->gen, why);
        code = SIDIK_CLI_EXIT_FAIL;
    }
    sidik_upload_gen_close(g);
    printf("added %" PRIu64 " captures (%" PRIu64 " already in the spool)\n", added, held);
    return code;
}

typedef struct folder_file {
    char *name;
    int64_t capture_ms;
} folder_file;

static int by_capture(const void *x, const void *y)
{
    const folder_file *a = x, *b = y;
    if (a->capture_ms != b->capture_ms)
        return a->capture_ms < b->capture_ms ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* Two passes: every file is checked and its capture time read, then the
 * good ones are put in capture order (the order the centre should see). */
static int add_folder(const add_args *a, sidik_spool *sp)
{
    char why[1024];
    char **names;
    size_t n;
    if (sidik_upload_folder_list(a->folder, &names, &n, why, sizeof why) != 0) {
        fprintf(stderr, "sidik upload add: %s\n", why);
        return SIDIK_CLI_EXIT_FAIL;
    }
    folder_file *files = sidik_trycalloc(n > 0 ? n : 1, sizeof *files);
    if (files == NULL) {
        for (size_t i = 0; i < n; i++)
            sidik_free(names[i]);
        sidik_free(names);
        fprintf(stderr, "sidik upload add: out of memory\n");
        return SIDIK_CLI_EXIT_FAIL;
    }
    uint64_t added = 0, held = 0, refused = 0;
    size_t good = 0;
    for (size_t i = 0; i < n && !stop_asked; i++) {
        uint8_t *p;
        size_t len;
        char id[SIDIK_UPLOAD_ID_LEN + 1];
        int64_t at;
        if (sidik_upload_folder_read(a->folder, names[i], &p, &len, id, &at, why, sizeof why) !=
            0) {
            fprintf(stderr, "sidik upload add: %s\n", why);
            refused++;
            continue;
        }
        uint64_t seq;
        sidik_spool_entry e;
        uint8_t md[32];
        unsigned mdlen = 0;
        bool is_held = sidik_spool_find(sp, id, &seq) == 0 && sidik_spool_get(sp, seq, &e) == 0;
        bool same = is_held && EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL) == 1 &&
                    memcmp(md, e.sha256, 32) == 0;
        sidik_free(p);
        if (is_held && !same) {
            fprintf(stderr,
                    "sidik upload add: %s: the spool holds enrollment %s with other content; a "
                    "correction is a new capture with a new id\n",
                    names[i], id);
            refused++;
            continue;
        }
        if (is_held) {
            held++;
            continue;
        }
        files[good].name = names[i];
        files[good].capture_ms = at;
        names[i] = NULL;
        good++;
    }
    qsort(files, good, sizeof *files, by_capture);
    int code = SIDIK_CLI_EXIT_OK;
    for (size_t i = 0; i < good && !stop_asked; i++) {
        uint8_t *p;
        size_t len;
        char id[SIDIK_UPLOAD_ID_LEN + 1];
        int64_t at;
        if (sidik_upload_folder_read(a->folder, files[i].name, &p, &len, id, &at, why,
                                     sizeof why) != 0) {
            fprintf(stderr, "sidik upload add: %s\n", why); /* changed since the first pass */
            refused++;
            continue;
        }
        uint64_t seq;
        const char *pwhy = NULL;
        int rc = sidik_spool_put(sp, p, len, now_ms(), &seq, &pwhy);
        sidik_free(p);
        if (rc == SIDIK_EEXISTS) {
            fprintf(stderr,
                    "sidik upload add: %s: the spool holds enrollment %s with other content; a "
                    "correction is a new capture with a new id\n",
                    files[i].name, id);
            refused++;
        } else if (rc != 0) {
            fprintf(stderr, "sidik upload add: %s: the spool refused it: %s%s%s\n", files[i].name,
                    sidik_strerror(rc), pwhy ? ": " : "", pwhy ? pwhy : "");
            refused++;
            if (rc == SIDIK_EFULL || rc == SIDIK_ENOMEM || rc < 0) {
                code = SIDIK_CLI_EXIT_FAIL;
                break;
            }
        } else {
            added++;
        }
    }
    for (size_t i = 0; i < n; i++)
        sidik_free(names[i]);
    for (size_t i = 0; i < good; i++)
        sidik_free(files[i].name);
    sidik_free(names);
    sidik_free(files);
    printf("added %" PRIu64 " captures (%" PRIu64 " already in the spool, %" PRIu64
           " files refused)\n",
           added, held, refused);
    return refused > 0 ? SIDIK_CLI_EXIT_FAIL : code;
}

static int cmd_add(int argc, char **argv)
{
    add_args a = {.face = 16384, .signature = 4096};
    char why[256];
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        int r = sidik_client_flags_take(&a.net, argc, argv, &i, why, sizeof why);
        if (r < 0)
            return bad("add", "%s", why);
        if (r == 1)
            continue;
        const char **str = strcmp(opt, "--gen") == 0       ? &a.gen
                           : strcmp(opt, "--folder") == 0  ? &a.folder
                           : strcmp(opt, "--spool") == 0   ? &a.spool
                           : strcmp(opt, "--office") == 0  ? &a.office
                           : strcmp(opt, "--station") == 0 ? &a.station
                                                           : NULL;
        uint64_t *num = strcmp(opt, "--face-bytes") == 0        ? &a.face
                        : strcmp(opt, "--signature-bytes") == 0 ? &a.signature
                        : strcmp(opt, "--count") == 0           ? &a.count
                                                                : NULL;
        if ((str != NULL || num != NULL) && i + 1 >= argc)
            return bad("add", "%s needs a value", opt);
        if (str != NULL) {
            if (*str != NULL)
                return bad("add", "%s given twice", opt);
            *str = argv[++i];
        } else if (num != NULL) {
            const char *v = argv[++i];
            uint64_t lo = num == &a.face ? 64 : 0, hi = num == &a.face        ? 1u << 20
                                                        : num == &a.signature ? 256u << 10
                                                                              : UINT32_MAX;
            if (number(v, lo, hi, num) != 0 || (num == &a.signature && *num > 0 && *num < 64) ||
                (num == &a.count && *num == 0))
                return bad("add", "%s '%s' must be a number from %" PRIu64 " to %" PRIu64 "%s", opt,
                           v, num == &a.count ? 1 : lo, hi,
                           num == &a.signature ? " (0: none; else at least 64)" : "");
        } else if (opt[0] == '-') {
            return bad("add", "unknown option '%s'", opt);
        } else {
            return bad("add", "unexpected '%s'", opt);
        }
    }
    if ((a.gen == NULL) == (a.folder == NULL))
        return bad("add", "needs one source: --gen DIR (a `sidik gen` folder) or --folder DIR "
                          "(<enrollment_id>.pb files)");
    if (a.folder != NULL && (a.office || a.station || a.count))
        return bad("add", "--office, --station and --count are for --gen; a capture file "
                          "carries its own");
    char office[128] = "", station[128];
    if (a.gen != NULL) {
        int rc = office_of(&a, office, sizeof office);
        if (rc != 0)
            return rc;
        if (a.station != NULL)
            snprintf(station, sizeof station, "%s", a.station);
        else if (gethostname(station, 64) != 0 || station[0] == 0)
            snprintf(station, sizeof station, "station");
        station[64] = 0;
    }
    char dir[4096];
    sidik__upload_spool_dir(a.spool, dir, sizeof dir);
    sidik_spool *sp;
    int code = sidik__upload_spool_open("add", dir, 0, &sp);
    if (code != 0)
        return code;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    code = a.gen != NULL ? add_gen(&a, sp, office, station) : add_folder(&a, sp);
    print_backlog(sp, dir);
    sidik_spool_close(sp);
    return code;
}

/* ---- run ------------------------------------------------------------------------- */

static int cmd_run(int argc, char **argv)
{
    sidik_client_flags net = {0};
    const char *spool = NULL;
    uint64_t conc = SIDIK_UPLOAD_DEFAULT_CONCURRENCY, chunk = 0, backoff = 600;
    bool once = false, chunked = false;
    char why[256];
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        int r = sidik_client_flags_take(&net, argc, argv, &i, why, sizeof why);
        if (r < 0)
            return bad("run", "%s", why);
        if (r == 1)
            continue;
        if (strcmp(opt, "--once") == 0) {
            once = true;
        } else if (strcmp(opt, "--chunked") == 0) {
            chunked = true;
        } else if (strcmp(opt, "--spool") == 0 || strcmp(opt, "--concurrency") == 0 ||
                   strcmp(opt, "--chunk-size") == 0 || strcmp(opt, "--max-backoff") == 0) {
            if (i + 1 >= argc)
                return bad("run", "%s needs a value", opt);
            const char *v = argv[++i];
            if (strcmp(opt, "--spool") == 0)
                spool = v;
            else if (strcmp(opt, "--concurrency") == 0 &&
                     number(v, 1, SIDIK_UPLOAD_MAX_CONCURRENCY, &conc) != 0)
                return bad("run", "--concurrency '%s' must be a number from 1 to %d", v,
                           SIDIK_UPLOAD_MAX_CONCURRENCY);
            else if (strcmp(opt, "--chunk-size") == 0) {
                if (number(v, 1024, SIDIK_UPLOAD_MAX_CHUNK, &chunk) != 0)
                    return bad("run",
                               "--chunk-size '%s' must be a number of bytes from 1024 to "
                               "65536",
                               v);
                chunked = true;
            } else if (strcmp(opt, "--max-backoff") == 0 && number(v, 1, 86400, &backoff) != 0)
                return bad("run",
                           "--max-backoff '%s' must be a number of seconds from 1 to "
                           "86400",
                           v);
        } else if (opt[0] == '-') {
            return bad("run", "unknown option '%s'", opt);
        } else {
            return bad("run", "unexpected '%s'", opt);
        }
    }
    if (chunked && chunk == 0)
        chunk = SIDIK_UPLOAD_DEFAULT_CHUNK;
    sidik_client_settings s;
    char swhy[1024];
    if (sidik_client_settings_load(&s, &net, swhy, sizeof swhy) != 0) {
        fprintf(stderr, "sidik upload run: %s\n", swhy);
        return SIDIK_CLI_EXIT_USAGE;
    }
    char dir[4096];
    sidik__upload_spool_dir(spool, dir, sizeof dir);
    sidik_spool *sp;
    int code = sidik__upload_spool_open("run", dir, (int64_t)backoff * 1000, &sp);
    if (code != 0)
        return code;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sidik_upload_options o = {.concurrency = (unsigned)conc,
                              .chunk_bytes = (uint32_t)chunk,
                              .once = once,
                              .refresh = true,
                              /* Longer than any capture stays on the wire: the
                               * flock, not the lease, is what keeps two
                               * uploaders of one spool apart. */
                              .lease_ms = 10 * 60 * 1000,
                              .retry_cap_ms = (int64_t)backoff * 1000,
                              .out = stdout,
                              .err = stderr,
                              .cmd = "upload run",
                              .stop = &stop_asked};
    code = sidik_upload_run(sp, dir, &s, &o, NULL);
    sidik_spool_close(sp);
    return code;
}

int sidik_cmd_upload(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return SIDIK_CLI_EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return SIDIK_CLI_EXIT_OK;
        }
    if (strcmp(argv[1], "add") == 0)
        return cmd_add(argc - 1, argv + 1);
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(argv[1], "status") == 0)
        return sidik__upload_status(argc - 1, argv + 1);
    if (strcmp(argv[1], "export") == 0)
        return sidik__upload_export(argc - 1, argv + 1);
    fprintf(stderr,
            "sidik upload: unknown subcommand '%s' (add, run, status, export); see "
            "'sidik upload --help'\n",
            argv[1]);
    return SIDIK_CLI_EXIT_USAGE;
}
