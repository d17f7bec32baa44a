"""darknet_board.py - a Go-board-like 19x19 8-bit gray PNG for go.cfg's one-channel input:
seeded black (0) and white (255) stones on empty points (128). Written with zlib alone, so the
test needs no imaging library.
usage: darknet_board.py OUT.png SEED"""
import random
import struct
import sys
import zlib


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def main():
    out, seed = sys.argv[1], int(sys.argv[2])
    rng = random.Random(seed)
    rows = b""
    for _ in range(19):
        rows += b"\0" + bytes(rng.choice((0, 255, 128, 128)) for _ in range(19))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 19, 19, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    open(out, "wb").write(png)


main()
