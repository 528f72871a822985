#!/usr/bin/env python3
"""bench/hw_calib_gen.py -- calibration designs for codegen/hwcost.c, until codegen/verilog.c
renders the bench models: constant matrix-vector layers written the way the renderer's
interface describes them (codegen/hdl.h), each with the counts cg_hw_estimate reads.

    python3 bench/hw_calib_gen.py OUTDIR [SEED]

writes OUTDIR/NAME.v (layer modules NAME_<layer>, then the top NAME with the ports of
hdl.h) and OUTDIR/NAME.layers, one line per layer module:
    module adders adder_bits multipliers mult_bits reg_bits
(bench/hw_calibrate.sh reads both).  Each output is sum_j c_j * x_j + b over signed inputs:
a constant with at most 3 nonzero canonical-signed-digit digits is shifts and adds, a wider
one a `*` (the renderer's shift_add_max default); the terms are summed by a balanced tree of
two-input adders, each as wide as its result's bound.  Outputs are cut to 8 bits (their top
bits: wiring, no logic) for the next layer; a layer with `reg` registers its outputs.
"""
import os
import random
import sys

# name: (inputs, input bits, [(outputs, weight bits, registered, density)...])
DESIGNS = {
    "cal_a": (4, 8, [(3, 4, True, 1.0), (2, 4, False, 1.0)]),
    "cal_b": (8, 6, [(6, 5, True, 0.8), (4, 5, True, 0.8)]),
    "cal_c": (16, 8, [(8, 6, True, 0.7), (5, 6, False, 0.7)]),
    "cal_d": (16, 6, [(12, 4, True, 0.5), (8, 4, True, 0.5), (5, 4, True, 0.5)]),
    "cal_e": (12, 8, [(10, 8, False, 0.6), (4, 8, True, 0.9)]),
    "cal_f": (16, 4, [(16, 3, True, 0.6), (5, 3, True, 0.6)]),
}
SHIFT_ADD_MAX = 3


def csd(c):
    """Canonical signed digits of c: [(shift, +1|-1)], at most one of two adjacent nonzero."""
    digits, k = [], 0
    while c:
        if c & 1:
            d = 2 - (c & 3)  # +1 or -1
            digits.append((k, d))
            c -= d
        c >>= 1
        k += 1
    return digits


def bits_for(lo, hi):
    """Two's complement bits holding every integer of [lo, hi]."""
    b = 1
    while not (-(1 << (b - 1)) <= lo and hi <= (1 << (b - 1)) - 1):
        b += 1
    return b


class Layer:
    def __init__(self, name, n_in, in_bits, n_out, wbits, reg, density, rng):
        self.name, self.n_in, self.in_bits, self.n_out, self.reg = name, n_in, in_bits, n_out, reg
        self.adders = self.adder_bits = self.mults = self.mult_bits = 0
        self.lines, self.outs = [], []
        self.tmp = 0
        lo_in, hi_in = -(1 << (in_bits - 1)), (1 << (in_bits - 1)) - 1
        for o in range(n_out):
            terms = []
            for j in range(n_in):
                if rng.random() > density:
                    continue
                c = rng.randint(-(1 << (wbits - 1)), (1 << (wbits - 1)) - 1)
                if c:
                    terms.extend(self.product(j, c, lo_in, hi_in))
            b = rng.randint(-(1 << (wbits + 1)), 1 << (wbits + 1))
            if b or not terms:
                terms.append(("%d" % b, b, b))
            self.outs.append(self.tree(terms))

    def wire(self, expr, lo, hi):
        w = bits_for(lo, hi)
        name = "t%d" % self.tmp
        self.tmp += 1
        self.lines.append("  wire signed [%d:0] %s = %s;" % (w - 1, name, expr))
        return (name, lo, hi)

    def product(self, j, c, lo, hi):
        """c * x_j as terms: shifted copies of x_j, or one `*`."""
        ds = csd(c)
        if len(ds) > SHIFT_ADD_MAX:
            self.mults += 1
            self.mult_bits += self.in_bits + bits_for(min(c, 0), max(c, 0))
            plo, phi = min(c * lo, c * hi), max(c * lo, c * hi)
            cw = bits_for(min(c, 0), max(c, 0))
            return [self.wire("x%d * %s%d'sd%d" % (j, "-" if c < 0 else "", cw, abs(c)), plo, phi)]
        terms = []
        for k, d in ds:
            e = "(x%d <<< %d)" % (j, k) if k else "x%d" % j
            slo, shi = (lo << k, hi << k) if d > 0 else (-(hi << k), -(lo << k))
            terms.append(("-" + e if d < 0 else e, slo, shi))
        return terms

    def tree(self, terms):
        """A balanced tree of two-input adders over the terms; the root as a named wire."""
        while len(terms) > 1:
            nxt = []
            for i in range(0, len(terms) - 1, 2):
                (a, alo, ahi), (b, blo, bhi) = terms[i], terms[i + 1]
                lo, hi = alo + blo, ahi + bhi
                self.adders += 1
                self.adder_bits += bits_for(lo, hi)
                nxt.append(self.wire("%s + %s" % (a, b), lo, hi))
            if len(terms) % 2:
                nxt.append(terms[-1])
            terms = nxt
        e, lo, hi = terms[0]
        return self.wire(e, lo, hi) if not e.startswith("t") else terms[0]

    def verilog(self, top):
        mod = "%s_%s" % (top, self.name)
        iw, ow = self.n_in * self.in_bits, self.n_out * 8
        out = ["module %s(input clk, input [%d:0] x, output %s[%d:0] y);" % (mod, iw - 1, "reg " if self.reg else "", ow - 1)]
        for j in range(self.n_in):
            out.append("  wire signed [%d:0] x%d = x[%d:%d];" % (self.in_bits - 1, j, (j + 1) * self.in_bits - 1, j * self.in_bits))
        out += self.lines
        # each output's top 8 bits (sign included), widened first when narrower
        cuts = []
        for name, lo, hi in reversed(self.outs):
            w = bits_for(lo, hi)
            cuts.append("%s[%d:%d]" % (name, w - 1, w - 8) if w >= 8 else "{{%d{%s[%d]}}, %s}" % (8 - w, name, w - 1, name))
        body = "{%s}" % ", ".join(cuts)
        out.append("  always @(posedge clk) y <= %s;" % body if self.reg else "  assign y = %s;" % body)
        out.append("endmodule\n")
        return mod, "\n".join(out)


def design(name, spec, rng):
    n_in, in_bits, layers = spec
    mods, texts, n, bits = [], [], n_in, in_bits
    for k, (n_out, wbits, reg, dens) in enumerate(layers):
        lay = Layer("fc%d" % (k + 1), n, bits, n_out, wbits, reg, dens, rng)
        mod, text = lay.verilog(name)
        mods.append((mod, lay))
        texts.append(text)
        n, bits = n_out, 8
    latency = sum(1 for l in layers if l[2])
    top = ["module %s(input clk, input rst, input valid_in, input [%d:0] x, output valid_out, output [%d:0] y);"
           % (name, n_in * in_bits - 1, n * 8 - 1)]
    prev = "x"
    for k, (mod, lay) in enumerate(mods):
        top.append("  wire [%d:0] h%d;" % (lay.n_out * 8 - 1, k))
        top.append("  %s u%d(.clk(clk), .x(%s), .y(h%d));" % (mod, k, prev, k))
        prev = "h%d" % k
    top.append("  reg [%d:0] v;" % max(latency - 1, 0) if latency else "  wire v = valid_in;")
    if latency > 1:
        top.append("  always @(posedge clk) v <= rst ? %d'd0 : {v[%d:0], valid_in};" % (latency, latency - 2))
    elif latency == 1:
        top.append("  always @(posedge clk) v <= rst ? 1'b0 : valid_in;")
    top.append("  assign valid_out = v[%d];" % (latency - 1) if latency else "  assign valid_out = v;")
    top.append("  assign y = %s;\nendmodule\n" % prev)
    counts = ["%s %d %d %d %d %d" % (m, l.adders, l.adder_bits, l.mults, l.mult_bits, l.n_out * 8 if l.reg else 0)
              for m, l in mods]
    return "\n".join(texts + top), "\n".join(counts) + "\n", latency


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    os.makedirs(out, exist_ok=True)
    for name, spec in DESIGNS.items():
        v, counts, latency = design(name, spec, rng)
        with open(os.path.join(out, name + ".v"), "w") as f:
            f.write("// bench/hw_calib_gen.py: a calibration design for codegen/hwcost.c\n" + v)
        with open(os.path.join(out, name + ".layers"), "w") as f:
            f.write(counts)


if __name__ == "__main__":
    main()
