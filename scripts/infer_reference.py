#!/usr/bin/python3
"""infer_reference.py — what PyTorch says each op's result type is, for ir/infer.c's tests.

Runs every op of ir/ops.def (and the parameterless module classes) on a grid of dtypes and
shapes — broadcasting, matmul of 1-D/2-D/3-D operands, conv1d with stride, padding,
dilation and groups, flatten/transpose/softmax with negative dims, view/reshape with -1,
dtype promotion with 0-d tensors and Python numbers — and writes test/passes/infer_ref.txt,
one case a line:
  INPUT_TYPES | MODULE_LINES | CALL | EXPECTED
INPUT_TYPES are the placeholders %a0, %a1, ... ; MODULE_LINES ("-" for none) are IR module
lines separated by ";"; CALL is the IR text of the node after "=" ; EXPECTED is the result
type in IR syntax or "error" when PyTorch raises.  test/passes/test_infer_ref.c builds one IR
model per case and compares ir_infer_type's answer.  jscc's tests need no Python: rerun this
only when an op or a rule changes (with /usr/bin/python3, torch 1.13).
"""
import itertools
import warnings
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

warnings.simplefilter("ignore")  # implicit softmax dims are the point of some cases

DTYPES = {"f32": torch.float32, "f64": torch.float64, "i32": torch.int32, "i64": torch.int64,
          "bool": torch.bool}
NAMES = {v: k for k, v in DTYPES.items()}


def ty(dtype, shape):
    return "%s[%s]" % (dtype, ",".join(str(s) for s in shape))


def tensor(dtype, shape):
    return torch.ones(shape, dtype=DTYPES[dtype])


def result(fn, *args):
    try:
        r = fn(*args)
    except Exception:  # PyTorch refuses: the rule must report an error
        return "error"
    return ty(NAMES[r.dtype], list(r.shape))


def lit(v):
    """A Python value as IR text."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v)


def call_text(kind, op, nin, extra=(), kwargs=()):
    args = ["%%a%d" % i for i in range(nin)] + [lit(v) for v in extra]
    text = "%s[target=%s](args = (%s%s)" % (kind, op, ", ".join(args), "," if len(args) == 1 else "")
    if kwargs:
        text += ", kwargs = {%s}" % ", ".join("%s=%s" % (k, lit(v)) for k, v in kwargs)
    return text + ")"


cases = []


def case(types, call, expected, modules="-"):
    cases.append("%s | %s | %s | %s" % (" ".join(types), modules, call, expected))


SHAPES1 = [[], [3], [2, 3], [2, 0, 4]]

# Elementwise unary ops, every dtype.
for op, fn in [("relu", torch.relu), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh),
               ("neg", torch.neg), ("leaky_relu", F.leaky_relu)]:
    for d, s in itertools.product(DTYPES, [[], [2, 3]]):
        case([ty(d, s)], call_text("call_function", op, 1), result(fn, tensor(d, s)))
for d in DTYPES:
    for training in (True, False):
        case([ty(d, [2, 3])], call_text("call_function", "dropout", 1, kwargs=[("training", training)]),
             result(lambda x: F.dropout(x, training=training), tensor(d, [2, 3])))

for p in (-0.1, 0.0, 1.0, 1.5):
    case([ty("f32", [2, 3])], call_text("call_function", "dropout", 1, kwargs=[("p", p)]),
         result(lambda x: F.dropout(x, p), tensor("f32", [2, 3])))

# softmax / log_softmax: every dim, in range or not.
for op, fn in [("softmax", F.softmax), ("log_softmax", F.log_softmax)]:
    for s in [[], [4], [2, 3], [2, 3, 4]]:
        for dim in range(-4, 4):
            case([ty("f32", s)], call_text("call_function", op, 1, kwargs=[("dim", dim)]),
                 result(lambda x: fn(x, dim), tensor("f32", s)))
    for d in ("f64", "i64"):
        case([ty(d, [2, 3])], call_text("call_method", op, 1, extra=[1]), result(lambda x: fn(x, 1), tensor(d, [2, 3])))

# Binary arithmetic: broadcasting on f32, then dtype promotion on every pair of dtypes with
# dimensioned and 0-d tensors, and with Python numbers.
BCAST = [([2, 3], [3]), ([2, 3], [2, 1]), ([2, 3], [3, 2]), ([], [2]), ([4, 1, 3], [2, 1]),
         ([1], [0]), ([0], [2]), ([5, 1, 4, 1], [3, 1, 1]), ([3, 1], [1, 3]), ([2], [2, 2, 2])]
ARITH = [("add", torch.add), ("sub", torch.sub), ("mul", torch.mul), ("div", torch.div)]
for (op, fn), (sa, sb) in itertools.product(ARITH, BCAST):
    case([ty("f32", sa), ty("f32", sb)], call_text("call_function", op, 2),
         result(fn, tensor("f32", sa), tensor("f32", sb)))
for (op, fn), da, db in itertools.product(ARITH, DTYPES, DTYPES):
    for sa, sb in [([3], [3]), ([3], []), ([], [3]), ([], [])]:
        case([ty(da, sa), ty(db, sb)], call_text("call_method", op, 2),
             result(fn, tensor(da, sa), tensor(db, sb)))
for (op, fn), d in itertools.product(ARITH, DTYPES):
    for num in (2, 2.5):
        case([ty(d, [3])], call_text("call_function", op, 1, extra=[num]), result(lambda x: fn(x, num), tensor(d, [3])))
        case([ty(d, [])], call_text("call_function", op, 1, extra=[num]), result(lambda x: fn(x, num), tensor(d, [])))

# matmul: 1-D, 2-D and batched operands, batch broadcasting, mismatches, mixed dtypes.
MATMUL = [([3], [3]), ([2, 3], [3]), ([3], [3, 4]), ([2, 3], [3, 4]), ([5, 2, 3], [3, 4]),
          ([2, 3], [5, 3, 4]), ([5, 2, 3], [5, 3, 4]), ([5, 2, 3], [1, 3, 4]),
          ([5, 1, 2, 3], [4, 3, 2]), ([3], [5, 3, 4]), ([5, 3, 4], [4]), ([2, 3], [4, 3]),
          ([3], [4]), ([5, 2, 3], [4, 3, 4]), ([], [3]), ([0, 3], [3, 0])]
for sa, sb in MATMUL:
    case([ty("f32", sa), ty("f32", sb)], call_text("call_function", "matmul", 2),
         result(torch.matmul, tensor("f32", sa), tensor("f32", sb)))
for da, db in [("f32", "f64"), ("f64", "f64"), ("i64", "i64")]:
    case([ty(da, [2, 3]), ty(db, [3, 4])], call_text("call_method", "matmul", 2),
         result(torch.matmul, tensor(da, [2, 3]), tensor(db, [3, 4])))

# linear: input ranks, weight and bias shapes.
for sx, sw, sb in itertools.product([[3], [2, 3], [4, 2, 3], [], [2, 4]], [[5, 3]], [None, [5], [4]]):
    types = [ty("f32", sx), ty("f32", sw)] + ([ty("f32", sb)] if sb else [])
    args = [tensor("f32", sx), tensor("f32", sw)] + ([tensor("f32", sb)] if sb else [])
    case(types, call_text("call_function", "linear", len(types)), result(F.linear, *args))
case([ty("f64", [2, 3]), ty("f32", [5, 3])], call_text("call_function", "linear", 2),
     result(F.linear, tensor("f64", [2, 3]), tensor("f32", [5, 3])))

# conv1d: batched and unbatched input, stride, padding, dilation, groups, too-short input.
for sx, (cout, cin_g, k), stride, pad, dil, groups in itertools.product(
        [[1, 4, 10], [4, 10], [2, 4, 3]], [(6, 4, 3), (6, 2, 3), (4, 1, 1), (6, 4, 5)],
        [1, 2, 3], [0, 2], [1, 2], [1, 2]):
    kw = [("stride", stride), ("padding", pad), ("dilation", dil), ("groups", groups)]
    case([ty("f32", sx), ty("f32", [cout, cin_g, k])], call_text("call_function", "conv1d", 2, kwargs=kw),
         result(lambda x, w: F.conv1d(x, w, stride=stride, padding=pad, dilation=dil, groups=groups),
                tensor("f32", sx), tensor("f32", [cout, cin_g, k])))

for dx, dw in [("f64", "f32"), ("f64", "f64"), ("i64", "i64")]:
    case([ty(dx, [1, 4, 10]), ty(dw, [6, 4, 3])], call_text("call_function", "conv1d", 2),
         result(F.conv1d, tensor(dx, [1, 4, 10]), tensor(dw, [6, 4, 3])))

# flatten, transpose, t: every dim, negative ones and out-of-range ones.
for s in [[], [3], [2, 3, 4], [2, 0, 4]]:
    for start, end in itertools.product(range(-4, 4), range(-4, 4)):
        case([ty("f32", s)], call_text("call_function", "flatten", 1, extra=[start, end]),
             result(lambda x: torch.flatten(x, start, end), tensor("f32", s)))
    for d0, d1 in itertools.product(range(-4, 4), range(-4, 4)):
        case([ty("f32", s)], call_text("call_method", "transpose", 1, extra=[d0, d1]),
             result(lambda x: x.transpose(d0, d1), tensor("f32", s)))
for s in [[], [3], [2, 3], [2, 3, 4]]:
    case([ty("f32", s)], call_text("call_function", "t", 1), result(torch.t, tensor("f32", s)))

# view / reshape, with -1 and zero-sized tensors.
for s, sizes in itertools.product([[2, 3, 4], [0, 3], [], [1]],
                                  [(24,), (-1,), (2, -1), (-1, 4), (6, 4), (5, -1), (-1, -1), (0, -1),
                                   (), (1,), (-1, 3), (3, 0), (0,), (2, 3, -1, 1), (-2, 12)]):
    for op in ("view", "reshape"):
        case([ty("f32", s)], call_text("call_method", op, 1, extra=list(sizes)),
             result(lambda x: getattr(x, op)(*sizes), tensor("f32", s)))

# Modules without parameters, and BatchNorm1d.
for start, end in [(1, -1), (0, -1), (0, 1), (2, 2), (-2, -1)]:
    for s in [[2, 3, 4], [3]]:
        case([ty("f32", s)], "call_module[target=m](args = (%a0,))",
             result(nn.Flatten(start, end), tensor("f32", s)),
             "module m : Flatten(start_dim=%d, end_dim=%d)" % (start, end))
for cls, mod in [("Softmax", nn.Softmax), ("LogSoftmax", nn.LogSoftmax)]:
    for s in [[], [4], [2, 3], [2, 3, 4], [2, 3, 4, 5]]:
        for dim in [None, 0, -1, 2]:
            arg = "None" if dim is None else str(dim)
            case([ty("f32", s)], "call_module[target=m](args = (%a0,))", result(mod(dim), tensor("f32", s)),
                 "module m : %s(dim=%s)" % (cls, arg))
for cls, mod in [("ReLU()", nn.ReLU()), ("Sigmoid()", nn.Sigmoid()), ("Tanh()", nn.Tanh()),
                 ("LeakyReLU(negative_slope=0.2, inplace=false)", nn.LeakyReLU(0.2)),
                 ("Dropout(p=0.5, inplace=false)", nn.Dropout()), ("Identity()", nn.Identity())]:
    for d in DTYPES:
        case([ty(d, [2, 3])], "call_module[target=m](args = (%a0,))", result(mod, tensor(d, [2, 3])),
             "module m : " + cls)
BN = ("module m : BatchNorm1d(num_features=3, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true);"
      "param m.weight : f32[3] = ones;param m.bias : f32[3] = zeros;buffer m.running_mean : f32[3] = zeros;"
      "buffer m.running_var : f32[3] = ones;buffer m.num_batches_tracked : i64[] = zeros")
for d, s in itertools.product(["f32", "f64", "i64"], [[2, 3], [2, 3, 5], [3], [2, 4], [2, 3, 5, 6]]):
    case([ty(d, s)], "call_module[target=m](args = (%a0,))",
         result(nn.BatchNorm1d(3).eval(), tensor(d, s)), BN)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "passes", "infer_ref.txt")
with open(out, "w") as f:
    f.write("# generated by scripts/infer_reference.py from PyTorch %s; do not edit\n" % torch.__version__)
    f.write("# INPUT_TYPES | MODULE_LINES | CALL | EXPECTED\n")
    for c in cases:
        f.write(c + "\n")
print("%d cases -> %s" % (len(cases), os.path.normpath(out)), file=sys.stderr)
