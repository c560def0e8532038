/* SPDX-License-Identifier: MIT */
/* verifycmd: `mtastsd verify`, which fetches each policy from every address that serves it and compares the bytes. */
#include "commands.h"
#include "snapshot.h"
#include "dname.h"
#include "dnsstate.h"
#include "httpget.h"
#include "policy.h"
#include "util.h"
#include "vec.h"
#include "verify.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define WELL_KNOWN "/.well-known/mta-sts.txt"

static void
verify_usage(FILE *out)
{
	fprintf(out,
	    "usage: mtastsd [-c FILE] verify [--connect HOST[:PORT]] [--ca FILE] [--timeout SECONDS]\n"
	    "                         [--all | DOMAIN...]\n"
	    "\n"
	    "Fetch https://mta-sts.DOMAIN/.well-known/mta-sts.txt as senders do and compare it, byte\n"
	    "for byte, with the policy the configuration renders. Without DOMAIN: the domains whose\n"
	    "next `dns` run publishes a new id (added, changed or retiring, from the state file).\n"
	    "\n"
	    "  --connect HOST[:PORT]  connect to every address of HOST (port 443 by default) instead of\n"
	    "                         mta-sts.DOMAIN's, keeping the name for SNI, Host and the certificate\n"
	    "  --ca FILE              trust this PEM bundle instead of the system's\n"
	    "  --timeout SECONDS      per fetch (default 10)\n"
	    "  --all                  every configured domain and every retiring one\n"
	    "\n"
	    "One line per domain; exit status 0 when every address serves every policy, 1 otherwise,\n"
	    "2 on a usage error.\n");
}

struct addrs {
	char **a;	/* numeric addresses, without brackets */
	size_t n, cap;
};

static void
addrs_clear(struct addrs *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->a[i]);
	free(x->a);
	memset(x, 0, sizeof(*x));
}

/* Every address HOST resolves to (a numeric HOST is itself), each once; -1 with a message in ERR. */
static int
resolve(const char *host, struct addrs *out, char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve '%s': %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		char buf[INET6_ADDRSTRLEN];
		const void *p;
		bool seen = false;

		if (ai->ai_family == AF_INET)
			p = &((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr;
		else if (ai->ai_family == AF_INET6)
			p = &((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_addr;
		else
			continue;
		if (inet_ntop(ai->ai_family, p, buf, sizeof(buf)) == NULL)
			continue;
		for (size_t i = 0; i < out->n; i++)
			if (strcmp(out->a[i], buf) == 0)
				seen = true;
		if (seen)
			continue;
		VEC_PUSH(out->a, out->n, out->cap, xstrdup(buf));
	}
	freeaddrinfo(res);
	if (out->n == 0) {
		snprintf(err, errlen, "'%s' has no IPv4 or IPv6 address", host);
		return -1;
	}
	return 0;
}

struct opts {
	const char *ca;
	long timeout_ms;
	char connect_host[256];
	unsigned connect_port;
	bool connect;
};

/*
 * Check T at every address: prints one line, "DOMAIN: ok (ADDR...)" or
 * "DOMAIN: failed: ADDR: REASON" (the first failure; how many more addresses
 * failed follows). Returns true when every address served the policy.
 */
static bool
check_target(const struct verify_target *t, const struct opts *o, const struct addrs *connect)
{
	char host[300], err[1024], why[1024] = "", where[300] = "", ok_list[1024] = "";
	struct addrs own = {0};
	const struct addrs *as = connect;
	unsigned port = o->connect ? o->connect_port : 443;
	size_t failed = 0, used = 0;

	snprintf(host, sizeof(host), "mta-sts.%s", t->domain);
	if (as == NULL) {
		if (resolve(host, &own, err, sizeof(err)) < 0) {
			printf("%s: failed: %s\n", t->domain, err);
			return false;
		}
		as = &own;
	}
	for (size_t i = 0; i < as->n; i++) {
		struct httpget_request req = {
			.host = host, .path = WELL_KNOWN, .addr = as->a[i], .port = port,
			.ca_file = o->ca, .timeout_ms = o->timeout_ms, .max_body = POLICY_MAX_BODY,
		};
		struct httpget_response resp;
		char addr[300], reason[1024];
		bool good;

		snprintf(addr, sizeof(addr), strchr(as->a[i], ':') != NULL ? "[%s]:%u" : "%s:%u", as->a[i], port);
		if (httpget_fetch(&req, &resp, reason, sizeof(reason)) < 0)
			good = false;
		else {
			good = verify_answer(resp.status, resp.content_type, resp.body, resp.len,
			    t->body, t->len, reason, sizeof(reason));
			httpget_response_clear(&resp);
		}
		if (good) {
			int w = snprintf(ok_list + used, sizeof(ok_list) - used, "%s%s", used ? ", " : "", addr);
			if (w > 0 && (size_t)w < sizeof(ok_list) - used)
				used += (size_t)w;
		} else if (failed++ == 0) {
			snprintf(where, sizeof(where), "%s", addr);
			snprintf(why, sizeof(why), "%s", reason);
		}
	}
	if (failed == 0)
		printf("%s: ok%s (%s)\n", t->domain, t->retiring ? ", retiring" : "", ok_list);
	else if (failed == 1)
		printf("%s: failed: %s: %s\n", t->domain, where, why);
	else
		printf("%s: failed: %s: %s (and %zu more of %zu addresses)\n", t->domain, where, why,
		    failed - 1, as->n);
	addrs_clear(&own);
	return failed == 0;
}

int
cmd_verify(const char *config_path, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "connect", required_argument, NULL, 'C' },
		{ "ca", required_argument, NULL, 'A' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .ca = NULL, .timeout_ms = 10000, .connect = false };
	enum verify_select sel = VERIFY_CHANGED;
	struct snapshot *snap = NULL;
	const struct config *cfg;
	struct verify_targets tg = {0};
	struct ids_state old = { NULL, 0 };
	struct addrs connect = {0};
	struct diag_list sdl;
	char err[1024], **names = NULL;
	size_t n_names = 0, n_ok = 0;
	int64_t now;
	bool exists;
	int c, version, rc = EXIT_INVALID;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'C':
			if (verify_parse_hostport(optarg, 443, o.connect_host, sizeof(o.connect_host),
			    &o.connect_port) < 0) {
				fprintf(stderr, "mtastsd: verify: invalid --connect '%s' (HOST[:PORT], [IPV6]:PORT)\n", optarg);
				return EXIT_USAGE;
			}
			o.connect = true;
			break;
		case 'A':
			o.ca = optarg;
			break;
		case 'T': {
			char *end;
			long s = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || s < 1 || s > 3600) {
				fprintf(stderr, "mtastsd: verify: invalid --timeout '%s' (1..3600 seconds)\n", optarg);
				return EXIT_USAGE;
			}
			o.timeout_ms = s * 1000;
			break;
		}
		case 'a':
			sel = VERIFY_ALL;
			break;
		case 'h':
			verify_usage(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "mtastsd: verify: unknown or incomplete option '%s'\n", argv[optind - 1]);
			verify_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc && sel == VERIFY_ALL) {
		fprintf(stderr, "mtastsd: verify: --all and domain names exclude each other\n");
		return EXIT_USAGE;
	}
	if (optind < argc) {
		sel = VERIFY_LISTED;
		names = xcalloc((size_t)(argc - optind), sizeof(*names));
		for (int i = optind; i < argc; i++) {
			if (dname_normalize(argv[i], DNAME_HOST, &names[n_names], err, sizeof(err)) < 0) {
				fprintf(stderr, "mtastsd: verify: invalid domain '%s': %s\n", argv[i], err);
				goto done;
			}
			n_names++;
		}
	}
	if (ids_now(&now, err, sizeof(err)) < 0) {
		fprintf(stderr, "mtastsd: %s\n", err);
		goto done;
	}
	if ((snap = cmd_load(config_path, false)) == NULL)
		goto done;
	cfg = snap->cfg;
	/* read only, never locked or written: what the next `dns` run would change */
	diag_init(&sdl, cfg->dns_state);
	if (dnsstate_load(cfg->dns_state, &old, &version, &exists, &sdl) < 0) {
		diag_print(&sdl, stderr);
		diag_clear(&sdl);
		goto done;
	}
	diag_clear(&sdl);
	if (verify_targets(&snap->domains, &old, now, sel, names, n_names, &tg, err, sizeof(err)) < 0) {
		fprintf(stderr, "mtastsd: verify: %s\n", err);
		goto done;
	}
	if (tg.n == 0) {
		printf("nothing to verify: no domain's policy changed since the state file was written\n");
		rc = EXIT_OK;
		goto done;
	}
	if (httpget_init(err, sizeof(err)) < 0) {
		fprintf(stderr, "mtastsd: verify: %s\n", err);
		goto done;
	}
	if (o.connect && resolve(o.connect_host, &connect, err, sizeof(err)) < 0) {
		fprintf(stderr, "mtastsd: verify: %s\n", err);
		httpget_cleanup();
		goto done;
	}
	for (size_t i = 0; i < tg.n; i++)
		if (check_target(&tg.t[i], &o, o.connect ? &connect : NULL))
			n_ok++;
	httpget_cleanup();
	if (fflush(stdout) != 0)
		goto done;
	if (n_ok < tg.n)
		fprintf(stderr, "mtastsd: verify: %zu of %zu domains not served as configured\n",
		    tg.n - n_ok, tg.n);
	rc = n_ok == tg.n ? EXIT_OK : EXIT_INVALID;
done:
	addrs_clear(&connect);
	verify_targets_clear(&tg);
	ids_state_clear(&old);
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	snapshot_unref(snap);
	return rc;
}
