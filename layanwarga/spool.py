"""A durable local queue: work that must not be lost while a dependency is down.

Used by the WhatsApp connector for messages that arrive while the assistant cannot take them
(``connectors.replay``), and by the action server for confirmed submissions that could not reach
the ticket database (``layanwarga.pending``). Deliberately on the local disk: it must work
exactly when the shared databases do not. What it holds is personal data (phone numbers, NIKs,
what citizens wrote), so:

- **encrypted**: each item is one file holding a JSON envelope whose ``data`` is a Fernet token
  (``layanwarga.crypto``, the project's data keys) of the group and the item. A file under an
  older key is re-encrypted with the current key when read; one no configured key opens is kept,
  skipped and reported, never deleted for that reason alone;
- **private**: files are created 0600 in a folder kept 0700;
- **findable without decrypting or naming anyone**: the envelope carries ``tag``, a keyed hash
  of the group (``crypto.keyed_digest``), so erasure of a citizen finds their entries
  (``remove_groups``) and ``has`` answers without opening every file; file names hold only the
  arrival time, process and a counter, so sorting by name gives arrival order;
- **never kept forever**: ``expire`` removes entries older than a cut-off, set-aside ones
  (``.failed``: could not be stored; ``.broken``: not a readable envelope) included;
- **bound to one database**: a spool opened with ``database=database_fingerprint(url)`` tags
  every entry with it and never hands out an entry tagged for another database (kept, logged at
  ERROR once, counted in ``status``), so a spool folder that reaches another deployment (a
  copied volume, a test run against another database) never replays into its conversations.
  Entries written before tagging are taken as this spool's own.

Files are written atomically (temporary file, fsync, rename, folder fsync). Removing, setting
aside and rewriting a file happen under an exclusive lock on the folder, so a file another
thread or process just removed is never written back. Files of the first format (clear JSON
``{"group", "item"}``, named with an unkeyed hash of the group) are encrypted and renamed
when the spool is opened.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import itertools
import json
import logging
import os
import stat
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Set, Tuple

from sqlalchemy.engine import make_url

from . import crypto
from .config import PROJECT_ROOT

logger = logging.getLogger(__name__)

FORMAT = 2
TAG_PURPOSE = "spool-group"
WAITING, FAILED, BROKEN = ".json", ".failed", ".broken"
LOCK_NAME = ".lock"
FILE_MODE, DIRECTORY_MODE = 0o600, 0o700
DEFAULT_ROOT = PROJECT_ROOT / "var" / "spool"

_counter = itertools.count()
_counter_lock = threading.Lock()
# Problems reported once per process and file, not at every pass of a periodic loop.
_reported: Set[Tuple[str, str]] = set()


def local_folders() -> List[Path]:
    """The spool folders of this machine's processes: ``LAYANWARGA_SPOOL_DIR`` (the connector's
    messages) and its ``submissions`` folder (the action server's), or their defaults under
    ``var/spool``; only those that exist."""
    base = os.environ.get("LAYANWARGA_SPOOL_DIR")
    folders = (
        [Path(base), Path(base) / "submissions"]
        if base
        else [DEFAULT_ROOT / "whatsapp", DEFAULT_ROOT / "submissions"]
    )
    return [folder for folder in folders if folder.is_dir()]


def database_fingerprint(url: str) -> str:
    """A short, stable identity of the database at ``url``, without its credentials: backend,
    host, port and database (a SQLite file's absolute path)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        identity = f"sqlite:{os.path.abspath(parsed.database or ':memory:')}"
    else:
        identity = (
            f"{backend}://{(parsed.host or 'localhost').lower()}:{parsed.port or ''}/{parsed.database or ''}"
        )
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]


def group_tags(group: str) -> List[str]:
    """The keyed tags ``group``'s entries may carry: one per configured data key."""
    return [digest[:32] for digest in crypto.keyed_digests(TAG_PURPOSE, group)]


def _tag(group: str) -> str:
    return crypto.keyed_digest(TAG_PURPOSE, group)[:32]


def created_at(path: Path) -> Optional[dt.datetime]:
    """When the entry in ``path`` was first stored (from its name), naive UTC."""
    head = path.name.split("-", 1)[0]
    if not head.isdigit():
        return None
    return dt.datetime.utcfromtimestamp(int(head) / 1e9)


def _report(kind: str, path: Path, message: str, *args: Any) -> None:
    if (kind, str(path)) not in _reported:
        _reported.add((kind, str(path)))
        logger.error(message, *args)


@dataclass(frozen=True)
class SpoolStatus:
    """What waits in a spool: readable entries of this database, set-aside ones, entries of
    another database, entries no configured key opens, and the oldest waiting entry's time."""

    waiting: int
    set_aside: int
    other_database: int
    unreadable: int
    oldest: Optional[dt.datetime]


@dataclass(frozen=True)
class _Envelope:
    path: Path
    tag: Optional[str]
    data: bytes
    database: Optional[str] = None


class Spool:
    def __init__(self, directory: Path, *, database: Optional[str] = None) -> None:
        """``database``: the fingerprint (``database_fingerprint``) of the database this spool's
        entries are for; None for a spool not bound to one."""
        self.directory = Path(directory)
        self.database = database
        self.directory.mkdir(parents=True, exist_ok=True, mode=DIRECTORY_MODE)
        self._restrict(self.directory, DIRECTORY_MODE)
        self._upgrade_first_format()

    # -- writing ------------------------------------------------------------------------------

    def put(self, group: str, item: Dict[str, Any]) -> Path:
        """Store ``item`` for ``group`` (a sender, a conversation); returns its file."""
        with _counter_lock:
            sequence = next(_counter)
        name = f"{time.time_ns():020d}-{os.getpid()}-{sequence:06d}{WAITING}"
        target = self.directory / name
        self._write(target, self._envelope(group, item))
        return target

    def _envelope(self, group: str, item: Dict[str, Any]) -> bytes:
        clear = json.dumps({"group": group, "item": item}, ensure_ascii=False).encode("utf-8")
        envelope = {
            "v": FORMAT,
            "tag": _tag(group),
            "database": self.database,
            "data": crypto.encrypt_bytes(clear).decode("ascii"),
        }
        return json.dumps(envelope).encode("ascii")

    def _write(self, target: Path, payload: bytes) -> None:
        temporary = self.directory / f".{target.name}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        self._sync_directory()

    def _sync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    @staticmethod
    def _restrict(path: Path, mode: int) -> None:
        try:
            if stat.S_IMODE(path.stat().st_mode) != mode:
                os.chmod(path, mode)
        except PermissionError as error:
            # A mounted folder owned by someone else (e.g. a volume's root): the files inside
            # are still 0600 and encrypted.
            _report("mode", path, "Cannot restrict %s to %o: %s", path, mode, error)

    # -- reading ------------------------------------------------------------------------------

    def _files(self, suffix: str = WAITING) -> List[Path]:
        return sorted(self.directory.glob(f"*{suffix}"))

    def _read(self, path: Path) -> Optional[_Envelope]:
        """The envelope in ``path``; None when it is gone. A file that is not an envelope is set
        aside as ``.broken``."""
        try:
            raw = json.loads(path.read_bytes())
            if raw.get("v") != FORMAT:
                raise ValueError(f"unknown format {raw.get('v')!r}")
            return _Envelope(path, raw.get("tag"), raw["data"].encode("ascii"), raw.get("database"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, AttributeError, UnicodeError) as error:
            logger.error("Unreadable spool file %s set aside: %s", path.name, error)
            self._rename(path, BROKEN)
            return None

    def _foreign(self, envelope: _Envelope) -> bool:
        """Whether the entry was written for another database than this spool's."""
        if self.database is None or envelope.database in (None, self.database):
            return False
        _report(
            "database",
            envelope.path,
            "Spool file %s in %s belongs to another database (%s, this spool's is %s): "
            "kept, never replayed here",
            envelope.path.name,
            self.directory,
            envelope.database,
            self.database,
        )
        return True

    def _open(self, envelope: _Envelope) -> Optional[Tuple[str, Dict[str, Any]]]:
        """(group, item) of an envelope; re-encrypted with the current key when it was under an
        older one. None (kept, reported once) when no configured key opens it."""
        try:
            clear, current = crypto.decrypt_bytes(envelope.data)
        except crypto.DataKeyError:
            _report(
                "key",
                envelope.path,
                "Spool file %s cannot be decrypted with the configured keys; kept, "
                "not processed (was its key removed from LAYANWARGA_DATA_KEYS too early?)",
                envelope.path.name,
            )
            return None
        data = json.loads(clear)
        if not current:
            self._rewrite(envelope.path, data["group"], data["item"], envelope.data)
        return data["group"], data["item"]

    def _rewrite(self, path: Path, group: str, item: Dict[str, Any], expected: bytes) -> None:
        """Re-encrypt ``path`` with the current key, unless it was removed or changed meanwhile;
        its database tag stays as it was."""
        with self._locked():
            current = self._read(path)
            if current is None or current.data != expected:
                return
            payload = json.loads(self._envelope(group, item))
            payload["database"] = current.database
            self._write(path, json.dumps(payload).encode("ascii"))
        logger.info("Spool file %s re-encrypted with the current data key", path.name)

    def entries(self) -> List[Tuple[Path, str, Dict[str, Any]]]:
        """Every readable waiting item, oldest first, as (file, group, item)."""
        result = []
        for path in self._files():
            envelope = self._read(path)
            opened = self._open(envelope) if envelope and not self._foreign(envelope) else None
            if opened is not None:
                result.append((path, opened[0], opened[1]))
        return result

    def groups(self) -> set:
        return {group for _, group, _ in self.entries()}

    def has(self, group: str) -> bool:
        """Whether a readable item of ``group`` waits (its tag, then the item itself, checked)."""
        tags = set(group_tags(group))
        for path in self._files():
            envelope = self._read(path)
            if envelope is not None and envelope.tag in tags and not self._foreign(envelope):
                opened = self._open(envelope)
                if opened is not None and opened[0] == group:
                    return True
        return False

    def __iter__(self) -> Iterator[Tuple[Path, str, Dict[str, Any]]]:
        return iter(self.entries())

    def __len__(self) -> int:
        return len(self._files())

    def status(self) -> SpoolStatus:
        ready: List[Path] = []
        other = unreadable = 0
        for path in self._files():
            envelope = self._read(path)
            if envelope is None:
                continue
            if self._foreign(envelope):
                other += 1
            elif self._open(envelope) is None:
                unreadable += 1
            else:
                ready.append(path)
        times = [t for t in (created_at(p) for p in ready) if t is not None]
        set_aside = len(self._files(FAILED)) + len(self._files(BROKEN))
        return SpoolStatus(len(ready), set_aside, other, unreadable, min(times) if times else None)

    # -- removing -----------------------------------------------------------------------------

    @staticmethod
    def remove(path: Path) -> None:
        path = Path(path)
        lock = os.open(path.parent / LOCK_NAME, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            path.unlink(missing_ok=True)
        finally:
            os.close(lock)

    def _rename(self, path: Path, suffix: str) -> Path:
        target = path.with_suffix(suffix)
        try:
            os.replace(path, target)
        except FileNotFoundError:
            pass
        return target

    def set_aside(self, path: Path) -> Path:
        """Keep an entry that cannot be stored for staff (``.failed``) instead of retrying it;
        ``expire`` removes it after the retention period."""
        with self._locked():
            return self._rename(Path(path), FAILED)

    def remove_groups(self, groups_or_tags: Iterable[str], *, tags: bool = False) -> int:
        """Remove every entry, waiting or set aside, of these groups (or of these keyed tags,
        as recorded by an erasure request); returns how many files went."""
        wanted = set(groups_or_tags) if tags else {t for g in groups_or_tags for t in group_tags(g)}
        if not wanted:
            return 0
        removed = 0
        with self._locked():
            for path in self._files() + self._files(FAILED):
                envelope = self._read(path) if path.suffix == WAITING else self._read_aside(path)
                if envelope is not None and envelope.tag in wanted:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    def _read_aside(self, path: Path) -> Optional[_Envelope]:
        try:
            raw = json.loads(path.read_bytes())
            return _Envelope(path, raw.get("tag"), b"")
        except (OSError, ValueError, AttributeError):
            return None

    def expire(self, before: dt.datetime) -> int:
        """Remove every entry (waiting, failed, broken) stored before ``before`` (naive UTC);
        returns how many. A waiting entry that expires was never delivered: logged at ERROR."""
        removed = 0
        with self._locked():
            for suffix in (WAITING, FAILED, BROKEN):
                for path in self._files(suffix):
                    stored = created_at(path)
                    if stored is None or stored >= before:
                        continue
                    path.unlink(missing_ok=True)
                    removed += 1
                    if suffix == WAITING:
                        logger.error(
                            "Spool entry %s from %s expired without being delivered", path.name, stored
                        )
        return removed

    # -- keys and formats -----------------------------------------------------------------------

    def reencrypt(self) -> int:
        """Re-encrypt every readable waiting entry not under the current key; returns how many."""
        count = 0
        for path in self._files():
            envelope = self._read(path)
            if envelope is None:
                continue
            try:
                _, current = crypto.decrypt_bytes(envelope.data)
            except crypto.DataKeyError:
                continue
            if not current:
                self._open(envelope)
                count += 1
        return count

    def _upgrade_first_format(self) -> None:
        """Encrypt files of the first, clear format, waiting or failed (renamed without the
        unkeyed hash of the group); make broken ones private at least."""
        for path in self._files(BROKEN):
            self._restrict(path, FILE_MODE)
        for path in self._files() + self._files(FAILED):
            try:
                raw = json.loads(path.read_bytes())
            except (OSError, ValueError):
                continue
            if not isinstance(raw, dict) or "v" in raw or "group" not in raw:
                continue
            with self._locked():
                if not path.exists():
                    continue
                head = "-".join(path.stem.split("-")[:3])
                target = self.directory / f"{head}{path.suffix}"
                self._write(target, self._envelope(raw["group"], raw["item"]))
                if target != path:
                    path.unlink(missing_ok=True)
            logger.warning("Spool file %s from an earlier version encrypted", target.name)
