// The usual stack, as bench/run.sh's baselines (rows "e" and "e2"): HTTP functions on Google's
// Functions Framework for Node.js that do what this service's delivery path does — verify the
// Google ID token with google-auth-library (signature, issuer, audience, expiry), check the
// service account, and de-duplicate the CloudEvent by (source, id):
//
//   dedup          (row e)  in an in-memory Set: a redelivered event answers "duplicate".
//   dedupDurable   (row e2) in a durable SQLite set (better-sqlite3, the file BENCH_DB, WAL,
//                  synchronous=FULL, shared by every process): one INSERT per event, "processed"
//                  when it was new, "duplicate" when (source, id) was there already.
//
// Run: node serve.js PORT [TARGET] (or functions-framework --target=dedup --port=PORT), with
// BENCH_JWKS_URL (the emulator's /oauth2/v3/certs), BENCH_AUDIENCE and BENCH_SERVICE_ACCOUNT
// in the environment, and BENCH_DB for dedupDurable.
//
// The Set is what most such functions use, and it flatters row e: it is neither durable nor
// shared between processes, where the C service's ledger is both. Row e2's SQLite set is both,
// as the ledger is; it still records less (no claim, lease or outcome, no run record) and calls
// no Vertex AI.
'use strict';

const crypto = require('node:crypto');
const functions = require('@google-cloud/functions-framework');
const {OAuth2Client} = require('google-auth-library');

const JWKS_URL = process.env.BENCH_JWKS_URL;
const AUDIENCE = process.env.BENCH_AUDIENCE;
const SERVICE_ACCOUNT = process.env.BENCH_SERVICE_ACCOUNT;
if (!JWKS_URL || !AUDIENCE || !SERVICE_ACCOUNT) {
  throw new Error('BENCH_JWKS_URL, BENCH_AUDIENCE and BENCH_SERVICE_ACCOUNT are required');
}

// google-auth-library reads Google's keys as PEM certificates from oauth2/v1/certs; the emulator
// publishes the same keys only as a JWK set (oauth2/v3/certs, which Google serves too). This
// client fetches that set and hands the library each key as PEM, cached for the max-age the
// issuer sends — the library's own caching rule. Verification itself is the library's.
class EmulatorJwksClient extends OAuth2Client {
  async getFederatedSignonCertsAsync() {
    const now = Date.now();
    if (this.jwksCache && now < this.jwksExpiry) {
      return {certs: this.jwksCache, format: 'PEM'};
    }
    const res = await fetch(JWKS_URL);
    if (!res.ok) {
      throw new Error(`Failed to retrieve verification certificates: HTTP ${res.status}`);
    }
    const certs = {};
    for (const jwk of (await res.json()).keys) {
      certs[jwk.kid] = crypto
        .createPublicKey({key: jwk, format: 'jwk'})
        .export({type: 'spki', format: 'pem'});
    }
    const maxAge = /max-age=(\d+)/.exec(res.headers.get('cache-control') || '');
    this.jwksCache = certs;
    this.jwksExpiry = now + (maxAge ? Number(maxAge[1]) * 1000 : 0);
    return {certs, format: 'PEM'};
  }
}

const client = new EmulatorJwksClient();

// Answers 401/400 itself and returns null, or returns the event's de-duplication key parts.
async function authorizedEvent(req, res) {
  const bearer = /^Bearer (\S+)$/.exec(req.get('authorization') || '');
  if (!bearer) {
    res.status(401).json({error: 'unauthenticated'});
    return null;
  }
  let claims;
  try {
    const ticket = await client.verifyIdToken({idToken: bearer[1], audience: AUDIENCE});
    claims = ticket.getPayload();
  } catch {
    res.status(401).json({error: 'invalid_token'});
    return null;
  }
  if (claims.email !== SERVICE_ACCOUNT || claims.email_verified !== true) {
    res.status(401).json({error: 'forbidden_account'});
    return null;
  }
  const id = req.get('ce-id');
  const source = req.get('ce-source');
  if (!id || !source) {
    res.status(400).json({error: 'missing_attribute'});
    return null;
  }
  return {source, id};
}

const seen = new Set();

functions.http('dedup', async (req, res) => {
  const ev = await authorizedEvent(req, res);
  if (!ev) return;
  const key = `${ev.source}\n${ev.id}`;
  if (seen.has(key)) {
    res.json({status: 'duplicate'});
    return;
  }
  seen.add(key);
  res.json({status: 'processed'});
});

// The durable set: opened only by a process serving dedupDurable (BENCH_DB set), so row e runs
// where better-sqlite3 did not install. busy_timeout first: the processes open one file, and
// switching it to WAL or creating the table takes a lock another may hold for a moment.
let insertSeen = null;
if (process.env.BENCH_DB) {
  const Database = require('better-sqlite3');
  const db = new Database(process.env.BENCH_DB);
  db.pragma('busy_timeout = 10000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS seen (source TEXT NOT NULL, id TEXT NOT NULL, ' +
          'PRIMARY KEY (source, id)) WITHOUT ROWID');
  insertSeen = db.prepare('INSERT INTO seen (source, id) VALUES (?, ?) ON CONFLICT DO NOTHING');
}

functions.http('dedupDurable', async (req, res) => {
  const ev = await authorizedEvent(req, res);
  if (!ev) return;
  if (!insertSeen) {
    res.status(500).json({error: 'BENCH_DB is not set'});
    return;
  }
  let changes;
  try {
    ({changes} = insertSeen.run(ev.source, ev.id)); // a durable write: fsync'd on commit
  } catch (err) {
    res.status(503).json({error: 'store_unavailable', message: String(err.message || err)});
    return;
  }
  res.json({status: changes === 1 ? 'processed' : 'duplicate'});
});
