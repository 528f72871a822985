#!/usr/bin/python3
"""quant_reference.py — what MASE's quantizers compute, for ir/quant.c.

Writes test/data/quant/quant_ref.txt.  The quantizers below are MASE's
(src/chop/nn/quantizers/{integer,minifloat,log,block_fp,block_minifloat,block_log,ternary,
utils}.py and machop's
binary.py), written out again in float32 torch with the same operations in the same order, so
that every float32 rounding MASE does (|x| + 1e-9, log2 rounded to float, torch.round half to
even, clamp bounds cast to float) happens here too.  After MASE's result the script applies
jscc's deliberate differences, each a rule stated at the top of ir/quant.c and computed here
on its own terms, never from jscc's output:

  - +-inf saturates: minifloat and block_fp use MASE's result at +-FLT_MAX (MASE's own result
    is NaN, from its `is_close_to_0 * x` term).  The formats here keep 2^e inside float's range.
  - log: an exact zero stays zero (MASE gives +2^-bias).
  - binary: NaN stays NaN (MASE gives -1 or 0).
  - block_fp, block_minifloat, block_log: a NaN element stays NaN and is left out of its
    block's max (MASE's block goes NaN); block_log keeps an exact zero, as log.
  - ternary: the threshold statistic is the format's (mean, median or max of |x|) over the whole
    tensor; NaN elements are left out of the statistics and stay NaN; a scaled ternary that
    keeps no element gives 0 (MASE divides 0 by 0).

test/ir/test_quant.c checks ir_quant_f32, ir_quant_f64 and ir_quant_tensor against every
value bit for bit; jscc's tests need no Python.  Rerun this only when the quantizer math
changes: /usr/bin/python3 scripts/quant_reference.py (torch 1.13).

File format, one record a line:
  case NAME KIND w=W f=F e=E b=B bs=BS signed=0|1 floor=0|1 bipolar=0|1 scaled=0|1 stat=S row=R [bw=BW]
  x  HEX ...      float32 inputs, as the 8-digit hex of their bits
  y  HEX ...      the expected float32 outputs
  x64 HEX ...     (integer cases) float64 inputs, 16-digit hex
  y64 HEX ...     the expected float64 outputs (MASE's integer quantizer in float64 torch)
Elementwise cases are one tensor of elementwise inputs; block_fp, block_minifloat and
block_log cases are rows of R elements (bw: the bias width); ternary cases are one tensor.
"""
import math
import os

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "data", "quant",
                   "quant_ref.txt")
F32 = torch.float32
FLT_MAX = float(np.finfo(np.float32).max)


# ---- MASE's quantizers, float32 ---------------------------------------------------------

def mase_integer(x, width, frac, signed=True, floor=False):
    """integer.py: clamp(round(x * 2^f), lo, hi) / 2^f (floor: integer_floor_quantizer)."""
    if signed:
        lo, hi = -(2 ** (width - 1)), 2 ** (width - 1) - 1
    else:
        lo, hi = 0, 2 ** width - 1
    scale = 2 ** frac
    r = x.mul(scale)
    r = r.floor() if floor else r.round()
    return r.clamp(min=lo, max=hi).div(scale)


def is_close_to_0(v):
    """torch.isclose(v, 0.0) with the default rtol=1e-5, atol=1e-8."""
    return torch.isclose(v, torch.tensor([0.0], dtype=v.dtype))


def mase_minifloat_denorm(x, width, ew, bias):
    """minifloat.py _minifloat_denorm_quantize."""
    mb = width - ew - 1
    emax = 2 ** ew - 1 - bias
    emin = -bias
    sign = torch.sign(x + 1e-9)
    value = torch.abs(x)
    e = torch.ceil(torch.log2(value + 1e-9)).clamp(emin, emax)
    mant = value / 2 ** e
    shift = 2 ** mb
    sm = (mant * shift).round().clamp(0, 2 ** mb - 1)
    mant = sm / shift
    c = is_close_to_0(value)
    return (~c) * (sign * (2 ** e) * mant) + c * x


def mase_minifloat_ieee(x, width, ew, bias):
    """minifloat.py _minifloat_ieee_quantize."""
    mb = width - ew - 1
    emax = 2 ** ew - 1 - bias
    emin = -bias
    shift = 2 ** mb
    sign = torch.sign(x + 1e-9)
    value = torch.abs(x)
    e = torch.floor(torch.log2(value + 1e-9)).clamp(emin, emax)
    mant = value / 2 ** e
    tb = torch.tensor([bias], dtype=e.dtype)
    normal = ~torch.isclose(e, -tb)
    sm = normal * (mant * shift - shift).round().clamp(0, 2 ** mb - 1) + \
        (~normal) * (mant * shift / 2).round().clamp(0, 2 ** mb - 1)
    mant = normal * (1.0 + sm / shift) + (~normal) * (sm / shift * 2)
    c = is_close_to_0(value)
    return (~c) * (sign * (2 ** e) * mant) + c * x


def mase_log(x, width, bias):
    """log.py _log_quantize."""
    eb = width - 1
    emax = 2 ** eb - 1 - bias
    emin = -bias
    min_pos = 2 ** emin
    sign = torch.sign(x + min_pos * 0.1)
    value = torch.abs(x) + min_pos * 0.1
    e = torch.log2(value).round().clamp(emin, emax)
    return sign * (2 ** e)


def mase_block_fp(x, width, ew, bias, block_size):
    """block_fp.py _block_fp_quantize on a 2-d activation [rows, C] (skip_first_dim=True):
    utils.py _block_2d_activation pads C with zeros on the right to a multiple of the block
    and reshapes to [rows, blocks, block]."""
    rows, C = x.shape
    bs = min(block_size, C)
    nb = math.ceil(C / bs)
    padded = torch.nn.functional.pad(x, [0, nb * bs - C, 0, 0])
    blocked = padded.reshape(rows, nb, bs)
    pmax = torch.abs(blocked).max(dim=2, keepdim=True)[0]
    if torch.all(pmax == 0):
        pmax = torch.ones_like(pmax)
    else:
        pmax[pmax == 0] = pmax[pmax != 0].min()
    mb = width - 1
    emax = 2 ** ew - 1 - bias
    emin = -bias
    sign = torch.sign(blocked + 1e-9)
    value = torch.abs(blocked) + 1e-9
    e = torch.ceil(torch.log2(pmax)).clamp(emin, emax)
    mant = value / 2 ** e
    shift = 2 ** mb
    mi = (mant * shift).round().clamp(0, 2 ** mb - 1)
    mant = mi / shift
    q = sign * (2 ** e) * mant
    q = q.flatten(1)[:, :C]
    c = torch.isclose(x, torch.tensor([0.0], dtype=x.dtype))
    return (~c) * q + c * x


def mase_block(x, block_size):
    """utils.py block on a 2-d activation [rows, C] with a scalar block size: C padded with
    zeros on the right to a multiple of the block, [rows, blocks, block], and each block's
    max |x| with MASE's substitute for all-zero blocks."""
    rows, C = x.shape
    bs = min(block_size, C)
    nb = math.ceil(C / bs)
    blocked = torch.nn.functional.pad(x, [0, nb * bs - C, 0, 0]).reshape(rows, nb, bs)
    pmax = torch.abs(blocked).max(dim=2, keepdim=True)[0]
    if torch.all(pmax == 0):
        pmax = torch.ones_like(pmax)
    else:
        pmax[pmax == 0] = pmax[pmax != 0].min()
    return blocked, pmax


def my_clamp(v, lo, hi):
    """utils.py my_clamp: elementwise bounds that may be tensors."""
    return torch.min(torch.max(v, torch.as_tensor(lo, dtype=v.dtype)), torch.as_tensor(hi, dtype=v.dtype))


def mase_minifloat_ieee_t(x, width, ew, bias):
    """minifloat.py _minifloat_ieee_quantize with a tensor bias (block_minifloat's)."""
    mb = width - ew - 1
    emax = 2 ** ew - 1 - bias
    emin = -bias
    shift = 2 ** mb
    sign = torch.sign(x + 1e-9)
    value = torch.abs(x)
    e = my_clamp(torch.floor(torch.log2(value + 1e-9)), emin, emax)
    mant = value / 2 ** e
    normal = ~torch.isclose(e, -bias)
    sm = normal * (mant * shift - shift).round().clamp(0, 2 ** mb - 1) + \
        (~normal) * (mant * shift / 2).round().clamp(0, 2 ** mb - 1)
    mant = normal * (1.0 + sm / shift) + (~normal) * (sm / shift * 2)
    c = is_close_to_0(value)
    return (~c) * (sign * (2 ** e) * mant) + c * x


def mase_log_t(x, width, bias):
    """log.py _log_quantize with a tensor bias (block_log's)."""
    eb = width - 1
    emax = 2 ** eb - 1 - bias
    emin = -bias
    min_pos = 2 ** emin
    sign = torch.sign(x + min_pos * 0.1)
    value = torch.abs(x) + min_pos * 0.1
    e = my_clamp(torch.log2(value).round(), emin, emax)
    return sign * (2 ** e)


def mase_block_minifloat(x, width, ew, bw, block_size):
    """block_minifloat.py: bias = clamp(floor(log2 max), 0, 2^bw - 1) per block."""
    rows, C = x.shape
    blocked, pmax = mase_block(x, block_size)
    bias = my_clamp(torch.floor(torch.log2(pmax)), 0, 2 ** bw - 1)
    return mase_minifloat_ieee_t(blocked, width, ew, bias).flatten(1)[:, :C]


def mase_block_log(x, width, bw, block_size):
    """block_log.py: bias = clamp(2^(w-1) - 1 - ceil(log2 max), 0, 2^bw - 1) per block."""
    rows, C = x.shape
    blocked, pmax = mase_block(x, block_size)
    bias = my_clamp(2 ** (width - 1) - 1 - torch.ceil(torch.log2(pmax)), 0, 2 ** bw - 1)
    return mase_log_t(blocked, width, bias).flatten(1)[:, :C]


def mase_binary(x, bipolar):
    """machop binary.py, stochastic=False: BinaryBipolar / BinaryZeroOne with threshold 0."""
    return torch.where(x >= 0, torch.tensor(1.0), torch.tensor(-1.0 if bipolar else 0.0))


def mase_ternary_mean(x4, scaled):
    """utils.py Ternary / TernaryScaled on a [N, C, H, W] tensor: delta = 0.75 * mean |x| of
    each sample; alpha = mean |x| over |x| > delta."""
    n = x4[0].nelement()
    flat = x4.flatten(1)
    delta = (0.75 * torch.sum(flat.abs(), dim=(1,)) / n).view(-1, 1, 1, 1).expand_as(x4)
    absv = x4.abs()
    truth = (absv > delta).to(torch.float32)
    alpha = (truth * absv).sum(dim=(1, 2, 3)) / truth.sum(dim=(1, 2, 3))
    pos = torch.where(x4 > delta, 1.0, 0.0)
    neg = torch.where(x4 < -delta, -1.0, 0.0)
    out = pos + neg
    if scaled:
        out = out * alpha.view(-1, 1, 1, 1).expand_as(x4)
    return out


# ---- jscc's formats over MASE's ---------------------------------------------------------

def sat_inf(fn, x, *a):
    """jscc saturates +-inf: the result at +-FLT_MAX."""
    xi = torch.where(torch.isinf(x), torch.sign(x) * FLT_MAX, x)
    return fn(xi, *a)


def jscc_ternary(x, stat, scaled):
    """The whole tensor's statistic; NaN left out and kept; no kept element gives 0."""
    ok = ~torch.isnan(x)
    a = x[ok].abs()
    if stat == "mean":
        t = 0.75 * a.mean()
    elif stat == "median":
        t = 0.75 * a.median()  # the lower middle for an even count
    else:
        t = 0.05 * a.max()
    kept = a > t
    # every kept value lies well away from t (checked), so float32 and double agree on it
    assert t == 0 or not torch.any((a - t).abs() <= 1e-5 * t), "an element sits on the threshold"
    if scaled:
        alpha = a[kept].sum() / kept.sum() if kept.any() else torch.tensor(0.0)
    else:
        alpha = torch.tensor(1.0)
    y = torch.where(x > t, alpha, torch.where(x < -t, -alpha, torch.tensor(0.0)))
    return torch.where(ok, y, x), t


# ---- inputs -----------------------------------------------------------------------------

RNG = np.random.default_rng(20240611)


def f32(v):
    return np.float32(v)


def nextup(v, n=1):
    v = np.float32(v)
    for _ in range(n):
        v = np.nextafter(v, np.float32(np.inf), dtype=np.float32)
    return v


def nextdown(v, n=1):
    v = np.float32(v)
    for _ in range(n):
        v = np.nextafter(v, np.float32(-np.inf), dtype=np.float32)
    return v


SPECIALS = [0.0, -0.0, float("nan"), float("inf"), float("-inf"), FLT_MAX, -FLT_MAX,
            1.17549435e-38, -1.17549435e-38, 1.4e-45, -1.4e-45, 1e-30, -1e-30, 1.0, -1.0,
            1e-8, -1e-8, float(nextup(1e-8)), float(nextdown(-1e-8)), float(nextdown(1e-8)),
            1e-9, -1e-9, 0.5, -0.5, 3.0, -3.0, 1e30, -1e30]


def around(v, k=2):
    """v and the k floats either side of it."""
    out = [f32(v)]
    for i in range(1, k + 1):
        out += [nextup(v, i), nextdown(v, i)]
    return out


def both_signs(vals):
    return [v for u in vals for v in (u, -u)]


def as_f32(vals):
    return torch.tensor(np.array(vals, dtype=np.float32), dtype=F32)


def integer_inputs(w, f, signed):
    s = 2.0 ** f
    lo, hi = (-(2 ** (w - 1)), 2 ** (w - 1) - 1) if signed else (0, 2 ** w - 1)
    v = list(SPECIALS)
    for k in list(range(-3, 4)) + [lo - 1, lo, lo + 1, hi - 1, hi, hi + 1]:
        for d in (0.0, 0.5, -0.5, 0.25, 0.51):
            v.append((k + d) / s)
    v += [-0.3 / s, -0.7 / s, 0.3 / s]
    v += around((hi + 0.5) / s, 1) + around((lo - 0.5) / s, 1) + around(hi / s, 1)
    span = max(abs(lo), hi) / s
    v += list(RNG.uniform(-1.5 * span, 1.5 * span, 24))
    v += list(RNG.normal(0.0, span / 4, 12))
    return as_f32(v)


def integer_inputs64(w, f, signed):
    """Doubles that are not floats: the extremes of a 32-bit code need the double path."""
    s = 2.0 ** f
    lo, hi = (-(2 ** (w - 1)), 2 ** (w - 1) - 1) if signed else (0, 2 ** w - 1)
    v = [0.0, -0.0, float("nan"), float("inf"), float("-inf"), 1e300, -1e300]
    for k in (lo - 1, lo, lo + 1, hi - 1, hi, hi + 1, -3, -1, 0, 1, 3):
        for d in (0.0, 0.5, -0.5, 0.25, -0.3, 0.75):
            v.append((k + d) / s)
    v += list(RNG.uniform(lo / s * 1.2 - 1, hi / s * 1.2 + 1, 20))
    return torch.tensor(v, dtype=torch.float64)


def float_inputs(emin, emax, mb, ieee):
    """Powers of two and their neighbours over the range, mantissa ties, random values."""
    v = list(SPECIALS)
    # every binade near the ends of the range and near 1, a sample of the others
    ks = set(range(emin - 3, emin + 3)) | set(range(emax - 2, emax + 3)) | set(range(-4, 5))
    ks |= set(range(emin, emax, max(1, (emax - emin) // 12)))
    for k in sorted(ks):
        v += both_signs(around(2.0 ** k, 1))
    for k in sorted(set([emin - 1, emin, emin + 1, 0, 1, emax - 1, emax])):
        # ties and near-ties of the mantissa rounding in the binade [2^k, 2^(k+1))
        ulp = 2.0 ** (k - mb)
        for j in (0, 1, 4):
            t = 2.0 ** k + (j + 0.5) * ulp
            if 2.0 ** -149 < t < FLT_MAX:
                v += both_signs(around(t, 1))
    # the largest representable magnitude and beyond
    top = 2.0 ** emax * (2 - 2.0 ** -mb) if ieee else 2.0 ** emax * (1 - 2.0 ** -mb)
    if top < FLT_MAX:
        v += both_signs(around(top, 2) + [top * 1.5, top * 4])
    # everything near the pass-through threshold and the 1e-9 nudge at small powers of two
    for k in (-27, -26, -25, -21, -17, -12, -8, -7, -6):
        v += around(2.0 ** k, 2)
    e = RNG.uniform(max(emin - 4, -140), min(emax + 2, 120), 60)
    m = RNG.uniform(1.0, 2.0, 60)
    s = RNG.choice([-1.0, 1.0], 60)
    v += list(s * m * 2.0 ** e)
    return as_f32(v)


def log_inputs(w, bias):
    emax, emin = 2 ** (w - 1) - 1 - bias, -bias
    v = list(SPECIALS)
    ks = set(range(emin - 3, emin + 3)) | set(range(emax - 2, emax + 3)) | set(range(-3, 4))
    ks |= set(range(emin, emax, max(1, (emax - emin) // 10)))
    for k in sorted(ks):
        v += both_signs(around(2.0 ** k, 1))
        v += both_signs(around(2.0 ** (k + 0.5), 1))  # log2 near k + 1/2: the rounding tie
    c = 2.0 ** emin * 0.1
    v += [c, -c, c / 2, -c / 2, -c * 0.999, -c * 1.001, -2 * c, 3 * c, -3 * c]
    e = RNG.uniform(max(emin - 3, -140), min(emax + 2, 120), 40)
    v += list(RNG.choice([-1.0, 1.0], 40) * 2.0 ** e)
    return as_f32(v)


# ---- the cases --------------------------------------------------------------------------

def hex32(t):
    b = t.detach().numpy().astype(np.float32).view(np.uint32)
    return " ".join("%08x" % int(u) for u in b)


def hex64(t):
    b = t.detach().numpy().astype(np.float64).view(np.uint64)
    return " ".join("%016x" % int(u) for u in b)


LINES = []


def case(name, kind, x, y, w=0, f=0, e=0, b=0, bs=0, signed=1, floor=0, bipolar=0, scaled=0,
         stat="mean", row=0, x64=None, y64=None, bw=0):
    assert x.dtype == F32 and y.dtype == F32 and x.shape == y.shape
    LINES.append("case %s %s w=%d f=%d e=%d b=%d bs=%d signed=%d floor=%d bipolar=%d scaled=%d "
                 "stat=%s row=%d%s" % (name, kind, w, f, e, b, bs, signed, floor, bipolar, scaled,
                                       stat, row, " bw=%d" % bw if bw else ""))
    LINES.append("x " + hex32(x.flatten()))
    LINES.append("y " + hex32(y.flatten()))
    if x64 is not None:
        LINES.append("x64 " + hex64(x64))
        LINES.append("y64 " + hex64(y64))


def integer_cases():
    fmts = [(8, 4, 1, 0), (8, 4, 0, 0), (8, 4, 1, 1), (8, 4, 0, 1), (1, 0, 1, 0), (1, 1, 1, 0),
            (1, 0, 0, 0), (2, 1, 1, 0), (2, 2, 0, 1), (4, 0, 1, 0), (4, 4, 1, 0), (16, 8, 1, 0),
            (16, 16, 1, 1), (16, 0, 0, 0), (24, 12, 1, 0), (25, 0, 1, 0), (26, 3, 1, 0),
            (32, 0, 1, 0), (32, 16, 1, 0), (32, 32, 1, 0), (32, 0, 0, 0), (32, 0, 1, 1),
            (32, 31, 0, 1)]
    for w, f, signed, floor in fmts:
        x = integer_inputs(w, f, signed)
        y = mase_integer(x, w, f, bool(signed), bool(floor))
        x64 = y64 = None
        if w >= 24:
            x64 = integer_inputs64(w, f, signed)
            y64 = mase_integer(x64, w, f, bool(signed), bool(floor))
        name = "%sfixed_%d_%d%s" % ("" if signed else "u", w, f, "_floor" if floor else "")
        case(name, "integer", x, y, w=w, f=f, signed=signed, floor=floor, x64=x64, y64=y64)


def minifloat_cases():
    # (width, exponent bits, bias): 2^e stays inside float's range for every exponent
    fmts = [(8, 4, 7), (8, 3, 3), (6, 2, 1), (4, 2, 1), (3, 2, 1), (2, 1, 0), (16, 5, 15),
            (8, 5, 15), (12, 4, 7), (10, 3, -2), (32, 8, 130), (28, 4, 7), (32, 4, 7)]
    for kind, fn, ieee in (("minifloat_denorm", mase_minifloat_denorm, False),
                           ("minifloat_ieee", mase_minifloat_ieee, True)):
        for w, ew, bias in fmts:
            emax, emin = 2 ** ew - 1 - bias, -bias
            assert -149 <= emin and emax <= 127
            x = float_inputs(emin, emax, w - ew - 1, ieee)
            y = sat_inf(fn, x, w, ew, bias)
            case("%s_%d_%d_%d" % (kind, w, ew, bias), kind, x, y, w=w, e=ew, b=bias)


def log_cases():
    for w, bias in ((4, 3), (5, 7), (8, 63), (3, 1), (2, 0), (6, 20), (8, 100), (7, -5)):
        x = log_inputs(w, bias)
        y = mase_log(x, w, bias)
        y = torch.where(x == 0, x, y)  # zero stays zero
        case("log_%d_%d" % (w, bias), "log", x, y, w=w, b=bias)


def block_rows(rows, C, scale):
    x = RNG.normal(0.0, scale, (rows, C)) * 2.0 ** RNG.integers(-6, 6, (rows, 1))
    return x


def block_fp_cases():
    specs = [  # (width, exponent bits, bias, block size, row length, rows)
        (8, 4, 7, 16, 40, 3), (4, 3, 3, 4, 10, 4), (5, 5, 15, 1, 7, 2), (16, 6, 31, 5, 12, 3),
        (8, 4, 7, 64, 10, 3), (2, 2, 1, 3, 9, 3), (24, 8, 128, 8, 16, 2), (32, 8, 130, 4, 9, 2),
        (6, 3, 1, 4, 11, 4)]
    for w, ew, bias, bs, C, rows in specs:
        emax, emin = 2 ** ew - 1 - bias, -bias
        assert -149 <= emin and emax <= 127
        x = block_rows(rows, C, 1.0)
        flat = x.reshape(-1)
        # specials spread over the blocks: zeros, a zero block, tiny values, ties, powers of two
        flat[0] = 0.0
        flat[1] = -0.0
        flat[2] = 1e-9
        flat[3] = -5e-9
        flat[min(5, flat.size - 1)] = 2.0 ** emax * 3
        if rows >= 3:
            x[2, :min(bs, C)] = 0.0  # an all-zero block
        if rows >= 4:
            x[3, :] = [2.0 ** (j - 3) for j in range(C)]
        x = torch.tensor(x, dtype=F32)
        y = sat_inf(mase_block_fp, x, w, ew, bias, bs)
        case("block_fp_%d_%d_%d_%d_r%d" % (w, ew, bias, bs, C), "block_fp", x, y, w=w, e=ew,
             b=bias, bs=bs, row=C)
    # mantissa ties: a block of max 1.0 (e = 0) and (j + 1/2) * 2^-M; MASE's 1e-9 on |x|
    # breaks the ties at small magnitudes upward, rne breaks the others to even
    for w in (4, 8, 11, 14):
        M = w - 1
        C = 16
        x = np.zeros((4, C))
        x[:, 0] = 1.0
        for r in range(4):
            for j in range(1, C):
                k = (j - 1) * 37 ** r % (2 ** M - 1) if r else j - 1
                x[r, j] = (k + 0.5) * 2.0 ** -M * (-1) ** j
        x = torch.tensor(x, dtype=F32)
        y = mase_block_fp(x, w, 4, 7, C)
        case("block_fp_ties_%d" % w, "block_fp", x, y, w=w, e=4, b=7, bs=C, row=C)
    # NaN and infinities: NaN left out of its block's max, infinities saturate
    w, ew, bias, bs, C = 8, 4, 7, 4, 10
    x = torch.tensor(block_rows(3, C, 1.0), dtype=F32)
    x[0, 1] = float("nan")
    x[0, 3] = float("nan")  # last in its block: the max must not end on it
    x[1, 5] = float("inf")
    x[2, 8] = float("-inf")
    x[2, 0] = float("nan")
    nan = torch.isnan(x)
    y = sat_inf(mase_block_fp, torch.where(nan, torch.tensor(0.0), x), w, ew, bias, bs)
    y = torch.where(nan, x, y)
    case("block_fp_nan_inf", "block_fp", x, y, w=w, e=ew, b=bias, bs=bs, row=C)


def block_bias_cases():
    """block_minifloat and block_log: rows of C in blocks of bs, with zeros, an all-zero block,
    tiny values, powers of two, NaN (left out of its block's max, kept) and infinities (as
    FLT_MAX); the per-block biases keep every 2^e inside float's range, as MASE needs."""
    specs = [  # (kind, width, exponent bits, bias width, block size, row length, rows)
        ("block_minifloat", 8, 4, 8, 16, 40, 4), ("block_minifloat", 6, 2, 3, 4, 10, 4),
        ("block_minifloat", 5, 3, 2, 1, 7, 3), ("block_minifloat", 16, 5, 6, 5, 12, 3),
        ("block_minifloat", 8, 4, 5, 64, 10, 3), ("block_log", 8, 0, 7, 16, 40, 4),
        ("block_log", 5, 0, 4, 4, 10, 4), ("block_log", 4, 0, 3, 3, 9, 3),
        ("block_log", 7, 0, 6, 1, 7, 3)]
    for kind, w, ew, bw, bs, C, rows in specs:
        x = block_rows(rows, C, 1.0) * 2.0 ** RNG.integers(-8, 8, (rows, 1))
        flat = x.reshape(-1)
        flat[0] = 0.0
        flat[1] = -0.0
        flat[2] = 1e-9
        flat[3] = -5e-9
        flat[min(4, flat.size - 1)] = 2.0 ** 20
        x[2, :min(bs, C)] = 0.0  # an all-zero block
        if rows >= 4:
            x[3, :] = [2.0 ** (j - 5) * (-1) ** j for j in range(C)]
        x = torch.tensor(x, dtype=F32)
        x[1, 1] = float("nan")
        x[1, min(3, C - 1)] = float("inf")
        x[rows - 1, C - 1] = float("-inf")
        nan = torch.isnan(x)
        x0 = torch.where(nan, torch.tensor(0.0), x)
        if kind == "block_minifloat":
            y = sat_inf(mase_block_minifloat, x0, w, ew, bw, bs)
        else:
            y = sat_inf(mase_block_log, x0, w, bw, bs)
            y = torch.where(x == 0, x, y)  # zero stays zero
        y = torch.where(nan, x, y)
        case("%s_%d_%d_%d_%d_r%d" % (kind, w, ew, bw, bs, C), kind, x, y, w=w, e=ew, bs=bs, row=C,
             bw=bw)


def binary_cases():
    x = as_f32(SPECIALS + list(RNG.normal(0, 1, 40)))
    for bipolar in (1, 0):
        y = mase_binary(x, bool(bipolar))
        y = torch.where(torch.isnan(x), x, y)  # NaN stays NaN
        case("binary" if bipolar else "binary01", "binary", x, y, w=1, bipolar=bipolar)


def ternary_data(n, seed):
    g = np.random.default_rng(seed)
    # multiples of 2^-10 below 4: every sum of |x| is exact in float32 and double
    return g.integers(-4096, 4096, n) / 1024.0


def ternary_cases():
    for stat in ("mean", "median", "max"):
        for scaled in (0, 1):
            for n, seed in ((101, 1), (64, 2)):  # an odd and an even count (the median)
                for attempt in range(100):
                    xv = ternary_data(n, seed * 1000 + attempt)
                    if stat == "max":
                        xv[::3] *= 0.03  # some elements under 5% of the max
                    x = as_f32(xv)
                    try:
                        y, t = jscc_ternary(x, stat, bool(scaled))
                    except AssertionError:
                        continue
                    if stat == "median" and n % 2 == 0:
                        # the upper middle must give another result: the test sees which
                        s = x.abs().sort()[0]
                        tu = 0.75 * s[n // 2]
                        if not torch.any((x.abs() > t) != (x.abs() > tu)):
                            continue
                    break
                else:
                    raise RuntimeError("no usable ternary data")
                if stat == "mean" and n == 101:
                    # MASE's own ternary (per sample of a [N, C, H, W] tensor) on one sample
                    ym = mase_ternary_mean(x.view(1, -1, 1, 1), bool(scaled)).flatten()
                    assert torch.equal(ym, y), "jscc's ternary[mean] is not MASE's"
                case("ternary_%s%s_%d" % (stat, "_scaled" if scaled else "", n), "ternary", x, y,
                     w=2, scaled=scaled, stat=stat)
    # NaN kept and left out of the statistic; an all-zero tensor keeps nothing
    x = as_f32([0.5, float("nan"), -1.0, 0.25, 2.0, -0.125, 0.0, -3.0])
    for stat in ("mean", "median", "max"):
        y, _ = jscc_ternary(x, stat, True)
        case("ternary_%s_nan" % stat, "ternary", x, y, w=2, scaled=1, stat=stat)
    z = as_f32([0.0, -0.0, 0.0, 0.0])
    y, _ = jscc_ternary(z, "mean", True)
    case("ternary_zero", "ternary", z, y, w=2, scaled=1, stat="mean")


def main():
    torch.set_num_threads(1)
    integer_cases()
    minifloat_cases()
    log_cases()
    block_fp_cases()
    binary_cases()
    ternary_cases()
    block_bias_cases()  # last: the random inputs of the cases above stay as they were
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as fh:
        fh.write("# generated by scripts/quant_reference.py with torch %s; do not edit\n"
                 % torch.__version__)
        fh.write("\n".join(LINES) + "\n")
    print("wrote %s (%d cases, %d bytes)" % (OUT, sum(ln.startswith("case") for ln in LINES),
                                            os.path.getsize(OUT)))


if __name__ == "__main__":
    main()
