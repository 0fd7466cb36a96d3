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

/* Parses TEXT as a decimal integer in [MIN, MAX] into *OUT (no leading
 * white space).  Returns 0, or -1 (not reported). */
int cli_parse_int(const char *text, long min, long max, long *out);
/* Where stemcapd is: $STEMCAP_HOST and $STEMCAP_PORT when set and not
 * empty, else protocol.h's defaults, into *HOST and *PORT (-H and -p then
 * override them).  Returns 1 when the port came from the environment. */
int cli_peer_defaults(const char **host, const char **port);
/* Checks the peer the options gave (PORT_FROM_ENV: for the message).
 * Returns 0, or the usage error's exit status. */
int cli_peer_check(const char *host, const char *port, int port_from_env);

#endif
