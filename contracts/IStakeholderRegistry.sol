// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title The registry as seen by the other qcity contracts
/// @notice ConsentLedger and AuditTrail ask the registry, never keep their own role lists.
interface IStakeholderRegistry {
    /// @notice Whether `account` currently holds `role`.
    function hasRole(bytes32 role, address account) external view returns (bool);

    /// @notice Whether `account` holds an organisation role (agency, enterprise,
    ///         research institute or sensor operator).
    function isOrganisation(address account) external view returns (bool);
}
