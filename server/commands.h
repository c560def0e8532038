/* SPDX-License-Identifier: MIT */
/* commands: entry points of the subcommands that live outside main.c, and shared exit codes. */
#ifndef MTASTSD_COMMANDS_H
#define MTASTSD_COMMANDS_H

#include "config.h"
#include "diag.h"

#define EXIT_OK 0
#define EXIT_INVALID 1
#define EXIT_USAGE 2
#define EXIT_UNSERVED 3		/* `check`: valid, serve would run it, but some tenants are not served */

/* Load PATH, printing every diagnostic to stderr; NULL when it has errors. */
struct config *cmd_load_config(const char *path);

struct snapshot;
/*
 * PATH's configuration with its tenant files (a refused one is named on
 * stderr and left out) as a snapshot without certificates: what `policy`,
 * `dns` and `verify` read. WITH_RETIRING adds the retiring domains from the
 * state file. NULL, with the errors printed, when the config is invalid or
 * domains_dir cannot be read. Defined in cmdload.c.
 */
struct snapshot *cmd_load(const char *path, bool with_retiring);

/*
 * cmd_load with the retiring domains and the certificates serve would load
 * now (tls.certs, then acme.storage/certs; snapshot_load_certs): what
 * `certs` reads. NULL, with the errors printed, as cmd_load.
 */
struct snapshot *cmd_load_served(const char *path);

struct snapshot_parts;
/*
 * CFG's tenant files and configured domains into P (CFG is taken over), and
 * with WITH_RETIRING the retiring domains from the state. Returns 0, or -1
 * with the problem in DL (CFG freed, P empty). Defined in cmdload.c.
 */
int cmd_load_parts(struct config *cfg, bool with_retiring, struct snapshot_parts *p, struct diag_list *dl);

/*
 * Checks of `check` beyond the config file itself (certificates, state,
 * what is served), appended to DL: DIAG_ERROR where serve would refuse to
 * start, DIAG_UNSERVED for tenants it would not serve. Takes CFG (freed).
 * Defined in check.c.
 */
void check_extra(struct config *cfg, struct diag_list *dl);

/*
 * The configured user and group exist (getpwnam, getgrnam): an error at the
 * key's position for each one that does not. Returns 0 or -1. Run by `check`
 * (within check_extra) and by `serve` before it binds anything.
 */
int check_identity(const struct config *cfg, struct diag_list *dl);

/* `serve`: run the policy server in the foreground until SIGTERM/SIGINT. Defined in serve.c. */
int cmd_serve(const char *config_path, int argc, char **argv);

/* `mtastsd dns [--format F] [--side S]`: print the DNS records, assigning ids. Defined in dnscmd.c. */
int cmd_dns(const char *config_path, int argc, char **argv);

/*
 * `mtastsd certs [--format table|json]`: every policy host's certificate and
 * ACME state. Defined in certscmd.c.
 */
int cmd_certs(const char *config_path, int argc, char **argv);

/*
 * `mtastsd verify [--connect HOST[:PORT]] [--ca FILE] [--all | DOMAIN...]`: fetch each
 * policy as senders do and compare it with the rendered one. Defined in verifycmd.c.
 */
int cmd_verify(const char *config_path, int argc, char **argv);

#endif
