"""CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor) in plain Python so
that it runs unchanged under MicroPython and CPython."""


def crc16(data, crc=0xFFFF):
    """CRC of ``data`` (bytes-like), continuing from ``crc``. "123456789" gives 0x29B1."""
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            if crc & 0x8000:
                crc = ((crc << 1) ^ 0x1021) & 0xFFFF
            else:
                crc = (crc << 1) & 0xFFFF
    return crc
