/* SPDX-License-Identifier: MIT */
/* dirlist: a folder's entries, sorted by name; taken over from the previous listing while the folder is unchanged. */
#include "dirlist.h"
#include "util.h"
#include "vec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct dirlist_entry *)a)->name, ((const struct dirlist_entry *)b)->name);
}

static bool
same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* T is at least a second before LATER. */
static bool
settled(const struct timespec *t, const struct timespec *later)
{
	return later->tv_sec - t->tv_sec > 1 || (later->tv_sec - t->tv_sec == 1 && later->tv_nsec >= t->tv_nsec);
}

static bool
still_valid(const struct dirlist *was, const struct dirlist *now)
{
	/*
	 * Creating, removing or renaming an entry sets the folder's mtime and
	 * ctime. A change made in the same clock tick as an earlier one can keep
	 * them as they were, so a listing made within a second of the folder's
	 * last change is not trusted.
	 */
	return was != NULL && was->stat_ok && now->stat_ok && was->dev == now->dev && was->ino == now->ino &&
	    same_time(&was->mtim, &now->mtim) && same_time(&was->ctim, &now->ctim) &&
	    settled(&was->mtim, &was->listed) && settled(&was->ctim, &was->listed);
}

static void
copy_entries(struct dirlist *l, const struct dirlist *was)
{
	l->block_len = was->block_len;
	l->block = xmalloc(was->block_len ? was->block_len : 1);
	/* an empty folder's listing has no block at all: memcpy must not see its NULL */
	if (was->block_len > 0)
		memcpy(l->block, was->block, was->block_len);
	l->n = was->n;
	l->v = xcalloc(was->n ? was->n : 1, sizeof(*l->v));
	for (size_t i = 0; i < was->n; i++) {
		l->v[i].name = l->block + (was->v[i].name - was->block);
		l->v[i].type = was->v[i].type;
	}
}

static void
read_entries(struct dirlist *l, DIR *d, bool (*keep)(const char *name))
{
	struct buf names = { 0 };
	size_t *offs = NULL, cap = 0;
	struct dirent *de;

	/* names go into one block: offsets while it grows, pointers once it is complete */
	while ((de = readdir(d)) != NULL) {
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		if (de->d_type == DT_REG && !keep(de->d_name))
			continue;
		if (l->n == cap) {
			VEC_RESERVE(l->v, cap, l->n + 1, 16);
			/* not vec: a twin of l->v, sized to the capacity VEC_RESERVE just chose */
			offs = xreallocarray(offs, cap, sizeof(*offs));
		}
		len = strlen(de->d_name);
		offs[l->n] = names.len;
		l->v[l->n].type = de->d_type;
		l->n++;
		buf_append(&names, de->d_name, len + 1);
	}
	l->block = names.data;
	l->block_len = names.len;
	for (size_t i = 0; i < l->n; i++)
		l->v[i].name = l->block + offs[i];
	free(offs);
	if (l->n > 0)
		qsort(l->v, l->n, sizeof(*l->v), cmp_entry);
}

struct dirlist *
dirlist_read(DIR *d, const char *path, const struct dirlist *was, bool (*keep)(const char *name), bool *reused)
{
	struct dirlist *l = xcalloc(1, sizeof(*l));
	struct stat st;

	l->path = xstrdup(path);
	/* the clock first: a change after it is after the listing too */
	clock_gettime(CLOCK_REALTIME, &l->listed);
	if (fstat(dirfd(d), &st) == 0) {
		l->stat_ok = true;
		l->dev = st.st_dev;
		l->ino = st.st_ino;
		l->mtim = st.st_mtim;
		l->ctim = st.st_ctim;
	}
	*reused = still_valid(was, l);
	if (*reused) {
		/* what the folder looked like then is what it looks like now: it was listed before then */
		l->listed = was->listed;
		copy_entries(l, was);
	} else
		read_entries(l, d, keep);
	return l;
}

bool
dirlist_has(const struct dirlist *l, const char *name)
{
	struct dirlist_entry key = { name, 0 };

	return l->n > 0 && bsearch(&key, l->v, l->n, sizeof(*l->v), cmp_entry) != NULL;
}

void
dirlist_free(struct dirlist *l)
{
	if (l == NULL)
		return;
	free(l->path);
	free(l->block);
	free(l->v);
	free(l);
}

static void
own(struct dirlist_seen *s, char *p)
{
	VEC_PUSH(s->owned, s->n, s->cap, p);
}

bool
dirlist_seen_add(struct dirlist_seen *s, dev_t dev, ino_t ino, const char *path, const char **first)
{
	char *key = xasprintf("%llx:%llx", (unsigned long long)dev, (unsigned long long)ino), *was;

	if ((was = hmap_get(&s->map, key)) != NULL) {
		free(key);
		if (first != NULL)
			*first = was;
		return false;
	}
	own(s, key);
	own(s, was = xstrdup(path));
	hmap_put(&s->map, key, was);
	return true;
}

void
dirlist_seen_clear(struct dirlist_seen *s)
{
	hmap_clear(&s->map);
	for (size_t i = 0; i < s->n; i++)
		free(s->owned[i]);
	free(s->owned);
	memset(s, 0, sizeof(*s));
}
