"""Typed wrapper of StakeholderRegistry."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from web3 import Web3

from ..names import ROLE_NAMES, as_id
from ._base import ZERO_ADDRESS, ContractBinding, TxResult


class AdminAction(enum.IntEnum):
    """StakeholderRegistry.AdminAction."""

    GRANT = 0
    REVOKE = 1
    SET_QUORUM = 2


@dataclass(frozen=True)
class Stakeholder:
    """A stakeholder's post-quantum identity on chain."""

    public_key_hash: bytes
    display_name: str

    @property
    def registered(self) -> bool:
        return self.public_key_hash != bytes(32)


@dataclass(frozen=True)
class AdminProposal:
    """An admin-change proposal as stored on chain."""

    action: AdminAction
    account: str
    expires_at: int
    approvals: int
    executed: bool
    proposer: str
    quorum: int
    epoch: int


def _role(role: str | bytes) -> bytes:
    """Accept a role name ("AGENCY") or its 32-byte id."""
    if isinstance(role, str) and role in ROLE_NAMES:
        return Web3.keccak(text=role)
    return as_id(role)


class StakeholderRegistry(ContractBinding):
    """Roles, ML-DSA-65 key hashes and the admin quorum."""

    NAME = "StakeholderRegistry"

    # -------------------------------------------------------------- writes

    def grant_role(self, admin: LocalAccount, role: str | bytes, account: str) -> TxResult:
        """Grant an ordinary role (no-op when held). Errors: AccountMissingRole,
        RoleNeedsQuorum, UnknownRole, ZeroAddress."""
        return self._send(admin, "grantRole", _role(role), Web3.to_checksum_address(account))

    def revoke_role(self, admin: LocalAccount, role: str | bytes, account: str) -> TxResult:
        """Revoke an ordinary role (no-op when not held)."""
        return self._send(admin, "revokeRole", _role(role), Web3.to_checksum_address(account))

    def register_stakeholder(
        self, admin: LocalAccount, account: str, public_key_hash: bytes, display_name: str = ""
    ) -> TxResult:
        """Bind `account` to sha256(ML-DSA-65 public key) and a display name."""
        return self._send(
            admin,
            "registerStakeholder",
            Web3.to_checksum_address(account),
            bytes(public_key_hash),
            display_name,
        )

    def propose_admin_change(
        self,
        admin: LocalAccount,
        action: AdminAction,
        account: str | None = None,
        quorum: int = 0,
    ) -> TxResult:
        """Propose (and approve) an admin change; read the id from its AdminChangeProposed."""
        target = Web3.to_checksum_address(account) if account else ZERO_ADDRESS
        return self._send(admin, "proposeAdminChange", int(action), target, int(quorum))

    def approve_admin_change(self, admin: LocalAccount, proposal_id: int) -> TxResult:
        """Approve a proposal; the approval that reaches the quorum executes it."""
        return self._send(admin, "approveAdminChange", int(proposal_id))

    # -------------------------------------------------------------- views

    def has_role(self, role: str | bytes, account: str, *, block: int | str = "latest") -> bool:
        return bool(
            self._view("hasRole", _role(role), Web3.to_checksum_address(account), block=block)
        )

    def is_organisation(self, account: str) -> bool:
        return bool(self._view("isOrganisation", Web3.to_checksum_address(account)))

    def role_members(self, role: str | bytes) -> list[str]:
        return [Web3.to_checksum_address(a) for a in self._view("roleMembers", _role(role))]

    def role_member_count(self, role: str | bytes) -> int:
        return int(self._view("roleMemberCount", _role(role)))

    def stakeholder(self, account: str) -> Stakeholder:
        key_hash, name = self._view("stakeholder", Web3.to_checksum_address(account))
        return Stakeholder(bytes(key_hash), name)

    def admin_proposal(self, proposal_id: int) -> AdminProposal:
        p = self._view("adminProposal", int(proposal_id))
        return AdminProposal(
            action=AdminAction(p[0]),
            account=Web3.to_checksum_address(p[1]),
            expires_at=int(p[2]),
            approvals=int(p[3]),
            executed=bool(p[4]),
            proposer=Web3.to_checksum_address(p[5]),
            quorum=int(p[6]),
            epoch=int(p[7]),
        )

    def has_approved(self, proposal_id: int, admin: str) -> bool:
        return bool(self._view("hasApproved", int(proposal_id), Web3.to_checksum_address(admin)))

    def admin_quorum(self) -> int:
        return int(self._view("adminQuorum"))

    def admin_epoch(self) -> int:
        return int(self._view("adminEpoch"))

    def proposal_count(self) -> int:
        return int(self._view("proposalCount"))

    def proposal_lifetime(self) -> int:
        """PROPOSAL_LIFETIME in seconds."""
        return int(self._view("PROPOSAL_LIFETIME"))

    def role_constant(self, name: str) -> bytes:
        """Read a role constant (GOVERNANCE_ADMIN, AGENCY, ...) from the contract itself."""
        if name not in ROLE_NAMES:
            raise ValueError(f"unknown role name {name!r}")
        return bytes(self._view(name))
