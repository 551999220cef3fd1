"""Personal data in a post: unmasked ID numbers, bank cards and mobile numbers.

Government accounts fail inspection for leaked personal data.  Long digit runs
are common in official text (document numbers, licence numbers, QQ groups), so an
ID number counts only with a valid check digit and a card number only when it
passes Luhn; hotlines (12393, 12345) and landlines (0730-5612393) never match.
Numbers are shown masked in every message, so `publish check` output and logs
never repeat them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ERROR = "error"


@dataclass(frozen=True)
class Finding:
    start: int
    end: int
    severity: str
    message: str


# --- numbers ------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![\d-])[3-6]\d{3}(?:[ -]?\d{4}){3}(?:[ -]?\d{1,3})?(?![\d-])")
_MOBILE = re.compile(r"(?<![\d-])1[3-9]\d(?:[ -]?\d{4}){2}(?![\d-])")


def id_checksum_ok(number: str) -> bool:
    """GB 11643: the 18th character checks the first 17 (ISO 7064 MOD 11-2)."""
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == number[17].upper()


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def private_numbers(text: str, allowed: frozenset[str] = frozenset()) -> list[Finding]:
    """Unmasked ID numbers, bank cards and mobile numbers; hotlines and landlines are not."""
    found: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def add(match: re.Match, message: str) -> None:
        taken.append((match.start(), match.end()))
        found.append(Finding(match.start(), match.end(), ERROR, message))

    def free(match: re.Match) -> bool:
        digits = re.sub(r"\D", "", match.group())
        return digits not in allowed and not any(s < match.end() and match.start() < e for s, e in taken)

    for match in _ID.finditer(text):
        number = match.group()
        if id_checksum_ok(number) and free(match):
            add(match, f"个人信息：未打码的身份证号 {number[:6]}********{number[-4:]}，"
                       "公开发布会泄露个人信息，请打码（如 430621********1234）或删除")
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 16 <= len(digits) <= 19 and luhn_ok(digits) and len(set(digits)) > 1 and free(match):
            add(match, f"个人信息：未打码的银行卡号 {digits[:4]}********{digits[-4:]}，请打码或删除")
    for match in _MOBILE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if free(match):
            add(match, f"个人信息：未打码的手机号 {digits[:3]}****{digits[-4:]}，"
                       "请打码（如 138****1234）或删除；有意公开的号码请写进 [checks].allowed_numbers")
    return found
