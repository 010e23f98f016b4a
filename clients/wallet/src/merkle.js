// Inclusion proofs checked in the page: the same scheme as AuditTrail.verifyInclusion and
// OpenZeppelin's MerkleProof (sorted-pair keccak256 from the leaf up).
import { keccak256, concat, getBytes } from "ethers";

function lessThan(a, b) {
  const x = getBytes(a), y = getBytes(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] < y[i];
  return false;
}

/** The root that `proof` leads to from `leaf` (0x hex strings). */
export function processProof(leaf, proof) {
  let node = leaf;
  for (const sibling of proof) {
    node = lessThan(node, sibling) ? keccak256(concat([node, sibling])) : keccak256(concat([sibling, node]));
  }
  return node;
}

/** Whether `proof` shows `leaf` under `root`. */
export function verifyInclusion(root, leaf, proof) {
  return processProof(leaf, proof).toLowerCase() === root.toLowerCase();
}
