"""Document leases (issue 16): the worker running a step, its lease's end, sweeper re-sends.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("resent", sa.Integer(), nullable=False, server_default="0"))
        batch.create_index(batch.f("ix_documents_lease_expires_at"), ["lease_expires_at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("documents") as batch:
        batch.drop_index(batch.f("ix_documents_lease_expires_at"))
        batch.drop_column("resent")
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
