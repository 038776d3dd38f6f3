"""Synthetic change streams: notifications valid against a synthetic population (and some that are not).

``generate_changes(persons, seed, count)`` yields notifications in the JSON shape of
``juki.domain.records`` that are valid against the population ``(persons, seed)`` *as it stands after
the earlier notifications of the same stream*. Persons are regenerated on demand with
:func:`~juki.synth.population.make_person`; only the persons a stream touches are kept (in a
dict), so memory grows with the number of changes, not with the population.

Senders follow docs/error-codes.md: a municipality touches only its own residents, a 記載
registers in the sender's municipality, a 転居 between wards of one designated city is sent by the new
ward, and File 2 notifications come from the 附票管理市町村 (``fuhyo_municipality_code``).

Persons born or moving in during stream ``s`` use indices ``persons + (s - 1) * 800_000 + k``, new
個人番号 and 住民票コード come from such indices too, so nothing collides with the population or with
another stream. With ``invalid_share`` > 0 that share of the items is deliberately wrong, each with the
error code the server must answer in ``expect``; invalid items never change the tracked state.
"""

from juki.synth.changes.base import (
    ACCEPTED,
    DEFAULT_RECEIVED_ON,
    DUPLICATE,
    INVALID_KINDS,
    SynthChange,
    new_index_base,
)
from juki.synth.changes.stream import generate_changes

__all__ = [
    "ACCEPTED",
    "DEFAULT_RECEIVED_ON",
    "DUPLICATE",
    "INVALID_KINDS",
    "SynthChange",
    "generate_changes",
    "new_index_base",
]
