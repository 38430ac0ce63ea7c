"""Word-level normalisation of informal Indonesian (WhatsApp style) for NLU features.

Plain Python, no Rasa import: the Rasa graph component in ``normalizer.py`` wraps it, and
tests and scripts can use it directly.

For one token the steps are, in order:

1. lower-case (after NFKC, so full-width letters and typographic apostrophes behave);
   punctuation-only tokens are returned as they are, emoji/symbol-only tokens become the
   stable placeholder ``EMOJI_PLACEHOLDER``; tokens without letters (numbers, NIKs,
   ``07.30``, the digit parts of ``ADU-2026-00042``) are never touched;
2. reduplication written with 2: ``anak2`` -> ``anak-anak``, ``lampu2nya`` ->
   ``lampu-lampunya`` (at least three letters before the 2, so ``rt2``/``b2`` stay);
3. squeezing of repeated letters: ``tolongggg`` -> ``tolong``, ``parahhh`` -> ``parah``
   (3+ repeats -> 1, else -> 2, else doubles -> 1; the first known word wins);
4. lexicon: the domain override list (``lexicon/domain_overrides.tsv``) wins over the
   general IndoCollex lexicon; regional possessive suffixes (Javanese ``-e``/``-ne``,
   Sundanese ``-na``, Betawi/Malay ``-nye``) are read as ``-nya`` when the base is known.

That gives the *surface* normal form (``normalize``), which is what the STIF evaluation
measures. ``lemma`` then reduces reduplication to the base (``anak-anak`` -> ``anak``:
plurality does not change the intent) and stems every word with Sastrawi, except
protected words and listed exceptions, with a fallback for colloquial affixes
(``ngurusin`` -> ``urus``, ``nanyain`` -> ``tanya``) that Sastrawi does not know.
"""

from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, List, Optional, Set, Tuple, Union

DEFAULT_LEXICON_DIR = Path(__file__).resolve().parent.parent / "lexicon"

DOMAIN_OVERRIDES_FILE = "domain_overrides.tsv"
PROTECTED_WORDS_FILE = "protected_words.txt"
STEM_EXCEPTIONS_FILE = "stem_exceptions.tsv"
INDOCOLLEX_DICT_FILE = "indocollex/dict_inforformal-formal-Indonesian-dictionary.tsv"
INDOCOLLEX_PAIRS_FILE = "indocollex/data_full.csv"

# Transformation types of IndoCollex data_full.csv that are not used: "rev" (boso walikan)
# maps everyday words to others ("enam" -> "mane", "arek" -> "kera").
EXCLUDED_TRANSFORMATIONS = frozenset({"rev"})

EMOJI_PLACEHOLDER = "__emoji__"

# Indonesian negation as citizens type it: the one list every reader of citizens' text uses
# (the actions' answer readers, ``layanwarga.feedback``, ``layanwarga.first_message``), raw or
# normalised. ``NOT_WORDS`` is "tidak" with its everyday and regional spellings, each of which the
# lexicon reads as "tidak" (tests/nlu_components/test_text_normalizer.py holds the two together;
# "seng" and "dak" stay out: as raw words they are more often zinc and a concrete roof slab);
# ``NEGATION_WORDS`` adds "bukan" and "belum" with their short forms. "jangan" (don't) is a
# request, not a negation: readers that take it as a no add it themselves.
NOT_WORDS: FrozenSet[str] = frozenset(
    """
    tidak tdk tak gak ga gk g gag gx nggak ngga ngak nggk ngk enggak engga enggk kagak kaga
    ndak nda ndk kada indak idak ora orak mboten boten teu henteu enjek sonde sond nyanda tra
    trada tida nope
    """.split()
)
NEGATION_WORDS: FrozenSet[str] = NOT_WORDS | frozenset("bukan bkn belum blm blom blum belom".split())
# ``NOT_WORDS`` as a regular-expression alternation, longest spelling first:
# ``rf"\b({NOT_PATTERN})\s+usah\b"``.
NOT_PATTERN = "|".join(sorted(NOT_WORDS, key=lambda word: (-len(word), word)))

_LETTER = r"a-z\u00e0-\u024f"
_REDUP_DIGIT = re.compile(rf"^([{_LETTER}]{{3,}})2([{_LETTER}]*)$")
_REPEAT3 = re.compile(rf"([{_LETTER}])\1{{2,}}")
_REPEAT2 = re.compile(rf"([{_LETTER}])\1+")
_HAS_LETTER = re.compile(rf"[{_LETTER}]")
_WORD = re.compile(rf"^[{_LETTER}]+$")
_WORD_OR_HYPHENATED = re.compile(rf"^[{_LETTER}]+(?:-[{_LETTER}]+)*$")
_CLITIC_HYPHEN = re.compile(r"-(lah|kah|pun|nya|ku|mu)\b")
# Variation selectors, zero-width joiner and skin-tone modifiers: 👍🏽 is 👍.
_EMOJI_MODIFIERS = re.compile("[\ufe0e\ufe0f\u200d\U0001f3fb-\U0001f3ff]")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})


def _read_lines(path: Path) -> Iterable[str]:
    with path.open(encoding="utf-8") as handle:
        for raw in handle:
            line = raw.rstrip("\n").rstrip("\r")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            yield line


def _clean_value(value: str) -> str:
    value = value.strip().strip('"').strip().lower()
    value = _CLITIC_HYPHEN.sub(r"\1", value)
    return " ".join(value.split())


def load_pairs_tsv(path: Path) -> Dict[str, str]:
    """``informal<TAB>formal`` lines (``#`` comments) into a dict; later lines win."""
    pairs: Dict[str, str] = {}
    for line in _read_lines(path):
        parts = line.split("\t")
        if len(parts) < 2:
            continue
        key = parts[0].strip().lower()
        value = _clean_value(parts[1])
        if key and value and " " not in key:
            pairs[key] = value
    return pairs


def load_word_list(path: Path) -> Set[str]:
    return {line.strip().lower() for line in _read_lines(path)}


def load_indocollex(lexicon_dir: Path, standard_words: FrozenSet[str]) -> Dict[str, str]:
    """The general colloquial lexicon: IndoCollex dictionary over its typed pairs.

    Rules that keep a general lexicon from damaging standard text:
    - keys with a space are dropped (the normaliser works token by token);
    - a key that is itself a standard root word (in Sastrawi's dictionary) is dropped:
      the general lexicon must not rewrite standard words (``malang`` -> ``ngalam``,
      ``dies`` -> ``meninggal``); the domain list re-adds the useful ones;
    - a data_full.csv key with several different targets is ambiguous and dropped
      unless the phrase dictionary decides it;
    - chains (``temen2`` -> ``teman2`` -> ...) are followed up to three steps.
    """
    pairs: Dict[str, Set[str]] = {}
    pairs_file = lexicon_dir / INDOCOLLEX_PAIRS_FILE
    if pairs_file.is_file():
        with pairs_file.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if (row.get("transformation") or "").strip() in EXCLUDED_TRANSFORMATIONS:
                    continue
                key = (row.get("transformed") or "").strip().lower()
                value = _clean_value(row.get("original-for") or "")
                if key and value and " " not in key and key != value:
                    pairs.setdefault(key, set()).add(value)
    general: Dict[str, str] = {key: next(iter(values)) for key, values in pairs.items() if len(values) == 1}
    dict_file = lexicon_dir / INDOCOLLEX_DICT_FILE
    if dict_file.is_file():
        for line in _read_lines(dict_file):
            parts = line.split("\t")
            if len(parts) < 2 or parts[0] == "informal":
                continue
            key = parts[0].strip().lower()
            value = _clean_value(parts[1])
            if key and value and " " not in key and key != value:
                general[key] = value
    general = {k: v for k, v in general.items() if k not in standard_words}

    resolved: Dict[str, str] = {}
    for key, value in general.items():
        seen = {key}
        for _ in range(3):
            if " " in value or value in seen or value not in general:
                break
            seen.add(value)
            value = general[value]
        resolved[key] = value
    return resolved


def _sastrawi_root_words() -> List[str]:
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return [w.strip() for w in StemmerFactory().get_words() if w and w.strip()]


class IndonesianNormalizer:
    """Normalises single tokens of informal Indonesian; deterministic and cached."""

    def __init__(
        self,
        lexicon_dir: Union[str, Path, None] = None,
        use_general_lexicon: bool = True,
        use_domain_lexicon: bool = True,
        use_stemmer: bool = True,
        cache_size: int = 200_000,
    ) -> None:
        from Sastrawi.Dictionary.ArrayDictionary import ArrayDictionary
        from Sastrawi.Stemmer.Stemmer import Stemmer

        self.lexicon_dir = Path(lexicon_dir) if lexicon_dir else DEFAULT_LEXICON_DIR
        self.use_stemmer = use_stemmer

        roots = _sastrawi_root_words()
        self.root_words: FrozenSet[str] = frozenset(roots)
        self._stemmer = Stemmer(ArrayDictionary(roots))

        self.general: Dict[str, str] = (
            load_indocollex(self.lexicon_dir, self.root_words) if use_general_lexicon else {}
        )
        self.domain: Dict[str, str] = (
            load_pairs_tsv(self.lexicon_dir / DOMAIN_OVERRIDES_FILE) if use_domain_lexicon else {}
        )
        # A general entry's output goes through the domain list too (heyy -> hey -> halo).
        resolved_general = {
            key: " ".join(self.domain.get(word, word) for word in value.split())
            for key, value in self.general.items()
        }
        self.mapping: Dict[str, str] = {**resolved_general, **self.domain}

        protected_file = self.lexicon_dir / PROTECTED_WORDS_FILE
        self.protected: FrozenSet[str] = frozenset(
            load_word_list(protected_file) if protected_file.is_file() else ()
        )
        exceptions_file = self.lexicon_dir / STEM_EXCEPTIONS_FILE
        self.stem_exceptions: Dict[str, str] = (
            load_pairs_tsv(exceptions_file) if exceptions_file.is_file() else {}
        )

        # Everything the normaliser may treat as a real word when squeezing letters.
        formal_words: Set[str] = set()
        for value in self.mapping.values():
            formal_words.update(value.split())
        self.known_words: FrozenSet[str] = frozenset(
            self.root_words | set(self.mapping) | formal_words | self.protected | set(self.stem_exceptions)
        )

        self.normalize = lru_cache(maxsize=cache_size)(self._normalize)  # type: ignore
        self.lemma = lru_cache(maxsize=cache_size)(self._lemma)  # type: ignore
        self._stem_word = lru_cache(maxsize=cache_size)(self._stem_word_uncached)  # type: ignore

    # ------------------------------------------------------------------ surface form
    def _normalize(self, text: str) -> str:
        """Surface normal form of one token (may be several words, e.g. ``di mana``)."""
        token = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower().strip()
        if not token:
            return token
        if not any(ch.isalnum() for ch in token):
            bare = _EMOJI_MODIFIERS.sub("", token)
            if not bare:
                return token  # a lone skin-tone modifier spaCy split off
            if bare in self.mapping:  # 👍 -> ya, ❌ -> tidak
                return self.mapping[bare]
            return EMOJI_PLACEHOLDER if _is_symbolic(token) else token
        if not _HAS_LETTER.search(token):
            return token  # numbers, NIKs, times, ticket digits: untouched

        if token in self.mapping:
            return self.mapping[token]

        redup = _REDUP_DIGIT.match(token)
        if redup:
            base, suffix = redup.groups()
            normal_base = self._normalize(base)
            if " " in normal_base or not _WORD.match(normal_base):
                return normal_base
            return f"{normal_base}-{normal_base}{suffix}"

        if not _WORD_OR_HYPHENATED.match(token):
            # Trailing abbreviation dot ("jl.", "kel.") or other mixed token.
            stripped = token.rstrip(".")
            if stripped != token and _WORD.match(stripped):
                return self._normalize(stripped)
            return token

        if "-" in token:
            first, _, rest = token.partition("-")
            if rest and "-" not in rest and rest.startswith(first) and _WORD.match(first):
                normal_first = self._normalize(first)
                suffix = rest[len(first) :]
                if _WORD.match(normal_first):
                    return f"{normal_first}-{normal_first}{suffix}"
            joined = token.replace("-", "")
            if joined in self.mapping:  # un-subscribe, e-mail, wa-nya: a known word split
                return self.mapping[joined]
            return token

        return self._normalize_word(token)

    def _normalize_word(self, word: str) -> str:
        if word in self.mapping:
            return self.mapping[word]
        if self._is_known(word):
            return word
        for candidate in _squeeze_candidates(word):
            if candidate in self.mapping:
                return self.mapping[candidate]
            if self._is_known(candidate):
                return candidate
        regional = self._regional_suffix(word)
        if regional:
            return regional
        squeezed = _REPEAT3.sub(r"\1", word)
        return squeezed

    def _regional_suffix(self, word: str) -> Optional[str]:
        """Read regional possessives as -nya: lampune, sampahe, jalanna, rumahnye."""
        candidates: List[Tuple[str, str]] = []
        if word.endswith("nye") and len(word) > 5:
            candidates.append((word[:-3], "any"))
        if word.endswith("ne") and len(word) > 4:
            candidates.append((word[:-2], "vowel"))
        if word.endswith("na") and len(word) > 4:
            candidates.append((word[:-2], "any"))
        if word.endswith("e") and len(word) > 4:
            candidates.append((word[:-1], "consonant"))
        for base, condition in candidates:
            if condition == "vowel" and base[-1] not in "aiueo":
                continue
            if condition == "consonant" and base[-1] in "aiueo":
                continue
            if base in self.mapping:
                normal = self.mapping[base]
            elif self._is_known(base):
                normal = base
            else:
                continue
            return f"{normal}nya"
        return None

    def _is_known(self, word: str) -> bool:
        if word in self.known_words:
            return True
        stem = self._sastrawi(word)
        return stem != word and stem in self.root_words

    # ------------------------------------------------------------------ lemma
    def _lemma(self, text: str) -> str:
        """Normalised, de-reduplicated and stemmed form used as ``Token.lemma``."""
        normal = self.normalize(text)
        if not normal or normal == EMOJI_PLACEHOLDER or not _HAS_LETTER.search(normal):
            return normal
        return " ".join(self._stem_word(word) for word in normal.split())

    def _stem_word_uncached(self, word: str) -> str:
        if not _WORD_OR_HYPHENATED.match(word):
            return word
        if "-" in word:
            first, _, rest = word.partition("-")
            if "-" in rest or not rest.startswith(first):
                return word  # sayur-mayur, e-ktp...: keep as written
            word = rest  # anak-anak -> anak, lampu-lampunya -> lampunya
        if word in self.protected:
            return word
        if word in self.stem_exceptions:
            return self.stem_exceptions[word]
        if not self.use_stemmer:
            return word
        stem = self._sastrawi(word)
        if stem in self.protected:
            return stem
        if stem in self.root_words:
            return stem
        colloquial = self._colloquial_root(word)
        return colloquial or stem

    def _colloquial_root(self, word: str) -> Optional[str]:
        """Root of a colloquially affixed word Sastrawi cannot parse, or None.

        Only used when Sastrawi found no dictionary root: ``-in`` for ``-kan``/``-i``
        (urusin, bikinin) and nasal prefixes without ``me-`` (ngurus, nyapu, nanya).
        """
        bases = [word]
        if word.endswith("in") and len(word) > 4:
            bases += [word[:-2] + "kan", word[:-2]]
        for base in bases:
            for variant in _nasal_variants(base):
                if variant in self.root_words:
                    return variant
                stem = self._sastrawi(variant)
                if stem in self.root_words and stem != variant or stem in self.protected:
                    return stem
        return None

    def _sastrawi(self, word: str) -> str:
        return self._stemmer.stem_word(word)

    # ------------------------------------------------------------------ helpers
    def lemmas(self, tokens: Iterable[str]) -> List[str]:
        return [self.lemma(token) for token in tokens]

    def fingerprint(self) -> str:
        """Stable hash of the lexicon files and this module (for Rasa's training cache)."""
        return lexicon_fingerprint(self.lexicon_dir)


def lexicon_fingerprint(lexicon_dir: Union[str, Path, None] = None) -> str:
    """Hash of the normaliser's code and lexicon files, without loading them."""
    directory = Path(lexicon_dir) if lexicon_dir else DEFAULT_LEXICON_DIR
    digest = hashlib.sha256()
    digest.update(Path(__file__).read_bytes())
    for name in (
        DOMAIN_OVERRIDES_FILE,
        PROTECTED_WORDS_FILE,
        STEM_EXCEPTIONS_FILE,
        INDOCOLLEX_DICT_FILE,
        INDOCOLLEX_PAIRS_FILE,
    ):
        path = directory / name
        digest.update(name.encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _squeeze_candidates(word: str) -> List[str]:
    """Spellings with fewer repeated letters, most aggressive first."""
    candidates: List[str] = []
    for candidate in (
        _REPEAT3.sub(r"\1", word),
        _REPEAT3.sub(r"\1\1", word),
        _REPEAT2.sub(r"\1", word),
    ):
        if candidate != word and candidate not in candidates:
            candidates.append(candidate)
    return candidates


def _nasal_variants(word: str) -> List[str]:
    """Possible standard forms of a word with a bare nasal prefix (colloquial ``N-``)."""
    variants = [word]
    if word.startswith("nge") and len(word) > 5:
        variants.append(word[3:])
    if word.startswith("ng") and len(word) > 4:
        variants += [word[2:], "k" + word[2:], "me" + word]
    elif word.startswith("ny") and len(word) > 4:
        variants += ["s" + word[2:], "c" + word[2:], "me" + word]
    elif word.startswith("n") and len(word) > 3:
        variants += ["t" + word[1:], "me" + word]
    elif word.startswith("m") and len(word) > 3 and not word.startswith("me"):
        variants += ["p" + word[1:], "me" + word[1:]]
    return variants


def _is_symbolic(token: str) -> bool:
    """True for emoji / pictographs / other symbols (as opposed to punctuation)."""
    for ch in token:
        category = unicodedata.category(ch)
        if category in ("So", "Sk", "Cs", "Co") or ord(ch) >= 0x1F000:
            return True
    return False


@lru_cache(maxsize=8)
def get_normalizer(
    lexicon_dir: Optional[str] = None,
    use_general_lexicon: bool = True,
    use_domain_lexicon: bool = True,
    use_stemmer: bool = True,
) -> IndonesianNormalizer:
    """Shared instance per configuration: loading the lexicons once per process."""
    return IndonesianNormalizer(
        lexicon_dir,
        use_general_lexicon=use_general_lexicon,
        use_domain_lexicon=use_domain_lexicon,
        use_stemmer=use_stemmer,
    )
