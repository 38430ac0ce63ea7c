"""Token-level measure of the normaliser on STIF-Indonesia (informal -> formal pairs).

STIF gives line-aligned sentences, not aligned tokens, and its formal side sometimes
rewrites more than words. Tokens are aligned once per sentence pair with difflib on the
raw token sequences (independent of any normaliser): equal spans and same-length replaced
spans give 1:1 pairs, and a single informal token replaced by two or three formal ones
gives a 1:phrase pair (``gmn`` -> ``bagaimana``, ``dmn`` -> ``di mana``). Other spans are
skipped. Only tokens containing a letter are scored (punctuation and numbers would
inflate both sides equally),
nor are STIF's anonymisation markers (``xxxnumberxxx``).

Accuracy = share of aligned informal tokens whose normalised form equals the formal
side. The identity baseline leaves every token unchanged (lower-cased), so normalising
already-formal words wrongly costs the normaliser exactly as it should.

Run ``python -m nlu_components.stif_eval [lexicon/stif-indonesia/test]``.
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple, Union

from nlu_components.text_normalizer import DEFAULT_LEXICON_DIR

STIF_DIR = DEFAULT_LEXICON_DIR / "stif-indonesia"
_HAS_LETTER = re.compile(r"[a-z]")
# STIF's anonymisation markers (xxxnumberxxx, xxxuserxxx, ...) are not text.
_PLACEHOLDER = re.compile(r"^xxx[a-z]+xxx$")


@dataclass
class StifResult:
    split: str
    sentences: int
    tokens: int
    identity_correct: int
    normalizer_correct: int
    informal_tokens: int  # aligned tokens whose formal side differs from the informal one
    informal_fixed: int
    errors: List[Tuple[str, str, str]] = field(default_factory=list)

    @property
    def identity_accuracy(self) -> float:
        return self.identity_correct / self.tokens if self.tokens else 0.0

    @property
    def normalizer_accuracy(self) -> float:
        return self.normalizer_correct / self.tokens if self.tokens else 0.0

    @property
    def informal_recall(self) -> float:
        return self.informal_fixed / self.informal_tokens if self.informal_tokens else 0.0

    def summary(self) -> str:
        return (
            f"STIF {self.split}: {self.sentences} sentences, {self.tokens} aligned word "
            f"tokens; identity {self.identity_accuracy:.1%}, normaliser "
            f"{self.normalizer_accuracy:.1%} (informal tokens fixed: "
            f"{self.informal_fixed}/{self.informal_tokens} = {self.informal_recall:.1%})"
        )


def align_pairs(informal: Sequence[str], formal: Sequence[str]) -> List[Tuple[str, str]]:
    """Pairs (informal token, formal token or phrase) from one sentence pair."""
    pairs: List[Tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(None, list(informal), list(formal), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            pairs.extend(zip(informal[i1:i2], formal[j1:j2]))
        elif tag == "replace" and i2 - i1 == 1 and 2 <= j2 - j1 <= 3:
            pairs.append((informal[i1], " ".join(formal[j1:j2])))
    return pairs


def read_split(split: Union[str, Path]) -> Tuple[List[str], List[str]]:
    """Lines of ``<split>.inf`` and ``<split>.for`` (``split`` is a path prefix or name)."""
    prefix = Path(split)
    if not prefix.parent.name or not Path(f"{prefix}.inf").exists():
        prefix = STIF_DIR / str(split)
    informal = Path(f"{prefix}.inf").read_text(encoding="utf-8").splitlines()
    formal = Path(f"{prefix}.for").read_text(encoding="utf-8").splitlines()
    if len(informal) != len(formal):
        raise ValueError(f"{prefix}: .inf and .for are not line-aligned")
    return informal, formal


def evaluate(
    normalize: Callable[[str], str],
    split: Union[str, Path] = "test",
    keep_errors: int = 0,
) -> StifResult:
    """Scores ``normalize`` (token -> surface form) against the identity baseline."""
    informal_lines, formal_lines = read_split(split)
    tokens = identity_ok = norm_ok = informal_total = informal_fixed = 0
    errors: List[Tuple[str, str, str]] = []
    for inf_line, for_line in zip(informal_lines, formal_lines):
        pairs = align_pairs(inf_line.lower().split(), for_line.lower().split())
        for inf, gold in pairs:
            if not _HAS_LETTER.search(inf) or _PLACEHOLDER.match(inf):
                continue
            tokens += 1
            output = " ".join(normalize(inf).split())
            identity_ok += inf == gold
            norm_ok += output == gold
            if inf != gold:
                informal_total += 1
                informal_fixed += output == gold
            if output != gold and len(errors) < keep_errors:
                errors.append((inf, output, gold))
    return StifResult(
        split=str(split),
        sentences=len(informal_lines),
        tokens=tokens,
        identity_correct=identity_ok,
        normalizer_correct=norm_ok,
        informal_tokens=informal_total,
        informal_fixed=informal_fixed,
        errors=errors,
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    from collections import Counter

    from nlu_components.text_normalizer import get_normalizer

    args = list(argv if argv is not None else sys.argv[1:])
    splits = args or ["dev", "test"]
    normalizer = get_normalizer()
    for split in splits:
        result = evaluate(normalizer.normalize, split, keep_errors=100000)
        print(result.summary())
        counts = Counter(result.errors)
        for (inf, out, gold), n in counts.most_common(25):
            print(f"  {n:3d}  {inf!r} -> {out!r} (gold {gold!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
