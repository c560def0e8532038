/* SPDX-License-Identifier: MIT */
/* certstore_int: the types the certificate family (certstore, certscan, certload, certindex, certtls) shares; private to it. */
#ifndef MTASTSD_CERTSTORE_INT_H
#define MTASTSD_CERTSTORE_INT_H

#include "certparse.h"
#include "certstore.h"
#include "diag.h"
#include "dirlist.h"
#include "hmap.h"
#include "util.h"
#include "vec.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#define MAX_DEPTH 8
#define MAX_CHAIN 16
#define MAX_FILE (1024 * 1024)

/* An intermediate certificate, shared by every chain that sends it. */
struct inter {
	unsigned char *der;
	size_t len;
	char id[17];				/* hash of the DER, the key in certstore.inters */
	_Atomic(gnutls_pcert_st *) pcert;	/* GnuTLS form, built on first use */
	atomic_int refs;			/* the store that made it, and every pair that sends it */
};

/* A chain as GnuTLS sends it, and its key; the first n_owned entries belong to it, the rest are shared intermediates. */
struct chain {
	gnutls_privkey_t key;
	unsigned n, n_owned;
	gnutls_pcert_st pcerts[];
};

/* A certificate and its key. Shared by the stores of successive reloads while their files do not change. */
struct cert {
	atomic_int refs;
	char *path, *key_path;
	enum certstore_key kind;
	time_t not_before, not_after;	/* validity, both inclusive: a candidate only in between */
	char **names;			/* SAN dNSNames, lower case, no trailing dot */
	size_t n_names;
	unsigned char *leaf;		/* DER of the leaf, until GnuTLS's form is built */
	size_t leaf_len;
	struct certparse_info info;	/* what certparse read from leaf (pointers into it) */
	unsigned char *key;		/* DER of the private key, likewise */
	size_t key_len;
	struct inter **inters;
	unsigned n_inters;
	_Atomic(struct chain *) chain;	/* built on first use, or at load when certparse did not read it */
	atomic_bool failed;		/* building it failed (logged once); not retried */
	bool acme;			/* found under ACME's folder, not tls.certs: the operator's pairs win */
};

/*
 * Every pair under one SAN name, positions in certstore.certs. Which of them
 * serves is decided at each lookup, against the clock: a pair that comes into
 * or goes out of validity changes the choice without a reload.
 */
struct entry {
	size_t n;
	long first;
	long *more;			/* n - 1 further positions */
};

/* A file as it was read: a reload reuses what was read from it while these stay the same. */
struct filerec {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
	mode_t mode;
	bool has_cert, has_key;
	bool broken;			/* its pair did not load; cert is the earlier version kept in service */
	struct cert *cert;		/* the pair whose certificate this file holds, or NULL (borrowed) */
};

struct certstore {
	struct cert **certs;
	size_t n, cap;
	struct hmap index;		/* SAN name (or "*.suffix") -> struct entry */
	struct entry **entry_list;
	size_t n_entries, cap_entries;
	struct hmap inters;		/* struct inter.id -> struct inter */
	struct inter **inter_list;
	size_t n_inters, cap_inters;
	pthread_mutex_t lock;		/* the intermediates, while pairs load in parallel */
	struct hmap files;		/* struct filerec.path -> struct filerec */
	struct filerec *filerecs;
	size_t n_filerecs;
	size_t n_reused;		/* pairs taken over from the previous store */
	size_t n_broken;		/* pairs (or their files) that could not be loaded: their names only go unserved */
	struct dirlist **dirs;		/* the folders as listed, which the next load takes over while unchanged */
	size_t n_dirs, n_dirs_reused;
	struct hmap dirs_by_path;	/* struct dirlist.path -> struct dirlist */
};

/* ---- certscan.c: the files under tls.certs, read and paired ---- */

struct file {
	char *path;			/* DIR/BASE */
	const char *base, *ext;		/* into path: the file's name, and what follows its last dot */
	size_t dir_len;
	char *data;
	size_t len;
	struct stat st;			/* as it was read (or found unchanged) */
	const struct filerec *was;	/* the previous load's record of it, when st was taken while listing */
	int read_errno;			/* reading it failed (reported once every file was read) */
	bool has_cert, has_key, used;
	bool unchanged;			/* as the previous store read it: not read again */
	bool broken;			/* its pair did not load (cert: the earlier version kept) */
	struct cert *cert;		/* the pair loaded with this file as its certificate */
};

struct filelist {
	struct file *v;
	size_t n, cap;
	struct hmap by_path;		/* path -> index + 1 (as a pointer), built when first needed */
	bool by_path_built;
	const struct certstore *prev;	/* the store of the previous load, or NULL */
	size_t hint;			/* the previous store's record after the last one found */
	struct dirlist **dirs;		/* every folder listed, for the next load */
	size_t n_dirs, cap_dirs, n_dirs_reused;
	struct dirlist_seen seen;	/* every folder entered, so each is read once (links and loops) */
};

/* Pairs found by file name and content, loaded in parallel, then added in the order found. */
struct pair {
	struct file *cf, *kf;
	struct cert *c;			/* the loaded pair, or NULL */
	bool reused;			/* c was taken over from the previous store */
	bool kept;			/* the files are broken now; c is the version that served before */
	struct diag_list dl;		/* what loading it said */
};

struct pairs {
	struct certstore *cs;
	const struct certstore *prev;
	struct pair *v;
	size_t n, cap;
};

/*
 * List DIR's tree into FL (whose prev is the store of the previous load, or
 * NULL) and read every candidate file on THREADS threads, a file unchanged
 * since PREV read it costing a stat instead; what cannot be read is added to
 * DL, and counted into *N_BROKEN when it leaves a pair unserved. EXTRA (or
 * NULL) is a second tree listed after DIR, ACME's certificates: missing, it
 * holds nothing; unreadable, it is counted broken (its names unserved), not
 * an error. Returns -1 (an error in DL) when DIR itself cannot be read.
 */
int certscan_list(struct filelist *fl, const char *dir, const char *extra, unsigned threads, struct diag_list *dl,
    size_t *n_broken);
/* Pair the files of FL into PS, by layout: certbot's, one file holding both, NAME.key beside NAME.crt|pem|cer. */
void certscan_pair(struct filelist *fl, struct pairs *ps);
/* Warnings about the files of FL that are in no pair (a key without certificate, and so on). */
void certscan_leftovers(struct filelist *fl, struct diag_list *dl);
/* Read F now (its contents are needed): 0, or -1 with read_errno set and F marked used. */
int certscan_read(struct file *f);
/* The error reading F gave, if any, into DL. */
void certscan_report_read_error(const struct file *f, struct diag_list *dl);
/* What the next reload needs to know of the files and folders of FL, into CS (takes both). */
void certscan_remember(struct certstore *cs, struct filelist *fl);
/* Free what FL holds (not FL), its folders too unless certscan_remember took them; FL is left {0}. */
void certscan_clear(struct filelist *fl);

/* ---- certload.c: one pair read into a struct cert, and GnuTLS's form of it ---- */

/* pool_fn: load pair I of the struct pairs CTX, or take it over from the previous store. */
void certload_one(void *ctx, size_t i);
/*
 * The chain of C in GnuTLS's form, built on the first call (by whichever
 * thread comes first). NULL when GnuTLS cannot use it: logged once, or
 * added to DL when it is not NULL (`check`).
 */
struct chain *certload_chain(struct cert *c, struct diag_list *dl);
/* Whether the first certificate in the PEM DATA[0..LEN) is a CA certificate. */
bool certload_pem_is_ca(const char *data, size_t len);
/* Drop a reference to C or IN, freeing it with the last one (NULL is ignored). */
void certload_cert_unref(struct cert *c);
void certload_inter_unref(struct inter *in);
/* Zero P[0..LEN) (it may hold a private key), then free it; NULL is ignored. */
void certload_wipe_free(void *p, size_t len);

/* ---- certindex.c: the SAN name index and the choice of a pair ---- */

/* Index pair IDX of CS under its names. */
void certindex_add(struct certstore *cs, size_t idx);
/* Free the index of CS (not CS); the index is left empty, ready for certindex_add. */
void certindex_clear(struct certstore *cs);
/*
 * The choice itself, the one place it is made (handshakes, `check`, what a
 * snapshot counts as served): of the pairs valid at NOW, for HOST, in order
 * of preference: exact EC, exact RSA, wildcard EC, wildcard RSA, each the
 * one of its kind expiring last (-1: none). The handshake then takes the
 * first its client accepts.
 */
void certindex_candidates(const struct certstore *cs, const char *host, time_t now, long out[4]);

/* ---- certstore.c: the store's life cycle ---- */

/* T as "YYYY-MM-DD HH:MM:SSZ" into WHEN. */
void certstore_utc_when(time_t t, char when[32]);

#endif
