"""The working copy content staff teach and the dashboard retrains from, on a deployment whose
project files are a read-only image (issue 27).

The dashboard writes taught examples to ``<root>/data/nlu/diajarkan.yml`` and retrains with
``<root>`` as the working folder (``layanwarga.teaching``, ``layanwarga.retrain``; ``<root>`` is
``LAYANWARGA_TEACH_ROOT``). So ``<root>`` must hold everything ``rasa data validate``, ``rasa
train`` and ``rasa test nlu`` read there (``RELEASE_FILES``): ``config.yml``, ``domain/``,
``data/``, the held-out set ``tests/nlu/holdout.yml`` and the blank spaCy pipeline
``var/spacy-id`` that config.yml names (the Python code comes from the image: ``PYTHONPATH``).

With ``LAYANWARGA_TEACH_SOURCE`` set (the dashboard image sets ``/app``), the dashboard refreshes
``<root>`` from that release before it serves (``refresh``):

1. each of ``RELEASE_FILES`` is replaced by the release's copy: a new release's training data,
   domain, config and held-out set take effect, and nothing an older release had lingers;
2. except ``data/nlu/diajarkan.yml``, the one file the dashboard writes: ``<root>``'s copy (what
   staff taught) is kept; the release's copy is used only while ``<root>`` has none.

Each file or folder is copied beside its target and moved in place, so a crash leaves either the
old copy or the new one. Without ``LAYANWARGA_TEACH_SOURCE`` nothing is touched: a teach root that
is an operator's own working copy (a git checkout) is never overwritten.

    python -m layanwarga.teach_root [--source /app] [--root /data/teach]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

from .config import PROJECT_ROOT
from .teaching import ROOT_ENV_VAR, TAUGHT_FILE

logger = logging.getLogger(__name__)

SOURCE_ENV_VAR = "LAYANWARGA_TEACH_SOURCE"
RELEASE_FILES = ("config.yml", "domain", "data", "tests/nlu/holdout.yml", "var/spacy-id")
TAUGHT = Path("data") / "nlu" / TAUGHT_FILE


class TeachRootError(RuntimeError):
    """The teach root cannot be prepared; the message names the file or folder."""


def _sides(target: Path) -> Tuple[Path, Path]:
    """Where a copy is made (``.name.new``) and the old one waits while it moves in (``.name.old``)."""
    return target.with_name(f".{target.name}.new"), target.with_name(f".{target.name}.old")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _recover(target: Path) -> None:
    """Undo what a run that crashed left: the old copy back in place if the new one never moved
    in, and no half-made copy."""
    fresh, stale = _sides(target)
    if stale.exists() and not target.exists():
        os.replace(stale, target)
    _remove(fresh)
    _remove(stale)


def _replace(source: Path, target: Path, keep: Dict[Path, bytes]) -> None:
    """Put a copy of ``source`` (a file or a folder) at ``target``, with the files of ``keep``
    (paths inside the folder) written into the copy before it moves in."""
    fresh, stale = _sides(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, fresh)
        for relative, content in keep.items():
            (fresh / relative).parent.mkdir(parents=True, exist_ok=True)
            (fresh / relative).write_bytes(content)
    else:
        shutil.copyfile(source, fresh)
    if target.is_dir():
        os.replace(target, stale)
        os.replace(fresh, target)
        shutil.rmtree(stale)
    else:
        os.replace(fresh, target)


def refresh(source: Path, root: Path) -> None:
    """Steps 1-2 of the module docstring."""
    if source.resolve() == root.resolve():
        return
    missing = [name for name in RELEASE_FILES if not (source / name).exists()]
    if missing:
        raise TeachRootError(f"the release at {source} lacks {', '.join(missing)}")
    for name in RELEASE_FILES:
        _recover(root / name)
    taught = root / TAUGHT
    kept = taught.read_bytes() if taught.is_file() else None
    for name in RELEASE_FILES:
        inside = TAUGHT.relative_to(name) if TAUGHT.is_relative_to(name) else None
        _replace(source / name, root / name, {inside: kept} if inside and kept is not None else {})
    logger.info(
        "Teach root %s refreshed from %s (%s)",
        root,
        source,
        f"{TAUGHT} kept as taught" if kept is not None else f"no {TAUGHT} taught yet",
    )


def refresh_from_environment() -> bool:
    """``refresh`` when ``LAYANWARGA_TEACH_SOURCE`` asks for it; whether it ran."""
    source = os.environ.get(SOURCE_ENV_VAR)
    if not source:
        return False
    root = os.environ.get(ROOT_ENV_VAR)
    if not root:
        raise TeachRootError(f"{SOURCE_ENV_VAR} is set but {ROOT_ENV_VAR} is not: nowhere to refresh")
    refresh(Path(source), Path(root))
    return True


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path(os.environ.get(SOURCE_ENV_VAR) or PROJECT_ROOT))
    parser.add_argument("--root", type=Path, default=os.environ.get(ROOT_ENV_VAR))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.root is None:
        parser.error(f"--root or {ROOT_ENV_VAR} is required")
    try:
        refresh(args.source, Path(args.root))
    except (TeachRootError, OSError) as error:
        print(f"Teach root not prepared: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
