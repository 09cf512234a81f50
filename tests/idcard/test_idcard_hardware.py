"""A real reader, only when ``KIOSK_IDCARD_URL`` names its port (e.g. /dev/serial/by-id/…) and a test card is
on it. Prints nothing about the card: it checks the read is a valid identity and stays masked."""
from __future__ import annotations

import os

import pytest

from drivers.idcard import IdCardReader, idnumber

URL = os.environ.get("KIOSK_IDCARD_URL", "")

pytestmark = [pytest.mark.hardware,
              pytest.mark.skipif(not URL, reason="set KIOSK_IDCARD_URL to a real reader's port")]


def test_real_reader_reads_a_valid_masked_identity():
    with IdCardReader(URL) as reader:
        reader.sam_status()
        ident = reader.read_card(timeout=10)
    if ident.id_type != "foreigner":
        assert idnumber.is_valid(ident.id_number)
    assert ident.id_number not in repr(ident) and len(ident.photo) == 1024
