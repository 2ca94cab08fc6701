"""Facts about torchvision datasets that decide what a pipeline receives."""

# Datasets whose images are single-channel ("L") PIL images.
GRAYSCALE = frozenset({"MNIST", "FashionMNIST", "KMNIST", "EMNIST", "QMNIST", "USPS"})


def input_channels(qualified_name):
    """Channels of the images a dataset class hands its transform, when known."""
    if qualified_name and qualified_name.startswith("torchvision.datasets."):
        if qualified_name.rsplit(".", 1)[-1] in GRAYSCALE:
            return 1
    return None
