/* SPDX-License-Identifier: MIT */
/* dirlist: a folder's entries, sorted by name; taken over from the previous listing while the folder is unchanged. */
#ifndef MTASTSD_DIRLIST_H
#define MTASTSD_DIRLIST_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include "hmap.h"

struct dirlist_entry {
	const char *name;		/* into the list's block */
	unsigned char type;		/* d_type as readdir gave it (DT_UNKNOWN and DT_LNK need a stat) */
};

struct dirlist {
	char *path;
	bool stat_ok;			/* the folder's identity and times below were read */
	dev_t dev;
	ino_t ino;
	struct timespec mtim, ctim;	/* the folder's, as it was listed */
	struct timespec listed;		/* the wall clock when it was listed */
	char *block;			/* every name, each ending in NUL */
	size_t block_len;
	struct dirlist_entry *v;
	size_t n;
};

/*
 * The entries of the folder open as D, at PATH: names not starting with a
 * dot, regular files only when KEEP accepts their name, sorted by name (so
 * what is built from them does not depend on readdir's order). When WAS (a
 * listing of PATH, or NULL) still describes the folder (same device, inode,
 * mtime and ctime, and no change in the second before it was listed, which a
 * later change could share on a coarse clock), its entries are copied instead
 * of reading the folder again and *REUSED is set. Free with dirlist_free.
 */
struct dirlist *dirlist_read(DIR *d, const char *path, const struct dirlist *was, bool (*keep)(const char *name),
    bool *reused);
/*
 * The folders a tree walk has entered, by (device, inode): a walk that adds
 * each folder before reading it visits every folder once, whatever links
 * lead to it (a link back up the tree is no loop, a second link no copy).
 * Zero-initialise; release with dirlist_seen_clear.
 */
struct dirlist_seen {
	struct hmap map;		/* "dev:ino" -> the path it was first entered by */
	char **owned;			/* every key and path, for freeing */
	size_t n, cap;
};
/*
 * Record the folder DEV/INO, entered as PATH. Returns true when it is new;
 * false when it was entered before, with *FIRST (may be NULL) set to the
 * path it was entered by then (owned by S).
 */
bool dirlist_seen_add(struct dirlist_seen *s, dev_t dev, ino_t ino, const char *path, const char **first);
/* Free what S holds (not S); S is left {0}, ready to record again. */
void dirlist_seen_clear(struct dirlist_seen *s);

/* Whether L has an entry NAME. */
bool dirlist_has(const struct dirlist *l, const char *name);
void dirlist_free(struct dirlist *l);

#endif
