"""A log row's detail as Japanese text for the review (issue 10 item 8; REQUIREMENTS S-17): every known
key becomes a phrase, an unknown key is still shown with its name, and no raw JSON reaches the page."""

from __future__ import annotations

import re

import pytest

from juki.services.audit.wording import EVENT_WORDS, SHOWN_ON_PAGE, describe, describe_text

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def test_S17_a_search_detail_reads_as_japanese_sentences_in_telling_order() -> None:
    """S-17: the conditions, the count and the persons shown, whatever order jsonb stored them in."""
    detail = {
        "shown": ["12345678901", "22222222222"],
        "conditions": {
            "file": "pref",
            "name": "ヨコハマ　ジロウ",
            "name_match": "prefix",
            "name_part": "family",
            "birth_date": "1990",
            "sex": "1",
            "address": "神奈川県横浜市",
            "include_ended": True,
        },
        "result_count": 2,
    }
    assert describe(detail) == [
        "検索条件: 氏名「ヨコハマ　ジロウ」（氏・前方一致）、生年月日 1990、性別 男、住所「神奈川県横浜市」、消除者を含む",
        "該当 2 件",
        "表示した住民（2 人）の住民票コード: 12345678901、22222222222",
    ]


def test_S17_a_long_result_is_shortened_on_the_page_and_complete_in_the_export() -> None:
    codes = [f"{n:011d}" for n in range(SHOWN_ON_PAGE + 5)]
    page = describe_text({"shown": codes})
    assert "ほか 5 人" in page and codes[-1] not in page
    export = describe_text({"shown": codes}, full=True)
    assert all(code in export for code in codes) and "ほか" not in export


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        (
            {"event": "sign_in", "method": "webauthn", "roles": ["auditor"]},
            "サインイン。認証方式: 生体認証。ロール: 監査担当",
        ),
        (
            {"event": "search", "refusal": "T_FORBIDDEN"},
            "4情報検索。拒否: T_FORBIDDEN この操作を行う権限がありません",
        ),
        ({"result_count": None, "cap": 100}, "該当件数: 上限を超えたため表示なし。上限 100 件"),
        (
            {"event": "log_export", "format": "csv", "rows": 150, "filters": {"operator": "kensaku1"}},
            "操作ログのCSV出力。条件: 操作者ID kensaku1。形式: CSV。出力 150 件",
        ),
        (
            {"event": "view_record", "versions": 2, "result_count": 1},
            "記録の閲覧。該当 1 件。履歴を含め 2 版を表示",
        ),
    ],
)
def test_S17_known_events_and_keys_have_japanese_words(detail: dict[str, object], expected: str) -> None:
    assert describe_text(detail) == expected


def test_S17_unknown_keys_are_shown_labelled_never_as_json() -> None:
    """A detail key nobody taught the formatter still reaches the auditor, with its name."""
    text = describe_text({"event": "something_new", "weird": {"a": [1, 2], "b": None}, "flag": True})
    assert text == "操作（something_new）。その他（weird）: a=1、2、b=なし。その他（flag）: はい"
    assert not any(mark in text for mark in ('{"', "[", "]", '":'))


def test_S17_every_event_word_is_japanese() -> None:
    assert all(JAPANESE.search(word) for word in EVENT_WORDS.values())
    assert describe(None) == [] and describe({}) == []
