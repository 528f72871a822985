#!/usr/bin/env python3
"""bench/torch_train.py — the PyTorch side of the training benchmark (bench/train_bench.sh).

Trains the same architecture as examples/jsc_tiny.jsc or examples/jsc_big.jsc on the
training split bench/export_data wrote (the rows `jscc train` uses, already standardised),
with cross-entropy and Adam (lr 1e-3, PyTorch's defaults otherwise), reshuffled every epoch,
one thread, and times one full epoch per batch size in two styles:

  slicing     a shuffled permutation, then x[idx[i:i+bs]] per step: the fastest plain loop;
  dataloader  DataLoader(TensorDataset(x, y), batch_size=bs, shuffle=True, num_workers=0),
              as a PyTorch Lightning user's training loop gets its batches.

Each timed epoch follows a warm-up of a few steps (allocator, BLAS and autograd caches).
PyTorch gets its best single-thread setting: torch.set_num_threads(1), the BLAS the caller
chose (train_bench.sh installs OpenBLAS), zero_grad(set_to_none=True).

Prints one CSV line per (loader, batch): model,loader,batch,seconds,samples_per_second,cpu_seconds
after a header; cpu_seconds is the process's CPU time over the epoch (a busy machine stretches
the wall time, less so the CPU time).  The first line (a comment, '#') names torch and its BLAS.
"""
import argparse
import os
import sys
import time

# one thread before torch loads its OpenMP and BLAS runtimes
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

HEADER_BYTES = 32
FEATURES, CLASSES = 16, 5


def load(path):
    """The raw file of bench/export_data.c: a 32-byte header, float32 x[n][16], int32 y[n]."""
    head = np.fromfile(path, dtype=np.uint8, count=HEADER_BYTES).tobytes()
    if head[:8] != b"JSCBENCH":
        sys.exit(f"{path}: not a JSCBENCH file")
    n = int.from_bytes(head[8:16], "little")
    f = int.from_bytes(head[16:20], "little")
    c = int.from_bytes(head[20:24], "little")
    if (f, c) != (FEATURES, CLASSES):
        sys.exit(f"{path}: {f} features and {c} classes, expected {FEATURES} and {CLASSES}")
    x = np.fromfile(path, dtype="<f4", count=n * f, offset=HEADER_BYTES).reshape(n, f)
    y = np.fromfile(path, dtype="<i4", count=n, offset=HEADER_BYTES + 4 * n * f)
    if x.shape[0] != n or y.shape[0] != n:
        sys.exit(f"{path}: truncated")
    # cross_entropy wants int64 targets: convert once, outside the timed loop
    return torch.from_numpy(x.copy()), torch.from_numpy(y.astype(np.int64))


def make_model(name):
    """The architectures of examples/jsc_tiny.jsc and examples/jsc_big.jsc (MASE's JSC_Tiny, the
    lab report's JSC_Big), with the same ReLU(inplace=True)."""
    if name == "jsc_tiny":
        layers = [nn.BatchNorm1d(16), nn.ReLU(inplace=True), nn.Linear(16, 5), nn.ReLU(inplace=True)]
    elif name == "jsc_big":
        layers = []
        for i, o in ((16, 32), (32, 16), (16, 8), (8, 5)):
            layers += [nn.BatchNorm1d(i), nn.ReLU(inplace=True), nn.Linear(i, o)]
        layers.append(nn.ReLU(inplace=True))
    else:
        sys.exit(f"unknown model {name}")
    return nn.Sequential(*layers)


def step(model, opt, loss_fn, xb, yb):
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(xb), yb)
    loss.backward()
    opt.step()
    return loss


def epoch_slicing(model, opt, loss_fn, x, y, bs, gen, max_steps=None):
    n = x.shape[0]
    perm = torch.randperm(n, generator=gen)
    steps = 0
    for i in range(0, n, bs):
        idx = perm[i:i + bs]
        if idx.numel() < 2:  # BatchNorm cannot train on one row; jscc drops it too
            break
        step(model, opt, loss_fn, x[idx], y[idx])
        steps += 1
        if max_steps is not None and steps >= max_steps:
            break


def epoch_dataloader(model, opt, loss_fn, loader, max_steps=None):
    steps = 0
    for xb, yb in loader:
        if xb.shape[0] < 2:
            break
        step(model, opt, loss_fn, xb, yb)
        steps += 1
        if max_steps is not None and steps >= max_steps:
            break


def blas_name():
    """The BLAS torch's process mapped: Debian's torch links libblas.so.3, an alternative that
    the libopenblas0-* packages point at OpenBLAS ("openblas-openmp/libblas.so.3")."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "/libblas.so" in line}
        return ",".join(sorted("/".join(os.path.realpath(p).split("/")[-2:]) for p in libs)) or "none mapped"
    except OSError:
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="the file bench/export_data export wrote")
    ap.add_argument("--model", required=True, choices=("jsc_tiny", "jsc_big"))
    ap.add_argument("--batch-sizes", default="256", help="comma-separated (default 256)")
    ap.add_argument("--loaders", default="slicing,dataloader", help="slicing, dataloader or both")
    ap.add_argument("--warmup-steps", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    x, y = load(args.data)
    n = x.shape[0]
    # touch the blas library once so /proc/self/maps shows it
    torch.nn.functional.linear(x[:8], torch.zeros(5, 16))
    print(f"# torch {torch.__version__}, threads {torch.get_num_threads()}, blas {blas_name()}, rows {n}")
    print("model,loader,batch,seconds,samples_per_second,cpu_seconds")
    sys.stdout.flush()
    for loader_kind in args.loaders.split(","):
        for bs in (int(b) for b in args.batch_sizes.split(",")):
            torch.manual_seed(args.seed)
            gen = torch.Generator().manual_seed(args.seed)
            model = make_model(args.model)
            model.train()
            opt = torch.optim.Adam(model.parameters(), lr=args.lr)
            loss_fn = nn.CrossEntropyLoss()
            if loader_kind == "slicing":
                epoch_slicing(model, opt, loss_fn, x, y, bs, gen, max_steps=args.warmup_steps)
                t0, c0 = time.perf_counter(), time.process_time()
                epoch_slicing(model, opt, loss_fn, x, y, bs, gen)
            elif loader_kind == "dataloader":
                loader = DataLoader(TensorDataset(x, y), batch_size=bs, shuffle=True, num_workers=0,
                                    generator=gen)
                epoch_dataloader(model, opt, loss_fn, loader, max_steps=args.warmup_steps)
                t0, c0 = time.perf_counter(), time.process_time()
                epoch_dataloader(model, opt, loss_fn, loader)
            else:
                sys.exit(f"unknown loader {loader_kind}")
            secs, cpu = time.perf_counter() - t0, time.process_time() - c0
            print(f"{args.model},{loader_kind},{bs},{secs:.4f},{n / secs:.1f},{cpu:.4f}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
