/* SPDX-License-Identifier: MIT */
/* proxyproto: a strict parser of PROXY protocol v1 (text) and v2 (binary) headers; pure, no I/O. */
#include "proxyproto.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#define V1_MAX 107

static enum proxy_result
invalid(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return PROXY_INVALID;
}

/* A port: 1 to 5 digits, no leading zero (except "0"), at most 65535. */
static bool
parse_port(const char *s, size_t n, uint16_t *out)
{
	unsigned long v = 0;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

static enum proxy_result
parse_v1(const unsigned char *buf, size_t len, struct proxy_info *info, const char **why)
{
	const char *p = (const char *)buf, *f[6];
	size_t fl[6], nf = 0, llen;
	char addr[INET6_ADDRSTRLEN + 1];
	uint16_t sport, dport;
	int family;

	/*
	 * The line: printable ASCII ended by CRLF, at most 107 bytes with the CRLF (so the CR
	 * is at index 105 or before). Bytes are judged in order, so a bad one is refused as
	 * soon as it arrives, however the header is split.
	 */
	for (llen = 0; llen < len && buf[llen] != '\r'; llen++) {
		if (buf[llen] < 0x20 || buf[llen] > 0x7e)
			return invalid(why, "PROXY v1 header with a control or non-ASCII byte");
		if (llen == V1_MAX - 2)
			return invalid(why, "PROXY v1 header longer than 107 bytes");
	}
	if (llen == len || llen + 1 == len)
		return PROXY_NEED_MORE;
	if (buf[llen + 1] != '\n')
		return invalid(why, "PROXY v1 header not ended by CRLF");
	memset(info, 0, sizeof(*info));
	info->version = 1;
	info->header_len = llen + 2;
	if (llen >= 13 && memcmp(p, "PROXY UNKNOWN", 13) == 0 && (llen == 13 || p[13] == ' ')) {
		/* UNKNOWN: the receiver must ignore whatever follows on the line */
		info->local = true;
		return PROXY_OK;
	}
	/* fields separated by exactly one space */
	for (size_t i = 0, start = 0; i <= llen; i++) {
		if (i == llen || p[i] == ' ') {
			if (nf == 6 || i == start)
				return invalid(why, "PROXY v1 header with wrong fields");
			f[nf] = p + start;
			fl[nf++] = i - start;
			start = i + 1;
		}
	}
	if (fl[0] != 5 || memcmp(f[0], "PROXY", 5) != 0)
		return invalid(why, "not a PROXY header");
	if (nf != 6)
		return invalid(why, "PROXY v1 header with wrong fields");
	if (fl[1] == 4 && memcmp(f[1], "TCP4", 4) == 0)
		family = AF_INET;
	else if (fl[1] == 4 && memcmp(f[1], "TCP6", 4) == 0)
		family = AF_INET6;
	else
		return invalid(why, "PROXY v1 header with an unknown protocol");
	if (!parse_port(f[4], fl[4], &sport) || !parse_port(f[5], fl[5], &dport))
		return invalid(why, "PROXY v1 header with an invalid port");
	for (int k = 2; k <= 3; k++) {
		unsigned char raw[16];
		if (fl[k] >= sizeof(addr))
			return invalid(why, "PROXY v1 header with an invalid address");
		memcpy(addr, f[k], fl[k]);
		addr[fl[k]] = '\0';
		if (inet_pton(family, addr, raw) != 1)
			return invalid(why, "PROXY v1 header with an invalid address");
		if (k == 2) {
			if (family == AF_INET) {
				struct sockaddr_in *sin = (struct sockaddr_in *)&info->src;
				sin->sin_family = AF_INET;
				memcpy(&sin->sin_addr, raw, 4);
				sin->sin_port = htons(sport);
				info->srclen = sizeof(*sin);
			} else {
				struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&info->src;
				sin6->sin6_family = AF_INET6;
				memcpy(&sin6->sin6_addr, raw, 16);
				sin6->sin6_port = htons(sport);
				info->srclen = sizeof(*sin6);
			}
		}
	}
	return PROXY_OK;
}

static enum proxy_result
parse_v2(const unsigned char *buf, size_t len, struct proxy_info *info, const char **why)
{
	size_t alen;
	unsigned cmd, fam;

	if (len < 16)
		return PROXY_NEED_MORE;
	if ((buf[12] >> 4) != 2)
		return invalid(why, "PROXY v2 header with an unknown version");
	cmd = buf[12] & 0x0f;
	fam = buf[13];
	alen = (size_t)buf[14] << 8 | buf[15];
	if (cmd > 1)
		return invalid(why, "PROXY v2 header with an unknown command");
	if (16 + alen > PROXY_MAX_HEADER)
		return invalid(why, "PROXY v2 header too long");
	if (len < 16 + alen)
		return PROXY_NEED_MORE;
	memset(info, 0, sizeof(*info));
	info->version = 2;
	info->header_len = 16 + alen;
	if (cmd == 0) {
		/* LOCAL: the proxy's own connection (a health check); the address block is ignored */
		info->local = true;
		return PROXY_OK;
	}
	switch (fam) {
	case 0x00:	/* UNSPEC */
		info->local = true;
		return PROXY_OK;
	case 0x11: {	/* TCP over IPv4 */
		struct sockaddr_in *sin = (struct sockaddr_in *)&info->src;
		if (alen < 12)
			return invalid(why, "PROXY v2 header with a short IPv4 address block");
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, buf + 16, 4);
		memcpy(&sin->sin_port, buf + 24, 2);
		info->srclen = sizeof(*sin);
		return PROXY_OK;
	}
	case 0x21: {	/* TCP over IPv6 */
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&info->src;
		if (alen < 36)
			return invalid(why, "PROXY v2 header with a short IPv6 address block");
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, buf + 16, 16);
		memcpy(&sin6->sin6_port, buf + 48, 2);
		info->srclen = sizeof(*sin6);
		return PROXY_OK;
	}
	default:
		/* UDP or UNIX sockets cannot carry an HTTPS client */
		return invalid(why, "PROXY v2 header for a transport other than TCP");
	}
}

enum proxy_result
proxy_parse(const unsigned char *buf, size_t len, struct proxy_info *info, const char **why)
{
	size_t n = len < PROXY_V2_SIG_LEN ? len : PROXY_V2_SIG_LEN;

	if (len == 0)
		return PROXY_NEED_MORE;
	if (memcmp(buf, PROXY_V2_SIG, n) == 0)
		return n < PROXY_V2_SIG_LEN ? PROXY_NEED_MORE : parse_v2(buf, len, info, why);
	n = len < 6 ? len : 6;
	if (memcmp(buf, "PROXY ", n) == 0)
		return n < 6 ? PROXY_NEED_MORE : parse_v1(buf, len, info, why);
	return invalid(why, "the connection did not start with a PROXY header");
}
