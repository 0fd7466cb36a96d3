/* cli — what stemcap's command-line programs share: their name in messages,
 * and usage errors in one form ("PROG: what\nTry 'PROG --help' ..."), exit
 * status CLI_EXIT_USAGE. */
#ifndef STEMCAP_CLI_H
#define STEMCAP_CLI_H

#define CLI_EXIT_USAGE 2

/* The program's name for the messages below (a string that lives on). */
void cli_set_prog(const char *prog);
const char *cli_prog(void);
/* Reports a usage error on stderr.  Returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The usage error for getopt_long()'s ':' (a value missing) or '?' (an
 * unknown option): OPT is what getopt returned, OPTION_TEXT
 * argv[optind - 1].  Returns CLI_EXIT_USAGE. */
int cli_bad_option(int opt, int unknown_short, const char *option_text);

#endif
