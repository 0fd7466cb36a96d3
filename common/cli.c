/* cli — usage errors of the command-line programs, in one form. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "protocol.h"

static const char *cli_name = "stemcap";

void
cli_set_prog(const char *prog)
{
    cli_name = prog;
}

const char *
cli_prog(void)
{
    return cli_name;
}

int
cli_usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", cli_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", cli_name);
    return CLI_EXIT_USAGE;
}

int
cli_bad_option(int opt, int unknown_short, const char *option_text)
{
    if (opt == ':')
        return cli_usage_error("option '%s' needs a value", option_text);
    if (unknown_short)
        return cli_usage_error("unknown option '-%c'", unknown_short);
    return cli_usage_error("unknown option '%s'", option_text);
}

int
cli_peer_defaults(const char **host, const char **port)
{
    *host = getenv("STEMCAP_HOST");
    *port = getenv("STEMCAP_PORT");
    if (!*host || !**host)
        *host = PROTO_DEFAULT_HOST;
    if (!*port || !**port) {
        *port = PROTO_DEFAULT_PORT_STR;
        return 0;
    }
    return 1;
}

int
cli_parse_int(const char *text, long min, long max, long *out)
{
    char *end;
    long long n;

    if (!*text || *text == ' ' || (*text >= '\t' && *text <= '\r'))
        return -1;
    errno = 0;
    n = strtoll(text, &end, 10);
    if (errno || *end || n < min || n > max)
        return -1;
    *out = (long)n;
    return 0;
}

int
cli_peer_check(const char *host, const char *port, int port_from_env)
{
    long n;

    if (!*host)
        return cli_usage_error("empty host name");
    if (cli_parse_int(port, 1, 65535, &n) < 0)
        return cli_usage_error("bad port '%s'%s: expected a number 1-65535", port,
                               port_from_env ? " (from STEMCAP_PORT)" : "");
    return 0;
}
