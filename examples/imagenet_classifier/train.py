"""Train the classifier: python train.py --data /path/to/imagenet"""

import argparse

import torch
from torch.utils.data import DataLoader

from data import build_datasets
from model import Classifier


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--epochs", type=int, default=90)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--auto-augment", action="store_true")
    parser.add_argument("--color-jitter", action="store_true")
    return parser.parse_args()


def train_one_epoch(model, loader, criterion, optimizer, scaler, device):
    model.train()
    for images, targets in loader:
        images, targets = images.to(device), targets.to(device)
        with torch.autocast("cuda", dtype=torch.float16):
            loss = criterion(model(images), targets)
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()


@torch.no_grad()
def evaluate(model, loader, device):
    correct = total = 0
    for images, targets in loader:
        predictions = model(images.to(device)).argmax(1)
        correct += (predictions == targets.to(device)).sum().item()
        total += targets.numel()
    return correct / total


def main():
    args = parse_args()
    device = torch.device("cuda")
    train_set, val_set = build_datasets(args)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, num_workers=8)
    val_loader = DataLoader(val_set, batch_size=args.batch_size, num_workers=8)
    model = Classifier().to(device)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30)
    scaler = torch.amp.GradScaler("cuda")
    for epoch in range(args.epochs):
        train_one_epoch(model, train_loader, criterion, optimizer, scaler, device)
        scheduler.step()
        accuracy = evaluate(model, val_loader, device)
        print(f"epoch {epoch}: top-1 {accuracy:.3f}")
        torch.save({"model": model.state_dict(), "epoch": epoch}, "checkpoint.pt")


if __name__ == "__main__":
    main()
