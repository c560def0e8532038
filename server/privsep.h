/* SPDX-License-Identifier: MIT */
/* privsep: a process that keeps root only to open what is under tls.certs for `serve` running as `user:`. */
#ifndef MTASTSD_PRIVSEP_H
#define MTASTSD_PRIVSEP_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/*
 * Fork the reader: called by serve as root, before any thread exists. It
 * serves nothing until privsep_lock names its folder, and ends when serve
 * ends (its socket closes, or PR_SET_PDEATHSIG). Returns 0 or -1 (logged).
 */
int privsep_start(void);

/*
 * Fix the one folder the reader opens files under (tls.certs as serve
 * starts with it; a reload that moves tls.certs elsewhere needs a restart),
 * just before serve leaves root. After this the reader keeps, of root's
 * powers, only CAP_DAC_READ_SEARCH. Returns 0 or -1 (logged).
 */
int privsep_lock(const char *dir);

/* No reader is needed (serve keeps its user): end it. */
void privsep_stop(void);

/*
 * Open PATH with FLAGS (O_RDONLY, O_DIRECTORY and O_CLOEXEC are the only
 * ones the reader honours) as this process can; when that is refused
 * (EACCES, EPERM) and the reader runs, ask it. The reader opens PATH only
 * when it lies under the locked folder (no `.` or `..` in it) and every
 * folder and link it passes through, there and in what the links point to
 * (certbot's live/ into archive/), is owned by root and writable by no one
 * else, so that nobody but root can have arranged what it hands over; it
 * hands over regular files and folders only. A refusal fails with EACCES
 * and is logged once per reason and minute with that reason. Thread-safe.
 * Returns the descriptor, or -1 with errno set.
 */
int privsep_open(const char *path, int flags);

/* stat(2) of PATH, through privsep_open when stat itself is refused. */
int privsep_stat(const char *path, struct stat *st);

/* opendir(3) of PATH, opened with privsep_open. */
DIR *privsep_opendir(const char *path);

/*
 * inotify_add_watch(2) of PATH on the inotify descriptor IFD, added by the
 * reader (on the same terms as privsep_open) when this process may not.
 */
int privsep_add_watch(int ifd, const char *path, unsigned mask);

/* read_file_max (util.h) of PATH, opened with privsep_open. */
int privsep_read_file(const char *path, size_t max, char **out, size_t *len, struct stat *st);

/*
 * The reader's decision, exposed for tests: an O_PATH descriptor of ARG
 * (relative to CWD) when it lies under ROOT and was reached as
 * privsep_open describes, else -1 with errno and the reason in WHY.
 */
int privsep_decide(const char *root, const char *cwd, const char *arg, char *why, size_t whylen);

/* Whether a locked reader is running (serve then needs no readable tls.certs). */
bool privsep_running(void);

#endif
