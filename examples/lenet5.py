"""LeNet-5 on the digits data (or MNIST with --data-dir): python examples/lenet5.py [--data-dir MNIST_DIR]."""

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
    train_set, test_set, epochs = Digits(train=True), Digits(train=False), 6
model = models.LeNet5()
print(model)
optimizer = optim.Adam(model.parameters(), lr=0.002)
schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)  # the step size shrinks to 0 by the end
start = time.perf_counter()
for epoch in range(1, epochs + 1):
    stats = train_epoch(model, DataLoader(train_set, batch_size=32, shuffle=True, seed=epoch), optimizer)
    schedule.step()
    result = evaluate(model, DataLoader(test_set, 500))
    print(f"epoch {epoch}: train loss {stats.loss:.4f}, test accuracy {100 * result.accuracy:.2f}%")
print(f"{sum(p.size for p in model.parameters())} parameters, {time.perf_counter() - start:.1f}s")
assert result.accuracy > 0.9
