/* SPDX-License-Identifier: MIT */
/* main: the command line of mtastsd (check, policy, dns, certs, serve, verify). */
#include "commands.h"
#include "config.h"
#include "dname.h"
#include "dnspublish.h"
#include "log.h"
#include "snapshot.h"
#include "util.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: mtastsd [-c FILE] [-v] COMMAND [ARGS]\n"
	    "\n"
	    "commands:\n"
	    "  serve                 run the policy server in the foreground\n"
	    "  check [--would-start] validate the configuration and certificates\n"
	    "                        (--would-start: exit 0 where it would exit 3, as\n"
	    "                        serve starts then; for ExecStartPre)\n"
	    "  policy DOMAIN         print the exact policy body served for DOMAIN\n"
	    "  dns [--format F] [--side S]\n"
	    "                        print the DNS records (F: bind, json, nsupdate;\n"
	    "                        S: provider (default), customer, with\n"
	    "                        dns.delegate_zone set)\n"
	    "  dns --start-over      write an empty state file where dns.state is gone\n"
	    "  certs [--format F]    every policy host's certificate and ACME state\n"
	    "                        (F: table (default), json)\n"
	    "  verify [--connect HOST[:PORT]] [--ca FILE] [--all | DOMAIN...]\n"
	    "                        fetch each changed (or listed) policy as senders do\n"
	    "                        and compare it with the configured one\n"
	    "\n"
	    "options (before or after the command):\n"
	    "  -c FILE               configuration (default: $MTASTSD_CONFIG, else %s)\n"
	    "  -v, --verbose         log debug lines too, whatever log.level says\n"
	    "  -h, --help            this help; after a command, that command's usage\n"
	    "  --version             print the version\n"
	    "\n"
	    "The configuration may keep domains in tenant files: domains_dir: FOLDER, each\n"
	    "*.yaml in it a list of domain entries; an invalid one is refused alone.\n"
	    "\n"
	    "exit status: 0 ok, 1 invalid input, 2 usage error; check: 3 valid, but some\n"
	    "tenants are not served (each listed: uncovered hosts, broken pairs, refused\n"
	    "tenant files); certs: 1 also when a host is served with no certificate and\n"
	    "none on its way (not ACME's, backoff, valid with its pair gone), 0 while\n"
	    "hosts are only ordering or waiting_dns\n", CONFIG_DEFAULT_PATH);
}

static int
cmd_check(const char *path, int argc, char **argv)
{
	struct diag_list dl;
	struct config *cfg;
	bool would_start = argc == 2 && strcmp(argv[1], "--would-start") == 0;
	int rc;

	if (argc != 1 && !would_start) {
		fprintf(stderr, "mtastsd: check takes no arguments but --would-start\n");
		return EXIT_USAGE;
	}
	diag_init(&dl, path);
	if ((cfg = config_load(path, &dl)) != NULL)
		check_extra(cfg, &dl);	/* takes cfg */
	diag_sort(&dl);
	diag_print(&dl, stderr);
	/* design.md: 1 exactly when serve would refuse to start; 3 when it would run but not serve everyone */
	rc = dl.errors > 0 ? EXIT_INVALID : dl.unserved > 0 ? EXIT_UNSERVED : EXIT_OK;
	if (rc == EXIT_OK)
		printf("configuration OK\n");
	else if (rc == EXIT_UNSERVED)
		printf("configuration valid; serve runs it, but %zu problem%s above leave%s tenants unserved\n",
		    dl.unserved, dl.unserved == 1 ? "" : "s", dl.unserved == 1 ? "s" : "");
	diag_clear(&dl);
	/* a unit's ExecStartPre must not refuse a start that serve would make (issue 22.1) */
	return would_start && rc == EXIT_UNSERVED ? EXIT_OK : rc;
}

static int
cmd_policy(const char *path, int argc, char **argv)
{
	struct snapshot *snap;
	const struct site *site;
	char err[512], *name, *host;
	int rc = EXIT_INVALID;

	if (argc != 2) {
		fprintf(stderr, "mtastsd: usage: mtastsd [-c FILE] policy DOMAIN\n");
		return EXIT_USAGE;
	}
	if (dname_normalize(argv[1], DNAME_HOST, &name, err, sizeof(err)) < 0) {
		fprintf(stderr, "mtastsd: invalid domain: %s\n", err);
		return EXIT_INVALID;
	}
	/* the sites serve would answer for: configured domains, then the retiring ones (issue 14.7) */
	if ((snap = cmd_load(path, true)) == NULL) {
		free(name);
		return EXIT_INVALID;
	}
	host = xasprintf("mta-sts.%s", name);
	if ((site = snapshot_site(snap, host)) == NULL) {
		fprintf(stderr, "mtastsd: unknown domain '%s': not in %s, and not retiring\n", name, path);
	} else {
		if (domset_find(&snap->domains, name) != site->domain)
			fprintf(stderr, "mtastsd: domain '%s' is retiring: removed from %s, it is served as mode none"
			    " until senders' cached policies have expired\n", name, path);
		fwrite(site->body, 1, site->body_len, stdout);
		rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INVALID;
	}
	free(host);
	free(name);
	snapshot_unref(snap);
	return rc;
}

static const struct command {
	const char *name;
	int (*fn)(const char *config_path, int argc, char **argv);
	const char *usage;	/* NULL: the command prints its own (dns) */
	const char *const *valued;	/* its own options that take a value (not scanned for -c or -h) */
} commands[] = {
	{ "check", cmd_check,
	    "usage: mtastsd [-c FILE] check [--would-start]\n"
	    "\n"
	    "Validate the configuration, the certificates and the DNS state. Every problem\n"
	    "is printed on stderr as FILE:LINE:COL: message; \"configuration OK\" on stdout.\n"
	    "--would-start: exit 0 where the exit status would be 3 (serve starts then);\n"
	    "for a unit's ExecStartPre.\n"
	    "With an acme section, the ACME hosts due for a certificate are looked up as\n"
	    "the orderer's DNS gate does (/etc/resolv.conf, 64 at a time within 5 s; a\n"
	    "resolver that never replies costs 5 s in all); a host it stops is a warning.\n"
	    "\n"
	    "exit status: 0 valid (warnings may be printed), 1 invalid (serve would refuse\n"
	    "to start), 2 usage error, 3 valid but some tenants are not served (each listed:\n"
	    "an uncovered host, a broken pair, a refused tenant file with its errors)\n", NULL },
	{ "policy", cmd_policy,
	    "usage: mtastsd [-c FILE] policy DOMAIN\n"
	    "\n"
	    "Print the exact policy body served for DOMAIN (a U-label or A-label name).\n"
	    "\n"
	    "exit status: 0 printed, 1 unknown domain or invalid configuration, 2 usage error\n", NULL },
	{ "certs", cmd_certs, NULL, (const char *const[]){ "--format", NULL } },
	{ "dns", cmd_dns, NULL, (const char *const[]){ "--format", "--side", NULL } },
	{ "serve", cmd_serve,
	    "usage: mtastsd [-c FILE] [-v] serve\n"
	    "\n"
	    "Run the policy server in the foreground, logging on stderr. SIGHUP (or a change\n"
	    "of the configuration or under tls.certs) reloads; SIGTERM or SIGINT stops.\n"
	    "-v: log debug lines too, whatever log.level (debug, info, warn, error) says.\n"
	    "\n"
	    "exit status: 0 stopped by a signal, 1 invalid configuration or start-up failure,\n"
	    "2 usage error\n", NULL },
	{ "verify", cmd_verify, NULL, (const char *const[]){ "--connect", "--ca", "--timeout", NULL } },
};

static bool
takes_value(const struct command *cmd, const char *arg)
{
	for (const char *const *v = cmd->valued; v && *v; v++)
		if (strcmp(arg, *v) == 0)
			return true;
	return false;
}

/*
 * Take the global options out of a command's arguments (ARGV[1..]), so that
 * "check -c FILE" works as "-c FILE check" does. Sets *PATH, *HELP and *VERBOSE; stops
 * at "--". Returns the new argument count, or -1 after a usage message.
 */
static int
take_global_options(const struct command *cmd, int argc, char **argv, const char **path, bool *help,
    bool *verbose)
{
	int out = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		if (takes_value(cmd, a) && i + 1 < argc) {
			argv[out++] = argv[i++];
			argv[out++] = argv[i];
		} else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "mtastsd: option '%s' needs a FILE\n", a);
				return -1;
			}
			*path = argv[++i];
		} else if (strncmp(a, "--config=", 9) == 0) {
			*path = a + 9;
		} else if (strncmp(a, "-c", 2) == 0) {
			*path = a + 2;
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			*verbose = true;
		} else if (cmd->usage != NULL && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
			*help = true;
		} else {
			argv[out++] = argv[i];
		}
	}
	argv[out] = NULL;
	return out;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv("MTASTSD_CONFIG");
	bool help = false, version = false, verbose = false;
	int ch;

	if (path == NULL || path[0] == '\0')
		path = CONFIG_DEFAULT_PATH;
	/* "+" stops at the command, so each command parses its own options */
	while ((ch = getopt_long(argc, argv, "+c:hv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			help = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'V':
			version = true;
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (version) {
		if (optind < argc || help) {
			fprintf(stderr, "mtastsd: --version takes no command or arguments\n");
			return EXIT_USAGE;
		}
		printf("mtastsd %s\n", MTASTSD_VERSION);
		return EXIT_OK;
	}
	if (help && optind >= argc) {
		usage(stdout);
		return EXIT_OK;
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *cmd = &commands[i];

		if (strcmp(cmd->name, argv[optind]) == 0) {
			char **sub_argv = argv + optind;
			int sub_argc = take_global_options(cmd, argc - optind, sub_argv, &path, &help, &verbose);

			if (sub_argc < 0)
				return EXIT_USAGE;
			if (verbose)
				log_force_level(LOG_LEVEL_DEBUG);
			if (help && cmd->usage != NULL) {
				fputs(cmd->usage, stdout);
				return EXIT_OK;
			}
			if (help) {	/* "--help dns": the command prints its own */
				sub_argv[sub_argc++] = (char *)"--help";
				sub_argv[sub_argc] = NULL;
			}
			optind = 1;	/* reset getopt for the command */
			return cmd->fn(path, sub_argc, sub_argv);
		}
	}
	fprintf(stderr, "mtastsd: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return EXIT_USAGE;
}
