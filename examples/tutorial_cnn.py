"""The tutorial CNN (conv 2@5x5, relu, max-pool 2, linear 288->60, relu, linear 60->10) trained on digits.

On MNIST for one epoch when a folder with the four IDX files is given:
python examples/tutorial_cnn.py --data-dir MNIST_DIR
"""

import argparse
import time

import tinygrad_cnn as tg
from tinygrad_cnn import models, optim
from tinygrad_cnn.data import MNIST, DataLoader, Digits
from tinygrad_cnn.training import evaluate, train_epoch

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--data-dir", help="a folder with the four MNIST IDX files (default: the digits data)")
args = parser.parse_args()

tg.manual_seed(0)
if args.data_dir:
    train_set, test_set, epochs = MNIST(args.data_dir, train=True), MNIST(args.data_dir, train=False), 1
else:
    train_set, test_set, epochs = Digits(train=True), Digits(train=False), 5
model = models.SeedCNN()
optimizer = optim.Adam(model.parameters(), lr=0.003)
loader = DataLoader(train_set, batch_size=32, shuffle=True, seed=0)
start = time.perf_counter()
for epoch in range(1, epochs + 1):
    stats = train_epoch(model, loader, optimizer)
    result = evaluate(model, DataLoader(test_set, 500))
    print(f"epoch {epoch}: train loss {stats.loss:.4f}, test accuracy {100 * result.accuracy:.2f}%")
print(f"{len(train_set)} training images x {epochs} epochs in {time.perf_counter() - start:.1f}s")
assert result.accuracy > 0.9
