"""Datasets and transforms for the ImageNet-style classifier."""

import os

import torch
import torchvision.transforms as T
from torchvision import datasets
from torchvision.transforms import v2

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def build_train_transform(args):
    steps = [T.RandomResizedCrop(args.image_size), T.RandomHorizontalFlip()]
    if args.auto_augment:
        steps.append(T.ToTensor())
        steps.append(T.AutoAugment())  # uint8-only policy, but the data is float by now
    else:
        steps.append(T.ToTensor())
    steps.append(T.Normalize(IMAGENET_MEAN, IMAGENET_STD))
    if args.color_jitter:
        steps.append(T.ColorJitter(0.4, 0.4, 0.4))  # clamps the normalized values
    steps.append(T.RandomErasing(p=0.25))
    return T.Compose(steps)


def build_val_transform(args):
    return T.Compose([
        T.Resize(256),
        T.RandomCrop(288),  # larger than the resize: raises on the first batch
        T.ToTensor(),
        T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])


# The test-time pipeline written against transforms v2.
test_transform = v2.Compose([
    v2.ToImage(),
    v2.RandomHorizontalFlip(),
    v2.ToDtype(torch.float32),
    v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
])


def grayscale_transform():
    return T.Compose([T.Grayscale(), T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def build_datasets(args):
    train = datasets.ImageFolder(os.path.join(args.data, "train"), build_train_transform(args))
    val = datasets.ImageFolder(os.path.join(args.data, "val"), build_val_transform(args))
    return train, val
