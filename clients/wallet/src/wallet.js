// The citizen wallet page. Keys are made and kept in this browser (localStorage): an
// Ethereum key that signs EIP-712 consents (relayed by the gateway, so the citizen needs no
// gas) or, as a fallback, transactions, and an ML-DSA-65 seed that opens gateway sessions.
// The gateway only ever sees public keys and signatures.
import { Wallet, JsonRpcProvider, Contract, AbiCoder, keccak256 } from "ethers";
import { consentDomain, signGrant, signRevoke, termId } from "./consent.js";
import { keyFromSeed, newSeed, signWithContext, verifyWithContext, b64url, fromB64url, LOGIN_CONTEXT } from "./pq.js";
import { verifyInclusion } from "./merkle.js";
import { CONSENT_ABI, AUDIT_ABI } from "./abi.js";

const STORE = "qcity.wallet.v1";

/** Load the citizen's keys from localStorage, creating them on first use. */
export function loadIdentity(storage = globalThis.localStorage) {
  let saved = JSON.parse(storage.getItem(STORE) || "null");
  if (!saved) {
    saved = { ethKey: Wallet.createRandom().privateKey, mldsaSeed: b64url(newSeed()) };
    storage.setItem(STORE, JSON.stringify(saved));
  }
  const eth = new Wallet(saved.ethKey);
  const pq = keyFromSeed(fromB64url(saved.mldsaSeed));
  return { address: eth.address, eth, pq, publicKey: b64url(pq.publicKey) };
}

/** SHA-256 of the raw ML-DSA public key: what governance registers on chain. */
export async function publicKeyHash(identity) {
  const digest = await crypto.subtle.digest("SHA-256", identity.pq.publicKey);
  return "0x" + [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Sign a login challenge under its ML-DSA context; base64url, as /auth/token takes it. */
export function signChallenge(identity, challenge, context = "qcity-login-v1") {
  return b64url(signWithContext(identity.pq, challenge, new TextEncoder().encode(context)));
}

/** The gateway this page was served by, with the facts the wallet needs. */
export class Gateway {
  constructor(base = "") {
    this.base = base;
    this.token = null;
  }

  async call(path, { method = "GET", body, auth = true } = {}) {
    const headers = { "Content-Type": "application/json" };
    if (auth && this.token) headers.Authorization = `Bearer ${this.token}`;
    const res = await fetch(this.base + path, { method, headers, body: body && JSON.stringify(body) });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      const err = new Error(data.message || data.detail || `${res.status}`);
      err.code = data.code || data.error || String(res.status);
      err.status = res.status;
      throw err;
    }
    return data;
  }

  async health() {
    return this.call("/health", { auth: false });
  }

  /** ML-DSA login: sign the challenge under the login context, get a session token. */
  async login(identity) {
    const ch = await this.call("/auth/challenge", { method: "POST", body: { address: identity.address }, auth: false });
    const signature = signChallenge(identity, ch.challenge, ch.context);
    const tok = await this.call("/auth/token", {
      method: "POST", auth: false,
      body: { challenge: ch.challenge, public_key: identity.publicKey, signature },
    });
    this.token = tok.access_token;
    return tok;
  }

  provider() {
    const url = new URL("/rpc", this.base || globalThis.location.origin).toString();
    const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, batchMaxCount: 1 });
    provider.pollingInterval = 250;
    return provider;
  }
}

/** Grants and revocations of `subject`, replayed from ConsentLedger events (via /rpc). */
export async function consentHistory(provider, ledgerAddress, subject) {
  const ledger = new Contract(ledgerAddress, CONSENT_ABI, provider);
  const granted = await ledger.queryFilter(ledger.filters.ConsentGranted(subject), 0);
  const revoked = await ledger.queryFilter(ledger.filters.ConsentRevoked(subject), 0);
  const all = [...granted, ...revoked].sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
  const live = new Map();
  for (const e of all) {
    const [subj, grantee, category, purpose] = e.args;
    const key = [grantee, category, purpose].join("|");
    if (e.fragment.name === "ConsentGranted") live.set(key, { grantee, category, purpose, expiry: Number(e.args[4]), block: e.blockNumber });
    else live.delete(key);
  }
  return { events: all.length, live: [...live.values()] };
}

/** The subject's next EIP-712 nonce on the ConsentLedger. */
export async function nonceOf(provider, ledgerAddress, subject) {
  return Number(await new Contract(ledgerAddress, CONSENT_ABI, provider).nonces(subject));
}

/** Sign a grant (EIP-712) for the relay; `terms` by name: category, purpose, grantee, expiry. */
export async function signConsentGrant(identity, chainId, ledgerAddress, nonce, terms, deadline) {
  return signGrant(identity.eth, consentDomain(chainId, ledgerAddress), { ...terms, subject: identity.address, nonce, deadline });
}

/** Sign a revocation (EIP-712) for the relay. */
export async function signConsentRevoke(identity, chainId, ledgerAddress, nonce, terms, deadline) {
  return signRevoke(identity.eth, consentDomain(chainId, ledgerAddress), { ...terms, subject: identity.address, nonce, deadline });
}

/** How long a signed consent may wait for the relay (seconds). */
export const RELAY_DEADLINE_S = 600;

/**
 * Grant or revoke without gas: sign the EIP-712 message here and have the gateway's relayer
 * send it (POST /consents/relay). Resolves once mined and indexed by the gateway.
 */
export async function relayConsent(gateway, identity, provider, ledgerAddress, chainId, kind, terms) {
  const nonce = await nonceOf(provider, ledgerAddress, identity.address);
  const deadline = Math.floor(Date.now() / 1000) + RELAY_DEADLINE_S;
  const sign = kind === "grant" ? signConsentGrant : signConsentRevoke;
  const signed = await sign(identity, chainId, ledgerAddress, nonce, terms, deadline);
  const done = await gateway.call("/consents/relay", { method: "POST", body: signed, auth: false });
  return { hash: done.tx_hash, block: done.block, relayed: true, relayer: done.relayer };
}

/** Whether a relay failed because this gateway has none (then the page may send its own tx). */
export function relayMissing(error) {
  return error.status === 404 || error.status === 405;
}

export const RECEIPT_TYPE = "qcity-consent-receipt+jws";

/** Check a consent receipt (compact JWS, ML-DSA-65, empty context) against a JWK Set. */
export function verifyReceipt(jws, jwks) {
  const [head, payload, sig] = jws.split(".");
  let header;
  try {
    header = JSON.parse(new TextDecoder().decode(fromB64url(head)));
  } catch {
    return false;
  }
  if (header.alg !== "ML-DSA-65" || header.typ !== RECEIPT_TYPE) return false;
  const key = (jwks.keys || []).find((k) => k.alg === "ML-DSA-65" && (!header.kid || k.kid === header.kid));
  if (!key) return false;
  return verifyWithContext(fromB64url(key.pub), `${head}.${payload}`, fromB64url(sig), new Uint8Array(0));
}

/** The signed-in citizen's consent receipts (ISO/IEC TS 27560), each verified here. */
export async function consentReceipts(gateway) {
  const [body, jwks] = await Promise.all([
    gateway.call("/me/consents/receipts"),
    gateway.call("/.well-known/jwks.json", { auth: false }),
  ]);
  return body.receipts.map((r) => ({ ...r, verified: verifyReceipt(r.jws, jwks) }));
}

/**
 * Grant or revoke with the citizen's own transaction, signed here and sent through the
 * gateway's /rpc door (eth_sendRawTransaction); resolves once mined.
 */
export async function sendConsent(identity, provider, ledgerAddress, kind, terms) {
  const ledger = new Contract(ledgerAddress, CONSENT_ABI, identity.eth.connect(provider));
  const category = terms.category.startsWith("0x") ? terms.category : termId(terms.category);
  const purpose = terms.purpose.startsWith("0x") ? terms.purpose : termId(terms.purpose);
  const tx = kind === "grant"
    ? await ledger.grantConsent(terms.grantee, category, purpose, terms.expiry)
    : await ledger.revokeConsent(terms.grantee, category, purpose);
  const receipt = await tx.wait();
  return { hash: tx.hash, block: receipt.blockNumber };
}

/** The gateway's audit entry types (gateway/audit/records.py), to read entries here. */
export const ENTRY_TYPES = ["uint64", "bytes32", "uint64", "address", "string", "string", "string",
  "string", "address", "address", "bool", "string", "int64"];

/**
 * Read a decision from its own entry bytes (not from the fields sent beside it) and check
 * that its leaf is keccak256(keccak256(entry)), then that the proof reaches the root that
 * AuditTrail stores for its batch.
 */
export async function checkDecision(provider, trailAddress, decision) {
  const v = AbiCoder.defaultAbiCoder().decode(ENTRY_TYPES, decision.entry);
  const entry = { seq: Number(v[0]), decidedAtMs: Number(v[2]), actor: v[3], action: v[4],
    category: v[6], purpose: v[7], subject: v[8], allowed: v[10], reason: v[11], block: Number(v[12]) };
  const leafOk = keccak256(keccak256(decision.entry)) === decision.leaf;
  let anchored = false;
  if (leafOk && decision.anchor && decision.anchor.status === "anchored") {
    anchored = (await checkAnchor(provider, trailAddress, decision.anchor.sequence, decision.leaf, decision.anchor.proof)).ok;
  }
  return { entry, leafOk, anchored };
}

/** Check a decision's proof against the root anchored on chain for its batch. */
export async function checkAnchor(provider, trailAddress, batch, leaf, proof) {
  const trail = new Contract(trailAddress, AUDIT_ABI, provider);
  const root = await trail.batchRoot(batch);
  const ok = root !== "0x" + "00".repeat(32) && verifyInclusion(root, leaf, proof);
  return { ok, root };
}

export { termId, verifyInclusion, LOGIN_CONTEXT };


