"""Open complaints of the same category near a new report's place, offered to follow instead of
filing the same problem again (FixMyStreet's "nearby reports", on WhatsApp).

Two ways to be near:

- With a pin: within the category's ``nearby_radius_m`` (instansi.yml) of it, great-circle
  distance. A bounding box on ``(category, latitude)`` (indexed) keeps the search small at
  100,000 open tickets.
- Without a pin: the same kelurahan and RT/RW, and a description that says the same thing:
  ``similarity`` of the normalised words (the project's normaliser, so ``jln``/``jalan`` and
  ``msjid``/``masjid`` agree) at least ``SIMILARITY_THRESHOLD``, chosen on the labelled pairs in
  tests/core/data/nearby_pairs.yml (BENCHMARKS.md, "Nearby reports").

What a citizen is shown of another's report follows ``public_tickets``: an anonymous or
confidential report shows only that it exists (category, state, age, distance), never its text.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import FrozenSet, List, Optional, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from nlu_components.text_normalizer import get_normalizer

from . import states
from .config import Institution
from .models import KIND_COMPLAINT, Ticket
from .public_tickets import public_text
from .text import content_words

MAX_OFFERED = 3
# Chosen on tests/core/data/nearby_pairs.yml by scripts/nearby_threshold.py (BENCHMARKS.md).
SIMILARITY_THRESHOLD = 0.30
# Without a pin at most this many open reports of the category in the same RT/RW are compared
# (a neighbourhood rarely has as many; the cap keeps the search bounded).
TEXT_CANDIDATES = 1000
EARTH_RADIUS_M = 6_371_000.0
METRES_PER_DEGREE = 111_320.0

# Words that say nothing about which problem it is: function words and time phrases.
_STOPWORDS = frozenset(
    """
    di ke dari dan atau yang sudah belum sejak sampai hingga dengan untuk pada ada tidak tak
    hari minggu bulan tahun kemarin tadi malam pagi siang sore lama sekali sangat banget juga
    masih lagi sering kali karena jadi akan bisa dapat oleh para nya tersebut sini situ sana
    """.split()
)


@dataclass(frozen=True)
class Place:
    """Where a new report is: a pin, or what was read from the typed address."""

    latitude: Optional[float] = None
    longitude: Optional[float] = None
    rt: Optional[str] = None
    rw: Optional[str] = None
    area: Optional[str] = None

    @property
    def has_pin(self) -> bool:
        return self.latitude is not None and self.longitude is not None


@dataclass(frozen=True)
class Candidate:
    """An open report a citizen may follow, as another citizen may see it."""

    number: str
    state_label: str
    age_days: int
    private: bool  # anonymous or confidential: no text shown
    description: Optional[str]
    distance_m: Optional[int]  # None without a pin
    similarity: Optional[float]  # None with a pin


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def key_words(text: str) -> FrozenSet[str]:
    """The words of ``text`` that tell the problem and place apart: normalised and stemmed
    (``get_normalizer().lemmas``), without request filler, function words and numbers."""
    words = content_words(text)
    return frozenset(
        w for w in get_normalizer().lemmas(words) if w not in _STOPWORDS and not w.isdigit() and len(w) > 1
    )


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' ``key_words`` (0: nothing shared, 1: the same)."""
    left, right = key_words(a), key_words(b)
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


def _same_label(a: Optional[str], b: Optional[str]) -> bool:
    return (a or "").strip().casefold() == (b or "").strip().casefold()


def find(
    session: Session,
    inst: Institution,
    category: str,
    place: Place,
    description: str = "",
    *,
    exclude_citizen_id: Optional[int] = None,
    now: Optional[dt.datetime] = None,
) -> List[Candidate]:
    """At most ``MAX_OFFERED`` open complaints of ``category`` near ``place``: nearest first with
    a pin, most similar first without. Empty when the category is never searched (radius 0) or
    the place says too little (no pin, no RT/RW)."""
    config = inst.complaint_categories.get(category)
    if config is None or config.nearby_radius_m <= 0:
        return []
    query = select(
        Ticket.number,
        Ticket.state,
        Ticket.created_at,
        Ticket.is_anonymous,
        Ticket.is_confidential,
        Ticket.description,
        Ticket.latitude,
        Ticket.longitude,
        Ticket.area,
        Ticket.citizen_id,
    ).where(
        Ticket.kind == KIND_COMPLAINT,
        Ticket.category == category,
        Ticket.state.in_(sorted(states.OPEN_STATES[KIND_COMPLAINT])),
    )
    if place.has_pin:
        assert place.latitude is not None and place.longitude is not None
        radius = float(config.nearby_radius_m)
        dlat = radius / METRES_PER_DEGREE
        dlon = radius / (METRES_PER_DEGREE * max(0.01, math.cos(math.radians(place.latitude))))
        query = query.where(
            Ticket.latitude.between(place.latitude - dlat, place.latitude + dlat),
            Ticket.longitude.between(place.longitude - dlon, place.longitude + dlon),
        )
    elif place.rt and place.rw:
        # No ORDER BY: with one, SQLite walks (kind, created_at) instead of (category, rw, rt).
        query = query.where(Ticket.rt == place.rt, Ticket.rw == place.rw).limit(TEXT_CANDIDATES)
    else:
        return []
    moment = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).replace(tzinfo=None)
    scored = []
    for row in session.execute(query):
        if exclude_citizen_id is not None and row.citizen_id == exclude_citizen_id:
            continue
        metres: Optional[float] = None
        score: Optional[float] = None
        if place.has_pin:
            assert place.latitude is not None and place.longitude is not None
            metres = distance_m(place.latitude, place.longitude, row.latitude, row.longitude)
            if metres > config.nearby_radius_m:
                continue
            rank = metres
        else:
            if place.area and row.area and not _same_label(place.area, row.area):
                continue
            score = similarity(description, row.description or "")
            if score < SIMILARITY_THRESHOLD:
                continue
            rank = -score
        private = bool(row.is_anonymous or row.is_confidential)
        scored.append(
            (
                rank,
                Candidate(
                    number=row.number,
                    state_label=states.LABELS.get(row.state, row.state),
                    age_days=max(0, (moment - row.created_at).days),
                    private=private,
                    description=None if private else public_text(row.description),
                    distance_m=None if metres is None else int(round(metres)),
                    similarity=score,
                ),
            )
        )
    scored.sort(key=lambda pair: (pair[0], pair[1].number))
    return [candidate for _, candidate in scored[:MAX_OFFERED]]


# -- what the citizen reads ----------------------------------------------------------------------
PRIVATE_TEXT = "isi dirahasiakan"
FOLLOW_SECTION = "Sama, ikuti laporan ini"
NEW_REPORT = "Bukan, buat laporan baru"
NEW_REPORT_ID = "baru"
FOLLOW_PREFIX = "ikuti:"


def age_text(days: int) -> str:
    return "hari ini" if days == 0 else f"{days} hari lalu"


def row_description(candidate: Candidate) -> str:
    """One list row's description: distance, age, state, then what the report says; a private
    report says so instead. ``whatsapp.messages`` clips it to the row limit."""
    parts = []
    if candidate.distance_m is not None:
        parts.append(f"±{candidate.distance_m} m")
    parts.append(age_text(candidate.age_days))
    if candidate.private:
        # Before the state, so a clipped row still says why there is no text.
        parts += [PRIVATE_TEXT, candidate.state_label]
    else:
        parts += [candidate.state_label, " ".join((candidate.description or "").split())]
    return " · ".join(p for p in parts if p)


def buttons(candidates: Sequence[Candidate]) -> List[dict]:
    """Rasa buttons for the offer: one row per report, then "new report". With descriptions
    and sections they always go out as one WhatsApp list (``whatsapp.messages.button_messages``)."""
    rows = [
        {
            "title": candidate.number,
            "payload": f'/affirm{{"pilihan": "{FOLLOW_PREFIX}{candidate.number}"}}',
            "description": row_description(candidate),
            "section": FOLLOW_SECTION,
        }
        for candidate in candidates[:MAX_OFFERED]
    ]
    rows.append(
        {
            "title": NEW_REPORT,
            "payload": f'/deny{{"pilihan": "{NEW_REPORT_ID}"}}',
            "description": "Masalahnya berbeda dari laporan di atas",
            "section": "Bukan",
        }
    )
    return rows
