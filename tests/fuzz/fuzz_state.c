/* SPDX-License-Identifier: MIT */
/* Fuzz target: the DNS state file reader, and format/parse agreement for what it accepts. */
#include "diag.h"
#include "dnsstate.h"
#include "ids.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag_list dl;
	struct ids_state st = {0}, again = {0};
	int version = 0;
	char line[4096];

	diag_init(&dl, "fuzz.state");
	if (dnsstate_parse((const char *)data, size, &st, &version, &dl) == 0) {
		/* a state that parses is written back in the current format and reads the same */
		char *text = dnsstate_format(&st);
		struct diag_list dl2;
		diag_init(&dl2, "again");
		if (dnsstate_parse(text, strlen(text), &again, &version, &dl2) != 0 || again.n != st.n)
			__builtin_trap();
		for (size_t i = 0; i < st.n; i++)
			if (strcmp(st.d[i].name, again.d[i].name) != 0 || strcmp(st.d[i].id, again.d[i].id) != 0 ||
			    strcmp(st.d[i].fp, again.d[i].fp) != 0 || st.d[i].max_age != again.d[i].max_age)
				__builtin_trap();
		ids_state_clear(&again);
		diag_clear(&dl2);
		free(text);
	} else if (dl.errors == 0) {
		__builtin_trap();	/* a refusal always says why */
	}
	for (size_t i = 0; i < dl.n; i++)
		diag_format(&dl, i, line, sizeof(line));
	ids_state_clear(&st);
	diag_clear(&dl);
	return 0;
}
