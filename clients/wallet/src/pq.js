// The citizen's post-quantum identity, made and kept in the browser: an ML-DSA-65 key
// (FIPS 204) from a 32-byte seed, so the same seed gives the same key in Python's
// `cryptography` (MLDSA65PrivateKey.from_seed_bytes) and in a JWK (kty AKP, priv = seed).
// @noble/post-quantum is used because it signs with an ML-DSA context string, which the
// gateway's login requires (context "qcity-login-v1"); liboqs-js 0.15 exposes no contexts.
import { ml_dsa65 } from "@noble/post-quantum/ml-dsa.js";

export const LOGIN_CONTEXT = new TextEncoder().encode("qcity-login-v1");

/** A fresh 32-byte seed from the browser's CSPRNG. */
export function newSeed() {
  return crypto.getRandomValues(new Uint8Array(32));
}

/** Expand a seed into { seed, publicKey, secretKey }. */
export function keyFromSeed(seed) {
  const { publicKey, secretKey } = ml_dsa65.keygen(seed);
  return { seed, publicKey, secretKey };
}

/** Sign `message` (bytes or string) under `context` (bytes; empty for JWS). */
export function signWithContext(key, message, context) {
  const bytes = typeof message === "string" ? new TextEncoder().encode(message) : message;
  return ml_dsa65.sign(bytes, key.secretKey, { context });
}

/** Verify a signature; false on any mismatch. */
export function verifyWithContext(publicKey, message, signature, context) {
  const bytes = typeof message === "string" ? new TextEncoder().encode(message) : message;
  return ml_dsa65.verify(signature, bytes, publicKey, { context });
}

export function b64url(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromB64url(text) {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** The RFC 9964 public JWK of a key (kty AKP, alg ML-DSA-65, pub). */
export function publicJwk(key) {
  return { kty: "AKP", alg: "ML-DSA-65", pub: b64url(key.publicKey) };
}
