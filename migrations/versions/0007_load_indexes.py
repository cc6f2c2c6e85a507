"""Indexes for the pages most requested under load: home page counts, related tools, won uses.

Revision ID: 0007_load_indexes
Revises: 0006_jobs
Create Date: 2026-11-28 13:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0007_load_indexes"
down_revision = "0006_jobs"
branch_labels = None
depends_on = None


def upgrade():
    # The home page counted approved, draft and overdue tools over every row, bodies and all.
    op.create_index(
        "ix_sales_tools_status_review_owner",
        "sales_tools",
        ["status", "review_by", "owner_id"],
        unique=False,
    )
    # By tag or segment with the tool id in the index: no table row read per tagged tool.
    # The status of a deal by its id from a narrow index: uses of a tool in won deals.
    op.create_index("ix_deals_id_status", "deals", ["id", "status"], unique=False)
    op.drop_index("ix_tool_tags_tag_id", table_name="tool_tags")
    op.create_index("ix_tool_tags_tag_tool", "tool_tags", ["tag_id", "tool_id"], unique=False)
    op.drop_index("ix_tool_segments_segment_id", table_name="tool_segments")
    op.create_index(
        "ix_tool_segments_segment_tool", "tool_segments", ["segment_id", "tool_id"], unique=False
    )


def downgrade():
    op.drop_index("ix_tool_segments_segment_tool", table_name="tool_segments")
    op.create_index("ix_tool_segments_segment_id", "tool_segments", ["segment_id"], unique=False)
    op.drop_index("ix_tool_tags_tag_tool", table_name="tool_tags")
    op.create_index("ix_tool_tags_tag_id", "tool_tags", ["tag_id"], unique=False)
    op.drop_index("ix_deals_id_status", table_name="deals")
    op.drop_index("ix_sales_tools_status_review_owner", table_name="sales_tools")
