"""The Whoosh engine on a real index in a temporary directory: analysis, ranking, safety."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest

from portal.search.analysis import DEFAULT_SYNONYMS, index_terms, query_forms
from portal.search.engine import (
    IndexMissingError,
    RebuildInProgressError,
    WhooshSearchEngine,
)
from portal.search.types import SearchDocument, SearchQuery

OWNER, OTHER = 7, 8


def doc(
    doc_id: int,
    title: str,
    body: str = "",
    *,
    summary: str = "",
    kind: str = "other",
    status: str = "approved",
    owner: int | None = OWNER,
    tags: tuple[str, ...] = (),
    segments: tuple[str, ...] = (),
    attachment: str = "",
    proven: int = 0,
) -> SearchDocument:
    return SearchDocument(
        id=doc_id,
        kind=kind,
        title=title,
        summary=summary,
        body=body,
        tags=tags,
        segments=segments,
        status=status,
        owner_id=owner,
        attachment_text=attachment,
        proven_uses=proven,
        updated_at=datetime(2024, 11, 27, 12, 0, doc_id % 60, tzinfo=UTC),
    )


@pytest.fixture
def engine(tmp_path):
    engine = WhooshSearchEngine(tmp_path / "index", synonyms=DEFAULT_SYNONYMS)
    yield engine
    engine.close()


def index(engine: WhooshSearchEngine, *docs: SearchDocument) -> None:
    engine.rebuild(list(docs), len(docs))


def found(engine: WhooshSearchEngine, text: str, **kwargs) -> list[int]:
    kwargs.setdefault("viewer_sees_all_drafts", True)
    return [hit.id for hit in engine.search(SearchQuery(text, **kwargs)).hits]


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("Сборник скриптов для входящих", "скрипт"),
        ("Скрипт холодного звонка", "скриптов"),
        ("Скрипты для секретаря", "скрипт"),
        ("Первый звонок клиенту", "звонки"),
        ("Все звонки записываем", "звонок"),
        ("Без звонка не отправляем", "звонок"),
        ("Никаких скидок без согласования", "скидка"),
        ("Скидка до пяти процентов", "скидок"),
        ("Закрыли десять сделок", "сделка"),
        ("Сделка закрыта в срок", "сделок"),
        ("Как выйти на ЛПРа", "ЛПР"),
        ("Найдите ЛПР заранее", "ЛПРа"),
        ("Встреча с ЛПРом", "лпр"),
    ],
)
def test_russian_word_forms_find_each_other(engine, text, query):
    index(engine, doc(1, text), doc(2, "Чек-лист отгрузки оборудования"))
    assert found(engine, query) == [1]


@pytest.mark.parametrize(
    ("text", "query"),
    [("Cold call scripts", "script"), ("A script for the gatekeeper", "scripts"),
     ("Handling objections", "objection"), ("Follow-up emails", "email")],
)  # fmt: skip
def test_english_word_forms_find_each_other(engine, text, query):
    index(engine, doc(1, text), doc(2, "Отработка возражений"))
    assert found(engine, query) == [1]


@pytest.mark.parametrize(("text", "query"), [("Отчёт по звонкам", "отчет"), ("Отчет", "ОТЧЁТ")])
def test_yo_and_e_are_the_same_letter(engine, text, query):
    index(engine, doc(1, text))
    assert found(engine, query) == [1]


def test_query_expansion_covers_fleeting_vowels():
    assert index_terms("звонки")[0] in query_forms("звонок")
    assert index_terms("скидок")[0] in query_forms("скидка")


@pytest.mark.parametrize(
    ("query", "expected"),
    [("ТКП-2024", [1]), ("ТКП-2024-17", [1]), ("2024", [1]), ("ткп 2024", [1]), ("ткп", [1, 2])],
)
def test_codes_are_found_by_their_parts(engine, query, expected):
    index(engine, doc(1, "ТКП-2024-17 на компрессорную станцию"), doc(2, "ТКП-2023-5 на стеллажи"))
    assert sorted(found(engine, query)) == expected


def test_a_code_does_not_match_another_year(engine):
    index(engine, doc(1, "ТКП-2024-17 на компрессорную станцию"))
    assert found(engine, "ТКП-2023") == []


def test_synonyms_match_both_ways(engine):
    index(
        engine,
        doc(1, "Коммерческое предложение для ритейла"),
        doc(2, "Шаблон КП на поставку"),
        doc(3, "Скрипт входящего звонка"),
    )
    assert sorted(found(engine, "КП")) == [1, 2]
    assert sorted(found(engine, "коммерческие предложения")) == [1, 2]


def test_multiword_synonym_matches_as_a_phrase(engine):
    index(engine, doc(1, "Коммерческий директор получил наше предложение"), doc(2, "Шаблон КП"))
    assert found(engine, "кп") == [2]


def test_set_synonyms_replaces_the_groups(engine):
    index(engine, doc(1, "Лид из выставки"), doc(2, "Шаблон КП"))
    engine.set_synonyms([["потенциальный клиент", "лид"]])
    assert found(engine, "потенциальный клиент") == [1]
    assert found(engine, "коммерческое предложение") == []


def test_typo_gets_a_suggestion_and_fuzzy_results(engine):
    index(
        engine,
        doc(1, "Отработка возражения «дорого»"),
        doc(2, "Возражение «я подумаю»"),
        doc(3, "Скрипт холодного звонка"),
    )
    result = engine.search(SearchQuery("возрожение", viewer_sees_all_drafts=True))
    assert result.suggestion == "возражение"
    assert sorted(hit.id for hit in result.hits) == [1, 2]
    assert result.extra.get("fuzzy") is True


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("вазражения", "возражения"), ("кампрессоры", "компрессоры"), ("дагавор", "договор")],
)
def test_a_typo_in_the_second_letter_is_corrected_too(engine, typed, meant):
    index(
        engine,
        doc(1, "Отработка возражения «дорого»"),
        doc(2, "Возражения клиентов о сроках"),
        doc(3, "КП на винтовые компрессоры"),
        doc(4, "Компрессоры для склада: кейс"),
        doc(5, "Договор поставки: шаблон"),
        doc(6, "Договор сервиса: чек-лист"),
    )
    result = engine.search(SearchQuery(typed, viewer_sees_all_drafts=True))
    assert result.suggestion == meant
    assert result.hits


def test_no_suggestion_when_the_query_finds_enough(engine):
    index(engine, *(doc(i, f"Возражение номер {i}") for i in range(1, 5)))
    result = engine.search(SearchQuery("возражение", viewer_sees_all_drafts=True))
    assert result.total == 4
    assert result.suggestion is None


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"kinds": ("script",)}, [1]),
        ({"kinds": ("script", "objection")}, [1, 2]),
        ({"tags": ("холодные звонки",)}, [1, 3]),
        ({"tags": ("Холодные Звонки",)}, [1, 3]),
        ({"segments": ("HoReCa",)}, [2]),
        ({"segments": ("Ритейл",), "tags": ("возражения",)}, [3]),
        ({"statuses": ("draft",)}, [4]),
        ({"statuses": ("archived",)}, [5]),
        ({}, [1, 2, 3, 4]),
    ],
)
def test_filters(engine, filters, expected):
    index(
        engine,
        doc(1, "Звонок: скрипт", kind="script", tags=("холодные звонки",), segments=("Ритейл",)),
        doc(2, "Звонок: возражение", kind="objection", segments=("HoReCa",)),
        doc(3, "Звонок: кейс", kind="case", tags=("холодные звонки", "возражения"),
            segments=("Ритейл",)),
        doc(4, "Звонок: черновик", status="draft"),
        doc(5, "Звонок: архив", status="archived"),
    )  # fmt: skip
    assert sorted(found(engine, "звонок", **filters)) == expected


def test_drafts_of_others_are_neither_shown_nor_counted(engine):
    index(
        engine,
        doc(1, "Секретный скрипт", status="draft", owner=OTHER),
        doc(2, "Мой скрипт", status="draft", owner=OWNER),
        doc(3, "Общий скрипт", status="approved", owner=OTHER),
        doc(4, "Старый скрипт", status="archived", owner=OWNER),
    )
    mine = engine.search(SearchQuery("скрипт", viewer_id=OWNER))
    assert sorted(hit.id for hit in mine.hits) == [2, 3]
    assert mine.total == 2
    stranger = engine.search(SearchQuery("секретный скрипт", viewer_id=99))
    assert (stranger.total, stranger.hits) == (0, [])
    assert sorted(found(engine, "скрипт", viewer_id=None, viewer_sees_all_drafts=False)) == [3]
    assert sorted(found(engine, "скрипт", viewer_id=99)) == [1, 2, 3]  # leads see all drafts
    with_archive = found(
        engine, "скрипт", viewer_id=OWNER, viewer_sees_all_drafts=False,
        statuses=("draft", "approved", "archived"),
    )  # fmt: skip
    assert sorted(with_archive) == [2, 3, 4]


def test_snippets_are_escaped_and_marked(engine):
    index(
        engine,
        doc(
            1,
            "<img src=x onerror=alert(1)>",
            "Перед <script>alert(1)</script> звонком **готовим** план",
        ),
    )
    hit = engine.search(SearchQuery("звонок", viewer_sees_all_drafts=True)).hits[0]
    assert hit.title == "<img src=x onerror=alert(1)>"  # plain text: the template escapes it
    assert "<script" not in hit.snippet_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hit.snippet_html
    assert "<mark>звонком</mark>" in hit.snippet_html
    assert "**" not in hit.snippet_html


def test_snippet_escapes_a_title_match_too(engine):
    index(engine, doc(1, "<img src=x onerror=alert(1)>", summary="<b>Кратко</b> о главном"))
    hit = engine.search(SearchQuery("img", viewer_sees_all_drafts=True)).hits[0]
    assert "<img" not in hit.snippet_html and "<b>" not in hit.snippet_html
    assert hit.snippet_html.startswith("&lt;b&gt;Кратко")


def test_snippet_comes_from_attachment_text(engine):
    index(engine, doc(1, "Прайс", "Смотрите файл", attachment="Окупаемость компрессора 14 месяцев"))
    snippet = engine.search(SearchQuery("окупаемость", viewer_sees_all_drafts=True)).hits[0]
    assert "<mark>Окупаемость</mark>" in snippet.snippet_html


def test_approved_tools_rank_above_drafts_with_the_same_text(engine):
    text = "Скрипт звонка дистрибьютору"
    index(engine, doc(1, text, status="draft"), doc(2, text, status="approved"))
    assert found(engine, "скрипт") == [2, 1]


def test_proven_tools_rank_above_unproven(engine):
    text = "Отработка возражения «дорого»"
    index(engine, doc(1, text), doc(2, text, proven=3), doc(3, text, proven=12))
    assert found(engine, "дорого") == [3, 2, 1]


def test_archived_tools_rank_slightly_lower(engine):
    text = "Скрипт звонка дистрибьютору"
    index(engine, doc(1, text, status="archived"), doc(2, text, status="draft"))
    assert found(engine, "скрипт", statuses=("draft", "archived")) == [2, 1]


def test_title_outranks_tags_summary_body_and_attachment(engine):
    filler = "Общие слова о продажах. " * 3
    index(
        engine,
        doc(1, "Прочее", filler + "окупаемость", summary=filler),
        doc(2, "Прочее", filler, summary=filler, attachment="окупаемость " + filler),
        doc(3, "Окупаемость", filler, summary=filler),
        doc(4, "Прочее", filler, summary="окупаемость " + filler),
        doc(5, "Прочее", filler, summary=filler, tags=("окупаемость",)),
    )
    ranked = found(engine, "окупаемость")
    assert ranked[0] == 3
    assert set(ranked[1:3]) == {4, 5}
    assert ranked[3:] == [1, 2]


def test_searcher_is_reopened_after_updates_without_duplicates(engine):
    index(engine, doc(1, "Скрипт версия 0"), doc(2, "Другой скрипт"))
    assert engine.search(SearchQuery("версия", viewer_sees_all_drafts=True)).total == 1
    for version in range(1, 6):
        engine.upsert([doc(1, f"Скрипт версия {version}")])
        result = engine.search(SearchQuery("версия", viewer_sees_all_drafts=True))
        assert [hit.title for hit in result.hits] == [f"Скрипт версия {version}"]
    engine.optimize()
    engine.upsert([doc(1, "Скрипт версия 6")])
    result = engine.search(SearchQuery("скрипт", viewer_sees_all_drafts=True))
    assert result.total == 2
    assert sorted(hit.title for hit in result.hits) == ["Другой скрипт", "Скрипт версия 6"]
    assert engine.document_ids() == {1, 2}


def test_delete_removes_documents(engine):
    index(engine, doc(1, "Скрипт"), doc(2, "Скрипт номер два"))
    engine.delete([1])
    assert found(engine, "скрипт") == [2]
    assert engine.document_ids() == {2}


def test_pagination(engine):
    index(engine, *(doc(i, f"Скрипт {i}", proven=i) for i in range(1, 8)))
    first = engine.search(SearchQuery("скрипт", viewer_sees_all_drafts=True, limit=3))
    second = engine.search(SearchQuery("скрипт", viewer_sees_all_drafts=True, limit=3, offset=3))
    assert first.total == second.total == 7
    assert [h.id for h in first.hits] == [7, 6, 5]
    assert [h.id for h in second.hits] == [4, 3, 2]


def test_missing_index_answers_rebuilding(engine):
    result = engine.search(SearchQuery("скрипт"))
    assert (result.total, result.hits, result.rebuilding) == (0, [], True)
    assert not engine.exists()
    with pytest.raises(IndexMissingError):
        engine.upsert([doc(1, "Скрипт")])


def test_corrupt_index_is_reported_and_rebuilt(engine):
    index(engine, doc(1, "Скрипт"))
    for path in engine.path.iterdir():
        if path.suffix in (".toc", ".seg"):
            path.write_bytes(b"not an index")
    assert engine.health() == "corrupt"
    assert engine.search(SearchQuery("скрипт")).rebuilding
    index(engine, doc(1, "Скрипт"))
    assert engine.health() == "ok"
    assert found(engine, "скрипт") == [1]


def test_rebuild_swaps_in_while_searches_use_the_old_index(engine):
    index(engine, doc(1, "Старый скрипт"))
    seen = {}

    def documents():
        yield doc(2, "Новый скрипт")
        # Mid-rebuild: searches answer from the old index, writes wait for the swap.
        seen["during"] = engine.search(SearchQuery("скрипт", viewer_sees_all_drafts=True))
        with pytest.raises(RebuildInProgressError):
            engine.upsert([doc(3, "Ещё скрипт")])
        yield doc(4, "Свежий скрипт")

    progress = []
    assert engine.rebuild(documents(), 2, progress.append) == 2
    assert sum(progress) == 2
    assert [h.id for h in seen["during"].hits] == [1] and seen["during"].rebuilding
    assert sorted(found(engine, "скрипт")) == [2, 4]
    assert not engine.rebuild_in_progress()
    assert [p.name for p in engine.path.parent.iterdir()] == [engine.path.name]


def test_rebuild_replaces_a_deleted_directory(engine):
    index(engine, doc(1, "Скрипт"))
    shutil.rmtree(engine.path)
    assert engine.search(SearchQuery("скрипт")).rebuilding
    index(engine, doc(1, "Скрипт"), doc(2, "Скрипт два"))
    assert sorted(found(engine, "скрипт")) == [1, 2]


def test_empty_query_lists_the_newest_visible_tools(engine):
    index(engine, doc(1, "Первый"), doc(2, "Второй"), doc(3, "Черновик", status="draft", owner=9))
    result = engine.search(SearchQuery("", viewer_id=OWNER))
    assert [h.id for h in result.hits] == [2, 1]
    assert result.total == 2


def test_saves_fold_small_segments_without_losing_anything(engine):
    index(engine, doc(1, "Первый скрипт"))
    for n in range(2, 72):
        engine.upsert(
            [
                doc(n, f"Скрипт {n}", f"Текст {n}", tags=(f"тег{n % 3}",), segments=("HoReCa",),
                    status="draft" if n % 10 == 0 else "approved", owner=n,
                    attachment=f"вложение номер {n}", proven=n % 4)
            ]
        )  # fmt: skip
    segments = engine._open_index()._segments()
    assert len(segments) < 2 * 8  # compacted by tiers, not one per save
    result = engine.search(SearchQuery("скрипт", viewer_sees_all_drafts=True, limit=100))
    assert result.total == 71
    assert len({hit.id for hit in result.hits}) == 71
    assert engine.search(SearchQuery("вложение 42", viewer_sees_all_drafts=True)).total == 1
    tagged = engine.search(SearchQuery("скрипт", tags=("тег1",), segments=("horeca",),
                                       viewer_sees_all_drafts=True, limit=100))  # fmt: skip
    assert sorted(hit.id for hit in tagged.hits) == [n for n in range(2, 72) if n % 3 == 1]
    drafts = engine.search(SearchQuery("скрипт", statuses=("draft",), viewer_id=30))
    assert [hit.id for hit in drafts.hits] == [30]
    proven = engine.search(SearchQuery("скрипт 7", viewer_sees_all_drafts=True))
    assert proven.hits[0].id == 7


def test_suggestion_never_reveals_words_of_hidden_drafts(engine):
    index(engine, doc(1, "Сокращение поставщиков", status="draft", owner=OTHER))
    result = engine.search(SearchQuery("сокращине", viewer_id=OWNER))
    assert (result.total, result.hits, result.suggestion) == (0, [], None)
    assert engine.search(SearchQuery("сокращине", viewer_id=OTHER)).suggestion == "сокращение"


def test_a_save_keeps_the_scores_cached_for_the_other_segments(engine):
    """Every cached posting list's scores depend on the average field length; a save moves
    the exact average, the rounded one it scores by stays, so searches after a save reuse
    them instead of computing them again for the whole index."""
    index(engine, *[doc(n, f"Скрипт звонка {n}", "Текст о возражении " * (n % 7 + 1))
                    for n in range(1, 400)])  # fmt: skip
    before = found(engine, "скрипт возражение")
    cached = {key: entry._base for key, entry in engine._postings_cache._entries.items()}
    assert cached and all(base is not None for base in cached.values())

    engine.upsert([doc(5, "Скрипт звонка 5", "Текст о возражении, дополненный")])
    assert found(engine, "скрипт возражение") == before
    after = engine._postings_cache._entries
    kept = [key for key in cached if key in after]
    assert kept  # the big segment's entries survived the save
    assert all(after[key]._base is cached[key] for key in kept)


@pytest.mark.parametrize(
    ("average", "expected"),
    [(0.0, 1.0), (0.4, 0.4), (7.123, 7.12), (57.349, 57.3), (123.456, 123.0), (98765.4, 98800.0)],
)
def test_average_length_is_rounded_to_three_significant_digits(average, expected):
    from portal.search.engine import _stable_average

    assert _stable_average(average) == pytest.approx(expected)
