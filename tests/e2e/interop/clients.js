#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// npm MTA-STS clients, run inside the test's network namespace (DNS and HTTPS go to 127.0.0.1).
//
//   node clients.js CLIENT EXPECT.json STATEDIR PHASE
//
// CLIENT: mailauth (the current line, strict mode), mailauth4 (the 4.x line, which has no
// strict mode), email-domain-check. PHASE: "initial" or "after-change". STATEDIR/CLIENT.json keeps the
// policies each client cached in the initial phase; the changed phase hands them back to
// getPolicy() as the known policy, as a sending MTA does with its cache.
// Prints one JSON observation per line; world.py turns them into PASS/FAIL lines.
'use strict';

const fs = require('node:fs');
const dns = require('node:dns');
const path = require('node:path');

const [client, expectPath, stateDir, phase] = process.argv.slice(2);
const expect = JSON.parse(fs.readFileSync(expectPath, 'utf8'));
const statePath = path.join(stateDir, client + '.json');
const state = {};
try {
    state[client] = JSON.parse(fs.readFileSync(statePath, 'utf8'));
} catch (err) {
    state[client] = {};
}

const domains = Object.keys(expect.domains);
const negatives = Object.keys(expect.negative);
const probes = Object.keys(expect.probes || {});

const emit = obs => process.stdout.write(JSON.stringify(Object.assign({ client }, obs)) + '\n');

const errText = err => (err ? `${err.code || err.name || 'error'}: ${err.message || err}`.slice(0, 200) : '');

async function mxHosts(domain) {
    try {
        return (await dns.promises.resolveMx(domain)).map(r => r.exchange);
    } catch (err) {
        return [];
    }
}

// where test_interop.sh installed the npm clients (outside the source tree)
const NODE_MODULES = process.env.INTEROP_NODE_MODULES || path.join(__dirname, 'node_modules');

// a host name that no pattern of the expected policy covers
const EVIL = 'evil.attacker.test';

async function runMailauth(modName, strict) {
    const sts = require(path.join(NODE_MODULES, modName, 'lib', 'mta-sts.js'));
    const opts = strict ? { strict: true, timeout: 10000 } : {};
    const one = async (domain, expectWhat, queryName) => {
        let known = phase !== 'initial' ? state[client][domain] || null : null;
        let res;
        try {
            res = await sts.getPolicy(queryName || domain, known, opts);
        } catch (err) {
            return emit({ domain, ok: false, detail: errText(err), expect: expectWhat });
        }
        let p = res.policy || {};
        let ok = res.status === 'found' || res.status === 'renewed';
        let obs = {
            domain,
            expect: expectWhat,
            ok,
            status: res.status,
            id: p.id,
            mode: p.mode,
            mx: p.mx || [],
            max_age: p.maxAge,
            detail: p.error ? errText(p.error) : res.status
        };
        if (ok && (expectWhat === 'policy' || expectWhat === 'renewed')) {
            state[client][domain] = p;
            let extra = {};
            if (res.warnings && res.warnings.length) {
                extra.warnings = [false, `lax acceptance markers ${JSON.stringify(res.warnings)}`];
            }
            if (strict) {
                // the same fetch in lax mode must not need any lax acceptance either
                let lax = await sts.getPolicy(queryName || domain, null, {});
                if (lax.warnings && lax.warnings.length) {
                    extra.lax_warnings = [false, `lax mode needed ${JSON.stringify(lax.warnings)}`];
                }
            }
            if (p.mode !== 'none') {
                for (let mx of await mxHosts(domain)) {
                    let v = sts.validateMx(mx, p, opts);
                    if (!v.valid) {
                        extra['validateMx ' + mx] = [false, 'MX host not accepted by the policy'];
                    }
                }
                let v = sts.validateMx(EVIL, p, opts);
                if (v.valid) {
                    extra['validateMx ' + EVIL] = [false, 'a foreign MX host was accepted'];
                }
                for (let pat of p.mx || []) {
                    if (pat.startsWith('*.') && strict) {
                        // RFC 8461 4.1: the wildcard covers exactly one label
                        let deep = 'a.b' + pat.slice(1);
                        if (sts.validateMx(deep, p, opts).valid) {
                            extra['validateMx ' + deep] = [false, 'wildcard matched two labels'];
                        }
                    }
                }
            }
            obs.extra_checks = extra;
            if (known) {
                obs.note = `known id ${known.id} -> ${res.status}`;
            }
            if (queryName) {
                obs.note = `(asked as ${queryName})`;
            }
        }
        emit(obs);
    };
    for (let d of domains) {
        let want = 'policy';
        if (phase !== 'initial' && client === 'mailauth' && d !== expect.changed) {
            // same id in DNS and a fresh cached policy: no refetch, the cached policy is renewed
            want = 'renewed';
        }
        await one(d, want);
    }
    if (phase === 'initial') {
        // the IDN domain asked for by its U-label, the way an address's domain may arrive
        for (let d of domains.filter(d => d.startsWith('xn--'))) {
            let u = require('node:url').domainToUnicode(d);
            let saved = state[client][d];
            await one(d, 'policy', u);
            state[client][d] = saved;
        }
        for (let d of negatives) {
            await one(d, 'refuse');
        }
        for (let d of probes) {
            await one(d, expect.probes[d].expect[client]);
        }
    }
}

async function runEmailDomainCheck() {
    const edc = require(path.join(NODE_MODULES, 'email-domain-check'));
    // failoverServers: [] keeps the library from asking public resolvers
    const checker = new edc.DomainChecker({ server: ['127.0.0.1'], failoverServers: [], useMtaSts: true, dnsTimeout: 3000, tries: 1 });
    const one = async (domain, expectWhat) => {
        let rec = null;
        let policy = null;
        let detail = '';
        try {
            rec = await checker.getStsRecord({ target: domain });
            policy = await edc.getMtaStsPolicy(domain);
        } catch (err) {
            detail = errText(err);
        }
        let obs = {
            domain,
            expect: expectWhat,
            ok: !!(rec && rec.id && policy),
            id: rec ? rec.id : undefined,
            mode: policy ? policy.mode : undefined,
            mx: policy ? policy.mx : [],
            max_age: policy ? policy.max_age : undefined,
            detail: detail || (!rec || !rec.id ? `no id in the TXT record (${JSON.stringify(rec && rec.raw)})` : policy ? 'found' : 'getMtaStsPolicy returned null')
        };
        if (obs.ok && expectWhat === 'policy' && policy.mode !== 'none') {
            let extra = {};
            for (let mx of await mxHosts(domain)) {
                if (!edc.isMxAllowed(mx, policy)) {
                    extra['isMxAllowed ' + mx] = [false, 'MX host not accepted by the policy'];
                }
            }
            if (edc.isMxAllowed(EVIL, policy)) {
                extra['isMxAllowed ' + EVIL] = [false, 'a foreign MX host was accepted'];
            }
            obs.extra_checks = extra;
        }
        emit(obs);
    };
    for (let d of domains) {
        await one(d, 'policy');
    }
    if (phase === 'initial') {
        for (let d of negatives) {
            await one(d, 'refuse');
        }
        for (let d of probes) {
            await one(d, expect.probes[d].expect[client]);
        }
    }
}

(async () => {
    switch (client) {
        case 'mailauth':
            await runMailauth('mailauth', true);
            break;
        case 'mailauth4':
            await runMailauth('mailauth4', false);
            break;
        case 'email-domain-check':
            await runEmailDomainCheck();
            break;
        default:
            console.error(`unknown client ${client}`);
            process.exit(2);
    }
    fs.writeFileSync(statePath, JSON.stringify(state[client]));
})().catch(err => {
    console.error(err);
    process.exit(1);
});
