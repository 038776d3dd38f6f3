"""Bulk provision at the terminal (一括提供, F1-2b; S-23, S-26, S-29, S-30).

``GET /bulk/{file}`` shows the jobs of the requesters the operator acts for (states and counts, no
person), the upload form, the jobs waiting for the head's approval (S-26) and the registered media.
Everything that moves a file or decides is a POST with the CSRF token: the upload (multipart), the
approval or rejection, the download of a result and the output to a medium. The rights, the terminal
check (S-29), the records (S-23) and the operation-log rows are the services' (services/provision/bulk).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from juki.domain.provision import Method
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.files import file_spec
from juki.interfaces.terminal.context import (
    Ctx,
    Requests,
    TerminalWeb,
    file_of,
    page_session,
    posted_session,
    require_logged,
    web_of,
)
from juki.interfaces.terminal.errors import SafeRoute
from juki.services.access import permissions
from juki.services.access.actor import Function
from juki.services.jlis import operator_query
from juki.services.provision.bulk import media, service
from juki.services.provision.bulk.jobs import STATE_LABELS, JobInfo, JobState
from juki.services.provision.bulk.national import NationalAccess
from juki.services.provision.bulk.results import ResultStore, result_directory
from juki.services.provision.catalog import load_catalog

router = APIRouter(route_class=SafeRoute)
FormText = Annotated[str, Form()]
_CHUNK = 1024 * 1024


def _store(web: TerminalWeb) -> ResultStore:
    return ResultStore(result_directory(web.settings))


def _job_id(value: str) -> int:
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise Refusal("T_BULK_JOB_NOT_FOUND")
    return int(text)


def _may_use(ctx: Ctx, file: FileKind) -> bool:
    actor = ctx.signed_in
    return any(permissions.allows(actor, f, file) for f in (Function.BULK_SUBMIT, Function.BULK_APPROVE))


def _page(web: TerminalWeb, ctx: Ctx, file: FileKind, notice: str | None = None) -> Response:
    actor = ctx.signed_in
    if not _may_use(ctx, file):
        require_logged(web, actor, Function.BULK_SUBMIT, file, event="bulk_page")
    submit_for = sorted(service.requesters_of(actor, Function.BULK_SUBMIT, file))
    approve_for = service.requesters_of(actor, Function.BULK_APPROVE, file)
    with web.file_connection(file) as conn:
        catalog = load_catalog(conn)
        jobs = service.jobs_for(conn, actor, file)
        registered = media.list_media(conn, usable_only=True)
    tasks = [
        (code, task.code, task.name)
        for code in submit_for
        for task in catalog.tasks_of(code, file)
        if Method.MEDIA in task.methods_for(file)
    ]
    if notice:
        ctx.view.notices.append(notice)
    return web.renderer.page(
        "bulk.html",
        ctx.view,
        title="一括提供",
        file=file.value,
        server_label=file_spec(file).server_label,
        tasks=tasks,
        jobs=jobs,
        waiting=[
            j for j in jobs if j.state is JobState.AWAITING_APPROVAL and j.requester_code in approve_for
        ],
        can_submit=bool(submit_for),
        media=registered,
        state_labels={s.value: label for s, label in STATE_LABELS.items()},
        approval_rows=web.settings.bulk_approval_rows,
    )


@router.get("/bulk/{file_name}")
def bulk_page(request: Request, file_name: str) -> Response:
    web, ctx = page_session(request)
    return _page(web, ctx, file_of(file_name))


@router.post("/bulk/{file_name}/submit")
async def bulk_submit(
    request: Request,
    file_name: str,
    upload: Annotated[UploadFile, File()],
    csrf_token: FormText = "",
    task: FormText = "",
) -> Response:
    web = web_of(request)
    req = Requests(web)
    ctx = await run_in_threadpool(req.session, request)
    req.check_csrf(request, csrf_token)
    file = file_of(file_name)
    requester, _, task_code = task.partition("/")

    def chunks() -> Iterator[bytes]:
        upload.file.seek(0)
        while chunk := upload.file.read(_CHUNK):
            yield chunk

    def work() -> JobInfo:
        with web.file_connection(file) as conn:
            return service.submit_at_terminal(
                conn, ctx.signed_in, file, requester_code=requester, task_code=task_code, chunks=chunks(),
                file_name=upload.filename or "request.csv", store=_store(web),
                approval_rows=web.settings.bulk_approval_rows, national=_national(web, file),
            )  # fmt: skip

    try:
        job = await run_in_threadpool(work)
    finally:
        await upload.close()
    notice = (
        f"依頼 {job.id}（{job.rows} 件）は件数が多いため、所属長の承認を待っています"
        if job.state is JobState.AWAITING_APPROVAL
        else f"依頼 {job.id}（{job.rows} 件）を処理しました"
    )
    return await run_in_threadpool(_page, web, ctx, file, notice)


def _national(web: TerminalWeb, file: FileKind) -> NationalAccess:
    """J-LIS for the rows our file does not answer, as single provision reaches it."""
    return NationalAccess(
        peer=lambda: operator_query.configured_peer(web.settings, file),
        connect=lambda: web.file_connection(file),
    )


def _decision(
    request: Request, file_name: str, csrf_token: str, job_id: str, note: str, approve: bool
) -> Response:
    web, ctx = posted_session(request, csrf_token)
    file = file_of(file_name)
    with web.file_connection(file) as conn:
        if approve:
            job = service.approve_job(
                conn, ctx.signed_in, file, _job_id(job_id), _store(web), note, national=_national(web, file)
            )
        else:
            job = service.reject_job(conn, ctx.signed_in, file, _job_id(job_id), note)
    verb = "承認し、処理しました" if approve else "却下しました"
    return _page(web, ctx, file, f"依頼 {job.id} を{verb}")


@router.post("/bulk/{file_name}/approve")
def bulk_approve(
    request: Request, file_name: str, csrf_token: FormText = "", job_id: FormText = "", note: FormText = ""
) -> Response:
    return _decision(request, file_name, csrf_token, job_id, note, True)


@router.post("/bulk/{file_name}/reject")
def bulk_reject(
    request: Request, file_name: str, csrf_token: FormText = "", job_id: FormText = "", note: FormText = ""
) -> Response:
    return _decision(request, file_name, csrf_token, job_id, note, False)


@router.post("/bulk/{file_name}/download")
def bulk_download(request: Request, file_name: str, csrf_token: FormText = "", job_id: FormText = "") -> Any:
    web, ctx = posted_session(request, csrf_token)
    file = file_of(file_name)
    with web.file_connection(file) as conn:
        job, path = service.fetch_result(conn, ctx.signed_in, file, _job_id(job_id), _store(web))
    charset = "shift_jis" if job.encoding == "cp932" else "utf-8"
    return FileResponse(path, media_type=f"text/csv; charset={charset}", filename=path.name)


@router.post("/bulk/{file_name}/media")
def bulk_media(
    request: Request, file_name: str, csrf_token: FormText = "", job_id: FormText = "", medium: FormText = ""
) -> Response:
    web, ctx = posted_session(request, csrf_token)
    file = file_of(file_name)
    with web.file_connection(file) as conn:
        out = media.output_to_medium(
            conn, web.settings, ctx.signed_in, file, _job_id(job_id), medium, _store(web)
        )
    return _page(
        web,
        ctx,
        file,
        f"依頼 {out.job_id} の照会結果を暗号化して媒体 {out.medium} に出力しました（{out.path.name}）",
    )
