"""Which unit a typed address names: kelurahan and kecamatan names, and the well-known places a
city configures per unit, in free Indonesian text, with typos and regional spellings.

"kel. lengkai", "kelurahan langkai", "jl garuda 5 rt 3 langkai", "pahandut sebrang" all name
Kelurahan Langkai or Pahandut Seberang. Only the deployment's own tree is searched (not the whole
country, as ``lokal``'s address parser does), so a near miss is a typo, not another province's
village. Steps for one message:

1. **Words.** The text is cut into clauses at commas, semicolons, brackets and line breaks. Each
   word is read as an address word first: ``kel``/``kelurahan``/``desa``/``ds`` mark a kelurahan
   name, ``kec``/``kecamatan`` a kecamatan, ``kota``/``kab`` a city; ``jl``/``jalan``/``gg``/
   ``gang`` a street name; ``rt``, ``rw``, ``no``, ``km``, ``blok`` and numbers end a name.
   Place-name abbreviations are spelt out (``sei`` → sungai, ``tjg`` → tanjung, ``bkt`` → bukit);
   other words go through the project's Indonesian normaliser (``sebrang`` → seberang).
2. **Runs.** Every run of up to five consecutive words of a clause is compared with every name
   (the units' names as configured and in the region data, the names of the city and the regions
   above it, the configured places), spaces ignored (``palangkaraya`` = ``palangka raya``), with
   rapidfuzz's normalised Indel similarity (0-100). A run right after a street marker is a street
   name and skipped ("jl. menteng"); a run right after a level marker matches only units of that
   level, with a lower bar.
3. **Accepted runs** score at least ``ACCEPT`` (``ACCEPT_MARKED`` after a marker, or when the whole
   message answers "which kelurahan?") and do not overlap: the better, then the longer, wins
   ("pahandut seberang" beats "pahandut"; "palangka raya", the city, beats kelurahan Palangka).
4. **The answer** is the candidate with the most support: its score, plus ``CONTEXT_BONUS`` for
   each unit above it that another run names ("kel. langkai kec. pahandut", "tulungrejo,
   donomulyo" where two kecamatan have a Tulungrejo); on equal support the deeper unit (a name
   shared by a kecamatan and its own kelurahan reads as the kelurahan unless ``kec.`` precedes
   it). Another candidate neither above nor below it within ``AMBIGUOUS_GAP`` makes the text
   ambiguous: no unit, up to three suggestions.
5. **Nothing accepted**: no unit, up to three suggestions among the closest names (at least
   ``SUGGEST_MIN``), for asking again.

Exact names are accepted even where they are everyday words; a fuzzy match needs four letters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Set, Tuple

import numpy as np
from lokal import wilayah
from rapidfuzz import fuzz, process

from nlu_components.text_normalizer import get_normalizer

from .units import Unit, UnitTree

ACCEPT = 85.0
ACCEPT_MARKED = 80.0
SUGGEST_MIN = 70.0
CONTEXT_BONUS = 10.0
AMBIGUOUS_GAP = 5.0
MAX_SUGGESTIONS = 3
_MIN_FUZZY_LETTERS = 4
_MAX_RUN = 5

LEVEL_MARKERS: Dict[str, int] = {
    **dict.fromkeys(("kel", "kelurahan", "kalurahan", "desa", "ds"), 4),
    **dict.fromkeys(("kec", "kecamatan", "kcmtn", "kcm"), 3),
    **dict.fromkeys(("kota", "kab", "kabupaten", "kotamadya", "kodya", "kotamadia"), 2),
}
_MARKER_SPELLINGS = {"kelurahan": 4, "kecamatan": 3, "kabupaten": 2}
STREET_MARKERS = frozenset(("jalan", "jl", "jln", "gang", "gg", "lorong", "lrg"))
NAME_ENDS = frozenset(
    ("rt", "rw", "no", "nomor", "nmr", "km", "blok", "kav", "kavling", "kode", "pos", "kodepos")
)
ABBREVIATIONS = {
    "sei": "sungai",
    "sg": "sungai",
    "sui": "sungai",
    "sungei": "sungai",
    "tjg": "tanjung",
    "tj": "tanjung",
    "tg": "tanjung",
    "bkt": "bukit",
    "kp": "kampung",
    "kpg": "kampung",
    "spg": "simpang",
}
# Kinds of token a name can contain: level words too ("Kota Baru" is a kelurahan in some cities).
_IN_NAMES = frozenset(("word", "level"))
_CLAUSE = re.compile(r"[^,;\n\r()\[\]|]+")
_WORDS = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class AddressMatch:
    """What a typed address says about the unit.

    ``unit``: the unit it names, None when unknown or ambiguous. ``score`` (0-100): how closely
    the best name matched. ``matched``: the citizen's words that named it. ``suggestions``: up to
    three units to offer when ``unit`` is None (the tied candidates when ``ambiguous``, else the
    closest names).
    """

    unit: Optional[Unit]
    score: float
    matched: str = ""
    ambiguous: bool = False
    suggestions: Tuple[Unit, ...] = ()


@dataclass(frozen=True)
class _Token:
    word: str
    start: int
    end: int
    kind: str  # "word", "level", "street" or "end"
    level: int = 0


@dataclass(frozen=True)
class _Name:
    key: str  # words joined without spaces
    words: int
    code: Optional[str]  # None: a region above the tree (the province), matched only to be consumed
    level: int


@dataclass(frozen=True)
class _Run:
    first: int  # token indexes, inclusive
    last: int
    key: str
    marker: int  # level of the marker right before the run, 0 when none


@dataclass
class _Candidate:
    code: str
    score: float
    run: int
    support: float = 0.0


def _marker_level(word: str) -> int:
    if word in LEVEL_MARKERS:
        return LEVEL_MARKERS[word]
    if len(word) >= 7:
        for spelling, level in _MARKER_SPELLINGS.items():
            if fuzz.ratio(word, spelling) >= 85:  # "kelurhan", "kecamatn"
                return level
    return 0


@lru_cache(maxsize=50_000)
def _classify(low: str) -> Tuple[Tuple[str, str, int], ...]:
    """(word, kind, level) for each word a lower-case word of the text stands for."""
    if low.isdigit() or low in NAME_ENDS:
        return ((low, "end", 0),)
    level = _marker_level(low)
    if level:
        return ((low, "level", level),)
    if low in STREET_MARKERS:
        return ((low, "street", 0),)
    if low in ABBREVIATIONS:
        return ((ABBREVIATIONS[low], "word", 0),)
    read = []
    for word in get_normalizer().normalize(low).split():
        if word in LEVEL_MARKERS:
            read.append((word, "level", LEVEL_MARKERS[word]))
        elif word in STREET_MARKERS:
            read.append((word, "street", 0))
        elif word in NAME_ENDS:
            read.append((word, "end", 0))
        else:
            read.append((word, "word", 0))
    return tuple(read)


def _read_word(low: str, start: int, end: int) -> List[_Token]:
    return [_Token(word, start, end, kind, level) for word, kind, level in _classify(low)]


def _clauses(text: str) -> List[List[_Token]]:
    clauses = []
    for part in _CLAUSE.finditer(text):
        tokens: List[_Token] = []
        for match in _WORDS.finditer(part.group(0)):
            start = part.start() + match.start()
            tokens.extend(_read_word(match.group(0).lower(), start, start + len(match.group(0))))
        if tokens:
            clauses.append(tokens)
    return clauses


def _name_words(name: str, level: int) -> Tuple[str, ...]:
    """The words of a configured or official name as a citizen's words are read, without a
    leading word for the unit's own kind ("Kota Palangkaraya", "Kelurahan Langkai"; but
    Kelurahan "Kota Baru" keeps its "kota")."""
    words = [token.word for clause in _clauses(name) for token in clause]
    if len(words) > 1 and LEVEL_MARKERS.get(words[0]) == level:
        words = words[1:]
    return tuple(words)


class AddressMatcher:
    """Finds units in typed addresses; build once per tree (``matcher_for``)."""

    def __init__(self, tree: UnitTree) -> None:
        self.tree = tree
        names: Dict[Tuple[str, Optional[str]], _Name] = {}

        def add(text: str, code: Optional[str], level: int) -> None:
            words = _name_words(text, level)
            if words:
                key = "".join(words)
                names.setdefault((key, code), _Name(key, len(words), code, level))

        for unit in tree:
            add(unit.name, unit.code, unit.level)
            region = wilayah.get_wilayah(unit.code) if unit.code else None
            if region is not None:
                add(region.name, unit.code, unit.level)
            for place in unit.places:
                add(place, unit.code, unit.level)
        root_region = wilayah.get_wilayah(tree.root.code) if tree.root.code else None
        if root_region is not None:
            # The regions above the tree ("Kota Malang" above a kecamatan, the province): a run
            # naming them is consumed, so "kalimantan tengah" is never read as a kelurahan.
            for level, above in enumerate(reversed(root_region.path.split(", ")[1:]), start=1):
                add(above, None, level)
        self._names = list(names.values())
        self._keys = [name.key for name in self._names]
        self._max_run = min(_MAX_RUN, max((name.words for name in self._names), default=1) + 1)

    def _runs(self, clauses: Sequence[Sequence[_Token]]) -> Tuple[List[_Run], List[_Token]]:
        runs: List[_Run] = []
        flat: List[_Token] = []
        for clause in clauses:
            base = len(flat)
            flat.extend(clause)
            for first, token in enumerate(clause):
                if token.kind not in _IN_NAMES:
                    continue
                before = clause[first - 1] if first > 0 else None
                if before is not None and before.kind == "street":
                    continue
                marker = before.level if before is not None and before.kind == "level" else 0
                words: List[str] = []
                for last in range(first, min(len(clause), first + self._max_run)):
                    if clause[last].kind not in _IN_NAMES:
                        break
                    words.append(clause[last].word)
                    runs.append(_Run(base + first, base + last, "".join(words), marker))
        return runs, flat

    def match(self, text: str, asked: bool = False) -> AddressMatch:
        """The unit ``text`` names. ``asked``: the message answers "which kelurahan?", so a
        name alone is enough (a lower bar, as after ``kel.``)."""
        clauses = _clauses(text or "")
        runs, tokens = self._runs(clauses)
        if not runs or not self._names:
            return AddressMatch(None, 0.0)
        scores = process.cdist(
            [run.key for run in runs], self._keys, scorer=fuzz.ratio, score_cutoff=SUGGEST_MIN
        )

        accepted: Dict[int, List[Tuple[_Name, float]]] = {}
        near: Dict[int, List[Tuple[str, float]]] = {}
        for row, column in zip(*np.nonzero(scores)):
            r, run, name = int(row), runs[int(row)], self._names[int(column)]
            if abs(name.words - (run.last - run.first + 1)) > 1:
                continue
            score = 100.0 if run.key == name.key else float(scores[row, column])
            if score < 100.0 and len(run.key) < _MIN_FUZZY_LETTERS:
                continue
            if name.code is not None:
                near.setdefault(r, []).append((name.code, score))
            bar = ACCEPT_MARKED if (run.marker or asked) else ACCEPT
            if score < bar or (run.marker and name.level != run.marker):
                continue
            accepted.setdefault(r, []).append((name, score))

        taken: Set[int] = set()
        candidates: List[_Candidate] = []
        order = sorted(
            accepted,
            key=lambda r: (-max(s for _, s in accepted[r]), -(runs[r].last - runs[r].first), runs[r].first),
        )
        for r in order:
            span = set(range(runs[r].first, runs[r].last + 1))
            if span & taken:
                continue
            taken |= span
            best = max(score for _, score in accepted[r])
            for name, score in accepted[r]:
                if name.code is not None and score >= best - AMBIGUOUS_GAP:
                    candidates.append(_Candidate(name.code, score, r))

        if not candidates:
            closest: Dict[str, float] = {}
            for r, found in near.items():
                if taken.isdisjoint(range(runs[r].first, runs[r].last + 1)):
                    for code, score in found:
                        closest[code] = max(closest.get(code, 0.0), score)
            return self._unknown(closest)
        return self._decide(candidates, runs, tokens, text)

    def _decide(
        self, candidates: List[_Candidate], runs: List[_Run], tokens: List[_Token], text: str
    ) -> AddressMatch:
        tree = self.tree
        for candidate in candidates:
            above = {unit.code for unit in tree.ancestors(candidate.code)}
            named = {other.code for other in candidates if other.run != candidate.run and other.code in above}
            candidate.support = candidate.score + CONTEXT_BONUS * len(named)
        best_of: Dict[str, _Candidate] = {}
        for candidate in candidates:
            kept = best_of.get(candidate.code)
            if kept is None or candidate.support > kept.support:
                best_of[candidate.code] = candidate
        ranked = sorted(best_of.values(), key=lambda c: (-c.support, -tree[c.code].level, -c.score, c.code))
        top = ranked[0]
        rivals = [
            c
            for c in ranked[1:]
            if c.support >= top.support - AMBIGUOUS_GAP
            and not tree.is_within(c.code, top.code)
            and not tree.is_within(top.code, c.code)
        ]
        run = runs[top.run]
        matched = text[tokens[run.first].start : tokens[run.last].end]
        if rivals:
            tied = [tree[c.code] for c in [top] + rivals][:MAX_SUGGESTIONS]
            return AddressMatch(None, top.score, matched, ambiguous=True, suggestions=tuple(tied))
        return AddressMatch(tree[top.code], top.score, matched)

    def _unknown(self, closest: Dict[str, float]) -> AddressMatch:
        ranked = sorted(closest.items(), key=lambda item: (-item[1], -self.tree[item[0]].level, item[0]))
        suggestions = tuple(self.tree[code] for code, _ in ranked[:MAX_SUGGESTIONS])
        return AddressMatch(None, ranked[0][1] if ranked else 0.0, suggestions=suggestions)


@lru_cache(maxsize=4)
def matcher_for(tree: UnitTree) -> AddressMatcher:
    """The matcher of a tree, built on first use (the normaliser's lexicons load once)."""
    return AddressMatcher(tree)


def match_address(tree: UnitTree, text: str, asked: bool = False) -> AddressMatch:
    """The unit a citizen's typed address names (see the module docstring)."""
    return matcher_for(tree).match(text, asked=asked)
