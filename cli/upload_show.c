/*
 * `sidik upload status` (cmd_upload.h): each capture of the spool and
 * where it stands, the backlog, and with --refresh the centre's decisions
 * asked for first. Reading needs no connection: the spool is local.
 */
#include "cmd_upload.h"

#include "cli.h"
#include "client_call.h"
#include "out.h"
#include "sidik/common.h"
#include "sidik.pb-c.h"
#include "upload.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PAGE 256

static const char *status_name(sidik_status s)
{
    const ProtobufCEnumValue *e =
        protobuf_c_enum_descriptor_get_value(&sidik__v1__enrollment_status__descriptor, (int)s);
    return e != NULL ? e->name : "UNKNOWN";
}

/* Shown without --all: on the way, or needing a person's look. */
static bool open_case(sidik_status s)
{
    return s == SIDIK_STATUS_CAPTURED || s == SIDIK_STATUS_SENT || s == SIDIK_STATUS_RECEIVED ||
           s == SIDIK_STATUS_ADJUDICATE || s == SIDIK_STATUS_REJECTED;
}

/* The NOTE column: why refused, when retried, or the centre's journal seq. */
static void note(const sidik_spool_entry *e, char *out, size_t cap)
{
    char when[32];
    out[0] = 0;
    if (e->refusal_code != 0) {
        snprintf(out, cap, "%s: %s", sidik_grpc_status_name((sidik_grpc_status)e->refusal_code),
                 e->reason);
    } else if ((e->status == SIDIK_STATUS_CAPTURED || e->status == SIDIK_STATUS_SENT) &&
               e->attempts > 0) {
        sidik_out_time(e->next_attempt_ms, when, sizeof when);
        snprintf(out, cap, "%u failed, next try %s", e->attempts, when);
    } else if (e->at_centre && e->receipt.journal_seq != 0) {
        snprintf(out, cap, "journal %" PRIu64, e->receipt.journal_seq);
    }
}

static void json_entry(FILE *f, const sidik_spool_entry *e)
{
    char when[32];
    int64_t at = e->changed_ms[e->status];
    sidik_out_time(at, when, sizeof when);
    fprintf(f, "{\"seq\":%" PRIu64 ",\"enrollment_id\":", e->seq);
    sidik_out_json_string(f, e->id);
    fprintf(f, ",\"status\":\"%s\",\"changed_ms\":%" PRId64 ",\"changed\":", status_name(e->status),
            at);
    sidik_out_json_string(f, when);
    fprintf(f,
            ",\"bytes\":%" PRIu64 ",\"attempts\":%u,\"next_attempt_ms\":%" PRId64
            ",\"at_centre\":%s,\"journal_seq\":%" PRIu64 ",\"received_time_ms\":%" PRId64,
            e->bytes, e->attempts, e->next_attempt_ms, e->at_centre ? "true" : "false",
            e->receipt.journal_seq, e->receipt.received_time_ms);
    fputs(",\"content_sha256\":\"", f);
    for (int i = 0; i < 32; i++)
        fprintf(f, "%02x", e->sha256[i]);
    fputs("\",\"receipt_sha256\":", f);
    static const uint8_t zero[32];
    if (memcmp(e->receipt.content_sha256, zero, 32) != 0) {
        fputc('"', f);
        for (int i = 0; i < 32; i++)
            fprintf(f, "%02x", e->receipt.content_sha256[i]);
        fputc('"', f);
    } else {
        fputs("null", f);
    }
    fputs(",\"refusal\":", f);
    if (e->refusal_code != 0) {
        fprintf(f, "{\"code\":\"%s\",\"reason\":",
                sidik_grpc_status_name((sidik_grpc_status)e->refusal_code));
        sidik_out_json_string(f, e->reason);
        fputc('}', f);
    } else {
        fputs("null", f);
    }
    fputc('}', f);
}

static void summary(const sidik_spool_stats *st, const char *dir)
{
    char oldest[32];
    sidik_out_time(st->oldest_backlog_ms, oldest, sizeof oldest);
    printf("spool %s: %" PRIu64 " captures, backlog %" PRIu64 " (%" PRIu64 " bytes)", dir,
           st->records, st->backlog, st->backlog_bytes);
    if (st->backlog > 0)
        printf(", oldest captured %s", oldest);
    printf("\n ");
    for (int s = SIDIK_STATUS_CAPTURED; s <= SIDIK_STATUS_PRINTED; s++)
        printf(" %s %" PRIu64, status_name((sidik_status)s), st->by_status[s]);
    printf("\n");
}

static int show(sidik_spool *sp, const char *dir, bool all, bool json)
{
    sidik_spool_stats st;
    int rc = sidik_spool_stats_get(sp, &st);
    if (rc != 0) {
        fprintf(stderr, "sidik upload status: cannot read the spool: %s\n", sidik_strerror(rc));
        return SIDIK_CLI_EXIT_FAIL;
    }
    static const char *const head[] = {">SEQ",        "ENROLLMENT", "STATUS",
                                       "SINCE (UTC)", ">BYTES",     "NOTE"};
    sidik_table t;
    sidik_table_init(&t, SIDIK_ARRAY_SIZE(head), head);
    if (json) {
        printf("{\"spool\":");
        sidik_out_json_string(stdout, dir);
        printf(",\"records\":%" PRIu64 ",\"backlog\":%" PRIu64 ",\"backlog_bytes\":%" PRIu64
               ",\"oldest_backlog_ms\":%" PRId64 ",\"counts\":{",
               st.records, st.backlog, st.backlog_bytes, st.oldest_backlog_ms);
        for (int s = SIDIK_STATUS_CAPTURED; s <= SIDIK_STATUS_PRINTED; s++)
            printf("%s\"%s\":%" PRIu64, s > SIDIK_STATUS_CAPTURED ? "," : "",
                   status_name((sidik_status)s), st.by_status[s]);
        printf("},\"captures\":[");
    }
    sidik_spool_entry *page = sidik_trymalloc(PAGE * sizeof *page);
    if (page == NULL) {
        fprintf(stderr, "sidik upload status: out of memory\n");
        return SIDIK_CLI_EXIT_FAIL;
    }
    uint64_t after = 0, shown = 0;
    for (;;) {
        size_t n = 0;
        if ((rc = sidik_spool_list(sp, after, 0, page, PAGE, &n)) != 0)
            break;
        for (size_t i = 0; i < n && rc == 0; i++) {
            const sidik_spool_entry *e = &page[i];
            if (!all && !open_case(e->status))
                continue;
            if (json) {
                if (shown > 0)
                    fputc(',', stdout);
                json_entry(stdout, e);
            } else {
                char seq[24], when[32], bytes[24], why[SIDIK_SPOOL_REASON_MAX + 64];
                snprintf(seq, sizeof seq, "%" PRIu64, e->seq);
                sidik_out_time(e->changed_ms[e->status], when, sizeof when);
                snprintf(bytes, sizeof bytes, "%" PRIu64, e->bytes);
                note(e, why, sizeof why);
                const char *cells[] = {seq, e->id, status_name(e->status), when, bytes, why};
                rc = sidik_table_row(&t, cells);
            }
            shown++;
        }
        if (rc != 0 || n < PAGE)
            break;
        after = page[n - 1].seq;
    }
    sidik_free(page);
    if (rc != 0) {
        if (json)
            printf("]}\n");
        fprintf(stderr, "sidik upload status: cannot list the spool: %s\n", sidik_strerror(rc));
        sidik_table_close(&t);
        return SIDIK_CLI_EXIT_FAIL;
    }
    if (json) {
        printf("]}\n");
    } else {
        summary(&st, dir);
        if (t.nrows > 0) {
            putchar('\n');
            sidik_table_print(&t, stdout);
        } else if (!all && st.records > 0) {
            printf("\nevery capture has its decision; --all lists them\n");
        }
    }
    sidik_table_close(&t);
    return SIDIK_CLI_EXIT_OK;
}

int sidik__upload_status(int argc, char **argv)
{
    sidik_client_flags net = {0};
    const char *spool = NULL;
    bool all = false, json = false, refresh = false;
    char why[256];
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        int r = sidik_client_flags_take(&net, argc, argv, &i, why, sizeof why);
        if (r < 0) {
            fprintf(stderr, "sidik upload status: %s; see 'sidik upload --help'\n", why);
            return SIDIK_CLI_EXIT_USAGE;
        }
        if (r == 1)
            continue;
        if (strcmp(opt, "--all") == 0)
            all = true;
        else if (strcmp(opt, "--json") == 0)
            json = true;
        else if (strcmp(opt, "--refresh") == 0)
            refresh = true;
        else if (strcmp(opt, "--spool") == 0 && i + 1 < argc)
            spool = argv[++i];
        else {
            fprintf(stderr, "sidik upload status: %s '%s'; see 'sidik upload --help'\n",
                    strcmp(opt, "--spool") == 0 ? "needs a value:"
                    : opt[0] == '-'             ? "unknown option"
                                                : "unexpected",
                    opt);
            return SIDIK_CLI_EXIT_USAGE;
        }
    }
    sidik_client_settings s;
    char swhy[1024];
    if (refresh && sidik_client_settings_load(&s, &net, swhy, sizeof swhy) != 0) {
        fprintf(stderr, "sidik upload status: %s\n", swhy);
        return SIDIK_CLI_EXIT_USAGE;
    }
    char dir[4096];
    sidik__upload_spool_dir(spool, dir, sizeof dir);
    sidik_spool *sp;
    int code = sidik__upload_spool_open("status", dir, 0, &sp);
    if (code != 0)
        return code;
    int rcode = 0;
    if (refresh) {
        sidik_rpc *c;
        char cwhy[1024];
        int rc = sidik_rpc_connect(&s, &c, cwhy, sizeof cwhy);
        if (rc != 0) {
            fprintf(stderr,
                    "sidik upload status: %s\nsidik upload status: showing the spool as it "
                    "stands, without the centre's latest decisions\n",
                    cwhy);
            rcode = sidik_cli_connect_exit_code(rc);
        } else {
            uint64_t moved = 0;
            rcode = sidik_upload_refresh(sp, c, "upload status", stderr, &moved);
            sidik_rpc_close(c);
            if (rcode == 0)
                fprintf(stderr, "sidik upload status: %" PRIu64 " decisions updated from %s\n",
                        moved, s.server);
        }
    }
    code = show(sp, dir, all, json);
    sidik_spool_close(sp);
    return code != 0 ? code : rcode;
}
