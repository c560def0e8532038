/* SPDX-License-Identifier: MIT */
/* reload: SIGHUP and file-change driven rebuild of the serving snapshot, swapped whole or not at all. */
#ifndef MTASTSD_RELOAD_H
#define MTASTSD_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct snapshot;

/*
 * Register FN to be called after every successful swap of the serving
 * snapshot, and once at start-up after the first config is serving. It runs
 * on the reload thread (the main thread of `serve`), never concurrently with
 * itself, after the new policies are already being served: this is where the
 * zone file is rewritten and on_change is run. SNAP is valid only for the
 * duration of the call. NULL (the default) disables the hook. FN returns 0,
 * or -1 when publishing failed: reload_loop then calls it again by itself
 * for the serving config, RELOAD_RETRY_FIRST_MS later, doubling up to
 * RELOAD_RETRY_MAX_MS, until it succeeds (logged; counted in
 * mtastsd_dns_publish_retries_total, mtastsd_dns_publish_retry_pending).
 */
void reload_set_publish_hook(int (*fn)(const struct snapshot *snap));
#define RELOAD_RETRY_FIRST_MS 2000L
#define RELOAD_RETRY_MAX_MS 300000L

/* Call the publish hook (if any) for SNAP, scheduling a retry when it fails; used by serve at start-up. */
int reload_publish(const struct snapshot *snap);

/*
 * Register the step that turns a freshly built snapshot into a servable one
 * (serve passes http_prepare, which prebuilds the responses). Returns 0 or -1.
 */
void reload_set_prepare(int (*fn)(struct snapshot *snap));

/*
 * Build and prepare a snapshot from CONFIG_PATH without publishing it,
 * logging every diagnostic (FILE:LINE:COL: message) on the way. Returns the
 * snapshot with one reference owned by the caller, or NULL.
 */
struct snapshot *reload_build(const char *config_path);

/*
 * Build a complete new snapshot from CONFIG_PATH (config, certificates,
 * prebuilt responses) and swap it in. On any error every diagnostic is
 * logged with its position, the serving snapshot is kept, the failure is
 * counted in the metrics, and -1 is returned.
 */
int reload_now(const char *config_path);

/*
 * What of CFG takes effect only after a restart and differs from RUNNING (the
 * config serve started with): a list such as "listen.https, limits" written
 * to OUT (LEN bytes, truncated), "" when nothing differs. Returns the length
 * of the list, 0 when nothing differs. Pure.
 */
size_t reload_restart_diff(const struct config *running, const struct config *cfg, char *out, size_t len);

/*
 * Remember SNAP (a reference is taken; NULL releases it) as what runs: every
 * later reload is compared with it for what needs a restart, which is logged
 * at each reload, shown in /healthz and in mtastsd_restart_pending.
 */
void reload_set_running(const struct snapshot *snap);

/*
 * Whether NAME (a file name in a watched folder) is one serve writes itself,
 * given the file names (no folder) of dns.state, STATE, and dns.zone, ZONE
 * (either may be NULL): the state, STATE.lock, STATE.pending, STATE.serving,
 * STATE.update, the zone, or a temporary of one of them (NAME.tmp.*). Events for these
 * never trigger a reload.
 */
bool reload_own_file(const char *name, const char *state, const char *zone);

/*
 * Wait for signals (signals_serve_set: SIGHUP reloads, SIGTERM/SIGINT/
 * SIGQUIT stop, any other is logged and ignored) and changes to the config
 * file or to anything under the serving config's tls.certs folder (inotify,
 * with a settle delay), reloading as needed. The signals must already be
 * blocked in every thread (serve does this before starting any). Returns 0
 * when a stop signal arrived, -1 when waiting itself failed.
 */
int reload_loop(const char *config_path);

/*
 * Ask reload_loop for a reload, as a change under tls.certs would (after the
 * settle delay, so a burst of requests is one reload): the ACME orderer
 * calls it after writing a pair into acme.storage. Any thread; never blocks.
 */
void reload_request(void);

/*
 * Start watching before the config is read, and again once its snapshot is
 * published but before the listeners answer: a change made while serve
 * starts is queued, not lost (reload_loop reads the queue). Idempotent.
 */
void reload_watch_begin(const char *config_path);

#endif
