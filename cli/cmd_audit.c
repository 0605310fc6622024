/*
 * `sidik audit`: what auditors and adjudicators do, over sidikd's Audit
 * service (an auditor certificate).
 *
 *   sidik audit show ID          one enrollment: history, decisions, candidates
 *   sidik audit search [FILTERS] decisions by office, time, decision, score, NIK
 *   sidik audit export [FILTERS] the same, every page, as CSV (or --json)
 *   sidik audit review           the gray-zone queue waiting for a person
 *   sidik audit decide ID ...    an adjudicator's verdict on one of them
 *   sidik audit verify           the audit log's hash chain, end to end
 */
#include "audit_print.h"
#include "cli.h"
#include "client_call.h"
#include "out.h"
#include "sidik/common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_ALL_SIZE 1000 /* what --all asks per page: the server's maximum */

typedef enum { FMT_TABLE, FMT_JSON, FMT_CSV } format;

typedef struct args {
    const char *sub;
    const char *id;
    sidik_client_flags net;
    format fmt;
    bool fmt_set, all;
    Sidik__V1__SearchDecisionsRequest filter;
    bool unique, duplicate_set;
    uint64_t duplicate_of;
    const char *reason;
} args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sidik audit show ID [--json]\n"
            "       sidik audit search [FILTERS] [--json | --csv] [--all | --page-token T]\n"
            "       sidik audit export [FILTERS] [--json]\n"
            "       sidik audit review [FILTERS] [--json | --csv] [--all]\n"
            "       sidik audit decide ID (--unique | --duplicate-of RECORD) --reason TEXT\n"
            "       sidik audit verify [--json]\n"
            "\n"
            "Auditors' and adjudicators' view of the decisions sidikd made. Needs an\n"
            "auditor certificate; the adjudicator named in a verdict is that\n"
            "certificate's.\n"
            "\n"
            "  show     one enrollment: its status history, the decision in force and the\n"
            "           thresholds it was held to, each candidate with its per-finger\n"
            "           scores and which fingers matched, and every earlier decision\n"
            "  search   decisions, oldest first, one page (--all: every page)\n"
            "  export   every decision matching FILTERS, as CSV (--json: one object per line)\n"
            "  review   enrollments waiting for a person (ADJUDICATE), oldest first\n"
            "  decide   settle one of them: --unique (it becomes PRINT_READY and is\n"
            "           authorised for printing) or --duplicate-of RECORD (the enrolled\n"
            "           person's record id, as `show` lists candidates), with a reason\n"
            "  verify   walk the hash-chained audit log; names the first broken entry\n"
            "\n"
            "Filters (search, export, review):\n"
            "  --office CODE        decisions on this office's enrollments\n"
            "  --from TIME          decided at or after TIME\n"
            "  --to TIME            decided before TIME\n"
            "                       TIME: 2026-12-02, 2026-12-02T10:15:03Z (UTC) or @MS\n"
            "  --decision D         unique, duplicate or review\n"
            "  --min-score S        the top candidate's fused score at least S\n"
            "  --max-score S        ... at most S\n"
            "  --nik NIK            enrollments that claim this NIK\n"
            "  --page-size N        decisions per page (1-1000, default 100)\n"
            "  --page-token T       continue where an earlier page ended\n"
            "\n"
            "Output: tables for people; --json prints JSON (one object, or one object per\n"
            "line for lists), --csv one header and a row per decision. Colour only on a\n"
            "terminal (NO_COLOR turns it off).\n"
            "\n"
            "Connection:\n%s"
            "\n"
            "Examples:\n"
            "  sidik audit show 6f1c2a4e-0b7d-4c55-9a61-2f0e8d3b9c10\n"
            "  sidik audit search --office 3171 --from 2026-12-01 --decision duplicate\n"
            "  sidik audit export --from 2026-12-01 --to 2026-12-02 > decisions.csv\n"
            "  sidik audit review --all\n"
            "  sidik audit decide 6f1c2a4e-... --duplicate-of 1042 --reason \"same person, scar on "
            "R2\"\n"
            "  sidik audit verify\n"
            "\n"
            "%s",
            sidik_client_flags_usage, sidik_cli_exit_codes_usage);
}

static int parse_decision(const char *s, Sidik__V1__Decision *d)
{
    if (strcmp(s, "unique") == 0)
        *d = SIDIK__V1__DECISION__UNIQUE;
    else if (strcmp(s, "duplicate") == 0)
        *d = SIDIK__V1__DECISION__DUPLICATE_OF;
    else if (strcmp(s, "review") == 0)
        *d = SIDIK__V1__DECISION__REVIEW;
    else
        return SIDIK_EINVAL;
    return 0;
}

static int parse_score(const char *s, double *x)
{
    char *end;
    errno = 0;
    *x = strtod(s, &end);
    return s[0] == '\0' || *end != '\0' || errno != 0 || *x != *x ? SIDIK_EINVAL : 0;
}

static int parse_u64(const char *s, uint64_t *v, uint64_t max)
{
    char *end;
    if (s[0] < '0' || s[0] > '9')
        return SIDIK_EINVAL;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (*end != '\0' || errno != 0 || x > max)
        return SIDIK_EINVAL;
    *v = x;
    return 0;
}

/* One option with a value at argv[*i]; 1 taken, 0 not this one, or a
 * usage exit code (negated, so it cannot be mistaken for "taken"). */
static int take_filter(args *a, int argc, char **argv, int *i)
{
    static const char *const names[] = {"--office",   "--from",      "--to",
                                        "--decision", "--min-score", "--max-score",
                                        "--nik",      "--page-size", "--page-token"};
    const char *opt = argv[*i];
    size_t k = 0;
    while (k < SIDIK_ARRAY_SIZE(names) && strcmp(opt, names[k]) != 0)
        k++;
    if (k == SIDIK_ARRAY_SIZE(names))
        return 0;
    if (*i + 1 >= argc)
        return -sidik_cli_bad("audit", "%s needs a value", opt);
    const char *v = argv[++*i];
    Sidik__V1__SearchDecisionsRequest *r = &a->filter;
    uint64_t n;
    switch (k) {
    case 0:
        r->office_code = (char *)v;
        break;
    case 1:
        if (sidik_out_parse_time(v, &r->from_ms) != 0)
            return -sidik_cli_bad(
                "audit", "--from '%s' is not a time (2026-12-02, 2026-12-02T10:15:03Z or @MS)", v);
        break;
    case 2:
        if (sidik_out_parse_time(v, &r->to_ms) != 0)
            return -sidik_cli_bad(
                "audit", "--to '%s' is not a time (2026-12-02, 2026-12-02T10:15:03Z or @MS)", v);
        break;
    case 3:
        if (parse_decision(v, &r->decision) != 0)
            return -sidik_cli_bad("audit", "--decision '%s': say unique, duplicate or review", v);
        break;
    case 4:
        if (parse_score(v, &r->min_score) != 0)
            return -sidik_cli_bad("audit", "--min-score '%s' is not a number", v);
        break;
    case 5:
        if (parse_score(v, &r->max_score) != 0)
            return -sidik_cli_bad("audit", "--max-score '%s' is not a number", v);
        break;
    case 6:
        r->nik = (char *)v;
        break;
    case 7:
        if (parse_u64(v, &n, 1000) != 0 || n == 0)
            return -sidik_cli_bad("audit", "--page-size '%s': give 1 to 1000", v);
        r->page_size = (uint32_t)n;
        break;
    default:
        r->page_token = (char *)v;
        break;
    }
    return 1;
}

static int take_format(args *a, const char *opt)
{
    format f;
    if (strcmp(opt, "--json") == 0)
        f = FMT_JSON;
    else if (strcmp(opt, "--csv") == 0)
        f = FMT_CSV;
    else
        return 0;
    if (a->fmt_set && a->fmt != f)
        return -sidik_cli_bad("audit", "%s: choose one of --json and --csv", opt);
    a->fmt = f;
    a->fmt_set = true;
    return 1;
}

/* Which options each subcommand takes. */
enum { TAKES_FILTER = 1, TAKES_CSV = 2, TAKES_ALL = 4, TAKES_ID = 8, TAKES_VERDICT = 16 };

static unsigned takes(const char *sub)
{
    if (strcmp(sub, "show") == 0)
        return TAKES_ID;
    if (strcmp(sub, "search") == 0 || strcmp(sub, "review") == 0)
        return TAKES_FILTER | TAKES_CSV | TAKES_ALL;
    if (strcmp(sub, "export") == 0)
        return TAKES_FILTER;
    if (strcmp(sub, "decide") == 0)
        return TAKES_ID | TAKES_VERDICT;
    return 0; /* verify */
}

static int parse(args *a, int argc, char **argv)
{
    unsigned t = takes(a->sub);
    char why[256];
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i];
        int r = sidik_client_flags_take(&a->net, argc, argv, &i, why, sizeof why);
        if (r < 0)
            return sidik_cli_bad("audit", "%s", why);
        if (r == 1)
            continue;
        if ((t & TAKES_FILTER) && (r = take_filter(a, argc, argv, &i)) != 0) {
            if (r < 0)
                return -r;
            continue;
        }
        if ((r = take_format(a, opt)) != 0) {
            if (r < 0)
                return -r;
            if (a->fmt == FMT_CSV && !(t & TAKES_CSV) && strcmp(a->sub, "export") != 0)
                return sidik_cli_bad("audit", "--csv is for search, export and review, not %s",
                                     a->sub);
            continue;
        }
        if ((t & TAKES_ALL) && strcmp(opt, "--all") == 0) {
            a->all = true;
        } else if ((t & TAKES_VERDICT) && strcmp(opt, "--unique") == 0) {
            a->unique = true;
        } else if ((t & TAKES_VERDICT) && strcmp(opt, "--duplicate-of") == 0) {
            if (i + 1 >= argc)
                return sidik_cli_bad("audit", "%s needs a value: the enrolled person's record id",
                                     opt);
            if (parse_u64(argv[++i], &a->duplicate_of, UINT64_MAX) != 0)
                return sidik_cli_bad("audit", "--duplicate-of '%s' is not a record id", argv[i]);
            a->duplicate_set = true;
        } else if ((t & TAKES_VERDICT) && strcmp(opt, "--reason") == 0) {
            if (i + 1 >= argc)
                return sidik_cli_bad("audit", "%s needs a value", opt);
            a->reason = argv[++i];
        } else if ((t & TAKES_ID) && opt[0] != '-' && a->id == NULL) {
            a->id = opt;
        } else {
            return sidik_cli_bad("audit", "unexpected '%s'", opt);
        }
    }
    if ((t & TAKES_ID) && a->id == NULL)
        return sidik_cli_bad("audit", "%s needs the enrollment id", a->sub);
    if (t & TAKES_VERDICT) {
        if (a->unique == a->duplicate_set)
            return sidik_cli_bad(
                "audit", "%s needs exactly one of --unique and --duplicate-of RECORD", a->sub);
        if (a->reason == NULL || a->reason[0] == '\0')
            return sidik_cli_bad("audit", "%s needs --reason TEXT: why, for the audit log", a->sub);
    }
    if (a->all && a->filter.page_token[0] != '\0')
        return sidik_cli_bad("audit", "%s: --all starts from the beginning; leave out --page-token",
                             a->sub);
    if (strcmp(a->sub, "export") == 0) {
        a->all = true;
        if (!a->fmt_set)
            a->fmt = FMT_CSV;
    }
    return 0;
}

/* ---- the subcommands ------------------------------------------------ */

static int show(const args *a, sidik_rpc *c)
{
    Sidik__V1__GetDecisionRequest req = SIDIK__V1__GET_DECISION_REQUEST__INIT;
    req.enrollment_id = (char *)a->id;
    ProtobufCMessage *m = NULL;
    int rc = sidik_cli_unary("audit", c, "/sidik.v1.Audit/GetDecision", &req.base,
                             &sidik__v1__decision_record__descriptor, &m);
    if (rc != 0)
        return rc;
    /* The status history is the Status service's (auditors may read it);
     * without it the decision still shows. */
    Sidik__V1__GetStatusRequest sreq = SIDIK__V1__GET_STATUS_REQUEST__INIT;
    sreq.enrollment_id = (char *)a->id;
    ProtobufCMessage *st = NULL;
    if (sidik_cli_unary("audit", c, "/sidik.v1.Status/Get", &sreq.base,
                        &sidik__v1__enrollment_state__descriptor, &st) != 0)
        st = NULL;
    const Sidik__V1__DecisionRecord *d = (const void *)m;
    if (a->fmt == FMT_JSON) {
        sidik_audit_json(stdout, d, (const void *)st);
        putchar('\n');
    } else {
        sidik_audit_show(stdout, d, (const void *)st);
    }
    if (st != NULL)
        sidik_rpc_message_free(st);
    sidik_rpc_message_free(m);
    return SIDIK_CLI_EXIT_OK;
}

typedef struct lister {
    const args *a;
    sidik_table table;
    uint64_t shown;
} lister;

static int list_page(lister *l, const Sidik__V1__SearchDecisionsResponse *r)
{
    for (size_t i = 0; i < r->n_decisions; i++) {
        const Sidik__V1__DecisionRecord *d = r->decisions[i];
        if (l->a->fmt == FMT_JSON) {
            sidik_audit_json(stdout, d, NULL);
            putchar('\n');
        } else if (l->a->fmt == FMT_CSV) {
            sidik_audit_csv_row(stdout, d);
        } else {
            char cells[SIDIK_AUDIT_TABLE_COLS][96];
            const char *ptrs[SIDIK_AUDIT_TABLE_COLS];
            sidik_audit_table_cells(d, cells);
            for (unsigned k = 0; k < SIDIK_AUDIT_TABLE_COLS; k++)
                ptrs[k] = cells[k];
            if (sidik_table_row(&l->table, ptrs) != 0) {
                fprintf(stderr, "sidik audit: out of memory for the table; try --csv\n");
                return SIDIK_CLI_EXIT_FAIL;
            }
        }
        l->shown++;
    }
    return 0;
}

static int list(const args *a, sidik_rpc *c, const char *path)
{
    lister l = {.a = a};
    sidik_table_init(&l.table, SIDIK_AUDIT_TABLE_COLS, sidik_audit_table_head);
    if (a->fmt == FMT_CSV)
        sidik_audit_csv_header(stdout);
    Sidik__V1__SearchDecisionsRequest req = a->filter;
    if (a->all && req.page_size == 0)
        req.page_size = PAGE_ALL_SIZE;
    char token[256] = "";
    int rc = 0;
    bool more;
    do {
        ProtobufCMessage *m = NULL;
        rc = sidik_cli_unary("audit", c, path, &req.base,
                             &sidik__v1__search_decisions_response__descriptor, &m);
        if (rc != 0)
            break;
        const Sidik__V1__SearchDecisionsResponse *r = (const void *)m;
        rc = list_page(&l, r);
        snprintf(token, sizeof token, "%s", r->next_page_token);
        sidik_rpc_message_free(m);
        more = token[0] != '\0';
        req.page_token = token;
        fflush(stdout);
    } while (rc == 0 && more && a->all);
    if (rc == 0 && a->fmt == FMT_TABLE) {
        if (l.shown > 0)
            sidik_table_print(&l.table, stdout);
        else
            printf("no decisions match\n");
    }
    if (rc == 0 && token[0] != '\0' && !a->all)
        fprintf(stderr, "more: --page-token %s (or --all)\n", token);
    sidik_table_close(&l.table);
    return rc;
}

static int decide(const args *a, sidik_rpc *c)
{
    Sidik__V1__AdjudicateRequest req = SIDIK__V1__ADJUDICATE_REQUEST__INIT;
    req.enrollment_id = (char *)a->id;
    req.decision = a->unique ? SIDIK__V1__DECISION__UNIQUE : SIDIK__V1__DECISION__DUPLICATE_OF;
    req.duplicate_of = a->duplicate_of;
    req.reason = (char *)a->reason;
    ProtobufCMessage *m = NULL;
    int rc = sidik_cli_unary("audit", c, "/sidik.v1.Audit/Adjudicate", &req.base,
                             &sidik__v1__decision_record__descriptor, &m);
    if (rc != 0)
        return rc;
    const Sidik__V1__DecisionRecord *d = (const void *)m;
    if (a->fmt == FMT_JSON) {
        sidik_audit_json(stdout, d, NULL);
        putchar('\n');
    } else {
        char b[32];
        printf("%s: %s by %s, recorded in the audit log\n", d->enrollment_id,
               sidik_audit_enum_name(&sidik__v1__decision__descriptor, d->decision, b, sizeof b),
               d->adjudicator);
        printf("next: sidik audit show %s\n", d->enrollment_id);
    }
    sidik_rpc_message_free(m);
    return SIDIK_CLI_EXIT_OK;
}

static int verify(const args *a, sidik_rpc *c)
{
    Sidik__V1__VerifyChainRequest req = SIDIK__V1__VERIFY_CHAIN_REQUEST__INIT;
    ProtobufCMessage *m = NULL;
    int rc = sidik_cli_unary("audit", c, "/sidik.v1.Audit/VerifyChain", &req.base,
                             &sidik__v1__verify_chain_response__descriptor, &m);
    if (rc != 0)
        return rc;
    const Sidik__V1__VerifyChainResponse *r = (const void *)m;
    char head[65] = "";
    for (size_t i = 0; i < r->head_sha256.len && i < 32; i++)
        snprintf(head + 2 * i, 3, "%02x", r->head_sha256.data[i]);
    if (a->fmt == FMT_JSON)
        printf("{\"entries\":%" PRIu64 ",\"intact\":%s,\"first_broken\":%" PRIu64
               ",\"head_sha256\":\"%s\"}\n",
               r->entries, r->intact ? "true" : "false", r->first_broken, head);
    else if (r->intact)
        printf("audit log intact: %" PRIu64 " entries, head %s\n", r->entries, head);
    else
        printf("audit log BROKEN at entry %" PRIu64 " (%" PRIu64 " entries before it check);\n"
               "the store was changed outside sidikd: keep a copy of data_dir/control for the\n"
               "investigation before anything else writes to it\n",
               r->first_broken, r->entries);
    rc = r->intact ? SIDIK_CLI_EXIT_OK : SIDIK_CLI_EXIT_FAIL;
    sidik_rpc_message_free(m);
    return rc;
}

int sidik_cmd_audit(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? SIDIK_CLI_EXIT_USAGE : SIDIK_CLI_EXIT_OK;
    }
    static const char *const subs[] = {"show", "search", "export", "review", "decide", "verify"};
    size_t k = 0;
    while (k < SIDIK_ARRAY_SIZE(subs) && strcmp(argv[1], subs[k]) != 0)
        k++;
    if (k == SIDIK_ARRAY_SIZE(subs))
        return sidik_cli_bad("audit", "unknown subcommand '%s'", argv[1]);
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return SIDIK_CLI_EXIT_OK;
        }
    args a = {.sub = subs[k]};
    sidik__v1__search_decisions_request__init(&a.filter);
    int rc = parse(&a, argc, argv);
    if (rc != 0)
        return rc;
    sidik_rpc *c;
    if ((rc = sidik_cli_connect("audit", &a.net, &c)) != 0)
        return rc;
    switch (k) {
    case 0:
        rc = show(&a, c);
        break;
    case 1:
    case 2:
        rc = list(&a, c, "/sidik.v1.Audit/SearchDecisions");
        break;
    case 3:
        rc = list(&a, c, "/sidik.v1.Audit/ReviewQueue");
        break;
    case 4:
        rc = decide(&a, c);
        break;
    default:
        rc = verify(&a, c);
        break;
    }
    sidik_rpc_close(c);
    return rc;
}
