/* SPDX-License-Identifier: MIT */
/* statememo: the DNS state file as this process last read or wrote it, kept parsed while the file on disk is that version. */
#include "statememo.h"
#include "dnsstate.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static struct {
	char *path;			/* NULL: nothing kept */
	struct stat st;			/* the file's when it was kept */
	struct ids_state state;
	int version;
	unsigned long long gen;		/* the domset STATE was assigned for; 0: unknown */
	size_t *flagged, n_flagged;	/* ids_flagged of STATE, when GEN is set */
} memo;

static bool
same_version(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

void
statememo_clear(void)
{
	free(memo.path);
	free(memo.flagged);
	ids_state_clear(&memo.state);
	memset(&memo, 0, sizeof(memo));
}

int
statememo_load(const char *path, const struct ids_state **out, int *version, bool *exists, struct diag_list *dl)
{
	static const struct ids_state empty;
	struct stat st;

	*out = &empty;
	*exists = false;
	*version = DNSSTATE_VERSION;
	if (stat(path, &st) < 0) {
		statememo_clear();
		/* missing: empty; anything else dnsstate_load reports */
		if (errno == ENOENT)
			return 0;
	} else if (memo.path != NULL && strcmp(memo.path, path) == 0 && same_version(&memo.st, &st)) {
		*out = &memo.state;
		*version = memo.version;
		*exists = true;
		return 0;
	}
	statememo_clear();
	/* stat'ed before the read: a file replaced meanwhile differs from the kept one at the next call */
	if (dnsstate_load(path, &memo.state, &memo.version, exists, dl) < 0)
		return -1;
	*version = memo.version;
	if (!*exists)
		return 0;
	memo.path = xstrdup(path);
	memo.st = st;
	*out = &memo.state;
	return 0;
}

void
statememo_keep(const char *path, struct ids_state *st, unsigned long long gen)
{
	struct stat sb;

	statememo_clear();
	if (stat(path, &sb) < 0) {
		ids_state_clear(st);
		return;
	}
	memo.path = xstrdup(path);
	memo.st = sb;
	memo.state = *st;
	memo.version = DNSSTATE_VERSION;
	memset(st, 0, sizeof(*st));
	if ((memo.gen = gen) != 0)
		memo.n_flagged = ids_flagged(&memo.state, &memo.flagged);
}

bool
statememo_assigned_for(const char *path, unsigned long long gen, const size_t **flagged, size_t *n)
{
	if (memo.path == NULL || gen == 0 || memo.gen != gen || strcmp(memo.path, path) != 0)
		return false;
	*flagged = memo.flagged;
	*n = memo.n_flagged;
	return true;
}
