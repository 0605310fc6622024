/*
 * `sidik admin`: what a node's administrators do, over sidikd's Admin
 * service (an admin certificate).
 *
 *   sidik admin shards           the gallery shards: records and bytes each
 *   sidik admin shards add       one more, empty shard
 *   sidik admin rebalance        move records from fuller shards to emptier ones
 *   sidik admin stats            gallery size, queues, throughput, capacity
 *   sidik admin config           the settings sidikd runs with
 */
#include "cli.h"
#include "client_call.h"
#include "out.h"
#include "sidik/common.h"
#include "sidik.pb-c.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct args {
    const char *sub;
    bool add, json;
    uint32_t max_moves;
    sidik_client_flags net;
} args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sidik admin shards [add] [--json]\n"
            "       sidik admin rebalance [--max-moves N] [--json]\n"
            "       sidik admin stats [--json]\n"
            "       sidik admin config [--json]\n"
            "\n"
            "A node's administration. Needs an admin certificate; every change is\n"
            "recorded in the audit log under that certificate's name.\n"
            "\n"
            "  shards      every gallery shard with its records and bytes on disk\n"
            "  shards add  a new, empty shard (new persons go to the emptiest shard)\n"
            "  rebalance   moves records from fuller to emptier shards while sidikd keeps\n"
            "              searching and deciding; a progress bar on a terminal. Ctrl-C\n"
            "              stops it between moves (every record stays in exactly one shard)\n"
            "  stats       persons in the gallery, enrollments waiting to be decided, the\n"
            "              review and print queues, decisions a second over the last\n"
            "              minute and the enrollments a day this node could decide at its\n"
            "              current gallery size\n"
            "  config      the settings in force (sidikd.conf and its defaults)\n"
            "\n"
            "  --max-moves N  rebalance: move at most N records (default: until balanced)\n"
            "  --json         JSON for programs (rebalance: one object per progress step)\n"
            "\n"
            "Connection:\n%s"
            "\n"
            "Examples:\n"
            "  sidik admin shards\n"
            "  sidik admin shards add && sidik admin rebalance\n"
            "  sidik admin stats --json\n"
            "\n"
            "%s",
            sidik_client_flags_usage, sidik_cli_exit_codes_usage);
}

static int parse(args *a, int argc, char **argv)
{
    char why[256];
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i];
        int r = sidik_client_flags_take(&a->net, argc, argv, &i, why, sizeof why);
        if (r < 0)
            return sidik_cli_bad("admin", "%s", why);
        if (r == 1)
            continue;
        if (strcmp(opt, "--json") == 0) {
            a->json = true;
        } else if (strcmp(a->sub, "shards") == 0 && strcmp(opt, "add") == 0 && !a->add) {
            a->add = true;
        } else if (strcmp(a->sub, "rebalance") == 0 && strcmp(opt, "--max-moves") == 0) {
            if (i + 1 >= argc)
                return sidik_cli_bad("admin", "--max-moves needs a number");
            const char *v = argv[++i];
            char *end;
            errno = 0;
            unsigned long n = strtoul(v, &end, 10);
            if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || n == 0 || n > UINT32_MAX)
                return sidik_cli_bad("admin", "--max-moves '%s': give 1 to %u", v, UINT32_MAX);
            a->max_moves = (uint32_t)n;
        } else {
            return sidik_cli_bad("admin", "unexpected '%s'", opt);
        }
    }
    return 0;
}

static void human_bytes(uint64_t b, char *out, size_t cap)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double x = (double)b;
    unsigned u = 0;
    while (x >= 1024 && u + 1 < SIDIK_ARRAY_SIZE(unit))
        x /= 1024, u++;
    snprintf(out, cap, u == 0 ? "%.0f %s" : "%.1f %s", x, unit[u]);
}

static void shard_json(const Sidik__V1__Shard *s)
{
    printf("{\"id\":%u,\"records\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"state\":", s->id, s->records,
           s->bytes);
    sidik_out_json_string(stdout, s->state);
    putchar('}');
}

static int shards(const args *a, sidik_rpc *c)
{
    ProtobufCMessage *m = NULL;
    int rc;
    if (a->add) {
        Sidik__V1__AddShardRequest req = SIDIK__V1__ADD_SHARD_REQUEST__INIT;
        rc = sidik_cli_unary("admin", c, "/sidik.v1.Admin/AddShard", &req.base,
                             &sidik__v1__shard__descriptor, &m);
        if (rc != 0)
            return rc;
        const Sidik__V1__Shard *s = (const void *)m;
        if (a->json) {
            shard_json(s);
            putchar('\n');
        } else {
            printf("shard %u added (%s); 'sidik admin rebalance' moves records onto it\n", s->id,
                   s->state);
        }
        sidik_rpc_message_free(m);
        return 0;
    }
    Sidik__V1__ListShardsRequest req = SIDIK__V1__LIST_SHARDS_REQUEST__INIT;
    rc = sidik_cli_unary("admin", c, "/sidik.v1.Admin/ListShards", &req.base,
                         &sidik__v1__list_shards_response__descriptor, &m);
    if (rc != 0)
        return rc;
    const Sidik__V1__ListShardsResponse *r = (const void *)m;
    if (a->json) {
        fputs("{\"shards\":[", stdout);
        for (size_t i = 0; i < r->n_shards; i++) {
            if (i)
                putchar(',');
            shard_json(r->shards[i]);
        }
        fputs("]}\n", stdout);
    } else {
        static const char *const head[] = {">shard", ">records", ">bytes", "state"};
        sidik_table t;
        sidik_table_init(&t, 4, head);
        uint64_t records = 0, bytes = 0;
        for (size_t i = 0; i < r->n_shards && rc == 0; i++) {
            const Sidik__V1__Shard *s = r->shards[i];
            char id[16], rec[24], b[24];
            snprintf(id, sizeof id, "%u", s->id);
            snprintf(rec, sizeof rec, "%" PRIu64, s->records);
            human_bytes(s->bytes, b, sizeof b);
            const char *cells[] = {id, rec, b, s->state};
            rc = sidik_table_row(&t, cells) != 0 ? SIDIK_CLI_EXIT_FAIL : 0;
            records += s->records, bytes += s->bytes;
        }
        sidik_table_print(&t, stdout);
        sidik_table_close(&t);
        char b[24];
        human_bytes(bytes, b, sizeof b);
        printf("%zu shards, %" PRIu64 " records, %s\n", r->n_shards, records, b);
    }
    sidik_rpc_message_free(m);
    return rc;
}

typedef struct rebalance_view {
    const args *a;
    sidik_progress bar;
    uint64_t moved, total;
    bool done;
} rebalance_view;

static int on_progress(void *ctx, ProtobufCMessage *m)
{
    rebalance_view *v = ctx;
    const Sidik__V1__RebalanceProgress *p = (const void *)m;
    v->moved = p->moved, v->total = p->total, v->done = p->done;
    if (v->a->json)
        printf("{\"moved\":%" PRIu64 ",\"total\":%" PRIu64 ",\"done\":%s}\n", p->moved, p->total,
               p->done ? "true" : "false");
    else
        sidik_progress_update(&v->bar, p->moved, p->total);
    fflush(stdout);
    sidik_rpc_message_free(m);
    return 0;
}

static int rebalance(const args *a, sidik_rpc *c)
{
    Sidik__V1__RebalanceRequest req = SIDIK__V1__REBALANCE_REQUEST__INIT;
    req.max_moves = a->max_moves;
    rebalance_view v = {.a = a};
    sidik_progress_start(&v.bar, "moved", 0);
    int rc = sidik_cli_stream("admin", c, "/sidik.v1.Admin/Rebalance", &req.base,
                              &sidik__v1__rebalance_progress__descriptor, on_progress, &v);
    if (!a->json)
        sidik_progress_end(&v.bar, v.moved);
    if (rc != 0)
        return rc;
    if (!v.done) {
        fprintf(stderr,
                "sidik admin: the rebalance ended without saying it was done (moved %" PRIu64
                " of %" PRIu64 "); 'sidik admin shards' shows where records are\n",
                v.moved, v.total);
        return SIDIK_CLI_EXIT_FAIL;
    }
    if (!a->json)
        printf("rebalanced: %" PRIu64 " records moved\n", v.moved);
    return 0;
}

static int stats(const args *a, sidik_rpc *c)
{
    Sidik__V1__StatsRequest req = SIDIK__V1__STATS_REQUEST__INIT;
    ProtobufCMessage *m = NULL;
    int rc = sidik_cli_unary("admin", c, "/sidik.v1.Admin/Stats", &req.base,
                             &sidik__v1__stats_response__descriptor, &m);
    if (rc != 0)
        return rc;
    const Sidik__V1__StatsResponse *s = (const void *)m;
    if (a->json) {
        printf("{\"gallery_persons\":%" PRIu64 ",\"dedup_queue\":%" PRIu64
               ",\"review_queue\":%" PRIu64 ",\"print_queue\":%" PRIu64 ",\"decided_per_second\":",
               s->gallery_persons, s->dedup_queue, s->review_queue, s->print_queue);
        sidik_out_json_number(stdout, s->decided_per_second);
        fputs(",\"capacity_per_day\":", stdout);
        sidik_out_json_number(stdout, s->capacity_per_day);
        fputs(",\"dedup_paused\":", stdout);
        sidik_out_json_string(stdout, s->dedup_paused);
        fputs("}\n", stdout);
    } else {
        if (s->dedup_paused[0] != 0)
            printf("dedup stage        PAUSED: %s\n", s->dedup_paused);
        printf("gallery            %" PRIu64 " persons\n", s->gallery_persons);
        printf("waiting to decide  %" PRIu64 " enrollments\n", s->dedup_queue);
        printf("review queue       %" PRIu64 " enrollments waiting for a person\n",
               s->review_queue);
        printf("print queue        %" PRIu64 " authorisations waiting for a print station\n",
               s->print_queue);
        printf("decided            %.1f enrollments/s over the last minute\n",
               s->decided_per_second);
        if (s->capacity_per_day > 0)
            printf("capacity           %.0f enrollments/day at this gallery size\n",
                   s->capacity_per_day);
        else
            printf("capacity           not measured yet (nothing decided since sidikd started)\n");
    }
    sidik_rpc_message_free(m);
    return 0;
}

static int entry_order(const void *x, const void *y)
{
    const Sidik__V1__ConfigResponse__SettingsEntry *const *a = x, *const *b = y;
    return strcmp((*a)->key, (*b)->key);
}

static int config(const args *a, sidik_rpc *c)
{
    Sidik__V1__ConfigRequest req = SIDIK__V1__CONFIG_REQUEST__INIT;
    ProtobufCMessage *m = NULL;
    int rc = sidik_cli_unary("admin", c, "/sidik.v1.Admin/GetConfig", &req.base,
                             &sidik__v1__config_response__descriptor, &m);
    if (rc != 0)
        return rc;
    Sidik__V1__ConfigResponse *r = (void *)m;
    /* A protobuf map has no order; people and diffs want one. */
    qsort(r->settings, r->n_settings, sizeof *r->settings, entry_order);
    if (a->json)
        putchar('{');
    for (size_t i = 0; i < r->n_settings; i++) {
        const Sidik__V1__ConfigResponse__SettingsEntry *e = r->settings[i];
        if (a->json) {
            if (i)
                putchar(',');
            sidik_out_json_string(stdout, e->key);
            putchar(':');
            sidik_out_json_string(stdout, e->value);
        } else {
            printf("%s = %s\n", e->key, e->value);
        }
    }
    if (a->json)
        fputs("}\n", stdout);
    sidik_rpc_message_free(m);
    return 0;
}

int sidik_cmd_admin(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? SIDIK_CLI_EXIT_USAGE : SIDIK_CLI_EXIT_OK;
    }
    static const char *const subs[] = {"shards", "rebalance", "stats", "config"};
    size_t k = 0;
    while (k < SIDIK_ARRAY_SIZE(subs) && strcmp(argv[1], subs[k]) != 0)
        k++;
    if (k == SIDIK_ARRAY_SIZE(subs))
        return sidik_cli_bad("admin", "unknown subcommand '%s'", argv[1]);
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return SIDIK_CLI_EXIT_OK;
        }
    args a = {.sub = subs[k]};
    int rc = parse(&a, argc, argv);
    if (rc != 0)
        return rc;
    sidik_rpc *c;
    if ((rc = sidik_cli_connect("admin", &a.net, &c)) != 0)
        return rc;
    switch (k) {
    case 0:
        rc = shards(&a, c);
        break;
    case 1:
        rc = rebalance(&a, c);
        break;
    case 2:
        rc = stats(&a, c);
        break;
    default:
        rc = config(&a, c);
        break;
    }
    sidik_rpc_close(c);
    return rc;
}
