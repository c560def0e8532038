/* SPDX-License-Identifier: MIT */
/* onchange: runs the dns.on_change hook as a supervised process group, with a timeout. */
#ifndef MTASTSD_ONCHANGE_H
#define MTASTSD_ONCHANGE_H

#include <stddef.h>

#define ONCHANGE_TIMEOUT 120
/* MTASTSD_CHANGED stays below 64 KiB, half the kernel's limit for one environment string */
#define ONCHANGE_ENV_MAX 65536

/*
 * Run CMD with /bin/sh -c in the folder DIR (the config's, so a relative
 * command or path in it means what it means in the config), in a process
 * group of its own, with an empty signal mask and default signal actions.
 * Its environment gets MTASTSD_ZONE (ZONE made absolute, or empty),
 * MTASTSD_CHANGED_FILE (CHANGED_FILE made absolute: one name a line),
 * MTASTSD_CHANGED_COUNT (COUNT) and MTASTSD_CHANGED (NAMES, space-separated,
 * or empty when that would not fit in ONCHANGE_ENV_MAX: the kernel refuses
 * any one environment string past 128 KiB, and then the hook would never
 * run); those four replace any inherited ones. Blocks until it exits, at
 * most ONCHANGE_TIMEOUT seconds, and no longer once SIGHUP, SIGINT, SIGQUIT
 * or SIGTERM is pending: its whole group is then killed. Returns 0 when it
 * exited 0, else -1 (logged: could not start, failed, killed or stopped).
 */
int onchange_run(const char *cmd, const char *dir, const char *zone, const char *changed_file, const char *names,
    size_t count);

#endif
