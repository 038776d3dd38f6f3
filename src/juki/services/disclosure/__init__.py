"""Residents' rights (LEGAL.md §3, §4): disclosure requests (F1-3, F2-3), provision-status disclosure
(S-55, File 1), correction / addition / deletion cases (F1-4, F2-4) and the inquiry log (REC-7, S-60).

* :mod:`.requests` — the request register (受付, status, events, purge by 保存期限);
* :mod:`.matching` — exact matching of what the requester gave against the file, through the one
  4情報 matcher of services/search: one person, or a refusal with a reason, never a list;
* :mod:`.issue` — the items disclosed (D1-PS / D2-PS) and the provision-status statement, each an
  output of personal data: rights-checked and written to the operation log;
* :mod:`.corrections` — the correction case workflow with the inquiry to the 市町村CS;
* :mod:`.inquiries` — the inquiry log;
* :mod:`.gaiji_registry` — 外字 code point → MJ glyph, for printing (DOMAIN §7).

Every function takes an :class:`~juki.services.access.actor.Actor` and a connection as the file's role
(the inquiry log and the 外字 registry: juki_term); the printed forms are laid out by
``juki.interfaces.forms`` from what these return.
"""
