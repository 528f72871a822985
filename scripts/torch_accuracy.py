#!/usr/bin/python3
"""Train the PyTorch twin of a JSC example on jscc's own data cache; print accuracy per epoch.

scripts/accuracy_vs_torch.sh runs this next to `jscc train` with the same data (the very rows
jscc trains and validates on, read from its cache file), model, batch size, optimizer (Adam),
schedule (CosineAnnealingLR stepped per epoch, T_max = epochs, eta_min 1e-6: MASE's trainer)
and number of epochs.  With --init (the run directory's init.safetensors) PyTorch starts
from jscc's initial weights, so "the same seed" means the same starting point; only the
shuffling order differs (PyTorch draws its own from --seed).
"""
import argparse
import struct
import sys

import os

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ckpt_interop import load_file  # noqa: E402  (a safetensors reader; the package is not in Debian)

MODELS = {
    "jsc_tiny": lambda: nn.Sequential(nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 5), nn.ReLU()),
    "jsc_big": lambda: nn.Sequential(
        nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 32),
        nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 16),
        nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 8),
        nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 5), nn.ReLU()),
}


def load_cache(path):
    """runtime/data.c's cache file: a 528-byte header (see CacheHeader), then the arrays."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack_from("<3q", raw, 48)
    off = struct.unpack_from("<6Q", raw, 88)
    out = []
    for s in range(3):
        x = np.frombuffer(raw, dtype="<f4", count=n[s] * 16, offset=off[2 * s]).reshape(n[s], 16)
        y = np.frombuffer(raw, dtype="<i4", count=n[s], offset=off[2 * s + 1])
        out.append((torch.from_numpy(x.copy()), torch.from_numpy(y.astype(np.int64))))
    return out


def evaluate(model, x, y, bs=4096):
    model.eval()
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    tot, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), bs):
            out = model(x[i:i + bs])
            tot += loss_fn(out, y[i:i + bs]).item()
            correct += (out.argmax(1) == y[i:i + bs]).sum().item()
    model.train()
    return tot / len(x), correct / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True)
    ap.add_argument("--model", default="jsc_tiny", choices=sorted(MODELS))
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init", help="start from these weights (jscc's init.safetensors)")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(1)
    (xt, yt), (xv, yv), _ = load_cache(a.cache)
    model = MODELS[a.model]()
    if a.init:
        tensors, _ = load_file(a.init)
        model.load_state_dict({k.split(".", 1)[1]: v for k, v in tensors.items()}, strict=True)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs, eta_min=1e-6)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(a.seed)
    for ep in range(a.epochs):
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), a.batch_size):
            idx = perm[i:i + a.batch_size]
            if len(idx) < 2:
                continue  # BatchNorm cannot train on one row
            opt.zero_grad()
            loss_fn(model(xt[idx]), yt[idx]).backward()
            opt.step()
        sched.step()
        vl, va = evaluate(model, xv, yv)
        print(f"torch epoch {ep + 1}/{a.epochs}  val loss {vl:.4f} acc {va:.4f}", flush=True)
    print(f"torch final val_acc {va:.4f}")


if __name__ == "__main__":
    sys.exit(main())
