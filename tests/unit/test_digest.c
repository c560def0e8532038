/* SPDX-License-Identifier: MIT */
/* digest: SHA-256 against known digests, around every padding boundary and fed in pieces. */
#include <criterion/criterion.h>

#include <string.h>

#include "digest.h"

static const struct {
	size_t n;	/* the input is N letters 'a' */
	const char *hex;
} vectors[] = {
	{ 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
	{ 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
	{ 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
	{ 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
	{ 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
	{ 120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c" },
	{ 1000, "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3" },
};

static void
to_hex(const unsigned char d[DIGEST_SHA256_LEN], char hex[2 * DIGEST_SHA256_LEN + 1])
{
	static const char hexd[] = "0123456789abcdef";

	for (int i = 0; i < DIGEST_SHA256_LEN; i++) {
		hex[2 * i] = hexd[d[i] >> 4];
		hex[2 * i + 1] = hexd[d[i] & 15];
	}
	hex[2 * DIGEST_SHA256_LEN] = '\0';
}

Test(digest, boundaries)
{
	char a[1000], hex[65];
	memset(a, 'a', sizeof(a));
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		digest_sha256_hex(a, vectors[i].n, hex);
		cr_expect_str_eq(hex, vectors[i].hex, "length %zu", vectors[i].n);
	}
	digest_sha256_hex("abc", 3, hex);
	cr_expect_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* an empty buffer that has no storage yet (a struct buf never written to) */
	digest_sha256_hex(NULL, 0, hex);
	cr_expect_str_eq(hex, vectors[0].hex);
}

Test(digest, raw_equals_hex)
{
	unsigned char d[DIGEST_SHA256_LEN];
	char hex[65];

	digest_sha256("abc", 3, d);
	to_hex(d, hex);
	cr_expect_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

Test(digest, incremental_equals_whole)
{
	char a[1000];
	unsigned char d[DIGEST_SHA256_LEN];
	char hex[65];
	struct digest *s = digest_sha256_new();

	memset(a, 'a', sizeof(a));
	for (size_t step = 1; step <= 130; step += 7) {
		/* digest_final starts again from nothing: one digest serves every round */
		for (size_t off = 0; off < sizeof(a); off += step)
			digest_update(s, a + off, off + step <= sizeof(a) ? step : sizeof(a) - off);
		digest_final(s, d);
		to_hex(d, hex);
		cr_expect_str_eq(hex, vectors[7].hex, "pieces of %zu", step);
	}
	digest_final(s, d);
	to_hex(d, hex);
	cr_expect_str_eq(hex, vectors[0].hex, "nothing fed since the last digest");
	digest_free(s);
	digest_free(NULL);
}
