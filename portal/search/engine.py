"""The Whoosh search engine behind ``SearchEngine``: one index directory, rebuilt beside it.

Facts about Whoosh-Reloaded 2.7.5 this module is built around:

* ``Searcher.refresh()`` returns duplicate documents after updates and an optimize, so it
  is never called: a searcher that is no longer ``up_to_date()`` is closed and a new one
  opened.
* ``AsyncWriter`` loses updates and a plain ``writer()`` raises ``LockError`` at once under
  contention, so every write goes through ``ix.writer(timeout=…)``, one at a time.
* Whoosh file objects seek and read; one searcher is therefore shared by the threads of a
  process under a lock (searching is CPU-bound under the GIL anyway) and kept open between
  requests until the index changes.
* Whoosh's own query execution and merging step through postings one Python call at a
  time: too slow for 20,000 tools. Whoosh stores the index (term dictionary, postings,
  stored fields, columns); queries are scored here from whole posting blocks (see
  ``_QueryPlan``), phrases come from word-pair fields, and saves compact small segments
  by indexing their documents again (see ``compaction_plan``).

A rebuild writes a fresh index into a temporary directory beside the live one and swaps
the two with a rename, so searches keep answering from the old index meanwhile. A marker
file beside the index tells writers in every process that a rebuild runs: they leave
their outbox rows for after the swap instead of writing into an index about to vanish.
"""

from __future__ import annotations

import ctypes
import errno
import gc
import heapq
import html
import logging
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import uuid
import warnings
from array import array
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from itertools import accumulate
from math import floor, log, log1p, log10
from pathlib import Path

from whoosh import columns, index
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.fields import COLUMN, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.index import LockError
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.searching import Searcher
from whoosh.support.levenshtein import distance as edit_distance
from whoosh.system import pack_uint
from whoosh.util.filelock import try_for

from ..faults import checkpoint
from .analysis import (
    CYRILLIC_RE,
    WORD_RE,
    PlanerkaTokenizer,
    dictionary_form,
    index_terms,
    is_known_word,
    normalize,
    parse_synonym_groups,
    query_forms,
    stem,
)
from .types import SearchDocument, SearchHit, SearchQuery, SearchResult

__all__ = [
    "IndexCorruptError",
    "IndexMissingError",
    "LockError",
    "RebuildInProgressError",
    "WhooshSearchEngine",
    "markdown_to_plain",
    "rank_factor",
]

logger = logging.getLogger(__name__)

# Bump when the schema or the analysis changes: an index of another version is rebuilt.
SCHEMA_VERSION = "planerka-search-2"
SCHEMA_MARKER = "PLANERKA_SCHEMA"
_TOC_NAME = re.compile(r"_MAIN_\d+\.toc")

# Index-time weights of the parts of the "text" field (BM25F: weighted term frequency).
TITLE_WEIGHT = 6.0
TAGS_WEIGHT = 3.0
SUMMARY_WEIGHT = 2.5
BODY_WEIGHT = 1.0
# Query-time weight of the separate attachment fields.
ATTACHMENT_BOOST = 0.35
BM25_K1 = 1.2
BM25_B = 0.75
# (word field, word-pair field, query boost)
FIELD_PLAN = (("text", "pairs", 1.0), ("attachment", "attachment_pairs", ATTACHMENT_BOOST))
SCORED_FIELDS = ("text", "pairs", "attachment", "attachment_pairs")
POSTINGS_CACHE_BYTES = 48 * 1024 * 1024

APPROVED_FACTOR = 1.25
ARCHIVED_FACTOR = 0.8
PROVEN_WEIGHT = 0.3

SNIPPET_WIDTH = 220
SNIPPET_LEAD = 60
# Attachment text beyond this is not indexed (a 100-page document is about 200,000 characters).
ATTACHMENT_INDEX_CHARS = 200_000
# Snippets look for matches this far into an attachment.
ATTACHMENT_SNIPPET_CHARS = 20_000
MAX_QUERY_UNITS = 8
MAX_LIMIT = 100
# "Did you mean": only words this long, and only when the query found fewer than this.
SUGGEST_MIN_LETTERS = 5
SUGGEST_BELOW = 3

MERGE_FACTOR = 8
AUTO_MERGE_MAX_DOCS = 600
REBUILD_LOCK_WAIT = 60.0
OPEN_ATTEMPTS = 4
# A marker left by a rebuild on another host counts as abandoned after this long untouched.
STALE_MARKER_SECONDS = 2 * 3600

STATUSES = ("draft", "approved", "archived")


class IndexMissingError(RuntimeError):
    """There is no index yet: rebuild it from the database."""


class IndexCorruptError(RuntimeError):
    """The index cannot be opened, or was built by another schema version."""


class RebuildInProgressError(RuntimeError):
    """A rebuild is running; writes wait for it to finish (the outbox keeps them)."""


def rank_factor(status: str, proven_uses: int) -> float:
    """Multiplier of a tool's text score: approved and proven tools first."""
    factor = 1.0 + PROVEN_WEIGHT * log1p(max(proven_uses, 0))
    if status == "approved":
        factor *= APPROVED_FACTOR
    elif status == "archived":
        factor *= ARCHIVED_FACTOR
    return factor


_MD_FENCE = re.compile(r"^\s*(```|~~~).*$", re.MULTILINE)
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MD_LINE_MARKS = re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)", re.MULTILINE)
_MD_EMPHASIS = re.compile(r"(\*{1,3}|_{2,3}|`+|~~)")
_MD_TABLE = re.compile(r"\s*\|\s*")
_SPACES = re.compile(r"\s+")


def markdown_to_plain(text: str) -> str:
    """Markdown source as a person reads it, on one line: what snippets are cut from."""
    text = _MD_FENCE.sub(" ", text)
    text = _MD_IMAGE.sub(r"\1", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_LINE_MARKS.sub("", text)
    text = _MD_EMPHASIS.sub("", text)
    text = _MD_TABLE.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


class WeightedTextField(TEXT):
    """A text field indexed from ``((text, weight), …)`` parts.

    Each part's terms get the part's weight as term frequency (BM25F). With
    ``pairs=True`` the field holds adjacent word pairs instead ("коммерческ предложен"),
    which is how phrases are matched without positions. The analysis is one tight loop
    instead of Whoosh's token pipeline: that is what makes a full rebuild fast enough.
    """

    def __init__(self, pairs: bool = False):
        super().__init__(analyzer=PlanerkaTokenizer(), phrase=False, stored=False)
        self.pairs = pairs

    def index(self, value, **kwargs):
        """``value``: a string, or ``((text or its index_terms() list, weight), …)``."""
        if isinstance(value, str):
            value = ((value, 1.0),)
        freqs: dict[str, int] = defaultdict(int)
        weights: dict[str, float] = defaultdict(float)
        for text, weight in value:
            if not text:
                continue
            terms = text if isinstance(text, list) else index_terms(text)
            if self.pairs:
                terms = [f"{a} {b}" for a, b in zip(terms, terms[1:], strict=False)]
            for term in terms:
                freqs[term] += 1
                weights[term] += weight
        for term, freq in freqs.items():
            yield term.encode("utf-8"), freq, weights[term], pack_uint(freq)


def build_schema() -> Schema:
    return Schema(
        id=ID(stored=True, unique=True),
        kind=ID(stored=True),
        status=ID(stored=True),
        owner=ID,
        tag=KEYWORD(commas=True, scorable=False),
        segment=KEYWORD(commas=True, scorable=False),
        text=WeightedTextField(),
        pairs=WeightedTextField(pairs=True),
        attachment=WeightedTextField(),
        attachment_pairs=WeightedTextField(pairs=True),
        title=STORED,
        summary=STORED,
        body=STORED,  # as plain text
        source=STORED,  # the rest of the document, to index it again when compacting
        rank=COLUMN(columns.NumericColumn("f", default=1.0)),
        updated=COLUMN(columns.NumericColumn("q", default=0)),
        idn=COLUMN(columns.NumericColumn("q", default=0)),
    )


def _facet_value(name: str) -> str:
    return normalize(" ".join(name.replace(",", " ").split()))


def document_fields(doc: SearchDocument) -> dict:
    """The Whoosh fields of one document."""
    updated = doc.updated_at.timestamp() if isinstance(doc.updated_at, datetime) else 0
    return _fields(
        doc_id=doc.id,
        kind=doc.kind,
        status=doc.status,
        owner_id=doc.owner_id,
        title=doc.title or "",
        summary=doc.summary or "",
        body=markdown_to_plain(doc.body or ""),
        tags=tuple(doc.tags),
        segments=tuple(doc.segments),
        attachment=(doc.attachment_text or "")[:ATTACHMENT_INDEX_CHARS],
        proven_uses=doc.proven_uses,
        updated=int(updated),
    )


def _fields_from_stored(stored: dict, updated: int) -> dict:
    """The fields of an indexed document again, from what it stored (see compaction)."""
    source = stored["source"]
    return _fields(
        doc_id=int(stored["id"]),
        kind=stored["kind"],
        status=stored["status"],
        owner_id=source["owner_id"],
        title=stored["title"],
        summary=stored["summary"],
        body=stored["body"],
        tags=source["tags"],
        segments=source["segments"],
        attachment=source["attachment"],
        proven_uses=source["proven_uses"],
        updated=updated,
    )


def _fields(
    *, doc_id, kind, status, owner_id, title, summary, body, tags, segments, attachment,
    proven_uses, updated,
) -> dict:  # fmt: skip
    parts = [(title, TITLE_WEIGHT)]
    parts += [(name, TAGS_WEIGHT) for name in (*tags, *segments)]
    parts += [(summary, SUMMARY_WEIGHT), (body, BODY_WEIGHT)]
    # Analysed once for the word field and the word-pair field.
    sections = tuple((index_terms(text), weight) for text, weight in parts if text)
    attachment_terms = ((index_terms(attachment), 1.0),) if attachment else ()
    return {
        "id": str(doc_id),
        "kind": kind,
        "status": status,
        "owner": "" if owner_id is None else str(owner_id),
        "tag": ",".join(_facet_value(t) for t in tags),
        "segment": ",".join(_facet_value(s) for s in segments),
        "text": sections,
        "pairs": sections,
        "attachment": attachment_terms,
        "attachment_pairs": attachment_terms,
        "title": title,
        "summary": summary,
        "body": body,
        "source": {
            "owner_id": owner_id,
            "tags": tuple(tags),
            "segments": tuple(segments),
            "attachment": attachment,
            "proven_uses": proven_uses,
        },
        "rank": rank_factor(status, proven_uses),
        "updated": updated,
        "idn": int(doc_id),
    }


# Queries


@dataclass(frozen=True)
class _Unit:
    """One required part of a query: alternatives of word sequences (synonyms)."""

    alternatives: tuple[tuple[str, ...], ...]


class _Segment:
    """Per-segment arrays the scorer needs, kept until the segment is merged away."""

    def __init__(self, reader):
        self.reader = reader
        self.id = reader.segment().segment_id()
        self._facets: OrderedDict[tuple[str, str], frozenset[int]] = OrderedDict()
        doc_count = reader.doc_count_all()
        self.factors = list(reader.column_reader("rank"))
        self.updated = list(reader.column_reader("updated"))
        self.lengths = {
            name: [reader.doc_field_length(d, name) or 0 for d in range(doc_count)]
            for name in SCORED_FIELDS
        }
        self._norms: dict[str, tuple[float, list[float]]] = {}

    def norms(self, fieldname: str, average_length: float) -> list[float]:
        """BM25 length normalisation K1·(1 − B + B·length/average) for each document."""
        cached = self._norms.get(fieldname)
        if cached is None or cached[0] != average_length:
            ratio = BM25_K1 * BM25_B / average_length
            base = BM25_K1 * (1 - BM25_B)
            norms = [base + ratio * length for length in self.lengths[fieldname]]
            cached = self._norms[fieldname] = (average_length, norms)
        return cached[1]

    def facet(self, fieldname: str, value: str) -> frozenset[int]:
        """Documents with ``value`` in a filter field, deleted ones included."""
        key = (fieldname, value)
        docs = self._facets.get(key)
        if docs is None:
            docs = self._facets[key] = frozenset(_postings(self.reader, fieldname, value)[0])
            while len(self._facets) > 256:
                self._facets.popitem(last=False)
        return docs

    def close(self) -> None:
        with suppress(Exception):
            self.reader.close()


@dataclass(frozen=True)
class _Leaf:
    """A segment as of one index generation: its deletions are that generation's."""

    reader: object
    base: int  # global number of its first document
    segment: _Segment
    deleted: frozenset[int]


@dataclass
class _OpenIndex:
    """One generation of the index as the process's requests share it, with its caches.

    Its segment readers belong to the engine, which keeps a segment's reader open across
    generations for as long as the segment exists: reopening after a save then costs only
    the new small segment, not the 20,000-document one.
    """

    ix: index.Index
    searcher: object
    inode: int
    leaves: list[_Leaf]
    filters: OrderedDict = field(default_factory=OrderedDict)
    suggestions: dict = field(default_factory=dict)


# Query execution: BM25F over Whoosh's postings, read block by block.
#
# Whoosh's matcher tree steps through postings one Python call per document and field;
# on 20,000 tools a common word then costs a hundred milliseconds, and a phrase several
# times that. The postings are read here a block (128 documents) at a time and scored in
# comprehensions, phrases come from the word-pair fields, and the visible documents are a
# cached set per filter: a query costs a few passes over its terms' posting lists.


class _QueryPlan:
    """A parsed query resolved against the whole index: which terms, and their weights."""

    def __init__(self, reader, units: list[_Unit]):
        doc_count = max(reader.doc_count_all(), 1)
        self.average_length = {
            name: _stable_average(reader.field_length(name) / doc_count) for name in SCORED_FIELDS
        }
        self._reader = reader
        self._doc_count = doc_count
        self.highlight_terms: set[str] = set()
        # units → options (alternatives × fields) → positions (a word, or a word pair of a
        # phrase) → terms [(fieldname, term, BM25 constant)]
        self.units: list[list[list[list[tuple[str, str, float]]]]] = []
        self.possible = True
        for unit in units:
            options = []
            for words in unit.alternatives:
                for word_field, pair_field, boost in FIELD_PLAN:
                    present = [self._present(word_field, word) for word in words]
                    if not all(present):
                        continue
                    if len(words) == 1:
                        positions = [self._weighted(word_field, present[0], boost)]
                    else:  # a phrase: every adjacent pair of its words, in any form
                        positions = []
                        for first, second in zip(present, present[1:], strict=False):
                            pairs = [f"{a} {b}" for a in first for b in second]
                            terms = self._weighted(pair_field, pairs, boost)
                            if not terms:
                                break
                            positions.append(terms)
                        if len(positions) != len(words) - 1:
                            continue
                    options.append(positions)
                    for terms in present:
                        self.highlight_terms.update(terms)
            if not options:
                self.possible = False
                break
            self.units.append(options)
        self.highlight_terms = frozenset(self.highlight_terms)

    def _present(self, fieldname: str, word: str) -> list[str]:
        reader = self._reader
        return sorted(t for t in query_forms(word) if reader.doc_frequency(fieldname, t))

    def _weighted(self, fieldname: str, terms, boost: float) -> list[tuple[str, str, float]]:
        weighted = []
        for term in terms:
            df = self._reader.doc_frequency(fieldname, term)
            if df:
                idf = log(self._doc_count / (df + 1)) + 1
                weighted.append((fieldname, term, idf * (BM25_K1 + 1) * boost))
        return weighted

    def scores(self, reader, segment: _Segment, visible: set[int], cache):
        """(docnums, {docnum: score}) of the segment's visible documents matching every
        unit; the dict may hold more documents than the set."""
        unit_maps = []
        for options in self.units:
            merged: dict[int, float] = {}
            for positions in options:
                position_maps = []
                for terms in positions:
                    found: dict[int, float] = {}
                    for fieldname, term, constant in terms:
                        postings = cache.get(segment, reader, fieldname, term)
                        _accumulate(
                            found,
                            postings,
                            segment,
                            fieldname,
                            constant,
                            self.average_length[fieldname],
                        )
                    if not found:
                        break
                    position_maps.append(found)
                else:
                    option = position_maps[0]
                    if len(position_maps) > 1:
                        docs = option.keys()
                        for other in position_maps[1:]:
                            docs = docs & other.keys()
                        if len(position_maps) == 2:
                            first, second = position_maps
                            option = {d: first[d] + second[d] for d in docs}
                        else:
                            option = {d: sum(m[d] for m in position_maps) for d in docs}
                    merged = _merge(merged, option)
            if not merged:
                return set(), {}
            unit_maps.append(merged)
        unit_maps.sort(key=len)
        docs = unit_maps[0].keys() & visible
        for other in unit_maps[1:]:
            docs &= other.keys()
        if len(unit_maps) == 1:
            return docs, unit_maps[0]
        if len(unit_maps) == 2:
            first, second = unit_maps
            return docs, {d: first[d] + second[d] for d in docs}
        return docs, {d: sum(m[d] for m in unit_maps) for d in docs}


def _stable_average(average: float) -> float:
    """The average field length BM25 normalises by, to three significant digits.

    The per-document scores of every cached posting list depend on it (``_Postings.base``),
    and any save moves the exact average a little: rounded, a save of one tool among
    20,000 leaves it — and the caches — as they were, and the scores differ by < 0.5 %.
    """
    if average <= 0:
        return 1.0
    step = 10.0 ** (floor(log10(average)) - 2)
    return round(average / step) * step


def _merge(a: dict[int, float], b: dict[int, float]) -> dict[int, float]:
    if len(a) < len(b):
        a, b = b, a
    get = a.get
    for docnum, score in b.items():
        a[docnum] = get(docnum, 0.0) + score
    return a


def _accumulate(found, postings, segment, fieldname, constant, average_length) -> None:
    """Add the BM25 scores (times each document's rank factor) of one term's postings."""
    ids = postings.ids
    if not ids:
        return
    base = postings.base(segment, fieldname, average_length)
    if not found:
        found.update(zip(ids, map(constant.__mul__, base), strict=True))
        return
    get = found.get
    for d, b in zip(ids, base, strict=True):
        found[d] = get(d, 0.0) + constant * b


class _Postings:
    """One term's postings in one segment, and their scores before the term's weight."""

    __slots__ = ("ids", "weights", "_base")

    def __init__(self, ids: Sequence[int], weights: Sequence[float]):
        self.ids, self.weights = ids, weights
        self._base: tuple[float, array] | None = None

    def base(self, segment: _Segment, fieldname: str, average_length: float) -> array:
        """w·rank/(w + norm) per posting: a document's BM25 score for the term divided by
        the term's idf·(k1 + 1)·boost. Computed once per average field length (it changes
        only when the index does), so a query multiplies instead of looking up norms."""
        cached = self._base  # one read: another thread may replace it meanwhile
        if cached is None or cached[0] != average_length:
            norms = segment.norms(fieldname, average_length)
            factors = segment.factors
            values = array(
                "d",
                [
                    w * factors[d] / (w + norms[d])
                    for d, w in zip(self.ids, self.weights, strict=True)
                ],
            )
            cached = self._base = (average_length, values)
        return cached[1]


def _postings(reader, fieldname: str, term: str) -> tuple[Sequence[int], Sequence[float]]:
    """Document numbers and weights of a term in one segment, deleted documents included
    (the visible sets exclude them)."""
    if (fieldname, term) not in reader:
        return (), ()
    matcher = reader.postings(fieldname, term)
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
    ids = array("I")
    weights = array("f")
    if isinstance(matcher, W3LeafMatcher) and not matcher._byteids:
        # Whole blocks at once, through Whoosh-Reloaded 2.7.5's block attributes (pinned):
        # its own per-posting calls cost ten times more.
        while matcher.is_active():
            if matcher._data is None:
                matcher._read_data()
            ids.extend(accumulate(matcher._data[0]))  # the ids are delta-encoded
            matcher._read_weights()
            weights.extend(matcher._weights)
            matcher._next_block()
        return ids, weights
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return ids, weights


class _PostingsCache:
    """Decoded postings of recently searched terms, per segment, within a byte budget."""

    def __init__(self, budget_bytes: int = POSTINGS_CACHE_BYTES):
        self.budget = budget_bytes
        self.size = 0
        self._entries: OrderedDict = OrderedDict()

    def get(self, segment: _Segment, reader, fieldname: str, term: str) -> _Postings:
        key = (segment.id, fieldname, term)
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            return entry
        entry = _Postings(*_postings(reader, fieldname, term))
        cost = _cost(entry)
        if cost <= self.budget // 4:
            self._entries[key] = entry
            self.size += cost
            while self.size > self.budget:
                _, old = self._entries.popitem(last=False)
                self.size -= _cost(old)
        return entry

    def retain(self, segment_ids: set[str]) -> None:
        for key in [k for k in self._entries if k[0] not in segment_ids]:
            self.size -= _cost(self._entries.pop(key))


def _cost(postings: _Postings) -> int:
    """Bytes held: ids and weights (4 + 4), scores before the term weight (8), overhead."""
    return 16 * len(postings.ids) + 200


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange_directories(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux renameat2); False when unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(a))


class _TermPool:
    """The postings of a rebuild grouped by term as they arrive, in compact arrays.

    Whoosh's pool sorts every posting tuple and spills sorted runs to disk beyond
    ``limitmb``: at 20,000 tools that halves the rebuild speed, or takes over a gigabyte
    to avoid. Documents are added in order, so each term's postings already are; only
    the terms need sorting.
    """

    def __init__(self):
        self._terms: dict[tuple[str, bytes], tuple[array, array, list]] = {}
        self._values: dict[bytes, bytes] = {}
        self.fieldnames: set[str] = set()

    def add(self, item):
        fieldname, tbytes, docnum, weight, vbytes = item
        entry = self._terms.get((fieldname, tbytes))
        if entry is None:
            entry = self._terms[(fieldname, tbytes)] = (array("I"), array("f"), [])
            self.fieldnames.add(fieldname)
        entry[0].append(docnum)
        entry[1].append(weight)
        entry[2].append(self._values.setdefault(vbytes, vbytes))  # one object per value

    def iter_postings(self):
        terms = self._terms
        for key in sorted(terms):
            fieldname, tbytes = key
            docnums, weights, values = terms.pop(key)
            for docnum, weight, vbytes in zip(docnums, weights, values, strict=True):
                yield fieldname, tbytes, docnum, weight, vbytes

    def cleanup(self):
        self._terms.clear()


def _tune(writer) -> None:
    """Our writers' two departures from Whoosh's defaults.

    Per-block length statistics serve Whoosh's own scorer only (ours reads the per-document
    lengths), and looking up every posting's document length costs a third of a rebuild;
    the grouping pool avoids sorting every posting.
    """
    writer.codec.length_stats = False
    writer.pool = _TermPool()


def compaction_plan(segments) -> list:
    """The small segments a save should fold into its own new segment, if any.

    Segments of similar size (tiers of MERGE_FACTOR) are compacted MERGE_FACTOR at a time,
    and never more than AUTO_MERGE_MAX_DOCS documents in one save. Their documents are
    indexed again from their stored fields (about 1 ms each) rather than merged through
    Whoosh's posting-by-posting merge (about 10 ms each): Whoosh's MERGE_SMALL policy
    re-merged a growing segment on almost every commit, hundreds of milliseconds per save
    at 20,000 tools. Larger segments wait for a rebuild.
    """
    tiers: dict[int, list] = defaultdict(list)
    for segment in segments:
        size = segment.doc_count()
        if 0 < size < AUTO_MERGE_MAX_DOCS:
            tier = 0
            while size >= MERGE_FACTOR:
                size //= MERGE_FACTOR
                tier += 1
            tiers[tier].append(segment)
    for tier in sorted(tiers):
        group = tiers[tier]
        if len(group) >= MERGE_FACTOR and sum(s.doc_count() for s in group) <= AUTO_MERGE_MAX_DOCS:
            return group
    return []


def drop_emptied(writer, segments):
    """Merge policy: keep every segment that still has a live document."""
    return [segment for segment in segments if segment.doc_count() > 0]


class IndexBatch:
    """Changes to apply under the writer lock; written when the ``writer()`` block ends."""

    def __init__(self):
        self._documents: dict[int, SearchDocument] = {}
        self._deleted: set[int] = set()
        self._on_commit: list[Callable[[], None]] = []

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the changes are committed, still under the writer lock
        (the service deletes the outbox rows it applied there)."""
        self._on_commit.append(callback)

    def upsert(self, documents: Iterable[SearchDocument]) -> None:
        for doc in documents:
            self._documents[doc.id] = doc
            self._deleted.discard(doc.id)

    def delete(self, ids: Iterable[int]) -> None:
        for doc_id in ids:
            self._deleted.add(int(doc_id))
            self._documents.pop(int(doc_id), None)

    def __bool__(self) -> bool:
        return bool(self._documents or self._deleted)

    def _write(self, writer) -> None:
        ids = set(self._documents) | self._deleted
        compacting = {segment.segment_id() for segment in compaction_plan(writer.segments)}
        again = []
        with writer.searcher() as searcher:
            for doc_id in ids:
                for docnum in list(searcher.document_numbers(id=str(doc_id))):
                    writer.delete_document(docnum)
            for reader, offset in _leaf_readers(searcher):
                segment = _segment_of(reader)
                if segment is None or segment.segment_id() not in compacting:
                    continue
                updated = reader.column_reader("updated")
                for docnum in reader.all_doc_ids():
                    stored = reader.stored_fields(docnum)
                    if int(stored["id"]) in ids:
                        continue  # replaced or deleted by this batch
                    writer.delete_document(offset + docnum)
                    again.append(_fields_from_stored(stored, updated[docnum]))
        for doc in self._documents.values():
            writer.add_document(**document_fields(doc))
        for fields in again:
            writer.add_document(**fields)


class WhooshSearchEngine:
    """``SearchEngine`` over a Whoosh index in ``index_dir``; one per process and directory."""

    def __init__(
        self,
        index_dir: str | os.PathLike,
        writer_timeout: float = 5.0,
        synonyms: list[list[str]] | None = None,
    ):
        self.path = Path(index_dir).absolute()
        self.writer_timeout = writer_timeout
        self.pid = os.getpid()
        self._search_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._open: _OpenIndex | None = None
        self._segments: dict[str, _Segment] = {}
        self._postings_cache = _PostingsCache()
        self._synonym_index: dict[tuple[str, ...], int] = {}
        self._synonym_groups: list[list[tuple[str, ...]]] = []
        self._synonym_max_words = 1
        if synonyms is not None:
            self.set_synonyms(synonyms)

    # State of the index directory

    @property
    def marker_path(self) -> Path:
        return self.path.parent / f"{self.path.name}.rebuilding"

    def exists(self) -> bool:
        """Whether the directory holds an index (it may still be corrupt: see health())."""
        try:
            names = os.listdir(self.path)
        except OSError:
            return False
        return any(_TOC_NAME.fullmatch(name) for name in names)

    def health(self) -> str:
        """``ok``, ``missing``, ``corrupt`` (or of another schema version) or ``rebuilding``."""
        if not self.exists():
            return "rebuilding" if self.rebuild_in_progress() else "missing"
        try:
            with self._search_lock:
                self._current()  # the shared searcher: cheap when the index is unchanged
        except IndexMissingError:
            return "rebuilding" if self.rebuild_in_progress() else "missing"
        except IndexCorruptError as error:
            logger.warning("Search index at %s is corrupt: %s", self.path, error)
            return "corrupt"
        except Exception:
            logger.warning("Search index at %s cannot be opened", self.path, exc_info=True)
            return "corrupt"
        return "ok"

    def rebuild_in_progress(self) -> bool:
        return self._marker_is_live()

    def _open_index(self) -> index.Index:
        return self._opening(lambda ix: ix)

    def _open_searcher(self):
        return self._opening(lambda ix: ix.searcher())

    def _opening(self, then: Callable):
        """``then(ix)`` on the freshly opened index; open errors become IndexMissingError or
        IndexCorruptError, transient ones after a few attempts."""
        # A writer in another thread or process may commit between our reading the table
        # of contents and opening the files it names, deleting the older ones: such a
        # failure is transient. A corrupt index fails every attempt.
        for attempt in range(OPEN_ATTEMPTS):
            try:
                return self._open_once(then)
            except IndexCorruptError:
                if attempt == OPEN_ATTEMPTS - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def _open_once(self, then: Callable):
        try:
            version = (self.path / SCHEMA_MARKER).read_text().strip()
        except FileNotFoundError:
            if not self.path.exists():
                raise IndexMissingError(str(self.path)) from None
            version = ""
        except OSError as error:
            raise IndexCorruptError(str(error)) from error
        if version != SCHEMA_VERSION:
            raise IndexCorruptError(f"index schema {version or 'unknown'}, need {SCHEMA_VERSION}")
        # Whoosh leaves the table of contents open when it cannot read it; drop that file
        # here, quietly, rather than as a ResourceWarning at some later garbage collection.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                return then(index.open_dir(str(self.path), schema=build_schema()))
            except (IndexMissingError, IndexCorruptError):
                raise
            except index.EmptyIndexError:
                failure = "no table of contents"
            except Exception as error:  # noqa: BLE001 — unreadable in any way means corrupt
                # No traceback is kept (nor logged): it holds the open file.
                failure = repr(error)
            gc.collect()
        if not self.path.exists():
            raise IndexMissingError(str(self.path))
        raise IndexCorruptError(failure)

    # The shared searcher

    def _current(self) -> _OpenIndex:
        """The open searcher, reopened when the index changed. Call with _search_lock."""
        current = self._open
        if current is not None:
            try:
                fresh = os.stat(self.path).st_ino == current.inode and current.searcher.up_to_date()
            except OSError:
                fresh = False
            if fresh:
                return current
            # Never Searcher.refresh() (duplicates after updates and an optimize): a new
            # searcher for the new generation (the stale one holds no files of its own).
            self._open = None
        try:
            # Before opening: a swap in between costs one needless reopen, not a stale one.
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            raise IndexMissingError(str(self.path)) from None
        self._open = self._opening(lambda ix: self._generation(ix, inode))
        return self._open

    def _generation(self, ix, inode: int) -> _OpenIndex:
        """The latest generation, reusing the readers of segments it still has."""
        toc = ix._read_toc()
        opened: list[_Segment] = []
        segments: dict[str, _Segment] = {}
        leaves = []
        base = 0
        try:
            for segment in toc.segments:
                sid = segment.segment_id()
                data = self._segments.get(sid)
                if data is None:
                    reader = SegmentReader(
                        ix.storage, toc.schema, segment, generation=toc.generation
                    )
                    data = _Segment(reader)
                    opened.append(data)
                segments[sid] = data
                leaves.append(_Leaf(data.reader, base, data, frozenset(segment.deleted_docs())))
                base += segment.doc_count_all()
        except BaseException:
            for data in opened:
                data.close()
            raise
        for sid, data in self._segments.items():
            if sid not in segments:
                data.close()  # merged away
        self._segments = segments
        self._postings_cache.retain(set(segments))
        readers = [leaf.reader for leaf in leaves]
        reader = (
            MultiReader(readers, generation=toc.generation) if readers else EmptyReader(toc.schema)
        )
        searcher = Searcher(reader, fromindex=ix, closereader=False)
        return _OpenIndex(ix=ix, searcher=searcher, inode=inode, leaves=leaves)

    def close(self) -> None:
        """Close every reader of the shared searcher (the next search opens new ones)."""
        with self._search_lock:
            self._open = None
            for data in self._segments.values():
                data.close()
            self._segments = {}
            self._postings_cache.retain(set())

    # Synonyms

    def set_synonyms(self, groups: list[list[str]]) -> None:
        parsed = parse_synonym_groups(groups)
        lookup: dict[tuple[str, ...], int] = {}
        for number, members in enumerate(parsed):
            for member in members:
                lookup.setdefault(tuple(stem(w) for w in member), number)
        self._synonym_groups = parsed
        self._synonym_index = lookup
        self._synonym_max_words = max((len(k) for k in lookup), default=1)

    # Searching

    def search(self, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        rebuilding = self.rebuild_in_progress()
        with self._search_lock:
            try:
                current = self._current()
            except (IndexMissingError, IndexCorruptError) as error:
                state = "missing" if isinstance(error, IndexMissingError) else "corrupt"
                return SearchResult(total=0, hits=[], rebuilding=True, extra={"index": state})
            result = self._search(current, query)
        result.extra["took_ms"] = round((time.perf_counter() - started) * 1000, 2)
        if rebuilding:
            return SearchResult(
                total=result.total,
                hits=result.hits,
                suggestion=result.suggestion,
                rebuilding=True,
                extra=result.extra,
            )
        return result

    def _search(self, current: _OpenIndex, sq: SearchQuery) -> SearchResult:
        limit = max(1, min(sq.limit, MAX_LIMIT))
        offset = max(0, sq.offset)
        allowed = self._allowed(current, sq)
        units = self._parse(sq.text)
        if not units:
            if sq.text.strip():
                return SearchResult(total=0, hits=[])
            return self._browse(current, allowed, offset, limit)

        total, hits = self._run(current, units, allowed, offset, limit)
        suggestion = None
        extra: dict = {}
        if total < SUGGEST_BELOW and sq.suggest:
            suggestion = self._suggest(current, sq.text)
            if suggestion:
                fuzzy_total, fuzzy_hits = self._run(
                    current, self._parse(suggestion), allowed, offset, limit
                )
                # Only a correction that finds more of what this viewer may see: the
                # vocabulary also holds words of drafts they must not learn about.
                if fuzzy_total <= total:
                    suggestion = None
                elif total == 0:
                    total, hits = fuzzy_total, fuzzy_hits
                    extra["fuzzy"] = True
                    extra["corrected"] = suggestion
        return SearchResult(total=total, hits=hits, suggestion=suggestion, extra=extra)

    def _run(self, current: _OpenIndex, units, allowed, offset, limit):
        """(total, hits) of the visible documents matching every unit, best first."""
        plan = _QueryPlan(current.searcher.reader(), units)
        if not plan.possible:
            return 0, []
        wanted = offset + limit
        total = 0
        best: list[tuple[float, int, int]] = []  # (score, -global docnum, leaf number)
        for leaf_number, leaf in enumerate(current.leaves):
            visible = allowed[leaf_number]
            if not visible:
                continue
            docs, scores = plan.scores(leaf.reader, leaf.segment, visible, self._postings_cache)
            total += len(docs)
            best.extend(
                (scores[docnum], -(leaf.base + docnum), leaf_number)
                for docnum in heapq.nlargest(wanted, docs, key=scores.__getitem__)
            )
        highlighter = _Highlighter(plan.highlight_terms)
        hits = []
        for score, negative_docnum, leaf_number in heapq.nlargest(wanted, best)[offset:]:
            leaf = current.leaves[leaf_number]
            stored = leaf.reader.stored_fields(-negative_docnum - leaf.base)
            hits.append(_make_hit(stored, score, highlighter))
        return total, hits

    def _browse(self, current: _OpenIndex, allowed, offset, limit) -> SearchResult:
        """No words, only filters: the most recently updated tools first."""
        wanted = offset + limit
        total = 0
        best = []
        for leaf_number, leaf in enumerate(current.leaves):
            visible = allowed[leaf_number]
            total += len(visible)
            updated = leaf.segment.updated
            best.extend(
                (updated[d], -(leaf.base + d), leaf_number)
                for d in heapq.nlargest(wanted, visible, key=updated.__getitem__)
            )
        highlighter = _Highlighter(frozenset())
        hits = []
        for _, negative_docnum, leaf_number in heapq.nlargest(wanted, best)[offset:]:
            leaf = current.leaves[leaf_number]
            stored = leaf.reader.stored_fields(-negative_docnum - leaf.base)
            hits.append(_make_hit(stored, 0.0, highlighter))
        return SearchResult(total=total, hits=hits)

    def _allowed(self, current: _OpenIndex, sq: SearchQuery) -> list[set[int]]:
        """Per leaf, the documents the viewer may see through the query's filters (cached).

        Drafts are visible to their owner, or to everyone with viewer_sees_all_drafts;
        archived tools only when the query asks for them."""
        statuses = tuple(sorted(set(sq.statuses or ("draft", "approved")) & set(STATUSES)))
        key = (
            tuple(sorted(set(sq.kinds))),
            tuple(sorted({_facet_value(t) for t in sq.tags})),
            tuple(sorted({_facet_value(s) for s in sq.segments})),
            statuses,
            sq.viewer_sees_all_drafts,
            None if sq.viewer_sees_all_drafts else sq.viewer_id,
        )
        cached = current.filters.get(key)
        if cached is not None:
            current.filters.move_to_end(key)
            return cached
        kinds, tags, segments = key[0], key[1], key[2]
        allowed = []
        for leaf in current.leaves:
            facet = leaf.segment.facet
            visible: set[int] = set()
            for status in statuses:
                docs = facet("status", status)
                if status == "draft" and not sq.viewer_sees_all_drafts:
                    if sq.viewer_id is None:
                        continue
                    docs = docs & facet("owner", str(sq.viewer_id))
                visible |= docs
            for fieldname, values in (("kind", kinds), ("tag", tags), ("segment", segments)):
                if values and visible:
                    wanted: set[int] = set()
                    for value in values:
                        wanted |= facet(fieldname, value)
                    visible &= wanted
            visible -= leaf.deleted
            allowed.append(visible)
        current.filters[key] = allowed
        while len(current.filters) > 64:
            current.filters.popitem(last=False)
        return allowed

    def _parse(self, text: str) -> list[_Unit]:
        """Query text → required units; synonyms join consecutive words into one unit."""
        chunks = []  # word tuples: a compound ("ткп-2024") or quoted phrase stays together
        for match in re.finditer(r'"([^"]*)"|«([^»]*)»|(\S+)', text):
            part = next(g for g in match.groups() if g is not None)
            chunk = tuple(normalize(m.group()) for m in WORD_RE.finditer(part))
            if chunk:
                chunks.append(chunk)
        chunks = chunks[:MAX_QUERY_UNITS]
        units = []
        i = 0
        while i < len(chunks):
            matched = None
            for j in range(len(chunks), i, -1):
                words = tuple(w for chunk in chunks[i:j] for w in chunk)
                if len(words) > self._synonym_max_words:
                    continue
                group = self._synonym_index.get(tuple(stem(w) for w in words))
                if group is not None:
                    matched = (j, words, group)
                    break
            if matched:
                j, words, group = matched
                alternatives = [words] + [m for m in self._synonym_groups[group] if m != words]
                units.append(_Unit(tuple(alternatives)))
                i = j
            else:
                units.append(_Unit((chunks[i],)))
                i += 1
        return units

    # "Did you mean"

    def _suggest(self, current: _OpenIndex, text: str) -> str | None:
        normalized = normalize(text)
        reader = current.searcher.reader()
        replacements = []
        for match in WORD_RE.finditer(normalized):
            word = match.group()
            if len(word) < SUGGEST_MIN_LETTERS or word.isdigit():
                continue
            correction = current.suggestions.get(word, ...)
            if correction is ...:
                correction = self._correct_word(reader, word)
                if len(current.suggestions) > 2000:
                    current.suggestions.clear()
                current.suggestions[word] = correction
            if correction:
                replacements.append((match.start(), match.end(), correction))
        if not replacements:
            return None
        out, last = [], 0
        for start, end, correction in replacements:
            out.append(normalized[last:start])
            out.append(correction)
            last = end
        out.append(normalized[last:])
        return " ".join("".join(out).split())

    def _correct_word(self, reader, word: str) -> str | None:
        """A more frequent index word one or two edits away, in the query word's form."""
        own_stem = stem(word)
        own_df = sum(reader.doc_frequency("text", t) for t in query_forms(word))
        prefix = 1  # the first letter is rarely wrong; the second often is (вазражения, дагавор)
        best = None
        for maxdist in (1, 2) if len(word) >= 7 else (1,):
            for candidate in reader.terms_within("text", own_stem, maxdist, prefix=prefix):
                if candidate == own_stem:
                    continue
                df = reader.doc_frequency("text", candidate)
                if df <= own_df * 3:
                    continue
                rank = (edit_distance(candidate, own_stem), -df, candidate)
                if best is None or rank < best[0]:
                    best = (rank, candidate)
            if best:
                break
        if best is None:
            return None
        candidate = best[1]
        if word.startswith(own_stem):
            surface = candidate + word[len(own_stem) :]  # the query word's own ending
            if stem(surface) == candidate and is_known_word(surface):
                return surface
        surface = dictionary_form(candidate, word)
        if surface:
            return surface
        if stem(candidate) == candidate and WORD_RE.fullmatch(candidate):
            return candidate
        return None

    # Writing

    @contextmanager
    def writer(self, timeout: float | None = None) -> Iterator[IndexBatch]:
        """Collect changes in the block; they are written, under the index's writer lock,
        when it ends, and the batch's ``on_commit`` callbacks run before the lock is
        released. Raises LockError, IndexMissingError, IndexCorruptError,
        RebuildInProgressError or OSError; nothing is written then."""
        timeout = self.writer_timeout if timeout is None else timeout
        if self.rebuild_in_progress():
            raise RebuildInProgressError(str(self.path))
        deadline = time.monotonic() + timeout
        if not self._write_lock.acquire(timeout=max(timeout, 0.001)):
            raise LockError(f"another thread is writing to {self.path}")
        try:
            ix = self._open_index()
            writer = ix.writer(timeout=max(0.0, deadline - time.monotonic()), delay=0.02)
            _tune(writer)
            try:
                if self.rebuild_in_progress():
                    raise RebuildInProgressError(str(self.path))
                batch = IndexBatch()
                yield batch
                if batch:
                    batch._write(writer)
                    checkpoint("index.before_commit")
                    writer.commit(mergetype=drop_emptied)
                else:
                    writer.cancel()
            except BaseException:
                _abandon(writer)
                raise
            for callback in batch._on_commit:
                callback()
        finally:
            self._write_lock.release()

    def upsert(self, documents: Iterable[SearchDocument]) -> None:
        with self.writer() as batch:
            batch.upsert(documents)

    def delete(self, ids: Iterable[int]) -> None:
        with self.writer() as batch:
            batch.delete(ids)

    def optimize(self) -> None:
        """Merge all segments into one (drops deleted documents)."""
        if self.rebuild_in_progress():
            raise RebuildInProgressError(str(self.path))
        with self._write_lock:
            writer = self._open_index().writer(timeout=self.writer_timeout, delay=0.02)
            _tune(writer)
            try:
                writer.commit(optimize=True)
            except BaseException:
                _abandon(writer)
                raise

    def document_ids(self) -> set[int]:
        return set(self.document_updates())

    def document_updates(self) -> dict[int, int]:
        """{tool id: its updated_at as a Unix timestamp} of every indexed document."""
        updates: dict[int, int] = {}
        with self._open_searcher() as searcher:
            for reader, _ in _leaf_readers(searcher):
                if _segment_of(reader) is None:
                    continue
                ids = reader.column_reader("idn")
                stamps = reader.column_reader("updated")
                for docnum in reader.all_doc_ids():
                    updates[ids[docnum]] = stamps[docnum]
        return updates

    def doc_count(self) -> int:
        with self._open_searcher() as searcher:
            return searcher.doc_count()

    # Rebuilding

    def rebuild(
        self,
        documents: Iterable[SearchDocument],
        total: int,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Index ``documents`` into a new directory and swap it in; returns their number.

        ``progress`` is called with the number of documents added since its previous call
        (``click.progressbar.update`` fits). Searches use the old index meanwhile; writes
        raise RebuildInProgressError until the swap.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._claim_marker()
        try:
            self._remove_leftovers()
            old_lock = self._lock_live_index()
            try:
                count = self._build_and_swap(documents, total, progress)
            finally:
                if old_lock is not None:
                    with suppress(Exception):
                        old_lock.release()
        finally:
            with suppress(FileNotFoundError):
                self.marker_path.unlink()
        return count

    def _build_and_swap(self, documents, total, progress) -> int:
        staging = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.rebuild-", dir=self.path.parent))
        try:
            ix = index.create_in(str(staging), build_schema())
            writer = ix.writer(procs=1, multisegment=False)
            _tune(writer)
            step = max(1, min(500, total // 100 if total else 100))
            count = pending = 0
            try:
                for doc in documents:
                    writer.add_document(**document_fields(doc))
                    count += 1
                    pending += 1
                    if pending >= step:
                        if progress:
                            progress(pending)
                        pending = 0
                        if count % 5000 < step:
                            with suppress(OSError):
                                os.utime(self.marker_path)
                writer.commit(merge=False, optimize=False)
            except BaseException:
                _abandon(writer)
                raise
            if progress and pending:
                progress(pending)
            (staging / SCHEMA_MARKER).write_text(SCHEMA_VERSION + "\n")
            checkpoint("index.before_swap")
            self._swap_in(staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return count

    def _swap_in(self, staging: Path) -> None:
        if not self.path.exists():
            os.rename(staging, self.path)
            return
        if _exchange_directories(staging, self.path):
            shutil.rmtree(staging, ignore_errors=True)  # now holds the old index
            return
        trash = self.path.parent / f".{self.path.name}.old-{uuid.uuid4().hex[:8]}"
        os.rename(self.path, trash)
        os.rename(staging, self.path)
        shutil.rmtree(trash, ignore_errors=True)

    def _lock_live_index(self):
        """Hold the live index's writer lock through the rebuild, so a writer that started
        before the marker appeared finishes (and its rows are read) before the snapshot,
        and none writes into the directory while it is swapped."""
        if not self.path.is_dir():
            return None
        lock = FileStorage(str(self.path)).lock(f"{index._DEF_INDEX_NAME}_WRITELOCK")
        if not try_for(lock.acquire, timeout=REBUILD_LOCK_WAIT, delay=0.05):
            raise LockError(f"a writer holds {self.path} for over {REBUILD_LOCK_WAIT:.0f} s")
        return lock

    def _remove_leftovers(self) -> None:
        for pattern in (f".{self.path.name}.rebuild-*", f".{self.path.name}.old-*"):
            for leftover in self.path.parent.glob(pattern):
                shutil.rmtree(leftover, ignore_errors=True)

    def _claim_marker(self) -> None:
        content = f"{os.getpid()} {socket.gethostname()} {time.time():.0f}\n".encode()
        for _ in range(2):
            try:
                fd = os.open(self.marker_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if self._marker_is_live():
                    raise RebuildInProgressError(str(self.path)) from None
                with suppress(FileNotFoundError):
                    self.marker_path.unlink()
                continue
            with os.fdopen(fd, "wb") as marker:
                marker.write(content)
            return
        raise RebuildInProgressError(str(self.path))

    def _marker_is_live(self) -> bool:
        try:
            content = self.marker_path.read_text().split()
            mtime = self.marker_path.stat().st_mtime
        except FileNotFoundError:
            return False
        except OSError:
            return True
        if len(content) >= 2 and content[1] == socket.gethostname():
            try:
                os.kill(int(content[0]), 0)
            except ProcessLookupError:
                return False
            except (PermissionError, ValueError):
                return True
            return True
        return time.time() - mtime < STALE_MARKER_SECONDS


def _leaf_readers(searcher):
    reader = searcher.reader()
    if reader.is_atomic():
        return [(reader, 0)]
    return reader.leaf_readers()


def _segment_of(reader):
    """The Segment of a leaf reader; None for the reader of an empty index."""
    segment = getattr(reader, "segment", None)
    return segment() if segment is not None else None


def _abandon(writer) -> None:
    """Cancel a writer after a failure, releasing its lock whatever state it is in."""
    try:
        if not writer.is_closed:
            writer.cancel()
    except Exception:
        logger.warning("Could not cancel the search index writer", exc_info=True)
        lock = getattr(writer, "writelock", None)
        if lock is not None:
            with suppress(Exception):
                lock.release()


# Snippets


class _Highlighter:
    """Finds the words of a text whose index term is among the query's matched terms."""

    def __init__(self, terms: frozenset[str]):
        self.terms = terms
        patterns = []
        for term in sorted(terms, key=len, reverse=True):
            if term.isdigit():
                patterns.append(rf"(?<!\d){term}(?!\d)")
                continue
            prefix = term if CYRILLIC_RE.search(term) or len(term) <= 3 else term[:-1]
            prefix = "".join("[её]" if ch == "е" else re.escape(ch) for ch in prefix)
            patterns.append(rf"(?<![^\W\d_]){prefix}[^\W\d_]*")
        self._regex = re.compile("|".join(patterns), re.IGNORECASE) if patterns else None

    def matches(self, text: str) -> list[tuple[int, int, str]]:
        if self._regex is None or not text:
            return []
        found = []
        for match in self._regex.finditer(text):
            term = stem(normalize(match.group()))
            if term in self.terms:
                found.append((match.start(), match.end(), term))
        return found

    def snippet(self, sources: list[str], fallback: str) -> str:
        best = None
        for text in sources:
            found = self.matches(text)
            if not found:
                continue
            window = _best_window(found)
            if best is None or window[0] > best[0]:
                best = (window[0], text, window[1], window[2], found)
        if best is None:
            return _cut(fallback, 0, SNIPPET_WIDTH, [])
        _, text, first, last, found = best
        start = _word_start(text, max(0, found[first][0] - SNIPPET_LEAD))
        end = _word_end(text, max(found[last][1], start + SNIPPET_WIDTH))
        return _cut(text, start, end, [m for m in found if m[0] >= start and m[1] <= end])


def _best_window(found):
    """(quality, first, last) of the match window holding the most distinct terms."""
    best = (-1, 0, 0)
    last = 0
    for first in range(len(found)):
        last = max(last, first)
        while last + 1 < len(found) and found[last + 1][1] - found[first][0] <= SNIPPET_WIDTH:
            last += 1
        distinct = len({m[2] for m in found[first : last + 1]})
        quality = distinct * 1000 + (last - first)
        if quality > best[0]:
            best = (quality, first, last)
    return best


def _word_start(text: str, pos: int) -> int:
    if pos <= 0:
        return 0
    space = text.rfind(" ", max(0, pos - 20), pos)
    return space + 1 if space >= 0 else pos


def _word_end(text: str, pos: int) -> int:
    if pos >= len(text):
        return len(text)
    space = text.find(" ", pos, pos + 20)
    return space if space >= 0 else pos


def _cut(text: str, start: int, end: int, marks) -> str:
    if not text:
        return ""
    end = min(end, len(text))
    if end < len(text) and not marks:
        end = _word_end(text, end)
    out = ["…"] if start > 0 else []
    pos = start
    for mark_start, mark_end, _ in marks:
        out.append(html.escape(text[pos:mark_start]))
        out.append(f"<mark>{html.escape(text[mark_start:mark_end])}</mark>")
        pos = mark_end
    out.append(html.escape(text[pos:end]))
    if end < len(text):
        out.append("…")
    return "".join(out).strip()


def _make_hit(stored: dict, score: float, highlighter: _Highlighter) -> SearchHit:
    summary = stored.get("summary", "")
    body = stored.get("body", "")
    attachment = stored.get("source", {}).get("attachment", "")[:ATTACHMENT_SNIPPET_CHARS]
    snippet = highlighter.snippet([body, summary, _SPACES.sub(" ", attachment)], summary or body)
    return SearchHit(
        id=int(stored["id"]),
        kind=stored.get("kind", ""),
        title=stored.get("title", ""),
        status=stored.get("status", ""),
        snippet_html=snippet,
        score=round(float(score), 4),
    )
