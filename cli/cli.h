/* The `sidik` command's subcommands. Each takes argv after its own name
 * (argv[0] is the subcommand) and returns the process exit code:
 * 0 success, 1 the work failed, 2 the command line was wrong; commands that
 * talk to sidikd also 3 (it could not be reached or did not answer: worth
 * retrying) and 4 (this certificate's role may not do that). */
#ifndef SIDIK_CLI_H
#define SIDIK_CLI_H

#define SIDIK_CLI_EXIT_OK    0
#define SIDIK_CLI_EXIT_FAIL  1
#define SIDIK_CLI_EXIT_USAGE 2
#define SIDIK_CLI_EXIT_UNREACHABLE 3
#define SIDIK_CLI_EXIT_DENIED 4

int sidik_cmd_version(int argc, char **argv);
int sidik_cmd_eval(int argc, char **argv);
int sidik_cmd_gen(int argc, char **argv);
int sidik_cmd_print(int argc, char **argv);
int sidik_cmd_preload(int argc, char **argv);
int sidik_cmd_status(int argc, char **argv);
int sidik_cmd_upload(int argc, char **argv);
int sidik_cmd_audit(int argc, char **argv);
int sidik_cmd_admin(int argc, char **argv);

#endif
