"""Personal data in a post: unmasked ID numbers, bank cards and mobile numbers.

Government accounts fail inspection for leaked personal data.  Long digit runs
are common in official text (document numbers, licence numbers, QQ groups), so an
unlabelled ID number is an error only with a valid check digit (a warning when just its
region code and birth date hold), and a card number only when it passes Luhn; after a
label (身份证号, 证件号码, 社保卡号, 医保卡号 …) any such number is an error; hotlines (12393, 12345)
and landlines (0730-5612393) never match.
Numbers are shown masked in every message, so `publish check` output and logs
never repeat them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    start: int
    end: int
    severity: str
    message: str


# --- numbers ------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# Each starts with its first digit and looks behind it from there ((?<!x[1-9]) after [1-9] is
# (?<!x) before it): a pattern that opens with a look-behind is tried at every character of the
# text, one that opens with a character class only where that character is.
_ID = re.compile(r"[1-9](?<![0-9A-Za-z][1-9])\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
                 r"(?![0-9A-Za-z])")
_CARD = re.compile(r"[3-6](?<![\d-][3-6])\d{3}(?:[ -]?\d{4}){3}(?:[ -]?\d{1,3})?(?![\d-])")
_MOBILE = re.compile(r"1(?<![\d-]1)[3-9]\d(?:[ -]?\d{4}){2}(?![\d-])")


# A label says the number is someone's ID or insurance card, whatever its check digit:
# a typo'd ID is still someone's ID.
_LABELLED = re.compile(r"(公民身份号码|身份证号码|身份证号|身份证|证件号码|证件号|社会保障卡号|社保卡号|医保卡号)"
                       r"[^\d\n。；;，,*＊]{0,6}?(?<![0-9A-Za-z])(\d{15,18}[\dXx]?)(?![0-9A-Za-z*＊])")
_REGIONS = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
            50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}


def id_structure_ok(number: str) -> bool:
    """A province code and a real birth date where GB 11643 puts them (the check digit aside)."""
    from datetime import date

    if int(number[:2]) not in _REGIONS:
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year <= date.today().year


def _masked_id(number: str) -> str:
    return f"{number[:6]}{'*' * max(len(number) - 10, 4)}{number[-4:]}"


def id_checksum_ok(number: str) -> bool:
    """GB 11643: the 18th character checks the first 17 (ISO 7064 MOD 11-2)."""
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == number[17].upper()


@dataclass(frozen=True)
class _Span:
    """The number part of a labelled match, shaped like a match for ``add`` and ``free``."""

    begin: int
    stop: int
    text: str

    def start(self) -> int:
        return self.begin

    def end(self) -> int:
        return self.stop

    def group(self) -> str:
        return self.text


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

    def add(match, message: str, severity: str = ERROR) -> None:
        taken.append((match.start(), match.end()))
        found.append(Finding(match.start(), match.end(), severity, message))

    def free(match) -> bool:
        digits = re.sub(r"\D", "", match.group())
        return digits not in allowed and not any(s < match.end() and match.start() < e for s, e in taken)

    for match in _LABELLED.finditer(text):
        label, number = match.group(1), match.group(2)
        span = _Span(match.start(2), match.end(2), number)
        if free(span):
            typo = "（校验位对不上，可能抄错了，但仍是某人的号码）" if len(number) == 18 and not id_checksum_ok(number) else ""
            add(span, f"个人信息：“{label}”后面是未打码的号码 {_masked_id(number)}{typo}，"
                      "公开发布会泄露个人信息，请打码（如 430621********1234）或删除")
    for match in _ID.finditer(text):
        number = match.group()
        if not free(match):
            continue
        if id_checksum_ok(number):
            add(match, f"个人信息：未打码的身份证号 {_masked_id(number)}，"
                       "公开发布会泄露个人信息，请打码（如 430621********1234）或删除")
        elif id_structure_ok(number):
            add(match, f"个人信息：{_masked_id(number)} 像是身份证号（地区码和出生日期都成立，校验位对不上，可能抄错了），"
                       "如是证件号请打码（如 430621********1234）或删除；不是的话可忽略", WARNING)
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
