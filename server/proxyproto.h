/* SPDX-License-Identifier: MIT */
/* proxyproto: a strict parser of PROXY protocol v1 (text) and v2 (binary) headers; pure, no I/O. */
#ifndef MTASTSD_PROXYPROTO_H
#define MTASTSD_PROXYPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Longest header accepted: v1 is at most 107 bytes; v2 address data and TLVs are capped here. */
#define PROXY_MAX_HEADER 1024
#define PROXY_V2_SIG "\r\n\r\n\0\r\nQUIT\n"
#define PROXY_V2_SIG_LEN 12

enum proxy_result {
	PROXY_NEED_MORE,	/* a valid prefix: read more bytes */
	PROXY_OK,		/* a complete header of info->header_len bytes */
	PROXY_INVALID		/* not a PROXY header, or a malformed one; close the connection */
};

struct proxy_info {
	size_t header_len;		/* bytes to consume before the client's own data */
	int version;			/* 1 or 2 */
	bool local;			/* no client address (v1 UNKNOWN, v2 LOCAL or UNSPEC): use the peer's */
	struct sockaddr_storage src;	/* the client's address and port, unless local */
	socklen_t srclen;
};

/*
 * Parse the start of a connection, BUF of LEN bytes (what has arrived so far).
 * On PROXY_INVALID, *WHY (when not NULL) points to a static reason.
 */
enum proxy_result proxy_parse(const unsigned char *buf, size_t len, struct proxy_info *info,
    const char **why);

#endif
