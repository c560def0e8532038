/* SPDX-License-Identifier: MIT */
/* main: the command line of mtastsd (check, policy, dns, serve). */
#include "commands.h"
#include "config.h"
#include "dname.h"
#include "policy.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: mtastsd [-c FILE] COMMAND [ARGS]\n"
	    "\n"
	    "commands:\n"
	    "  serve                 run the policy server in the foreground\n"
	    "  check                 validate the configuration and certificates\n"
	    "  policy DOMAIN         print the exact policy body served for DOMAIN\n"
	    "  dns [--format F] [--side S]\n"
	    "                        print the DNS records (F: bind, json, nsupdate;\n"
	    "                        S: provider (default), customer, with\n"
	    "                        dns.delegate_zone set)\n"
	    "\n"
	    "options:\n"
	    "  -c FILE               configuration (default: $MTASTSD_CONFIG, else %s)\n"
	    "  -h, --help            this help\n"
	    "  --version             print the version\n"
	    "\n"
	    "exit status: 0 ok, 1 invalid input, 2 usage error\n", CONFIG_DEFAULT_PATH);
}

static int
cmd_check(const char *path, int argc, char **argv)
{
	struct diag_list dl;
	struct config *cfg;
	int rc;
	(void)argv;

	if (argc != 1) {
		fprintf(stderr, "mtastsd: check takes no arguments\n");
		return EXIT_USAGE;
	}
	diag_init(&dl, path);
	cfg = config_load(path, &dl);
	if (cfg != NULL)
		check_extra(cfg, &dl);
	diag_sort(&dl);
	diag_print(&dl, stderr);
	rc = dl.errors == 0 ? EXIT_OK : EXIT_INVALID;
	if (rc == EXIT_OK)
		printf("configuration OK\n");
	diag_free(&dl);
	config_free(cfg);
	return rc;
}

static int
cmd_policy(const char *path, int argc, char **argv)
{
	struct config *cfg;
	const struct config_domain *d;
	char err[512], *name, *body;
	size_t len;

	if (argc != 2) {
		fprintf(stderr, "mtastsd: usage: mtastsd [-c FILE] policy DOMAIN\n");
		return EXIT_USAGE;
	}
	if (dname_normalize(argv[1], DNAME_HOST, &name, err, sizeof(err)) < 0) {
		fprintf(stderr, "mtastsd: invalid domain: %s\n", err);
		return EXIT_INVALID;
	}
	if ((cfg = cmd_load_config(path)) == NULL) {
		free(name);
		return EXIT_INVALID;
	}
	d = config_find_domain(cfg, name);
	if (d == NULL) {
		fprintf(stderr, "mtastsd: unknown domain '%s': not in %s\n", name, path);
		free(name);
		config_free(cfg);
		return EXIT_INVALID;
	}
	body = policy_render(d, &len);
	fwrite(body, 1, len, stdout);
	free(body);
	free(name);
	config_free(cfg);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_INVALID;
}

static const struct command {
	const char *name;
	int (*fn)(const char *config_path, int argc, char **argv);
} commands[] = {
	{ "check", cmd_check },
	{ "policy", cmd_policy },
	{ "dns", cmd_dns },
	{ "serve", cmd_serve },
};

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv("MTASTSD_CONFIG");
	int ch;

	if (path == NULL || path[0] == '\0')
		path = CONFIG_DEFAULT_PATH;
	/* "+" stops at the command, so each command parses its own options */
	while ((ch = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("mtastsd %s\n", MTASTSD_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, argv[optind]) == 0) {
			int sub_argc = argc - optind;
			char **sub_argv = argv + optind;
			optind = 1;	/* reset getopt for the command */
			return commands[i].fn(path, sub_argc, sub_argv);
		}
	}
	fprintf(stderr, "mtastsd: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return EXIT_USAGE;
}
