"""The abstract state that flows through a transform pipeline.

Every field is ``None`` when unknown. Rules only fire on known facts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

PIL = "PIL"  # a PIL image or a NumPy array: what ToTensor/PILToTensor/ToImage accept
TENSOR = "tensor"

UINT8 = "uint8"
FLOAT = "float"

RANGE_255 = "0-255"
RANGE_01 = "0-1"
NORMALIZED = "normalized"


@dataclass(frozen=True)
class Size:
    """Spatial size: exact height/width when known, or only the shorter side (after ``Resize(int)``)."""

    height: Optional[int] = None
    width: Optional[int] = None
    min_side: Optional[int] = None

    def __str__(self) -> str:
        if self.height is not None and self.width is not None:
            return f"{self.height}x{self.width}"
        if self.min_side is not None:
            return f"short side {self.min_side}"
        return "?"


@dataclass(frozen=True)
class ImageState:
    container: Optional[str] = None
    dtype: Optional[str] = None
    range: Optional[str] = None
    channels: Optional[int] = None
    size: Optional[Size] = None
    random: bool = False
    # Source text of the Normalize arguments that produced the normalized range,
    # so a second Normalize with the same arguments is known to repeat it.
    normalized_by: Optional[str] = None

    @property
    def input_kind(self) -> Optional[str]:
        """What a transform sees: 'pil', 'uint8' or 'float' (a tensor of that dtype), or None."""
        if self.container == PIL:
            return "pil"
        if self.container == TENSOR and self.dtype in (UINT8, FLOAT):
            return self.dtype
        return None

    def with_(self, **changes) -> "ImageState":
        return replace(self, **changes)


UNKNOWN_STATE = ImageState()
PIL_INPUT = ImageState(container=PIL, dtype=UINT8, range=RANGE_255)


def join(a: ImageState, b: ImageState) -> ImageState:
    """The state that holds whichever of two branches ran: facts both agree on survive."""

    def pick(x, y):
        return x if x == y else None

    return ImageState(
        container=pick(a.container, b.container),
        dtype=pick(a.dtype, b.dtype),
        range=pick(a.range, b.range),
        channels=pick(a.channels, b.channels),
        size=pick(a.size, b.size),
        random=a.random or b.random,
        normalized_by=pick(a.normalized_by, b.normalized_by),
    )
