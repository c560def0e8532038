/* SPDX-License-Identifier: MIT */
/* dnsresult: the results of one RFC 2136 update (enum dnsupdate_result) and their labels, without ldns. */
#ifndef MTASTSD_DNSRESULT_H
#define MTASTSD_DNSRESULT_H

#include <stdbool.h>

/* The result of one update, as logged, recorded and counted (metric label: dnsupdate_result_name). */
enum dnsupdate_result {
	DNSUPDATE_NOERROR,	/* applied */
	DNSUPDATE_FORMERR,
	DNSUPDATE_SERVFAIL,
	DNSUPDATE_NXDOMAIN,
	DNSUPDATE_NOTIMP,
	DNSUPDATE_REFUSED,
	DNSUPDATE_YXDOMAIN,
	DNSUPDATE_YXRRSET,
	DNSUPDATE_NXRRSET,
	DNSUPDATE_NOTAUTH,	/* the server is not authoritative for the zone, or refused the key */
	DNSUPDATE_NOTZONE,	/* a name is outside the zone */
	DNSUPDATE_OTHER,	/* any other RCODE */
	DNSUPDATE_BADSIG,	/* an answer without a valid TSIG signature of our key */
	DNSUPDATE_NOZONE,	/* the server answered no SOA query with a zone holding the name */
	DNSUPDATE_TIMEOUT,	/* no answer in time */
	DNSUPDATE_NETWORK,	/* no connection, or a malformed answer */
	DNSUPDATE_LOCAL,	/* the update could not be built or signed here: nothing was sent */
	DNSUPDATE_RESULT_N
};

/* Lower-case label: "noerror", "refused", "notauth", "timeout", "local", ...; "other" out of range. */
const char *dnsupdate_result_name(enum dnsupdate_result r);
/* Whether R is about the server rather than one zone (timeout, network): the other domains would fare the same. */
bool dnsupdate_result_server_wide(enum dnsupdate_result r);

#endif
