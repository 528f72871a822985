/* exp/plot.c — the report's figures, drawn with PLplot's C API (the cairo driver's svgcairo
 * and pngcairo devices).
 *
 * A figure is first described as data (a Plot: lines, or a heat map's cells), built once from
 * the study, then drawn twice, to NAME.svg and NAME.png, each on a fixed page so that the
 * bytes depend only on the study.  Figures that show one axis keep the others at the best
 * trial's values (the caption says which), and trials that differ only in seed are averaged.
 *
 * PLplot keeps its state in globals and ends the process on internal errors: calls are
 * serialized by one lock, and its exit handler jumps back here (library code never exits).
 * Files are drawn under a temporary name and renamed once complete. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exp.h"

#ifdef JSCC_HAVE_PLPLOT
#include <plplot.h>
#include <pthread.h>
#include <setjmp.h>

enum { PAGE_W = 800, PAGE_H = 560, PAGE_DPI = 96 };
enum { MAX_LEGEND = 14 }; /* legend entries; further lines are drawn and counted */

/* One line: y against x, with a color (cmap0 index) and a style (1 solid, 2 dashed). */
typedef struct Line {
  const char *label;     /* legend text; NULL: not in the legend (the dashed twin) */
  int n;
  double *x, *y;         /* [n] */
  int color, style;
  bool marks;            /* markers only, no line (a scatter) */
} Line;

/* What one figure shows, independent of the output device. */
typedef struct Plot {
  const char *name, *title, *caption;
  const char *xlabel, *ylabel;
  bool logx;             /* x is drawn as log10(x), ticked at each x */
  bool epochs;           /* x counts epochs: whole-number ticks */
  bool yzero;            /* the y axis starts at 0 (times: differences are read as ratios) */
  bool decades;          /* with logx: the axis spans whole decades, ticked by PLplot (10^n) */
  bool points;           /* each line a lone point, labelled beside it (no legend) */
  bool hw;               /* a hardware designs figure (ExpFigure.hw) */
  int nlines;
  Line *lines;           /* [nlines] */
  const char *legend_note; /* a last legend line ("solid: train, dashed: val"), or NULL */
  /* A heat map instead of lines (nx > 0): cell (i, j) holds z[j * nx + i] (NAN: none). */
  int nx, ny;
  const char **xt, **yt; /* [nx], [ny] tick labels */
  double *z;
  const char **zt;       /* [nx * ny] text written in each cell */
  const char *zlabel;    /* the color bar's label */
} Plot;

/* ==== building the plots from the study ==== */

typedef struct Pb {
  const ExpStudy *s;
  int best;              /* the best trial, whose values fix the axes a figure does not show */
  Diag *d;
  bool oom;
} Pb;

static void *pb_alloc(Pb *b, size_t n) {
  void *p = arena_alloc(b->s->arena, n ? n : 1);
  if (!p) b->oom = true;
  return p;
}

/* PLplot treats '#' as its escape character: double it in text from the study. */
static const char *pl_text(Pb *b, const char *s) {
  if (!s) return b->oom = true, "";
  if (!strchr(s, '#')) return s;
  char *o = pb_alloc(b, 2 * strlen(s) + 1), *q = o;
  if (!o) return s;
  for (; *s; s++) {
    if (*s == '#') *q++ = '#';
    *q++ = *s;
  }
  *q = 0;
  return o;
}

/* Point p's representative trial. */
static const ExpStudyTrial *pt_trial(const Pb *b, int p) { return &b->s->trials[b->s->points[p].trials[0]]; }

/* Whether point p lies on the slice through the best trial that lets axes va and vb vary
 * (either may be -1) and, when vary_model, the model. */
static bool in_slice(const Pb *b, int p, int va, int vb, bool vary_model) {
  if (b->best < 0) return true;
  const ExpStudy *s = b->s;
  const ExpStudyTrial *t = pt_trial(b, p), *best = &s->trials[b->best];
  if (!vary_model && strcmp(t->model, best->model)) return false;
  for (int k = 0; k < s->naxes; k++)
    if (k != va && k != vb && k != s->seed_axis && strcmp(t->values[k], best->values[k])) return false;
  return true;
}

/* "lr = 1e-3, model JSC_Tiny": what a slice keeps fixed (the best trial's values). */
static const char *slice_text(Pb *b, int va, int vb, bool vary_model) {
  const ExpStudy *s = b->s;
  if (b->best < 0) return "";
  StrBuf sb;
  sb_init(&sb);
  const ExpStudyTrial *best = &s->trials[b->best];
  for (int k = 0; k < s->naxes; k++)
    if (k != va && k != vb && k != s->seed_axis && s->axes[k].nvalues > 1)
      sb_printf(&sb, "%s%s = %s", sb.len ? ", " : "", s->axes[k].name, best->values[k]);
  if (!vary_model && s->nmodels > 1) sb_printf(&sb, "%smodel %s", sb.len ? ", " : "", best->model);
  const char *r = sb.len ? arena_printf(s->arena, " Other options at the best trial's values (%s).", sb_str(&sb)) : "";
  if (!r || sb.oom) b->oom = true, r = "";
  sb_free(&sb);
  return r;
}

static const double *curve_series(const ExpCurve *c, int which) {
  const double *const all[] = {c->train_loss, c->train_acc, c->val_loss, c->val_acc};
  return all[which];
}
enum { S_TRAIN_LOSS, S_TRAIN_ACC, S_VAL_LOSS, S_VAL_ACC };

/* The mean over point p's trials (those with a curve, not failed) of one series, up to the
 * shortest of them and the first non-finite value (a diverged trial's line ends there). */
static void point_line(Pb *b, int p, int which, Line *l) {
  const ExpStudy *s = b->s;
  const ExpPoint *pt = &s->points[p];
  int n = -1;
  for (int i = 0; i < pt->ntrials; i++) {
    const ExpStudyTrial *t = &s->trials[pt->trials[i]];
    if (t->curve.n > 0 && strcmp(t->status, "failed") && (n < 0 || t->curve.n < n)) n = t->curve.n;
  }
  l->n = 0;
  if (n <= 0 || !(l->x = pb_alloc(b, n * sizeof *l->x)) || !(l->y = pb_alloc(b, n * sizeof *l->y))) return;
  for (int e = 0; e < n; e++) {
    double sum = 0;
    int k = 0;
    for (int i = 0; i < pt->ntrials; i++) {
      const ExpStudyTrial *t = &s->trials[pt->trials[i]];
      if (t->curve.n > 0 && strcmp(t->status, "failed")) sum += curve_series(&t->curve, which)[e], k++;
    }
    if (!isfinite(sum)) break;
    l->x[e] = e + 1;
    l->y[e] = sum / k;
    l->n = e + 1;
  }
}

/* A point's label: the values of the axes that vary in the figure (va, or every axis). */
static const char *point_label(Pb *b, int p, int va) {
  const ExpStudy *s = b->s;
  const ExpStudyTrial *t = pt_trial(b, p);
  if (va >= 0) return pl_text(b, arena_printf(s->arena, "%s = %s", s->axes[va].name, t->values[va]));
  StrBuf sb;
  sb_init(&sb);
  if (s->nmodels > 1) sb_puts(&sb, t->model);
  for (int k = 0; k < s->naxes; k++)
    if (k != s->seed_axis && s->axes[k].nvalues > 1) sb_printf(&sb, "%s%s=%s", sb.len ? " " : "", s->axes[k].name, t->values[k]);
  if (!sb.len) sb_puts(&sb, s->ntrials == 1 ? t->model : arena_printf(s->arena, "trial %d", t->id));
  const char *r = arena_strdup(s->arena, sb_str(&sb));
  if (!r || sb.oom) b->oom = true, r = "";
  sb_free(&sb);
  return pl_text(b, r);
}

static int color_of(int i) { return 3 + i % 10; } /* cmap0 3..12: the ten line colors */

/* Points on the slice letting axis va vary (va -1: every point), in the axis's value order. */
static int slice_points(Pb *b, int va, int *out) {
  const ExpStudy *s = b->s;
  int n = 0;
  if (va < 0) {
    for (int p = 0; p < s->npoints; p++) out[n++] = p;
    return n;
  }
  for (int v = 0; v < s->axes[va].nvalues; v++)
    for (int p = 0; p < s->npoints; p++)
      if (in_slice(b, p, va, -1, false) && !strcmp(pt_trial(b, p)->values[va], s->axes[va].values[v])) out[n++] = p;
  return n;
}

/* Lines of series `solid` (and `dashed`, -1: none) per point of the slice along va. */
static void curve_lines(Pb *b, Plot *pl, int va, int solid, int dashed) {
  int *pts = pb_alloc(b, (b->s->npoints + 1) * sizeof *pts);
  if (!pts) return;
  int np = slice_points(b, va, pts), per = dashed >= 0 ? 2 : 1;
  if (!(pl->lines = pb_alloc(b, (np * per + 1) * sizeof *pl->lines))) return;
  for (int i = 0; i < np; i++) {
    Line *l = &pl->lines[pl->nlines];
    point_line(b, pts[i], solid, l);
    if (l->n == 0) continue;
    l->label = point_label(b, pts[i], va), l->color = color_of(i), l->style = 1;
    pl->nlines++;
    if (dashed < 0) continue;
    point_line(b, pts[i], dashed, &pl->lines[pl->nlines]);
    pl->lines[pl->nlines].color = color_of(i), pl->lines[pl->nlines].style = 2;
    pl->nlines += pl->lines[pl->nlines].n > 0;
  }
}

/* Times below a second in milliseconds, so the axis needs no "(x10^-2)" exponent. */
static void ms_if_short(Plot *pl) {
  double top = 0;
  for (int i = 0; i < pl->nlines; i++)
    for (int k = 0; k < pl->lines[i].n; k++) top = fmax(top, pl->lines[i].y[k]);
  if (top >= 1) return;
  for (int i = 0; i < pl->nlines; i++)
    for (int k = 0; k < pl->lines[i].n; k++) pl->lines[i].y[k] *= 1000;
  pl->ylabel = "time per epoch (ms)";
}

/* Seconds per epoch against batch size, one line per model. */
static void plot_epoch_time(Pb *b, Plot *pl, int bs) {
  const ExpStudy *s = b->s;
  const ExpStudyAxis *x = &s->axes[bs];
  *pl = (Plot){.name = "epoch_time", .title = "Epoch time against batch size", .logx = true, .yzero = true,
               .xlabel = "batch size (jets, log scale)", .ylabel = "time per epoch (s)"};
  /* Epoch time hardly depends on the other options (learning rate, seed): average over them
   * rather than slice, so that every batch size has its point. */
  pl->caption = "Mean seconds per training epoch for each batch size, one line per model, averaged over the other "
                "options' finished trials.";
  if (!(pl->lines = pb_alloc(b, (s->nmodels + 1) * sizeof *pl->lines))) return;
  for (int m = 0; m < s->nmodels; m++) {
    Line *l = &pl->lines[pl->nlines];
    if (!(l->x = pb_alloc(b, x->nvalues * sizeof *l->x)) || !(l->y = pb_alloc(b, x->nvalues * sizeof *l->y))) return;
    double sum = 0;
    int k = 0;
    for (int v = 0; v < x->nvalues; v++) {
      for (int p = 0; p < s->npoints; p++) {
        const ExpStudyTrial *t = pt_trial(b, p);
        double mean, sd, bsz = atof(t->values[bs]);
        if (strcmp(t->model, s->models[m]) || strcmp(t->values[bs], x->values[v])) continue;
        if (bsz > 0 && exp_point_stat(s, p, EXP_COL_MEAN_EPOCH_SECONDS, &mean, &sd) && mean > 0)
          sum += mean, k++;
      }
      if (k) l->x[l->n] = atof(x->values[v]), l->y[l->n++] = sum / k;
      sum = 0, k = 0;
    }
    l->label = pl_text(b, s->models[m]), l->color = color_of(m), l->style = 1;
    pl->nlines += l->n > 0;
  }
  ms_if_short(pl);
}

static void plot_val_by_bs(Pb *b, Plot *pl, int bs) {
  *pl = (Plot){.name = "val_acc_by_batch_size", .title = "Validation accuracy per epoch, by batch size",
               .epochs = true, .xlabel = "epoch", .ylabel = "validation accuracy (fraction of jets)"};
  pl->caption = arena_printf(b->s->arena, "One line per batch size.%s", slice_text(b, bs, -1, false));
  curve_lines(b, pl, bs, S_VAL_ACC, -1);
}

static void plot_acc_by_lr(Pb *b, Plot *pl, int lr) {
  *pl = (Plot){.name = "acc_by_lr", .title = "Train and validation accuracy per epoch, by learning rate",
               .epochs = true, .xlabel = "epoch", .ylabel = "accuracy (fraction of jets)",
               .legend_note = "solid: train, dashed: val"};
  pl->caption = arena_printf(b->s->arena, "One color per learning rate: solid lines train, dashed lines validation.%s",
                             slice_text(b, lr, -1, false));
  curve_lines(b, pl, lr, S_TRAIN_ACC, S_VAL_ACC);
}

static void plot_accuracy(Pb *b, Plot *pl) {
  *pl = (Plot){.name = "accuracy", .title = "Train and validation accuracy per epoch", .epochs = true,
               .xlabel = "epoch", .ylabel = "accuracy (fraction of jets)", .legend_note = "solid: train, dashed: val",
               .caption = "Solid lines train, dashed lines validation accuracy."};
  curve_lines(b, pl, -1, S_TRAIN_ACC, S_VAL_ACC);
}

static void plot_loss(Pb *b, Plot *pl) {
  *pl = (Plot){.name = "loss", .title = "Train and validation loss per epoch", .epochs = true, .xlabel = "epoch",
               .ylabel = "cross-entropy loss (nats)", .legend_note = "solid: train, dashed: val",
               .caption = "Solid lines train, dashed lines validation loss; a diverged trial's line ends at its last finite epoch."};
  curve_lines(b, pl, -1, S_TRAIN_LOSS, S_VAL_LOSS);
}

/* Final validation accuracy over axes ax (x) and ay (y), the mean over seeds in each cell. */
static void plot_heatmap(Pb *b, Plot *pl, int ax, int ay) {
  const ExpStudy *s = b->s;
  const ExpStudyAxis *x = &s->axes[ax], *y = &s->axes[ay];
  *pl = (Plot){.name = "val_acc_heatmap", .title = "Final validation accuracy", .nx = x->nvalues, .ny = y->nvalues,
               .xlabel = pl_text(b, x->name), .ylabel = pl_text(b, y->name), .zlabel = "final validation accuracy",
               .xt = x->values, .yt = y->values};
  pl->caption = arena_printf(s->arena, "Validation accuracy after the last epoch for each %s and %s; grey cells: no "
                             "finished trial.%s", x->name, y->name, slice_text(b, ax, ay, false));
  int n = x->nvalues * y->nvalues;
  if (!(pl->z = pb_alloc(b, n * sizeof *pl->z)) || !(pl->zt = pb_alloc(b, n * sizeof *pl->zt))) return;
  for (int c = 0; c < n; c++) pl->z[c] = NAN, pl->zt[c] = "none";
  for (int p = 0; p < s->npoints; p++) {
    const ExpStudyTrial *t = pt_trial(b, p);
    if (!in_slice(b, p, ax, ay, false)) continue;
    int i = 0, j = 0;
    while (strcmp(x->values[i], t->values[ax])) i++;
    while (strcmp(y->values[j], t->values[ay])) j++;
    double mean, sd;
    exp_point_stat(s, p, EXP_COL_FINAL_VAL_ACC, &mean, &sd);
    pl->z[j * pl->nx + i] = mean;
    pl->zt[j * pl->nx + i] = isnan(mean) ? t->status : arena_printf(s->arena, "%.3f", mean);
  }
}

/* A design's label: its directory's last component ("(estimate)" when its LUTs are). */
static const char *design_label(Pb *b, const ExpHwDesign *h, bool est) {
  const char *dir = h->dir, *base;
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') n--;
  for (base = dir + n; base > dir && base[-1] != '/'; base--) {}
  if (base == dir + n) base = dir; /* "/" itself */
  return pl_text(b, arena_printf(b->s->arena, "%.*s%s", (int)(dir + n - base), base, est ? " (estimate)" : ""));
}

static void acc_luts_caption(Pb *b, Plot *pl, int nest, int left) {
  Arena *a = b->s->arena;
  const char *est = nest ? " Designs marked (estimate) were not synthesized for Xilinx: their LUTs are jscc's estimate." : "";
  const char *out = left ? arena_printf(a, " %d design%s without a test accuracy or a LUT count %s left out.", left,
                                        left > 1 ? "s" : "", left > 1 ? "are" : "is") : "";
  if (!out) b->oom = true, out = "";
  pl->caption = arena_printf(a, "One point per design, labelled by its directory: test accuracy against the LUTs "
                             "yosys synth_xilinx counted.%s%s", est, out);
}

/* Test accuracy against LUTs, one labelled point per design that has both. */
static void plot_acc_luts(Pb *b, Plot *pl) {
  const ExpStudy *s = b->s;
  int nest = 0, left = 0;
  *pl = (Plot){.name = "acc_luts", .title = "Accuracy against LUTs", .logx = true, .decades = true, .points = true,
               .hw = true, .xlabel = "LUTs (yosys synth_xilinx, log scale)", .ylabel = "test accuracy (fraction of jets)"};
  if (!(pl->lines = pb_alloc(b, (s->ndesigns + 1) * sizeof *pl->lines))) return;
  for (int i = 0; i < s->ndesigns; i++) {
    const ExpHwDesign *h = &s->designs[i];
    double luts;
    bool est;
    Line *l = &pl->lines[pl->nlines];
    if (isnan(h->test_accuracy) || !exp_hw_luts(h, &luts, &est) || luts <= 0) { left++; continue; }
    if (!(l->x = pb_alloc(b, sizeof *l->x)) || !(l->y = pb_alloc(b, sizeof *l->y))) return;
    *l->x = luts, *l->y = h->test_accuracy, l->n = 1, l->style = 1, l->color = color_of(pl->nlines);
    l->label = design_label(b, h, est);
    nest += est, pl->nlines++;
  }
  acc_luts_caption(b, pl, nest, left);
}

/* The two axes of the heat map: batch size by learning rate when both are swept, else the
 * first two swept axes; false when fewer than two are. */
static bool heatmap_axes(const ExpStudy *s, int *ax, int *ay) {
  int bs = exp_axis_find(s, "batch_size"), lr = exp_axis_find(s, "lr");
  if (bs >= 0 && lr >= 0 && s->axes[bs].nvalues > 1 && s->axes[lr].nvalues > 1) return *ax = bs, *ay = lr, true;
  *ax = *ay = -1;
  for (int k = 0; k < s->naxes; k++) {
    if (k == s->seed_axis || s->axes[k].nvalues < 2) continue;
    if (*ax < 0) *ax = k;
    else if (*ay < 0) *ay = k;
  }
  return *ay >= 0;
}

/* ==== drawing ==== */

/* ten line colors (Tableau 10) after white (background), black (axes) and grey (grid) */
static const PLINT pal_r[] = {255, 0, 200, 31, 255, 44, 214, 148, 140, 227, 127, 188, 23};
static const PLINT pal_g[] = {255, 0, 200, 119, 127, 160, 39, 103, 86, 119, 127, 189, 190};
static const PLINT pal_b[] = {255, 0, 200, 180, 14, 44, 40, 189, 75, 194, 127, 34, 207};

/* cmap1: viridis, from dark blue (low) to yellow (high). */
static void set_cmap1(void) {
  PLFLT pos[] = {0, .25, .5, .75, 1};
  PLFLT r[] = {68 / 255., 59 / 255., 33 / 255., 94 / 255., 253 / 255.};
  PLFLT g[] = {1 / 255., 82 / 255., 145 / 255., 201 / 255., 231 / 255.};
  PLFLT bl[] = {84 / 255., 139 / 255., 140 / 255., 98 / 255., 37 / 255.};
  plscmap1l(1, 5, pos, r, g, bl, NULL);
}

/* The data range of every line, padded by 5% (a flat line gets a unit-wide band). */
static void line_range(const Plot *p, double *x0, double *x1, double *y0, double *y1) {
  *x0 = *y0 = INFINITY, *x1 = *y1 = -INFINITY;
  for (int i = 0; i < p->nlines; i++)
    for (int k = 0; k < p->lines[i].n; k++) {
      double x = p->logx ? log10(p->lines[i].x[k]) : p->lines[i].x[k], y = p->lines[i].y[k];
      *x0 = fmin(*x0, x), *x1 = fmax(*x1, x), *y0 = fmin(*y0, y), *y1 = fmax(*y1, y);
    }
  double dx = *x1 - *x0, dy = *y1 - *y0;
  if (dx <= 0) dx = p->logx ? 0.5 : 1;
  if (dy <= 0) dy = fabs(*y0) > 0 ? fabs(*y0) * 0.1 : 1;
  *x0 -= (p->epochs ? 0.02 : 0.05) * dx, *x1 += (p->epochs ? 0.02 : 0.05) * dx;
  if (p->yzero) *y0 = 0, dy = *y1 > 0 ? *y1 : 1;
  *y0 -= p->yzero ? 0 : 0.05 * dy, *y1 += 0.05 * dy;
  if (!p->decades) return;
  /* the data's own range out to whole decades, with room for a point that sits on one */
  *x0 = floor(*x0 + 0.05 * dx - 1e-6), *x1 = ceil(*x1 - 0.05 * dx + 1e-6);
  if (*x1 <= *x0) *x1 = *x0 + 1;
}

/* The log x axis ticked at each batch size of the first line (the data's own values). */
static void log_ticks(const Plot *p, double x0, double x1) {
  char buf[32];
  for (int i = 0; i < p->nlines; i++)
    for (int k = 0; k < p->lines[i].n; k++) {
      double lx = log10(p->lines[i].x[k]);
      snprintf(buf, sizeof buf, "%g", p->lines[i].x[k]);
      plmtex("b", 1.5, (lx - x0) / (x1 - x0), 0.5, buf);
    }
}

static void draw_legend(const Plot *p) {
  PLINT opt[MAX_LEGEND + 2], tcol[MAX_LEGEND + 2], lcol[MAX_LEGEND + 2], lsty[MAX_LEGEND + 2];
  PLFLT lw[MAX_LEGEND + 2];
  const char *text[MAX_LEGEND + 2];
  char more[48];
  int n = 0, hidden = 0;
  for (int i = 0; i < p->nlines; i++) {
    if (!p->lines[i].label) continue;
    if (n == MAX_LEGEND) { hidden++; continue; }
    opt[n] = PL_LEGEND_LINE, tcol[n] = 1, lcol[n] = p->lines[i].color, lsty[n] = 1, lw[n] = 2, text[n++] = p->lines[i].label;
  }
  if (hidden) snprintf(more, sizeof more, "(%d more)", hidden), opt[n] = PL_LEGEND_NONE, tcol[n] = 1, text[n++] = more;
  if (p->legend_note) opt[n] = PL_LEGEND_NONE, tcol[n] = 1, text[n++] = p->legend_note;
  for (int i = 0; i < n; i++) if (opt[i] == PL_LEGEND_NONE) lcol[i] = 0, lsty[i] = 1, lw[i] = 1;
  PLFLT w, h;
  /* top left corner at a fixed place of the page, right of the plot */
  pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
           PL_POSITION_LEFT | PL_POSITION_TOP | PL_POSITION_INSIDE | PL_POSITION_SUBPAGE, 0.68, 0.10, 0.05, 0, 1, 1, 0, 0, n, opt, 0.5, 0.7, 1.8, 0.0, tcol, text, NULL, NULL, NULL, NULL, lcol, lsty,
           lw, NULL, NULL, NULL, NULL);
}

/* A lone point's label: right of it in the left half of the plot, else left of it. */
static void point_label_text(double x, double y, double x0, double x1, const char *label) {
  bool left = x > (x0 + x1) / 2;
  plptex(x + (left ? -0.015 : 0.015) * (x1 - x0), y, 1, 0, left ? 1 : 0, label);
}

static void draw_lines(const Plot *p) {
  double x0, x1, y0, y1;
  line_range(p, &x0, &x1, &y0, &y1);
  plvpor(0.10, p->points ? 0.86 : 0.66, 0.12, 0.90);
  plwind(x0, x1, y0, y1);
  double xtick = p->epochs && x1 - x0 <= 16 ? 1 : 0;
  plcol0(2);
  plbox(p->decades ? "gl" : p->logx ? "" : "g", xtick, 0, "g", 0, 0);
  plcol0(1);
  plbox(p->decades ? "bcnstl" : p->logx ? "bc" : "bcnst", xtick, 0, "bcnstv", 0, 0);
  if (p->logx && !p->decades) log_ticks(p, x0, x1);
  plmtex("b", 3.2, 0.5, 0.5, p->xlabel);
  plmtex("l", 5.0, 0.5, 0.5, p->ylabel);
  plmtex("t", 1.5, 0.5, 0.5, p->title);
  for (int i = 0; i < p->nlines; i++) {
    const Line *l = &p->lines[i];
    PLFLT *x = l->x;
    if (p->logx && (x = ir_malloc(l->n * sizeof *x)))
      for (int k = 0; k < l->n; k++) x[k] = log10(l->x[k]);
    if (!x) continue; /* out of memory: the line is left out, the figure still drawn */
    plcol0(l->color), pllsty(l->style), plwidth(2);
    if (l->n > 1 && !l->marks) plline(l->n, x, l->y);
    plssym(0, p->points ? 2.5 : 1);
    if (l->n <= 12 || l->marks) plpoin(l->n, x, l->y, l->marks ? 4 : 17);
    plssym(0, 1);
    plcol0(1);
    if (p->points && l->n > 0) point_label_text(x[l->n - 1], l->y[l->n - 1], x0, x1, l->label);
    if (x != l->x) ir_free(x);
  }
  pllsty(1), plwidth(1), plcol0(1);
  if (!p->points) draw_legend(p);
}

static void heat_cell(const Plot *p, int i, int j, double z0, double z1) {
  PLFLT xs[] = {i, i + 1, i + 1, i}, ys[] = {j, j, j + 1, j + 1};
  double z = p->z[j * p->nx + i], f = z1 > z0 ? (z - z0) / (z1 - z0) : 0.5;
  if (isnan(z)) plcol0(2);
  else plcol1(f);
  plfill(4, xs, ys);
  plcol0(isnan(z) || f > 0.55 ? 1 : 0); /* dark text on the light end of viridis */
  plptex(i + 0.5, j + 0.5, 1, 0, 0.5, p->zt[j * p->nx + i]);
}

static void draw_colorbar(double z0, double z1, const char *label) {
  PLINT lopt[] = {PL_COLORBAR_LABEL_RIGHT}, subt[] = {0}, nv[] = {2};
  const char *labels[] = {label}, *axis[] = {"bcvtm"};
  PLFLT ticks[] = {0}, v[] = {z0, z1 > z0 ? z1 : z0 + 1e-3};
  const PLFLT *vals[] = {v};
  PLFLT w, h;
  plcolorbar(&w, &h, PL_COLORBAR_GRADIENT, PL_POSITION_RIGHT | PL_POSITION_OUTSIDE, 0.03, 0, 0.04, 0.9, 0, 1, 1, 0, 0,
             0, 0, 1, lopt, labels, 1, axis, ticks, subt, nv, vals);
}

static void draw_heatmap(const Plot *p) {
  double z0 = INFINITY, z1 = -INFINITY;
  for (int c = 0; c < p->nx * p->ny; c++)
    if (!isnan(p->z[c])) z0 = fmin(z0, p->z[c]), z1 = fmax(z1, p->z[c]);
  if (z0 > z1) z0 = 0, z1 = 1;
  plvpor(0.14, 0.74, 0.12, 0.90);
  plwind(0, p->nx, 0, p->ny);
  for (int j = 0; j < p->ny; j++)
    for (int i = 0; i < p->nx; i++) heat_cell(p, i, j, z0, z1);
  plcol0(1);
  plbox("bc", 0, 0, "bc", 0, 0);
  for (int i = 0; i < p->nx; i++) plmtex("b", 1.5, (i + 0.5) / p->nx, 0.5, p->xt[i]);
  for (int j = 0; j < p->ny; j++) plmtex("lv", 1.0, (j + 0.5) / p->ny, 1.0, p->yt[j]);
  plmtex("b", 3.2, 0.5, 0.5, p->xlabel);
  plmtex("l", 5.0, 0.5, 0.5, p->ylabel);
  plmtex("t", 1.5, 0.5, 0.5, p->title);
  draw_colorbar(z0, z1, p->zlabel);
}

/* ==== PLplot's error path ==== */

static pthread_mutex_t plot_lock = PTHREAD_MUTEX_INITIALIZER;
static jmp_buf *plot_jmp;   /* where PLplot's exit handler returns to (under plot_lock) */
static char plot_msg[256];  /* PLplot's last error or abort message (under plot_lock) */

/* PLplot calls exit() after this handler returns: jump back to draw_file instead. */
static int plot_exit(const char *msg) {
  snprintf(plot_msg, sizeof plot_msg, "%s", msg ? msg : "unknown error");
  if (plot_jmp) longjmp(*plot_jmp, 1);
  return 1;
}

static void plot_abort(const char *msg) { snprintf(plot_msg, sizeof plot_msg, "%s", msg ? msg : ""); }

/* One device's output for p at path: true when complete. */
static bool draw_file(const Plot *p, const char *dev, const char *path) {
  jmp_buf jb;
  plot_msg[0] = 0;
  plot_jmp = &jb;
  if (setjmp(jb)) {
    /* What plexit does after its handler returns, short of exiting: end every stream, so
     * that the next figure starts from a clean PLplot. */
    if (!setjmp(jb)) plend();
    plot_jmp = NULL;
    return false;
  }
  plsexit(plot_exit);
  plsabort(plot_abort);
  plsdev(dev);
  plsfnam(path);
  plspage(PAGE_DPI, PAGE_DPI, PAGE_W, PAGE_H, 0, 0);
  plscmap0n(16);
  plscmap0(pal_r, pal_g, pal_b, 13);
  set_cmap1();
  plinit();
  pladv(0);
  plschr(0, 0.9);
  if (p->nx > 0) draw_heatmap(p);
  else draw_lines(p);
  plend1();
  plot_jmp = NULL;
  return plot_msg[0] == 0;
}

/* figdir/NAME.EXT through a temporary file, so a reader never sees half a figure. */
static Status write_figure(const Plot *p, const char *figdir, const char *dev, const char *ext, Arena *a, Diag *d) {
  char *path = arena_printf(a, "%s/%s.%s", figdir, p->name, ext), *tmp = arena_printf(a, "%s/.%s.%s.tmp", figdir, p->name, ext);
  if (!path || !tmp) return diag_oom(d);
  pthread_mutex_lock(&plot_lock);
  bool ok = draw_file(p, dev, tmp);
  char msg[sizeof plot_msg];
  snprintf(msg, sizeof msg, "%s", plot_msg);
  pthread_mutex_unlock(&plot_lock);
  if (!ok) {
    remove(tmp);
    return diag_error(d, (SrcLoc){0}, "PLplot (%s) could not draw '%s': %s", dev, path, msg[0] ? msg : "unknown error"), JS_EIO;
  }
  if (rename(tmp, path) != 0)
    return diag_error(d, (SrcLoc){0}, "cannot write '%s': %s", path, strerror(errno)), JS_EIO;
  return JS_OK;
}

/* Both files of a figure, and the SVG's bytes back for the page. */
static Status emit(const Plot *p, const char *figdir, ExpFigure *f, Arena *a, Diag *d) {
  Status st = write_figure(p, figdir, "svgcairo", "svg", a, d);
  if (!st) st = write_figure(p, figdir, "pngcairo", "png", a, d);
  char *path = st ? NULL : arena_printf(a, "%s/%s.svg", figdir, p->name);
  SrcFile *src;
  if (!st && !path) st = diag_oom(d);
  if (!st) st = diag_read_file(a, path, &src, d);
  if (st) return st;
  *f = (ExpFigure){.name = p->name, .title = p->title, .caption = p->caption, .svg = src->text, .svg_len = src->len,
                   .hw = p->hw};
  return JS_OK;
}

/* The plots the study's axes allow, in the order the page shows them. */
static int build_plots(Pb *b, Plot *pl) {
  const ExpStudy *s = b->s;
  int n = 0, bs = exp_axis_find(s, "batch_size"), lr = exp_axis_find(s, "lr"), ax, ay;
  if (bs >= 0 && s->axes[bs].nvalues < 2) bs = -1;
  if (lr >= 0 && s->axes[lr].nvalues < 2) lr = -1;
  if (bs >= 0) plot_epoch_time(b, &pl[n++], bs);
  if (bs >= 0) plot_val_by_bs(b, &pl[n++], bs);
  if (lr >= 0) plot_acc_by_lr(b, &pl[n++], lr);
  else plot_accuracy(b, &pl[n++]);
  if (heatmap_axes(s, &ax, &ay)) plot_heatmap(b, &pl[n++], ax, ay);
  plot_loss(b, &pl[n++]);
  if (s->ndesigns) plot_acc_luts(b, &pl[n++]);
  return n;
}

/* A scatter figure's plot: each series a line, a dashed line or markers. */
static Status scatter_plot(const ExpScatter *sc, Arena *a, Plot *pl, Diag *d) {
  *pl = (Plot){.name = sc->name, .title = sc->title, .caption = sc->caption, .xlabel = sc->xlabel, .ylabel = sc->ylabel,
               .logx = sc->logx, .decades = sc->logx};
  if (!(pl->lines = arena_alloc(a, sizeof *pl->lines * (size_t)(sc->nseries ? sc->nseries : 1)))) return diag_oom(d);
  for (int i = 0; i < sc->nseries; i++) {
    const ExpSeries *e = &sc->series[i];
    if (e->n == 0) continue;
    Line *l = &pl->lines[pl->nlines++];
    *l = (Line){.label = e->label, .n = e->n, .x = (double *)e->x, .y = (double *)e->y, .color = color_of(i),
                .style = e->kind == EXP_SERIES_DASHED ? 2 : 1, .marks = e->kind == EXP_SERIES_POINTS};
  }
  return JS_OK;
}

Status exp_plot_scatter(const ExpScatter *sc, const char *figdir, Arena *a, ExpFigure *out, Diag *d) {
  Plot pl;
  Status st = scatter_plot(sc, a, &pl, d);
  return st ? st : emit(&pl, figdir, out, a, d);
}

bool exp_plot_available(void) { return true; }

Status exp_plot_figures(const ExpStudy *s, int best, const char *figdir, ExpFigure **figs, int *nfigs, Diag *d) {
  Pb b = {s, best, d, false};
  Plot pl[8];
  int n = build_plots(&b, pl);
  *nfigs = 0;
  if (b.oom || !(*figs = arena_alloc(s->arena, sizeof **figs * n))) return diag_oom(d);
  for (int i = 0; i < n; i++) {
    bool empty = pl[i].nx == 0 && pl[i].nlines == 0;
    if (!pl[i].caption) return diag_oom(d);
    if (empty) continue; /* nothing to draw yet (no finished epoch, no batch-size timing) */
    Status st = emit(&pl[i], figdir, &(*figs)[*nfigs], s->arena, d);
    if (st) return st;
    (*nfigs)++;
  }
  return JS_OK;
}

#else /* !JSCC_HAVE_PLPLOT */

Status exp_plot_scatter(const ExpScatter *sc, const char *figdir, Arena *a, ExpFigure *out, Diag *d) {
  (void)sc, (void)figdir, (void)a, (void)out;
  return diag_error(d, (SrcLoc){0}, "this jscc was built without PLplot: no figures");
}

bool exp_plot_available(void) { return false; }

Status exp_plot_figures(const ExpStudy *s, int best, const char *figdir, ExpFigure **figs, int *nfigs, Diag *d) {
  *figs = NULL;
  *nfigs = 0;
  return JS_OK;
}

#endif
