/*
 * `sidik status`: where an office's enrollments stand, over sidikd's Status
 * service (an office certificate; an auditor's may `get` any enrollment).
 *
 *   sidik status get ID          one enrollment and its history
 *   sidik status list [FILTERS]  the office's enrollments, oldest first
 *
 * Exit codes are those of every network command (client_call.h); the
 * messages are this command's own, worded for an office.
 */
#include "cli.h"
#include "client_call.h"
#include "client_settings.h"
#include "out.h"
#include "rpc.h"
#include "sidik/common.h"
#include "sidik.pb-c.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#define ID_MAX   64 /* the server's SIDIK_ENROLL_ID_MAX */
#define PAGE_MAX 1000

typedef struct args {
    const char *sub; /* "get" or "list" */
    const char *id;
    sidik_client_flags net;
    bool json, all;
    Sidik__V1__ListStatusRequest list;
} args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sidik status get ID [--json] [CONNECTION]\n"
            "       sidik status list [--status S] [--since TIME] [--page-size N]\n"
            "                         [--page-token T | --all] [--json] [CONNECTION]\n"
            "\n"
            "Where enrollments stand at the centre: RECEIVED, then PRINT_READY,\n"
            "DUPLICATE, ADJUDICATE or REJECTED, then PRINTED. An office certificate sees\n"
            "its own office's enrollments only; an auditor certificate may get any one.\n"
            "\n"
            "  get    one enrollment: its office, status and when it last changed, and\n"
            "         its whole history\n"
            "  list   this office's enrollments, oldest first, one page (--all: every\n"
            "         page); an office's listing, so it needs an office certificate\n"
            "\n"
            "  --status S       only enrollments now in status S (PRINT_READY, ...; any)\n"
            "  --since TIME     only enrollments received at or after TIME: 2026-12-02,\n"
            "                   2026-12-02T10:15:03Z (UTC), or @ and milliseconds since\n"
            "                   the epoch (@1796207703000, as --json prints them)\n"
            "  --page-size N    enrollments per page (1-1000, default the server's 100)\n"
            "  --page-token T   continue where an earlier page ended\n"
            "  --all            every page, until the listing ends\n"
            "  --json           JSON: one object per answer (per page for list)\n"
            "\n"
            "Output: a table (times in UTC ISO-8601) for people; --json for programs.\n"
            "\n"
            "Connection (CONNECTION):\n%s"
            "\n"
            "Examples:\n"
            "  sidik status get 6f1c2a4e-0b7d-4c55-9a61-2f0e8d3b9c10\n"
            "  sidik status list --status ADJUDICATE --since 2026-12-01 --all\n"
            "  SIDIK_SERVER=sidik.example.id:7443 sidik status list --json | jq .\n"
            "\n"
            "%s",
            sidik_client_flags_usage, sidik_cli_exit_codes_usage);
}

__attribute__((format(printf, 2, 3))) static int bad(const args *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sidik status%s%s: ", a->sub ? " " : "", a->sub ? a->sub : "");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "; see 'sidik status --help'\n");
    va_end(ap);
    return SIDIK_CLI_EXIT_USAGE;
}

static const char *status_name(int v)
{
    const ProtobufCEnumValue *e =
        protobuf_c_enum_descriptor_get_value(&sidik__v1__enrollment_status__descriptor, v);
    return e != NULL ? e->name : "UNKNOWN";
}

static int parse_status(const char *s, Sidik__V1__EnrollmentStatus *out)
{
    if (strcasecmp(s, "any") == 0) {
        *out = SIDIK__V1__ENROLLMENT_STATUS__ENROLLMENT_STATUS_UNSPECIFIED;
        return 0;
    }
    const ProtobufCEnumDescriptor *d = &sidik__v1__enrollment_status__descriptor;
    for (unsigned i = 0; i < d->n_values; i++)
        if (d->values[i].value != 0 && strcasecmp(s, d->values[i].name) == 0) {
            *out = (Sidik__V1__EnrollmentStatus)d->values[i].value;
            return 0;
        }
    return SIDIK_EINVAL;
}

static int parse_page_size(const char *s, uint32_t *v)
{
    size_t n = strlen(s);
    if (n == 0 || n > 4 || strspn(s, "0123456789") != n)
        return SIDIK_EINVAL;
    unsigned long x = strtoul(s, NULL, 10);
    if (x < 1 || x > PAGE_MAX)
        return SIDIK_EINVAL;
    *v = (uint32_t)x;
    return 0;
}

/* The server takes 1-64 printable characters: a wrong id is the command
 * line's fault and is refused before connecting. */
static bool valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

/* Value of the option at argv[*i] (advancing *i), or NULL after saying it
 * is missing. */
static const char *value(const args *a, int argc, char **argv, int *i, const char *what)
{
    if (*i + 1 >= argc) {
        bad(a, "%s needs a value: %s", argv[*i], what);
        return NULL;
    }
    return argv[++*i];
}

static int parse(args *a, int argc, char **argv)
{
    bool list = strcmp(a->sub, "list") == 0;
    char why[256];
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *v;
        int r = sidik_client_flags_take(&a->net, argc, argv, &i, why, sizeof why);
        if (r < 0)
            return bad(a, "%s", why);
        if (r == 1)
            continue;
        if (strcmp(opt, "--json") == 0) {
            a->json = true;
        } else if (list && strcmp(opt, "--all") == 0) {
            a->all = true;
        } else if (list && strcmp(opt, "--status") == 0) {
            if ((v = value(a, argc, argv, &i, "a status such as PRINT_READY")) == NULL)
                return SIDIK_CLI_EXIT_USAGE;
            if (parse_status(v, &a->list.status) != 0)
                return bad(a,
                           "--status '%s' is not one of CAPTURED, SENT, RECEIVED, PRINT_READY, "
                           "DUPLICATE, ADJUDICATE, REJECTED, PRINTED, any",
                           v);
        } else if (list && strcmp(opt, "--since") == 0) {
            if ((v = value(a, argc, argv, &i, "a time such as 2026-12-02")) == NULL)
                return SIDIK_CLI_EXIT_USAGE;
            if (sidik_out_parse_time(v, &a->list.since_ms) != 0)
                return bad(a,
                           "--since '%s' is not a time: 2026-12-02, 2026-12-02T10:15:03Z "
                           "(UTC) or @ and milliseconds since the epoch",
                           v);
        } else if (list && strcmp(opt, "--page-size") == 0) {
            if ((v = value(a, argc, argv, &i, "1-1000")) == NULL)
                return SIDIK_CLI_EXIT_USAGE;
            if (parse_page_size(v, &a->list.page_size) != 0)
                return bad(a, "--page-size '%s' is not a number from 1 to 1000", v);
        } else if (list && strcmp(opt, "--page-token") == 0) {
            if ((v = value(a, argc, argv, &i, "the token an earlier page ended with")) == NULL)
                return SIDIK_CLI_EXIT_USAGE;
            a->list.page_token = (char *)v;
        } else if (!list && opt[0] != '-' && a->id == NULL) {
            a->id = opt;
        } else if (opt[0] == '-') {
            return bad(a, "unknown option '%s'", opt);
        } else {
            return bad(a, "unexpected '%s'", opt);
        }
    }
    if (!list && a->id == NULL)
        return bad(a, "needs the enrollment ID");
    if (!list && !valid_id(a->id))
        return bad(a, "the enrollment ID must be 1-64 printable characters");
    if (a->all && a->list.page_token[0] != 0)
        return bad(a, "--all starts from the beginning; leave out --page-token");
    return 0;
}

/* ---- printing -------------------------------------------------------------------- */

static const char *const head[] = {"ENROLLMENT", "OFFICE", "STATUS", "CHANGED (UTC)"};

static int64_t last_change(const Sidik__V1__EnrollmentState *e)
{
    return e->n_history > 0 ? e->history[e->n_history - 1]->time_ms : 0;
}

static int table_add(sidik_table *t, const Sidik__V1__EnrollmentState *e)
{
    char when[32];
    sidik_out_time(last_change(e), when, sizeof when);
    const char *cells[] = {e->enrollment_id, e->office_code, status_name(e->status), when};
    return sidik_table_row(t, cells);
}

static void json_state(FILE *f, const Sidik__V1__EnrollmentState *e)
{
    char when[32];
    fputs("{\"enrollment_id\":", f);
    sidik_out_json_string(f, e->enrollment_id);
    fputs(",\"office_code\":", f);
    sidik_out_json_string(f, e->office_code);
    fprintf(f, ",\"status\":\"%s\",\"changed_ms\":%lld,\"changed\":", status_name(e->status),
            (long long)last_change(e));
    sidik_out_time(last_change(e), when, sizeof when);
    sidik_out_json_string(f, when);
    fputs(",\"history\":[", f);
    for (size_t i = 0; i < e->n_history; i++) {
        sidik_out_time(e->history[i]->time_ms, when, sizeof when);
        fprintf(f, "%s{\"status\":\"%s\",\"time_ms\":%lld,\"time\":", i ? "," : "",
                status_name(e->history[i]->status), (long long)e->history[i]->time_ms);
        sidik_out_json_string(f, when);
        fputc('}', f);
    }
    fputs("]}", f);
}

/* ---- failures ----------------------------------------------------------------------- */

/* Says on stderr what went wrong with a call and what to do; exit 1. */
static int call_failed(const args *a, sidik_rpc *c, const sidik_rpc_status *st)
{
    const char *code = sidik_grpc_status_name((sidik_grpc_status)st->code);
    bool list = strcmp(a->sub, "list") == 0;
    fprintf(stderr, "sidik status %s: %s: ", a->sub, code);
    switch (st->code) {
    case SIDIK_GRPC_PERMISSION_DENIED:
        if (list && strcmp(sidik_rpc_role(c), "auditor") == 0)
            fprintf(stderr, "this certificate's role (auditor) may not list enrollments: the "
                            "listing is an office's own; use the office's certificate, or "
                            "'sidik audit search' across offices");
        else
            fprintf(stderr, "this certificate's role (%s) may not %s; use an %s certificate",
                    sidik_rpc_role(c), list ? "list enrollments" : "read enrollment status",
                    list ? "office" : "office or auditor");
        break;
    case SIDIK_GRPC_NOT_FOUND:
        fprintf(stderr,
                "no enrollment %s for %s '%s'; an office sees only its own "
                "enrollments: check the id, and that this office captured it",
                a->id, sidik_rpc_role(c), sidik_rpc_name(c));
        break;
    case SIDIK_GRPC_UNAUTHENTICATED:
        fprintf(stderr, "sidikd did not accept this certificate; check --cert and --key");
        break;
    case SIDIK_GRPC_UNAVAILABLE:
        fprintf(stderr, "%s; try again later", st->message);
        break;
    default:
        fprintf(stderr, "%s", st->message);
    }
    /* The server's own words, unless they were the whole message above. */
    if (st->code == SIDIK_GRPC_PERMISSION_DENIED || st->code == SIDIK_GRPC_NOT_FOUND ||
        st->code == SIDIK_GRPC_UNAUTHENTICATED)
        fprintf(stderr, " (server: %s)", st->message[0] ? st->message : "no message");
    fputc('\n', stderr);
    return sidik_cli_exit_code(-1, st->code);
}

/* ---- the subcommands ----------------------------------------------------------------- */

static int get(const args *a, sidik_rpc *c)
{
    Sidik__V1__GetStatusRequest req = SIDIK__V1__GET_STATUS_REQUEST__INIT;
    req.enrollment_id = (char *)a->id;
    ProtobufCMessage *m = NULL;
    sidik_rpc_status st;
    sidik_rpc_unary(c, "/sidik.v1.Status/Get", &req.base, &sidik__v1__enrollment_state__descriptor,
                    &m, &st);
    if (m == NULL)
        return call_failed(a, c, &st);
    const Sidik__V1__EnrollmentState *e = (const Sidik__V1__EnrollmentState *)m;
    int rc = SIDIK_CLI_EXIT_OK;
    if (a->json) {
        json_state(stdout, e);
        fputc('\n', stdout);
    } else {
        sidik_table t;
        sidik_table_init(&t, SIDIK_ARRAY_SIZE(head), head);
        if (table_add(&t, e) == 0) {
            sidik_table_print(&t, stdout);
            printf("\nhistory:\n");
            for (size_t i = 0; i < e->n_history; i++) {
                char when[32];
                sidik_out_time(e->history[i]->time_ms, when, sizeof when);
                printf("  %-12s %s\n", status_name(e->history[i]->status), when);
            }
        } else {
            fprintf(stderr, "sidik status get: out of memory\n");
            rc = SIDIK_CLI_EXIT_FAIL;
        }
        sidik_table_close(&t);
    }
    sidik_rpc_message_free(m);
    return rc;
}

static int list(args *a, sidik_rpc *c)
{
    sidik_table t;
    sidik_table_init(&t, SIDIK_ARRAY_SIZE(head), head);
    char token[64] = "";
    int rc = SIDIK_CLI_EXIT_OK;
    for (;;) {
        ProtobufCMessage *m = NULL;
        sidik_rpc_status st;
        sidik_rpc_unary(c, "/sidik.v1.Status/List", &a->list.base,
                        &sidik__v1__list_status_response__descriptor, &m, &st);
        if (m == NULL) {
            rc = call_failed(a, c, &st);
            break;
        }
        const Sidik__V1__ListStatusResponse *r = (const Sidik__V1__ListStatusResponse *)m;
        if (a->json) {
            fputs("{\"enrollments\":[", stdout);
            for (size_t i = 0; i < r->n_enrollments; i++) {
                if (i > 0)
                    fputc(',', stdout);
                json_state(stdout, r->enrollments[i]);
            }
            fputs("],\"next_page_token\":", stdout);
            sidik_out_json_string(stdout, r->next_page_token);
            fputs("}\n", stdout);
        }
        for (size_t i = 0; !a->json && i < r->n_enrollments && rc == 0; i++)
            if (table_add(&t, r->enrollments[i]) != 0) {
                fprintf(stderr, "sidik status list: out of memory\n");
                rc = SIDIK_CLI_EXIT_FAIL;
            }
        /* The server's tokens are journal sequence numbers; a longer one is
         * not one it issued and ends the walk rather than being cut. */
        bool more = r->next_page_token[0] != 0 && strlen(r->next_page_token) < sizeof token;
        if (more)
            snprintf(token, sizeof token, "%s", r->next_page_token);
        sidik_rpc_message_free(m);
        if (rc != 0 || !more || !a->all)
            break;
        a->list.page_token = token;
    }
    if (rc == 0 && !a->json) {
        if (t.nrows > 0)
            sidik_table_print(&t, stdout);
        else
            printf("no enrollments match\n");
        if (!a->all && token[0] != 0)
            fprintf(stderr,
                    "sidik status list: more enrollments follow: add --page-token %s "
                    "for the next page, or --all\n",
                    token);
    }
    sidik_table_close(&t);
    return rc;
}

int sidik_cmd_status(int argc, char **argv)
{
    args a = {0};
    sidik__v1__list_status_request__init(&a.list);
    if (argc < 2) {
        usage(stderr);
        return SIDIK_CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return SIDIK_CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "get") != 0 && strcmp(argv[1], "list") != 0) {
        fprintf(stderr, "sidik status: unknown subcommand '%s'; see 'sidik status --help'\n",
                argv[1]);
        return SIDIK_CLI_EXIT_USAGE;
    }
    a.sub = argv[1];
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return SIDIK_CLI_EXIT_OK;
        }
    int rc = parse(&a, argc - 1, argv + 1);
    if (rc != 0)
        return rc;
    sidik_client_settings s;
    char why[1024];
    if (sidik_client_settings_load(&s, &a.net, why, sizeof why) != 0) {
        fprintf(stderr, "sidik status %s: %s\n", a.sub, why);
        return SIDIK_CLI_EXIT_USAGE;
    }
    sidik_rpc *c;
    if ((rc = sidik_rpc_connect(&s, &c, why, sizeof why)) != 0) {
        fprintf(stderr, "sidik status %s: %s\n", a.sub, why);
        return sidik_cli_connect_exit_code(rc);
    }
    rc = strcmp(a.sub, "get") == 0 ? get(&a, c) : list(&a, c);
    sidik_rpc_close(c);
    return rc;
}
