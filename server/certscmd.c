/* SPDX-License-Identifier: MIT */
/* certscmd: `mtastsd certs`, every policy host's certificate and ACME state, as serve would have them now. */
#include "acmestatus.h"
#include "certsview.h"
#include "commands.h"
#include "snapshot.h"
#include "tenants.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
certs_usage(FILE *out)
{
	fputs("usage: mtastsd [-c FILE] certs [--format table|json]\n"
	    "\n"
	    "Every policy host (mta-sts.<domain> of each configured and retiring domain) with\n"
	    "the certificate a handshake gets now: its source (file: tls.certs, acme:\n"
	    "acme.storage/certs, none), expiry and names; with an acme section, each\n"
	    "ACME-managed host's state (valid, ordering, waiting_dns, backoff), next renewal,\n"
	    "next attempt and the CA's last error, as serve's orderer decides them.\n"
	    "  --format F   table (default): one host per line; json: {\"hosts\": [...]}\n"
	    "\n"
	    "exit status: 0 listed, also while hosts are ordering or waiting_dns (their\n"
	    "certificate comes by itself); 1 invalid configuration or ACME state, or a host\n"
	    "served with no certificate and none on its way (not ACME's, in backoff: its\n"
	    "last order failed, or valid by the ACME state while its pair is gone); 2 usage\n"
	    "error\n", out);
}

int
cmd_certs(const char *config_path, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	struct snapshot *snap;
	struct acmestatus as;
	struct certsview_row *rows;
	struct diag_list sdl;
	struct buf b = {0};
	size_t n, missing = 0;
	char *state;
	time_t now;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0) {
				json = optarg[0] == 'j';
				break;
			}
			fprintf(stderr, "mtastsd: certs: unknown format '%s' (table or json)\n", optarg);
			return EXIT_USAGE;
		case 'h':
			certs_usage(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "mtastsd: certs: unknown or incomplete option '%s'\n", argv[optind - 1]);
			certs_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mtastsd: certs: unexpected argument '%s'\n", argv[optind]);
		certs_usage(stderr);
		return EXIT_USAGE;
	}
	if ((snap = cmd_load_served(config_path)) == NULL)
		return EXIT_INVALID;
	now = time(NULL);
	state = snap->cfg->acme ? xstrcat(snap->cfg->acme->storage, "/state", NULL) : xstrdup(config_path);
	diag_init(&sdl, state);
	free(state);
	if (acmestatus_load(&as, snap, (int64_t)now, acmestatus_gate_dns, NULL, &sdl) < 0) {
		diag_print(&sdl, stderr);
		fprintf(stderr, "mtastsd: certs: the ACME state cannot be read: fix or remove it (serve's orderer "
		    "does not start with it either)\n");
		diag_clear(&sdl);
		acmestatus_clear(&as);
		snapshot_unref(snap);
		return EXIT_INVALID;
	}
	diag_clear(&sdl);
	rows = certsview_rows(snap, &as, now, &n);
	if (json)
		certsview_json(rows, n, &b);
	else
		certsview_table(rows, n, &b);
	fwrite(b.data ? b.data : "", 1, b.len, stdout);
	rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INVALID;
	for (size_t i = 0; i < n; i++)
		missing += certsview_row_missing(&rows[i]);
	if (missing > 0) {
		fprintf(stderr, "mtastsd: certs: %zu host%s served with no certificate and none on its way:", missing,
		    missing == 1 ? "" : "s");
		for (size_t i = 0, shown = 0; i < n && shown < 10; i++)
			if (certsview_row_missing(&rows[i])) {
				fprintf(stderr, "%s %s", shown ? "," : "", rows[i].host);
				shown++;
			}
		if (missing > 10)
			fprintf(stderr, " \xe2\x80\xa6 and %zu more", missing - 10);
		fputc('\n', stderr);
		rc = EXIT_INVALID;
	}
	buf_clear(&b);
	certsview_rows_free(rows, n);
	acmestatus_clear(&as);
	snapshot_unref(snap);
	return rc;
}
