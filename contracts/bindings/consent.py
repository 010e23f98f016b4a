"""Typed wrapper of ConsentLedger, with EIP-712 signing for relayed consents."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from web3 import Web3

from ..eip712 import (
    Eip712Domain,
    GrantConsentMessage,
    RevokeConsentMessage,
    SignedConsent,
    sign_consent,
)
from ..names import as_id
from ._base import ContractBinding, TxResult


def _addr(address: str) -> str:
    return Web3.to_checksum_address(address)


class ConsentLedger(ContractBinding):
    """Citizens' consents and governance's organisation-to-organisation agreements.

    Categories and purposes are given as names ("energy.household_meter",
    "dpv:ServiceProvision") or 32-byte ids.
    """

    NAME = "ConsentLedger"

    # -------------------------------------------------------------- consents

    def grant_consent(
        self,
        subject: LocalAccount,
        grantee: str,
        category: str | bytes,
        purpose: str | bytes,
        expiry: int,
    ) -> TxResult:
        """The subject's own grant. Errors: InvalidGrantee, InvalidTerms, ExpiryNotInFuture."""
        return self._send(
            subject, "grantConsent", _addr(grantee), as_id(category), as_id(purpose), int(expiry)
        )

    def revoke_consent(
        self, subject: LocalAccount, grantee: str, category: str | bytes, purpose: str | bytes
    ) -> TxResult:
        """The subject's own revocation. Errors: ConsentNotFound."""
        return self._send(subject, "revokeConsent", _addr(grantee), as_id(category), as_id(purpose))

    def grant_consent_by_sig(self, relayer: LocalAccount, signed: SignedConsent) -> TxResult:
        """Relay a signed GrantConsent. Errors: SignatureExpired, InvalidNonce,
        InvalidSignature, then those of grant_consent."""
        m = signed.message
        if not isinstance(m, GrantConsentMessage):
            raise TypeError("grant_consent_by_sig needs a signed GrantConsentMessage")
        return self._send(
            relayer,
            "grantConsentBySig",
            _addr(m.subject),
            _addr(m.grantee),
            m.category,
            m.purpose,
            m.expiry,
            m.nonce,
            m.deadline,
            signed.v,
            signed.r,
            signed.s,
        )

    def revoke_consent_by_sig(self, relayer: LocalAccount, signed: SignedConsent) -> TxResult:
        """Relay a signed RevokeConsent."""
        m = signed.message
        if not isinstance(m, RevokeConsentMessage):
            raise TypeError("revoke_consent_by_sig needs a signed RevokeConsentMessage")
        return self._send(
            relayer,
            "revokeConsentBySig",
            _addr(m.subject),
            _addr(m.grantee),
            m.category,
            m.purpose,
            m.nonce,
            m.deadline,
            signed.v,
            signed.r,
            signed.s,
        )

    def is_allowed(
        self,
        subject: str,
        grantee: str,
        category: str | bytes,
        purpose: str | bytes,
        *,
        block: int | str = "latest",
    ) -> bool:
        """Live consent at `block` (expiry judged against that block's timestamp)."""
        return bool(
            self._view(
                "isAllowed",
                _addr(subject),
                _addr(grantee),
                as_id(category),
                as_id(purpose),
                block=block,
            )
        )

    def consent_expiry(
        self, subject: str, grantee: str, category: str | bytes, purpose: str | bytes
    ) -> int:
        """Recorded expiry, 0 when none."""
        return int(
            self._view(
                "consentExpiry", _addr(subject), _addr(grantee), as_id(category), as_id(purpose)
            )
        )

    def nonce(self, subject: str) -> int:
        """The subject's next EIP-712 nonce."""
        return int(self._view("nonces", _addr(subject)))

    # -------------------------------------------------------------- EIP-712

    def domain(self) -> Eip712Domain:
        """The signing domain, read from the contract (EIP-5267)."""
        _fields, name, version, chain_id, verifying, _salt, _ext = self._view("eip712Domain")
        return Eip712Domain(
            chain_id=int(chain_id), verifying_contract=_addr(verifying), name=name, version=version
        )

    def domain_separator(self) -> bytes:
        return bytes(self._view("DOMAIN_SEPARATOR"))

    def type_hashes(self) -> tuple[bytes, bytes]:
        """(GRANT_TYPEHASH, REVOKE_TYPEHASH) as compiled into the contract."""
        return bytes(self._view("GRANT_TYPEHASH")), bytes(self._view("REVOKE_TYPEHASH"))

    def sign_grant(
        self,
        subject: LocalAccount,
        grantee: str,
        category: str | bytes,
        purpose: str | bytes,
        expiry: int,
        deadline: int,
        *,
        nonce: int | None = None,
    ) -> SignedConsent:
        """Build and sign a GrantConsent for this ledger (nonce read from chain unless given)."""
        message = GrantConsentMessage(
            subject=subject.address,
            grantee=_addr(grantee),
            category=as_id(category),
            purpose=as_id(purpose),
            expiry=int(expiry),
            nonce=self.nonce(subject.address) if nonce is None else nonce,
            deadline=int(deadline),
        )
        return sign_consent(subject, self.domain(), message)

    def sign_revoke(
        self,
        subject: LocalAccount,
        grantee: str,
        category: str | bytes,
        purpose: str | bytes,
        deadline: int,
        *,
        nonce: int | None = None,
    ) -> SignedConsent:
        """Build and sign a RevokeConsent for this ledger."""
        message = RevokeConsentMessage(
            subject=subject.address,
            grantee=_addr(grantee),
            category=as_id(category),
            purpose=as_id(purpose),
            nonce=self.nonce(subject.address) if nonce is None else nonce,
            deadline=int(deadline),
        )
        return sign_consent(subject, self.domain(), message)

    # -------------------------------------------------------------- agreements

    def set_category_personal(
        self, admin: LocalAccount, category: str | bytes, personal: bool
    ) -> TxResult:
        """Governance marks a category personal (consent only) or not."""
        return self._send(admin, "setCategoryPersonal", as_id(category), bool(personal))

    def is_personal_category(self, category: str | bytes) -> bool:
        return bool(self._view("isPersonalCategory", as_id(category)))

    def grant_agreement(
        self,
        admin: LocalAccount,
        provider: str,
        consumer: str,
        category: str | bytes,
        purpose: str | bytes,
        expiry: int,
    ) -> TxResult:
        """Governance lets one organisation share non-personal data with another. Errors:
        AccountMissingRole, InvalidParties, InvalidTerms, PersonalCategory,
        ExpiryNotInFuture, NotOrganisation."""
        return self._send(
            admin,
            "grantAgreement",
            _addr(provider),
            _addr(consumer),
            as_id(category),
            as_id(purpose),
            int(expiry),
        )

    def revoke_agreement(
        self,
        admin: LocalAccount,
        provider: str,
        consumer: str,
        category: str | bytes,
        purpose: str | bytes,
    ) -> TxResult:
        """Governance ends an agreement. Errors: AccountMissingRole, AgreementNotFound."""
        return self._send(
            admin,
            "revokeAgreement",
            _addr(provider),
            _addr(consumer),
            as_id(category),
            as_id(purpose),
        )

    def is_agreed(
        self,
        provider: str,
        consumer: str,
        category: str | bytes,
        purpose: str | bytes,
        *,
        block: int | str = "latest",
    ) -> bool:
        return bool(
            self._view(
                "isAgreed",
                _addr(provider),
                _addr(consumer),
                as_id(category),
                as_id(purpose),
                block=block,
            )
        )

    def agreement_expiry(
        self, provider: str, consumer: str, category: str | bytes, purpose: str | bytes
    ) -> int:
        return int(
            self._view(
                "agreementExpiry", _addr(provider), _addr(consumer), as_id(category), as_id(purpose)
            )
        )

    def registry_address(self) -> str:
        return _addr(self._view("registry"))
