"""Masking of personal data for screens, receipts and logs (DESIGN §5): one rule everywhere.

name ``张三丰`` → ``张*丰``, ``张三`` → ``张*``; ID number 4+4 ``5119**********123X``;
phone 3+4 ``138****0000``; address keeps the first 6 characters.
"""
from __future__ import annotations


def mask_name(name: str) -> str:
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id_number(number: str) -> str:
    number = (number or "").strip()
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(phone: str) -> str:
    digits = (phone or "").strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_address(address: str) -> str:
    address = (address or "").strip()
    if len(address) <= 6:
        return "*" * len(address)
    return address[:6] + "*" * (len(address) - 6)
