"""Save a blank Indonesian spaCy pipeline for Rasa's ``SpacyNLP``.

``SpacyNLP`` calls ``spacy.load(<model>)`` and rejects a pipeline that was not loaded from
disk, so a bare ``spacy.blank("id")`` is not enough: it must be saved to a directory first.
Nothing is downloaded: the blank pipeline only needs spaCy's built-in Indonesian
tokenizer rules. There are no Indonesian word vectors, hence no ``SpacyFeaturizer``.

Usage::

    python -m nlu_components.spacy_model var/spacy-id
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional, Sequence, Union

LANG = "id"


def is_saved_model(path: Union[str, Path], lang: str = LANG) -> bool:
    """True when ``path`` holds a saved spaCy pipeline for ``lang`` of this spaCy version."""
    import spacy

    path = Path(path)
    meta_file = path / "meta.json"
    if not (path / "config.cfg").is_file() or not meta_file.is_file():
        return False
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if meta.get("lang") != lang:
        return False
    required = meta.get("spacy_version") or ""
    # A directory written by another spaCy minor version may not load: rewrite it then.
    return not required or bool(spacy.util.is_compatible_version(spacy.about.__version__, required))


def ensure_blank_model(path: Union[str, Path], lang: str = LANG) -> bool:
    """Save ``spacy.blank(lang)`` to ``path`` unless a compatible one is already there.

    Idempotent: returns True when it wrote the model, False when it was already there.
    """
    import spacy

    path = Path(path)
    if is_saved_model(path, lang):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    nlp = spacy.blank(lang)
    nlp.meta["name"] = f"blank_{lang}"
    nlp.meta["description"] = (
        "Blank spaCy pipeline (tokenizer only) for LayanWarga's SpacyNLP/SpacyTokenizer."
    )
    nlp.to_disk(path)
    return True


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", help="where to save the model, e.g. var/spacy-id")
    parser.add_argument("--lang", default=LANG, help="spaCy language code (default: id)")
    args = parser.parse_args(argv)
    wrote = ensure_blank_model(args.directory, args.lang)
    state = "saved" if wrote else "already present"
    print(f"spaCy blank '{args.lang}' model {state} at {args.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
