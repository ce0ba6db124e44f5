"""Covering index of the web's « Demandes » (the tabs' counts and the list's order); request.parent_id indexed
(« Une demande » lists its follow-ups: it scanned the table)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 20:15:00
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

COLUMNS = ['service', 'answered_at', 'deadline', 'category', 'assignee', 'received_at', 'reference']


def upgrade() -> None:
    with op.batch_alter_table('request', schema=None) as batch_op:
        batch_op.create_index('ix_request_register', COLUMNS, unique=False)
        batch_op.create_index(batch_op.f('ix_request_parent_id'), ['parent_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_parent_id'))
        batch_op.drop_index('ix_request_register')
