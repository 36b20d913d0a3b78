"""A PyTorch MNIST training script, run on tinygrad_cnn by changing only its import lines.

Everything below the import block is plain PyTorch: the same file runs on PyTorch when the block reads

    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
    from torch.optim.lr_scheduler import StepLR
    from torchvision import datasets, transforms

Usage: python examples/pytorch_mnist.py --data DIR [--epochs 1] [--max-batches N] [--save-model]
(DIR holds the four MNIST IDX files, or add --download to fetch them).
"""

import argparse

# ---- the only lines that differ from the PyTorch script ----
import tinygrad_cnn as torch
import tinygrad_cnn.nn as nn
import tinygrad_cnn.nn.functional as F
import tinygrad_cnn.optim as optim
from tinygrad_cnn.data import datasets, transforms
from tinygrad_cnn.optim.lr_scheduler import StepLR

# ---- end of the import block ----


class Net(nn.Module):
    """Two 3x3 convolutions, max-pooling, dropout and two linear layers: (N, 1, 28, 28) -> log-probabilities (N, 10)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return F.log_softmax(self.fc2(x), dim=1)


def train(args, model, device, train_loader, optimizer, scheduler, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print(f"train epoch {epoch} [{batch_idx * len(data)}/{len(train_loader.dataset)}] "
                  f"loss {loss.item():.4f} lr {scheduler.get_last_lr()[0]:.4f}")
        if args.max_batches and batch_idx + 1 >= args.max_batches:
            break


def test(model, device, test_loader, max_batches):
    model.eval()
    test_loss, correct, seen = 0.0, 0, 0
    with torch.no_grad():
        for batch_idx, (data, target) in enumerate(test_loader):
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
            seen += len(data)
            if max_batches and batch_idx + 1 >= max_batches:
                break
    print(f"test set: average loss {test_loss / seen:.4f}, accuracy {correct}/{seen} ({100.0 * correct / seen:.1f}%)")
    return correct / seen


def main():
    parser = argparse.ArgumentParser(description="MNIST, written for PyTorch")
    parser.add_argument("--data", default="../data", help="folder with the MNIST files")
    parser.add_argument("--download", action="store_true", help="download MNIST into --data if it is missing")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--test-batch-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--gamma", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-interval", type=int, default=10)
    parser.add_argument("--max-batches", type=int, default=0, help="stop each epoch after this many batches (0: all)")
    parser.add_argument("--save-model", action="store_true")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train_set = datasets.MNIST(args.data, train=True, download=args.download, transform=transform)
    test_set = datasets.MNIST(args.data, train=False, transform=transform)
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=args.batch_size, shuffle=True, num_workers=1,
                                               pin_memory=True)
    test_loader = torch.utils.data.DataLoader(test_set, batch_size=args.test_batch_size)

    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, scheduler, epoch)
        test(model, device, test_loader, args.max_batches)
        scheduler.step()
    if args.save_model:
        torch.save(model.state_dict(), "mnist_cnn.pt")


if __name__ == "__main__":
    main()
