#!/usr/bin/python3
"""fx_reference.py — what PyTorch says the example models are, for the golden tests.

For each JSC example, builds the same model in PyTorch (as MASE / the lab report / hls4ml
define it), traces it with torch.fx.symbolic_trace and writes test/golden/fx/NAME.fx:
  node OP NAME TARGET          one line per fx node, in graph order
  param|buffer NAME [SHAPE] DTYPE   the state_dict, in order
  trainable N                  trainable parameter elements
test/cli/fx_compare.sh derives the same lines from jscc's IR and diffs them.  jscc's tests
need no Python: rerun this only when an example changes (with /usr/bin/python3, torch 1.13).
"""
import os
import sys

import torch
import torch.nn as nn
import torch.fx


def seq(*layers):
    return nn.Sequential(*layers)


class SeqBlocks(nn.Module):
    """MASE's JSC models: self.seq_blocks = nn.Sequential(...); forward = seq_blocks(x)."""

    def __init__(self, *layers):
        super().__init__()
        self.seq_blocks = nn.Sequential(*layers)

    def forward(self, x):
        return self.seq_blocks(x)


class JSC_S(nn.Module):
    """MASE's jsc-s: an nn.ModuleList looped over in forward()."""

    def __init__(self):
        super().__init__()
        h = [64, 32, 32, 32]
        layers = [nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, h[0]), nn.BatchNorm1d(h[0]), nn.ReLU()]
        for a, b in zip(h, h[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers += [nn.Linear(h[-1], 5), nn.BatchNorm1d(5), nn.ReLU()]
        self.module_list = nn.ModuleList(layers)

    def forward(self, x):
        for m in self.module_list:
            x = m(x)
        return x


class HLS4ML_JSC(nn.Module):
    """hls4ml's three-hidden-layer JSC MLP, 16-64-32-32-5."""

    def __init__(self):
        super().__init__()
        self.fc1, self.relu1 = nn.Linear(16, 64), nn.ReLU()
        self.fc2, self.relu2 = nn.Linear(64, 32), nn.ReLU()
        self.fc3, self.relu3 = nn.Linear(32, 32), nn.ReLU()
        self.fc4 = nn.Linear(32, 5)

    def forward(self, x):
        h = self.relu1(self.fc1(x))
        h = self.relu2(self.fc2(h))
        h = self.relu3(self.fc3(h))
        return self.fc4(h)


BN, R, L, D = nn.BatchNorm1d, nn.ReLU, nn.Linear, nn.Dropout
MODELS = {
    "jsc_tiny": lambda: SeqBlocks(BN(16), R(16), L(16, 5), R(5)),
    "jsc_toy": lambda: SeqBlocks(BN(16), R(16), L(16, 8), BN(8), R(8), L(8, 8), BN(8), R(8), L(8, 5), BN(5), R(5)),
    "jsc_big": lambda: SeqBlocks(BN(16), R(16), L(16, 32), BN(32), R(32), L(32, 16), BN(16), R(16), L(16, 8),
                                 BN(8), R(8), L(8, 5), R(5)),
    "jsc_s": JSC_S,
    "jsc_trt": lambda: SeqBlocks(BN(16), R(), L(16, 32), BN(32), R(), L(32, 48), BN(48), R(), D(0.5), L(48, 16),
                                 BN(16), R(), L(16, 5), BN(5), R()),
    "hls4ml_jsc": HLS4ML_JSC,
}


def describe(name, model):
    gm = torch.fx.symbolic_trace(model)
    out = [f"# torch.fx.symbolic_trace of {type(model).__name__} (torch {torch.__version__}), "
           f"written by scripts/fx_reference.py"]
    for n in gm.graph.nodes:
        out.append(f"node {n.op} {n.name} {n.target}")
    buffers = {k for k, _ in model.named_buffers()}
    for k, t in model.state_dict().items():
        kind = "buffer" if k in buffers else "param"
        out.append(f"{kind} {k} [{','.join(str(d) for d in t.shape)}] {str(t.dtype).replace('torch.', '')}")
    out.append(f"trainable {sum(p.numel() for p in model.parameters() if p.requires_grad)}")
    return "\n".join(out) + "\n"


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    outdir = os.path.join(root, "test", "golden", "fx")
    os.makedirs(outdir, exist_ok=True)
    for name, make in MODELS.items():
        with open(os.path.join(outdir, name + ".fx"), "w") as f:
            f.write(describe(name, make()))
    print(f"wrote {len(MODELS)} references to {outdir}", file=sys.stderr)


if __name__ == "__main__":
    main()
