"""What a rejected letter request must correct, read from the clerk's reason.

"Foto KK buram, mohon kirim ulang yang jelas" is about the Kartu Keluarga photo only: a
resubmission keeps the name, NIK, address and the other photos and asks for that photo again.
"NIK tidak sesuai dengan KTP" is about the NIK. A reason that names nothing recognisable asks for
nothing in particular: the citizen then sees everything filled in and corrects what they choose.

Parts are the letter form's own (``pemohon``, ``nik``, ``alamat``, ``telepon``, ``keperluan``,
``usaha``, ``sejak``); documents are the positions of the letter's configured requirements,
recognised by the words that tell one requirement from the others (KTP, Kartu Keluarga / KK,
pengantar, tempat usaha).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import FrozenSet, List, Sequence, Tuple

from .first_message import tokens

# Words of a reason that name a part of the request (matched on whole normalised words).
PART_WORDS = {
    "nik": ("nik", "nomor induk kependudukan"),
    "pemohon": (
        "nama pemohon",
        "nama lengkap",
        "ejaan nama",
        "penulisan nama",
        "nama tidak sesuai",
        "nama salah",
    ),
    "alamat": ("alamat", "domisili tidak sesuai"),
    "telepon": ("nomor hp", "no hp", "nomor telepon", "telepon", "nomor wa", "tidak dapat dihubungi"),
    "keperluan": ("keperluan", "tujuan surat", "kegunaan"),
    "usaha": ("nama usaha", "jenis usaha", "bidang usaha", "alamat usaha", "usaha tidak", "data usaha"),
    "sejak": ("tinggal sejak", "lama tinggal", "sejak kapan"),
}
# Words that say a photo or document is the problem.
_DOCUMENT_PROBLEMS = (
    "foto",
    "gambar",
    "buram",
    "blur",
    "kabur",
    "jelas",
    "terbaca",
    "gelap",
    "terpotong",
    "silau",
    "miring",
    "kirim ulang",
    "lampir",
    "lampiran",
    "dokumen",
    "scan",
    "belum ada",
    "tidak ada",
    "tidak lengkap",
    "kedaluwarsa",
    "kadaluarsa",
    "berlaku",
    "tanda tangan",
    "ditandatangani",
    "stempel",
    "cap",
)
# Words of a requirement that do not tell it from another one.
_GENERIC = frozenset(
    {"foto", "surat", "pemohon", "dari", "dan", "atau", "asli", "fotokopi", "copy", "salinan", "rt", "rw"}
)


@dataclass(frozen=True)
class Corrections:
    """The parts and document positions a rejection asks to correct."""

    parts: FrozenSet[str] = frozenset()
    documents: Tuple[int, ...] = ()

    @property
    def known(self) -> bool:
        return bool(self.parts or self.documents)


def _normal(text: str) -> str:
    words: List[str] = []
    for token in tokens(text):
        if token.is_word or token.is_number:
            words += token.norm.split() if token.is_word else [token.raw]
    return f" {' '.join(words)} "


def _says(normal: str, phrase: str) -> bool:
    return f" {' '.join(_normal(phrase).split())} " in normal


def requirement_words(requirements: Sequence[str]) -> List[Tuple[FrozenSet[str], ...]]:
    """How each requirement is named in a reason: alternatives, each a set of words that must all
    appear ("Foto Kartu Keluarga (KK)": {kartu, keluarga} or {kk}; "Foto tempat usaha": {tempat,
    usaha}). Words every requirement shares are left out."""
    named: List[Tuple[FrozenSet[str], ...]] = []
    for requirement in requirements:
        inside = re.findall(r"\(([^)]+)\)", requirement)
        outside = re.sub(r"\([^)]*\)", " ", requirement)
        alternatives = [frozenset(_normal(outside).split()) - _GENERIC]
        alternatives += [frozenset(_normal(word).split()) - _GENERIC for word in inside]
        named.append(tuple(a for a in alternatives if a))
    return named


def corrections(reason: str, requirements: Sequence[str], parts: Sequence[str]) -> Corrections:
    """What ``reason`` asks to correct among this letter's ``parts`` and ``requirements``."""
    normal = _normal(reason or "")
    named = {part for part in parts if any(_says(normal, phrase) for phrase in PART_WORDS.get(part, ()))}
    if "usaha" in named:
        # "alamat usaha" is the business's address, not where the applicant lives.
        if not re.search(r"\balamat\b(?!\s+usaha)", normal):
            named.discard("alamat")
    documents: List[int] = []
    about_documents = any(_says(normal, word) for word in _DOCUMENT_PROBLEMS)
    said = set(normal.split())
    for index, alternatives in enumerate(requirement_words(requirements)):
        if any(words <= said for words in alternatives) and (about_documents or not named):
            documents.append(index)
    return Corrections(frozenset(named), tuple(documents))
