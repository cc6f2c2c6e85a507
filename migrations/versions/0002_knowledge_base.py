"""Knowledge base: sales tools with versions, proposed edits, tags, segments, attachments; search outbox, synonyms, query log.

Revision ID: 0002_knowledge_base
Revises: 0001_accounts
Create Date: 2026-11-27 22:19:49.782707

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0002_knowledge_base"
down_revision = "0001_accounts"
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('search_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tool_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_outbox'))
    )
    with op.batch_alter_table('search_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_outbox_tool_id'), ['tool_id'], unique=False)

    op.create_table('search_synonyms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('terms', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_synonyms'))
    )
    op.create_table('segments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segments')),
    sa.UniqueConstraint('name', name=op.f('uq_segments_name'))
    )
    op.create_table('tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tags')),
    sa.UniqueConstraint('name', name=op.f('uq_tags_name'))
    )
    op.create_table('sales_tools',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('review_by', sa.Date(), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('view_count', sa.Integer(), nullable=False),
    sa.Column('last_viewed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_sales_tools_approved_by_id_users')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_sales_tools_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_tools'))
    )
    with op.batch_alter_table('sales_tools', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sales_tools_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index('ix_sales_tools_status_kind', ['status', 'kind'], unique=False)
        batch_op.create_index('ix_sales_tools_updated_at', ['updated_at'], unique=False)

    op.create_table('search_queries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('query', sa.String(length=200), nullable=False),
    sa.Column('normalized', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('results', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_search_queries_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_queries'))
    )
    with op.batch_alter_table('search_queries', schema=None) as batch_op:
        batch_op.create_index('ix_search_queries_created_at', ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_search_queries_normalized'), ['normalized'], unique=False)

    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tool_id', sa.Integer(), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('stored_name', sa.String(length=80), nullable=False),
    sa.Column('content_type', sa.String(length=120), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('extracted_text', sa.Text(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tool_id'], ['sales_tools.id'], name=op.f('fk_attachments_tool_id_sales_tools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_attachments_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_attachments_stored_name'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_tool_id'), ['tool_id'], unique=False)

    op.create_table('tool_edit_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tool_id', sa.Integer(), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('change_note', sa.String(length=1000), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_tool_edit_proposals_author_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_tool_edit_proposals_decided_by_id_users')),
    sa.ForeignKeyConstraint(['tool_id'], ['sales_tools.id'], name=op.f('fk_tool_edit_proposals_tool_id_sales_tools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tool_edit_proposals'))
    )
    with op.batch_alter_table('tool_edit_proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tool_edit_proposals_tool_id'), ['tool_id'], unique=False)

    op.create_table('tool_segments',
    sa.Column('tool_id', sa.Integer(), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_tool_segments_segment_id_segments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tool_id'], ['sales_tools.id'], name=op.f('fk_tool_segments_tool_id_sales_tools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tool_id', 'segment_id', name=op.f('pk_tool_segments'))
    )
    with op.batch_alter_table('tool_segments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tool_segments_segment_id'), ['segment_id'], unique=False)

    op.create_table('tool_tags',
    sa.Column('tool_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], name=op.f('fk_tool_tags_tag_id_tags'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tool_id'], ['sales_tools.id'], name=op.f('fk_tool_tags_tool_id_sales_tools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tool_id', 'tag_id', name=op.f('pk_tool_tags'))
    )
    with op.batch_alter_table('tool_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tool_tags_tag_id'), ['tag_id'], unique=False)

    op.create_table('tool_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tool_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('change_note', sa.String(length=1000), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_tool_versions_author_id_users')),
    sa.ForeignKeyConstraint(['tool_id'], ['sales_tools.id'], name=op.f('fk_tool_versions_tool_id_sales_tools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tool_versions')),
    sa.UniqueConstraint('tool_id', 'number', name='uq_tool_versions_tool_number')
    )



def downgrade():

    op.drop_table('tool_versions')
    with op.batch_alter_table('tool_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tool_tags_tag_id'))

    op.drop_table('tool_tags')
    with op.batch_alter_table('tool_segments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tool_segments_segment_id'))

    op.drop_table('tool_segments')
    with op.batch_alter_table('tool_edit_proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tool_edit_proposals_tool_id'))

    op.drop_table('tool_edit_proposals')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_tool_id'))

    op.drop_table('attachments')
    with op.batch_alter_table('search_queries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_queries_normalized'))
        batch_op.drop_index('ix_search_queries_created_at')

    op.drop_table('search_queries')
    with op.batch_alter_table('sales_tools', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_tools_updated_at')
        batch_op.drop_index('ix_sales_tools_status_kind')
        batch_op.drop_index(batch_op.f('ix_sales_tools_owner_id'))

    op.drop_table('sales_tools')
    op.drop_table('tags')
    op.drop_table('segments')
    op.drop_table('search_synonyms')
    with op.batch_alter_table('search_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_outbox_tool_id'))

    op.drop_table('search_outbox')

