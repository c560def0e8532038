/* SPDX-License-Identifier: MIT */
/* onchange: runs the dns.on_change hook as a supervised process group, with a timeout. */
#define _GNU_SOURCE	/* posix_spawn_file_actions_addchdir_np */
#include "onchange.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* PATH made absolute against the working directory (a copy; PATH itself when getcwd fails). */
static char *
absolute(const char *path)
{
	char cwd[4096];

	if (path[0] == '/' || path[0] == '\0' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(path);
	if (strcmp(path, ".") == 0)
		return xstrdup(cwd);
	if (strncmp(path, "./", 2) == 0)
		path += 2;
	return xasprintf("%s%s%s", cwd, strcmp(cwd, "/") == 0 ? "" : "/", path);
}

int
onchange_run(const char *cmd, const char *dir, const char *zone, const char *changed_file, const char *names,
    size_t count)
{
	size_t n = 0, nlen = strlen(names);
	char *azone = zone[0] ? absolute(zone) : xstrdup(""), *adir = absolute(dir), *afile = absolute(changed_file);
	char **envp, *zvar = xasprintf("MTASTSD_ZONE=%s", azone);
	char *cvar = xasprintf("MTASTSD_CHANGED=%s", nlen < ONCHANGE_ENV_MAX ? names : "");
	char *fvar = xasprintf("MTASTSD_CHANGED_FILE=%s", afile), *nvar = xasprintf("MTASTSD_CHANGED_COUNT=%zu", count);
	char *argv[] = { "sh", "-c", (char *)(uintptr_t)cmd, NULL };
	static const char *const ours[] = { "MTASTSD_ZONE=", "MTASTSD_CHANGED=", "MTASTSD_CHANGED_FILE=",
		"MTASTSD_CHANGED_COUNT=" };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t mask, dfl;
	pid_t pid;
	int status, err, rc = -1;

	while (environ[n] != NULL)
		n++;
	envp = xcalloc(n + 5, sizeof(*envp));
	n = 0;
	for (char **e = environ; *e != NULL; e++) {
		bool mine = false;
		for (size_t k = 0; k < sizeof(ours) / sizeof(ours[0]); k++)
			mine = mine || strncmp(*e, ours[k], strlen(ours[k])) == 0;
		if (!mine)
			envp[n++] = *e;
	}
	envp[n++] = zvar;
	envp[n++] = cvar;
	envp[n++] = fvar;
	envp[n++] = nvar;
	envp[n] = NULL;
	/*
	 * posix_spawn, not fork: safe in a threaded server. serve blocks SIGHUP,
	 * SIGINT and SIGTERM (for its signalfd) and ignores SIGPIPE: the hook
	 * gets an empty mask and default actions, and its own process group so a
	 * timeout kills everything it started, not only sh.
	 */
	sigemptyset(&mask);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	if ((err = posix_spawnattr_init(&attr)) != 0) {
		log_warnx("dns on_change could not start: %s", strerror(err));
		goto done;
	}
	posix_spawnattr_setsigmask(&attr, &mask);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	if ((err = posix_spawn_file_actions_init(&fa)) != 0) {
		posix_spawnattr_destroy(&attr);
		log_warnx("dns on_change could not start: %s", strerror(err));
		goto done;
	}
	posix_spawn_file_actions_addchdir_np(&fa, adir);
	err = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (err != 0) {
		log_warnx("dns on_change could not start in '%s': %s", adir, strerror(err));
		goto done;
	}
	for (int waited_ms = 0;; waited_ms += 50) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		sigset_t pend;
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			log_warn("dns on_change: waitpid");
			goto done;
		}
		/*
		 * serve blocks SIGHUP/SIGINT/SIGTERM and reads them from a signalfd
		 * only once this returns: a pending one must not wait for the hook.
		 * Stop it (its whole group); the pending marker stays, so the reload
		 * SIGHUP asks for, or the next start-up, runs it again.
		 */
		if (sigpending(&pend) == 0 && (sigismember(&pend, SIGTERM) == 1 || sigismember(&pend, SIGINT) == 1 ||
		    sigismember(&pend, SIGQUIT) == 1 || sigismember(&pend, SIGHUP) == 1)) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			log_warnx("dns on_change stopped: a signal is waiting (it runs again at the next reload or start-up)");
			goto done;
		}
		if (waited_ms >= ONCHANGE_TIMEOUT * 1000) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			log_warnx("dns on_change killed after %d seconds", ONCHANGE_TIMEOUT);
			goto done;
		}
		nanosleep(&(struct timespec){ .tv_sec = 0, .tv_nsec = 50 * 1000000L }, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		rc = 0;
	else if (WIFEXITED(status))
		log_warnx("dns on_change failed status=%d", WEXITSTATUS(status));
	else
		log_warnx("dns on_change killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
done:
	free(envp);
	free(azone);
	free(adir);
	free(afile);
	free(zvar);
	free(cvar);
	free(fvar);
	free(nvar);
	return rc;
}
