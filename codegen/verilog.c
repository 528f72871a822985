/* codegen/verilog.c — an integer program (intprog.h) as synthesizable Verilog-2005, and the
 * testbench that streams input codes through it and writes the trace text (hdl.h).
 *
 * Every traced node of the program is one layer: one module TOP_<node> holding the steps that
 * belong to the node (IpStep.node; a step of an untraced node goes to the next traced node's
 * module), fully parallel, every wire exactly as wide as its element's bounds
 * (cg_int_elem_bounds) need.  The top module instantiates the layers in program order, wires
 * each one's packed output bus to its consumers and holds the valid_in -> valid_out shift
 * register.
 *
 * Arithmetic is two's complement on signed wires: an adder's operands are sign-extended to the
 * width of the wire it drives, so a sum or product is exact when the wire holds its interval,
 * and intermediate wrap-around inside one expression (a shift-and-add chain) cancels modulo
 * 2^width.  Only right shifts and comparisons need exact operands, and theirs are.
 *
 * Pipelining: N >= 1 registers, one per cut, a cut being "after layer k" (its registers, one
 * per output element at the element's own width, live in layer k's module, so per-module
 * synthesis counts include them).  The last cut is after the last layer (the output); the
 * others split the layers into N runs of about equal estimated logic depth (adder-tree
 * levels, shift-and-add chains, multipliers, rounding and clamps).  A layer reading a value
 * produced before an earlier cut (a skip connection, or the input port read by a later layer)
 * delays it inside its own module by the missing number of cycles. */
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "hdl.h"

/* One operand of a sum: a wire name or a literal, and the interval of its values. */
typedef struct Term {
  char expr[64];      /* a Verilog primary: a wire's name or a sized signed literal */
  double lo, hi;      /* its values' bounds (exact integers) */
} Term;

/* One layer module while it is built. */
typedef struct LayerBuild {
  StrBuf body;        /* its combinational statements, element wires v<val>_<j> */
  int *in;            /* [nin] values it reads from other layers or the input port */
  int nin;            /* input ports x0..x(nin-1) */
  double depth;       /* estimated logic levels, for placing the registers */
} LayerBuild;

typedef struct Emit {
  const IntProg *p;   /* the program */
  IpBounds *b;        /* its per-element bounds */
  int sa_max;         /* CSD digits up to which a constant multiply is shifts and adds */
  int *layer_of;      /* [nsteps] the layer a step belongs to */
  int *owner;         /* [nvals] the layer whose step writes it; -1: the input port (IP_QUANT) */
  int *lw;            /* [nlayers] bits per element of each layer's output bus */
  int *cut;           /* [nlayers] 1: a register after this layer */
  LayerBuild *lb;     /* [nlayers] */
  CgHwDesign *h;      /* the design being filled */
  CgHwLayer *cur;     /* the layer whose counts are being added to */
  StrBuf *sb;         /* where statements go */
  int tmp;            /* the next temporary wire's number (unique in the design) */
  Diag *d;            /* errors */
} Emit;

static int ebits(const Emit *E, int v, int j) { return cg_int_bits(E->b->lo[v][j], E->b->hi[v][j]); }

/* A sized signed literal; the magnitude's width has room for the sign, so -N'sdM is -M. */
static void lit(char *buf, size_t n, int64_t v) {
  int64_t m = v < 0 ? -v : v;
  snprintf(buf, n, "%s%d'sd%lld", v < 0 ? "-" : "", cg_int_bits((double)m, (double)m), (long long)m);
}

/* A new temporary `t<N>` over [lo, hi] driven by the expression fmt. */
static void tmp_wire(Emit *E, Term *t, double lo, double hi, const char *fmt, ...) JS_PRINTF(5, 6);
static void tmp_wire(Emit *E, Term *t, double lo, double hi, const char *fmt, ...) {
  snprintf(t->expr, sizeof t->expr, "t%d", E->tmp++);
  t->lo = lo;
  t->hi = hi;
  sb_printf(E->sb, "  wire signed [%d:0] %s = ", cg_int_bits(lo, hi) - 1, t->expr);
  va_list ap;
  va_start(ap, fmt);
  sb_vprintf(E->sb, fmt, ap);
  va_end(ap);
  sb_puts(E->sb, ";\n");
}

static void count_adder(Emit *E, double lo, double hi) {
  E->cur->adders++;
  E->cur->adder_bits += cg_int_bits(lo, hi);
}

/* Element j of value v, driven by expr. */
static void elem_wire(Emit *E, int v, int j, const char *expr) {
  sb_printf(E->sb, "  wire signed [%d:0] v%d_%d = %s;\n", ebits(E, v, j) - 1, v, j, expr);
}

/* The canonical signed digit form of c: digit[i] in {-1, 0, 1}, no two adjacent nonzero;
 * returns the number of nonzero digits. */
static int csd(int64_t c, int8_t digit[64]) {
  memset(digit, 0, 64);
  int nz = 0;
  for (int i = 0; c != 0 && i < 64; i++, c /= 2) {
    if (c & 1) {
      digit[i] = (int8_t)(2 - (int)(((c % 4) + 4) % 4)); /* c = 1 mod 4: +1, 3 mod 4: -1 */
      c -= digit[i];
      nz++;
    }
  }
  return nz;
}

/* x * c (c != 0) for x over [xl, xh]: x itself, shifts and adds of c's signed digits, or a
 * `*` by the constant.  *depth receives its logic levels. */
static void product(Emit *E, const char *x, double xl, double xh, int64_t c, Term *t, double *depth) {
  double lo = fmin(xl * (double)c, xh * (double)c), hi = fmax(xl * (double)c, xh * (double)c);
  int8_t dg[64];
  int nz = csd(c, dg);
  *depth = 0;
  if (c == 1) {
    snprintf(t->expr, sizeof t->expr, "%s", x);
    t->lo = lo, t->hi = hi;
    return;
  }
  if (nz > E->sa_max) {
    char cl[40];
    lit(cl, sizeof cl, c);
    tmp_wire(E, t, lo, hi, "%s * %s", x, cl);
    E->cur->multipliers++;
    E->cur->mult_bits += cg_int_bits(xl, xh) + cg_int_bits((double)c, (double)c);
    *depth = 4;
    return;
  }
  bool any_pos = false;
  for (int i = 0; i < 64; i++) any_pos |= dg[i] > 0;
  StrBuf e;
  sb_init(&e);
  int terms = 0;
  for (int sign = 1; sign >= -1; sign -= 2) /* the positive digits first: no negation unless all are negative */
    for (int i = 0; i < 64; i++) {
      if (dg[i] != sign) continue;
      if (terms || sign < 0) sb_puts(&e, sign > 0 ? " + " : terms ? " - " : "-");
      if (i) sb_printf(&e, "(%s <<< %d)", x, i);
      else sb_puts(&e, x);
      terms++;
    }
  tmp_wire(E, t, lo, hi, "%s", sb_str(&e));
  if (e.oom) E->sb->oom = true; /* reported with the body's */
  sb_free(&e);
  int adders = nz - 1 + (any_pos ? 0 : 1); /* a leading negation is a subtractor from 0 */
  for (int i = 0; i < adders; i++) count_adder(E, lo, hi);
  *depth = adders;
}

/* Sums the terms as a balanced adder tree, each sum a wire sized from its own interval;
 * the root is left in t[0].  Returns the tree's levels. */
static double adder_tree(Emit *E, Term *t, int n) {
  double levels = 0;
  while (n > 1) {
    int m = 0;
    for (int i = 0; i < n; i += 2) {
      if (i + 1 == n) {
        t[m++] = t[i];
        continue;
      }
      Term s;
      double lo = t[i].lo + t[i + 1].lo, hi = t[i].hi + t[i + 1].hi;
      if (t[i + 1].expr[0] == '-') /* a negative literal: subtract its magnitude */
        tmp_wire(E, &s, lo, hi, "%s - %s", t[i].expr, t[i + 1].expr + 1);
      else
        tmp_wire(E, &s, lo, hi, "%s + %s", t[i].expr, t[i + 1].expr);
      count_adder(E, lo, hi);
      t[m++] = s;
    }
    n = m;
    levels++;
  }
  return levels;
}

/* A literal term for the constant c. */
static Term const_term(int64_t c) {
  Term t = {.lo = (double)c, .hi = (double)c};
  lit(t.expr, sizeof t.expr, c);
  return t;
}

/* Output o of a matvec: the bias and every constant operand's product folded into one
 * constant, a product term per nonzero weight of a varying operand, a balanced tree. */
static double matvec_row(Emit *E, const IpStep *s, int o, Term *t) {
  const IntProg *p = E->p;
  const int64_t *w = p->consts + s->w + (int64_t)o * s->nin;
  int64_t c0 = s->c >= 0 ? p->consts[s->c + o] : 0;
  int n = 0;
  double pdepth = 0;
  for (int k = 0; k < s->nin; k++) {
    double xl = E->b->lo[s->a][k], xh = E->b->hi[s->a][k], dp;
    if (w[k] == 0) continue;
    if (xl == xh) { /* a constant operand element (a pruned input): its product is a constant */
      c0 += (int64_t)xl * w[k];
      continue;
    }
    char x[32];
    snprintf(x, sizeof x, "v%d_%d", s->a, k);
    product(E, x, xl, xh, w[k], &t[n++], &dp);
    pdepth = fmax(pdepth, dp);
  }
  if (c0 != 0 || n == 0) t[n++] = const_term(c0);
  double levels = adder_tree(E, t, n);
  elem_wire(E, s->dst, o, t[0].expr);
  return pdepth + levels;
}

static double emit_matvec(Emit *E, const IpStep *s) {
  Term *t = ir_malloc(sizeof(Term) * (size_t)(s->nin + 1));
  double depth = 0;
  if (!t) {
    E->sb->oom = true;
    return 0;
  }
  for (int o = 0; o < E->p->vals[s->dst].n; o++) depth = fmax(depth, matvec_row(E, s, o, t));
  ir_free(t);
  return depth;
}

/* The shift of cg_int_rshift for sh > 0 (floor: an arithmetic shift; half to even: add
 * 2^(sh-1) - 1 and the lsb of the floored quotient, then shift), exact for sh < 0, into r;
 * returns its logic depth. */
static double shift_elem(Emit *E, const IpStep *s, int j, Term *r) {
  int v = s->a, sh = s->sh > 62 ? 62 : s->sh;
  double al = E->b->lo[v][j], ah = E->b->hi[v][j];
  *r = (Term){.lo = al, .hi = ah};
  snprintf(r->expr, sizeof r->expr, "v%d_%d", v, j);
  if (sh > 0 && s->floor) {
    tmp_wire(E, r, floor(ldexp(al, -sh)), floor(ldexp(ah, -sh)), "v%d_%d >>> %d", v, j, sh);
  } else if (sh > 0) {
    int wa = cg_int_bits(al, ah), lsb = sh < wa ? sh : wa - 1; /* past the top bit, the quotient is 0 or -1 */
    double half = ldexp(1, sh - 1);
    char hl[40];
    lit(hl, sizeof hl, (int64_t)half - 1);
    Term u;
    tmp_wire(E, &u, al + half - 1, ah + half, "v%d_%d + %s + $signed({1'b0, v%d_%d[%d]})", v, j, hl, v, j, lsb);
    count_adder(E, u.lo, u.hi);
    tmp_wire(E, r, nearbyint(ldexp(al, -sh)), nearbyint(ldexp(ah, -sh)), "%s >>> %d", u.expr, sh);
    return 1;
  } else if (sh < 0) {
    tmp_wire(E, r, ldexp(al, -sh), ldexp(ah, -sh), "v%d_%d <<< %d", v, j, -sh);
  }
  return 0;
}

/* Element j of a requant: the shift, then the clamp to [lo, hi] on the sides the shifted
 * interval can cross. */
static double requant_elem(Emit *E, const IpStep *s, int j) {
  Term r;
  double depth = shift_elem(E, s, j, &r);
  char lo[40], hi[40], e[512]; /* 3 terms of 64 and 4 literals of 40: never cut */
  lit(lo, sizeof lo, s->lo);
  lit(hi, sizeof hi, s->hi);
  bool cl = r.lo < (double)s->lo, ch = r.hi > (double)s->hi;
  if (cl && ch) snprintf(e, sizeof e, "%s < %s ? %s : %s > %s ? %s : %s", r.expr, lo, lo, r.expr, hi, hi, r.expr);
  else if (cl) snprintf(e, sizeof e, "%s < %s ? %s : %s", r.expr, lo, lo, r.expr);
  else if (ch) snprintf(e, sizeof e, "%s > %s ? %s : %s", r.expr, hi, hi, r.expr);
  else snprintf(e, sizeof e, "%s", r.expr);
  /* a comparison with a constant is a carry chain as wide as its operand: counted as an adder */
  if (cl) count_adder(E, r.lo, r.hi);
  if (ch) count_adder(E, r.lo, r.hi);
  elem_wire(E, s->dst, j, e);
  return depth + (cl || ch);
}

/* Element j of an elementwise step (scale, relu, add, sub, mul). */
static double elementwise(Emit *E, const IpStep *s, int j) {
  const IntProg *p = E->p;
  int a = s->a, b = s->b;
  double lo = E->b->lo[s->dst][j], hi = E->b->hi[s->dst][j], depth = 1;
  char e[200];
  switch (s->kind) {
  case IP_SCALE: {
    int64_t S = p->consts[s->w + j], T = p->consts[s->c + j];
    char x[32];
    snprintf(x, sizeof x, "v%d_%d", a, j);
    Term t[2];
    int n = 0;
    depth = 0;
    if (S != 0) product(E, x, E->b->lo[a][j], E->b->hi[a][j], S, &t[n++], &depth);
    if (T != 0 || n == 0) t[n++] = const_term(T);
    depth += adder_tree(E, t, n);
    snprintf(e, sizeof e, "%s", t[0].expr);
    break;
  }
  case IP_RELU: snprintf(e, sizeof e, "v%d_%d[%d] ? 1'sd0 : v%d_%d", a, j, ebits(E, a, j) - 1, a, j); break;
  case IP_ADD:
  case IP_SUB:
    snprintf(e, sizeof e, "(v%d_%d <<< %d) %c (v%d_%d <<< %d)", a, j, s->sa, s->kind == IP_ADD ? '+' : '-', b, j, s->sb);
    count_adder(E, lo, hi);
    break;
  default: /* IP_MUL */
    snprintf(e, sizeof e, "v%d_%d * v%d_%d", a, j, b, j);
    E->cur->multipliers++;
    E->cur->mult_bits += ebits(E, a, j) + ebits(E, b, j);
    depth = 4;
    break;
  }
  elem_wire(E, s->dst, j, e);
  return depth;
}

/* One step into the current layer's body; returns its logic depth.  An element whose bounds
 * are one value is that constant (a zero weight row, a clamp that saturates everything). */
static double emit_step(Emit *E, const IpStep *s) {
  const IpVal *v = &E->p->vals[s->dst];
  sb_printf(E->sb, "  // v%d = %s (%s)\n", s->dst, cg_int_kind_name(s->kind), s->node->name);
  if (s->kind == IP_MATVEC) return emit_matvec(E, s);
  double depth = 0;
  for (int j = 0; j < v->n; j++) {
    if (E->b->lo[s->dst][j] == E->b->hi[s->dst][j]) {
      char c[40];
      lit(c, sizeof c, (int64_t)E->b->lo[s->dst][j]);
      elem_wire(E, s->dst, j, c);
      continue;
    }
    depth = fmax(depth, s->kind == IP_REQUANT ? requant_elem(E, s, j) : elementwise(E, s, j));
  }
  return depth;
}

/* ==== layers: which steps, which inputs ==== */

/* Each step's layer: the traced node it belongs to, or the next traced node's (a step of a
 * node that is not traced computes something that node's successor reads). */
static Status assign_layers(Emit *E) {
  const IntProg *p = E->p;
  int next = p->nnodes - 1;
  for (int i = p->nsteps - 1; i >= 0; i--) {
    int k = -1;
    for (int n = 0; n < p->nnodes && k < 0; n++)
      if (p->nodes[n].node == p->steps[i].node) k = n;
    if (k >= 0) next = k;
    E->layer_of[i] = k >= 0 ? k : next;
  }
  for (int v = 0; v < p->nvals; v++) E->owner[v] = -2;
  for (int i = 0; i < p->nsteps; i++)
    E->owner[p->steps[i].dst] = p->steps[i].kind == IP_QUANT ? -1 : E->layer_of[i];
  for (int i = 1; i < p->nsteps; i++)
    if (E->layer_of[i] < E->layer_of[i - 1])
      return diag_error(E->d, (SrcLoc){0}, "verilog: step %d of node '%s' comes before its layer's predecessor", i,
                        p->steps[i].node->name);
  return JS_OK;
}

/* Adds v to layer k's inputs unless k computes it or already reads it; a value crossing
 * layers must be its producer's traced output (the bus the producer's module drives). */
static Status add_input(Emit *E, int k, int v) {
  LayerBuild *L = &E->lb[k];
  int o = E->owner[v];
  if (o == k) return JS_OK;
  for (int i = 0; i < L->nin; i++)
    if (L->in[i] == v) return JS_OK;
  if (o == -2 || (o >= 0 && E->p->nodes[o].val != v) || o > k)
    return diag_error(E->d, (SrcLoc){0}, "verilog: layer '%s' reads v%d, which no earlier layer drives",
                      E->p->nodes[k].node->name, v);
  int *q = ir_realloc(L->in, sizeof(int) * (size_t)(L->nin + 1));
  if (!q) return diag_oom(E->d);
  L->in = q;
  L->in[L->nin++] = v;
  return JS_OK;
}

/* Layer k's inputs and its combinational body. */
static Status build_layer(Emit *E, int k) {
  const IntProg *p = E->p;
  LayerBuild *L = &E->lb[k];
  E->cur = &E->h->layers[k];
  E->sb = &L->body;
  Status st = JS_OK;
  for (int i = 0; i < p->nsteps && !st; i++) {
    const IpStep *s = &p->steps[i];
    if (E->layer_of[i] != k || s->kind == IP_QUANT) continue;
    st = add_input(E, k, s->a);
    if (!st && s->b >= 0) st = add_input(E, k, s->b);
    if (!st) L->depth += emit_step(E, s);
  }
  if (!st) st = add_input(E, k, p->nodes[k].val); /* a layer passing a value through */
  if (!st && L->body.oom) st = diag_oom(E->d);
  return st;
}

/* ==== pipeline placement ==== */

/* N cuts: the last after the last layer, the other N - 1 after the layers that split the
 * sequence into N runs whose largest estimated depth is least (a small dynamic program,
 * earliest split on ties). */
static Status place_cuts(Emit *E, int N) {
  int nl = E->p->nnodes;
  if (N > nl)
    return diag_error(E->d, (SrcLoc){0}, "verilog: pipeline %d: %s has %d places for a register stage (one after each "
                      "layer), so at most pipeline %d", N, E->p->model, nl, nl);
  if (N == 0) return JS_OK;
  /* f[c][i]: the least largest run depth of layers [0, i) in c runs; from[c][i] its split */
  double *f = ir_calloc((size_t)(N + 1) * (size_t)(nl + 1), sizeof(double));
  int *from = ir_calloc((size_t)(N + 1) * (size_t)(nl + 1), sizeof(int));
  if (!f || !from) {
    ir_free(f), ir_free(from);
    return diag_oom(E->d);
  }
#define F(c, i) f[(size_t)(c) * (size_t)(nl + 1) + (size_t)(i)]
#define FROM(c, i) from[(size_t)(c) * (size_t)(nl + 1) + (size_t)(i)]
  for (int i = 1; i <= nl; i++) F(0, i) = HUGE_VAL;
  for (int c = 1; c <= N; c++)
    for (int i = 0; i <= nl; i++) {
      F(c, i) = HUGE_VAL;
      double run = 0;
      for (int j = i - 1; j >= c - 1; j--) { /* the last run is layers [j, i) */
        run += E->lb[j].depth;
        double m = fmax(F(c - 1, j), run);
        if (m <= F(c, i)) F(c, i) = m, FROM(c, i) = j;
      }
    }
  for (int c = N, i = nl; c > 0; i = FROM(c, i), c--) E->cut[i - 1] = 1;
#undef F
#undef FROM
  ir_free(f);
  ir_free(from);
  return JS_OK;
}

/* ==== assembling the modules ==== */

/* Bits per element of the bus carrying value v out of its producer (-1: the input port). */
static int bus_width(const Emit *E, int v) {
  int o = E->owner[v];
  return o >= 0 ? E->lw[o] : E->h->in_width;
}

/* Registers before this layer's inputs are ready: the cuts up to the layer before k. */
static int stage_in(const Emit *E, int k) { return k > 0 ? E->h->layers[k - 1].stage : 0; }

/* Cycles by which layer k delays input v so that it meets the layer's other inputs. */
static int in_delay(const Emit *E, int k, int v) {
  int o = E->owner[v];
  return stage_in(E, k) - (o >= 0 ? E->h->layers[o].stage : 0);
}

/* Input port i's elements as the wires v<val>_<j>, each sliced to its own width, delayed by
 * a chain of registers when the producer is earlier in the pipeline. */
static void unpack_input(Emit *E, StrBuf *sb, int k, int i) {
  int v = E->lb[k].in[i], W = bus_width(E, v), dl = in_delay(E, k, v);
  for (int j = 0; j < E->p->vals[v].n; j++) {
    int w = ebits(E, v, j);
    if (dl == 0) {
      sb_printf(sb, "  wire signed [%d:0] v%d_%d = $signed(x%d[%d:%d]);\n", w - 1, v, j, i, j * W + w - 1, j * W);
      continue;
    }
    for (int r = 1; r <= dl; r++) sb_printf(sb, "  reg signed [%d:0] v%d_%d_d%d;\n", w - 1, v, j, r);
    sb_printf(sb, "  always @(posedge clk) begin\n    v%d_%d_d1 <= $signed(x%d[%d:%d]);\n", v, j, i, j * W + w - 1, j * W);
    for (int r = 2; r <= dl; r++) sb_printf(sb, "    v%d_%d_d%d <= v%d_%d_d%d;\n", v, j, r, v, j, r - 1);
    sb_printf(sb, "  end\n  wire signed [%d:0] v%d_%d = v%d_%d_d%d;\n", w - 1, v, j, v, j, dl);
    E->h->layers[k].reg_bits += (int64_t)w * dl;
  }
}

/* The output bus: element j at [j*LW +: LW], sign-extended, through a register per element
 * when a cut follows the layer. */
static void pack_output(Emit *E, StrBuf *sb, int k) {
  int v = E->p->nodes[k].val, LW = E->lw[k];
  for (int j = 0; j < E->p->vals[v].n; j++) {
    int w = ebits(E, v, j);
    if (E->cut[k]) {
      sb_printf(sb, "  reg signed [%d:0] r%d;\n  always @(posedge clk) r%d <= v%d_%d;\n", w - 1, j, j, v, j);
      sb_printf(sb, "  assign y[%d:%d] = r%d;\n", (j + 1) * LW - 1, j * LW, j);
      E->h->layers[k].reg_bits += w;
    } else {
      sb_printf(sb, "  assign y[%d:%d] = v%d_%d;\n", (j + 1) * LW - 1, j * LW, v, j);
    }
  }
}

static bool needs_clk(const Emit *E, int k) {
  if (E->cut[k]) return true;
  for (int i = 0; i < E->lb[k].nin; i++)
    if (in_delay(E, k, E->lb[k].in[i]) > 0) return true;
  return false;
}

static void layer_module(Emit *E, int k) {
  StrBuf *sb = &E->h->verilog;
  const CgHwLayer *L = &E->h->layers[k];
  sb_printf(sb, "// layer %d: %s, %d elements of %d bits, stage %d\nmodule %s (\n", k, L->name, L->n, L->width, L->stage,
            L->module);
  if (needs_clk(E, k)) sb_puts(sb, "  input clk,\n");
  for (int i = 0; i < E->lb[k].nin; i++) {
    int v = E->lb[k].in[i];
    sb_printf(sb, "  input [%d:0] x%d,\n", E->p->vals[v].n * bus_width(E, v) - 1, i);
  }
  sb_printf(sb, "  output [%d:0] y\n);\n", L->n * L->width - 1);
  for (int i = 0; i < E->lb[k].nin; i++) unpack_input(E, sb, k, i);
  sb_puts(sb, sb_str(&E->lb[k].body));
  pack_output(E, sb, k);
  sb_puts(sb, "endmodule\n\n");
}

static void top_module(Emit *E) {
  CgHwDesign *h = E->h;
  StrBuf *sb = &h->verilog;
  int nl = h->nlayers;
  sb_printf(sb, "module %s (\n  input clk,\n  input rst,\n  input valid_in,\n  input [%d:0] x,\n  output valid_out,\n"
                "  output [%d:0] y\n);\n", h->top, h->in_n * h->in_width - 1, h->out_n * h->out_width - 1);
  for (int k = 0; k < nl; k++) sb_printf(sb, "  wire [%d:0] l%d_y;\n", h->layers[k].n * h->layers[k].width - 1, k);
  for (int k = 0; k < nl; k++) {
    sb_printf(sb, "  %s l%d (", h->layers[k].module, k);
    if (needs_clk(E, k)) sb_puts(sb, ".clk(clk), ");
    for (int i = 0; i < E->lb[k].nin; i++) {
      int o = E->owner[E->lb[k].in[i]];
      if (o >= 0) sb_printf(sb, ".x%d(l%d_y), ", i, o);
      else sb_printf(sb, ".x%d(x), ", i);
    }
    sb_printf(sb, ".y(l%d_y));\n", k);
  }
  sb_printf(sb, "  assign y = l%d_y;\n", nl - 1);
  if (h->latency == 0) {
    sb_puts(sb, "  assign valid_out = valid_in;\n");
  } else { /* the valid bits follow the samples; rst clears them (the data registers need no reset) */
    sb_printf(sb, "  reg [%d:0] valid;\n  always @(posedge clk)\n    if (rst) valid <= %d'b0;\n", h->latency - 1, h->latency);
    if (h->latency == 1) sb_puts(sb, "    else valid <= valid_in;\n");
    else sb_printf(sb, "    else valid <= {valid[%d:0], valid_in};\n", h->latency - 2);
    sb_printf(sb, "  assign valid_out = valid[%d];\n", h->latency - 1);
  }
  sb_puts(sb, "endmodule\n");
}

static void header(Emit *E) {
  CgHwDesign *h = E->h;
  StrBuf *sb = &h->verilog;
  sb_printf(sb, "// %s: integer inference of model %s as Verilog-2005 (jscc, codegen/verilog.c).\n", h->top, E->p->model);
  sb_printf(sb, "// Input x: %d codes of %d bits (two's complement, value = code * 2^-%d), element j at x[j*%d +: %d].\n",
            h->in_n, h->in_width, h->in_frac, h->in_width, h->in_width);
  sb_printf(sb, "// Output y: %d codes of %d bits (value = code * 2^-%d), element j at y[j*%d +: %d].\n", h->out_n,
            h->out_width, h->out_frac, h->out_width, h->out_width);
  sb_printf(sb, "// Ports: input clk, rst, valid_in, [%d:0] x; output valid_out, [%d:0] y.\n", h->in_n * h->in_width - 1,
            h->out_n * h->out_width - 1);
  sb_printf(sb, "// Latency: %d cycle%s from valid_in to valid_out (%s); rst (synchronous) clears valid_out.\n",
            h->latency, h->latency == 1 ? "" : "s", h->latency ? "registers at the layers marked stage" : "combinational");
  sb_puts(sb, "// Layers (module: elements x bits, stage = registers between x and its output):\n");
  for (int k = 0; k < h->nlayers; k++)
    sb_printf(sb, "//   %-28s %4d x %2d bits, stage %d\n", h->layers[k].module, h->layers[k].n, h->layers[k].width,
              h->layers[k].stage);
  sb_puts(sb, "\n");
}

/* ==== the design ==== */

/* s as a Verilog identifier: every other character an underscore, a leading digit prefixed. */
static char *sanitize(const char *prefix, const char *s) {
  size_t n = strlen(prefix) + strlen(s) + 2;
  char *r = ir_malloc(n);
  if (!r) return NULL;
  snprintf(r, n, "%s%s%s", prefix, !*prefix && (*s >= '0' && *s <= '9') ? "_" : "", s);
  for (char *c = r + strlen(prefix); *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_')) *c = '_';
  return r;
}

/* Module names TOP_<node>; a name that two nodes sanitize to gets the layer's index too. */
static Status name_layers(Emit *E) {
  CgHwDesign *h = E->h;
  char prefix[300];
  for (int k = 0; k < h->nlayers; k++) {
    snprintf(prefix, sizeof prefix, "%s_", h->top);
    char *m = sanitize(prefix, h->layers[k].name);
    for (int i = 0; m && i < k; i++)
      if (strcmp(h->layers[i].module, m) == 0) {
        ir_free(m);
        snprintf(prefix, sizeof prefix, "%s_%d_", h->top, k);
        m = sanitize(prefix, h->layers[k].name);
        break;
      }
    if (!m) return diag_oom(E->d);
    h->layers[k].module = m;
  }
  return JS_OK;
}

/* The design's shape: ports and layers, before any text. */
static Status shape(Emit *E, const CgHwOpts *o) {
  const IntProg *p = E->p;
  CgHwDesign *h = E->h;
  const IpStep *q = NULL;
  for (int i = 0; i < p->nsteps && !q; i++)
    if (p->steps[i].kind == IP_QUANT) q = &p->steps[i];
  if (!q || p->nnodes < 1 || p->nodes[p->nnodes - 1].val != p->out)
    return diag_error(E->d, (SrcLoc){0}, "verilog: %s: the program must quantize its input and end with its logits' node",
                      p->model);
  h->in_n = p->features;
  h->in_width = cg_int_bits((double)q->lo, (double)q->hi);
  h->in_frac = q->sh;
  h->nlayers = p->nnodes;
  for (int k = 0; k < p->nnodes; k++) {
    CgHwLayer *L = &h->layers[k];
    int v = p->nodes[k].val;
    L->name = p->nodes[k].node->name;
    L->node = k;
    L->n = p->vals[v].n;
    for (int j = 0; j < L->n; j++) L->width = ebits(E, v, j) > L->width ? ebits(E, v, j) : L->width;
    E->lw[k] = L->width;
  }
  h->out_n = p->classes;
  h->out_width = E->lw[p->nnodes - 1];
  h->out_frac = p->vals[p->out].frac;
  h->latency = o->pipeline;
  h->top = sanitize("", o->top && *o->top ? o->top : p->model);
  if (!h->top) return diag_oom(E->d);
  return name_layers(E);
}

static Status render(Emit *E, const CgHwOpts *o) {
  Status st = shape(E, o);
  if (!st) st = assign_layers(E);
  for (int k = 0; !st && k < E->h->nlayers; k++) st = build_layer(E, k);
  if (!st) st = place_cuts(E, o->pipeline);
  if (st) return st;
  for (int k = 0, s = 0; k < E->h->nlayers; k++) E->h->layers[k].stage = s += E->cut[k];
  header(E);
  for (int k = 0; k < E->h->nlayers; k++) layer_module(E, k);
  top_module(E);
  return E->h->verilog.oom ? diag_oom(E->d) : JS_OK;
}

Status cg_verilog_render(const IntProg *p, const CgHwOpts *o, CgHwDesign **out, Diag *d) {
  *out = NULL;
  if (o->pipeline < 0) return diag_error(d, (SrcLoc){0}, "verilog: pipeline %d: must be 0 or more", o->pipeline);
  int nl = p->nnodes > 0 ? p->nnodes : 1;
  Emit E = {.p = p, .sa_max = o->shift_add_max > 0 ? o->shift_add_max : 3, .d = d};
  CgHwDesign *h = E.h = ir_calloc(1, sizeof *h);
  E.layer_of = ir_calloc((size_t)(p->nsteps ? p->nsteps : 1), sizeof(int));
  E.owner = ir_calloc((size_t)(p->nvals ? p->nvals : 1), sizeof(int));
  E.lw = ir_calloc((size_t)nl, sizeof(int));
  E.cut = ir_calloc((size_t)nl, sizeof(int));
  E.lb = ir_calloc((size_t)nl, sizeof(LayerBuild));
  if (h) sb_init(&h->verilog), h->layers = ir_calloc((size_t)nl, sizeof(CgHwLayer));
  Status st = !h || !h->layers || !E.layer_of || !E.owner || !E.lw || !E.cut || !E.lb ? diag_oom(d) : JS_OK;
  if (!st) st = cg_int_elem_bounds(p, &E.b, d);
  if (!st) st = render(&E, o);
  for (int k = 0; E.lb && k < nl; k++) {
    sb_free(&E.lb[k].body);
    ir_free(E.lb[k].in);
  }
  cg_int_bounds_free(E.b);
  ir_free(E.layer_of), ir_free(E.owner), ir_free(E.lw), ir_free(E.cut), ir_free(E.lb);
  if (st) {
    cg_hw_design_free(h);
    return st;
  }
  *out = h;
  return JS_OK;
}

void cg_hw_design_free(CgHwDesign *h) {
  if (!h) return;
  sb_free(&h->verilog);
  for (int k = 0; h->layers && k < h->nlayers; k++) ir_free((char *)h->layers[k].module);
  ir_free(h->layers);
  ir_free(h->top);
  ir_free(h);
}

/* ==== the testbench ==== */

/* $fwrite of every element of a packed bus as " %0d" (signed decimal). */
static void write_elems(StrBuf *sb, const char *bus, int n, int w, const char *indent) {
  for (int j = 0; j < n; j++)
    sb_printf(sb, "%s$fwrite(fd, \" %%0d\", $signed(%s[%d:%d]));\n", indent, bus, (j + 1) * w - 1, j * w);
  sb_printf(sb, "%s$fwrite(fd, \"\\n\");\n", indent);
}

/* The `t` lines: layer k holds sample S during cycle S + stage. */
static void tb_trace(StrBuf *sb, const CgHwDesign *h) {
  char bus[64];
  for (int k = 0; k < h->nlayers; k++) {
    const CgHwLayer *L = &h->layers[k];
    sb_printf(sb, "      if (ts >= 0 && cyc == ts + %d) begin\n        $fwrite(fd, \"t %d %%0d\", ts);\n", L->stage, k);
    snprintf(bus, sizeof bus, "dut.l%d.y", k);
    write_elems(sb, bus, L->n, L->width, "        ");
    sb_puts(sb, "      end\n");
  }
}

void cg_verilog_testbench(StrBuf *sb, const CgHwDesign *h, int64_t nsamples) {
  int iw = h->in_n * h->in_width, ow = h->out_n * h->out_width;
  sb_printf(sb, "// tb: streams %lld input vectors of %s from inputs.hex, one per cycle, and writes trace.txt\n"
                "// (`o` lines; with +trace=S also the `t` lines of sample S).\n`timescale 1ns/1ps\nmodule tb;\n",
            (long long)nsamples, h->top);
  sb_printf(sb, "  reg clk = 0, rst = 1, valid_in = 0;\n  reg [%d:0] x = 0;\n  wire valid_out;\n  wire [%d:0] y;\n", iw - 1,
            ow - 1);
  sb_printf(sb, "  reg [%d:0] mem [0:%lld];\n  integer fd, cyc, nout, ts;\n", iw - 1, (long long)(nsamples > 0 ? nsamples - 1 : 0));
  sb_printf(sb, "  %s dut (.clk(clk), .rst(rst), .valid_in(valid_in), .x(x), .valid_out(valid_out), .y(y));\n", h->top);
  sb_puts(sb, "  always #5 clk = ~clk;\n  initial begin\n    $readmemh(\"inputs.hex\", mem);\n"
              "    if (!$value$plusargs(\"trace=%d\", ts)) ts = -1;\n    fd = $fopen(\"trace.txt\", \"w\");\n"
              "    nout = 0;\n    @(posedge clk);\n    #1 rst = 0;\n");
  /* inputs change just after a rising edge; outputs are read 3 ns later, before the next one */
  sb_printf(sb, "    for (cyc = 0; cyc < %lld; cyc = cyc + 1) begin\n", (long long)nsamples + h->latency);
  sb_printf(sb, "      valid_in = cyc < %lld;\n      x = cyc < %lld ? mem[cyc] : %d'b0;\n      #3;\n", (long long)nsamples,
            (long long)nsamples, iw);
  sb_puts(sb, "      if (valid_out) begin\n        $fwrite(fd, \"o %0d\", nout);\n");
  write_elems(sb, "y", h->out_n, h->out_width, "        ");
  sb_puts(sb, "        nout = nout + 1;\n      end\n");
  tb_trace(sb, h);
  sb_puts(sb, "      @(posedge clk);\n      #1;\n    end\n    $fclose(fd);\n    $finish;\n  end\nendmodule\n");
}
