"""Retention purge (R-04, R-06, F1-9, F2-9): one job applies every rule and reports what it removed.

- File 1 history versions and ended records (消除者 and dead persons) whose 150-year period has passed
  (R-02, R-03; `retain_until` is set when a version is superseded or a record ends).
- The temporary 個人番号 area of File 2 (R-05, R-06): rows past their expiry. The database also purges
  these after every insert, so expiry never depends on this job running.

- Provision and transfer records of both files (R-08): seven years (services/provision/records.py; the
  database deletes only rows whose seven years have passed by its own clock).
File 2's own history has no stated period (A-03): it is kept, like File 1's, and not purged here.
"""

from __future__ import annotations

from typing import Any

from juki.files import FUHYO, all_files
from juki.services.provision.records import purge_expired as purge_provision_records
from juki.services.registry.rows import all_row_specs
from juki.store.db import Database


def purge(db: Database) -> dict[str, Any]:
    report: dict[str, Any] = {}
    for rows in all_row_specs():
        if not rows.retention:  # no stated period, nothing to purge
            continue
        file = rows.file
        with db.connect(file.db_role) as conn:
            cur = conn.execute(f"DELETE FROM {file.history} WHERE retain_until < current_date")
            report[f"{file.value}_history_purged"] = cur.rowcount
            cur = conn.execute(
                f"DELETE FROM {file.current} WHERE status = %s AND retain_until < current_date",
                (file.ended_status,),
            )
            report[f"{file.value}_ended_purged"] = cur.rowcount
            conn.commit()
    # The temporary 個人番号 area belongs to the 附票都道府県サーバ.
    with db.connect(FUHYO.db_role) as conn:
        row = conn.execute("SELECT fuhyo_tmp.purge_expired()").fetchone()
        report["fuhyo_tmp_my_numbers_purged"] = int(row[0]) if row else 0
        conn.commit()
    for spec in all_files():
        with db.connect(spec.db_role) as conn:
            report[f"{spec.value}_provision_records_purged"] = purge_provision_records(conn, spec.kind)
            conn.commit()
    return report
