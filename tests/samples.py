"""Small sources the CLI tests lint."""

BUGGY = """\
import torchvision.transforms as T

pipeline = T.Compose([T.Normalize([0.5], [0.5]), T.ToTensor()])
"""

CLEAN = """\
import torchvision.transforms as T

pipeline = T.Compose([T.ToTensor(), T.Normalize([0.5], [0.5])])
"""
