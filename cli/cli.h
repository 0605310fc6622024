/* The `sidik` command's subcommands. Each takes argv after its own name
 * (argv[0] is the subcommand) and returns the process exit code:
 * 0 success, 1 the work failed, 2 the command line was wrong. */
#ifndef SIDIK_CLI_H
#define SIDIK_CLI_H

#define SIDIK_CLI_EXIT_OK    0
#define SIDIK_CLI_EXIT_FAIL  1
#define SIDIK_CLI_EXIT_USAGE 2

int sidik_cmd_version(int argc, char **argv);
int sidik_cmd_eval(int argc, char **argv);
int sidik_cmd_gen(int argc, char **argv);
int sidik_cmd_print(int argc, char **argv);
int sidik_cmd_preload(int argc, char **argv);

#endif
