"""Planning meetings: agenda items, deal reviews with tagged tools, action items; drafts remember the meeting they came from; covering indexes for the reports.

Revision ID: 0005_meetings
Revises: 0004_segment_rules
Create Date: 2026-11-28 02:15:20.570002

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0005_meetings"
down_revision = "0004_segment_rules"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('weekly_week', sa.String(length=8), nullable=True),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('minutes_per_deal', sa.Integer(), nullable=False),
    sa.Column('current_deal_id', sa.Integer(), nullable=True),
    sa.Column('current_since', sa.DateTime(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_meetings_closed_by_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_meetings_created_by_id_users')),
    sa.ForeignKeyConstraint(['current_deal_id'], ['deals.id'], name=op.f('fk_meetings_current_deal_id_deals'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_meetings_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meetings')),
    sa.UniqueConstraint('team_id', 'weekly_week', name='uq_meetings_team_weekly_week')
    )
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.create_index('ix_meetings_team_week', ['team_id', 'week'], unique=False)

    op.create_table('meeting_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('suggested', sa.Boolean(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_meeting_items_added_by_id_users')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_meeting_items_deal_id_deals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_meeting_items_meeting_id_meetings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_items')),
    sa.UniqueConstraint('meeting_id', 'deal_id', name='uq_meeting_items_meeting_deal')
    )
    with op.batch_alter_table('meeting_items', schema=None) as batch_op:
        batch_op.create_index('ix_meeting_items_deal', ['deal_id'], unique=False)

    op.create_table('deal_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('key_tool_id', sa.Integer(), nullable=True),
    sa.Column('lesson', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('editing_by_id', sa.Integer(), nullable=True),
    sa.Column('editing_until', sa.DateTime(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_deal_reviews_created_by_id_users')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_deal_reviews_deal_id_deals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['editing_by_id'], ['users.id'], name=op.f('fk_deal_reviews_editing_by_id_users')),
    sa.ForeignKeyConstraint(['key_tool_id'], ['sales_tools.id'], name=op.f('fk_deal_reviews_key_tool_id_sales_tools')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_deal_reviews_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_deal_reviews_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal_reviews')),
    sa.UniqueConstraint('meeting_id', 'deal_id', name='uq_deal_reviews_meeting_deal')
    )
    with op.batch_alter_table('deal_reviews', schema=None) as batch_op:
        batch_op.create_index('ix_deal_reviews_created_at', ['created_at', 'deal_id'], unique=False)
        batch_op.create_index('ix_deal_reviews_deal', ['deal_id'], unique=False)

    op.create_table('action_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('done', sa.Boolean(), nullable=False),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.Column('done_in_meeting_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_action_items_created_by_id_users')),
    sa.ForeignKeyConstraint(['done_in_meeting_id'], ['meetings.id'], name=op.f('fk_action_items_done_in_meeting_id_meetings'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_action_items_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_action_items_owner_id_users')),
    sa.ForeignKeyConstraint(['review_id'], ['deal_reviews.id'], name=op.f('fk_action_items_review_id_deal_reviews'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_action_items_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_items'))
    )
    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.create_index('ix_action_items_owner_done', ['owner_id', 'done'], unique=False)
        batch_op.create_index('ix_action_items_review', ['review_id'], unique=False)
        batch_op.create_index('ix_action_items_team_done', ['team_id', 'done'], unique=False)

    op.create_table('review_tools',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('tool_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_review_tools_created_by_id_users')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_review_tools_deal_id_deals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['review_id'], ['deal_reviews.id'], name=op.f('fk_review_tools_review_id_deal_reviews'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tool_id'], ['sales_tools.id'], name=op.f('fk_review_tools_tool_id_sales_tools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_tools')),
    sa.UniqueConstraint('review_id', 'tool_id', name='uq_review_tools_review_tool')
    )
    with op.batch_alter_table('review_tools', schema=None) as batch_op:
        batch_op.create_index('ix_review_tools_deal', ['deal_id'], unique=False)
        batch_op.create_index('ix_review_tools_tool_deal', ['tool_id', 'deal_id'], unique=False)

    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deals_status_closed_at'))
        batch_op.drop_index(batch_op.f('ix_deals_team_status_closed_at'))
        batch_op.create_index('ix_deals_status_closed_manager_segment', ['status', 'closed_at', 'manager_id', 'segment'], unique=False)
        batch_op.create_index('ix_deals_team_status_closed_manager_segment', ['team_id', 'status', 'closed_at', 'manager_id', 'segment'], unique=False)

    with op.batch_alter_table('sales_tools', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin_meeting_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('origin_deal_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_sales_tools_approved_at', ['approved_at'], unique=False)
        batch_op.create_index('ix_sales_tools_origin', ['origin_meeting_id', 'origin_deal_id'], unique=False)
        batch_op.create_index('ix_sales_tools_title_scan', ['title', 'status', 'owner_id', 'updated_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_sales_tools_origin_meeting_id_meetings'), 'meetings', ['origin_meeting_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_sales_tools_origin_deal_id_deals'), 'deals', ['origin_deal_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('sales_tools', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_sales_tools_origin_deal_id_deals'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_sales_tools_origin_meeting_id_meetings'), type_='foreignkey')
        batch_op.drop_index('ix_sales_tools_title_scan')
        batch_op.drop_index('ix_sales_tools_origin')
        batch_op.drop_index('ix_sales_tools_approved_at')
        batch_op.drop_column('origin_deal_id')
        batch_op.drop_column('origin_meeting_id')

    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.drop_index('ix_deals_team_status_closed_manager_segment')
        batch_op.drop_index('ix_deals_status_closed_manager_segment')
        batch_op.create_index(batch_op.f('ix_deals_team_status_closed_at'), ['team_id', 'status', 'closed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_deals_status_closed_at'), ['status', 'closed_at'], unique=False)

    with op.batch_alter_table('review_tools', schema=None) as batch_op:
        batch_op.drop_index('ix_review_tools_tool_deal')
        batch_op.drop_index('ix_review_tools_deal')

    op.drop_table('review_tools')
    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.drop_index('ix_action_items_team_done')
        batch_op.drop_index('ix_action_items_review')
        batch_op.drop_index('ix_action_items_owner_done')

    op.drop_table('action_items')
    with op.batch_alter_table('deal_reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_deal_reviews_deal')
        batch_op.drop_index('ix_deal_reviews_created_at')

    op.drop_table('deal_reviews')
    with op.batch_alter_table('meeting_items', schema=None) as batch_op:
        batch_op.drop_index('ix_meeting_items_deal')

    op.drop_table('meeting_items')
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_index('ix_meetings_team_week')

    op.drop_table('meetings')
