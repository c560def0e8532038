/* SPDX-License-Identifier: MIT */
/* acmestore: the files of acme.storage, each written atomically, and the lock that makes one instance the orderer. */
#include "acmestore.h"
#include "dname.h"
#include "dnsstate.h"
#include "hmap.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* the largest state file read: 10,000 names take about 1 MiB */
#define STATE_MAX (256u << 20)

struct acmestore {
	char *dir, *account, *state, *lock, *certs, *http01, *tlsalpn01;
	int lock_fd;		/* -1 until acmestore_lock took it */
};

static int
make_dir(const char *path, char *err, size_t errlen)
{
	if (dnsstate_mkdirs(path) < 0) {
		snprintf(err, errlen, "cannot make the ACME storage folder '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The store at DIR; its folders made when MAKE (a reader leaves the storage as it finds it). */
static struct acmestore *
open_store(const char *dir, bool make, char *err, size_t errlen)
{
	struct acmestore *s = xcalloc(1, sizeof(*s));
	size_t n;

	s->lock_fd = -1;
	s->dir = xstrdup(dir);
	for (n = strlen(s->dir); n > 1 && s->dir[n - 1] == '/'; n--)
		s->dir[n - 1] = '\0';
	s->account = path_join(s->dir, ACMESTORE_ACCOUNT_KEY);
	s->state = path_join(s->dir, ACMESTORE_STATE);
	s->lock = path_join(s->dir, ACMESTORE_LOCK);
	s->certs = path_join(s->dir, ACMESTORE_CERTS);
	s->http01 = path_join(s->dir, ACMESTORE_HTTP01);
	s->tlsalpn01 = path_join(s->dir, ACMESTORE_TLSALPN01);
	if (s->dir[0] == '\0') {
		snprintf(err, errlen, "the ACME storage folder has no name");
		goto fail;
	}
	if (make && (make_dir(s->dir, err, errlen) < 0 || make_dir(s->certs, err, errlen) < 0 ||
	    make_dir(s->http01, err, errlen) < 0 || make_dir(s->tlsalpn01, err, errlen) < 0))
		goto fail;
	return s;
fail:
	acmestore_free(s);
	return NULL;
}

struct acmestore *
acmestore_open(const char *dir, char *err, size_t errlen)
{
	return open_store(dir, true, err, errlen);
}

struct acmestore *
acmestore_open_read(const char *dir, char *err, size_t errlen)
{
	return open_store(dir, false, err, errlen);
}

void
acmestore_free(struct acmestore *s)
{
	if (s == NULL)
		return;
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->dir);
	free(s->account);
	free(s->state);
	free(s->lock);
	free(s->certs);
	free(s->http01);
	free(s->tlsalpn01);
	free(s);
}

const char *
acmestore_dir(const struct acmestore *s)
{
	return s->dir;
}

const char *
acmestore_account_path(const struct acmestore *s)
{
	return s->account;
}

const char *
acmestore_state_path(const struct acmestore *s)
{
	return s->state;
}

const char *
acmestore_lock_path(const struct acmestore *s)
{
	return s->lock;
}

bool
acmestore_name_ok(const char *name)
{
	if (name == NULL || name[0] == '\0')
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			return false;
	/* LDH labels: no '/', no empty label (so no "..", no dot at either end) */
	return dname_is_ldh(name, strlen(name));
}

static bool
b64url_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
	    ch == '_';
}

static size_t
b64url_span(const char *s)
{
	size_t n = 0;

	while (b64url_char(s[n]))
		n++;
	return n;
}

bool
acmestore_token_ok(const char *token)
{
	size_t n;

	if (token == NULL)
		return false;
	n = b64url_span(token);
	return n > 0 && n <= ACMESTORE_TOKEN_MAX && token[n] == '\0';
}

/* TOKEN.THUMBPRINT, both base64url; with TOKEN not NULL its first part must be that token. */
static bool
keyauth_ok(const char *keyauth, const char *token)
{
	size_t t = b64url_span(keyauth), k;

	if (t == 0 || t > ACMESTORE_TOKEN_MAX || keyauth[t] != '.')
		return false;
	if (token != NULL && (strlen(token) != t || memcmp(keyauth, token, t) != 0))
		return false;
	k = b64url_span(keyauth + t + 1);
	return k == ACMEJWS_THUMBPRINT_LEN - 1 && keyauth[t + 1 + k] == '\0';
}

/* ------------------------------------------------------------------ lock */

/* The pid the holder wrote into the lock file, 0 when there is none (yet). */
static long
lock_holder(int fd)
{
	char text[32];
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	char *end;
	long pid;

	if (n <= 0)
		return 0;
	text[n] = '\0';
	pid = strtol(text, &end, 10);
	return end != text && (*end == '\n' || *end == '\0') && pid > 0 ? pid : 0;
}

/*
 * Remove the regular files of DIR that KEEP refuses (all of them when KEEP
 * is NULL): what a previous orderer killed in the middle of an order left.
 */
static void
sweep(const char *dir, bool (*keep)(const char *name))
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct stat sb;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    (keep != NULL && keep(de->d_name)) ||
		    fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb.st_mode))
			continue;
		(void)unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

/* certs/: the temporaries of acmestore_pair_save (".NAME.crt.XXXXXX", ".NAME.key.XXXXXX") go */
static bool
keep_in_certs(const char *name)
{
	return name[0] != '.' || (strstr(name, ".crt.") == NULL && strstr(name, ".key.") == NULL);
}

/* the storage folder: the temporaries of the state and the account key ("state.tmp.XXXXXX") go */
static bool
keep_in_top(const char *name)
{
	size_t ns = strlen(ACMESTORE_STATE ".tmp."), nk = strlen(ACMESTORE_ACCOUNT_KEY ".tmp.");

	return strncmp(name, ACMESTORE_STATE ".tmp.", ns) != 0 && strncmp(name, ACMESTORE_ACCOUNT_KEY ".tmp.", nk) != 0;
}

int
acmestore_lock(struct acmestore *s, long *holder, char *err, size_t errlen)
{
	char pid[32];
	int fd, n;

	if (holder != NULL)
		*holder = 0;
	if (s->lock_fd >= 0)
		return 0;
	if ((fd = open(s->lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0) {
		snprintf(err, errlen, "cannot open the ACME order lock '%s': %s", s->lock, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		long who = e == EWOULDBLOCK ? lock_holder(fd) : 0;

		close(fd);
		if (e != EWOULDBLOCK) {
			snprintf(err, errlen, "cannot lock the ACME order lock '%s': %s", s->lock, strerror(e));
			return -1;
		}
		if (holder != NULL)
			*holder = who;
		if (who > 0)
			snprintf(err, errlen, "the ACME storage '%s' already has an orderer, the mtastsd with pid %ld "
			    "(it holds '%s'): only one instance per storage may have 'order: true'; give the others "
			    "'order: false'", s->dir, who, s->lock);
		else
			snprintf(err, errlen, "the ACME storage '%s' already has an orderer (another process holds "
			    "'%s'): only one instance per storage may have 'order: true'; give the others "
			    "'order: false'", s->dir, s->lock);
		return ACMESTORE_BUSY;
	}
	/* the pid is for the next one refused; the lock itself is the flock */
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		snprintf(err, errlen, "cannot write our pid into the ACME order lock '%s': %s", s->lock, strerror(errno));
		close(fd);
		return -1;
	}
	s->lock_fd = fd;
	/*
	 * No order is in flight now: a challenge answer or a temporary still
	 * here is a killed orderer's, which nothing would remove (the next
	 * order of its name may reuse the CA's authorization and write none).
	 */
	sweep(s->http01, NULL);
	sweep(s->tlsalpn01, NULL);
	sweep(s->certs, keep_in_certs);
	sweep(s->dir, keep_in_top);
	return 0;
}

/* --------------------------------------------------------------- account */

struct acmejws_key *
acmestore_account(const struct acmestore *s, bool create, char *err, size_t errlen)
{
	struct acmejws_key *k;
	struct stat st;

	if (lstat(s->account, &st) == 0 || errno != ENOENT)
		return acmejws_key_load(s->account, err, errlen);
	if (!create) {
		snprintf(err, errlen, "no ACME account key at '%s'", s->account);
		return NULL;
	}
	if ((k = acmejws_key_generate(err, errlen)) == NULL)
		return NULL;
	/* not durable is still saved: the key is in place, the next write syncs the folder */
	if (acmejws_key_save(k, s->account, err, errlen) == -1) {
		acmejws_key_free(k);
		return NULL;
	}
	return k;
}

/* ----------------------------------------------------------------- state */

int
acmestore_state_load(const struct acmestore *s, struct acmesched_state **out, size_t *n, struct diag_list *dl)
{
	struct acmesched_state *v = NULL;
	struct hmap seen = {0};
	size_t nv = 0, errors = dl->errors, len, off = 0;
	char *text;
	int lineno = 0, version = 0;

	*out = NULL;
	*n = 0;
	if (read_file_max(s->state, STATE_MAX, &text, &len, NULL) < 0) {
		if (errno == ENOENT)
			return 0;
		diag_add(dl, DIAG_ERROR, 0, 0, "cannot read the ACME state '%s': %s", s->state, strerror(errno));
		return -1;
	}
	if (len == 0) {
		diag_add(dl, DIAG_ERROR, 1, 1, "the ACME state file is empty (not even its header): it was not written "
		    "whole; restore it or remove it to start again");
		free(text);
		return -1;
	}
	while (off < len) {
		const char *line = text + off, *nl = memchr(line, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - line) : len - off;
		struct acmesched_state st = {0};

		lineno++;
		off += ll + (nl != NULL);
		if (nl == NULL) {
			/* every line the writer makes ends in a newline: this one was cut */
			diag_add(dl, DIAG_ERROR, lineno, (int)ll + 1, "the line ends without its newline: the ACME state "
			    "file was not written whole");
			break;
		}
		if (lineno == 1) {
			if ((version = acmesched_state_parse_header(line, ll, lineno, dl)) < 0)
				break;	/* not ours: its lines mean nothing */
			continue;
		}
		if (acmesched_state_parse(version, line, ll, lineno, &st, dl) < 0)
			continue;
		if (hmap_get(&seen, st.name) != NULL) {
			diag_add(dl, DIAG_ERROR, lineno, 1, "'%s' is in the ACME state twice (first at line %d)", st.name,
			    (int)(uintptr_t)hmap_get(&seen, st.name));
			acmesched_state_clear(&st);
			continue;
		}
		v = xreallocarray(v, nv + 1, sizeof(*v));
		v[nv] = st;
		hmap_put(&seen, v[nv].name, (void *)(uintptr_t)lineno);
		nv++;
	}
	hmap_clear(&seen);
	free(text);
	if (dl->errors != errors) {
		for (size_t i = 0; i < nv; i++)
			acmesched_state_clear(&v[i]);
		free(v);
		return -1;
	}
	*out = v;
	*n = nv;
	return 0;
}

int
acmestore_state_save(const struct acmestore *s, const struct acmesched_state *v, size_t n, char *err, size_t errlen)
{
	struct buf b = {0};
	struct hmap seen = {0};
	int rc = -1;

	buf_puts(&b, ACMESCHED_STATE_HEADER "\n");
	hmap_reserve(&seen, n);
	for (size_t i = 0; i < n; i++) {
		/* what load would refuse is never written: the file must always read back */
		if (!acmestore_name_ok(v[i].name)) {
			snprintf(err, errlen, "ACME state: '%s' is not a lower-case host name", v[i].name ? v[i].name : "");
			goto done;
		}
		if (hmap_put(&seen, v[i].name, (void *)(uintptr_t)1) != NULL) {
			snprintf(err, errlen, "ACME state: '%s' is there twice", v[i].name);
			goto done;
		}
		acmesched_state_format(&v[i], &b);
	}
	rc = dnsstate_write_atomic(s->state, b.data, b.len, 0644, err, errlen);
done:
	hmap_clear(&seen);
	buf_clear(&b);
	return rc;
}

/* ----------------------------------------------------------------- pairs */

char *
acmestore_cert_path(const struct acmestore *s, const char *name)
{
	return acmestore_name_ok(name) ? xasprintf("%s/%s.crt", s->certs, name) : NULL;
}

char *
acmestore_key_path(const struct acmestore *s, const char *name)
{
	return acmestore_name_ok(name) ? xasprintf("%s/%s.key", s->certs, name) : NULL;
}

/*
 * DATA into a new temporary ".NAME.EXT.XXXXXX" of the certs folder, mode
 * MODE, synced. Returns its path (owned by the caller) or NULL with a
 * message in ERR and nothing left behind.
 */
static char *
write_temp(const struct acmestore *s, const char *name, const char *ext, const char *data, size_t len,
    mode_t mode, char *err, size_t errlen)
{
	char *tmp = xasprintf("%s/.%s.%s.XXXXXX", s->certs, name, ext);
	size_t off = 0;
	int fd;

	/* mkstemp makes it 0600: a key is never readable by others, not even for a moment */
	if ((fd = mkstemp(tmp)) < 0) {
		snprintf(err, errlen, "cannot create a temporary file in '%s': %s", s->certs, strerror(errno));
		free(tmp);
		return NULL;
	}
	if (fchmod(fd, mode) < 0) {
		snprintf(err, errlen, "cannot set the mode of '%s': %s", tmp, strerror(errno));
		goto fail;
	}
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		snprintf(err, errlen, "cannot fsync '%s': %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		snprintf(err, errlen, "cannot close '%s': %s", tmp, strerror(errno));
		goto fail;
	}
	return tmp;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return NULL;
}

int
acmestore_pair_save(const struct acmestore *s, const char *name, const char *chain, size_t chain_len,
    const char *key, size_t key_len, char *err, size_t errlen)
{
	char *crt = acmestore_cert_path(s, name), *kp = acmestore_key_path(s, name);
	char *crt_tmp = NULL, *key_tmp = NULL;
	int dfd = -1, rc = -1;

	if (crt == NULL) {
		snprintf(err, errlen, "'%s' is not a lower-case host name: no certificate stored for it", name ? name : "");
		goto done;
	}
	if (chain_len == 0 || key_len == 0) {
		snprintf(err, errlen, "no %s to store for '%s'", chain_len == 0 ? "certificate" : "key", name);
		goto done;
	}
	if ((dfd = open(s->certs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot open the folder '%s': %s", s->certs, strerror(errno));
		goto done;
	}
	/* every write that can fail comes before the first rename: a failure replaces nothing */
	if ((key_tmp = write_temp(s, name, "key", key, key_len, 0600, err, errlen)) == NULL ||
	    (crt_tmp = write_temp(s, name, "crt", chain, chain_len, 0644, err, errlen)) == NULL)
		goto done;
	/*
	 * The key first, then the certificate. The certificate's rename is the
	 * moment the new pair exists: a reader that finds the new NAME.crt (the
	 * certificate loader, woken by exactly that rename) finds its key
	 * already in place. In the moment between the two renames a reader sees
	 * the old certificate with the new key, a mismatch the loader refuses,
	 * keeping the pair it served; the other order would instead offer a new
	 * certificate whose key is not there yet.
	 */
	if (rename(key_tmp, kp) < 0) {
		snprintf(err, errlen, "cannot rename '%s' to '%s': %s", key_tmp, kp, strerror(errno));
		goto done;
	}
	free(key_tmp);
	key_tmp = NULL;
	if (rename(crt_tmp, crt) < 0) {
		snprintf(err, errlen, "cannot rename '%s' to '%s' (its new key is already in place): %s", crt_tmp, crt,
		    strerror(errno));
		goto done;
	}
	free(crt_tmp);
	crt_tmp = NULL;
	if (fsync(dfd) < 0) {
		snprintf(err, errlen, "'%s' was replaced, but the folder '%s' could not be synced (a crash may bring back "
		    "the old pair): %s", crt, s->certs, strerror(errno));
		rc = DNSSTATE_NOT_DURABLE;
		goto done;
	}
	rc = 0;
done:
	if (crt_tmp != NULL) {
		unlink(crt_tmp);
		free(crt_tmp);
	}
	if (key_tmp != NULL) {
		unlink(key_tmp);
		free(key_tmp);
	}
	if (dfd >= 0)
		close(dfd);
	free(crt);
	free(kp);
	return rc;
}

static int
remove_file(const char *path, char *err, size_t errlen)
{
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
acmestore_pair_remove(const struct acmestore *s, const char *name, char *err, size_t errlen)
{
	char *crt = acmestore_cert_path(s, name), *kp = acmestore_key_path(s, name);
	int rc = -1;

	if (crt == NULL)
		snprintf(err, errlen, "'%s' is not a lower-case host name", name ? name : "");
	/* the certificate first: no moment with a certificate and no key */
	else if (remove_file(crt, err, errlen) == 0 && remove_file(kp, err, errlen) == 0)
		rc = 0;
	free(crt);
	free(kp);
	return rc;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
acmestore_pair_names(const struct acmestore *s, char ***names, size_t *n, char *err, size_t errlen)
{
	DIR *d = opendir(s->certs);
	struct dirent *de;
	char **v = NULL;
	size_t nv = 0;

	*names = NULL;
	*n = 0;
	if (d == NULL) {
		snprintf(err, errlen, "cannot read the folder '%s': %s", s->certs, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		char *name;

		/* temporaries start with a dot, which no valid name does */
		if (len <= 4 || strcmp(de->d_name + len - 4, ".crt") != 0)
			continue;
		name = xstrndup(de->d_name, len - 4);
		if (!acmestore_name_ok(name)) {
			free(name);
			continue;
		}
		v = xreallocarray(v, nv + 1, sizeof(*v));
		v[nv++] = name;
	}
	closedir(d);
	if (nv > 1)
		qsort(v, nv, sizeof(*v), by_name);
	*names = v != NULL ? v : xcalloc(1, sizeof(*v));
	*n = nv;
	return 0;
}

/* ------------------------------------------------------------ challenges */

static int
answer_put(const char *dir, const char *file, const char *keyauth, char *err, size_t errlen)
{
	char *path = xasprintf("%s/%s", dir, file);
	int rc = dnsstate_write_atomic(path, keyauth, strlen(keyauth), 0644, err, errlen);

	free(path);
	return rc;
}

static int
answer_remove(const char *dir, const char *file, char *err, size_t errlen)
{
	char *path = xasprintf("%s/%s", dir, file);
	int rc = remove_file(path, err, errlen);

	free(path);
	return rc;
}

/*
 * DIR/FILE when it is a regular file of at most ACMESTORE_KEYAUTH_MAX
 * bytes. Opened without blocking and without following a link: responders
 * call this while answering a request.
 */
static char *
answer_get(const char *dir, const char *file, size_t *lenp)
{
	char *path = xasprintf("%s/%s", dir, file), *data = NULL;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	size_t got = 0;

	free(path);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > ACMESTORE_KEYAUTH_MAX)
		goto fail;
	data = xmalloc(ACMESTORE_KEYAUTH_MAX + 2);
	for (;;) {
		ssize_t r = read(fd, data + got, ACMESTORE_KEYAUTH_MAX + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > ACMESTORE_KEYAUTH_MAX)
			goto fail;
	}
	close(fd);
	data[got] = '\0';
	if (lenp != NULL)
		*lenp = got;
	return data;
fail:
	free(data);
	close(fd);
	return NULL;
}

int
acmestore_http01_put(const struct acmestore *s, const char *token, const char *keyauth, char *err, size_t errlen)
{
	if (!acmestore_token_ok(token)) {
		snprintf(err, errlen, "http-01: the token is not base64url");
		return -1;
	}
	if (keyauth == NULL || !keyauth_ok(keyauth, token)) {
		snprintf(err, errlen, "http-01: the key authorization is not '%s.THUMBPRINT'", token);
		return -1;
	}
	return answer_put(s->http01, token, keyauth, err, errlen);
}

int
acmestore_http01_remove(const struct acmestore *s, const char *token, char *err, size_t errlen)
{
	if (!acmestore_token_ok(token)) {
		snprintf(err, errlen, "http-01: the token is not base64url");
		return -1;
	}
	return answer_remove(s->http01, token, err, errlen);
}

char *
acmestore_http01_get(const struct acmestore *s, const char *token, size_t *len)
{
	return acmestore_token_ok(token) ? answer_get(s->http01, token, len) : NULL;
}

int
acmestore_tlsalpn01_put(const struct acmestore *s, const char *name, const char *keyauth, char *err, size_t errlen)
{
	if (!acmestore_name_ok(name)) {
		snprintf(err, errlen, "tls-alpn-01: '%s' is not a lower-case host name", name ? name : "");
		return -1;
	}
	if (keyauth == NULL || !keyauth_ok(keyauth, NULL)) {
		snprintf(err, errlen, "tls-alpn-01: the key authorization for '%s' is not 'TOKEN.THUMBPRINT'", name);
		return -1;
	}
	return answer_put(s->tlsalpn01, name, keyauth, err, errlen);
}

int
acmestore_tlsalpn01_remove(const struct acmestore *s, const char *name, char *err, size_t errlen)
{
	if (!acmestore_name_ok(name)) {
		snprintf(err, errlen, "tls-alpn-01: '%s' is not a lower-case host name", name ? name : "");
		return -1;
	}
	return answer_remove(s->tlsalpn01, name, err, errlen);
}

char *
acmestore_tlsalpn01_get(const struct acmestore *s, const char *name, size_t *len)
{
	return acmestore_name_ok(name) ? answer_get(s->tlsalpn01, name, len) : NULL;
}
