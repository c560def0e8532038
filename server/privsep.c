/* SPDX-License-Identifier: MIT */
/* privsep: a process that keeps root only to open what is under tls.certs for `serve` running as `user:`. */
#define _GNU_SOURCE	/* O_PATH, MSG_CMSG_CLOEXEC, close_range */
#include "privsep.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINKS 40
#define MAX_DEPTH 128

enum { OP_LOCK = 'l', OP_OPEN = 'o', OP_WATCH = 'w' };

struct reply {
	int err;			/* 0, or the errno of the refusal */
	int value;			/* OP_WATCH: the watch descriptor */
	char why[256];			/* a refusal's reason */
};

/* ---- the reader (a forked root process) ---- */

/* A refusal's reason into WHY, cut to fit. */
static void __attribute__((format(printf, 3, 4)))
because(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

/* PATH made absolute against CWD with ".", ".." and repeated slashes resolved as text, into OUT. */
static int
normalize(const char *cwd, const char *path, char *out, size_t len)
{
	char buf[PATH_MAX * 2];
	size_t n = 0;

	if (snprintf(buf, sizeof(buf), "%s/%s", path[0] == '/' ? "" : cwd, path) >= (int)sizeof(buf))
		return -1;
	for (char *p = buf, *comp; (comp = strsep(&p, "/")) != NULL;) {
		if (comp[0] == '\0' || strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			while (n > 0 && out[--n] != '/')
				;
			continue;
		}
		if (n + 1 + strlen(comp) + 1 > len)
			return -1;
		out[n++] = '/';
		memcpy(out + n, comp, strlen(comp));
		n += strlen(comp);
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	return 0;
}

static bool
under(const char *root, const char *path)
{
	size_t n = strlen(root);

	if (strcmp(root, "/") == 0)
		return true;
	return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/*
 * Walk PATH (absolute, normalised) from "/" one name at a time, following
 * links by hand, so that every folder passed through is checked before it is
 * used: owned by root and writable by no one else, or sticky (like /tmp) and
 * then only root's entries are followed. Nobody but root can then have put
 * in place what is opened. Returns an O_PATH descriptor of what PATH names
 * (a regular file or a folder), or -1 with errno and WHY set.
 */
static int
walk(const char *path, char *why, size_t whylen)
{
	char rest[PATH_MAX * 2], shown[PATH_MAX * 2];
	int fds[MAX_DEPTH];
	size_t shown_len[MAX_DEPTH];
	int depth = 0, links = 0, fd = -1, err;
	bool sticky = false;		/* the folder we are in lets others add entries */
	struct stat st;

	snprintf(rest, sizeof(rest), "%s", path);
	snprintf(shown, sizeof(shown), "/");
	shown_len[0] = 1;
	if ((fds[0] = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		because(why, whylen, "cannot open '/': %s", strerror(errno));
		return -1;
	}
	for (;;) {
		char comp[NAME_MAX + 1], *p = rest;
		size_t n;

		if (fstat(fds[depth], &st) < 0) {
			err = errno;
			because(why, whylen, "cannot stat '%s': %s", shown, strerror(err));
			goto fail;
		}
		if (st.st_uid != 0 || ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))) {
			err = EACCES;
			because(why, whylen, "folder '%s' can be changed by others than root (owner uid %u, mode %04o)",
			    shown, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
			goto fail;
		}
		sticky = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;			/* the folder itself */
		n = strcspn(p, "/");
		if (n > NAME_MAX) {
			err = ENAMETOOLONG;
			because(why, whylen, "a name in '%s' is too long", path);
			goto fail;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		memmove(rest, p + n, strlen(p + n) + 1);
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			if (depth > 0) {
				close(fds[depth--]);
				shown[shown_len[depth]] = '\0';
			}
			continue;
		}
		if ((fd = openat(fds[depth], comp, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
			err = errno;
			because(why, whylen, "cannot open '%s%s%s': %s", shown, depth ? "/" : "", comp, strerror(err));
			goto fail;
		}
		if (sticky && st.st_uid != 0) {
			err = EACCES;
			because(why, whylen, "'%s%s%s' in a folder anyone may write is not root's", shown,
			    depth ? "/" : "", comp);
			goto fail;
		}
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX], joined[PATH_MAX * 2];
			ssize_t tn = readlinkat(fd, "", target, sizeof(target) - 1);

			close(fd);
			fd = -1;
			if (tn < 0 || ++links > MAX_LINKS) {
				err = tn < 0 ? errno : ELOOP;
				because(why, whylen, "cannot follow the link '%s%s%s': %s", shown, depth ? "/" : "", comp,
				    strerror(err));
				goto fail;
			}
			target[tn] = '\0';
			if (snprintf(joined, sizeof(joined), "%s%s", target, rest) >= (int)sizeof(rest)) {
				err = ENAMETOOLONG;
				because(why, whylen, "the link '%s' leads too far", comp);
				goto fail;
			}
			memcpy(rest, joined, strlen(joined) + 1);
			if (target[0] == '/')
				while (depth > 0) {
					close(fds[depth--]);
					shown[shown_len[depth]] = '\0';
				}
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			size_t len = strlen(shown);

			if (depth + 1 >= MAX_DEPTH) {
				err = ELOOP;
				because(why, whylen, "'%s' is too deep", path);
				goto fail;
			}
			fds[++depth] = fd;
			fd = -1;
			snprintf(shown + len, sizeof(shown) - len, "%s%s", len > 1 ? "/" : "", comp);
			shown_len[depth] = strlen(shown);
			continue;
		}
		p = rest;
		while (*p == '/')
			p++;
		if (!S_ISREG(st.st_mode) || *p != '\0') {
			err = S_ISREG(st.st_mode) ? ENOTDIR : EACCES;
			because(why, whylen, "'%s%s%s' is not a regular file or a folder", shown, depth ? "/" : "", comp);
			goto fail;
		}
		break;				/* a regular file, the last name */
	}
	if (fd < 0) {			/* PATH is a folder */
		fd = fds[depth];
		depth--;
	}
	while (depth >= 0)
		close(fds[depth--]);
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	while (depth >= 0)
		close(fds[depth--]);
	errno = err;
	return -1;
}

static void
reply_to(int s, const struct reply *r, int fd)
{
	struct iovec iov = { (void *)(uintptr_t)r, sizeof(*r) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	(void)sendmsg(s, &m, MSG_NOSIGNAL);
}

/*
 * Of root's powers keep only reading: CAP_DAC_READ_SEARCH in the permitted
 * and effective sets (what is dropped there cannot come back), with no new
 * privileges through exec; the bounding set too where CAP_SETPCAP allows
 * (a systemd unit's CapabilityBoundingSet= usually leaves it out).
 */
static int
keep_only_reading(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	for (int cap = 0; cap <= 63; cap++)
		if (cap != CAP_DAC_READ_SEARCH && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL &&
		    errno != EPERM)
			return -1;
	memset(d, 0, sizeof(d));
	d[0].effective = d[0].permitted = 1u << CAP_DAC_READ_SEARCH;
	if (syscall(SYS_capset, &h, d) < 0)
		return -1;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

static int
recv_with_fd(int s, void *buf, size_t len, int *fd)
{
	struct iovec iov = { buf, len };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
		.msg_controllen = sizeof(u.buf) };
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(s, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
			    c->cmsg_len == CMSG_LEN(sizeof(int)))
				memcpy(fd, CMSG_DATA(c), sizeof(int));
	return (int)n;
}

int
privsep_decide(const char *root, const char *cwd, const char *arg, char *why, size_t whylen)
{
	char path[PATH_MAX], top[PATH_MAX];

	if (root[0] == '\0') {
		because(why, whylen, "no folder is open to the reader");
		errno = EPERM;
		return -1;
	}
	if (normalize(cwd, root, top, sizeof(top)) < 0 || normalize(cwd, arg, path, sizeof(path)) < 0 ||
	    !under(top, path)) {
		because(why, whylen, "'%s' is not under tls.certs '%s' as serve started", arg, root);
		errno = EACCES;
		return -1;
	}
	return walk(path, why, whylen);
}

static void
serve_request(int s, const char *root, const char *cwd, char op, const char *arg, int in_fd)
{
	struct reply r = { 0, -1, "" };
	int fd = -1, out = -1;

	if (op != OP_OPEN && op != OP_WATCH) {
		r.err = EPERM;
		because(r.why, sizeof(r.why), "unknown request");
	} else if ((fd = privsep_decide(root, cwd, arg, r.why, sizeof(r.why))) < 0) {
		r.err = errno;
	} else if (op == OP_OPEN) {
		/* an O_PATH descriptor reopened for reading: nothing is looked up again */
		char self[64];

		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		if ((out = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0) {
			r.err = errno;
			because(r.why, sizeof(r.why), "cannot open '%s': %s", arg, strerror(r.err));
		}
	} else {
		char self[64];

		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		if (in_fd < 0 || (r.value = inotify_add_watch(in_fd, self, (uint32_t)strtoul(arg + strlen(arg) + 1,
		    NULL, 10))) < 0) {
			r.err = in_fd < 0 ? EINVAL : errno;
			because(r.why, sizeof(r.why), "cannot watch '%s': %s", arg, strerror(r.err));
		}
	}
	reply_to(s, &r, out);
	if (fd >= 0)
		close(fd);
	if (out >= 0)
		close(out);
}

static void __attribute__((noreturn))
reader_main(int s, pid_t server)
{
	char root[PATH_MAX] = "", cwd[PATH_MAX], req[PATH_MAX + 64];
	sigset_t all;

	/* the server's signals (a terminal's ^C included) are its own; it ending ends this */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != server)
		_exit(0);
	if (s != 3) {
		dup2(s, 3);
		s = 3;
	}
	close_range(4, ~0u, 0);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		snprintf(cwd, sizeof(cwd), "/");
	for (;;) {
		int in_fd, n = recv_with_fd(s, req, sizeof(req) - 1, &in_fd);

		if (n <= 0)
			_exit(0);	/* serve ended; _exit: nothing of serve's is ours to free or flush */
		req[n] = '\0';
		if (req[0] == OP_LOCK && root[0] == '\0') {
			struct reply r = { 0, -1, "" };

			if (normalize(cwd, req + 1, root, sizeof(root)) < 0 || keep_only_reading() < 0) {
				r.err = errno ? errno : ENAMETOOLONG;
				because(r.why, sizeof(r.why), "cannot set up the reader: %s", strerror(r.err));
				root[0] = '\0';
			}
			reply_to(s, &r, -1);
		} else {
			serve_request(s, root, cwd, req[0], req + 1, in_fd);
		}
		if (in_fd >= 0)
			close(in_fd);
	}
}

/* ---- serve's side ---- */

static int sock = -1;
static pid_t reader = -1;
static bool locked;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char last_why[256];
static time_t last_logged;

int
privsep_start(void)
{
	int sv[2];
	pid_t self = getpid(), pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_warn("%s: socketpair", __func__);
		return -1;
	}
	if ((pid = fork()) < 0) {
		log_warn("%s: fork", __func__);
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		reader_main(sv[1], self);
	}
	close(sv[1]);
	sock = sv[0];
	reader = pid;
	return 0;
}

/* One request and its reply (and descriptor), under the lock. */
static int
ask(char op, const char *arg, size_t arg_len, int send_fd, struct reply *r, int *fd)
{
	char req[PATH_MAX + 64];
	struct iovec iov = { req, 1 + arg_len };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	*fd = -1;
	if (1 + arg_len > sizeof(req)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	req[0] = op;
	memcpy(req + 1, arg, arg_len);
	if (send_fd >= 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &send_fd, sizeof(int));
	}
	pthread_mutex_lock(&mu);
	if (sendmsg(sock, &m, MSG_NOSIGNAL) < 0 || recv_with_fd(sock, r, sizeof(*r), fd) != (int)sizeof(*r)) {
		pthread_mutex_unlock(&mu);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -1;
	}
	pthread_mutex_unlock(&mu);
	r->why[sizeof(r->why) - 1] = '\0';
	return 0;
}

/* A refusal, logged once per reason and minute (a whole refused folder is one line, not one per file). */
static void
log_refusal(const char *path, const char *why)
{
	time_t now = time(NULL);

	pthread_mutex_lock(&mu);
	if (strcmp(why, last_why) != 0 || now - last_logged >= 60) {
		snprintf(last_why, sizeof(last_why), "%s", why);
		last_logged = now;
		pthread_mutex_unlock(&mu);
		log_warnx("the privileged reader refused '%s': %s", path, why);
		return;
	}
	pthread_mutex_unlock(&mu);
}

int
privsep_lock(const char *dir)
{
	struct reply r;
	int fd;

	if (sock < 0)
		return -1;
	if (ask(OP_LOCK, dir, strlen(dir), -1, &r, &fd) < 0) {
		log_warn("%s: the privileged reader does not answer", __func__);
		return -1;
	}
	if (r.err != 0) {
		log_warnx("%s", r.why);
		return -1;
	}
	locked = true;
	log_info("privileged reader pid=%ld opens for serve what it cannot read itself under '%s'", (long)reader, dir);
	return 0;
}

void
privsep_stop(void)
{
	if (sock >= 0)
		close(sock);
	sock = -1;
	locked = false;
	if (reader > 0)
		while (waitpid(reader, NULL, 0) < 0 && errno == EINTR)
			;
	reader = -1;
}

bool
privsep_running(void)
{
	return locked;
}

int
privsep_open(const char *path, int flags)
{
	struct reply r;
	int fd = open(path, flags | O_CLOEXEC), saved;
	struct stat st;

	if (fd >= 0 || (errno != EACCES && errno != EPERM) || !locked)
		return fd;
	saved = errno;
	if (ask(OP_OPEN, path, strlen(path), -1, &r, &fd) < 0) {
		log_refusal(path, "the privileged reader does not answer");
		errno = saved;
		return -1;
	}
	if (r.err != 0) {
		log_refusal(path, r.why);
		errno = r.err == ENOENT ? ENOENT : saved;
		return -1;
	}
	if (fd < 0) {
		errno = saved;
		return -1;
	}
	if ((flags & O_DIRECTORY) && (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))) {
		close(fd);
		errno = ENOTDIR;
		return -1;
	}
	return fd;
}

int
privsep_stat(const char *path, struct stat *st)
{
	int fd, rc;

	if (stat(path, st) == 0)
		return 0;
	if ((errno != EACCES && errno != EPERM) || !locked)
		return -1;
	if ((fd = privsep_open(path, O_RDONLY)) < 0)
		return -1;
	rc = fstat(fd, st);
	close(fd);
	return rc;
}

int
privsep_read_file(const char *path, size_t max, char **out, size_t *len, struct stat *st)
{
	return read_fd_max(privsep_open(path, O_RDONLY), max, out, len, st);
}

DIR *
privsep_opendir(const char *path)
{
	int fd = privsep_open(path, O_RDONLY | O_DIRECTORY);
	DIR *d;

	if (fd < 0)
		return NULL;
	if ((d = fdopendir(fd)) == NULL) {
		int saved = errno;

		close(fd);
		errno = saved;
	}
	return d;
}

int
privsep_add_watch(int ifd, const char *path, unsigned mask)
{
	char arg[PATH_MAX + 32];
	struct reply r;
	int wd = inotify_add_watch(ifd, path, mask), n, fd;

	if (wd >= 0 || (errno != EACCES && errno != EPERM) || !locked)
		return wd;
	/* the path, a NUL, the mask: the reader adds the watch to serve's inotify descriptor */
	n = snprintf(arg, sizeof(arg), "%s%c%u", path, '\0', mask);
	if (n >= (int)sizeof(arg) || ask(OP_WATCH, arg, (size_t)n, ifd, &r, &fd) < 0) {
		errno = EACCES;
		return -1;
	}
	if (r.err != 0) {
		log_refusal(path, r.why);
		errno = r.err;
		return -1;
	}
	return r.value;
}
