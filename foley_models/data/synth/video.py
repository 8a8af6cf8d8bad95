"""A silent stick-figure video of body65 keypoints with the instrument drawn (H.264 MP4)."""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from foley_models.data.layouts import BODY65, R_WRIST
from foley_models.render.ffmpeg import VideoWriter

BACKGROUND = (24, 26, 32)
BODY_COLOUR = (235, 235, 235)
HAND_COLOUR = (120, 200, 255)
INSTRUMENT_COLOUR = (205, 150, 80)
BOW_COLOUR = (240, 220, 160)


def render_video(
    out: Path,
    pose: np.ndarray,
    geometry: dict,
    fps: float,
    *,
    camera: tuple[int, int] = (640, 480),
    scale: float = 0.5,
) -> Path:
    """Draw every frame of a body65 pose [T, 3, 65, M] (person 0) and encode it."""
    width, height = int(camera[0] * scale) // 2 * 2, int(camera[1] * scale) // 2 * 2
    edges = np.array(BODY65.edges)
    body_edges = edges[:24]
    hand_edges = edges[24:]
    xy = pose[:, :2, :, 0] * scale  # [T, 2, 65]
    ok = pose[:, 2, :, 0] > 0
    lines = [tuple(np.array(p) * scale for p in line) for line in geometry["lines"]]
    with VideoWriter(out, width=width, height=height, fps=fps) as writer:
        for f in range(pose.shape[0]):
            image = Image.new("RGB", (width, height), BACKGROUND)
            draw = ImageDraw.Draw(image)
            _draw_instrument(draw, geometry, lines, scale, xy[f], ok[f])
            for edge_set, colour, w in ((body_edges, BODY_COLOUR, 3), (hand_edges, HAND_COLOUR, 1)):
                for a, b in edge_set:
                    if ok[f, a] and ok[f, b]:
                        draw.line(
                            [(xy[f, 0, a], xy[f, 1, a]), (xy[f, 0, b], xy[f, 1, b])],
                            fill=colour,
                            width=w,
                        )
            nose = 0
            if ok[f, nose]:
                r = 0.09 * geometry["body_radius"] / 0.22 * scale * 2
                cx, cy = xy[f, 0, nose], xy[f, 1, nose]
                draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=BODY_COLOUR, width=2)
            writer.write(image.tobytes())
    return Path(out)


def _draw_instrument(draw, geometry, lines, scale, xy, ok):
    if geometry.get("body") is not None:
        cx, cy = np.array(geometry["body"]) * scale
        r = geometry["body_radius"] * scale
        draw.ellipse(
            [cx - r, cy - 0.8 * r, cx + r, cy + 0.8 * r], outline=INSTRUMENT_COLOUR, width=2
        )
    for a, b in lines:
        draw.line([tuple(a), tuple(b)], fill=INSTRUMENT_COLOUR, width=3)
    if geometry.get("bow") is not None and ok[R_WRIST]:
        direction, length = geometry["bow"]
        start = np.array([xy[0, R_WRIST], xy[1, R_WRIST]])
        end = start - direction * length * scale
        draw.line([tuple(start), tuple(end)], fill=BOW_COLOUR, width=2)
