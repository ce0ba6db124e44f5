"""Indicators by month: an index in (month, service) order that covers them

``tracer stats --by service month`` (and the dashboard's monthly figures)
read this index in group order, with no sort, and never the table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 20:40:00
"""
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

COLUMNS = ['received_month', 'service', 'received_at', 'category', 'answered_at', 'deadline', 'delay_seconds',
           'delay_working_seconds']


def upgrade() -> None:
    op.create_index('ix_request_month_service', 'request', COLUMNS, unique=False)


def downgrade() -> None:
    op.drop_index('ix_request_month_service', table_name='request')
