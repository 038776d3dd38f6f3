"""Processing a bulk job, set-based: one join per key type, a count per row, one INSERT … SELECT of the
provision records, one COPY out of the result file (F1-2b, S-21, S-22, S-27).

No row makes a round trip of its own. In one transaction, as the file's role — or, when rows must be
asked of J-LIS, in two, with J-LIS asked between them and no transaction open (:mod:`.national`,
decision 92), the second matching again and taking the stored answers:

1. the rows of a refused task (catalog) get its refusal; rows refused on reading keep theirs;
2. ``bulk_hit``: for each key type, the request rows joined with the file's present records — by
   住民票コード, by 個人番号 (File 1), and by the 4情報 keys through the one matcher's join condition
   (:func:`juki.services.search.matcher.basic4_join`, split by the rows' shape: ``basic4_join_parts``)
   — counted per row, the file's provision subject
   (File 2: 国外転出者) apart from the other present persons (a row finding only those is 該当なし);
3. ``bulk_answer``: each row's result (一致 with exactly one person, 該当なし, 複数該当, or its refusal),
   the person where exactly one was found, and the items given; the rows still 該当なし are asked of
   J-LIS (:mod:`.national`, like single provision) and their answers written back set-based;
4. the provision records of every row, given or refused, in one INSERT … SELECT (records.record_many_from);
5. the result file: one row per request row, in request order, through COPY … TO STDOUT, written in the
   request's encoding to a partial file and synced;
6. the job is marked done with its counts and the result's SHA-256, its staging rows deleted.

Only after the commit is the result file renamed to its final name (results.ResultStore.publish). Any
failure rolls all of it back, removes the partial file and marks the job as failed (エラー).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import psycopg
from psycopg import pq, sql

from juki.domain.provision import RESULT_LABELS, KeyType, ResultCode
from juki.domain.records import FileKind
from juki.files import file_spec
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.jlis.communication_records import Requester
from juki.services.jlis.local_first import Source
from juki.services.provision.bulk.jobs import JobInfo, JobState, Sender, get_job
from juki.services.provision.bulk.journal import log_bulk
from juki.services.provision.bulk.national import (
    NATIONAL_TABLE,
    NationalAccess,
    ask_national,
    mark_national,
    merge_national,
    national_server,
)
from juki.services.provision.bulk.results import ResultStore, ResultWriter
from juki.services.provision.bulk.terms import LINE_TERMINAL, BulkTerms
from juki.services.provision.records import record_many_from
from juki.services.provision.single import NOT_SUBJECT
from juki.services.search.matcher import basic4_join_parts

__all__ = ["RESULT_FIXED_COLUMNS", "StagingLost", "fail_job", "process_job", "result_header"]

#: The result file's columns before the items, and its last column.
RESULT_FIXED_COLUMNS: Final = ("row", "request_ref", "result_code", "result", "detail")
RESULT_LAST_COLUMN: Final = "note"
_HIT: Final = "juki_bulk_hit"
_ANSWER: Final = "juki_bulk_answer"


class StagingLost(RuntimeError):
    """The job's staged rows are not all there (the unlogged table was emptied by a crash): E_BULK_LOST."""


def result_header(terms: BulkTerms) -> str:
    return ",".join((*RESULT_FIXED_COLUMNS, *terms.items, RESULT_LAST_COLUMN)) + "\n"


def _label_case() -> sql.Composable:
    whens = [
        sql.SQL("WHEN {} THEN {}").format(sql.Literal(code.value), sql.Literal(label))
        for code, (label, _) in RESULT_LABELS.items()
    ]
    return sql.SQL("CASE a.result_code {} ELSE a.result_code END").format(sql.SQL(" ").join(whens))


def _match(conn: psycopg.Connection[Any], terms: BulkTerms, job_id: int) -> None:
    """Steps 2 and 3: bulk_hit and bulk_answer (TEMP, dropped at commit)."""
    spec = file_spec(terms.file)
    rows, current = sql.SQL(spec.table("bulk_request_row")), sql.SQL(spec.current)
    present = sql.SQL(spec.present_sql.replace("status", "c.status"))
    # LEGAL.md §1: only the file's provision subject counts (File 2: 国外転出者); a row that finds only
    # persons outside it is 該当なし, its record saying why (not_subject), in the same join.
    subject = sql.SQL(spec.provision_subject_sql("c"))
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE {} (row_no integer PRIMARY KEY, n integer NOT NULL, person text,"
            " n_other integer NOT NULL) ON COMMIT DROP"
        ).format(sql.Identifier(_HIT))
    )
    every: sql.Composable = sql.SQL("true")
    joins: list[tuple[KeyType, sql.Composable, sql.Composable]] = [
        (KeyType.RESIDENT_CODE, every, sql.SQL("c.juminhyo_code = r.juminhyo_code")),
        # The 4情報 rows by their shape, each part the one matcher's condition (basic4_join_parts).
        *((KeyType.BASIC4, which, on) for which, on in basic4_join_parts("r", "c")),
    ]
    if spec.holds_my_number:
        joins.append((KeyType.MY_NUMBER, every, sql.SQL("c.my_number = r.my_number")))
    for key_type, which, on in joins:
        conn.execute(
            sql.SQL(
                "INSERT INTO {hit} SELECT r.row_no, count(*) FILTER (WHERE {subject}),"
                " min(c.juminhyo_code) FILTER (WHERE {subject}), count(*) FILTER (WHERE NOT ({subject}))"
                " FROM {rows} r JOIN {current} c ON {on} AND {present}"
                " WHERE r.job_id = %s AND r.key_type = %s AND r.refusal IS NULL AND ({which})"
                " GROUP BY r.row_no"
            ).format(
                hit=sql.Identifier(_HIT),
                rows=rows,
                current=current,
                on=on,
                present=present,
                subject=subject,
                which=which,
            ),
            (job_id, key_type.value),
        )
    items = sql.SQL("ARRAY[{}]::text[]").format(sql.SQL(", ").join(map(sql.Literal, terms.items)))
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE {answer} ON COMMIT DROP AS"
            " SELECT r.row_no, r.request_ref AS requester_ref, coalesce(r.key_type, '') AS key_type,"
            " CASE WHEN r.refusal IS NOT NULL THEN r.refusal WHEN coalesce(h.n, 0) = 0 THEN 'P_NOT_FOUND'"
            "      WHEN h.n = 1 THEN 'P_MATCH' ELSE 'P_AMBIGUOUS' END AS result_code,"
            " CASE WHEN r.refusal IS NULL AND h.n = 1 THEN h.person END AS juminhyo_code,"
            " CASE WHEN r.refusal IS NULL AND h.n = 1 THEN {items} ELSE '{{}}'::text[] END AS items,"
            " coalesce(r.refusal, CASE WHEN h.n > 1 THEN 'count:' || h.n"
            "      WHEN h.n = 0 AND h.n_other > 0 THEN {not_subject} END, '') AS reason,"
            " r.detail, false AS my_number_added, 'local'::text AS source"
            " FROM {rows} r LEFT JOIN {hit} h ON h.row_no = r.row_no WHERE r.job_id = %s"
        ).format(
            answer=sql.Identifier(_ANSWER),
            items=items,
            rows=rows,
            hit=sql.Identifier(_HIT),
            not_subject=sql.Literal(NOT_SUBJECT),
        ),
        (job_id,),
    )
    # A key and statistics for the answers: the J-LIS step and the result join them with the job's
    # staged rows, whose statistics (shared by every job, analysed by autovacuum) may not know this job
    # yet — without them PostgreSQL took the job for a few rows and scanned the answers once per row
    # (a 1M-row job at 10M spent ten minutes in one UPDATE).
    conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (row_no)").format(sql.Identifier(_ANSWER)))
    conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(_ANSWER)))


def _write_result(
    conn: psycopg.Connection[Any], terms: BulkTerms, job: JobInfo, store: ResultStore
) -> ResultWriter:
    """Step 5: the result rows, in request order, into the job's partial file (synced)."""
    spec = file_spec(terms.file)
    # A local match's items come from our current record, a national one's from J-LIS's answer (never
    # from an ended record of ours: a person who moved away is joined only through the answer).
    item_columns = [
        sql.SQL("coalesce(c.{col}::text, n.record ->> {key})").format(
            col=sql.Identifier(i), key=sql.Literal(i)
        )
        for i in terms.items
    ]
    query = sql.SQL(
        "COPY (SELECT a.row_no, a.requester_ref, a.result_code, {label}, coalesce(a.detail, ''){items}, ''"
        " FROM {answer} a LEFT JOIN {current} c ON c.juminhyo_code = a.juminhyo_code AND a.source = {local}"
        " LEFT JOIN {national} n ON n.row_no = a.row_no AND a.result_code = 'P_MATCH' ORDER BY a.row_no)"
        " TO STDOUT (FORMAT csv)"
    ).format(
        label=_label_case(),
        items=sql.SQL("").join(sql.SQL(", ") + col for col in item_columns),
        answer=sql.Identifier(_ANSWER),
        current=sql.SQL(spec.current),
        local=sql.Literal(Source.LOCAL.value),
        national=sql.Identifier(NATIONAL_TABLE),
    )
    with store.open_part(terms.file, job.id) as out:
        writer = ResultWriter(out, job.encoding)
        writer.header(result_header(terms))
        with conn.cursor() as cur, cur.copy(query) as copy:
            writer.rows_from(copy)
        store.sync(out)
    return writer


def _comm_requester(actor: Actor | None, sender: Sender | None) -> Requester:
    """Who the J-LIS communication records name: the operator, or the line agent (as the records do)."""
    if actor is not None:
        return Requester(actor=actor)
    recorder = BulkTerms.recorder(None, sender)
    return Requester(operator=recorder.login, terminal=recorder.terminal_name or LINE_TERMINAL)


def _counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    rows = conn.execute(
        sql.SQL("SELECT result_code, count(*) FROM {} GROUP BY 1 ORDER BY 1").format(sql.Identifier(_ANSWER))
    ).fetchall()
    return {str(code): int(n) for code, n in rows}


#: Advisory-lock class of a running job (with the job's id): one runner per job, across processes.
_RUN_LOCK: Final = {FileKind.PREF: 0x4A424B31, FileKind.FUHYO: 0x4A424B32}  # "JBK1", "JBK2"


@contextmanager
def _running(conn: psycopg.Connection[Any], file: FileKind, job_id: int) -> Iterator[bool]:
    """Hold the job's session-level advisory lock while it runs (across its two transactions); False
    when another runner has it. Taken and released in short transactions of their own."""
    key = (_RUN_LOCK[file], job_id & 0x7FFFFFFF)
    with conn.transaction():
        row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", key).fetchone()
    held = bool(row and row[0])
    try:
        yield held
    finally:
        if held and not conn.closed:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", key)


def _ready(conn: psycopg.Connection[Any], terms: BulkTerms, job_id: int) -> JobInfo | None:
    """The job, locked for this transaction, when it is still to run (受付) with all its rows staged."""
    spec = file_spec(terms.file)
    job = get_job(conn, terms.file, job_id, requester_code=terms.requester_code, for_update=True)
    if job.state is not JobState.RECEIVED:
        return None
    staged = conn.execute(
        sql.SQL("SELECT count(*) FROM {} WHERE job_id = %s").format(sql.SQL(spec.table("bulk_request_row"))),
        (job_id,),
    ).fetchone()
    if staged is None or int(staged[0]) != job.rows:
        raise StagingLost(job_id)
    return job


def _finish(
    conn: psycopg.Connection[Any],
    terms: BulkTerms,
    job: JobInfo,
    store: ResultStore,
    *,
    actor: Actor | None,
    sender: Sender | None,
    cannot: str | None,
) -> None:
    """Steps 3 (J-LIS's stored answers) to 6, in the job's closing transaction, after :func:`_match`."""
    spec = file_spec(terms.file)
    asked = merge_national(conn, terms, job.id, _ANSWER, cannot)
    counts = _counts(conn)
    given = counts.get(ResultCode.MATCH.value, 0)
    seq = log_bulk(
        conn,
        actor,
        sender,
        function=Function.BULK_SUBMIT,
        file=terms.file,
        outcome=Outcome.ALLOW if terms.refusal is None else Outcome.REJECTED,
        target=f"bulk_job:{job.id}",
        detail={
            "event": "bulk_process",
            "rows": job.rows,
            "provided": given,
            "counts": counts,
            "national": asked,
        },
    )
    record_many_from(
        conn,
        terms.file,
        _ANSWER,
        terms.recorder(actor, sender),
        terms.basis,
        method=terms.method,
        bulk_job_id=job.id,
        op_log_seq=seq,
    )
    writer = _write_result(conn, terms, job, store)
    name = store.path(terms.file, job.id).name
    conn.execute(
        sql.SQL(
            "UPDATE {} SET state = 'done', processed_at = now(), result_name = %s, result_sha256 = %s,"
            " result_rows = %s, counts = %s WHERE id = %s"
        ).format(sql.SQL(spec.table("bulk_job"))),
        (name, writer.sha256, writer.rows, psycopg.types.json.Jsonb(counts), job.id),
    )
    conn.execute(
        sql.SQL("DELETE FROM {} WHERE job_id = %s").format(sql.SQL(spec.table("bulk_request_row"))),
        (job.id,),
    )


def process_job(
    conn: psycopg.Connection[Any],
    terms: BulkTerms,
    job_id: int,
    store: ResultStore,
    *,
    actor: Actor | None,
    sender: Sender | None,
    national: NationalAccess | None = None,
) -> JobInfo:
    """Run a job that is ready (受付: below the threshold, or approved); return it as done.

    ``actor`` is the operator whose action started the run (the submitter, or the head who approved),
    None for the line agent (``sender`` names it). A job in another state, or one another runner is
    running, is returned unchanged. ``national`` reaches J-LIS for the rows our file does not answer
    (:mod:`.national`); None answers them P_UNAVAILABLE.

    ``conn`` must have no transaction open: the job runs in transactions of its own, and none is open
    while J-LIS answers (decision 92).
    """
    if conn.info.transaction_status is not pq.TransactionStatus.IDLE:
        raise RuntimeError("process_job needs a connection with no transaction open")
    spec = file_spec(terms.file)
    server, cannot = national_server(national)
    with _running(conn, terms.file, job_id) as held:
        if not held:
            return get_job(conn, terms.file, job_id, requester_code=terms.requester_code)
        try:
            finished = False
            with conn.transaction():
                job = _ready(conn, terms, job_id)
                if job is None:
                    return get_job(conn, terms.file, job_id, requester_code=terms.requester_code)
                if terms.refusal is not None:
                    # The catalog's order (Catalog.check): a task not permitted refuses every row; a
                    # method not allowed refuses the rows that were not already refused for their key
                    # or input.
                    every = terms.refusal is ResultCode.NOT_PERMITTED
                    conn.execute(
                        sql.SQL(
                            "UPDATE {} SET refusal = %s WHERE job_id = %s AND (%s OR refusal IS NULL)"
                        ).format(sql.SQL(spec.table("bulk_request_row"))),
                        (terms.refusal.value, job_id, every),
                    )
                _match(conn, terms, job_id)
                if server is None or mark_national(conn, terms, job_id, _ANSWER) == 0:
                    # Nothing to ask of J-LIS: the job ends in this one transaction.
                    _finish(conn, terms, job, store, actor=actor, sender=sender, cannot=cannot)
                    finished = True
            if not finished:
                # The marks are committed; J-LIS is asked with no transaction open.
                ask_national(conn, terms, job_id, national, _comm_requester(actor, sender))
                with conn.transaction():
                    job = _ready(conn, terms, job_id)
                    if job is None:
                        return get_job(conn, terms.file, job_id, requester_code=terms.requester_code)
                    _match(conn, terms, job_id)
                    _finish(conn, terms, job, store, actor=actor, sender=sender, cannot=None)
        except BaseException:
            store.discard(terms.file, job_id)
            raise
    store.publish(terms.file, job_id)
    return get_job(conn, terms.file, job_id, requester_code=terms.requester_code)


def fail_job(conn: psycopg.Connection[Any], file: FileKind, job_id: int, code: str, message: str) -> None:
    """Mark a job that could not be processed as failed (エラー) and drop its staging rows."""
    spec = file_spec(file)
    with conn.transaction():
        conn.execute(
            sql.SQL(
                "UPDATE {} SET state = 'error', error_code = %s, error_message = %s, processed_at = now()"
                " WHERE id = %s AND state IN ('received', 'awaiting_approval')"
            ).format(sql.SQL(spec.table("bulk_job"))),
            (code, message, job_id),
        )
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE job_id = %s").format(sql.SQL(spec.table("bulk_request_row"))),
            (job_id,),
        )
