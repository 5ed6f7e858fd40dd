"""Unified social credit codes (统一社会信用代码, GB 32100-2015): check character, validation, demo generation."""

from __future__ import annotations

import random

# GB 32100-2015 leaves out I, O, Z, S and V so that they cannot be mistaken for 1, 0, 2, 5 and U.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}

# Registration authority 5 is civil affairs (民政); the second digit is the kind of social organisation.
SOCIAL_ORGANISATION_PREFIXES = {
    "51": "社会团体",
    "52": "民办非企业单位",
    "53": "基金会",
}

# GB 11714 (the organisation code in positions 9-17) has its own check character.
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def check_character(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters of a code."""
    if len(first17) != 17 or any(ch not in _VALUE for ch in first17):
        raise ValueError(f"not 17 characters of the credit-code alphabet: {first17!r}")
    total = sum(_VALUE[ch] * weight for ch, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    """Whether the code has 18 characters of the alphabet (upper case) and the right check character."""
    if len(code) != 18 or any(ch not in _VALUE for ch in code):
        return False
    return check_character(code[:17]) == code[17]


def error_of(code: str) -> str | None:
    """Why a code is not a valid unified social credit code (an English msgid), or None when it is."""
    if len(code) != 18:
        return "A unified social credit code has 18 characters"
    if any(ch not in _VALUE for ch in code):
        return "A unified social credit code uses digits and capital letters except I, O, Z, S and V"
    if check_character(code[:17]) != code[17]:
        return "The check character of this unified social credit code is wrong"
    return None


def _org_code_check(first8: str) -> str:
    """The GB 11714 check character of an 8-character organisation code body."""
    total = sum(int(ch, 36) * weight for ch, weight in zip(first8, _ORG_CODE_WEIGHTS, strict=True))
    remainder = 11 - total % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def make_code(rng: random.Random, *, prefix: str | None = None, area: str = "310110") -> str:
    """A valid code for a social organisation registered by civil affairs in the given 6-digit area."""
    if prefix is None:
        prefix = rng.choice(("51", "52", "52", "52", "53"))
    if prefix not in SOCIAL_ORGANISATION_PREFIXES:
        raise ValueError(f"not a social-organisation prefix: {prefix!r}")
    if len(area) != 6 or not area.isdigit():
        raise ValueError(f"not a 6-digit administrative area code: {area!r}")
    # Organisations registered since 2015 carry civil affairs' "MJ" series; older ones kept their numeric code.
    if rng.random() < 0.6:
        body = "MJ" + "".join(rng.choice("0123456789") for _ in range(6))
    else:
        body = "5" + "".join(rng.choice("0123456789") for _ in range(7))
    first17 = prefix + area + body + _org_code_check(body)
    return first17 + check_character(first17)
