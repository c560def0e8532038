/* SPDX-License-Identifier: MIT */
/* Unit tests of metrics.c: answers libmicrohttpd reports in its log are counted by status. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "metrics.h"

Test(metrics, mhd_error_answers_are_counted_by_status)
{
	static const unsigned codes[] = { 400, 413, 414, 431, 505 };

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		char msg[160];
		unsigned long long before = metrics_requests(codes[i]);

		snprintf(msg, sizeof(msg),
		    "Error processing request (HTTP response code is %u ('<html>...</html>')). Closing connection.",
		    codes[i]);
		metrics_mhd_answer(msg);
		cr_assert_eq(metrics_requests(codes[i]), before + 1, "code %u", codes[i]);
	}
}

Test(metrics, other_mhd_messages_count_nothing)
{
	unsigned long long before = metrics_requests(400) + metrics_requests(0);

	metrics_mhd_answer("Server reached connection limit. Closing inbound connection.");
	metrics_mhd_answer("Error processing request (HTTP response code is x). Closing connection.");
	metrics_mhd_answer("");
	cr_assert_eq(metrics_requests(400) + metrics_requests(0), before);
}

Test(metrics, rendered_codes_include_505_and_other)
{
	struct buf b = { 0 };

	metrics_request(505);
	metrics_request(299);
	metrics_render(&b);
	cr_assert_not_null(strstr(b.data, "mtastsd_http_requests_total{code=\"505\"} 1\n"));
	cr_assert_not_null(strstr(b.data, "mtastsd_http_requests_total{code=\"other\"} 1\n"));
	buf_free(&b);
}
