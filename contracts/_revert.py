"""Decode revert data into the exception class named after the contract's custom error."""

from __future__ import annotations

from typing import Any

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak, to_checksum_address

from .errors import REVERT_CLASSES, ContractRevert

_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)


def abi_type(item: dict[str, Any]) -> str:
    kind = item["type"]
    if kind.startswith("tuple"):
        inner = ",".join(abi_type(c) for c in item["components"])
        return f"({inner}){kind[5:]}"
    return kind


def error_selectors(abi: list[dict[str, Any]]) -> dict[bytes, dict[str, Any]]:
    """Map each custom error's 4-byte selector to its ABI entry."""
    out = {}
    for item in abi:
        if item.get("type") != "error":
            continue
        signature = f"{item['name']}({','.join(abi_type(i) for i in item['inputs'])})"
        out[keccak(text=signature)[:4]] = item
    return out


def _normalise(abi_type: str, value: Any) -> Any:
    if abi_type == "address":
        return to_checksum_address(value)
    return value


def decode_revert(
    data: bytes | None,
    selectors: dict[bytes, dict[str, Any]],
    *,
    contract: str | None = None,
    tx_hash: str | None = None,
) -> ContractRevert:
    """Build the exception for revert `data` (custom error, Error(string), Panic or unknown)."""
    data = data or b""
    hex_data = "0x" + data.hex()
    selector, body = data[:4], data[4:]
    item = selectors.get(selector)
    if item is not None:
        types = [abi_type(i) for i in item["inputs"]]
        try:
            values = abi_decode(types, body)
        except DecodingError:
            return ContractRevert(
                {"data": hex_data}, contract=contract, tx_hash=tx_hash, data=hex_data
            )
        facts = {
            i["name"]: _normalise(t, v)
            for i, t, v in zip(item["inputs"], types, values, strict=True)
        }
        cls = REVERT_CLASSES.get(item["name"], ContractRevert)
        return cls(facts, contract=contract, tx_hash=tx_hash, data=hex_data)
    facts: dict[str, Any]
    try:
        if selector == _ERROR_STRING:
            facts = {"reason": abi_decode(["string"], body)[0]}
        elif selector == _PANIC:
            facts = {"panic": abi_decode(["uint256"], body)[0]}
        else:
            facts = {"data": hex_data}
    except DecodingError:
        facts = {"data": hex_data}
    return ContractRevert(facts, contract=contract, tx_hash=tx_hash, data=hex_data)
