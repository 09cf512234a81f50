"""Citizen ID numbers (公民身份号码, GB 11643): MOD 11-2 check character and normalisation.

Region codes are not checked against GB/T 2260: abandoned codes are legitimate on old cards.
"""
from __future__ import annotations

import datetime

# Wᵢ = 2^(17−i) mod 11 for i = 0…16.
WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK = "10X98765432"  # indexed by S mod 11


class InvalidIdNumber(ValueError):
    """Not an 18-character ID number with a correct check character."""


def normalise(number: str) -> str:
    """Strip spaces and write a lower-case check character ``x`` as ``X``."""
    return (number or "").strip().upper()


def check_character(first17: str) -> str:
    """The check character for 17 digits; raises InvalidIdNumber when they are not 17 ASCII digits."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise InvalidIdNumber("expected 17 digits")
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return _CHECK[total % 11]


def is_valid(number: str) -> bool:
    """True when ``number`` (after normalisation) has 17 digits and the right check character."""
    number = normalise(number)
    if len(number) != 18:
        return False
    try:
        return check_character(number[:17]) == number[17]
    except InvalidIdNumber:
        return False


def validate(number: str) -> str:
    """The normalised number; raises InvalidIdNumber (without echoing the number) when it fails the check."""
    number = normalise(number)
    if not is_valid(number):
        raise InvalidIdNumber("ID number fails the GB 11643 MOD 11-2 check")
    return number


def embedded_birth(number: str) -> str:
    """The YYYYMMDD date inside an 18-character number; raises InvalidIdNumber when it is not a real date."""
    digits = normalise(number)[6:14]
    try:
        datetime.datetime.strptime(digits, "%Y%m%d")
    except ValueError:
        raise InvalidIdNumber("ID number holds no valid birth date") from None
    return digits
