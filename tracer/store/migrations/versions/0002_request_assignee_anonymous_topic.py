"""request: assignee and anonymous; complaints and suggestions always carry a topic

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('request') as batch:
        batch.add_column(sa.Column('assignee', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch.add_column(sa.Column('anonymous', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index('ix_request_assignee', ['assignee'], unique=False)
    # INTERFACE.md: a reclamation or suggestion always has a topic (autre when nothing fits),
    # other categories have none
    op.execute("UPDATE request SET topic = 'autre' WHERE category IN ('reclamation', 'suggestion') AND topic IS NULL")
    op.execute("UPDATE request SET topic = NULL WHERE (category IS NULL OR category NOT IN ('reclamation', 'suggestion')) AND topic IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('request') as batch:
        batch.drop_index('ix_request_assignee')
        batch.drop_column('anonymous')
        batch.drop_column('assignee')
