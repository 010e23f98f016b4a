// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IStakeholderRegistry} from "./IStakeholderRegistry.sol";
import {Roles} from "./Roles.sol";

/// @title StakeholderRegistry
/// @notice Who is who in the city's data space: the roles each Ethereum address holds, and the
///         hash of the ML-DSA-65 public key that the address logs in with.
/// @dev Admin hand-over uses a quorum of governance admins, not a two-step transfer with a
///      cancellable delay. Reasons: (1) with a cancellable delay, a stolen admin key can cancel
///      every attempt of the honest admins to remove it, and a lost key needs the loser's
///      cooperation; with a quorum, the honest admins remove a stolen or lost key on their own,
///      and one key alone can neither add an admin, remove one, nor lower the quorum (as long as
///      the quorum is at least 2). (2) An admin change takes effect as soon as the quorum has
///      approved it, with no waiting period to police. Proposals expire after
///      PROPOSAL_LIFETIME and are invalidated by any other admin change (admin epochs), so an
///      approval can never be counted against an admin set it was not given for.
///      Run with n >= quorum + 1 admins and quorum >= 2 in production, so that losing one key
///      locks nobody out. The deployer's single-admin, quorum-1 setup is for development only.
///      Ordinary roles and key hashes change with one admin's signature (onboarding a city's
///      citizens one quorum vote at a time would not scale): a stolen admin key can misuse
///      them until the quorum removes it, but every such change is an event, so it is seen
///      and undone.
contract StakeholderRegistry is IStakeholderRegistry {
    /// @notice Role of the governance admins (changes to it need a quorum).
    bytes32 public constant GOVERNANCE_ADMIN = Roles.GOVERNANCE_ADMIN;
    /// @notice Role of public agencies.
    bytes32 public constant AGENCY = Roles.AGENCY;
    /// @notice Role of companies.
    bytes32 public constant ENTERPRISE = Roles.ENTERPRISE;
    /// @notice Role of universities and research institutes.
    bytes32 public constant RESEARCH_INSTITUTE = Roles.RESEARCH_INSTITUTE;
    /// @notice Role of citizens (data subjects).
    bytes32 public constant CITIZEN = Roles.CITIZEN;
    /// @notice Role of auditors.
    bytes32 public constant AUDITOR = Roles.AUDITOR;
    /// @notice Role of sensor operators.
    bytes32 public constant SENSOR_OPERATOR = Roles.SENSOR_OPERATOR;
    /// @notice Role of the gateway account that anchors audit batches.
    bytes32 public constant AUDIT_RECORDER = Roles.AUDIT_RECORDER;
    /// @notice How long an admin-change proposal can collect approvals.
    uint64 public constant PROPOSAL_LIFETIME = 7 days;

    /// @notice The kinds of admin change that need a quorum.
    enum AdminAction {
        Grant,
        Revoke,
        SetQuorum
    }

    /// @notice An admin-change proposal and its approval state.
    struct AdminProposal {
        AdminAction action;
        address account;
        uint64 expiresAt;
        uint32 approvals;
        bool executed;
        address proposer;
        uint256 quorum;
        uint256 epoch;
    }

    struct Stakeholder {
        bytes32 publicKeyHash;
        string displayName;
    }

    mapping(bytes32 role => address[] members) private _members;
    mapping(bytes32 role => mapping(address account => uint256 position)) private _positions;
    mapping(address account => Stakeholder profile) private _stakeholders;
    mapping(uint256 proposalId => AdminProposal proposal) private _proposals;
    mapping(uint256 proposalId => mapping(address admin => bool approved)) private _approvals;

    /// @notice Approvals an admin change needs.
    uint256 public adminQuorum;
    /// @notice Bumped by every executed admin change; older proposals become stale.
    uint256 public adminEpoch;
    /// @notice Number of admin-change proposals made so far (ids start at 1).
    uint256 public proposalCount;

    /// @notice `account` lacks `role`, which the call requires.
    error AccountMissingRole(address account, bytes32 role);
    /// @notice `role` is none of the registry's roles.
    error UnknownRole(bytes32 role);
    /// @notice `role` can only change through an admin-change proposal.
    error RoleNeedsQuorum(bytes32 role);
    /// @notice The zero address cannot be a stakeholder.
    error ZeroAddress();
    /// @notice `quorum` is impossible with `adminCount` admins (needs 1 <= quorum <= count).
    error InvalidQuorum(uint256 quorum, uint256 adminCount);
    /// @notice The proposed change would change nothing.
    error AdminChangeWithoutEffect(AdminAction action, address account, uint256 quorum);
    /// @notice No proposal has id `proposalId`.
    error ProposalNotFound(uint256 proposalId);
    /// @notice The proposal stopped accepting approvals at `expiredAt`.
    error ProposalExpired(uint256 proposalId, uint64 expiredAt);
    /// @notice Another admin change executed since the proposal was made.
    error ProposalStale(uint256 proposalId, uint256 proposalEpoch, uint256 currentEpoch);
    /// @notice `admin` already approved the proposal.
    error ProposalAlreadyApproved(uint256 proposalId, address admin);
    /// @notice The proposal has already been executed.
    error ProposalAlreadyExecuted(uint256 proposalId);
    /// @notice A stakeholder's public-key hash cannot be zero.
    error EmptyPublicKeyHash(address account);

    /// @notice `account` received `role` from `sender`.
    event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender);
    /// @notice `account` lost `role` through `sender`.
    event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender);
    /// @notice `account`'s ML-DSA-65 key hash and display name were set by `sender`.
    event StakeholderRegistered(
        address indexed account, bytes32 indexed publicKeyHash, string displayName, address indexed sender
    );
    /// @notice `proposer` proposed an admin change, which it approves implicitly.
    event AdminChangeProposed(
        uint256 indexed proposalId,
        AdminAction action,
        address indexed account,
        uint256 quorum,
        address indexed proposer,
        uint64 expiresAt
    );
    /// @notice `admin` approved a proposal, which now has `approvals` approvals.
    event AdminChangeApproved(uint256 indexed proposalId, address indexed admin, uint256 approvals);
    /// @notice A proposal reached the quorum and took effect.
    event AdminChangeExecuted(
        uint256 indexed proposalId, AdminAction action, address indexed account, uint256 quorum
    );
    /// @notice The admin quorum changed from `previousQuorum` to `newQuorum`.
    event AdminQuorumChanged(uint256 previousQuorum, uint256 newQuorum);

    modifier onlyAdmin() {
        if (!hasRole(Roles.GOVERNANCE_ADMIN, msg.sender)) {
            revert AccountMissingRole(msg.sender, Roles.GOVERNANCE_ADMIN);
        }
        _;
    }

    /// @param admins The first governance admins (duplicates are ignored).
    /// @param quorum Approvals an admin change needs, 1 <= quorum <= number of admins.
    constructor(address[] memory admins, uint256 quorum) {
        for (uint256 i = 0; i < admins.length; ++i) {
            if (admins[i] == address(0)) revert ZeroAddress();
            _grant(Roles.GOVERNANCE_ADMIN, admins[i]);
        }
        uint256 count = _members[Roles.GOVERNANCE_ADMIN].length;
        if (quorum == 0 || quorum > count) revert InvalidQuorum(quorum, count);
        adminQuorum = quorum;
        emit AdminQuorumChanged(0, quorum);
    }

    // ----------------------------------------------------------------- ordinary roles

    /// @notice Grants `role` to `account`; a no-op when it already holds it.
    /// @dev Requires GOVERNANCE_ADMIN; `role` must be a registry role other than
    ///      GOVERNANCE_ADMIN (use proposeAdminChange). Emits RoleGranted when it changes anything.
    /// @param role The role id (keccak256 of its name).
    /// @param account The stakeholder's address.
    function grantRole(bytes32 role, address account) external onlyAdmin {
        _checkOrdinaryRole(role);
        if (account == address(0)) revert ZeroAddress();
        _grant(role, account);
    }

    /// @notice Revokes `role` from `account`; a no-op when it does not hold it.
    /// @dev Requires GOVERNANCE_ADMIN; `role` must be a registry role other than
    ///      GOVERNANCE_ADMIN. Emits RoleRevoked when it changes anything.
    /// @param role The role id.
    /// @param account The stakeholder's address.
    function revokeRole(bytes32 role, address account) external onlyAdmin {
        _checkOrdinaryRole(role);
        _revoke(role, account);
    }

    /// @notice Binds `account` to the hash of its ML-DSA-65 public key and a display name.
    /// @dev Requires GOVERNANCE_ADMIN. The hash is sha256 of the raw 1,952-byte public key.
    ///      Only governance sets it: a stolen Ethereum key alone must not be able to swap the
    ///      post-quantum identity. Emits StakeholderRegistered.
    /// @param account The stakeholder's address.
    /// @param publicKeyHash sha256 of the stakeholder's raw ML-DSA-65 public key, non-zero.
    /// @param displayName A human-readable name (organisations; may be empty for citizens).
    function registerStakeholder(address account, bytes32 publicKeyHash, string calldata displayName)
        external
        onlyAdmin
    {
        if (account == address(0)) revert ZeroAddress();
        if (publicKeyHash == bytes32(0)) revert EmptyPublicKeyHash(account);
        _stakeholders[account] = Stakeholder(publicKeyHash, displayName);
        emit StakeholderRegistered(account, publicKeyHash, displayName, msg.sender);
    }

    // ----------------------------------------------------------------- admin quorum

    /// @notice Proposes an admin change and approves it as the proposer.
    /// @dev Requires GOVERNANCE_ADMIN. Grant needs a non-admin, non-zero `account`; Revoke an
    ///      admin whose removal leaves at least `adminQuorum` admins; SetQuorum a new `quorum`
    ///      between 1 and the number of admins (`account` is ignored, `quorum` is ignored for
    ///      Grant and Revoke). Executes at once when the quorum is 1. Emits
    ///      AdminChangeProposed, AdminChangeApproved, and AdminChangeExecuted when it executes.
    /// @param action Grant, Revoke or SetQuorum.
    /// @param account The admin to add or remove.
    /// @param quorum The new quorum for SetQuorum.
    /// @return proposalId The new proposal's id.
    function proposeAdminChange(AdminAction action, address account, uint256 quorum)
        external
        onlyAdmin
        returns (uint256 proposalId)
    {
        uint256 count = _members[Roles.GOVERNANCE_ADMIN].length;
        if (action == AdminAction.SetQuorum) {
            account = address(0);
            if (quorum == 0 || quorum > count) revert InvalidQuorum(quorum, count);
            if (quorum == adminQuorum) revert AdminChangeWithoutEffect(action, account, quorum);
        } else {
            quorum = 0;
            if (account == address(0)) revert ZeroAddress();
            bool isAdmin = hasRole(Roles.GOVERNANCE_ADMIN, account);
            if ((action == AdminAction.Grant) == isAdmin) {
                revert AdminChangeWithoutEffect(action, account, quorum);
            }
            if (action == AdminAction.Revoke && count - 1 < adminQuorum) {
                revert InvalidQuorum(adminQuorum, count - 1);
            }
        }
        proposalId = ++proposalCount;
        uint64 expiresAt = uint64(block.timestamp) + PROPOSAL_LIFETIME;
        _proposals[proposalId] = AdminProposal({
            action: action,
            account: account,
            expiresAt: expiresAt,
            approvals: 0,
            executed: false,
            proposer: msg.sender,
            quorum: quorum,
            epoch: adminEpoch
        });
        emit AdminChangeProposed(proposalId, action, account, quorum, msg.sender, expiresAt);
        _approve(proposalId);
    }

    /// @notice Approves an open admin-change proposal; executes it once the quorum is reached.
    /// @dev Requires GOVERNANCE_ADMIN; the proposal must exist, not be executed, expired or
    ///      stale, and not be approved by the caller yet. Emits AdminChangeApproved, and
    ///      AdminChangeExecuted (with RoleGranted, RoleRevoked or AdminQuorumChanged) on execution.
    /// @param proposalId The proposal to approve.
    function approveAdminChange(uint256 proposalId) external onlyAdmin {
        AdminProposal storage p = _proposals[proposalId];
        if (p.proposer == address(0)) revert ProposalNotFound(proposalId);
        if (p.executed) revert ProposalAlreadyExecuted(proposalId);
        if (p.epoch != adminEpoch) revert ProposalStale(proposalId, p.epoch, adminEpoch);
        if (block.timestamp >= p.expiresAt) revert ProposalExpired(proposalId, p.expiresAt);
        if (_approvals[proposalId][msg.sender]) revert ProposalAlreadyApproved(proposalId, msg.sender);
        _approve(proposalId);
    }

    // ----------------------------------------------------------------- views

    /// @notice Whether `account` currently holds `role`.
    /// @param role The role id.
    /// @param account The address to check.
    /// @return True when the account holds the role.
    function hasRole(bytes32 role, address account) public view returns (bool) {
        return _positions[role][account] != 0;
    }

    /// @notice Whether `account` holds an organisation role: agency, enterprise, research
    ///         institute or sensor operator.
    /// @param account The address to check.
    /// @return True for an organisation.
    function isOrganisation(address account) external view returns (bool) {
        return hasRole(Roles.AGENCY, account) || hasRole(Roles.ENTERPRISE, account)
            || hasRole(Roles.RESEARCH_INSTITUTE, account) || hasRole(Roles.SENSOR_OPERATOR, account);
    }

    /// @notice The current members of `role`, in no guaranteed order.
    /// @param role The role id.
    /// @return The members' addresses.
    function roleMembers(bytes32 role) external view returns (address[] memory) {
        return _members[role];
    }

    /// @notice How many accounts hold `role`.
    /// @param role The role id.
    /// @return The member count.
    function roleMemberCount(bytes32 role) external view returns (uint256) {
        return _members[role].length;
    }

    /// @notice A stakeholder's ML-DSA-65 public-key hash (sha256) and display name.
    /// @param account The stakeholder's address.
    /// @return publicKeyHash Zero when the account was never registered.
    /// @return displayName The display name.
    function stakeholder(address account)
        external
        view
        returns (bytes32 publicKeyHash, string memory displayName)
    {
        Stakeholder storage s = _stakeholders[account];
        return (s.publicKeyHash, s.displayName);
    }

    /// @notice An admin-change proposal.
    /// @param proposalId The proposal id.
    /// @return The proposal (all fields zero when it does not exist).
    function adminProposal(uint256 proposalId) external view returns (AdminProposal memory) {
        return _proposals[proposalId];
    }

    /// @notice Whether `admin` approved proposal `proposalId`.
    /// @param proposalId The proposal id.
    /// @param admin The admin's address.
    /// @return True when approved.
    function hasApproved(uint256 proposalId, address admin) external view returns (bool) {
        return _approvals[proposalId][admin];
    }

    // ----------------------------------------------------------------- internals

    function _approve(uint256 proposalId) private {
        AdminProposal storage p = _proposals[proposalId];
        _approvals[proposalId][msg.sender] = true;
        uint32 approvals = ++p.approvals;
        emit AdminChangeApproved(proposalId, msg.sender, approvals);
        if (approvals >= adminQuorum) _execute(proposalId, p);
    }

    function _execute(uint256 proposalId, AdminProposal storage p) private {
        p.executed = true;
        ++adminEpoch;
        if (p.action == AdminAction.Grant) {
            _grant(Roles.GOVERNANCE_ADMIN, p.account);
        } else if (p.action == AdminAction.Revoke) {
            _revoke(Roles.GOVERNANCE_ADMIN, p.account);
        } else {
            emit AdminQuorumChanged(adminQuorum, p.quorum);
            adminQuorum = p.quorum;
        }
        emit AdminChangeExecuted(proposalId, p.action, p.account, p.quorum);
    }

    function _checkOrdinaryRole(bytes32 role) private pure {
        if (role == Roles.GOVERNANCE_ADMIN) revert RoleNeedsQuorum(role);
        if (
            role != Roles.AGENCY && role != Roles.ENTERPRISE && role != Roles.RESEARCH_INSTITUTE
                && role != Roles.CITIZEN && role != Roles.AUDITOR && role != Roles.SENSOR_OPERATOR
                && role != Roles.AUDIT_RECORDER
        ) revert UnknownRole(role);
    }

    /// @dev Returns whether anything changed; emits only then (OpenZeppelin's convention).
    function _grant(bytes32 role, address account) private returns (bool) {
        if (_positions[role][account] != 0) return false;
        _members[role].push(account);
        _positions[role][account] = _members[role].length;
        emit RoleGranted(role, account, msg.sender);
        return true;
    }

    function _revoke(bytes32 role, address account) private returns (bool) {
        uint256 position = _positions[role][account];
        if (position == 0) return false;
        address[] storage members = _members[role];
        address last = members[members.length - 1];
        members[position - 1] = last;
        _positions[role][last] = position;
        members.pop();
        delete _positions[role][account];
        emit RoleRevoked(role, account, msg.sender);
        return true;
    }
}
