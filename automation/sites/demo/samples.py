"""Sample "videos" for the demo site.

They are not playable: each is an MP4 ``ftyp`` box followed by an ``mdat`` box of
deterministic filler, which is exactly what the demo site checks (bytes 4..8 are ``ftyp``).
Different indexes give different bytes, hence different sha256 digests.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

# size, "ftyp", major brand, minor version, compatible brands
_FTYP = struct.pack(">I4s4sI12s", 28, b"ftyp", b"isom", 0x200, b"isomiso2mp41")
_MDAT_HEADER = 8


def sample_video_bytes(index: int, size: int = 64 * 1024) -> bytes:
    """Return size bytes shaped like an MP4 file, unique to index (not a playable video)."""
    filler = size - len(_FTYP) - _MDAT_HEADER
    if filler < 0:
        raise ValueError(f"size must be at least {len(_FTYP) + _MDAT_HEADER} bytes")
    body = hashlib.shake_256(f"fleetbot-demo-sample-{index}".encode()).digest(filler)
    return _FTYP + struct.pack(">I4s", _MDAT_HEADER + filler, b"mdat") + body


def write_sample_videos(directory: Path, count: int) -> list[Path]:
    """Write sample-1.mp4 .. sample-<count>.mp4 into directory and return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(1, count + 1):
        path = directory / f"sample-{index}.mp4"
        path.write_bytes(sample_video_bytes(index))
        paths.append(path)
    return paths
