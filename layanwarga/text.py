"""Reading citizens' free text: does a message describe a problem, where is a place."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from lokal import wilayah

# Words that carry the request itself ("I want to report"), not what happened.
_FILLER = frozenset(
    """
    mau ingin pengen pgn kepingin hendak handak mo lapor melapor laporkan melaporkan pelaporan laporan
    ngadu mengadu pengaduan aduan adukan komplain complain keluhan mengeluh keluhkan min mimin admin
    pak bu bapak ibu kak mas mbak bang om tante dek bund tolong tlg mohon minta saya sy aku gue gw
    ane aye kami kamek ulun kulo abdi izin ijin permisi assalamualaikum halo hai hallo selamat pagi
    siang sore malam yg yang ada dong donk ya yah nih ni ini itu tentang soal masalah mengenai
    perihal terkait bikin buat membuat mengajukan ajukan ngajuin sampaikan menyampaikan kasih
    """.split()
)
_WORD = re.compile(r"[a-z0-9]+")


def content_words(text: str) -> list:
    return [w for w in _WORD.findall((text or "").lower()) if w not in _FILLER]


def describes_problem(text: str, minimum_words: int = 3) -> bool:
    """Whether a first message already says what happened, beyond "I want to report X".

    ``jln depan rmh sy rusak parah`` does; ``mau lapor jalan rusak`` does not, so the
    complaint form asks for the story instead of storing an empty description.
    """
    if not text or text.lstrip().startswith("/"):
        return False
    return len(content_words(text)) >= minimum_words


@dataclass(frozen=True)
class Place:
    """A location as typed, with what could be read from it."""

    text: str
    rt: Optional[str] = None
    rw: Optional[str] = None
    area: Optional[str] = None


def read_place(text: str) -> Place:
    """RT/RW and the kelurahan/desa (Kemendagri names) mentioned in a typed address."""
    parsed = wilayah.parse_alamat(text or "")
    area = None
    if parsed.kelurahan_desa is not None and parsed.confidence in ("high", "medium"):
        area = parsed.kelurahan_desa.name
    return Place(
        text=(text or "").strip(),
        rt=_strip_zeros(parsed.rt),
        rw=_strip_zeros(parsed.rw),
        area=area,
    )


def _strip_zeros(value: Optional[str]) -> Optional[str]:
    if not value:
        return None
    return value.lstrip("0") or "0"


def clip(text: str, limit: int) -> str:
    """Shorten for a one-line summary, at a word boundary."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return f"{cut}…"
