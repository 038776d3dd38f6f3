"""Forwarding of searches for persons of other prefectures (F1-2, F2-2): the own file first, then J-LIS.

:func:`search_person` searches the prefecture's own file (current residents only: an ended record —
転出, 死亡 — is not a hit, the person may live elsewhere now), and only when nothing is found there,
the same keys go to the J-LIS server; the result says which source answered. The own file is
searched with the same 4情報 matcher and rules as the J-LIS server (:func:`basic4_where`,
:data:`JLIS_QUERY_RULES`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from juki.domain.codes import is_ascii_digits, is_valid_my_number, normalize_digits
from juki.domain.records import FileKind
from juki.files import file_spec
from juki.services.jlis.client import (
    DEFAULT_MAX_MATCHES,
    JlisClient,
    Match,
    QueryConditionsError,
    SearchKeys,
    TooManyMatches,
    basic4_keys,
)
from juki.services.jlis.communication_records import QueryKind, Requester
from juki.services.registry.rows import row_spec
from juki.services.search.conditions import JLIS_QUERY_RULES
from juki.services.search.matcher import basic4_where

__all__ = ["SearchResult", "Source", "search_local", "search_person"]

#: The function numbers of REQUIREMENTS (FileSpec.requirement): forwarding a search is F1-2 / F2-2.
FORWARDING = 2


class Source(StrEnum):
    LOCAL = "local"  # the prefecture's own file
    NATIONAL = "national"  # the J-LIS server (全国サーバ / 附票全国サーバ)


@dataclass(frozen=True)
class SearchResult:
    """Who answered and what. ``source`` is NATIONAL also when J-LIS found nobody either."""

    source: Source
    kind: QueryKind
    matches: list[Match] = field(default_factory=list)
    log_id: int | None = None  # the communication record, when J-LIS was asked

    @property
    def found(self) -> bool:
        return bool(self.matches)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.value,
            "kind": self.kind.value,
            "count": len(self.matches),
            "matches": [m.to_dict() for m in self.matches],
            "log_id": self.log_id,
        }


def search_local(
    conn: psycopg.Connection[Any],
    file: FileKind | str,
    keys: SearchKeys,
    *,
    max_matches: int = DEFAULT_MAX_MATCHES,
    provision_subject: bool = False,
) -> list[Match]:
    """The current residents of the prefecture's own file matching ``keys`` (ended records are not hits).

    ``conn`` is a connection as the file's role. Raises :class:`TooManyMatches` over ``max_matches``.
    ``provision_subject``: only the persons provision may be about (``FileSpec.provision_subject``).
    """
    spec = file_spec(file)
    params: list[Any]
    if keys.juminhyo_code is not None:
        code = normalize_digits(keys.juminhyo_code.strip())
        if not is_ascii_digits(code, 11):
            raise QueryConditionsError("E_QUERY_VALUE", "住民票コードは 11 桁の数字です")
        where: sql.Composable = sql.SQL("juminhyo_code = %s")
        params = [code]
    elif keys.my_number is not None:
        if not spec.holds_my_number:
            raise QueryConditionsError("E_QUERY_KEY", f"{spec.label}は個人番号で検索できません")
        number = normalize_digits(keys.my_number.strip())
        if not is_valid_my_number(number):
            raise QueryConditionsError("E_QUERY_VALUE", "個人番号が不正です（12 桁、検査用数字）")
        where, params = sql.SQL("my_number = %s"), [number]
    else:
        assert keys.basic4 is not None
        where, params = basic4_where(basic4_keys(keys.basic4))
    query = sql.SQL("SELECT * FROM {} WHERE {} AND {} ORDER BY juminhyo_code LIMIT %s").format(
        sql.SQL(spec.current),
        sql.SQL(spec.provision_subject_sql() if provision_subject else spec.present_sql),
        where,
    )
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query, [*params, max_matches + 1]).fetchall()
    if len(rows) > max_matches:
        raise TooManyMatches(
            JLIS_QUERY_RULES.too_many_code,
            f"該当が {max_matches} 件を超えました。検索条件を絞り込んでください",
        )
    to_record = row_spec(spec.kind).notice
    return [Match(row["juminhyo_code"], to_record(row), row["update_seq"]) for row in rows]


def search_person(
    conn: psycopg.Connection[Any],
    client: JlisClient,
    keys: SearchKeys,
    *,
    requester: Requester | None = None,
    max_matches: int = DEFAULT_MAX_MATCHES,
) -> SearchResult:
    """F1-2 / F2-2: search the prefecture's own file; only when nobody is found there, ask J-LIS.

    ``conn`` is a connection as ``client.file``'s role. A local E_TOO_MANY is raised, not forwarded
    (narrowing the conditions is the answer, not another server). The communication record names
    ``requester`` (default: the client's) and the function F1-2 / F2-2.
    """
    local = search_local(conn, client.file, keys, max_matches=max_matches)
    if local:
        return SearchResult(Source.LOCAL, keys.kind, local)
    result = client.query(keys, requester=requester, function=FORWARDING)
    return SearchResult(Source.NATIONAL, keys.kind, result.matches, result.log_id)
