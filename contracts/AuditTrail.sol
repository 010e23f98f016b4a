// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IStakeholderRegistry} from "./IStakeholderRegistry.sol";
import {Roles} from "./Roles.sol";

/// @title AuditTrail
/// @notice Anchors the gateway's access decisions: batches as Merkle roots that chain to each
///         other, and single high-stakes decisions recorded one by one.
/// @dev Merkle scheme (the same as OpenZeppelin's StandardMerkleTree and MerkleProof):
///      leaf = keccak256(bytes.concat(keccak256(entry))) where `entry` is the ABI encoding of
///      one decision (double hashing keeps a 64-byte inner node from passing as a leaf);
///      node = keccak256(min(a, b) ++ max(a, b)) (sorted pairs, so a proof needs no left/right
///      bits); an odd node at the end of a level moves up unchanged; a one-leaf tree's root is
///      the leaf. contracts/merkle.py builds trees and proofs the same way.
///      Batch sequence numbers start at 1; batch 0 is the implicit genesis with a zero root, so
///      batch 1's previousRoot is zero. Only the roots live in storage (that keeps an anchor
///      under 80,000 gas whatever the batch size); entry counts and time windows live in the
///      BatchAnchored events, which an auditor replays to rebuild the whole trail.
contract AuditTrail {
    struct Head {
        uint64 nextSequence;
        uint192 totalEntries;
    }

    /// @notice The registry whose AUDIT_RECORDER role may write here.
    IStakeholderRegistry public immutable registry;

    Head private _head;
    mapping(uint256 sequence => bytes32 root) private _roots;
    mapping(bytes32 leaf => uint256 recordedAt) private _decisions;

    /// @notice `account` lacks `role`, which the call requires.
    error AccountMissingRole(address account, bytes32 role);
    /// @notice The batch claims sequence `given`, but the next one is `expected`.
    error SequenceMismatch(uint64 expected, uint64 given);
    /// @notice A batch needs a non-zero root.
    error EmptyRoot();
    /// @notice A batch needs at least one entry.
    error EmptyBatch();
    /// @notice The time window ends (`lastDecisionAt`) before it starts (`firstDecisionAt`).
    error InvalidWindow(uint64 firstDecisionAt, uint64 lastDecisionAt);
    /// @notice A decision record needs a non-zero leaf.
    error EmptyLeaf();
    /// @notice The decision `leaf` was already recorded at `recordedAt`.
    error DecisionAlreadyRecorded(bytes32 leaf, uint256 recordedAt);

    /// @notice `recorder` anchored batch `sequence`: `entryCount` decisions made between
    ///         `firstDecisionAt` and `lastDecisionAt` (unix seconds) under Merkle `root`,
    ///         chained to the previous batch's root.
    event BatchAnchored(
        uint64 indexed sequence,
        bytes32 indexed root,
        bytes32 indexed previousRoot,
        uint32 entryCount,
        uint64 firstDecisionAt,
        uint64 lastDecisionAt,
        address recorder
    );
    /// @notice `recorder` recorded one decision: `requester` asked for `category` data for
    ///         `purpose` at `decidedAt`; `leaf` commits to the full entry (subject included).
    event DecisionRecorded(
        bytes32 indexed leaf,
        address indexed requester,
        bytes32 indexed category,
        bytes32 purpose,
        bool allowed,
        uint64 decidedAt,
        address recorder
    );

    modifier onlyRecorder() {
        if (!registry.hasRole(Roles.AUDIT_RECORDER, msg.sender)) {
            revert AccountMissingRole(msg.sender, Roles.AUDIT_RECORDER);
        }
        _;
    }

    /// @param registry_ The StakeholderRegistry that names the recorders.
    constructor(IStakeholderRegistry registry_) {
        registry = registry_;
        // A non-zero head from the start: the first anchor pays for an update, not a new slot.
        _head.nextSequence = 1;
    }

    /// @notice Anchors a batch of access decisions by its Merkle root.
    /// @dev Requires AUDIT_RECORDER in the registry; `sequence` must be the next one (a retried
    ///      anchor fails instead of duplicating), a non-zero root, at least one entry, and
    ///      firstDecisionAt <= lastDecisionAt. Emits BatchAnchored.
    /// @param sequence The batch's sequence number (nextSequence()).
    /// @param root The Merkle root of the batch's leaves.
    /// @param entryCount How many decisions the batch holds.
    /// @param firstDecisionAt Time of the batch's first decision (unix seconds).
    /// @param lastDecisionAt Time of the batch's last decision (unix seconds).
    function anchorBatch(
        uint64 sequence,
        bytes32 root,
        uint32 entryCount,
        uint64 firstDecisionAt,
        uint64 lastDecisionAt
    ) external onlyRecorder {
        Head memory head = _head;
        if (sequence != head.nextSequence) revert SequenceMismatch(head.nextSequence, sequence);
        if (root == bytes32(0)) revert EmptyRoot();
        if (entryCount == 0) revert EmptyBatch();
        if (firstDecisionAt > lastDecisionAt) revert InvalidWindow(firstDecisionAt, lastDecisionAt);
        bytes32 previousRoot = _roots[sequence - 1];
        _roots[sequence] = root;
        _head = Head(sequence + 1, head.totalEntries + entryCount);
        emit BatchAnchored(sequence, root, previousRoot, entryCount, firstDecisionAt, lastDecisionAt, msg.sender);
    }

    /// @notice Records one high-stakes decision on its own, at once.
    /// @dev Requires AUDIT_RECORDER; a non-zero leaf not recorded before. The leaf is hashed
    ///      like a batch leaf, so the same entry proves the same way. Emits DecisionRecorded.
    /// @param leaf The decision's Merkle leaf (double keccak256 of its encoded entry).
    /// @param requester Who asked.
    /// @param category The data category id.
    /// @param purpose The purpose id.
    /// @param allowed The decision.
    /// @param decidedAt When the gateway decided (unix seconds).
    function recordDecision(
        bytes32 leaf,
        address requester,
        bytes32 category,
        bytes32 purpose,
        bool allowed,
        uint64 decidedAt
    ) external onlyRecorder {
        if (leaf == bytes32(0)) revert EmptyLeaf();
        uint256 recordedAt = _decisions[leaf];
        if (recordedAt != 0) revert DecisionAlreadyRecorded(leaf, recordedAt);
        _decisions[leaf] = block.timestamp;
        emit DecisionRecorded(leaf, requester, category, purpose, allowed, decidedAt, msg.sender);
    }

    /// @notice The sequence number the next batch must carry.
    /// @return The next sequence number (1 before any batch).
    function nextSequence() external view returns (uint64) {
        return _head.nextSequence;
    }

    /// @notice Total decisions anchored in batches so far.
    /// @return The sum of all batches' entry counts.
    function totalEntries() external view returns (uint256) {
        return _head.totalEntries;
    }

    /// @notice The root of batch `sequence`.
    /// @param sequence The batch's sequence number.
    /// @return The root; zero when no such batch exists.
    function batchRoot(uint64 sequence) external view returns (bytes32) {
        return _roots[sequence];
    }

    /// @notice When decision `leaf` was recorded.
    /// @param leaf The decision's leaf.
    /// @return The block time of the record; zero when never recorded.
    function decisionRecordedAt(bytes32 leaf) external view returns (uint256) {
        return _decisions[leaf];
    }

    /// @notice Whether `proof` shows `leaf` in the tree with `root` (sorted-pair keccak256).
    /// @param root The Merkle root.
    /// @param leaf The leaf (already double-hashed).
    /// @param proof The sibling hashes from the leaf up.
    /// @return True when the proof leads to `root`.
    function verifyInclusion(bytes32 root, bytes32 leaf, bytes32[] calldata proof) public pure returns (bool) {
        bytes32 node = leaf;
        for (uint256 i = 0; i < proof.length; ++i) {
            bytes32 sibling = proof[i];
            node = node < sibling
                ? keccak256(abi.encodePacked(node, sibling))
                : keccak256(abi.encodePacked(sibling, node));
        }
        return node == root;
    }

    /// @notice Whether `proof` shows `leaf` in anchored batch `sequence`.
    /// @param sequence The batch's sequence number.
    /// @param leaf The leaf.
    /// @param proof The sibling hashes from the leaf up.
    /// @return False also when the batch does not exist.
    function verifyBatchInclusion(uint64 sequence, bytes32 leaf, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        bytes32 root = _roots[sequence];
        return root != bytes32(0) && verifyInclusion(root, leaf, proof);
    }
}
