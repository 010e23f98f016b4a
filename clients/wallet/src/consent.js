// EIP-712 consents: the messages a citizen signs so that anyone may relay them (no gas).
// The types mirror ConsentLedger.sol (GRANT_TYPEHASH, REVOKE_TYPEHASH) and the domain its
// eip712Domain(); category and purpose ids are keccak256 of their names, as on chain.
import { keccak256, toUtf8Bytes, Signature, TypedDataEncoder } from "ethers";

export const DOMAIN_NAME = "qcity ConsentLedger";
export const DOMAIN_VERSION = "1";

export const GRANT_TYPES = {
  GrantConsent: [
    { name: "subject", type: "address" },
    { name: "grantee", type: "address" },
    { name: "category", type: "bytes32" },
    { name: "purpose", type: "bytes32" },
    { name: "expiry", type: "uint64" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

export const REVOKE_TYPES = {
  RevokeConsent: [
    { name: "subject", type: "address" },
    { name: "grantee", type: "address" },
    { name: "category", type: "bytes32" },
    { name: "purpose", type: "bytes32" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/** keccak256 of a dotted category or DPV purpose name: the id the contracts store. */
export function termId(name) {
  return keccak256(toUtf8Bytes(name));
}

/** The EIP-712 domain of the ConsentLedger at `verifyingContract` on `chainId`. */
export function consentDomain(chainId, verifyingContract) {
  return { name: DOMAIN_NAME, version: DOMAIN_VERSION, chainId: BigInt(chainId), verifyingContract };
}

function asMessage(t, withExpiry) {
  const m = {
    subject: t.subject,
    grantee: t.grantee,
    category: t.category.startsWith("0x") ? t.category : termId(t.category),
    purpose: t.purpose.startsWith("0x") ? t.purpose : termId(t.purpose),
    nonce: BigInt(t.nonce),
    deadline: BigInt(t.deadline),
  };
  if (withExpiry) m.expiry = BigInt(t.expiry);
  return m;
}

/**
 * Sign a grant with an ethers signer (Wallet). `terms` names category and purpose either by
 * name or by 0x id. Returns the message fields plus v, r, s (v is 27 or 28, s canonical),
 * the shape that ConsentLedger.grantConsentBySig and the gateway's relay expect.
 */
export async function signGrant(signer, domain, terms) {
  const message = asMessage(terms, true);
  const sig = Signature.from(await signer.signTypedData(domain, GRANT_TYPES, message));
  return { kind: "grant", ...jsonable(message), signature: sig.serialized, v: sig.v, r: sig.r, s: sig.s };
}

/** Sign a revocation; same shape as signGrant without expiry. */
export async function signRevoke(signer, domain, terms) {
  const message = asMessage(terms, false);
  const sig = Signature.from(await signer.signTypedData(domain, REVOKE_TYPES, message));
  return { kind: "revoke", ...jsonable(message), signature: sig.serialized, v: sig.v, r: sig.r, s: sig.s };
}

/** The EIP-712 digest of a grant (what ecrecover sees), for display and tests. */
export function grantDigest(domain, terms) {
  return TypedDataEncoder.hash(domain, GRANT_TYPES, asMessage(terms, true));
}

function jsonable(message) {
  const out = {};
  for (const [k, v] of Object.entries(message)) out[k] = typeof v === "bigint" ? Number(v) : v;
  return out;
}
