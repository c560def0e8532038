/* SPDX-License-Identifier: MIT */
/* Unit tests for dnsstate: the state file format, damaged files with positions, v1 upgrade, atomic writes and the lock. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dnsstate.h"
#include "util.h"

#define FP_A "dfdadfa306f219e9fad5a2c53cd997b293bdd546a2a25b84dad3d7990c264312"
#define FP_B "4175e3e75973303ba25eff3a649aae1a56713a3559cbd23bfe33595f84314ef4"

static const char good_v2[] =
    "mtastsd-state 2\n"
    "# a comment\n"
    "\n"
    "domain example.org id=20260101000000 fp=" FP_B " max_age=86400 rua=- status=active\n"
    "domain example.com id=20251231235959 fp=" FP_A " max_age=604800 rua=430d797240533895 status=active\n"
    "domain old.example id=20260102000000 fp=" FP_B " max_age=31557600 rua=- status=retiring\n";

static char tmpdir[64];

static void
mk_tmp(void)
{
	strcpy(tmpdir, "/tmp/test_dnsstate.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void
rm_tmp(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

/* Parse TEXT, expecting failure; the first diagnostic formatted as "state:L:C: msg". */
static char *
first_error(const char *text)
{
	static char line[1024];
	struct diag_list dl;
	struct ids_state s;
	int version = -1;

	diag_init(&dl, "state");
	cr_assert_eq(dnsstate_parse(text, strlen(text), &s, &version, &dl), -1, "accepted: %s", text);
	cr_assert_eq(s.n, 0);
	cr_assert_gt(dl.errors, 0);
	diag_format(&dl, 0, line, sizeof(line));
	diag_clear(&dl);
	return line;
}

Test(dnsstate, parse_v2)
{
	struct diag_list dl;
	struct ids_state s;
	int version;

	diag_init(&dl, "state");
	cr_assert_eq(dnsstate_parse(good_v2, strlen(good_v2), &s, &version, &dl), 0);
	cr_assert_eq(version, 2);
	cr_assert_eq(s.n, 3);
	/* sorted by name */
	cr_assert_str_eq(s.d[0].name, "example.com");
	cr_assert_str_eq(s.d[0].id, "20251231235959");
	cr_assert_str_eq(s.d[0].fp, FP_A);
	cr_assert_eq(s.d[0].max_age, 604800);
	cr_assert_str_eq(s.d[0].rua, "430d797240533895");
	cr_assert_not(s.d[0].retiring);
	cr_assert_str_eq(s.d[2].name, "old.example");
	cr_assert(s.d[2].retiring);
	cr_assert_eq(s.d[2].max_age, 31557600);
	ids_state_clear(&s);
	diag_clear(&dl);
}

Test(dnsstate, format_parse_round_trip)
{
	struct diag_list dl;
	struct ids_state s, s2;
	int version;
	char *text, *text2;

	diag_init(&dl, "state");
	cr_assert_eq(dnsstate_parse(good_v2, strlen(good_v2), &s, &version, &dl), 0);
	text = dnsstate_format(&s);
	cr_assert(strncmp(text, "mtastsd-state 3\n", 16) == 0);
	cr_assert_eq(dnsstate_parse(text, strlen(text), &s2, &version, &dl), 0);
	text2 = dnsstate_format(&s2);
	cr_assert_str_eq(text, text2);
	cr_assert_eq(s2.n, 3);
	for (size_t i = 0; i < s.n; i++) {
		cr_assert_str_eq(s.d[i].name, s2.d[i].name);
		cr_assert_str_eq(s.d[i].id, s2.d[i].id);
		cr_assert_str_eq(s.d[i].fp, s2.d[i].fp);
		cr_assert_str_eq(s.d[i].rua, s2.d[i].rua);
		cr_assert_eq(s.d[i].max_age, s2.d[i].max_age);
		cr_assert_eq(s.d[i].retiring, s2.d[i].retiring);
	}
	free(text);
	free(text2);
	ids_state_clear(&s);
	ids_state_clear(&s2);
	diag_clear(&dl);
}

Test(dnsstate, empty_state_round_trip)
{
	struct diag_list dl;
	struct ids_state empty = {0}, s;
	int version;
	char *text = dnsstate_format(&empty);

	diag_init(&dl, "state");
	cr_assert_eq(dnsstate_parse(text, strlen(text), &s, &version, &dl), 0);
	cr_assert_eq(s.n, 0);
	free(text);
	diag_clear(&dl);
}

Test(dnsstate, upgrade_from_v1)
{
	static const char v1[] =
	    "mtastsd-state 1\n"
	    "example.org 20240101000000 " FP_B "\n"
	    "example.com\t20230101120000  " FP_A "\n";
	struct diag_list dl;
	struct ids_state s, s2;
	int version;
	char *text;

	diag_init(&dl, "state");
	cr_assert_eq(dnsstate_parse(v1, strlen(v1), &s, &version, &dl), 0);
	cr_assert_eq(version, 1);
	cr_assert_eq(s.n, 2);
	cr_assert_str_eq(s.d[0].name, "example.com");
	cr_assert_str_eq(s.d[0].id, "20230101120000");
	cr_assert_str_eq(s.d[0].fp, FP_A);
	/* unknown in v1: the longest max_age a sender may cache, rua unknown, active */
	cr_assert_eq(s.d[0].max_age, 31557600);
	cr_assert_str_eq(s.d[0].rua, "");
	cr_assert_not(s.d[0].retiring);
	/* written back in the current format, ids kept */
	text = dnsstate_format(&s);
	cr_assert(strncmp(text, "mtastsd-state 3\n", 16) == 0);
	cr_assert(strstr(text, "domain example.com id=20230101120000 fp=" FP_A " max_age=31557600 rua=- status=active\n") != NULL);
	cr_assert_eq(dnsstate_parse(text, strlen(text), &s2, &version, &dl), 0);
	cr_assert_eq(version, 3);
	cr_assert_str_eq(s2.d[1].id, "20240101000000");
	free(text);
	ids_state_clear(&s);
	ids_state_clear(&s2);
	diag_clear(&dl);
}

struct damaged {
	const char *text;
	const char *error;	/* exact first diagnostic */
};

#define L2(x) "mtastsd-state 2\n" x
#define GOOD "domain example.com id=20260101000000 fp=" FP_A " max_age=604800 rua=- status=active\n"

Test(dnsstate, damaged_files_report_line_and_column)
{
	static const struct damaged cases[] = {
		{ "", "state:1:1: state file is empty (expected 'mtastsd-state 3')" },
		{ "hello\n", "state:1:1: not an mtastsd state file (expected 'mtastsd-state 3')" },
		{ "mtastsd-state 4\n", "state:1:15: unsupported state version '4' (this mtastsd reads 1 to 3)" },
		{ L2(GOOD "domain example.org id=2026"),
		  "state:3:27: last line has no newline (truncated file?)" },
		{ L2("domain example.com id=20260101000000 fp=" FP_A " max_age=604800 rua=- status=active"),
		  "state:2:140: last line has no newline (truncated file?)" },
		{ L2("dommain example.com\n"), "state:2:1: expected 'domain', found 'dommain'" },
		{ L2("domain Ex_ample.com id=20260101000000\n"), "state:2:8: invalid domain name 'Ex_ample.com'" },
		{ L2("domain example.com id=2026010100000 fp=" FP_A " max_age=604800 rua=- status=active\n"),
		  "state:2:23: id '2026010100000' is not 14 digits (YYYYMMDDHHMMSS)" },
		{ L2("domain example.com id=20260230000000 fp=" FP_A " max_age=604800 rua=- status=active\n"),
		  "state:2:23: id '20260230000000' is not a valid UTC date and time" },
		{ L2("domain example.com id=20260101000000 fp=XYZ max_age=604800 rua=- status=active\n"),
		  "state:2:41: fingerprint is not 64 lower-case hex digits" },
		{ L2("domain example.com id=20260101000000 fp=" FP_A " max_age=0 rua=- status=active\n"),
		  "state:2:114: max_age '0' is not a number of seconds from 1 to 31557600" },
		{ L2("domain example.com id=20260101000000 fp=" FP_A " max_age=31557601 rua=- status=active\n"),
		  "state:2:114: max_age '31557601' is not a number of seconds from 1 to 31557600" },
		{ L2("domain example.com id=20260101000000 fp=" FP_A " max_age=604800 rua=xyz status=active\n"),
		  "state:2:125: rua is not '-' or 16 lower-case hex digits" },
		{ L2("domain example.com id=20260101000000 fp=" FP_A " max_age=604800 rua=- status=gone\n"),
		  "state:2:134: status 'gone' is not 'active', 'retiring' or 'expired'" },
		{ L2("domain example.com id=20260101000000 fp=" FP_A " max_age=604800 rua=- colour=red\n"),
		  "state:2:127: unknown field 'colour'" },
		{ L2("domain example.com id=20260101000000 id=20260101000000 fp=" FP_A "\n"),
		  "state:2:38: duplicate field 'id'" },
		{ L2("domain example.com id=20260101000000 fp=" FP_A " max_age=604800 rua=-\n"),
		  "state:2:126: field 'status' missing" },
		{ L2(GOOD "# comment\n" GOOD), "state:4:8: duplicate domain 'example.com'" },
		{ "mtastsd-state 1\nexample.com 20260101000000\n",
		  "state:2:27: expected 'NAME ID FINGERPRINT' (version 1 entry)" },
		{ "mtastsd-state 1\nexample.com 20261301000000 " FP_A "\n",
		  "state:2:13: id '20261301000000' is not a valid UTC date and time" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_str_eq(first_error(cases[i].text), cases[i].error, "case %zu: %s", i, first_error(cases[i].text));
}

Test(dnsstate, nul_byte_is_an_error_with_its_position)
{
	static const char text[] = "mtastsd-state 2\ndomain ex\0mple.com\n";
	struct diag_list dl;
	struct ids_state s;
	int version;
	char line[256];

	diag_init(&dl, "state");
	cr_assert_eq(dnsstate_parse(text, sizeof(text) - 1, &s, &version, &dl), -1);
	diag_format(&dl, 0, line, sizeof(line));
	cr_assert_str_eq(line, "state:2:10: NUL byte in state file");
	diag_clear(&dl);
}

Test(dnsstate, every_error_is_reported, .init = mk_tmp, .fini = rm_tmp)
{
	static const char text[] = L2("domain Bad id=1\n" GOOD "domain x.example id=x\n");
	struct diag_list dl;
	struct ids_state s;
	int version;

	diag_init(&dl, "state");
	cr_assert_eq(dnsstate_parse(text, strlen(text), &s, &version, &dl), -1);
	cr_assert_eq(dl.errors, 2);
	cr_assert_eq(dl.items[0].line, 2);
	cr_assert_eq(dl.items[1].line, 4);
	diag_clear(&dl);
}

Test(dnsstate, load_missing_file_is_an_empty_state, .init = mk_tmp, .fini = rm_tmp)
{
	struct diag_list dl;
	struct ids_state s;
	int version;
	bool exists = true;
	char *path = xasprintf("%s/none.state", tmpdir);

	diag_init(&dl, path);
	cr_assert_eq(dnsstate_load(path, &s, &version, &exists, &dl), 0);
	cr_assert_not(exists);
	cr_assert_eq(s.n, 0);
	cr_assert_eq(dl.n, 0);
	diag_clear(&dl);
	free(path);
}

Test(dnsstate, load_unreadable_file_is_an_error, .init = mk_tmp, .fini = rm_tmp)
{
	struct diag_list dl;
	struct ids_state s;
	int version;
	bool exists;

	/* a folder where the file should be: read fails with EISDIR */
	diag_init(&dl, tmpdir);
	cr_assert_eq(dnsstate_load(tmpdir, &s, &version, &exists, &dl), -1);
	cr_assert_eq(dl.errors, 1);
	cr_assert(strstr(dl.items[0].msg, "cannot read the state file") != NULL);
	diag_clear(&dl);
}

Test(dnsstate, save_load_round_trip_creates_no_stray_files, .init = mk_tmp, .fini = rm_tmp)
{
	struct diag_list dl;
	struct ids_state s, s2;
	int version, fd;
	bool exists;
	char err[256], *dir = xasprintf("%s/a/b", tmpdir), *path = xasprintf("%s/a/b/st", tmpdir);
	char *lock = xasprintf("%s.lock", path), *data;
	struct stat st;

	diag_init(&dl, path);
	cr_assert_eq(dnsstate_parse(good_v2, strlen(good_v2), &s, &version, &dl), 0);
	/* the lock creates the missing folders */
	fd = dnsstate_lock(path, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_assert_eq(stat(dir, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(dnsstate_save(path, &s, err, sizeof(err)), 0, "%s", err);
	dnsstate_unlock(fd);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0644);
	cr_assert_eq(dnsstate_load(path, &s2, &version, &exists, &dl), 0);
	cr_assert(exists);
	cr_assert_eq(s2.n, 3);
	cr_assert_eq(read_file(path, &data, NULL), 0);
	cr_assert(strncmp(data, "mtastsd-state 3\n", 16) == 0);
	free(data);
	/* only the state and its lock: no temporary file is left behind */
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 2 && test -f '%s'", dir, lock);
	cr_assert_eq(system(cmd), 0);
	ids_state_clear(&s);
	ids_state_clear(&s2);
	diag_clear(&dl);
	free(dir);
	free(path);
	free(lock);
}

Test(dnsstate, write_atomic_failure_leaves_the_file_untouched, .init = mk_tmp, .fini = rm_tmp)
{
	char err[256], *path = xasprintf("%s/missing/zone", tmpdir);

	/* no such folder: the temporary file cannot be created, nothing is written */
	cr_assert_eq(dnsstate_write_atomic(path, "x\n", 2, 0644, err, sizeof(err)), -1);
	cr_assert(strstr(err, "cannot create a temporary file") != NULL, "%s", err);
	cr_assert_eq(access(path, F_OK), -1);
	free(path);
}

/*
 * A folder its writer may change but not read (mode 0300): the temporary
 * file and the rename would work, opening the folder for its fsync would
 * not. That failure must come before the rename: PATH untouched, as the
 * contract of a -1 says. Run as an unprivileged user, whom modes bind.
 */
Test(dnsstate, a_folder_that_cannot_be_opened_leaves_the_file_untouched, .init = mk_tmp, .fini = rm_tmp)
{
	char *dir = xasprintf("%s/d", tmpdir), *path = xasprintf("%s/d/zone", tmpdir), *data = NULL, cmd[256];
	uid_t uid = geteuid() == 0 ? 65534 : geteuid();
	int status;
	pid_t pid;

	cr_assert_eq(mkdir(dir, 0700), 0);
	{
		FILE *f = fopen(path, "w");
		cr_assert_not_null(f);
		cr_assert_eq(fputs("old\n", f) >= 0 && fclose(f) == 0, true);
	}
	cr_assert_eq(chmod(tmpdir, 0711), 0);
	if (geteuid() == 0)
		cr_assert_eq(chown(dir, uid, (gid_t)-1), 0);
	cr_assert_eq(chmod(dir, 0300), 0);
	if ((pid = fork()) == 0) {
		char err[512];
		int rc;

		if (getuid() == 0 && setuid(uid) < 0)
			_exit(90);
		if (open(dir, O_RDONLY | O_DIRECTORY) >= 0)
			_exit(91);	/* modes do not bind this user: nothing to test */
		rc = dnsstate_write_atomic(path, "new\n", 4, 0644, err, sizeof(err));
		if (rc != -1)
			_exit(rc == 0 ? 10 : 11);
		_exit(strstr(err, "cannot open the folder") != NULL ? 0 : 12);
	}
	cr_assert_gt(pid, 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == 91)
		cr_skip_test("folder modes do not bind this user");
	cr_assert_eq(chmod(dir, 0700), 0);
	cr_assert_eq(read_file(path, &data, NULL), 0);
	cr_assert_str_eq(data, "old\n", "a failed write replaced the file");
	cr_assert_eq(WEXITSTATUS(status), 0, "child exit %d", WEXITSTATUS(status));
	/* and no temporary file is left behind */
	snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 1", dir);
	cr_assert_eq(system(cmd), 0);
	free(data);
	free(dir);
	free(path);
}

Test(dnsstate, lock_is_exclusive, .init = mk_tmp, .fini = rm_tmp)
{
	char err[256], *path = xasprintf("%s/st", tmpdir), *lock = xasprintf("%s.lock", path);
	int fd, other;

	fd = dnsstate_lock(path, err, sizeof(err));
	cr_assert_geq(fd, 0);
	/* a second open file description cannot take it while we hold it */
	other = open(lock, O_RDWR);
	cr_assert_geq(other, 0);
	cr_assert_eq(flock(other, LOCK_EX | LOCK_NB), -1);
	cr_assert_eq(errno, EWOULDBLOCK);
	dnsstate_unlock(fd);
	cr_assert_eq(flock(other, LOCK_EX | LOCK_NB), 0);
	close(other);
	free(path);
	free(lock);
}

#define L3(x) "mtastsd-state 3\n" x

Test(dnsstate, version_3_ends_with_the_entry_count)
{
	static const struct damaged cases[] = {
		/* cut back to its header, or at any line boundary: never a state with fewer domains */
		{ L3(""), "state:2:1: no 'end N' line after the entries: the file was cut short (truncated?)" },
		{ L3(GOOD), "state:3:1: no 'end N' line after the entries: the file was cut short (truncated?)" },
		{ L3("# ids\n" GOOD "# c\n"), "state:5:1: no 'end N' line after the entries: the file was cut short (truncated?)" },
		{ L3(GOOD "end 2\n"), "state:3:5: 'end 2' but the file has 1 domain entry (lines lost or added?)" },
		{ L3("end 1\n"), "state:2:5: 'end 1' but the file has 0 domain entries (lines lost or added?)" },
		{ L3(GOOD "end\n"), "state:3:4: expected 'end N' with N the number of domain entries" },
		{ L3(GOOD "end 01\n"), "state:3:5: expected 'end N' with N the number of domain entries" },
		{ L3(GOOD "end 1 2\n"), "state:3:5: expected 'end N' with N the number of domain entries" },
		{ L3(GOOD "end 1\n" GOOD), "state:4:1: text after the 'end' line (line 3)" },
		/* version 2 and 1 had no end line: without any domain they are damaged */
		{ "mtastsd-state 2\n", "state:2:1: version 2 state file without any domain: damaged (cut back to its header?)" },
		{ "mtastsd-state 2\n# ids\n", "state:3:1: version 2 state file without any domain: damaged (cut back to its header?)" },
		{ "mtastsd-state 1\n", "state:2:1: version 1 state file without any domain: damaged (cut back to its header?)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_str_eq(first_error(cases[i].text), cases[i].error, "case %zu: %s", i, first_error(cases[i].text));
}

Test(dnsstate, version_3_round_trip_and_empty_state)
{
	struct ids_state s, back;
	struct diag_list dl;
	char *text;
	int version;

	diag_init(&dl, "state");
	cr_assert_eq(dnsstate_parse(good_v2, strlen(good_v2), &s, &version, &dl), 0);
	cr_assert_eq(version, 2);
	text = dnsstate_format(&s);
	cr_assert(strstr(text, "\nend 3\n") != NULL && text[strlen(text) - 1] == '\n', "%s", text);
	cr_assert_eq(dnsstate_parse(text, strlen(text), &back, &version, &dl), 0);
	cr_assert_eq(version, 3);
	cr_assert_eq(back.n, 3);
	ids_state_clear(&back);
	free(text);
	ids_state_clear(&s);
	/* a version 3 state with no domain says so explicitly, and is fine */
	static const char empty[] = "mtastsd-state 3\nend 0\n";
	cr_assert_eq(dnsstate_parse(empty, strlen(empty), &back, &version, &dl), 0);
	cr_assert_eq(back.n, 0);
	diag_clear(&dl);
}

Test(dnsstate, a_withdrawn_tlsrpt_record_is_remembered)
{
	static const char fp[] = "0000000000000000000000000000000000000000000000000000000000000000";
	char *in = xasprintf("mtastsd-state 3\n"
	    "domain a.example id=20260101000000 fp=%s max_age=86400 rua=- status=active tlsrpt_del=20260102000000\n"
	    "domain b.example id=20260101000000 fp=%s max_age=86400 rua=- status=active\n"
	    "end 2\n", fp, fp);
	struct diag_list dl;
	struct ids_state s;
	int version;
	char *out;

	diag_init(&dl, "state");
	cr_assert_eq(dnsstate_parse(in, strlen(in), &s, &version, &dl), 0);
	cr_assert_str_eq(s.d[0].tlsrpt_del, "20260102000000");
	cr_assert_str_eq(s.d[1].tlsrpt_del, "");
	/* written only where set: a state without any is what it always was */
	out = dnsstate_format(&s);
	cr_assert(strstr(out, "status=active tlsrpt_del=20260102000000\n") != NULL, "%s", out);
	cr_assert(strstr(out, "rua=- status=active\nend 2\n") != NULL, "%s", out);
	free(out);
	ids_state_clear(&s);
	/* a bad value is refused with its position */
	free(in);
	in = xasprintf("mtastsd-state 3\ndomain a.example id=20260101000000 fp=%s max_age=86400 rua=- status=active"
	    " tlsrpt_del=2026\nend 1\n", fp);
	cr_assert_eq(dnsstate_parse(in, strlen(in), &s, &version, &dl), -1);
	cr_assert_eq(dl.items[0].line, 2);
	cr_assert(strstr(dl.items[0].msg, "id '2026' is not 14 digits") != NULL, "%s", dl.items[0].msg);
	free(in);
	diag_clear(&dl);
}
