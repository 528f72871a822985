#!/usr/bin/python3
"""ckpt_interop.py — safetensors checkpoints between PyTorch and jscc (runtime/ckpt.c).

  ckpt_interop.py write         writes test/data/ckpt/: the state_dict of a JSC_Tiny-shaped
                                PyTorch model with trained-looking BatchNorm statistics
                                (torch_tiny.safetensors, all F32 and num_batches_tracked I64),
                                the same tensors in other dtypes (torch_tiny_mixed.safetensors:
                                F64, F16, BF16 and an I32 num_batches_tracked), and the values
                                a loader must produce from each (*_expected.txt, one tensor a
                                line: NAME v0 v1 ... as float32/int64 after conversion)
  ckpt_interop.py check FILE    loads a jscc-written FILE with load_state_dict(strict=True)
                                and checks every value against the same model, exactly

The model is MASE's jsc-tiny: nn.Sequential(BatchNorm1d(16), ReLU(), Linear(16, 5), ReLU())
under the attribute seq_blocks, so the names are seq_blocks.0.weight and so on.  This
Python has torch 1.13 but not the safetensors package, so the format (8-byte little-endian
header length, JSON header, raw little-endian data) is read and written here with json,
struct and torch.frombuffer.  jscc's tests need no Python: rerun `write` only when the files
must change (with /usr/bin/python3).
"""
import json
import os
import struct
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUTDIR = os.path.normpath(os.path.join(HERE, "..", "test", "data", "ckpt"))

DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.int64: "I64", torch.int32: "I32"}
FROM_NAME = {v: k for k, v in DTYPES.items()}


class JSCTiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.seq_blocks = nn.Sequential(nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 5), nn.ReLU())

    def forward(self, x):
        return self.seq_blocks(x)


def reference_model():
    """Deterministic weights and running statistics that are neither the defaults nor zero."""
    torch.manual_seed(20240611)
    m = JSCTiny()
    with torch.no_grad():
        m.seq_blocks[0].weight.uniform_(0.5, 1.5)
        m.seq_blocks[0].bias.uniform_(-0.5, 0.5)
    m.train()
    for _ in range(3):
        m(torch.randn(64, 16) * 2 + 0.3)
    m.eval()
    return m


def save_file(tensors, path, metadata=None):
    """A safetensors writer: tensors is an ordered dict of name -> tensor."""
    header, blobs, at = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        b = t.contiguous().view(torch.uint8).numpy().tobytes() if t.dim() else \
            t.reshape(1).view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def load_file(path):
    """A safetensors reader with the format's checks: JSON header, offsets tiling the data."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError("%s: truncated header" % path)
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = bytearray(raw[8 + n:])
    meta = header.pop("__metadata__", None)
    out, spans = {}, []
    for name, info in header.items():
        dt = FROM_NAME[info["dtype"]]
        shape = info["shape"]
        b, e = info["data_offsets"]
        numel = 1
        for s in shape:
            numel *= s
        if e - b != numel * torch.tensor([], dtype=dt).element_size():
            raise ValueError("%s: %s: offsets do not match the shape" % (path, name))
        spans.append((b, e))
        t = torch.frombuffer(data, dtype=dt, count=numel, offset=b) if numel else torch.empty(0, dtype=dt)
        out[name] = t.reshape(shape).clone()
    at = 0
    for b, e in sorted(spans):
        if b != at:
            raise ValueError("%s: tensors do not tile the data" % path)
        at = e
    if at != len(data):
        raise ValueError("%s: %d bytes after the last tensor" % (path, len(data) - at))
    return out, meta


def expected_lines(tensors):
    lines = []
    for name, t in tensors.items():
        v = t.to(torch.int64 if not t.is_floating_point() else torch.float32).reshape(-1).tolist()
        lines.append(name + " " + " ".join(("%d" % x) if isinstance(x, int) else ("%.9g" % x) for x in v))
    return "\n".join(lines) + "\n"


def write():
    os.makedirs(OUTDIR, exist_ok=True)
    sd = reference_model().state_dict()
    save_file(sd, os.path.join(OUTDIR, "torch_tiny.safetensors"), {"format": "pt", "source": "ckpt_interop.py"})
    with open(os.path.join(OUTDIR, "torch_tiny_expected.txt"), "w") as f:
        f.write(expected_lines(sd))
    # The same tensors in the other dtypes the loader converts; one F16 value is subnormal.
    conv = {"seq_blocks.0.weight": torch.float64, "seq_blocks.0.bias": torch.float16,
            "seq_blocks.0.running_mean": torch.bfloat16, "seq_blocks.0.num_batches_tracked": torch.int32,
            "seq_blocks.2.weight": torch.float16, "seq_blocks.2.bias": torch.bfloat16}
    mixed = {}
    for name, t in sd.items():
        t = t.to(conv.get(name, t.dtype))
        if name == "seq_blocks.0.bias":
            t[0] = 3e-6  # an F16 subnormal
            t[1] = -65504.0  # F16's largest magnitude
        mixed[name] = t
    save_file(mixed, os.path.join(OUTDIR, "torch_tiny_mixed.safetensors"))
    with open(os.path.join(OUTDIR, "torch_tiny_mixed_expected.txt"), "w") as f:
        f.write(expected_lines(mixed))
    # The reader must accept what it wrote.
    back, meta = load_file(os.path.join(OUTDIR, "torch_tiny.safetensors"))
    assert all(torch.equal(back[k], v) for k, v in sd.items()) and meta["format"] == "pt"
    print("wrote", OUTDIR, file=sys.stderr)


def check(path):
    tensors, meta = load_file(path)
    m = JSCTiny()
    m.load_state_dict(tensors, strict=True)
    ref = reference_model().state_dict()
    got = m.state_dict()
    bad = 0
    for name, t in ref.items():
        if got[name].dtype != t.dtype or not torch.equal(got[name], t):
            print("%s: %s differs: %s vs %s" % (path, name, got[name], t), file=sys.stderr)
            bad += 1
    out = m(torch.randn(4, 16))  # the loaded model runs
    print("%s: load_state_dict(strict=True) accepted %d tensors; metadata %s; values %s; output %s" %
          (path, len(tensors), meta, "identical" if not bad else "DIFFER", tuple(out.shape)))
    return 1 if bad else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "write":
        write()
        return 0
    if len(argv) == 3 and argv[1] == "check":
        return check(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
