"""orderlint: a static linter for the order bugs of PyTorch training code."""

__version__ = "0.1.0"
