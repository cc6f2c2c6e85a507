"""The search interface the rest of Planerka talks to; engines live behind it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class SearchDocument:
    """What the index knows of one sales tool (built from the database)."""

    id: int
    kind: str
    title: str
    summary: str
    body: str  # markdown source
    tags: tuple[str, ...]
    segments: tuple[str, ...]
    status: str  # draft | approved | archived
    owner_id: int | None
    attachment_text: str
    proven_uses: int  # tags in reviews of won deals; 0 until meetings exist
    updated_at: datetime


@dataclass(frozen=True)
class SearchQuery:
    text: str
    kinds: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    # Empty means draft + approved; archived tools appear only when asked for.
    statuses: tuple[str, ...] = ()
    # Who is asking: drafts are shown to their owner, and to everyone when True
    # (leads, heads, admins). Nothing else the viewer may not see is ever counted.
    viewer_id: int | None = None
    viewer_sees_all_drafts: bool = False
    limit: int = 20
    offset: int = 0
    # "Did you mean" for a query that finds little; typeaheads that complete words skip it.
    suggest: bool = True


@dataclass(frozen=True)
class SearchHit:
    id: int
    kind: str
    title: str
    status: str
    snippet_html: str  # escaped text with <mark> around matches; safe to render
    score: float


@dataclass(frozen=True)
class SearchResult:
    total: int
    hits: list[SearchHit]
    suggestion: str | None = None  # "did you mean", for a query that found little
    rebuilding: bool = False  # the index is being rebuilt; results may be partial
    extra: dict = field(default_factory=dict)


class SearchEngine(Protocol):
    def upsert(self, documents: Iterable[SearchDocument]) -> None: ...
    def delete(self, ids: Iterable[int]) -> None: ...
    def search(self, query: SearchQuery) -> SearchResult: ...
    def rebuild(
        self,
        documents: Iterable[SearchDocument],
        total: int,
        progress: Callable[[int], None] | None = None,
    ) -> int: ...
    def set_synonyms(self, groups: list[list[str]]) -> None: ...
    def exists(self) -> bool: ...
    def document_ids(self) -> set[int]: ...
