/* SPDX-License-Identifier: MIT */
/* dnsstate: the DNS state file (ids, fingerprints, retirement) on disk: format, locking and atomic writes. */
#include "dnsstate.h"
#include "dname.h"
#include "util.h"
#include "vec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TOKENS 8

struct token {
	const char *s;
	size_t len;
	int col;
};

/* Split LINE (LEN bytes, no newline) at runs of spaces and tabs. Returns the count, or -1 when there are too many. */
static int
tokenize(const char *line, size_t len, struct token *tok)
{
	int n = 0;
	size_t i = 0;

	while (i < len) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			break;
		if (n == MAX_TOKENS)
			return -1;
		tok[n].s = line + i;
		tok[n].col = (int)i + 1;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
		tok[n].len = (size_t)(line + i - tok[n].s);
		n++;
	}
	return n;
}

static bool
tok_is(const struct token *t, const char *lit)
{
	return strlen(lit) == t->len && memcmp(t->s, lit, t->len) == 0;
}

static bool
all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool
valid_name(const struct token *t)
{
	if (t->len > DNAME_MAX || !dname_is_ldh(t->s, t->len))
		return false;
	for (size_t i = 0; i < t->len; i++)
		if (t->s[i] >= 'A' && t->s[i] <= 'Z')
			return false;
	return true;
}

static bool
parse_id(struct diag_list *dl, int line, const struct token *t, size_t off, char out[IDS_ID_LEN + 1])
{
	char id[IDS_ID_LEN + 1];
	int64_t when;

	if (t->len - off != IDS_ID_LEN) {
		diag_add(dl, DIAG_ERROR, line, t->col + (int)off, "id '%.*s' is not 14 digits (YYYYMMDDHHMMSS)",
		    (int)(t->len - off), t->s + off);
		return false;
	}
	memcpy(id, t->s + off, IDS_ID_LEN);
	id[IDS_ID_LEN] = '\0';
	if (ids_parse(id, &when) < 0) {
		diag_add(dl, DIAG_ERROR, line, t->col + (int)off, "id '%s' is not a valid UTC date and time", id);
		return false;
	}
	memcpy(out, id, sizeof(id));
	return true;
}

static bool
parse_fp(struct diag_list *dl, int line, const struct token *t, size_t off, char out[65])
{
	if (t->len - off != 64 || !all_hex(t->s + off, 64)) {
		diag_add(dl, DIAG_ERROR, line, t->col + (int)off,
		    "fingerprint is not 64 lower-case hex digits");
		return false;
	}
	memcpy(out, t->s + off, 64);
	out[64] = '\0';
	return true;
}

/* "domain NAME id=.. fp=.. max_age=.. rua=.. status=.." (version 2). */
static bool
parse_v2_line(struct diag_list *dl, int line, const struct token *tok, int n, struct ids_domain *e)
{
	/* the first five are required; tlsrpt_del (version 3, written only when set) is not */
	static const char *const keys[] = { "id", "fp", "max_age", "rua", "status", "tlsrpt_del" };
	bool seen[6] = { false };
	bool ok = true;

	if (!tok_is(&tok[0], "domain")) {
		diag_add(dl, DIAG_ERROR, line, tok[0].col, "expected 'domain', found '%.*s'",
		    (int)tok[0].len, tok[0].s);
		return false;
	}
	if (n < 2) {
		diag_add(dl, DIAG_ERROR, line, tok[0].col + (int)tok[0].len, "domain name missing");
		return false;
	}
	if (!valid_name(&tok[1])) {
		diag_add(dl, DIAG_ERROR, line, tok[1].col, "invalid domain name '%.*s'", (int)tok[1].len,
		    tok[1].s);
		return false;
	}
	e->name = xstrndup(tok[1].s, tok[1].len);
	for (int i = 2; i < n; i++) {
		const struct token *t = &tok[i];
		const char *eq = memchr(t->s, '=', t->len);
		size_t klen = eq ? (size_t)(eq - t->s) : t->len, off = klen + 1;
		int k;

		for (k = 0; k < 6; k++)
			if (strlen(keys[k]) == klen && memcmp(keys[k], t->s, klen) == 0)
				break;
		if (eq == NULL || k == 6) {
			diag_add(dl, DIAG_ERROR, line, t->col, "unknown field '%.*s'", (int)klen, t->s);
			ok = false;
			continue;
		}
		if (seen[k]) {
			diag_add(dl, DIAG_ERROR, line, t->col, "duplicate field '%s'", keys[k]);
			ok = false;
			continue;
		}
		seen[k] = true;
		switch (k) {
		case 0:
			ok &= parse_id(dl, line, t, off, e->id);
			break;
		case 1:
			ok &= parse_fp(dl, line, t, off, e->fp);
			break;
		case 2: {
			unsigned long v = 0;
			size_t vl = t->len - off;
			bool good = vl >= 1 && vl <= 8 && t->s[off] != '0';
			for (size_t x = 0; good && x < vl; x++) {
				if (t->s[off + x] < '0' || t->s[off + x] > '9')
					good = false;
				else
					v = v * 10 + (unsigned long)(t->s[off + x] - '0');
			}
			if (!good || v > POLICY_MAX_AGE_MAX) {
				diag_add(dl, DIAG_ERROR, line, t->col + (int)off,
				    "max_age '%.*s' is not a number of seconds from 1 to 31557600",
				    (int)vl, t->s + off);
				ok = false;
			}
			e->max_age = v;
			break;
		}
		case 3:
			if (t->len - off == 1 && t->s[off] == '-') {
				strcpy(e->rua, "-");
			} else if (t->len - off == 16 && all_hex(t->s + off, 16)) {
				memcpy(e->rua, t->s + off, 16);
				e->rua[16] = '\0';
			} else {
				diag_add(dl, DIAG_ERROR, line, t->col + (int)off,
				    "rua is not '-' or 16 lower-case hex digits");
				ok = false;
			}
			break;
		case 4:
			if (t->len - off == 6 && memcmp(t->s + off, "active", 6) == 0) {
				e->retiring = false;
			} else if (t->len - off == 8 && memcmp(t->s + off, "retiring", 8) == 0) {
				e->retiring = true;
			} else if (t->len - off == 7 && memcmp(t->s + off, "expired", 7) == 0) {
				e->expired = true;
			} else {
				diag_add(dl, DIAG_ERROR, line, t->col + (int)off,
				    "status '%.*s' is not 'active', 'retiring' or 'expired'", (int)(t->len - off), t->s + off);
				ok = false;
			}
			break;
		case 5:
			ok &= parse_id(dl, line, t, off, e->tlsrpt_del);
			break;
		}
	}
	for (int k = 0; k < 5; k++) {
		if (!seen[k] && ok) {
			diag_add(dl, DIAG_ERROR, line, tok[n - 1].col + (int)tok[n - 1].len,
			    "field '%s' missing", keys[k]);
			ok = false;
		}
	}
	return ok;
}

/* "NAME ID FP" (version 1): upgraded with the largest possible max_age, since v1 never recorded it. */
static bool
parse_v1_line(struct diag_list *dl, int line, const struct token *tok, int n, struct ids_domain *e)
{
	bool ok = true;

	if (n != 3) {
		diag_add(dl, DIAG_ERROR, line, n > 3 ? tok[3].col : tok[n - 1].col + (int)tok[n - 1].len,
		    "expected 'NAME ID FINGERPRINT' (version 1 entry)");
		return false;
	}
	if (!valid_name(&tok[0])) {
		diag_add(dl, DIAG_ERROR, line, tok[0].col, "invalid domain name '%.*s'", (int)tok[0].len,
		    tok[0].s);
		return false;
	}
	e->name = xstrndup(tok[0].s, tok[0].len);
	ok &= parse_id(dl, line, &tok[1], 0, e->id);
	ok &= parse_fp(dl, line, &tok[2], 0, e->fp);
	/* what was served before is unknown: assume the longest cache life a sender may use */
	e->max_age = POLICY_MAX_AGE_MAX;
	e->rua[0] = '\0';
	e->retiring = false;
	return ok;
}

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct ids_domain *)a)->name, ((const struct ids_domain *)b)->name);
}

int
dnsstate_parse(const char *data, size_t len, struct ids_state *out, int *version,
    struct diag_list *dl)
{
	struct ids_state s = {0};
	size_t cap = 0, errors0 = dl->errors, pos = 0, entries = 0;
	int *lines = NULL, *cols = NULL, line = 0, ver = 0, end_line = 0;
	bool cut = false;

	memset(out, 0, sizeof(*out));
	if (len == 0) {
		diag_add(dl, DIAG_ERROR, 1, 1, "state file is empty (expected 'mtastsd-state %d')",
		    DNSSTATE_VERSION);
		return -1;
	}
	if (memchr(data, '\0', len) != NULL) {
		const char *z = memchr(data, '\0', len);
		int zl = 1, zc = 1;
		for (const char *p = data; p < z; p++, zc++)
			if (*p == '\n')
				zl++, zc = 0;
		diag_add(dl, DIAG_ERROR, zl, zc, "NUL byte in state file");
		return -1;
	}
	while (pos < len) {
		const char *p = data + pos, *nl = memchr(p, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - p) : len - pos;
		struct token tok[MAX_TOKENS];
		int n;

		line++;
		pos += ll + (nl != NULL);
		if (nl == NULL) {
			/* every write ends in a newline: a missing one means a cut-off file */
			diag_add(dl, DIAG_ERROR, line, (int)ll + 1, "last line has no newline (truncated file?)");
			cut = true;
			break;
		}
		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		n = tokenize(p, ll, tok);
		if (line == 1) {
			if (n != 2 || !tok_is(&tok[0], "mtastsd-state")) {
				diag_add(dl, DIAG_ERROR, 1, 1, "not an mtastsd state file (expected 'mtastsd-state %d')",
				    DNSSTATE_VERSION);
				break;
			}
			if (tok_is(&tok[1], "1"))
				ver = 1;
			else if (tok_is(&tok[1], "2"))
				ver = 2;
			else if (tok_is(&tok[1], "3"))
				ver = 3;
			else {
				diag_add(dl, DIAG_ERROR, 1, tok[1].col,
				    "unsupported state version '%.*s' (this mtastsd reads 1 to %d)",
				    (int)tok[1].len, tok[1].s, DNSSTATE_VERSION);
				break;
			}
			continue;
		}
		if (n == 0 || tok[0].s[0] == '#')
			continue;
		if (n < 0) {
			diag_add(dl, DIAG_ERROR, line, 1, "too many fields");
			entries++;
			continue;
		}
		if (end_line != 0) {
			diag_add(dl, DIAG_ERROR, line, tok[0].col, "text after the 'end' line (line %d)", end_line);
			continue;
		}
		if (ver >= 3 && tok_is(&tok[0], "end")) {
			/* version 3: "end N", N the number of entries, so a file cut at a line boundary is noticed */
			unsigned long v = 0;
			bool good = n == 2 && tok[1].len >= 1 && tok[1].len <= 9 && (tok[1].s[0] != '0' || tok[1].len == 1);
			for (size_t x = 0; good && x < tok[1].len; x++) {
				if (tok[1].s[x] < '0' || tok[1].s[x] > '9')
					good = false;
				else
					v = v * 10 + (unsigned long)(tok[1].s[x] - '0');
			}
			end_line = line;
			if (!good)
				diag_add(dl, DIAG_ERROR, line, n >= 2 ? tok[1].col : tok[0].col + 3,
				    "expected 'end N' with N the number of domain entries");
			else if (v != entries)
				diag_add(dl, DIAG_ERROR, line, tok[1].col,
				    "'end %lu' but the file has %zu domain entr%s (lines lost or added?)", v, entries,
				    entries == 1 ? "y" : "ies");
			continue;
		}
		entries++;
		struct ids_domain e = {0};
		/* version 3 entries are version 2's */
		bool ok = ver == 1 ? parse_v1_line(dl, line, tok, n, &e) : parse_v2_line(dl, line, tok, n, &e);
		if (!ok) {
			free(e.name);
			continue;
		}
		if (s.n == cap) {
			VEC_RESERVE(s.d, cap, s.n + 1, 16);
			/* not vec: twins of s.d, sized to the capacity VEC_RESERVE just chose */
			lines = xreallocarray(lines, cap, sizeof(*lines));
			cols = xreallocarray(cols, cap, sizeof(*cols));
		}
		lines[s.n] = line;
		cols[s.n] = ver == 1 ? tok[0].col : tok[1].col;
		s.d[s.n++] = e;
	}
	if (ver >= 3 && end_line == 0 && !cut && ver != 0)
		diag_add(dl, DIAG_ERROR, line + 1, 1,
		    "no 'end N' line after the entries: the file was cut short (truncated?)");
	/* versions 1 and 2 had no end line; every state written for a config has a domain */
	if (ver > 0 && ver < 3 && entries == 0 && dl->errors == errors0)
		diag_add(dl, DIAG_ERROR, line + 1, 1,
		    "version %d state file without any domain: damaged (cut back to its header?)", ver);
	if (dl->errors == errors0 && s.n > 1) {
		/* sort with the line numbers attached, so a duplicate is reported where it is */
		struct ids_domain *tmp = xcalloc(s.n, sizeof(*tmp));
		memcpy(tmp, s.d, s.n * sizeof(*tmp));
		qsort(s.d, s.n, sizeof(*s.d), cmp_entry);
		for (size_t i = 1; i < s.n; i++) {
			if (strcmp(s.d[i - 1].name, s.d[i].name) == 0) {
				size_t dup = 0;
				/* the later of the two lines is the duplicate */
				for (size_t k = 0; k < s.n; k++)
					if (strcmp(tmp[k].name, s.d[i].name) == 0)
						dup = k;
				diag_add(dl, DIAG_ERROR, lines[dup], cols[dup], "duplicate domain '%s'", s.d[i].name);
			}
		}
		free(tmp);
	}
	free(lines);
	free(cols);
	if (dl->errors != errors0) {
		ids_state_clear(&s);
		return -1;
	}
	*out = s;
	*version = ver;
	return 0;
}

char *
dnsstate_format(const struct ids_state *s)
{
	struct buf b = {0};

	buf_printf(&b, "mtastsd-state %d\n", DNSSTATE_VERSION);
	buf_puts(&b, "# ids and policy fingerprints of mtastsd; written by mtastsd, do not edit\n");
	for (size_t i = 0; i < s->n; i++) {
		const struct ids_domain *e = &s->d[i];
		/* a line per domain, a million of them at a provider's size: no printf */
		buf_puts(&b, "domain ");
		buf_puts(&b, e->name);
		buf_puts(&b, " id=");
		buf_puts(&b, e->id);
		buf_puts(&b, " fp=");
		buf_puts(&b, e->fp);
		buf_puts(&b, " max_age=");
		buf_putu(&b, e->max_age);
		buf_puts(&b, " rua=");
		buf_puts(&b, e->rua[0] ? e->rua : "-");
		buf_puts(&b, e->retiring ? " status=retiring" : e->expired ? " status=expired" : " status=active");
		if (e->tlsrpt_del[0] != '\0') {
			buf_puts(&b, " tlsrpt_del=");
			buf_puts(&b, e->tlsrpt_del);
		}
		buf_puts(&b, "\n");
	}
	buf_printf(&b, "end %zu\n", s->n);
	return b.data;
}

int
dnsstate_load(const char *path, struct ids_state *out, int *version, bool *exists,
    struct diag_list *dl)
{
	char *data;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	*exists = false;
	*version = DNSSTATE_VERSION;
	if (read_file(path, &data, &len) < 0) {
		if (errno == ENOENT)
			return 0;
		diag_add(dl, DIAG_ERROR, 0, 0, "cannot read the state file: %s", strerror(errno));
		return -1;
	}
	*exists = true;
	rc = dnsstate_parse(data, len, out, version, dl);
	free(data);
	return rc;
}

int
dnsstate_mkdirs(const char *dir)
{
	char *p = xstrdup(dir);
	int rc = 0;

	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST) {
				rc = -1;
				break;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	if (rc == 0) {
		struct stat st;
		if (stat(p, &st) < 0)
			rc = -1;
		else if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			rc = -1;
		}
	}
	int saved = errno;
	free(p);
	errno = saved;
	return rc;
}

int
dnsstate_lock(const char *path, char *err, size_t errlen)
{
	char *dir = path_dirname(path), *lock = xasprintf("%s.lock", path);
	int fd = -1;

	if (dnsstate_mkdirs(dir) < 0) {
		snprintf(err, errlen, "cannot create the state folder '%s': %s", dir, strerror(errno));
		goto done;
	}
	if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		snprintf(err, errlen, "cannot open the lock file '%s': %s", lock, strerror(errno));
		goto done;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		snprintf(err, errlen, "cannot lock '%s': %s", lock, strerror(errno));
		close(fd);
		fd = -1;
		break;
	}
done:
	free(dir);
	free(lock);
	return fd;
}

void
dnsstate_unlock(int fd)
{
	if (fd >= 0) {
		flock(fd, LOCK_UN);
		close(fd);
	}
}

int
dnsstate_write_atomic(const char *path, const char *data, size_t len, mode_t mode,
    char *err, size_t errlen)
{
	char *dir = path_dirname(path), *tmp = xasprintf("%s.tmp.XXXXXX", path);
	int fd = -1, dfd = -1, rc = -1;
	size_t off = 0;

	if ((fd = mkstemp(tmp)) < 0) {
		snprintf(err, errlen, "cannot create a temporary file next to '%s': %s", path, strerror(errno));
		goto done;
	}
	/* opened before the rename: once that is done, a failure can no longer leave PATH untouched */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot open the folder '%s': %s", dir, strerror(errno));
		goto unlink;
	}
	if (fchmod(fd, mode) < 0) {
		snprintf(err, errlen, "cannot set the mode of '%s': %s", tmp, strerror(errno));
		goto unlink;
	}
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
			goto unlink;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		snprintf(err, errlen, "cannot fsync '%s': %s", tmp, strerror(errno));
		goto unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		snprintf(err, errlen, "cannot close '%s': %s", tmp, strerror(errno));
		goto unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
		goto unlink;
	}
	/* the rename itself is only durable once the folder is synced */
	if (fsync(dfd) < 0) {
		snprintf(err, errlen, "'%s' was replaced, but the folder '%s' could not be synced (a crash may bring "
		    "back its old contents): %s", path, dir, strerror(errno));
		rc = DNSSTATE_NOT_DURABLE;
		goto done;
	}
	rc = 0;
	goto done;
unlink:
	unlink(tmp);
done:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	free(tmp);
	free(dir);
	return rc;
}

int
dnsstate_save(const char *path, const struct ids_state *s, char *err, size_t errlen)
{
	char *text = dnsstate_format(s);
	int rc = dnsstate_write_atomic(path, text, strlen(text), 0644, err, errlen);

	free(text);
	return rc;
}
