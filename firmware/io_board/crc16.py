"""CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor) in plain Python so
that it runs unchanged under MicroPython and CPython. It indexes the buffer instead of slicing it:
a slice would allocate on every frame."""


def crc16(data, start=0, end=-1, crc=0xFFFF):
    """CRC of ``data[start:end]`` (``end`` -1 = to the end), continuing from ``crc``.
    "123456789" gives 0x29B1."""
    if end < 0:
        end = len(data)
    for i in range(start, end):
        crc ^= data[i] << 8
        for _ in range(8):
            if crc & 0x8000:
                crc = ((crc << 1) ^ 0x1021) & 0xFFFF
            else:
                crc = (crc << 1) & 0xFFFF
    return crc
