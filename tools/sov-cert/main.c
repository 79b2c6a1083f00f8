/*
 * sov-cert - ACME (RFC 8555) certificates for the gateway's names.
 */
#include "cli.h"

static const struct sov_cmd cmds[] = {
    {NULL, NULL, NULL, NULL, NULL},
};

static const struct sov_tool tool = {
    "sov-cert",
    "ACME certificates: account, issue, renew, list",
    cmds,
};

int
main(int argc, char **argv)
{
	return sov_cli_main(&tool, argc, argv);
}
