/* SPDX-License-Identifier: MIT */
/* dnsresult: the labels of the RFC 2136 update results, apart from dnsupdate so that counters need no ldns. */
#include "dnsresult.h"

static const char *const result_names[DNSUPDATE_RESULT_N] = {
	[DNSUPDATE_NOERROR] = "noerror",
	[DNSUPDATE_FORMERR] = "formerr",
	[DNSUPDATE_SERVFAIL] = "servfail",
	[DNSUPDATE_NXDOMAIN] = "nxdomain",
	[DNSUPDATE_NOTIMP] = "notimp",
	[DNSUPDATE_REFUSED] = "refused",
	[DNSUPDATE_YXDOMAIN] = "yxdomain",
	[DNSUPDATE_YXRRSET] = "yxrrset",
	[DNSUPDATE_NXRRSET] = "nxrrset",
	[DNSUPDATE_NOTAUTH] = "notauth",
	[DNSUPDATE_NOTZONE] = "notzone",
	[DNSUPDATE_OTHER] = "other",
	[DNSUPDATE_BADSIG] = "badsig",
	[DNSUPDATE_NOZONE] = "nozone",
	[DNSUPDATE_TIMEOUT] = "timeout",
	[DNSUPDATE_NETWORK] = "network",
	[DNSUPDATE_LOCAL] = "local",
};

const char *
dnsupdate_result_name(enum dnsupdate_result r)
{
	return r < DNSUPDATE_RESULT_N ? result_names[r] : "other";
}

bool
dnsupdate_result_server_wide(enum dnsupdate_result r)
{
	return r == DNSUPDATE_TIMEOUT || r == DNSUPDATE_NETWORK;
}
