"""the people of team mode: disabled accounts, failed sign-ins, the audit log

Revision ID: 62af46842a7f
Revises: d411d6dc2a09
Create Date: 2026-12-06 18:56:11.663965
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '62af46842a7f'
down_revision: str | Sequence[str] | None = 'd411d6dc2a09'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=True),
    sa.Column('actor', sa.String(length=128), nullable=True),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_account'), ['account'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_created_at'), ['created_at'], unique=False)

    op.create_table('sign_in_failures',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name_key', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_failures_address'), ['address'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_failures_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_failures_name_key'), ['name_key'], unique=False)

    op.create_table('disabled_users',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['username'], ['users.username'], ),
    sa.PrimaryKeyConstraint('username')
    )


def downgrade() -> None:
    op.drop_table('disabled_users')
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_failures_name_key'))
        batch_op.drop_index(batch_op.f('ix_sign_in_failures_created_at'))
        batch_op.drop_index(batch_op.f('ix_sign_in_failures_address'))

    op.drop_table('sign_in_failures')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_created_at'))
        batch_op.drop_index(batch_op.f('ix_audit_log_account'))

    op.drop_table('audit_log')
