"""What content staff review and teach the assistant (issue 27, ``layanwarga.review_queue``).

- ``nlu_readings``: how the assistant read each citizen's message it answered (intent, confidence,
  its top guesses, whether it fell back, whether a form took the text as an answer), written by
  the conversation store once per turn; the review queue is built from them.
- ``review_flags``: a line of a ticket's conversation or a live chat that staff flagged as
  misunderstood.
- ``review_annotations``: what content staff decided about a group of similar messages.

Personal data: citizens' text, NIK-like numbers masked as in the message log; erased with the
citizen's conversation (``layanwarga.privacy``) and purged with it (``layanwarga.retention``).
"""
from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, String, Text

from .base import Base, utcnow


class NluReading(Base):
    """The assistant's reading of one citizen's message."""

    __tablename__ = "nlu_readings"

    id = Column(Integer, primary_key=True)
    sender = Column(String(128), nullable=False)
    message_id = Column(String(255), nullable=True)
    text = Column(Text, nullable=False)
    group_key = Column(String(255), nullable=False)
    intent = Column(String(80), nullable=True)
    confidence = Column(Float, nullable=True)
    guesses = Column(Text, nullable=False, default="[]")  # JSON [[intent, confidence], ...], best first
    fell_back = Column(Boolean, nullable=False, default=False)
    in_form = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (
        Index("ix_nlu_readings_created_at", "created_at"),
        Index("ix_nlu_readings_sender_id", "sender", "id"),
        Index("ix_nlu_readings_group_key", "group_key"),
    )


class ReviewFlag(Base):
    """A conversation line staff flagged as misunderstood, from a ticket or a live chat."""

    __tablename__ = "review_flags"

    id = Column(Integer, primary_key=True)
    line_id = Column(Integer, ForeignKey("conversation_messages.id", ondelete="CASCADE"), nullable=False, unique=True)
    sender = Column(String(128), nullable=False)
    text = Column(Text, nullable=False)
    group_key = Column(String(255), nullable=False)
    flagged_by = Column(String(120), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class ReviewAnnotation(Base):
    """Content staff's decision on a group of similar messages: the intent it meant, a new
    example, out of scope, or ignore; with who and when, and where it was written."""

    __tablename__ = "review_annotations"

    id = Column(Integer, primary_key=True)
    group_key = Column(String(255), nullable=False, index=True)
    decision = Column(String(20), nullable=False)
    intent = Column(String(80), nullable=True)
    example = Column(Text, nullable=True)
    annotated_by = Column(String(120), nullable=False)
    annotated_at = Column(DateTime, nullable=False, default=utcnow)
    written_to = Column(String(255), nullable=True)
