"""Typed wrappers of the three contracts: Python methods for every external function."""

from ._base import ContractBinding, TxResult
from .audit import AuditTrail
from .consent import ConsentLedger
from .registry import AdminAction, AdminProposal, Stakeholder, StakeholderRegistry

__all__ = [
    "AdminAction",
    "AdminProposal",
    "AuditTrail",
    "ConsentLedger",
    "ContractBinding",
    "Stakeholder",
    "StakeholderRegistry",
    "TxResult",
]
