"""Identifier codes and their check digits: 個人番号, 住民票コード, 全国地方公共団体コード (DOMAIN §1–3).

Validation here is deliberately *strict*: exactly the stated number of ASCII digits. Operator screens and
files may carry full-width digits, spaces or hyphens; they go through :func:`normalize_digits` at the
input boundary, and only the normalised form is validated and stored. Keeping the validators strict
means a stored value can never be in two spellings, which the uniqueness invariants rely on.

The 住民票コード check-digit formula (平成14年総務省告示第436号) is not public, so its check is a
pluggable *policy* (:class:`CheckDigitMode`) over the best available hypothesis, not a hard rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from operator import mul
from typing import Final

__all__ = [
    "JUMINHYO_CHECK_DIGIT_POLICY",
    "CheckDigitMode",
    "CodeVerdict",
    "assess_juminhyo_code",
    "is_ascii_digits",
    "is_juminhyo_code_format",
    "is_valid_lg_code",
    "is_valid_my_number",
    "juminhyo_check_digit",
    "juminhyo_check_digit_ok",
    "lg_code_check_digit",
    "my_number_check_digit",
    "normalize_digits",
]

# ---------------------------------------------------------------------------------------------
# Input-boundary normalisation
# ---------------------------------------------------------------------------------------------

#: Characters an operator or a file may put between digit groups. The long-vowel mark ー is included
#: because Japanese IMEs produce it when a hyphen is typed in kana mode.
_SEPARATORS: Final = " \u3000\t-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d\u30fc\uff70"
_DIGIT_TABLE: Final = str.maketrans(
    {**{chr(0xFF10 + i): str(i) for i in range(10)}, **dict.fromkeys(_SEPARATORS)}
)


def normalize_digits(s: str) -> str:
    """Full-width digits → ASCII and drop spaces and hyphens of every kind; does not validate.

    Only for input boundaries (screens, uploaded files): the stored value is the plain ASCII form.
    """
    return s.translate(_DIGIT_TABLE)


def is_ascii_digits(s: str, length: int) -> bool:
    """True when ``s`` is exactly ``length`` characters of '0'–'9'.

    ``str.isdigit`` is not enough: it accepts full-width and other Unicode digits ("１", "٣", "²").
    """
    return len(s) == length and s.isascii() and s.isdigit()


def _weighted_sum(digits: str, weights: tuple[int, ...]) -> int:
    # map() over the ASCII bytes runs in C: this is called twice per person in a 10M bulk load.
    # Each byte is its digit + 48, so subtract 48 × Σweights once instead of per digit.
    if len(digits) != len(weights):
        raise ValueError("digits and weights differ in length")
    total: int = sum(map(mul, digits.encode("ascii"), weights))
    return total - 48 * sum(weights)


# ---------------------------------------------------------------------------------------------
# 個人番号 (DOMAIN §1)
# ---------------------------------------------------------------------------------------------

#: 平成26年総務省令第85号 第5条: weights for d1..d11, left to right.
_MY_NUMBER_WEIGHTS: Final = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _mod11_check(remainder: int) -> str:
    """The 個人番号 rule: remainder 0 or 1 gives 0, otherwise 11 − r."""
    return "0" if remainder <= 1 else str(11 - remainder)


#: _mod11_check of each remainder, and the ASCII offset of a weighted byte sum (see _weighted_sum).
_MOD11_DIGIT: Final = tuple(_mod11_check(r) for r in range(11))
_MY_NUMBER_OFFSET: Final = 48 * sum(_MY_NUMBER_WEIGHTS)


def my_number_check_digit(first11: str) -> str:
    """The check digit of a 個人番号 given its first 11 ASCII digits."""
    if not is_ascii_digits(first11, 11):
        raise ValueError("個人番号の検査用数字は半角数字11桁から計算します")
    return _mod11_check(_weighted_sum(first11, _MY_NUMBER_WEIGHTS) % 11)


def is_valid_my_number(s: str) -> bool:
    """True for exactly 12 ASCII digits with the correct check digit (stable entry point).

    Repeated digits such as 111111111118 are arithmetically valid and accepted: rejecting them would
    be a policy, not the law.
    """
    # The steps of my_number_check_digit written out: a bulk load asks this for every person, and
    # the nested calls were most of its cost (tests/domain/test_codes.py holds the two together).
    return (
        len(s) == 12
        and s.isascii()
        and s.isdigit()
        and _MOD11_DIGIT[(sum(map(mul, s.encode("ascii"), _MY_NUMBER_WEIGHTS)) - _MY_NUMBER_OFFSET) % 11]
        == s[11]
    )


# ---------------------------------------------------------------------------------------------
# 住民票コード (DOMAIN §2)
# ---------------------------------------------------------------------------------------------

#: Name of the only check-digit hypothesis we ship; recorded with every verdict-related statistic so a
#: future official rule can be told apart.
JUMINHYO_CHECK_DIGIT_POLICY: Final = "mod11-hypothesis"

#: Weights 2..7, 2..5 from the lowest of the 10 digits, written here left to right.
_JUMINHYO_WEIGHTS: Final = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_JUMINHYO_OFFSET: Final = 48 * sum(_JUMINHYO_WEIGHTS)


def juminhyo_check_digit(first10: str) -> str:
    """The check digit under the ``mod11-hypothesis`` policy for the first 10 ASCII digits.

    Same scheme as 個人番号 (remainder ≤ 1 → 0, else 11 − r). It is a hypothesis: the official notice is
    not public. Synthetic data always satisfies it so that either enforcement mode can be used.
    """
    if not is_ascii_digits(first10, 10):
        raise ValueError("住民票コードの検査用数字は半角数字10桁から計算します")
    return _mod11_check(_weighted_sum(first10, _JUMINHYO_WEIGHTS) % 11)


def is_juminhyo_code_format(s: str) -> bool:
    """True for exactly 11 ASCII digits (the part of the rule that is law, 施行規則 第1条)."""
    return is_ascii_digits(s, 11)


def juminhyo_check_digit_ok(s: str) -> bool:
    """True when ``s`` has the 11-digit format and satisfies the check-digit hypothesis."""
    # juminhyo_check_digit written out, as in is_valid_my_number (a bulk load asks it per person).
    return (
        len(s) == 11
        and s.isascii()
        and s.isdigit()
        and _MOD11_DIGIT[(sum(map(mul, s.encode("ascii"), _JUMINHYO_WEIGHTS)) - _JUMINHYO_OFFSET) % 11]
        == s[10]
    )


class CheckDigitMode(StrEnum):
    """How a 住民票コード failing the check-digit hypothesis is treated (configurable, default WARN)."""

    WARN = "warn"  # accept, but flag and count
    ENFORCE = "enforce"  # reject
    OFF = "off"  # accept silently


@dataclass(frozen=True)
class CodeVerdict:
    """The outcome of checking one code: whether to accept it, and the error or warning to report."""

    accepted: bool
    error_code: str | None
    warning_code: str | None
    message: str | None


_ACCEPTED: Final = CodeVerdict(accepted=True, error_code=None, warning_code=None, message=None)


def assess_juminhyo_code(s: str, mode: CheckDigitMode) -> CodeVerdict:
    """Judge a 住民票コード under ``mode``; the format is always enforced, the check digit per policy."""
    if juminhyo_check_digit_ok(s):  # the common case first: accepted in every mode
        return _ACCEPTED
    if not is_juminhyo_code_format(s):
        return CodeVerdict(
            accepted=False,
            error_code="E_JUMINHYO_CODE_FORMAT",
            warning_code=None,
            message="住民票コードは半角数字11桁で指定してください",
        )
    if mode is CheckDigitMode.OFF or juminhyo_check_digit(s[:10]) == s[10]:
        return _ACCEPTED
    message = f"住民票コードの検査用数字が一致しません（検査方式: {JUMINHYO_CHECK_DIGIT_POLICY}）"
    if mode is CheckDigitMode.ENFORCE:
        return CodeVerdict(
            accepted=False, error_code="E_JUMINHYO_CODE_CHECK_DIGIT", warning_code=None, message=message
        )
    return CodeVerdict(
        accepted=True, error_code=None, warning_code="W_JUMINHYO_CODE_CHECK_DIGIT", message=message
    )


# ---------------------------------------------------------------------------------------------
# 全国地方公共団体コード (DOMAIN §3)
# ---------------------------------------------------------------------------------------------

_LG_WEIGHTS: Final = (6, 5, 4, 3, 2)


def lg_code_check_digit(first5: str) -> str:
    """Check digit of a 地方公共団体コード: last digit of 11 − (S mod 11).

    Unlike 個人番号, remainder 0 gives **1** (11 → 1) and remainder 1 gives 0 (10 → 0).
    """
    if not is_ascii_digits(first5, 5):
        raise ValueError("地方公共団体コードの検査数字は半角数字5桁から計算します")
    return str((11 - _weighted_sum(first5, _LG_WEIGHTS) % 11) % 10)


def is_valid_lg_code(s: str) -> bool:
    """True for exactly 6 ASCII digits with the correct check digit (stable entry point)."""
    return is_ascii_digits(s, 6) and lg_code_check_digit(s[:5]) == s[5]


def prefecture_of_lg_code(code6: str) -> str:
    """The 都道府県コード (JIS X 0401, 2 digits) a 地方公共団体コード belongs to: its first two digits.

    Every municipality's code starts with its prefecture's (総務省「全国地方公共団体コード」), so a
    consolidation centre routes by this prefix and each prefecture's server refuses any other
    (issue 14; docs/deployment.md「集約センター」).
    """
    return code6[:2]
