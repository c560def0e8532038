/* SPDX-License-Identifier: MIT */
/* checkdns: the DNS checks of `check` (state file, retiring domains, RFC 2136 results, dns settings). */
#include "checkdns.h"
#include "dnsids.h"
#include "dnsrecords.h"
#include "dnsstate.h"
#include "ids.h"
#include "updstate.h"
#include "util.h"
#include "zone.h"

#include <stdio.h>
#include <stdlib.h>

/* `check` with dns.update: each domain whose last RFC 2136 updates failed, from STATE.update (only read). */
static void
update_warnings(const struct config *cfg, struct diag_list *dl)
{
	char *path = xasprintf("%s.update", cfg->dns_state), err[1024];
	struct updstate us;

	if (cfg->dns_update != NULL && updstate_load(path, &us, err, sizeof(err)) < 0)
		diag_add(dl, DIAG_WARNING, 0, 0, "%s; serve sends every domain again", err);
	else if (cfg->dns_update != NULL) {
		for (size_t i = 0; i < us.n; i++) {
			char next[21];
			if (us.e[i].fails == 0)
				continue;
			ids_iso8601(us.e[i].next, next);
			diag_add(dl, DIAG_WARNING, 0, 0, "domain '%s': its last %u RFC 2136 update%s failed (%s, zone '%s');"
			    " the next try is from %s", us.e[i].name, us.e[i].fails, us.e[i].fails == 1 ? "" : "s",
			    us.e[i].result, us.e[i].zone ? us.e[i].zone : "not found", next);
		}
		updstate_clear(&us);
	}
	free(path);
}

void
checkdns_run(const struct config *cfg, const struct domset *ds, struct diag_list *dl)
{
	struct ids_state st;
	struct ids_changes ch;
	struct diag_list sdl;
	char err[1024], *z;
	int64_t now;
	int version, rc;

	if (ids_now(&now, err, sizeof(err)) < 0) {
		diag_add(dl, DIAG_ERROR, 0, 0, "%s", err);
		return;
	}
	diag_init(&sdl, cfg->dns_state);
	if ((rc = dnsids_preview(cfg, ds, now, &st, &ch, &version, &sdl)) == DNSIDS_PREVIEW_CLOCK) {
		/* serve runs, but publishes nothing while the clock is this far ahead */
		diag_add(dl, DIAG_WARNING, 0, 0, "%s", sdl.items[0].msg);
		diag_clear(&sdl);
		return;
	}
	if (rc < 0) {
		/* the state has its own file name and positions: print them as they are */
		diag_print(&sdl, stderr);
		diag_add(dl, DIAG_ERROR, 0, 0,
		    "the DNS state file '%s' is damaged or unreadable; `dns` and `serve` will not touch it",
		    cfg->dns_state);
		diag_clear(&sdl);
		return;
	}
	diag_clear(&sdl);
	if (version != DNSSTATE_VERSION)
		diag_add(dl, DIAG_WARNING, 0, 0,
		    "the DNS state file '%s' is version %d; the next `dns` or `serve` upgrades it to %d",
		    cfg->dns_state, version, DNSSTATE_VERSION);
	for (size_t i = 0; i < st.n; i++) {
		char from[21], since[21];
		int64_t t = 0;
		if (!st.d[i].retiring)
			continue;
		ids_parse(st.d[i].id, &t);
		ids_iso8601(t, since);
		ids_iso8601(ids_deletable_at(&st.d[i]), from);
		diag_add(dl, DIAG_WARNING, 0, 0,
		    "domain '%s' is retiring: removed from the configuration, served as mode none since %s"
		    " (keep a certificate for mta-sts.%s until then); its DNS records may be deleted from %s",
		    st.d[i].name, since, st.d[i].name, from);
	}
	for (size_t i = 0; i < st.n; i++) {
		char until[21];
		if (!st.d[i].expired)
			continue;
		ids_iso8601(ids_forget_at(&st.d[i]), until);
		diag_add(dl, DIAG_WARNING, 0, 0,
		    "domain '%s' has finished retiring: its DNS records may be deleted now"
		    " (`dns` keeps saying so, and nsupdate scripts keep deleting them, until %s)",
		    st.d[i].name, until);
	}
	update_warnings(cfg, dl);
	if (cfg->dns_delegate_zone != NULL && cfg->dns_host_target == NULL)
		diag_add(dl, DIAG_WARNING, 0, 0, "dns.delegate_zone '%s' without dns.host_target: `dns --side customer` "
		    "cannot say where each customer's mta-sts.<domain> must point; set dns.host_target to the host "
		    "that serves the policies", cfg->dns_delegate_zone);
	for (size_t i = 0; i < ds->n; i++) {
		struct zone_params zp = { .host_target = cfg->dns_host_target };
		const struct config_domain *d = ds->v[i];
		if (zone_is_host_target(&zp, d->name))
			diag_add_in(dl, d->file, DIAG_WARNING, d->line, d->col,
			    "domain '%s': its policy host is dns.host_target 'mta-sts.%s' itself, so no CNAME is"
			    " written for it (it would point at itself); give mta-sts.%s A/AAAA records",
			    d->name, d->name, d->name);
	}
	z = dnsrecords_render(cfg, ds, &st, now, cfg->dns_delegate_zone ? ZONE_PROVIDER : ZONE_DIRECT, ZONE_PROBLEMS, dl,
	    err, sizeof(err));
	if (z == NULL)
		diag_add(dl, DIAG_ERROR, 0, 0, "%s", err);
	free(z);
	ids_state_clear(&st);
	ids_changes_clear(&ch);
}
