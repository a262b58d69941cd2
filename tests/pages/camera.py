"""Chromium's fake camera, fed with a picture: a YUV4MPEG2 (.y4m) file of one frame, which
Chromium plays in a loop as the camera when started with --use-file-for-fake-video-capture."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

WIDTH, HEIGHT = 640, 480


def frame_of(png: bytes, *, size: int = 400) -> Image.Image:
    """The picture (a screenshot of a code, say) centred on a white frame, as a camera held
    in front of it would see it."""
    picture = Image.open(io.BytesIO(png)).convert("RGB")
    picture.thumbnail((size, size), Image.Resampling.NEAREST)
    frame = Image.new("RGB", (WIDTH, HEIGHT), "white")
    frame.paste(picture, ((WIDTH - picture.width) // 2, (HEIGHT - picture.height) // 2))
    return frame


def write_y4m(path: Path, frame: Image.Image) -> None:
    """One 4:2:0 frame: the full-size luma plane, then both chroma planes at half size."""
    y, cb, cr = frame.convert("YCbCr").split()
    half = (frame.width // 2, frame.height // 2)
    chroma = [plane.resize(half, Image.Resampling.BILINEAR) for plane in (cb, cr)]
    header = f"YUV4MPEG2 W{frame.width} H{frame.height} F10:1 Ip A1:1 C420jpeg\n".encode()
    temporary = path.with_suffix(".part")
    temporary.write_bytes(
        header + b"FRAME\n" + y.tobytes() + chroma[0].tobytes() + chroma[1].tobytes()
    )
    temporary.replace(path)


def blank(path: Path) -> None:
    write_y4m(path, Image.new("RGB", (WIDTH, HEIGHT), "gray"))
