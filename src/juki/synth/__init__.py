"""Synthetic populations and change streams (DOMAIN §9: never real personal data).

* :func:`make_person` — person ``index`` of population ``seed``, regenerated in O(1).
* :func:`write_population` / :func:`iter_population` — the bulk-load CSV files, streamed.
* :func:`generate_changes` — notifications valid against a population (and deliberate errors).
"""

from juki.synth.changes import (
    ACCEPTED,
    DEFAULT_RECEIVED_ON,
    DUPLICATE,
    INVALID_KINDS,
    SynthChange,
    generate_changes,
    new_index_base,
)
from juki.synth.ids import juminhyo_code_for, my_number_for
from juki.synth.population import POPULATION_AS_OF, SynthPerson, iter_population, make_person
from juki.synth.writer import FILE_NAMES, PopulationSummary, write_population

__all__ = [
    "ACCEPTED",
    "DEFAULT_RECEIVED_ON",
    "DUPLICATE",
    "FILE_NAMES",
    "INVALID_KINDS",
    "POPULATION_AS_OF",
    "PopulationSummary",
    "SynthChange",
    "SynthPerson",
    "generate_changes",
    "iter_population",
    "juminhyo_code_for",
    "make_person",
    "my_number_for",
    "new_index_base",
    "write_population",
]
