/* SPDX-License-Identifier: MIT */
/* acmeorder: serve's ACME orderer, a thread that orders, renews and stores the certificates acmeplan says are due. */
#ifndef MTASTSD_ACMEORDER_H
#define MTASTSD_ACMEORDER_H

struct snapshot;

/*
 * With acme.order: true in SNAP's config, make this process the storage's
 * orderer: open acme.storage (folders made), take its order.lock, load or
 * create the account key and read the state file, then start the thread
 * (a reference to SNAP is taken). Without an acme section, or with order:
 * false, nothing is started and 0 is returned. -1 (logged, naming the
 * folder) when another process holds the lock, or the storage, the key or
 * the state cannot be used: serve then refuses to start.
 *
 * The thread plans (acmeplan) from the latest snapshot, takes the due names
 * in order, paces new orders with acmesched's token bucket
 * (acme.pacing), skips names whose host does not resolve yet (waiting for
 * DNS), orders one name at a time (acmeclient) answering the challenges
 * through files in storage, writes each issued pair to storage certs/
 * (then asks for a reload, which loads it), and records every result in
 * the state file: the renewal time, or the backoff and the error.
 */
int acmeorder_start(struct snapshot *snap);
/*
 * SNAP is now served (called by reload after each publish; a reference is
 * taken): the orderer plans again from it. Also sets
 * mtastsd_hosts_without_certificate when SNAP has an acme section. Any thread.
 */
void acmeorder_update(struct snapshot *snap);
/*
 * Stop the thread (between two steps; an order in flight ends by its own
 * timeouts, waited for at most a few seconds), release the lock and free
 * everything. A no-op when nothing was started.
 */
void acmeorder_stop(void);

#endif
