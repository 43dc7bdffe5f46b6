"""Review (issue 4): lease start of review items, reasons on corrections, label aliases.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 10:50:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("review_items") as batch:
        batch.add_column(sa.Column("leased_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("corrections") as batch:
        batch.add_column(
            sa.Column(
                "reasons",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
    op.create_table(
        "label_aliases",
        sa.Column("id", _ID, nullable=False),
        sa.Column("template_id", sa.String(length=32), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("api_key_id", _ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_label_aliases_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_aliases")),
        sa.UniqueConstraint("template_id", "label", "code", name=op.f("uq_label_aliases_template_id_label_code")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("label_aliases")
    with op.batch_alter_table("corrections") as batch:
        batch.drop_column("reasons")
    with op.batch_alter_table("review_items") as batch:
        batch.drop_column("leased_at")
