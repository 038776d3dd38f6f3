"""`juki demo`, residents' rights step: the resident / counter simulator (SIM-6) lodges disclosure
requests (some matching nobody, some ambiguous), the counter matches and issues the signed forms,
a resident asks for a correction, the 市町村CS simulator answers the inquiry over mTLS, and the
answer letter is printed. The forms go to ``<data dir>/demo/forms`` (synthetic persons only).

The simulated counter clerk works through the console channel (no operator session: the operation
log names it ``system:console`` with the login "sim-counter"); at the terminal a person does the
same through the counter pages (開示請求（窓口）).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from juki.domain.offices import Offices
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.domain.rights import CorrectionKind, RequestKind
from juki.files import PREF
from juki.interfaces.common import console
from juki.interfaces.disclosure_forms import correction_letter_form, disclosure_form, provision_status_form
from juki.interfaces.forms import document_signer, render_form, sign_pdf
from juki.peers.municipal import MunicipalCsSimulator, requested_values_decision
from juki.peers.residents import simulated_requests
from juki.services.access.actor import Actor, TerminalKind
from juki.services.access.pki import Pki
from juki.services.disclosure import corrections
from juki.services.disclosure.issue import issue_disclosure, issue_provision_status
from juki.services.disclosure.matching import match_request
from juki.services.disclosure.provision_source import provision_lines
from juki.services.disclosure.requests import register_request
from juki.store.db import Database

__all__ = ["run_residents_rights"]


def _clerk() -> Actor:
    return Actor(
        operator_id=0,
        login="sim-counter",
        roles=frozenset({"counter"}),
        terminal_id=0,
        terminal_name="sim",
        terminal_kind=TerminalKind.REPRESENTATIVE,
        bulk_enabled=False,
        system="console",
    )


def run_residents_rights(
    db: Database, pki: Pki, intake_url: str, out_dir: Path, offices: Offices, requests: int = 20
) -> None:
    """Run SIM-6 against the running system and print what happened (step "4b"); the forms name
    ``offices`` (the demo's prefecture's)."""
    clerk = _clerk()
    signer = document_signer(pki)
    out_dir.mkdir(parents=True, exist_ok=True)
    got: Counter[str] = Counter()
    wrong = 0
    first_issued: str | None = None
    with db.connect(PREF.db_role, autocommit=True) as conn:
        for sim in simulated_requests(db, requests, offices=offices):
            req = register_request(conn, clerk, FileKind.PREF, sim.given, offices=offices)
            outcome = match_request(conn, clerk, FileKind.PREF, req.id)
            result = outcome.refusal_code or "matched"
            got[sim.kind + "→" + result] += 1
            wrong += result != sim.expected
            if outcome.refusal_code:
                continue
            if req.kind is RequestKind.PROVISION_STATUS:
                form = provision_status_form(
                    issue_provision_status(conn, clerk, FileKind.PREF, req.id, provision_lines),
                    offices=offices,
                )
            else:
                record = issue_disclosure(conn, clerk, FileKind.PREF, req.id)
                form = disclosure_form(record, offices=offices)
                first_issued = first_issued or req.request_no
            (out_dir / f"{req.kind.value}-{req.request_no}.pdf").write_bytes(
                sign_pdf(render_form(form), signer, reason=offices.signature_reason)
            )
        shown = "、".join(f"{outcome} {count}" for outcome, count in sorted(got.items()))
        console.print(f"4b. 住民・窓口シミュレータ（SIM-6）: 開示請求 {sum(got.values())} 件（{shown}）")
        console.print(
            "    期待どおりの照合結果です（一人に特定できないものは不開示、候補の一覧は出しません）"
            if not wrong
            else f"    [red]期待と異なる照合結果が {wrong} 件あります[/red]"
        )
        if first_issued is None:
            return
        try:
            case = corrections.register_case(
                conn,
                clerk,
                FileKind.PREF,
                corrections.CaseInput(
                    first_issued, CorrectionKind.CORRECTION, ["address"], "住所の番地の記載が違う", {}
                ),
            )
            corrections.send_inquiry(conn, clerk, FileKind.PREF, case.id)
        except Refusal as refused:
            console.print(f"    訂正等の申出を登録できません: {refused.message_ja}")
            return
    simulator = MunicipalCsSimulator(pki, intake_url)
    try:
        answers = simulator.answer_inquiries(case.municipality_code, FileKind.PREF, requested_values_decision)
    finally:
        simulator.close()
    with db.connect(PREF.db_role, autocommit=True) as conn:
        closed, name, _ = corrections.close_case(conn, clerk, FileKind.PREF, case.id)
    letter = correction_letter_form(
        closed, PREF, name, closed.closed_at.date() if closed.closed_at else case.received_on, offices=offices
    )
    (out_dir / f"correction-{closed.case_no}.pdf").write_bytes(
        sign_pdf(render_form(letter), signer, reason=offices.signature_reason)
    )
    console.print(
        f"    訂正等の申出 {closed.case_no}: 市町村CS（相互TLS）が回答 "
        f"{'、'.join(str(a.get('result')) for a in answers)}"
        f" → 回答書を発行。帳票（署名付きPDF）: {out_dir}"
    )
