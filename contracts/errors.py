"""The chain layer's exception tree: one base, a stable `code` and `http_status` on each class.

Every custom error of the three contracts has a Python class of the same name; a revert is
decoded from its 4-byte selector (computed from the ABI) into that class, with the error's
arguments as `facts`. The gateway maps the whole tree to HTTP in one handler.
"""



from __future__ import annotations

from typing import Any, ClassVar


class ChainError(Exception):
    """Base of every error the chain layer raises."""

    code: ClassVar[str] = "chain_error"
    http_status: ClassVar[int] = 502


class ChainUnavailable(ChainError):
    """The node cannot be reached (connection refused, timeout, closed embedded chain)."""

    code = "chain_unavailable"
    http_status = 503


class JournalMismatch(ChainError):
    """Replaying the embedded chain's journal produced another block than the one recorded."""

    code = "chain_journal_mismatch"
    http_status = 500


class DeploymentMissing(ChainError):
    """No verified deployment of the contracts exists on this chain."""

    code = "deployment_missing"
    http_status = 503


class ArtifactsStale(ChainError):
    """The compiled artifacts do not match the Solidity sources."""

    code = "artifacts_stale"
    http_status = 500


class ContractRevert(ChainError):
    """A contract call or transaction reverted; subclasses name the contract's custom error."""

    code = "contract_revert"
    http_status = 409

    def __init__(
        self,
        facts: dict[str, Any] | None = None,
        *,
        contract: str | None = None,
        tx_hash: str | None = None,
        data: str | None = None,
    ) -> None:
        self.facts = dict(facts or {})
        self.contract = contract
        self.tx_hash = tx_hash
        self.data = data
        shown = ", ".join(f"{k}={_show(v)}" for k, v in self.facts.items())
        where = f" in {contract}" if contract else ""
        super().__init__(f"{type(self).__name__}({shown}){where}")


def _show(value: Any) -> str:
    return "0x" + value.hex() if isinstance(value, bytes) else repr(value)


class AccountMissingRole(ContractRevert):
    """The caller lacks the role the function requires."""

    code = "account_missing_role"
    http_status = 403


class UnknownRole(ContractRevert):
    """The role id is none of the registry's roles."""

    code = "unknown_role"
    http_status = 422


class RoleNeedsQuorum(ContractRevert):
    """GOVERNANCE_ADMIN changes only through an admin-change proposal."""

    code = "role_needs_quorum"
    http_status = 403


class ZeroAddress(ContractRevert):
    """The zero address cannot be a stakeholder."""

    code = "zero_address"
    http_status = 422


class InvalidQuorum(ContractRevert):
    """The quorum is impossible for the number of admins."""

    code = "invalid_quorum"
    http_status = 422


class AdminChangeWithoutEffect(ContractRevert):
    """The proposed admin change would change nothing."""

    code = "admin_change_without_effect"
    http_status = 409


class ProposalNotFound(ContractRevert):
    """No admin-change proposal has this id."""

    code = "proposal_not_found"
    http_status = 404


class ProposalExpired(ContractRevert):
    """The proposal no longer accepts approvals."""

    code = "proposal_expired"
    http_status = 410


class ProposalStale(ContractRevert):
    """Another admin change executed since the proposal was made."""

    code = "proposal_stale"
    http_status = 409


class ProposalAlreadyApproved(ContractRevert):
    """This admin already approved the proposal."""

    code = "proposal_already_approved"
    http_status = 409


class ProposalAlreadyExecuted(ContractRevert):
    """The proposal already took effect."""

    code = "proposal_already_executed"
    http_status = 409


class EmptyPublicKeyHash(ContractRevert):
    """A stakeholder's ML-DSA public-key hash cannot be zero."""

    code = "empty_public_key_hash"
    http_status = 422


class InvalidGrantee(ContractRevert):
    """The grantee is zero or the subject itself."""

    code = "invalid_grantee"
    http_status = 422


class InvalidTerms(ContractRevert):
    """The category or purpose id is zero."""

    code = "invalid_terms"
    http_status = 422


class ExpiryNotInFuture(ContractRevert):
    """The expiry is not after the current block's time."""

    code = "expiry_not_in_future"
    http_status = 422


class ConsentNotFound(ContractRevert):
    """No consent is recorded for these terms."""

    code = "consent_not_found"
    http_status = 404


class SignatureExpired(ContractRevert):
    """The signed message's deadline has passed."""

    code = "signature_expired"
    http_status = 410


class InvalidNonce(ContractRevert):
    """The signed message's nonce is not the subject's next nonce (replay or reorder)."""

    code = "invalid_nonce"
    http_status = 409


class InvalidSignature(ContractRevert):
    """The signature does not recover to the subject (wrong signer, domain or message)."""

    code = "invalid_signature"
    http_status = 401


class PersonalCategory(ContractRevert):
    """A personal category can be shared only under the subject's consent."""

    code = "personal_category"
    http_status = 422


class NotOrganisation(ContractRevert):
    """The party holds no organisation role."""

    code = "not_organisation"
    http_status = 422


class InvalidParties(ContractRevert):
    """Provider and consumer are zero or the same."""

    code = "invalid_parties"
    http_status = 422


class AgreementNotFound(ContractRevert):
    """No agreement is recorded for these terms."""

    code = "agreement_not_found"
    http_status = 404


class SequenceMismatch(ContractRevert):
    """The batch's sequence number is not the next one (a retry or a race)."""

    code = "sequence_mismatch"
    http_status = 409


class EmptyRoot(ContractRevert):
    """A batch needs a non-zero Merkle root."""

    code = "empty_root"
    http_status = 422


class EmptyBatch(ContractRevert):
    """A batch needs at least one entry."""

    code = "empty_batch"
    http_status = 422


class InvalidWindow(ContractRevert):
    """The batch's time window ends before it starts."""

    code = "invalid_window"
    http_status = 422


class EmptyLeaf(ContractRevert):
    """A decision record needs a non-zero leaf."""

    code = "empty_leaf"
    http_status = 422


class DecisionAlreadyRecorded(ContractRevert):
    """This decision was recorded before."""

    code = "decision_already_recorded"
    http_status = 409


#: Python class of each contract custom error, by the error's Solidity name.
REVERT_CLASSES: dict[str, type[ContractRevert]] = {
    cls.__name__: cls for cls in ContractRevert.__subclasses__()
}
