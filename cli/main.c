/*
 * sidik: one command for offices, auditors, admins, print stations and tools.
 * Each subcommand lives in its own cmd_*.c file.
 */
#include "cli.h"
#include "sidik/common.h"

#include <stdio.h>
#include <string.h>

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"version", sidik_cmd_version, "print versions of sidik, its libraries and the SIMD level"},
    {"eval", sidik_cmd_eval, "measure matcher accuracy on a folder of templates (FVC protocol)"},
    {"gen", sidik_cmd_gen, "generate a synthetic population of ten-finger records (--calibrate)"},
    {"preload", sidik_cmd_preload, "write persons of an earlier system into a stopped sidikd's gallery"},
    {"audit", sidik_cmd_audit, "auditors: decisions, candidates, the review queue, verdicts, the audit chain"},
    {"admin", sidik_cmd_admin, "admins: gallery shards (list, add, rebalance), stats, configuration"},
    {"upload", sidik_cmd_upload, "offices: spool captures and send them to sidikd over any link"},
    {"status", sidik_cmd_status, "offices: where enrollments stand (get one, list the office's)"},
    {"print", sidik_cmd_print, "print stations: verify signed print authorisations offline"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: sidik <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < SIDIK_ARRAY_SIZE(commands); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'sidik <command> --help' describes one command.\n"
               "Exit codes: 0 success, 1 the work failed, 2 the command line was wrong;\n"
               "commands that talk to sidikd also 3 (it could not be reached: retry) and\n"
               "4 (this certificate's role may not do that).\n");
}

int main(int argc, char **argv)
{
    sidik_log_init_from_env();
    if (argc < 2) {
        usage(stderr);
        return SIDIK_CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return SIDIK_CLI_EXIT_OK;
    }
    for (size_t i = 0; i < SIDIK_ARRAY_SIZE(commands); i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "sidik: unknown command '%s'; 'sidik --help' lists them\n", argv[1]);
    return SIDIK_CLI_EXIT_USAGE;
}
