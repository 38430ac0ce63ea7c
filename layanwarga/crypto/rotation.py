"""``python -m layanwarga.crypto``: a new data key, or every stored value re-encrypted with the
current key after a rotation (see ``layanwarga.crypto``).

Apart from the key functions, because re-encrypting needs the tables and the spools, and the
tables need the key functions (``layanwarga.models.types``).
"""

from __future__ import annotations

import logging
import sys
from typing import List, Optional

from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from ..db import session_scope
from ..models import DataRequest, Ticket
from ..spool import Spool, local_folders

ENCRYPTED_TICKET_COLUMNS = ("applicant_nik", "applicant_phone")
ENCRYPTED_DATA_REQUEST_COLUMNS = ("sender_pending",)


def rotate(url: Optional[str] = None) -> int:
    """Re-encrypt every encrypted column (tickets' applicant NIK and phone, the identities a
    pending erasure still has to erase) with the current key; returns values rewritten."""
    count = 0
    with session_scope(url, write=True) as session:
        for model, columns in (
            (Ticket, ENCRYPTED_TICKET_COLUMNS),
            (DataRequest, ENCRYPTED_DATA_REQUEST_COLUMNS),
        ):
            for row in session.execute(select(model)).scalars():
                for column in columns:
                    if getattr(row, column):
                        # Marked dirty, the clear value is written back encrypted with the current key.
                        flag_modified(row, column)
                        count += 1
                session.flush()
    return count


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["generate-key"]:
        print(Fernet.generate_key().decode())
        return 0
    if args[:1] == ["rotate"]:
        logging.basicConfig(level=logging.INFO)
        print(f"Re-encrypted {rotate()} values with the current key")
        for folder in local_folders():
            print(f"Re-encrypted {Spool(folder).reencrypt()} waiting entries in {folder}")
        return 0
    print("usage: python -m layanwarga.crypto generate-key | rotate", file=sys.stderr)
    return 2
