"""Deterministic, well-formed identifiers (FIGI with a valid check digit, CIK, split ids) from a ticker."""

from __future__ import annotations

import hashlib

_FIGI_ALPHABET = "BCDFGHJKLMNPQRSTVWXYZ0123456789"  # FIGIs use no vowels


def digest(*parts: object) -> bytes:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()


def unit(*parts: object) -> float:
    """A stable number in [0, 1) for these parts (same in every process, unlike hash())."""
    return int.from_bytes(digest(*parts)[:8], "big") / 2**64


def seed(*parts: object) -> int:
    return int.from_bytes(digest(*parts)[:8], "big")


def _figi_check_digit(body: str) -> str:
    total = 0
    for position, char in enumerate(body):
        value = int(char) if char.isdigit() else ord(char) - ord("A") + 10
        if position % 2 == 1:
            value *= 2
        total += sum(int(d) for d in str(value))
    return str((10 - total % 10) % 10)


def figi(*parts: object) -> str:
    raw = digest("figi", *parts)
    body = "BBG" + "".join(_FIGI_ALPHABET[b % len(_FIGI_ALPHABET)] for b in raw[:8])
    return body + _figi_check_digit(body)


def cik(*parts: object) -> str:
    return f"{1_000_000 + seed('cik', *parts) % 1_000_000:010d}"


def split_id(ticker: str, execution_date: str) -> str:
    return "E" + hashlib.sha256(f"split|{ticker}|{execution_date}".encode()).hexdigest()
