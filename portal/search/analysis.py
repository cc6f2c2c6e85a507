"""Text analysis for the search index: words, stems, Russian query forms and synonyms.

Indexing uses Snowball stemmers only (PyStemmer, Russian for Cyrillic words, English for
Latin ones): it must keep up with a full rebuild. Queries additionally go through pymorphy3,
whose dictionary knows the forms that stemming cannot join (fleeting vowels: «звонок» and
«звонки», «скидка» and «скидок»), so a query word is expanded to the stems of all its forms.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from functools import lru_cache

import Stemmer
from whoosh.analysis import Token, Tokenizer

# A word is a run of letters or a run of digits: "ТКП-2024-17" gives ткп, 2024, 17 at
# consecutive positions, so the code is found by any part and, as a phrase, as a whole.
WORD_RE = re.compile(r"[^\W\d_]+|\d+")
CYRILLIC_RE = re.compile(r"[а-яё]")
LATIN_RE = re.compile(r"[a-z]")
RUSSIAN_VOWELS = frozenset("аеиоуыэюя")
# Case endings Russian speakers add to abbreviations: «ЛПРа», «ЛПРу», «КПшки» aside.
ABBREVIATION_ENDINGS = (
    "ами",
    "ах",
    "ам",
    "ов",
    "ом",
    "ой",
    "ою",
    "ей",
    "а",
    "у",
    "е",
    "ы",
    "и",
    "ю",
)
# Parses pymorphy3 rates below this are rare readings ("звонок" as a short adjective).
MIN_PARSE_SCORE = 0.1
MAX_PARSES = 3

DEFAULT_SYNONYMS: list[list[str]] = [
    ["кп", "коммерческое предложение"],
    ["ткп", "технико-коммерческое предложение"],
    ["возражение", "отработка возражений"],
    ["лпр", "лицо принимающее решение"],
    ["скрипт", "сценарий разговора"],
    ["холодный звонок", "первичный звонок"],
    ["скидка", "дисконт"],
    ["дожим", "закрытие сделки"],
    ["клиент", "заказчик", "покупатель"],
    ["окупаемость", "roi"],
    ["отгрузка", "поставка"],
    ["кейс", "история успеха"],
    ["crm", "црм"],
]


def normalize(text: str) -> str:
    """Lowercase with ё folded to е: the form queries are logged and compared in."""
    return text.lower().replace("ё", "е")


def normalize_query(text: str) -> str:
    """A query as analytics groups it: normalized, single spaces, trimmed."""
    return " ".join(normalize(text).split())


def iter_words(text: str) -> Iterator[tuple[str, int, int]]:
    """(normalized word, start, end) for every word of ``text``."""
    for match in WORD_RE.finditer(text):
        yield normalize(match.group()), match.start(), match.end()


def words(text: str) -> list[str]:
    return [normalize(m.group()) for m in WORD_RE.finditer(text)]


_local = threading.local()


def _stemmer(language: str) -> Stemmer.Stemmer:
    # PyStemmer objects are not safe to share between threads.
    stemmers = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = _local.stemmers = {}
    stemmer = stemmers.get(language)
    if stemmer is None:
        stemmer = stemmers[language] = Stemmer.Stemmer(language)
    return stemmer


def _strip_abbreviation_ending(word: str) -> str:
    """«лпра» → «лпр»: a vowel-less stem with a case ending is an inflected abbreviation."""
    for ending in ABBREVIATION_ENDINGS:
        if word.endswith(ending):
            stem = word[: -len(ending)]
            if len(stem) >= 2 and not RUSSIAN_VOWELS.intersection(stem):
                return stem
            break
    return word


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The index term of one normalized word (see ``normalize``)."""
    if word.isdigit():
        return word
    if CYRILLIC_RE.search(word):
        if not RUSSIAN_VOWELS.intersection(word):
            return word  # an abbreviation: ЛПР, ТКП
        word = _strip_abbreviation_ending(word)
        if not RUSSIAN_VOWELS.intersection(word):
            return word
        return _stemmer("russian").stemWord(word)
    if LATIN_RE.search(word):
        return _stemmer("english").stemWord(word)
    return word


def index_terms(text: str) -> list[str]:
    """The index terms of ``text`` in order, one per word position."""
    return [stem(normalize(m.group())) for m in WORD_RE.finditer(text)]


_morph_lock = threading.Lock()
_morph = None


def morph_analyzer():
    """One pymorphy3 analyzer per process: loading the dictionary takes a moment."""
    global _morph
    if _morph is None:
        with _morph_lock:
            if _morph is None:
                import pymorphy3

                _morph = pymorphy3.MorphAnalyzer()
    return _morph


@lru_cache(maxsize=20_000)
def query_forms(word: str) -> frozenset[str]:
    """Index terms a normalized query word should match: its stem and, for a Russian word
    the dictionary knows, the stems of all forms of its likely lemmas."""
    terms = {stem(word)}
    if not word.isdigit() and CYRILLIC_RE.search(word) and len(word) > 1:
        parses = morph_analyzer().parse(word)
        for parse in parses[:MAX_PARSES]:
            if not parse.is_known or parse.score < MIN_PARSE_SCORE:
                continue
            for form in parse.lexeme:
                form_word = normalize(form.word)
                if WORD_RE.fullmatch(form_word):
                    terms.add(stem(form_word))
    return frozenset(terms)


class PlanerkaTokenizer(Tokenizer):
    """The same analysis as ``index_terms`` for Whoosh's own machinery (highlighting,
    ``Schema`` introspection). Indexing goes through ``WeightedTextField`` instead."""

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for pos, match in enumerate(WORD_RE.finditer(value)):
            original = match.group()
            token.text = stem(normalize(original))
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = original
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar = start_char + match.start()
                token.endchar = start_char + match.end()
            yield token


def parse_synonym_groups(groups: list[list[str]]) -> list[list[tuple[str, ...]]]:
    """Normalize groups to lists of word tuples, dropping empty terms and lone groups."""
    parsed = []
    for group in groups:
        members = []
        for term in group:
            term_words = tuple(words(term))
            if term_words and term_words not in members:
                members.append(term_words)
        if len(members) > 1:
            parsed.append(members)
    return parsed


def is_known_word(word: str) -> bool:
    """Whether a Russian word is in pymorphy3's dictionary (English words: always)."""
    if not CYRILLIC_RE.search(word):
        return True
    return morph_analyzer().word_is_known(word)


@lru_cache(maxsize=4096)
def dictionary_form(term: str, near: str) -> str | None:
    """The dictionary word with index term ``term`` closest in spelling to ``near``:
    how a corrected stem becomes a word to suggest."""
    if not CYRILLIC_RE.search(term):
        return None
    from itertools import islice

    from whoosh.support.levenshtein import distance

    best = None
    for key in islice(morph_analyzer().dictionary.words.iterkeys(term), 3000):
        word = normalize(key)
        if stem(word) != term:
            continue
        rank = (distance(word, near), len(word), word)
        if best is None or rank < best:
            best = rank
    return best[2] if best else None
