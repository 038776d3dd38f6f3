"""The per-file configuration: everything that differs between File 1 and File 2, in one place.

ARCHITECTURE.md §2: both servers share one implementation of each business function and differ
by this configuration, never by branches on the file. A module that needs a table name, the
database role of a file, the national server it talks to, its labels or its requirement IDs reads
them here (`file_spec(kind)`); nothing else keeps a table keyed by file.

Layer: above `domain` and `store` (it names their enums), below `services`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from juki.domain.items import FUHYO_ITEMS, FUHYO_PROVIDED, PREF_ITEMS, PREF_PROVIDED, Item
from juki.domain.peers import PeerRole
from juki.domain.records import (
    FUHYO_CSV_COLUMNS,
    FUHYO_HISTORY_CSV_COLUMNS,
    FUHYO_NOTIFIED_ITEMS,
    PREF_CSV_COLUMNS,
    PREF_HISTORY_CSV_COLUMNS,
    PREF_NOTIFIED_ITEMS,
    FileKind,
    FuhyoStatus,
    RecordStatus,
)
from juki.store.db import DbRole


@dataclass(frozen=True)
class FileSpec:
    """One file's settings. Table names are schema-qualified and safe to compose into SQL."""

    kind: FileKind
    number: int  # REQUIREMENTS numbers File 1's functions F1-n and File 2's F2-n
    label: str  # 本人確認情報 / 附票本人確認情報
    server_label: str  # 都道府県サーバ / 附票都道府県サーバ: the server that holds the file
    national_label: str  # 全国サーバ / 附票全国サーバ: the J-LIS server it reports to and queries
    schema: str
    current_table: str
    history_table: str
    db_role: DbRole  # the login role the file's server connects as (S-35: never the other file's)
    national_peer: PeerRole  # the certificate role of its national server (checked before sending)
    server_peer: PeerRole  # the certificate role this file's server presents as a client
    operator_role: str  # the permission-matrix role that searches and views this file
    present_statuses: frozenset[str]  # record states of a person who is "present" in the file
    ended_status: str
    municipality_column: str  # whose record it is: the municipality that notifies it
    address_municipality_column: str  # the municipality of the address (File 2: '' while abroad)
    notified_items: tuple[str, ...]  # what a 市町村CS may notify (S-38)
    csv_columns: tuple[str, ...]  # bulk-load and reconciliation CSV layout
    history_csv_columns: tuple[str, ...]
    items: tuple[Item, ...]  # the data specification's items (D1-01..28 / D2-01..18)
    provided_items: tuple[str, ...]  # D1-PS / D2-PS
    holds_my_number: bool  # File 1 stores the 個人番号; File 2 never does (only the temporary area)
    #: Whom the statistics of residents (F1-8) may be about: None = every person of the file; else
    #: only versions in these states (LEGAL.md §1: File 2 statistics only about 国外転出者).
    statistics_subject: frozenset[str] | None
    # Residents' rights (LEGAL.md §3, §4): the legal basis printed on a disclosure and a correction
    # answer, and whether the person may ask for the provision status (S-55: File 1 only, A-10).
    disclosure_basis: str = ""
    correction_basis: str = ""
    provision_status_disclosure: bool = False
    # Provision and transfer (F1-2 / F2-2, docs/provision.md): the article the legal paths cite, the
    # paragraph of the provision to other organs, and the methods the file's layout ticks (File 2: no paper).
    provision_article: str = ""
    provision_organ_paragraph: int = 2
    provision_methods: frozenset[str] = frozenset()
    # F2-2's 個人番号 add-on: the record state it applies to (国外転出者) and the temporary area's live
    # view the bridge releases into (S-36); None for a file that holds the number itself.
    my_number_addon_status: str | None = None
    my_number_area: str | None = None
    #: Whom provision and transfer (F1-2 / F2-2, single and bulk) may be about: None = every present
    #: person; else only present persons in these states (LEGAL.md §1, 第30条の44の6: File 2 only for
    #: tasks about 国外転出者). A person outside it is answered 該当なし (reason ``not_subject``).
    provision_subject: frozenset[str] | None = None

    @property
    def value(self) -> str:
        return self.kind.value

    @property
    def cert_name(self) -> str:
        """The name of this file's server certificate in the PKI ("pref-server" / "fuhyo-server"): what
        it presents as a client to its national server, and as the intake's server."""
        return self.server_peer.value.replace("_", "-")

    @property
    def title(self) -> str:
        """How operators see the file named: "本人確認情報（都道府県サーバ）"."""
        return f"{self.label}（{self.server_label}）"

    def requirement(self, function: int) -> str:
        """The requirement ID of this file's function ``function`` (1 update … 8 statistics)."""
        return f"F{self.number}-{function}"

    def table(self, name: str) -> str:
        """A schema-qualified name of one of this file's tables."""
        return f"{self.schema}.{name}"

    @property
    def current(self) -> str:
        return self.table(self.current_table)

    @property
    def history(self) -> str:
        return self.table(self.history_table)

    @property
    def inbox(self) -> str:
        return self.table("notification_inbox")

    @property
    def outbox(self) -> str:
        return self.table("outbox")

    @property
    def seq(self) -> str:
        return self.table("update_seq")

    @property
    def jlis_query_log(self) -> str:
        return self.table("jlis_query_log")

    @property
    def reconciliation_run(self) -> str:
        return self.table("reconciliation_run")

    @property
    def reconciliation_diff(self) -> str:
        return self.table("reconciliation_diff")

    @property
    def provision_record(self) -> str:
        """Provision and transfer records (REC-1, S-21, S-22; migration 0020), in the file's schema."""
        return self.table("provision_record")

    def provision_subject_sql(self, alias: str = "") -> str:
        """A predicate on the current table's `status`: the person may be the subject of provision."""
        column = f"{alias}.status" if alias else "status"
        subject = self.provision_subject if self.provision_subject is not None else self.present_statuses
        states = sorted(subject)
        listed = ", ".join(f"'{s}'" for s in states)
        return f"{column} IN ({listed})"

    @property
    def present_sql(self) -> str:
        """A predicate on the current table's `status`: the person is present in the file."""
        states = ", ".join(f"'{s}'" for s in sorted(self.present_statuses))
        return f"status IN ({states})"


PREF: Final = FileSpec(
    kind=FileKind.PREF,
    number=1,
    label="本人確認情報",
    server_label="都道府県サーバ",
    national_label="全国サーバ",
    schema="pref",
    current_table="identity_current",
    history_table="identity_history",
    db_role=DbRole.PREF,
    national_peer=PeerRole.NATIONAL,
    server_peer=PeerRole.PREF_SERVER,
    operator_role="pref_operator",
    present_statuses=frozenset({RecordStatus.PRESENT.value}),
    ended_status=RecordStatus.ENDED.value,
    municipality_column="municipality_code",
    address_municipality_column="municipality_code",
    notified_items=PREF_NOTIFIED_ITEMS,
    csv_columns=PREF_CSV_COLUMNS,
    history_csv_columns=PREF_HISTORY_CSV_COLUMNS,
    items=PREF_ITEMS,
    provided_items=PREF_PROVIDED,
    holds_my_number=True,
    statistics_subject=None,
    disclosure_basis="住民基本台帳法第30条の32",
    correction_basis="住民基本台帳法第30条の35",
    provision_status_disclosure=True,
    provision_article="第30条の15",
    provision_organ_paragraph=2,
    provision_methods=frozenset({"screen", "paper", "media", "flash", "line"}),
)

FUHYO: Final = FileSpec(
    kind=FileKind.FUHYO,
    number=2,
    label="附票本人確認情報",
    server_label="附票都道府県サーバ",
    national_label="附票全国サーバ",
    schema="fuhyo",
    current_table="fuhyo_current",
    history_table="fuhyo_history",
    db_role=DbRole.FUHYO,
    national_peer=PeerRole.FUHYO_NATIONAL,
    server_peer=PeerRole.FUHYO_SERVER,
    operator_role="fuhyo_operator",
    present_statuses=frozenset({FuhyoStatus.DOMESTIC.value, FuhyoStatus.ABROAD.value}),
    ended_status=FuhyoStatus.ENDED.value,
    municipality_column="fuhyo_municipality_code",
    address_municipality_column="address_municipality_code",
    notified_items=FUHYO_NOTIFIED_ITEMS,
    csv_columns=FUHYO_CSV_COLUMNS,
    history_csv_columns=FUHYO_HISTORY_CSV_COLUMNS,
    items=FUHYO_ITEMS,
    provided_items=FUHYO_PROVIDED,
    holds_my_number=False,
    statistics_subject=frozenset({FuhyoStatus.ABROAD.value}),
    disclosure_basis="住民基本台帳法第30条の44の13（第30条の32の準用）",
    correction_basis="住民基本台帳法第30条の44の13（第30条の35の準用）",
    provision_article="第30条の44の6",
    provision_organ_paragraph=3,
    provision_methods=frozenset({"screen", "media", "flash", "line"}),
    my_number_addon_status=FuhyoStatus.ABROAD.value,
    my_number_area="fuhyo_tmp.my_number_live",
    provision_subject=frozenset({FuhyoStatus.ABROAD.value}),
)

FILES: Final[dict[FileKind, FileSpec]] = {spec.kind: spec for spec in (PREF, FUHYO)}


def file_spec(kind: FileKind | str) -> FileSpec:
    """The configuration of ``kind`` (a FileKind or its value, "pref" / "fuhyo")."""
    return FILES[FileKind(kind)]


def all_files() -> Iterator[FileSpec]:
    """Both files, File 1 first."""
    yield from FILES.values()
