"""Full-text search of the knowledge base: Whoosh behind the ``SearchEngine`` interface."""

from .service import (
    apply_pending_outbox,
    build_document,
    check_index_consistency,
    ensure_index,
    get_engine,
    index_status,
    init_search,
    rebuild_index,
    record_tool_change,
    register_search_cli,
    search_tools,
)
from .types import SearchDocument, SearchEngine, SearchHit, SearchQuery, SearchResult

__all__ = [
    "SearchDocument",
    "SearchEngine",
    "SearchHit",
    "SearchQuery",
    "SearchResult",
    "apply_pending_outbox",
    "build_document",
    "check_index_consistency",
    "ensure_index",
    "get_engine",
    "index_status",
    "init_search",
    "rebuild_index",
    "record_tool_change",
    "register_search_cli",
    "search_tools",
]
