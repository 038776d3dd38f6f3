"""Check digits and formats of 個人番号, 住民票コード and 地方公共団体コード (DOMAIN §1–3)."""

from __future__ import annotations

import pytest
import stdnum.jp.in_ as stdnum_in
from hypothesis import given, settings
from hypothesis import strategies as st

from juki.domain.codes import (
    CheckDigitMode,
    assess_juminhyo_code,
    is_ascii_digits,
    is_juminhyo_code_format,
    is_valid_lg_code,
    is_valid_my_number,
    juminhyo_check_digit,
    juminhyo_check_digit_ok,
    lg_code_check_digit,
    my_number_check_digit,
    normalize_digits,
)

MY_NUMBER_VALID = [
    "023456789013",
    "123456789018",
    "465281266333",
    "191187943353",
    "116428722815",
    "621498320257",
    "987654321093",
]
MY_NUMBER_BAD_CHECK = [
    "123456789010",
    "123456789011",
    "123456789012",
    "012345678912",
    "111111111111",
    "222222222222",
    "621498320258",
]
MY_NUMBER_BAD_FORMAT = ["01234567891", "11111111111X", "2222222222222", ""]

LG_VALID = [
    "140007",
    "141003",
    "141305",
    "141500",
    "131016",
    "131130",
    "010006",
    "011002",
    "180009",
    "182079",
]
LG_INVALID = ["141004", "141000", "141301", "140000"]
LG_BAD_FORMAT = ["14100", "14100３"]


def _digit_strings(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


# ---------------------------------------------------------------------------------------------
# 個人番号
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", MY_NUMBER_VALID)
def test_my_number_public_valid_vectors(number: str) -> None:
    """DOMAIN §1 public vectors: valid."""
    assert is_valid_my_number(number)
    assert my_number_check_digit(number[:11]) == number[11]


@pytest.mark.parametrize("number", MY_NUMBER_BAD_CHECK + MY_NUMBER_BAD_FORMAT)
def test_my_number_public_invalid_vectors(number: str) -> None:
    """DOMAIN §1 public vectors: invalid check digit and invalid format."""
    assert not is_valid_my_number(number)


def test_my_number_repeated_digits_are_arithmetically_valid() -> None:
    """DOMAIN §1: 111111111118 is valid; rejecting repeated digits would be policy, not law."""
    assert is_valid_my_number("111111111118")


def test_my_number_is_strict_about_width_and_separators() -> None:
    """DOMAIN §1: full-width digits, spaces and hyphens are normalised first, never validated as is."""
    raw = "１２３４ ５６７８－９０１８"
    assert not is_valid_my_number(raw)
    assert is_valid_my_number(normalize_digits(raw))
    assert not is_valid_my_number("12345678901٨")  # Arabic-Indic eight: a Unicode digit, not ASCII


def test_normalize_digits_removes_every_separator() -> None:
    """DOMAIN §1: input-boundary normalisation of digits, spaces and hyphens of all kinds."""
    assert normalize_digits("1-2‐3−4－5ー6―7 8　9０") == "1234567890"
    assert normalize_digits("abc") == "abc"  # does not validate


def test_my_number_check_digit_rejects_bad_input() -> None:
    """DOMAIN §1: the check digit is computed from exactly 11 ASCII digits."""
    with pytest.raises(ValueError):
        my_number_check_digit("1234567890")


@given(_digit_strings(11))
def test_my_number_computed_check_digit_validates_and_matches_stdnum(first11: str) -> None:
    """DOMAIN §1: every 11 digits + computed check digit validates; python-stdnum agrees."""
    number = first11 + my_number_check_digit(first11)
    assert is_valid_my_number(number)
    assert stdnum_in.calc_check_digit(first11) == number[11]
    assert stdnum_in.is_valid(number)


@given(_digit_strings(12))
def test_my_number_agrees_with_stdnum_oracle(number: str) -> None:
    """DOMAIN §1: python-stdnum (stdnum.jp.in_) as an oracle over arbitrary 12-digit strings."""
    assert is_valid_my_number(number) == stdnum_in.is_valid(number)


@given(_digit_strings(11), st.integers(0, 11), st.integers(1, 9))
def test_my_number_single_digit_change(first11: str, pos: int, delta: int) -> None:
    """DOMAIN §1: changing one digit invalidates, except where the remainder moves between 0 and 1.

    Remainders 0 and 1 both give check digit 0, so that one collision is inherent in the law's formula.
    """
    number = first11 + my_number_check_digit(first11)
    changed = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1 :]
    if pos == 11:
        assert not is_valid_my_number(changed)
        return
    weights = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    r_old = sum(int(c) * w for c, w in zip(number[:11], weights, strict=True)) % 11
    r_new = sum(int(c) * w for c, w in zip(changed[:11], weights, strict=True)) % 11
    assert is_valid_my_number(changed) == ({r_old, r_new} <= {0, 1})


# ---------------------------------------------------------------------------------------------
# 住民票コード
# ---------------------------------------------------------------------------------------------


def test_juminhyo_check_digit_hypothesis_weights() -> None:
    """DOMAIN §2: weights from the lowest digit 2..7, 2..5; remainder ≤ 1 → 0, else 11 − r."""
    # 1234567890: S = 1·5+2·4+3·3+4·2+5·7+6·6+7·5+8·4+9·3+0·2 = 195, 195 mod 11 = 8 → 3
    assert juminhyo_check_digit("1234567890") == "3"
    assert juminhyo_check_digit("0000000000") == "0"
    assert juminhyo_check_digit_ok("12345678903")
    assert not juminhyo_check_digit_ok("12345678904")


@pytest.mark.parametrize("code", ["1234567890", "123456789012", "1234567890X", "１２３４５６７８９０３", ""])
def test_juminhyo_code_format(code: str) -> None:
    """DOMAIN §2: strictly 11 ASCII digits."""
    assert not is_juminhyo_code_format(code)
    assert not juminhyo_check_digit_ok(code)
    for mode in CheckDigitMode:
        verdict = assess_juminhyo_code(code, mode)
        assert not verdict.accepted
        assert verdict.error_code == "E_JUMINHYO_CODE_FORMAT"
        assert verdict.message


def test_assess_juminhyo_code_modes() -> None:
    """DOMAIN §2: the check digit is a pluggable policy: warn (default), enforce or off."""
    good, bad = "12345678903", "12345678904"
    for mode in CheckDigitMode:
        verdict = assess_juminhyo_code(good, mode)
        assert verdict.accepted and verdict.error_code is None and verdict.warning_code is None

    enforce = assess_juminhyo_code(bad, CheckDigitMode.ENFORCE)
    assert not enforce.accepted and enforce.error_code == "E_JUMINHYO_CODE_CHECK_DIGIT"
    assert enforce.message and "検査用数字" in enforce.message

    warn = assess_juminhyo_code(bad, CheckDigitMode.WARN)
    assert warn.accepted and warn.error_code is None and warn.warning_code == "W_JUMINHYO_CODE_CHECK_DIGIT"
    assert warn.message

    off = assess_juminhyo_code(bad, CheckDigitMode.OFF)
    assert off.accepted and off.error_code is None and off.warning_code is None and off.message is None


@given(_digit_strings(10))
def test_juminhyo_generated_codes_validate(first10: str) -> None:
    """DOMAIN §2: synthetic codes (10 digits + computed check digit) satisfy the hypothesis in every mode."""
    code = first10 + juminhyo_check_digit(first10)
    assert juminhyo_check_digit_ok(code)
    assert assess_juminhyo_code(code, CheckDigitMode.ENFORCE).accepted
    wrong = code[:10] + str((int(code[10]) + 1) % 10)
    assert not juminhyo_check_digit_ok(wrong)


# ---------------------------------------------------------------------------------------------
# 地方公共団体コード
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", LG_VALID)
def test_lg_code_public_valid_vectors(code: str) -> None:
    """DOMAIN §3 public vectors: valid."""
    assert is_valid_lg_code(code)
    assert lg_code_check_digit(code[:5]) == code[5]


@pytest.mark.parametrize("code", LG_INVALID + LG_BAD_FORMAT + ["", "1410031"])
def test_lg_code_public_invalid_vectors(code: str) -> None:
    """DOMAIN §3 public vectors: invalid check digit and invalid format (5 digits, full-width digit)."""
    assert not is_valid_lg_code(code)


def test_lg_code_remainders_zero_and_one() -> None:
    """DOMAIN §3: unlike 個人番号, remainder 0 gives check digit 1 and remainder 1 gives 0."""
    assert lg_code_check_digit("11000") == "1"  # S = 6 + 5 = 11, r 0 → 11 → 1
    assert lg_code_check_digit("00006") == "0"  # S = 12, r 1 → 10 → 0
    assert lg_code_check_digit("14000") == "7"  # S = 6 + 20 = 26, r 4 → 7
    assert is_valid_lg_code("110001") and is_valid_lg_code("000060")


@given(_digit_strings(5))
def test_lg_code_computed_check_digit_validates(first5: str) -> None:
    """DOMAIN §3: every 5 digits + computed check digit validates; another last digit does not."""
    code = first5 + lg_code_check_digit(first5)
    assert is_valid_lg_code(code)
    assert not is_valid_lg_code(code[:5] + str((int(code[5]) + 1) % 10))


_CODE_TEXT = st.text(alphabet="0123456789１a ", min_size=9, max_size=13)


@settings(max_examples=1000)
@given(st.one_of(_CODE_TEXT, st.text("0123456789", min_size=11, max_size=12)))
def test_D1_01_D1_09_written_out_checks_equal_the_check_digit_functions(s: str) -> None:
    """D1-01 / D1-09: the validators compute the check digit inline for speed (issue 14 item 4);
    they must agree with the check-digit functions on every text."""
    assert is_valid_my_number(s) == (is_ascii_digits(s, 12) and my_number_check_digit(s[:11]) == s[11])
    assert juminhyo_check_digit_ok(s) == (
        is_juminhyo_code_format(s) and juminhyo_check_digit(s[:10]) == s[10]
    )
