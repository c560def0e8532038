/* SPDX-License-Identifier: MIT */
/* acme_issue: drives acmeclient against a test CA (pebble), answering http-01 through pebble-challtestsrv; for tests/e2e/test_acme_client.sh. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "acmeclient.h"
#include "acmejws.h"
#include "httpget.h"
#include "util.h"

/*
 * usage: acme_issue DIRECTORY_URL CA_FILE KEY_FILE CHALLTESTSRV_URL OUT_DIR ITEM...
 *
 * KEY_FILE is the account key, made (0600) when missing. Each ITEM is a
 * name to issue, or "@wait:PATH": print "waiting PATH" and wait until PATH
 * exists (the test restarts the CA meanwhile). For each name one line:
 *   ok NAME SECONDS ACCOUNT_URL           (OUT_DIR/NAME.crt and NAME.key written)
 *   fail NAME STATUS PROBLEM_NAME|- RETRY_AFTER|- DETAIL
 * then "accounts created N" and "badNonce retries N". Exit 0 when every line was printed (failures included), 1 on a usage or set-up error.
 */

static const char *challtestsrv;

/* POST JSON to challtestsrv's management API with curl (a test tool, not the client's HTTP) */
static int
mgmt(const char *path, const char *json)
{
	char url[512];
	pid_t pid;
	int st;

	snprintf(url, sizeof(url), "%s%s", challtestsrv, path);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		execlp("curl", "curl", "-fsS", "-o", "/dev/null", "--max-time", "10", "-X", "POST", "-d", json, url,
		    (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int
ready(void *ctx, const char *name, const char *type, const char *token, const char *keyauth)
{
	char json[1024];

	(void)ctx;
	(void)name;
	if (strcmp(type, "http-01") != 0)
		return -1;
	/* the token and the key authorization are base64url (and a dot): nothing to escape */
	snprintf(json, sizeof(json), "{\"token\":\"%s\",\"content\":\"%s\"}", token, keyauth);
	return mgmt("/add-http01", json);
}

static int
write_file(const char *dir, const char *name, const char *ext, const char *data, size_t len, mode_t mode)
{
	char *path = xasprintf("%s/%s.%s", dir, name, ext);
	FILE *f;
	int fd, ret = -1;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)) >= 0 && (f = fdopen(fd, "w")) != NULL) {
		ret = fwrite(data, 1, len, f) == len ? 0 : -1;
		if (fclose(f) != 0)
			ret = -1;
	}
	free(path);
	return ret;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	/* pebble offers tls-alpn-01 too; this driver answers http-01 only */
	static const char *const prefs[] = { "http-01" };
	static const char *const contact[] = { "mailto:ops@example.com" };
	struct acmeclient_config cfg = { 0 };
	struct acmeclient_cert cert;
	struct acmeclient_error e;
	struct acmejws_key *key;
	struct acmeclient *c;
	struct stat st;
	char err[512];
	double t0;
	int i;

	if (argc < 7) {
		fprintf(stderr, "usage: acme_issue DIRECTORY_URL CA_FILE KEY_FILE CHALLTESTSRV_URL OUT_DIR ITEM...\n");
		return 1;
	}
	challtestsrv = argv[4];
	if (httpget_init(err, sizeof(err)) < 0) {
		fprintf(stderr, "acme_issue: %s\n", err);
		return 1;
	}
	if (stat(argv[3], &st) < 0) {
		if ((key = acmejws_key_generate(err, sizeof(err))) == NULL ||
		    acmejws_key_save(key, argv[3], err, sizeof(err)) != 0) {
			fprintf(stderr, "acme_issue: %s\n", err);
			return 1;
		}
	} else if ((key = acmejws_key_load(argv[3], err, sizeof(err))) == NULL) {
		fprintf(stderr, "acme_issue: %s\n", err);
		return 1;
	}
	cfg.directory = argv[1];
	cfg.ca_file = argv[2];
	cfg.key = key;
	cfg.contact = contact;
	cfg.ncontact = 1;
	cfg.agree_terms = true;
	cfg.order_deadline = 60;
	c = acmeclient_new(&cfg);
	for (i = 6; i < argc; i++) {
		if (strncmp(argv[i], "@wait:", 6) == 0) {
			printf("waiting %s\n", argv[i] + 6);
			fflush(stdout);
			while (stat(argv[i] + 6, &st) < 0)
				usleep(50000);
			continue;
		}
		t0 = now_s();
		if (acmeclient_issue(c, argv[i], prefs, 1, NULL, ready, NULL, &cert, &e) == 0) {
			if (write_file(argv[5], argv[i], "crt", cert.chain_pem, cert.chain_len, 0644) < 0 ||
			    write_file(argv[5], argv[i], "key", cert.key_pem, cert.key_len, 0600) < 0)
				fprintf(stderr, "acme_issue: cannot write the pair of '%s'\n", argv[i]);
			printf("ok %s %.3f %s\n", argv[i], now_s() - t0, acmeclient_account_url(c));
			acmeclient_cert_clear(&cert);
		} else {
			printf("fail %s %d %s %s %s\n", argv[i], e.status, e.name[0] != '\0' ? e.name : "-",
			    e.has_retry_after ? "yes" : "-", e.detail);
			acmeclient_error_clear(&e);
		}
		fflush(stdout);
	}
	printf("accounts created %u\n", acmeclient_accounts_created(c));
	printf("badNonce retries %u\n", acmeclient_nonce_retries(c));
	acmeclient_free(c);
	acmejws_key_free(key);
	httpget_cleanup();
	return 0;
}
