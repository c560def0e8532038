/* SPDX-License-Identifier: MIT */
/* Fuzz target: the YAML configuration loader, with every diagnostic formatted. */
#include "config.h"
#include "diag.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag_list dl;
	struct config *cfg;
	char line[4096];

	diag_init(&dl, "fuzz.yaml");
	cfg = config_load_mem("fuzz.yaml", "/nonexistent", (const char *)data, size, &dl);
	for (size_t i = 0; i < dl.n; i++)
		diag_format(&dl, i, line, sizeof(line));
	/* a loaded config must be internally consistent: every domain can be found by its name */
	if (cfg != NULL)
		for (size_t i = 0; i < cfg->n_domains; i++)
			if (config_find_domain(cfg, cfg->domains[i].name) != &cfg->domains[i])
				__builtin_trap();
	config_free(cfg);
	diag_clear(&dl);
	return 0;
}
