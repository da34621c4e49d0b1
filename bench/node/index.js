// The usual stack, as bench/run.sh's baseline (column "e"): an HTTP function on Google's
// Functions Framework for Node.js that does what this service's duplicate path does —
// verify the Google ID token with google-auth-library (signature, issuer, audience, expiry),
// check the service account, and answer a redelivered CloudEvent from an in-memory Set.
//
// Run: node serve.js PORT (or functions-framework --target=dedup --port=PORT), with
// BENCH_JWKS_URL (the emulator's /oauth2/v3/certs), BENCH_AUDIENCE and BENCH_SERVICE_ACCOUNT
// in the environment.
//
// The Set is what most such functions use, and it flatters this baseline: it is neither durable
// nor shared between processes, where the C service's ledger is both.
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
const seen = new Set();

functions.http('dedup', async (req, res) => {
  const bearer = /^Bearer (\S+)$/.exec(req.get('authorization') || '');
  if (!bearer) {
    res.status(401).json({error: 'unauthenticated'});
    return;
  }
  let claims;
  try {
    const ticket = await client.verifyIdToken({idToken: bearer[1], audience: AUDIENCE});
    claims = ticket.getPayload();
  } catch {
    res.status(401).json({error: 'invalid_token'});
    return;
  }
  if (claims.email !== SERVICE_ACCOUNT || claims.email_verified !== true) {
    res.status(401).json({error: 'forbidden_account'});
    return;
  }
  const id = req.get('ce-id');
  const source = req.get('ce-source');
  if (!id || !source) {
    res.status(400).json({error: 'missing_attribute'});
    return;
  }
  const key = `${source}\n${id}`;
  if (seen.has(key)) {
    res.json({status: 'duplicate'});
    return;
  }
  seen.add(key);
  res.json({status: 'processed'});
});
