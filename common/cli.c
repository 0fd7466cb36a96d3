/* cli — usage errors of the command-line programs, in one form. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>

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
