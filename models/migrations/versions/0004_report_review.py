"""Report review (issue 15): items for the report's unit name and year, their audit trail, and
the unit names reviewers taught.

Documents waiting for review only because of their unit name or year had no item before; one
is opened for each such subject, so that a reviewer can finish them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 17:10:00
"""

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_SUBJECTS = ("unit_name", "year")
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("review_items") as batch:
        batch.add_column(sa.Column("subject", sa.String(length=20), nullable=True))
        batch.create_unique_constraint(batch.f("uq_review_items_document_id_subject"), ["document_id", "subject"])
        batch.create_check_constraint("subject", "subject IN ('unit_name', 'year')")
        batch.create_check_constraint("field_or_subject", "(field_id IS NULL) <> (subject IS NULL)")
    op.create_table(
        "report_corrections",
        sa.Column("id", _ID, nullable=False),
        sa.Column("document_id", _ID, nullable=False),
        sa.Column("subject", sa.String(length=20), nullable=False),
        sa.Column("review_item_id", _ID, nullable=True),
        sa.Column("api_key_id", _ID, nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("old_text", sa.String(length=300), nullable=True),
        sa.Column("new_text", sa.String(length=300), nullable=True),
        sa.Column(
            "reasons", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('correct', 'confirm')", name=op.f("ck_report_corrections_action")),
        sa.CheckConstraint("subject IN ('unit_name', 'year')", name=op.f("ck_report_corrections_subject")),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_report_corrections_api_key_id_api_keys"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_report_corrections_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["review_item_id"],
            ["review_items.id"],
            name=op.f("fk_report_corrections_review_item_id_review_items"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_corrections")),
    )
    op.create_index(op.f("ix_report_corrections_document_id"), "report_corrections", ["document_id"], unique=False)
    op.create_table(
        "known_units",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("api_key_id", _ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_known_units_api_key_id_api_keys"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_units")),
        sa.UniqueConstraint("name", name=op.f("uq_known_units_name")),
    )
    _open_report_items()


def _open_report_items() -> None:
    """An open item for each unit name or year in review of a document waiting for review."""
    connection = op.get_bind()
    documents = sa.table("documents", sa.column("id"), sa.column("status"), sa.column("result"))
    items = sa.table(
        "review_items",
        sa.column("document_id"),
        sa.column("subject"),
        sa.column("state"),
        sa.column("version"),
        sa.column("created_at"),
    )
    rows = connection.execute(
        sa.select(documents.c.id, documents.c.result).where(documents.c.status == "needs_review")
    ).all()
    now = sa.func.now()
    for document_id, result in rows:
        report = (json.loads(result) if isinstance(result, str) else result or {}).get("report") or {}
        for subject in _SUBJECTS:
            if report.get(f"{subject.removesuffix('_name')}_status") == "review":
                connection.execute(
                    items.insert().values(
                        document_id=document_id, subject=subject, state="open", version=1, created_at=now
                    )
                )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("known_units")
    op.drop_index(op.f("ix_report_corrections_document_id"), table_name="report_corrections")
    op.drop_table("report_corrections")
    op.execute("DELETE FROM review_items WHERE subject IS NOT NULL")
    with op.batch_alter_table("review_items") as batch:
        batch.drop_constraint(batch.f("ck_review_items_field_or_subject"), type_="check")
        batch.drop_constraint(batch.f("ck_review_items_subject"), type_="check")
        batch.drop_constraint(batch.f("uq_review_items_document_id_subject"), type_="unique")
        batch.drop_column("subject")
