"""several app processes: a turn's position unique in its call, grading jobs

Revision ID: e620e16af3e7
Revises: 62af46842a7f
Create Date: 2026-12-06 19:01:15.697579
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e620e16af3e7'
down_revision: str | Sequence[str] | None = '62af46842a7f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('grading_jobs',
    sa.Column('turn_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('leased_by', sa.String(length=128), nullable=True),
    sa.Column('leased_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ),
    sa.ForeignKeyConstraint(['turn_id'], ['turns.id'], ),
    sa.PrimaryKeyConstraint('turn_id')
    )
    with op.batch_alter_table('grading_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grading_jobs_leased_until'), ['leased_until'], unique=False)
        batch_op.create_index(batch_op.f('ix_grading_jobs_session_id'), ['session_id'], unique=False)

    with op.batch_alter_table('turns', schema=None) as batch_op:
        batch_op.create_index('ux_turns_session_idx', ['session_id', 'idx'], unique=True)



def downgrade() -> None:
    with op.batch_alter_table('turns', schema=None) as batch_op:
        batch_op.drop_index('ux_turns_session_idx')

    with op.batch_alter_table('grading_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grading_jobs_session_id'))
        batch_op.drop_index(batch_op.f('ix_grading_jobs_leased_until'))

    op.drop_table('grading_jobs')
