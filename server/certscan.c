/* SPDX-License-Identifier: MIT */
/* certscan: the certificate and key files under tls.certs, listed, read and paired by layout. */
#include "certstore_int.h"
#include "pool.h"
#include "privsep.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void
file_clear(struct file *f)
{
	if (f->has_key)
		certload_wipe_free(f->data, f->len);
	else
		free(f->data);		/* certificates only: nothing to wipe */
	free(f->path);
	memset(f, 0, sizeof(*f));
}

static bool
interesting(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (name[0] == '.' || dot == NULL)
		return false;
	return strcmp(dot, ".pem") == 0 || strcmp(dot, ".crt") == 0 || strcmp(dot, ".cer") == 0 ||
	    strcmp(dot, ".key") == 0;
}

/* DIR/NAME, in one allocation (200,000 files make a plain asprintf show up) */
static char *
join(const char *dir, size_t dir_len, const char *name, size_t name_len)
{
	char *p = xmalloc(dir_len + 1 + name_len + 1);

	memcpy(p, dir, dir_len);
	p[dir_len] = '/';
	memcpy(p + dir_len + 1, name, name_len);
	p[dir_len + 1 + name_len] = '\0';
	return p;
}

/* Takes PATH, DIR/NAME with DIR DIR_LEN bytes long. */
static void
add_file(struct filelist *fl, char *path, size_t dir_len)
{
	struct file f = { 0 };

	f.path = path;
	f.dir_len = dir_len;
	f.base = path + dir_len + 1;
	f.ext = strrchr(f.base, '.') + 1;
	VEC_PUSH(fl->v, fl->n, fl->cap, f);
}

/* The previous load's record of PATH, or NULL. */
static const struct filerec *
prev_record(struct filelist *fl, const char *path)
{
	const struct certstore *p = fl->prev;
	const struct filerec *r;

	if (p == NULL)
		return NULL;
	/* the tree is listed in the same order each time: the record after the last one found is usually it */
	if (fl->hint < p->n_filerecs && strcmp(p->filerecs[fl->hint].path, path) == 0)
		r = &p->filerecs[fl->hint];
	else if ((r = hmap_get(&p->files, path)) == NULL)
		return NULL;
	fl->hint = (size_t)(r - p->filerecs) + 1;
	return r;
}

/* Collect candidate files under DIR, sorted, so the result does not depend on readdir order. */
static int
scan(const char *dir, int depth, struct filelist *fl, struct diag_list *dl)
{
	DIR *d;
	struct dirlist *l;
	size_t dir_len = strlen(dir);
	bool letsencrypt, reused;
	struct stat dst;
	const char *first;

	if ((d = privsep_opendir(dir)) == NULL) {
		/* the top folder is the configuration's; one below it holds some tenants' pairs only */
		diag_add(dl, depth == 0 ? DIAG_ERROR : DIAG_UNSERVED, 0, 0, "tls.certs: cannot read folder '%s': %s",
		    dir, errno == EACCES || errno == EPERM ? "permission denied" : strerror(errno));
		return -1;
	}
	/* by (device, inode): a link back up the tree is read once, not until MAX_DEPTH multiplies every pair */
	if (fstat(dirfd(d), &dst) == 0 && !dirlist_seen_add(&fl->seen, dst.st_dev, dst.st_ino, dir, &first)) {
		diag_add(dl, DIAG_WARNING, 0, 0, "tls.certs: folder '%s' is '%s' again (a link); read once", dir, first);
		closedir(d);
		return 0;
	}
	/* a regular file whose name is not a certificate's or key's is nothing to us */
	l = dirlist_read(d, dir, fl->prev ? hmap_get(&fl->prev->dirs_by_path, dir) : NULL, interesting, &reused);
	VEC_PUSH(fl->dirs, fl->n_dirs, fl->cap_dirs, l);
	fl->n_dirs_reused += reused;
	letsencrypt = dirlist_has(l, "live") && dirlist_has(l, "archive");
	for (size_t i = 0; i < l->n; i++) {
		const char *name = l->v[i].name;
		unsigned char type = l->v[i].type;
		char *path;
		struct stat st;

		/*
		 * A certbot root (/etc/letsencrypt): live/ links to the current
		 * files; archive/ keeps every old version, keys/ and csr/ hold
		 * spare keys and requests. Only live/ is what certbot serves.
		 */
		if (letsencrypt && (strcmp(name, "archive") == 0 || strcmp(name, "keys") == 0 ||
		    strcmp(name, "csr") == 0 || strcmp(name, "accounts") == 0))
			continue;
		path = join(dir, dir_len, name, strlen(name));
		/* readdir's type spares a stat per file; a link (certbot's live/ links into archive/) is followed */
		if (type != DT_REG && type != DT_DIR) {
			if (privsep_stat(path, &st) == 0)
				type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
			else if (errno == EACCES || errno == EPERM) {
				/* what we may not read is reported as that (a file when it is read), not left out as missing */
				if (!interesting(name))
					diag_add(dl, DIAG_WARNING, 0, 0, "cannot read '%s': permission denied", path);
				type = DT_REG;
			} else
				type = DT_UNKNOWN;
		}
		if (type == DT_DIR && depth < MAX_DEPTH)
			scan(path, depth + 1, fl, dl);
		else if (type == DT_REG && interesting(name)) {
			add_file(fl, path, dir_len);
			struct file *f = &fl->v[fl->n - 1];
			const struct filerec *r;

			/* a file the previous load read: a stat relative to the open folder tells whether it changed */
			if ((r = prev_record(fl, path)) != NULL &&
			    (fstatat(dirfd(d), name, &f->st, 0) == 0 || privsep_stat(path, &f->st) == 0))
				f->was = r;
			path = NULL;
		}
		free(path);
	}
	closedir(d);
	return 0;
}

static bool
same_file(const struct stat *st, const struct filerec *r)
{
	return st->st_dev == r->dev && st->st_ino == r->ino && st->st_size == r->size &&
	    st->st_mtim.tv_sec == r->mtim.tv_sec && st->st_mtim.tv_nsec == r->mtim.tv_nsec &&
	    st->st_ctim.tv_sec == r->ctim.tv_sec && st->st_ctim.tv_nsec == r->ctim.tv_nsec;
}

/* Read F now (its contents are needed); 0, or -1 with read_errno set and F marked used. */
int
certscan_read(struct file *f)
{
	if (f->data != NULL)
		return 0;
	if (privsep_read_file(f->path, MAX_FILE, &f->data, &f->len, &f->st) < 0) {
		f->read_errno = errno;
		f->used = true;
		return -1;
	}
	f->has_cert = strstr(f->data, "-----BEGIN CERTIFICATE-----") != NULL;
	f->has_key = strstr(f->data, "PRIVATE KEY-----") != NULL;
	return 0;
}

/*
 * pool_fn: candidate I of the struct filelist CTX. A file the previous
 * store read, unchanged since (same inode, size, mtime and ctime: certbot
 * and cert-manager replace files, editors rewrite them), costs a stat
 * instead of a read; the pair it belongs to is then taken over as it is.
 */
static void
read_candidate(void *ctx, size_t i)
{
	struct file *f = &((struct filelist *)ctx)->v[i];

	if (f->was != NULL && same_file(&f->st, f->was)) {
		f->unchanged = true;
		f->has_cert = f->was->has_cert;
		f->has_key = f->was->has_key;
		return;
	}
	(void)certscan_read(f);
}

void
certscan_report_read_error(const struct file *f, struct diag_list *dl)
{
	if (f->read_errno == EFBIG)
		diag_add(dl, DIAG_WARNING, 0, 0, "'%s' is larger than 1 MiB, ignored", f->path);
	else if (f->read_errno != 0)
		diag_add(dl, DIAG_UNSERVED, 0, 0, "cannot read '%s': %s", f->path,
		    f->read_errno == EACCES || f->read_errno == EPERM ? "permission denied" : strerror(f->read_errno));
}

static void
add_pair(struct pairs *ps, struct file *cf, struct file *kf)
{
	struct pair p = { cf, kf, NULL, false, false, { 0 } };

	cf->used = kf->used = true;
	VEC_PUSH(ps->v, ps->n, ps->cap, p);
}

/* The unused file BASE (BASE_LEN bytes) in the folder of NEAR, or NULL. */
static struct file *
find_in_dir(struct filelist *fl, const struct file *near, const char *base, size_t base_len)
{
	size_t at = (size_t)(near - fl->v);
	uintptr_t i = 0;
	char *path;

	/* listed sorted, a pair's files are next to each other (NAME.crt, NAME.key; cert, chain, fullchain, privkey) */
	for (size_t j = at > 3 ? at - 3 : 0; j < fl->n && j <= at + 3; j++) {
		const struct file *f = &fl->v[j];

		if (j != at && f->dir_len == near->dir_len && memcmp(f->path, near->path, near->dir_len) == 0 &&
		    strcmp(f->base, base) == 0)
			return f->used ? NULL : &fl->v[j];
	}
	/* else a hash lookup: tens of thousands of pairs must not cost a quadratic scan */
	if (!fl->by_path_built) {
		for (size_t j = 0; j < fl->n; j++)
			hmap_put(&fl->by_path, fl->v[j].path, (void *)(uintptr_t)(j + 1));
		fl->by_path_built = true;
	}
	path = join(near->path, near->dir_len, base, base_len);
	i = (uintptr_t)hmap_get(&fl->by_path, path);
	free(path);
	if (i == 0 || fl->v[i - 1].used)
		return NULL;
	return &fl->v[i - 1];
}

/*
 * Whether a file BASE beside NEAR could not be read (its error is reported):
 * NEAR's pair is then not "without a key", only unreadable. Looked for among
 * the neighbours only, where sorting puts a pair's files.
 */
static bool
unreadable_near(const struct filelist *fl, const struct file *near, const char *base)
{
	size_t at = (size_t)(near - fl->v);

	for (size_t j = at > 3 ? at - 3 : 0; j < fl->n && j <= at + 3; j++) {
		const struct file *f = &fl->v[j];

		if (j != at && f->read_errno != 0 && f->dir_len == near->dir_len &&
		    memcmp(f->path, near->path, near->dir_len) == 0 && strcmp(f->base, base) == 0)
			return true;
	}
	return false;
}


void
certscan_remember(struct certstore *cs, struct filelist *fl)
{
	cs->filerecs = xcalloc(fl->n ? fl->n : 1, sizeof(*cs->filerecs));
	for (size_t i = 0; i < fl->n; i++) {
		struct file *f = &fl->v[i];
		struct filerec *r = &cs->filerecs[cs->n_filerecs];

		if (f->read_errno != 0 || (f->data == NULL && !f->unchanged))
			continue;
		r->path = f->path;
		f->path = NULL;
		r->dev = f->st.st_dev;
		r->ino = f->st.st_ino;
		r->size = f->st.st_size;
		r->mtim = f->st.st_mtim;
		r->ctim = f->st.st_ctim;
		r->mode = f->st.st_mode;
		r->has_cert = f->has_cert;
		r->has_key = f->has_key;
		r->cert = f->cert;
		r->broken = f->broken;
		hmap_put(&cs->files, r->path, r);
		cs->n_filerecs++;
	}
	cs->dirs = fl->dirs;
	cs->n_dirs = fl->n_dirs;
	cs->n_dirs_reused = fl->n_dirs_reused;
	fl->dirs = NULL;
	fl->n_dirs = 0;
	for (size_t i = 0; i < cs->n_dirs; i++)
		hmap_put(&cs->dirs_by_path, cs->dirs[i]->path, cs->dirs[i]);
}

/* The top folder DIR (trailing slashes dropped), listed and read. */
int
certscan_list(struct filelist *fl, const char *dir, const char *extra, unsigned threads, struct diag_list *dl,
    size_t *n_broken)
{
	char *top = xstrdup(dir);
	size_t n = strlen(top);
	int rc;

	while (n > 1 && top[n - 1] == '/')
		top[--n] = '\0';
	rc = scan(top, 0, fl, dl);
	free(top);
	if (rc < 0)
		return -1;
	if (extra != NULL) {
		struct stat st;

		/*
		 * ACME's folder, made by the orderer: until then nothing in it
		 * serves. Listed as a sub-folder (depth 1): when it cannot be
		 * read, only ACME's names go unserved, the operator's serve.
		 */
		if ((privsep_stat(extra, &st) == 0 || errno != ENOENT) && scan(extra, 1, fl, dl) < 0)
			(*n_broken)++;
	}
	pool_run(fl->n, threads, read_candidate, fl);
	for (size_t i = 0; i < fl->n; i++) {
		certscan_report_read_error(&fl->v[i], dl);
		*n_broken += fl->v[i].read_errno != 0 && fl->v[i].read_errno != EFBIG;
	}
	return 0;
}

void
certscan_pair(struct filelist *fl, struct pairs *ps)
{
	/* certbot: fullchain.pem + privkey.pem; cert.pem and chain.pem beside them are parts of the same */
	for (size_t i = 0; i < fl->n; i++) {
		struct file *f = &fl->v[i], *k, *x;

		if (f->used || strcmp(f->base, "fullchain.pem") != 0)
			continue;
		if ((k = find_in_dir(fl, f, "privkey.pem", 11)) == NULL) {
			f->used = unreadable_near(fl, f, "privkey.pem");
			continue;
		}
		if ((x = find_in_dir(fl, f, "cert.pem", 8)) != NULL)
			x->used = true;
		if ((x = find_in_dir(fl, f, "chain.pem", 9)) != NULL)
			x->used = true;
		add_pair(ps, f, k);
	}
	/* one file holding both the chain and the key */
	for (size_t i = 0; i < fl->n; i++) {
		struct file *f = &fl->v[i];

		if (!f->used && f->has_cert && f->has_key)
			add_pair(ps, f, f);
	}
	/* NAME.key beside NAME.crt, NAME.pem or NAME.cer */
	for (size_t i = 0; i < fl->n; i++) {
		static const char *const exts[] = { "crt", "pem", "cer" };
		struct file *k = &fl->v[i];

		if ((k->used && k->read_errno == 0) || strcmp(k->ext, "key") != 0)
			continue;
		for (size_t e = 0; e < 3; e++) {
			size_t stem = (size_t)(k->ext - k->base);	/* "NAME." */
			char base[NAME_MAX + 1];
			struct file *f;

			if (stem + 3 > NAME_MAX)
				continue;
			memcpy(base, k->base, stem);
			memcpy(base + stem, exts[e], 4);
			if ((f = find_in_dir(fl, k, base, stem + 3)) != NULL) {
				if (k->read_errno != 0)
					f->used = true;	/* its key is unreadable (reported), not missing */
				else
					add_pair(ps, f, k);
				break;
			}
		}
	}
}

void
certscan_leftovers(struct filelist *fl, struct diag_list *dl)
{
	for (size_t i = 0; i < fl->n; i++) {
		struct file *f = &fl->v[i];

		if (f->used)
			continue;
		if (f->has_key)
			diag_add(dl, DIAG_WARNING, 0, 0, "private key '%s' has no certificate beside it; ignored", f->path);
		else if (f->has_cert) {
			if (certscan_read(f) < 0) {
				certscan_report_read_error(f, dl);
				continue;
			}
			if (!certload_pem_is_ca(f->data, f->len))
				diag_add(dl, DIAG_WARNING, 0, 0,
				    "certificate '%s' has no private key beside it; ignored", f->path);
		} else if (strcmp(f->ext, "key") == 0 || strcmp(f->ext, "crt") == 0)
			diag_add(dl, DIAG_WARNING, 0, 0, "'%s' holds no PEM certificate or key; ignored", f->path);
	}
}

void
certscan_clear(struct filelist *fl)
{
	dirlist_seen_clear(&fl->seen);
	hmap_clear(&fl->by_path);
	for (size_t i = 0; i < fl->n; i++)
		file_clear(&fl->v[i]);
	free(fl->v);
	/* the folders, unless certscan_remember took them */
	for (size_t i = 0; i < fl->n_dirs; i++)
		dirlist_free(fl->dirs[i]);
	free(fl->dirs);
	memset(fl, 0, sizeof(*fl));
}
