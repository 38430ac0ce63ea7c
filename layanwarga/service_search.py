"""Finding the service a citizen means in the published catalogue, from free text.

1. Both sides go through the project's Indonesian normaliser (``nlu_components.text_normalizer``:
   slang, abbreviations such as ``kk`` -> ``kartu keluarga``, regional spellings, stemming), so a
   service's names and a citizen's question meet in the same words.
2. Each service has several *names*: its name, the other names citizens use (aliases: ``IMB``,
   ``akte lahir``, ``kartu kuning``) and each name's words written together (``e ktp`` ->
   ``ektp``). Words that only say what kind of question it is (``syarat``, ``berapa``, ``surat``)
   are dropped on both sides.
3. A question word matches a name word exactly, or with one typing error (insert, delete, change
   or swap of a letter; words of four letters or more), found through a table of one-letter
   deletions so a lookup costs the same at 2,000 services as at 40.
4. Score of a service: how much of its best-covered name the question contains (each word
   weighted by how rare it is in the catalogue), plus how much of the question the service
   explains (its names, office and purpose). The score is the confidence the caller decides on:
   ``ONE`` clear match, ``SEVERAL`` to choose from, or ``NONE``.

In a city, a search may be limited to some units (``units``: a citizen's kelurahan and the units
above it, or the units a public page is filtered on): services of other units are skipped before
scoring, at the same cost; services without a unit (the city's OPD) are kept unless ``unplaced``
is off.

The index is rebuilt whenever the catalogue's stamp changes (``layanwarga.services``), so an
office's edit is answered on the next question, in every process, without a restart.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from dataclasses import dataclass
from typing import AbstractSet, Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple

from nlu_components.text_normalizer import IndonesianNormalizer, get_normalizer

from . import db
from .config import get_institution
from .services import PublishedService, catalogue_stamp, published_services, unit_titles

logger = logging.getLogger(__name__)

ONE = "one"
SEVERAL = "several"
NONE = "none"

# Decision thresholds, tuned on tests/fixtures/service_questions.yml (BENCHMARKS.md).
CLEAR_SCORE = 0.7
CLEAR_MARGIN = 0.12
CANDIDATE_SCORE = 0.4
CANDIDATE_WINDOW = 0.25
MAX_CANDIDATES = 10

NAME_WEIGHT = 0.7
EXPLAINED_WEIGHT = 0.3
# How much a word matched in the purpose (not a name) counts towards explaining the question.
PURPOSE_SHARE = 0.5
TYPO_SIMILARITY = 0.8
# Typos are read in words of five letters or more; below seven, only when the first letter is
# right (``bank`` is not ``anak``).
MIN_TYPO_LENGTH = 5
LOOSE_TYPO_LENGTH = 7
# Weight of a question word the catalogue does not know.
UNKNOWN_WEIGHT = 1.0
# A name of several words is also matched written together (``e ktp`` -> ``ektp``) up to this length.
JOINED_NAME_MAX = 12

# Normalised and stemmed words that say what kind of question it is, not which service.
GENERIC_WORDS: FrozenSet[str] = frozenset(
    """
    syarat cara bagaimana gimana apa saja berapa biaya lama buat bikin urus mau ingin tanya mana di
    ke dari yang untuk dan atau dong min pak bu kak ya tolong info informasi proses prosedur ada
    bisa harus perlu kalau saya aku sudah layanan dengan itu ini nya kah lah sih deh nih
    mohon minta bantu gak tidak bawa apa-apa kapan jadi selesai tempat kantor alamat langkah
    jam hari dimana gmn brp gimna caranya mengurus pengurusan
    """.split()
)

_TOKEN = re.compile(r"[0-9a-z\u00e0-\u024f]+")
# A short code written with its number apart ("AK-1", "ak 1", "AK/1") is one word: "ak1".
_SPLIT_CODE = re.compile(r"\b([a-z]{1,4})[\s/-]+(\d{1,2})\b")


@dataclass(frozen=True)
class Match:
    service: PublishedService
    score: float


@dataclass(frozen=True)
class SearchResult:
    """Ranked matches, best first, and what the caller should do with them."""

    query: str
    outcome: str
    matches: Tuple[Match, ...]

    @property
    def best(self) -> Optional[Match]:
        return self.matches[0] if self.matches else None

    @property
    def candidates(self) -> Tuple[Match, ...]:
        """The matches to offer: the clear one, the several close ones, or none."""
        if self.outcome == ONE:
            return self.matches[:1]
        if self.outcome == NONE:
            return ()
        top = self.matches[0].score
        floor = max(CANDIDATE_SCORE, top - CANDIDATE_WINDOW)
        return tuple(m for m in self.matches[:MAX_CANDIDATES] if m.score >= floor)


def _deletes(word: str) -> Set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _typo_table(words: Iterable[Tuple[str, str]]) -> Dict[str, Set[Tuple[str, str]]]:
    """Deletion key -> (catalogue word, its stem), for words long enough to read typos in."""
    table: Dict[str, Set[Tuple[str, str]]] = {}
    for word, target in words:
        if len(word) >= MIN_TYPO_LENGTH:
            for key in _deletes(word) | {word}:
                table.setdefault(key, set()).add((word, target))
    return table


class ServiceIndex:
    """An in-memory index of published services; immutable once built."""

    def __init__(
        self, services: Sequence[PublishedService], normalizer: Optional[IndonesianNormalizer] = None
    ) -> None:
        self._normalizer = normalizer or get_normalizer()
        self.services = tuple(services)
        self._by_code = {service.code: service for service in self.services}
        self._by_letter: Dict[str, List[PublishedService]] = {}
        for service in self.services:
            if service.letter_code:
                self._by_letter.setdefault(service.letter_code, []).append(service)
        self._units = tuple(service.unit_code for service in self.services)
        # Per service: its names as stem tuples, and the other stems that explain a question.
        self._names: List[List[Tuple[str, ...]]] = []
        self._context: List[Set[str]] = []
        self._postings: Dict[str, Set[int]] = {}
        self._context_postings: Dict[str, Set[int]] = {}
        surfaces: Set[Tuple[str, str]] = set()
        for index, service in enumerate(self.services):
            names: List[Tuple[str, ...]] = []
            for text in (service.content.name, *service.content.aliases, service.code.replace("-", " ")):
                words = self.words(text)
                surfaces.update(words)
                stems = tuple(dict.fromkeys(stem for _, stem in words))
                if stems and stems not in names:
                    names.append(stems)
                if (
                    len(stems) > 1
                    and len("".join(stems)) <= JOINED_NAME_MAX
                    and ("".join(stems),) not in names
                ):
                    names.append(("".join(stems),))
            self._names.append(names)
            context = self.words(f"{service.agency_short_name} {service.unit_name} {service.content.purpose}")
            surfaces.update(context)
            self._context.append({stem for _, stem in context})
            for stem in self._context[-1]:
                self._context_postings.setdefault(stem, set()).add(index)
            for stems in names:
                for stem in stems:
                    self._postings.setdefault(stem, set()).add(index)
        count = max(len(self.services), 1)
        self._idf: Dict[str, float] = {
            stem: math.log(1 + count / len(docs)) for stem, docs in self._postings.items()
        }
        # Stem -> (service, name number) of every name holding it, and each name's total weight.
        self._name_postings: Dict[str, List[Tuple[int, int]]] = {}
        self._name_weight: Dict[Tuple[int, int], float] = {}
        for index, names in enumerate(self._names):
            for number, stems in enumerate(names):
                self._name_weight[(index, number)] = sum(self._idf[stem] for stem in stems)
                for stem in stems:
                    self._name_postings.setdefault(stem, []).append((index, number))
        self._vocabulary: FrozenSet[str] = frozenset(set(self._postings).union(*self._context))
        self._stem_typos = _typo_table((stem, stem) for stem in self._vocabulary)
        self._surface_typos = _typo_table(surfaces)

    def get(self, code: str) -> Optional[PublishedService]:
        """The published service with this code."""
        return self._by_code.get(code)

    def for_letter(self, letter: str, units: Optional[AbstractSet[str]] = None) -> Optional[PublishedService]:
        """The published service that describes letter type ``letter``: the one of the nearest of
        ``units`` (a citizen's kelurahan before its kecamatan), else the one without a unit.
        Another unit's description of the letter is never the answer."""
        described = self._by_letter.get(letter, ())
        placed = [s for s in described if units is not None and s.unit_code in units]
        if placed:
            return max(placed, key=lambda s: len(s.unit_code or ""))  # a deeper unit has a longer code
        return next((s for s in described if s.unit_code is None), None)

    def words(self, text: str) -> List[Tuple[str, str]]:
        """(surface, stem) of each word of ``text`` that can name a service: the normaliser's
        surface form (slang and abbreviations expanded) and its stem."""
        found: List[Tuple[str, str]] = []
        for token in _TOKEN.findall(_SPLIT_CODE.sub(r"\1\2", text.lower())):
            stems = self._normalizer.lemma(token).split()
            surfaces = self._normalizer.normalize(token).split()
            if len(surfaces) != len(stems):
                surfaces = stems
            # A bare number names nothing ("AK-1" reads as "aku 1", and "aku" is a filler word).
            found.extend(
                (surface, stem)
                for surface, stem in zip(surfaces, stems)
                if stem not in GENERIC_WORDS and not stem.isdigit()
            )
        return found

    def terms(self, text: str) -> List[str]:
        """The stems of the words of ``text`` that can name a service."""
        return [stem for _, stem in self.words(text)]

    def _similar(self, surface: str, stem: str) -> Dict[str, float]:
        """Catalogue stems this question word may be: its own stem, or one typing error away from
        a catalogue word (compared as stems, then as surface forms: ``kelahran`` is one letter
        from ``kelahiran``, whose stem is ``lahir``)."""
        if stem in self._vocabulary:
            return {stem: 1.0}
        found: Dict[str, float] = {}
        for word, table in ((stem, self._stem_typos), (surface, self._surface_typos)):
            if len(word) < MIN_TYPO_LENGTH:
                continue
            for key in _deletes(word) | {word}:
                for candidate, target in table.get(key, ()):
                    if candidate[0] == word[0] or len(word) >= LOOSE_TYPO_LENGTH:
                        found.setdefault(target, TYPO_SIMILARITY)
        return found

    def _query_words(self, text: str) -> Dict[str, Dict[str, float]]:
        """Each word of the question (and each pair written together) with the catalogue stems it
        may be; a word matching nothing maps to nothing (it still counts as unexplained)."""
        words = list(dict.fromkeys(self.words(text)))
        result: Dict[str, Dict[str, float]] = {}
        for surface, stem in words:
            result[stem] = self._similar(surface, stem)
        for (surface, stem), (next_surface, next_stem) in zip(words, words[1:]):
            joined = self._similar(surface + next_surface, stem + next_stem)
            if joined:
                result[stem + next_stem] = joined
        return result

    def search(
        self,
        text: str,
        limit: int = MAX_CANDIDATES,
        units: Optional[AbstractSet[str]] = None,
        unplaced: bool = True,
    ) -> SearchResult:
        """Ranked matches for the question; every sum runs over the postings of the question's
        words only, so the cost follows the words asked, not the catalogue's size. With
        ``units``, only services of those units, and (``unplaced``) those without a unit."""
        query = self._query_words(text)
        # Catalogue stem -> best similarity with any question word.
        matched: Dict[str, float] = {}
        for similar in query.values():
            for stem, similarity in similar.items():
                matched[stem] = max(matched.get(stem, 0.0), similarity)
        # How much of each name the question holds (each word weighted by its rarity).
        held: Dict[Tuple[int, int], float] = {}
        for stem, similarity in matched.items():
            weight = self._idf.get(stem, 0.0) * similarity
            for key in self._name_postings.get(stem, ()):
                held[key] = held.get(key, 0.0) + weight
        coverage: Dict[int, float] = {}
        for key, mass in held.items():
            if units is not None and not self._serves(key[0], units, unplaced):
                continue
            share = mass / self._name_weight[key]
            if share > coverage.get(key[0], 0.0):
                coverage[key[0]] = share
        explained = self._explained(query)
        scored = [
            Match(
                self.services[index],
                round(NAME_WEIGHT * share + EXPLAINED_WEIGHT * explained.get(index, 0.0), 4),
            )
            for index, share in coverage.items()
        ]
        scored.sort(key=lambda m: (-m.score, m.service.content.name))
        matches = tuple(scored[:limit])
        return SearchResult(text, _outcome(matches), matches)

    def _serves(self, index: int, units: AbstractSet[str], unplaced: bool) -> bool:
        unit = self._units[index]
        return unplaced if unit is None else unit in units

    def _explained(self, query: Dict[str, Dict[str, float]]) -> Dict[int, float]:
        """Per service, the share of the question's words its names or context hold (a word held
        only by the purpose or office counts ``PURPOSE_SHARE``)."""
        total = 0.0
        explained: Dict[int, float] = {}
        for similar in query.values():
            weight = max((self._idf.get(stem, UNKNOWN_WEIGHT) for stem in similar), default=UNKNOWN_WEIGHT)
            total += weight
            best: Dict[int, float] = {}
            for stem, similarity in similar.items():
                for index in self._context_postings.get(stem, ()):
                    best[index] = max(best.get(index, 0.0), similarity * PURPOSE_SHARE)
                for index in self._postings.get(stem, ()):
                    best[index] = max(best.get(index, 0.0), similarity)
            for index, share in best.items():
                explained[index] = explained.get(index, 0.0) + weight * share
        return {index: value / total for index, value in explained.items()} if total else {}


def _outcome(matches: Sequence[Match]) -> str:
    if not matches or matches[0].score < CANDIDATE_SCORE:
        return NONE
    runner_up = matches[1].score if len(matches) > 1 else 0.0
    if matches[0].score >= CLEAR_SCORE and matches[0].score - runner_up >= CLEAR_MARGIN:
        return ONE
    return SEVERAL


def service_instead_of_letter(
    outcome: str, service: Optional[PublishedService], letter_code: str, named: Optional[str]
) -> Optional[PublishedService]:
    """The service a message read as a request for the letter ``letter_code`` really asks about:
    the catalogue's one clear match for its text (``outcome``, ``service``), when that is another
    service and the citizen named no letter (``named``: the letter NLU read in the text, as typed
    or as its code). "izin lingkungan usaha" reads as a business letter (SKU) to NLU, but it asks
    about the environmental approval; "mau bikin sku" names the letter and starts its request."""
    if outcome != ONE or service is None or named or service.letter_code == letter_code:
        return None
    return service


# ------------------------------------------------------------------------- the published index
_lock = threading.Lock()
_indexes: Dict[str, Tuple[Tuple[int, int], ServiceIndex]] = {}


def published_index(url: Optional[str] = None) -> ServiceIndex:
    """The index of what is published now: one small query per call for the catalogue's stamp,
    the index rebuilt only when an office changed something."""
    url = url or db.database_url()
    with db.session_scope(url) as session:
        stamp = catalogue_stamp(session)
        cached = _indexes.get(url)
        if cached and cached[0] == stamp:
            return cached[1]
        services = published_services(session, unit_names=unit_titles(get_institution().units))
    index = ServiceIndex(services)
    with _lock:
        _indexes[url] = (stamp, index)
    logger.info("service catalogue index built: %d published services (stamp %s)", len(services), stamp)
    return index


def search_published(text: str, url: Optional[str] = None) -> SearchResult:
    return published_index(url).search(text)


def words_of(texts: Iterable[str]) -> Set[str]:
    """Every catalogue word of ``texts`` (for tests that keep held-out questions apart)."""
    index = ServiceIndex(())
    return {word for text in texts for word in index.terms(text)}
