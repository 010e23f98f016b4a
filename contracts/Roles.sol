// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title qcity roles
/// @notice The role identifiers shared by every qcity contract. Each role is the keccak256
///         of its upper-case name, so off-chain code derives the same id from the name.
library Roles {
    /// @dev Governs the registry; changes to this role itself need a quorum of admins.
    bytes32 internal constant GOVERNANCE_ADMIN = keccak256("GOVERNANCE_ADMIN");
    bytes32 internal constant AGENCY = keccak256("AGENCY");
    bytes32 internal constant ENTERPRISE = keccak256("ENTERPRISE");
    bytes32 internal constant RESEARCH_INSTITUTE = keccak256("RESEARCH_INSTITUTE");
    bytes32 internal constant CITIZEN = keccak256("CITIZEN");
    bytes32 internal constant AUDITOR = keccak256("AUDITOR");
    bytes32 internal constant SENSOR_OPERATOR = keccak256("SENSOR_OPERATOR");
    /// @dev The gateway's own account: the only one allowed to anchor audit batches.
    bytes32 internal constant AUDIT_RECORDER = keccak256("AUDIT_RECORDER");
}
