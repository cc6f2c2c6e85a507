"""Deals from the CRM: deals, stage history, proposal sends, stage mapping, manager aliases, import log.

Revision ID: 0003_deals
Revises: 0002_knowledge_base
Create Date: 2026-11-27 22:36:53.338664

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0003_deals"
down_revision = "0002_knowledge_base"
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('stage_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stage_mappings')),
    sa.UniqueConstraint('stage', name=op.f('uq_stage_mappings_stage'))
    )
    op.create_table('deal_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('error_report', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_deal_imports_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal_imports'))
    )
    op.create_table('deals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('client', sa.String(length=300), nullable=False),
    sa.Column('segment', sa.String(length=80), nullable=True),
    sa.Column('manager_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('stage', sa.String(length=120), nullable=True),
    sa.Column('pipeline', sa.String(length=120), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['manager_id'], ['users.id'], name=op.f('fk_deals_manager_id_users')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_deals_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deals')),
    sa.UniqueConstraint('external_id', name=op.f('uq_deals_external_id'))
    )
    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deals_manager_id'), ['manager_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deals_segment'), ['segment'], unique=False)
        batch_op.create_index('ix_deals_status_closed_at', ['status', 'closed_at'], unique=False)
        batch_op.create_index('ix_deals_team_status_closed_at', ['team_id', 'status', 'closed_at'], unique=False)

    op.create_table('manager_aliases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alias', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_manager_aliases_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manager_aliases')),
    sa.UniqueConstraint('alias', name='uq_manager_aliases_alias')
    )
    op.create_table('deal_stage_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=120), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('amount', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_deal_stage_changes_deal_id_deals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal_stage_changes'))
    )
    with op.batch_alter_table('deal_stage_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deal_stage_changes_deal_id'), ['deal_id'], unique=False)

    op.create_table('proposal_sends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('tool_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('reaction', sa.String(length=20), nullable=False),
    sa.Column('reacted_at', sa.DateTime(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_proposal_sends_created_by_id_users')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_proposal_sends_deal_id_deals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tool_id'], ['sales_tools.id'], name=op.f('fk_proposal_sends_tool_id_sales_tools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_sends'))
    )
    with op.batch_alter_table('proposal_sends', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_sends_deal_id'), ['deal_id'], unique=False)
        batch_op.create_index('ix_proposal_sends_tool_version', ['tool_id', 'version'], unique=False)




def downgrade():

    with op.batch_alter_table('proposal_sends', schema=None) as batch_op:
        batch_op.drop_index('ix_proposal_sends_tool_version')
        batch_op.drop_index(batch_op.f('ix_proposal_sends_deal_id'))

    op.drop_table('proposal_sends')
    with op.batch_alter_table('deal_stage_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deal_stage_changes_deal_id'))

    op.drop_table('deal_stage_changes')
    op.drop_table('manager_aliases')
    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.drop_index('ix_deals_team_status_closed_at')
        batch_op.drop_index('ix_deals_status_closed_at')
        batch_op.drop_index(batch_op.f('ix_deals_segment'))
        batch_op.drop_index(batch_op.f('ix_deals_manager_id'))

    op.drop_table('deals')
    op.drop_table('deal_imports')
    op.drop_table('stage_mappings')

