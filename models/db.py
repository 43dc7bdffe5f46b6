"""The service's database: SQLAlchemy 2 typed models and the engine/session factories.

One schema for PostgreSQL (the service) and SQLite (`docextract serve --embedded`); Alembic
migrations in `models/migrations/` create it. Machine output and human review are kept apart:
`fields` hold what the pipeline read and never change value; `corrections` are the audit trail
of reviewers' decisions, and the effective value of a field is its latest correction's.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    sessionmaker,
)

from models.schemas import FieldStatus, ReportSubject

# Named constraints so that migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT keys on PostgreSQL; SQLite only autoincrements an INTEGER PRIMARY KEY.
Id = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is UTC and timezone-aware on every backend: SQLite stores no offset and
    gives naive values back, which the API would publish as dates without a zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.astimezone(UTC) if value is not None and value.tzinfo is not None else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class Role(enum.StrEnum):
    uploader = "uploader"
    reviewer = "reviewer"
    consumer = "consumer"
    admin = "admin"


class DocumentStatus(enum.StrEnum):
    queued = "queued"
    processing = "processing"
    extracted = "extracted"
    needs_review = "needs_review"
    verified = "verified"
    failed = "failed"


# Statuses after which the worker has nothing left to do for a document.
FINISHED_STATUSES = frozenset({DocumentStatus.extracted, DocumentStatus.needs_review, DocumentStatus.verified})
TERMINAL_STATUSES = FINISHED_STATUSES | {DocumentStatus.failed}


class ReviewState(enum.StrEnum):
    open = "open"
    closed = "closed"


class CorrectionAction(enum.StrEnum):
    correct = "correct"
    confirm = "confirm"


def _check_in(column: str, values: type[enum.StrEnum]) -> str:
    listed = ", ".join(f"'{v.value}'" for v in values)
    return f"{column} IN ({listed})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        int: Id,
        datetime: UtcDateTime(),
        dict[str, Any]: Json,
        list[Any]: Json,
    }


class ApiKey(Base):
    """A bearer key; only its SHA-256 is stored (keys are 256-bit random, so no slow hash)."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(_check_in("role", Role), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class Batch(Base):
    """One upload session; a document may belong to several (re-uploads are deduplicated)."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BatchDocument(Base):
    __tablename__ = "batch_documents"

    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    filename: Mapped[str] = mapped_column(String(500))
    duplicate: Mapped[bool] = mapped_column(Boolean, default=False)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class Document(Base):
    """An original, identified by its bytes (sha256), and where its extraction stands."""

    __tablename__ = "documents"
    __table_args__ = (CheckConstraint(_check_in("status", DocumentStatus), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(500))
    size_bytes: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default=DocumentStatus.queued, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    # Deliveries of the extract step: bounds the retries of a document that crashes workers.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The worker process running a step of this document, and until when (worker.lease): a
    # step starts only under a lease, renewed while it runs; an expired one means a dead worker.
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[datetime | None] = mapped_column(index=True)
    # Times the sweeper sent the document again (worker.sweeper): a dead worker, a lost message.
    resent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    page_count: Mapped[int | None] = mapped_column(Integer)
    # Copied out of `result` so that listings filter on indexed columns.
    template_id: Mapped[str | None] = mapped_column(String(32), index=True)
    unit_name: Mapped[str | None] = mapped_column(String(300), index=True)
    year: Mapped[int | None] = mapped_column(Integer, index=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(Json)  # ExtractionResult JSON
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    extracted_at: Mapped[datetime | None]

    fields: Mapped[list[FieldRow]] = relationship(
        back_populates="document", order_by="FieldRow.position", passive_deletes=True
    )


class Page(Base):
    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1-based
    width: Mapped[int | None] = mapped_column(Integer)  # pixels of the rendered page image
    height: Mapped[int | None] = mapped_column(Integer)
    dpi: Mapped[float | None] = mapped_column(Double)


class FieldRow(Base):
    """One indicator of one document as the machine read it (one row per catalogue code)."""

    __tablename__ = "fields"
    __table_args__ = (
        UniqueConstraint("document_id", "code"),
        CheckConstraint(_check_in("status", FieldStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # catalogue order
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(20))
    value: Mapped[float | None] = mapped_column(Double)
    text: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Double)
    status: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[Any]] = mapped_column(Json, default=list)
    page: Mapped[int | None] = mapped_column(Integer)
    bbox: Mapped[list[Any] | None] = mapped_column(Json)
    label_read: Mapped[str | None] = mapped_column(Text)
    unit_read: Mapped[str | None] = mapped_column(String(40))

    document: Mapped[Document] = relationship(back_populates="fields")


class ReviewItem(Base):
    """A field, or (with `field_id` null) the report's unit name or year (`subject`), waiting
    for a person.

    `version` is bumped on every change so that a stale decision is refused (409); the lease
    columns let a reviewer hold items for a while (issue 4).
    """

    __tablename__ = "review_items"
    __table_args__ = (
        CheckConstraint(_check_in("state", ReviewState), name="state"),
        CheckConstraint(_check_in("subject", ReportSubject), name="subject"),
        CheckConstraint("(field_id IS NULL) <> (subject IS NULL)", name="field_or_subject"),
        Index("ix_review_items_state_id", "state", "id"),
        UniqueConstraint("document_id", "subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    field_id: Mapped[int | None] = mapped_column(ForeignKey("fields.id", ondelete="CASCADE"), unique=True)
    subject: Mapped[str | None] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default=ReviewState.open)
    version: Mapped[int] = mapped_column(Integer, default=1)
    leased_by: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    lease_expires_at: Mapped[datetime | None]
    # When the current holder took the lease (kept when it renews): start of "seconds per item".
    leased_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]


class Correction(Base):
    """The audit trail: who decided what about a field, when; rows are only ever added."""

    __tablename__ = "corrections"
    __table_args__ = (CheckConstraint(_check_in("action", CorrectionAction), name="action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("fields.id", ondelete="CASCADE"), index=True)
    review_item_id: Mapped[int | None] = mapped_column(ForeignKey("review_items.id", ondelete="SET NULL"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(20))
    old_value: Mapped[float | None] = mapped_column(Double)
    new_value: Mapped[float | None] = mapped_column(Double)
    # The field's reasons when it was decided: per-reason acceptance statistics tune thresholds.
    reasons: Mapped[list[Any] | None] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportCorrection(Base):
    """The audit trail of decisions on the report's unit name and year (rows only added); the
    document's `unit_name`/`year` columns and its result JSON hold the effective values."""

    __tablename__ = "report_corrections"
    __table_args__ = (
        CheckConstraint(_check_in("action", CorrectionAction), name="action"),
        CheckConstraint(_check_in("subject", ReportSubject), name="subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(20))
    review_item_id: Mapped[int | None] = mapped_column(ForeignKey("review_items.id", ondelete="SET NULL"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(20))
    old_text: Mapped[str | None] = mapped_column(String(300))  # a year as its digits
    new_text: Mapped[str | None] = mapped_column(String(300))
    reasons: Mapped[list[Any] | None] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KnownUnit(Base):
    """A reporting unit's name a reviewer confirmed or typed: extraction corroborates or mends
    unit lines with it, beside the gazetteer files (`worker.pipeline.gazetteer`)."""

    __tablename__ = "known_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LabelAlias(Base):
    """A row label as read (normalized) that a reviewer accepted for a code: matching learns it."""

    __tablename__ = "label_aliases"
    __table_args__ = (UniqueConstraint("template_id", "label", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(String(40))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- engines and sessions ----------------------------------------------------------------------


def normalize_url(url: str) -> str:
    """Accept the usual `postgresql://` spelling; the driver installed is psycopg 3."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while the embedded worker writes; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def insert_ignoring_conflicts(
    session: Session, model: type[Base], rows: list[dict[str, Any]], conflict_columns: list[str]
) -> int:
    """INSERT ... ON CONFLICT DO NOTHING on PostgreSQL and SQLite; returns rows inserted.

    The unique key makes a repeated write (a redelivered task, two uploads of the same
    bytes at once) a no-op instead of a duplicate row or an error.
    """
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only the two backends are supported
        raise NotImplementedError(dialect)
    key = list(model.__table__.primary_key.columns)
    statement = insert(model).values(rows).on_conflict_do_nothing(index_elements=conflict_columns).returning(*key)
    return len(session.execute(statement).all())  # rowcount is not reliable here
