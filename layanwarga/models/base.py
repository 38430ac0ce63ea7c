"""The declarative base every table shares (one metadata: what Alembic compares with the
migrations) and the timestamp convention of the ticket database."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import MetaData, Table
from sqlalchemy.orm import registry
from sqlalchemy.orm.decl_api import DeclarativeMeta

# Stable constraint names, so migrations behave the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_registry = registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))


class Base(metaclass=DeclarativeMeta):
    """Base of every table. What ``declarative_base()`` builds, written as a class so a type
    checker knows it is one (SQLAlchemy 1.4's documented form for an explicitly named base)."""

    __abstract__ = True
    registry = _registry
    metadata = _registry.metadata
    __init__ = _registry.constructor
    __table__: Table  # set by the metaclass on every mapped subclass


def utcnow() -> dt.datetime:
    """Naive UTC timestamps everywhere in the database; converted for display only."""
    return dt.datetime.utcnow().replace(microsecond=0)
