"""Shared inputs for the oracle tests: small seeded images in each form a pipeline sees."""
import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import functional as F

SIZE = 32


@pytest.fixture
def make_pil():
    """Factory for seeded random RGB PIL images of a given size."""

    def make(height=SIZE, width=None, seed=0):
        rng = np.random.default_rng(seed)
        pixels = rng.integers(0, 256, (height, width or height, 3), dtype=np.uint8)
        return Image.fromarray(pixels, "RGB")

    return make


@pytest.fixture
def pil_rgb(make_pil):
    """A 32x32 RGB PIL image with random pixels."""
    return make_pil()


@pytest.fixture
def uint8_image(pil_rgb):
    """The same image as a uint8 CHW tensor (what PILToTensor / ToImage produce)."""
    return F.pil_to_tensor(pil_rgb)


@pytest.fixture
def float_image(pil_rgb):
    """The same image as a float32 CHW tensor in [0, 1] (what ToTensor produces)."""
    image = F.to_tensor(pil_rgb)
    assert image.dtype == torch.float32
    return image
