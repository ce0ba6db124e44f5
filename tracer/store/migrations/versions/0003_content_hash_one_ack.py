"""Message content hash (a reused Message-ID is another message), one acknowledgement per request

Acknowledgements already sent twice for one request (the race this index
closes) keep their rows; all but the first are marked ``ack_duplicate``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 14:52:15.577414
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('same_id_as', sa.Integer(), nullable=True))

    op.execute(
        "UPDATE outbox SET kind = 'ack_duplicate' WHERE kind = 'ack' AND request_id IS NOT NULL AND id NOT IN "
        "(SELECT first_id FROM (SELECT MIN(id) AS first_id FROM outbox WHERE kind = 'ack' GROUP BY request_id) AS firsts)"
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('uq_outbox_ack_request', ['request_id'], unique=True, sqlite_where=sa.text("kind = 'ack'"), postgresql_where=sa.text("kind = 'ack'"))



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('uq_outbox_ack_request', sqlite_where=sa.text("kind = 'ack'"), postgresql_where=sa.text("kind = 'ack'"))

    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('same_id_as')
        batch_op.drop_column('content_hash')

