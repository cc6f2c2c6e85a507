"""Segment rules: a tag or cell value that puts an imported deal into a client segment.

Revision ID: 0004_segment_rules
Revises: 0003_deals
Create Date: 2026-11-27 23:13:50.818120

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0004_segment_rules"
down_revision = "0003_deals"
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('segment_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('segment', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segment_rules')),
    sa.UniqueConstraint('value', name=op.f('uq_segment_rules_value'))
    )



def downgrade():

    op.drop_table('segment_rules')

