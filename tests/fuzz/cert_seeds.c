/* SPDX-License-Identifier: MIT */
/*
 * cert_seeds DIR: seed inputs for fuzz_cert, made at run time (the
 * repository keeps no certificates): certificates and keys of every shape
 * certparse reads or refuses, as DER (kind bytes 0 and 1) and as PEM (2).
 */
#include "gencert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void
put(const char *dir, const char *name, unsigned char kind, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(&kind, 1, 1, f) != 1 || fwrite(data, 1, len, f) != len ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	static const char *const two[] = { "mta-sts.example.com", "*.example.org" };
	static const char *many[40];
	static char buf[40][64];
	struct {
		const char *name;
		struct gencert g;
	} shapes[] = {
		{ "p256", { GENCERT_P256, two, 2, false, false, 3, 0 } },
		{ "p384-other-sans", { GENCERT_P384, two, 2, true, false, 3, 0 } },
		{ "p521-ca", { GENCERT_P521, NULL, 0, false, true, 3, 0 } },
		{ "rsa", { GENCERT_RSA2048, two, 2, false, false, 3, 0 } },
		{ "ed25519", { GENCERT_ED25519, two, 1, false, false, 3, 0 } },
		{ "v1", { GENCERT_P256, NULL, 0, false, false, 1, 0 } },
		{ "generalized-time", { GENCERT_P256, two, 1, false, false, 3, 2871763200 } },
		{ "many-names", { GENCERT_P256, many, 40, true, false, 3, 0 } },
	};

	if (argc != 2) {
		fprintf(stderr, "usage: cert_seeds DIR\n");
		return 2;
	}
	mkdir(argv[1], 0755);
	for (int i = 0; i < 40; i++) {
		snprintf(buf[i], sizeof(buf[i]), "mta-sts.customer-%d.example", i);
		many[i] = buf[i];
	}
	gnutls_global_init();
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		gnutls_datum_t cert, key, pkcs8;
		char name[128], *pem1, *pem2, *both;

		if (shapes[i].g.not_after == 0)
			shapes[i].g.not_after = 1893456000;	/* 2030-01-01 */
		if (gencert_make(&shapes[i].g, &cert, &key, &pkcs8) < 0)
			return 1;
		snprintf(name, sizeof(name), "%s.crt", shapes[i].name);
		put(argv[1], name, 0, cert.data, cert.size);
		snprintf(name, sizeof(name), "%s.key", shapes[i].name);
		put(argv[1], name, 1, key.data, key.size);
		snprintf(name, sizeof(name), "%s.p8", shapes[i].name);
		put(argv[1], name, 1, pkcs8.data, pkcs8.size);
		pem1 = gencert_pem("CERTIFICATE", &cert);
		pem2 = gencert_pem("PRIVATE KEY", &pkcs8);
		if (pem1 == NULL || pem2 == NULL || (both = malloc(strlen(pem1) + strlen(pem2) + 1)) == NULL)
			return 1;
		strcpy(both, pem1);
		strcat(both, pem2);
		snprintf(name, sizeof(name), "%s.pem", shapes[i].name);
		put(argv[1], name, 2, both, strlen(both));
		free(both);
		free(pem1);
		free(pem2);
		gnutls_free(cert.data);
		gnutls_free(key.data);
		gnutls_free(pkcs8.data);
	}
	return 0;
}
