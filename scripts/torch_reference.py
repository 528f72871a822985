#!/usr/bin/python3
"""torch_reference.py — reference tensors for the C executor (test/runtime/test_interp.c).

For each JSC model (examples/jsc_tiny.jsc, examples/jsc_big.jsc, examples/jsc_conv.jsc,
rebuilt here as the equivalent nn.Sequential named seq_blocks; jsc_conv views the batch as
[B, 1, 16] first) with a seeded init and one fixed batch, writes
test/data/ref/<model>.txt with
  init.<qualname>    the parameters and buffers before anything runs (BatchNorm weights,
                     biases and running stats are randomised so every formula is exercised)
  input.x            the batch: 64 rows of 16 normal features
  input.target       labels 0..4 (i64)
  train.logits       the logits in train mode
  train.loss         cross-entropy (mean over the batch)
  grad.<qualname>    d loss / d every parameter
  step1.<qualname>   every buffer after that step (running stats, num_batches_tracked)
  eval.logits        eval-mode logits after that step (running stats updated, weights not)
  adam10.<qualname>  every parameter and buffer after 10 Adam steps from the initial state
                     (lr 1e-2, default betas and eps, foreach=False), each step on the same
                     batch in train mode

The model computes in float32, as PyTorch does by default, except the Adam run: its model
is float64 (from the same float32 values).  Behind a BatchNorm, a Linear bias has an exactly
zero gradient; float32 gives it rounding noise of ~1e-9 that Adam's normalisation
(m / (sqrt(v) + eps)) turns into updates of ~1e-5 with a random sign, which no
implementation can reproduce.  In float64 that noise is ~1e-17 and its updates vanish, so the
comparison tests the arithmetic, not the noise.  The C side keeps parameters in float32 and
computes in double, so it lands within float rounding of both.

Format (one tensor after another, text so that diffs are readable):
  tensor NAME DTYPE RANK DIM...
  values, 8 per line, %.9g (floats round-trip) or integers

Run with /usr/bin/python3 (PyTorch 1.13) from the source root.
"""
import copy
import os
import sys

import torch
import torch.nn as nn

SEED = 0
BATCH = 64
STEPS = 10
LR = 1e-2


def jsc_tiny():
    return nn.Sequential(nn.BatchNorm1d(16), nn.ReLU(inplace=True), nn.Linear(16, 5), nn.ReLU(inplace=True))


def jsc_big():
    return nn.Sequential(
        nn.BatchNorm1d(16), nn.ReLU(inplace=True), nn.Linear(16, 32),
        nn.BatchNorm1d(32), nn.ReLU(inplace=True), nn.Linear(32, 16),
        nn.BatchNorm1d(16), nn.ReLU(inplace=True), nn.Linear(16, 8),
        nn.BatchNorm1d(8), nn.ReLU(inplace=True), nn.Linear(8, 5), nn.ReLU(inplace=True))


def jsc_conv():
    return nn.Sequential(
        nn.Conv1d(1, 4, 3, padding=1), nn.BatchNorm1d(4), nn.ReLU(),
        nn.Conv1d(4, 8, 3, stride=2, padding=2, dilation=2, groups=2), nn.BatchNorm1d(8), nn.ReLU(),
        nn.Flatten(), nn.Linear(64, 5))


class Model(nn.Module):
    def __init__(self, seq, view=None):
        super().__init__()
        self.seq_blocks = seq
        self.view = view

    def forward(self, x):
        return self.seq_blocks(x if self.view is None else x.view(*self.view))


def write_tensor(out, name, t):
    t = t.detach().cpu()
    if t.dtype in (torch.float32, torch.float64):
        dt, vals = "f32", ["%.9g" % v for v in t.reshape(-1).tolist()]
    else:
        dt, vals = "i64", ["%d" % v for v in t.reshape(-1).tolist()]
    out.append("tensor %s %s %d%s\n" % (name, dt, t.dim(), "".join(" %d" % s for s in t.shape)))
    for i in range(0, len(vals), 8):
        out.append(" ".join(vals[i:i + 8]) + "\n")


def reference(name, build, view):
    torch.manual_seed(SEED)
    model = Model(build(), view)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    x = torch.randn(BATCH, 16)
    target = torch.randint(0, 5, (BATCH,))
    init = copy.deepcopy(model)

    out = ["# scripts/torch_reference.py: %s, torch %s, seed %d\n" % (name, torch.__version__, SEED)]
    for k, v in model.state_dict().items():
        write_tensor(out, "init." + k, v)
    write_tensor(out, "input.x", x)
    write_tensor(out, "input.target", target)

    model.train()
    logits = model(x)
    loss = nn.functional.cross_entropy(logits, target)
    loss.backward()
    write_tensor(out, "train.logits", logits)
    write_tensor(out, "train.loss", loss)
    for k, p in model.named_parameters():
        write_tensor(out, "grad." + k, p.grad)
    for k, b in model.named_buffers():
        write_tensor(out, "step1." + k, b)
    model.eval()
    with torch.no_grad():
        write_tensor(out, "eval.logits", model(x))

    model = init.double()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=LR, foreach=False)
    for _ in range(STEPS):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x.double()), target).backward()
        opt.step()
    for k, v in model.state_dict().items():
        write_tensor(out, "adam%d.%s" % (STEPS, k), v)
    return "".join(out)


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    outdir = os.path.join(root, "test", "data", "ref")
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(1)
    models = (("jsc_tiny", jsc_tiny, None), ("jsc_big", jsc_big, None), ("jsc_conv", jsc_conv, (-1, 1, 16)))
    only = sys.argv[1:]
    for name, build, view in models:
        if only and name not in only:
            continue
        text = reference(name, build, view)
        path = os.path.join(outdir, name + ".txt")
        with open(path, "w") as f:
            f.write(text)
        print("wrote %s (%d bytes)" % (path, len(text)), file=sys.stderr)


if __name__ == "__main__":
    main()
