// Human-readable ABI fragments of the events and views the wallet reads (ConsentLedger.sol,
// AuditTrail.sol); a unit test checks them against contracts/build.
export const CONSENT_ABI = [
  "event ConsentGranted(address indexed subject, address indexed grantee, bytes32 indexed category, bytes32 purpose, uint64 expiry, address relayer)",
  "event ConsentRevoked(address indexed subject, address indexed grantee, bytes32 indexed category, bytes32 purpose, address relayer)",
  "function nonces(address subject) view returns (uint256)",
  "function grantConsent(address grantee, bytes32 category, bytes32 purpose, uint64 expiry)",
  "function revokeConsent(address grantee, bytes32 category, bytes32 purpose)",
  "function isAllowed(address subject, address grantee, bytes32 category, bytes32 purpose) view returns (bool)",
];

export const AUDIT_ABI = [
  "function batchRoot(uint64 sequence) view returns (bytes32)",
  "function verifyInclusion(bytes32 root, bytes32 leaf, bytes32[] proof) pure returns (bool)",
];
