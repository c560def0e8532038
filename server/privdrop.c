/* SPDX-License-Identifier: MIT */
/* privdrop: leave root for the configured user once the ports are bound and the keys loaded. */
#define _GNU_SOURCE	/* setresuid, setresgid */
#include "privdrop.h"
#include "log.h"
#include "privsep.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* What the daemon re-reads on reload must stay readable once it is no longer root. */
static void
warn_unreadable(const struct config *cfg)
{
	if (access(cfg->path, R_OK) != 0)
		log_warn("config '%s' is not readable by user '%s': reloads will fail", cfg->path, cfg->user);
	if (access(cfg->tls_certs, R_OK | X_OK) != 0 && !privsep_running())
		log_warn("certificate folder '%s' is not readable by user '%s': reloads will fail",
		    cfg->tls_certs, cfg->user);
}

bool
privdrop_needed(const struct config *cfg)
{
	struct passwd *pw;

	return geteuid() == 0 && cfg->user != NULL && (pw = getpwnam(cfg->user)) != NULL && pw->pw_uid != 0;
}

int
privdrop_apply(const struct config *cfg)
{
	struct passwd *pw;
	gid_t gid;

	if (geteuid() != 0) {
		if (cfg->user != NULL) {
			pw = getpwnam(cfg->user);
			if (pw == NULL || pw->pw_uid != geteuid()) {
				log_error("user '%s' is configured, but mtastsd was not started as root and runs as uid %u",
				    cfg->user, (unsigned)geteuid());
				return -1;
			}
		}
		return 0;
	}
	if (cfg->user == NULL) {
		log_warnx("running as root: set 'user:' in the configuration to drop privileges after start-up");
		return 0;
	}
	errno = 0;
	if ((pw = getpwnam(cfg->user)) == NULL) {
		log_error("user '%s' does not exist", cfg->user);
		return -1;
	}
	gid = pw->pw_gid;
	if (cfg->group != NULL) {
		struct group *gr = getgrnam(cfg->group);
		if (gr == NULL) {
			log_error("group '%s' does not exist", cfg->group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (pw->pw_uid == 0) {
		log_warnx("user '%s' is root: privileges are not dropped", cfg->user);
		return 0;
	}
	if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
		log_warn("cannot switch to user '%s'", cfg->user);
		return -1;
	}
	/* all threads share the credentials (glibc applies set*id to every thread); prove it held */
	if (setuid(0) == 0 || geteuid() == 0 || getegid() == 0) {
		log_error("still able to regain root after switching to '%s'", cfg->user);
		return -1;
	}
	log_info("dropped privileges user=%s uid=%u gid=%u", cfg->user, (unsigned)pw->pw_uid, (unsigned)gid);
	warn_unreadable(cfg);
	return 0;
}
