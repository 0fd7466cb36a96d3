#!/usr/bin/env python3
"""knownaudio.py FRAMES FILE:SEED... -- write mono 32-bit float WAV files of
FRAMES samples of deterministic noise (peak 0.2, a 32-bit LCG seeded per
file), to replace the audio files of regions Ardour recorded, so that what
Ardour plays is known.  Uses only the standard library (no numpy)."""
import array
import struct
import sys


def write(path, frames, seed):
    x = seed * 2654435761 + 12345 & 0xFFFFFFFF
    a = array.array("f", bytes(4 * frames))
    for i in range(frames):
        x = (x * 1664525 + 1013904223) & 0xFFFFFFFF
        a[i] = ((x >> 8) / 16777216.0 - 0.5) * 0.4
    if sys.byteorder != "little":
        a.byteswap()
    data = a.tobytes()
    # WAVE_FORMAT_IEEE_FLOAT, 1 channel, 48 kHz; the rate is the session's.
    fmt = struct.pack("<HHIIHHH", 3, 1, 48000, 48000 * 4, 4, 32, 0)
    fact = struct.pack("<I", frames)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"fact" +
            struct.pack("<I", 4) + fact + b"data" + struct.pack("<I", len(data)) + data)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)


if __name__ == "__main__":
    frames = int(sys.argv[1])
    for spec in sys.argv[2:]:
        path, seed = spec.rsplit(":", 1)
        write(path, frames, int(seed))
