#!/usr/bin/env python3
"""bench/torch_gpu.py — the PyTorch side of the GPU training benchmark (bench/gpu.sh).

Trains the architecture of examples/jsc_tiny.jsc or examples/jsc_big.jsc (bench/torch_train.py's
make_model) on the training split bench/export_data wrote (the rows `jscc train` uses, already
standardised), with cross-entropy and Adam (lr 1e-3, PyTorch's defaults otherwise: on CUDA the
foreach implementation), eager, and times full epochs per batch size:

  - the whole split is on the GPU once, before any timing (x float32 [n][16], y int64 [n]);
  - each epoch draws a shuffled index on the GPU (torch.randperm with a CUDA generator) and steps
    through it by slicing, x[idx[i:i+bs]]: the fastest plain eager loop (no DataLoader, no host
    round trip per step; the loss is never read back);
  - a warm-up of a few steps (CUDA context, kernels, the caching allocator, cuBLAS handles)
    precedes the timed epochs; torch.cuda.synchronize() before and after each timed epoch, so it
    is the GPU's time as well as Python's.

Prints, after a comment line naming torch and the device, the CSV header
model,batch,seconds,samples_per_second,epochs and one line per batch size: the median over
--epochs timed epochs.  --device cpu and --max-rows let bench/gpu.sh --cpu-check try the script
on a machine without a GPU.
"""
import argparse
import statistics
import sys
import time

# torch_train.py sets OMP/MKL/OpenBLAS to one thread when imported; the host side of this
# loop is launch overhead, not arithmetic, so that does not matter here.
from torch_train import load, make_model  # noqa: E402 (bench/ is this script's directory)
import torch  # noqa: E402
from torch import nn  # noqa: E402


def step(model, opt, loss_fn, xb, yb):
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(xb), yb)
    loss.backward()
    opt.step()


def epoch(model, opt, loss_fn, x, y, bs, gen, max_steps=None):
    """One pass over a fresh permutation; max_steps cuts it short (the warm-up)."""
    n = x.shape[0]
    perm = torch.randperm(n, device=x.device, generator=gen)
    steps = 0
    for i in range(0, n, bs):
        idx = perm[i:i + bs]
        if idx.numel() < 2:  # BatchNorm cannot train on one row; jscc drops it too
            break
        step(model, opt, loss_fn, x[idx], y[idx])
        steps += 1
        if max_steps is not None and steps >= max_steps:
            break


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="the file bench/export_data export wrote")
    ap.add_argument("--model", required=True, choices=("jsc_tiny", "jsc_big"))
    ap.add_argument("--batch-sizes", default="256", help="comma-separated (default 256)")
    ap.add_argument("--device", default="cuda", help="cuda (default) or cpu (a trial run)")
    ap.add_argument("--epochs", type=int, default=1, help="timed epochs per batch size; the median is printed")
    ap.add_argument("--warmup-steps", type=int, default=20)
    ap.add_argument("--max-rows", type=int, default=0, help="use the first N rows only (0: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=1e-3)
    args = ap.parse_args()
    try:
        batches = [int(b) for b in args.batch_sizes.split(",")]
    except ValueError:
        ap.error(f"--batch-sizes: expected comma-separated whole numbers, got '{args.batch_sizes}'")
    if args.epochs < 1 or any(b < 2 for b in batches):
        ap.error("--epochs must be >= 1 and every batch size >= 2")

    dev = torch.device(args.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        sys.exit("torch_gpu.py: torch.cuda.is_available() is False (no GPU or no driver)")
    x, y = load(args.data)
    if args.max_rows > 0:
        x, y = x[:args.max_rows], y[:args.max_rows]
    x, y = x.to(dev), y.to(dev)
    n = x.shape[0]
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(f"# torch {torch.__version__}, device {name}, rows {n}, timed epochs {args.epochs}")
    print("model,batch,seconds,samples_per_second,epochs")
    sys.stdout.flush()
    for bs in batches:
        torch.manual_seed(args.seed)
        gen = torch.Generator(device=dev).manual_seed(args.seed)
        model = make_model(args.model).to(dev)
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=args.lr)
        loss_fn = nn.CrossEntropyLoss()
        epoch(model, opt, loss_fn, x, y, bs, gen, max_steps=args.warmup_steps)
        secs = []
        for _ in range(args.epochs):
            sync(dev)
            t0 = time.perf_counter()
            epoch(model, opt, loss_fn, x, y, bs, gen)
            sync(dev)
            secs.append(time.perf_counter() - t0)
        s = statistics.median(secs)
        print(f"{args.model},{bs},{s:.5f},{n / s:.1f},{args.epochs}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
