/* tools/report.c — `jscc report`: report.html with figures for a sweep directory, or for one
 * or more run directories, and for emit directories beside them or alone (spec/sweep.md §5;
 * the work is exp_report in exp/report.c), or for a search directory (spec/search.md §6).
 *
 * This is the only part of jscc report that exits; it is called from tools/jscc.c's main.
 * Exit status: 0 written, 1 an input error (no report written), 2 bad usage. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "exp.h"

int cmd_report(int argc, char **argv);

enum { REPORT_OK = 0, REPORT_INPUT = 1, REPORT_USAGE = 2 };

static void report_usage(FILE *f) {
  fputs("usage: jscc report DIR... [--out DIR] [--metric NAME]\n"
        "\n"
        "Writes report.html, a self-contained page (figures inlined), for a sweep directory\n"
        "(sweep.json, results.csv, trials/) or for run directories of jscc train: what was\n"
        "swept and on which data, the results ranked by a metric with the best trial\n"
        "highlighted, mean +- std over seeds, the figures (also written as figures/NAME.svg\n"
        "and .png) and each trial's command.\n"
        "\n"
        "Emit directories of jscc emit (emit.json) may be given too, alone or beside the\n"
        "sweep or run directories: a section of hardware designs (test accuracy, latency,\n"
        "LUT/FF/DSP/carry per FPGA family from yosys, or jscc's estimate where synthesis did\n"
        "not run, iCE40 Fmax, each simulator's verification) and the figure of test\n"
        "accuracy against LUTs.\n"
        "\n"
        "A search directory of jscc search (search.json), given alone, gets its own page: the\n"
        "Pareto front with its hypervolume, accuracy against average bits, BOPs and LUTs, and\n"
        "every trial (spec/search.md §6).\n"
        "\n"
        "options:\n"
        "  --out DIR        where report.html and figures/ go (default: the first\n"
        "                   directory given)\n"
        "  --metric NAME    the ranking: val_acc (default: the last epoch's), train_acc,\n"
        "                   best_val_acc, best_val_loss, test_acc, test_acc_macro,\n"
        "                   mean_epoch_seconds, samples_per_second, trainable_params, ...\n"
        "                   (accuracies: higher first; losses and times: lower first)\n"
        "  --no-figures     tables only\n"
        "  -h, --help       print this help\n"
        "\n"
        "Exit status: 0 success, 1 an error in the input (nothing written), 2 bad usage.\n",
        f);
}

static int report_usage_error(const char *fmt, ...) JS_PRINTF(1, 2);
static int report_usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "jscc report: ");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n(run 'jscc report --help' for usage)\n");
  return REPORT_USAGE;
}

static const char *const metric_names[] = {
    "val_acc", "train_acc",
#define X(id, name, up) name,
    EXP_RESULT_COLS(X)
#undef X
};

static int bad_metric(const char *name) {
  int n = (int)(sizeof metric_names / sizeof *metric_names);
  const char *hint = diag_closest(name, metric_names, n);
  if (hint) return report_usage_error("--metric: unknown metric '%s' (did you mean '%s'?)", name, hint);
  return report_usage_error("--metric: unknown metric '%s' (valid: val_acc, train_acc or a results.csv column)", name);
}

int cmd_report(int argc, char **argv) {
  enum { O_OUT = 256, O_METRIC, O_NO_FIGURES };
  static const struct option longopts[] = {{"out", required_argument, NULL, O_OUT},
                                           {"metric", required_argument, NULL, O_METRIC},
                                           {"no-figures", no_argument, NULL, O_NO_FIGURES},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  ExpReportOpts o;
  exp_report_opts_default(&o);
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (c) {
    case O_OUT: o.out = optarg; break;
    case O_METRIC:
      if (!exp_metric_parse(optarg, &o.metric)) return bad_metric(optarg);
      break;
    case O_NO_FIGURES: o.no_figures = true; break;
    case 'h': report_usage(stdout); return REPORT_OK;
    case ':': return report_usage_error("option '%s' needs a value", argv[optind - 1]);
    default: return report_usage_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind == argc) return report_usage_error("expected a sweep, run, emit or search directory (jscc report DIR)");
  Diag d;
  diag_init(&d, stderr);
  Status st = JS_OK;
  for (int i = optind; !st && i < argc; i++) st = exp_results_merge(argv[i], &d); /* shards of a job array */
  if (!st) st = exp_report((const char *const *)argv + optind, argc - optind, &o, &d);
  if (!st) printf("report: %s/report.html\n", o.out ? o.out : argv[optind]);
  diag_free(&d);
  return st == JS_OK ? REPORT_OK : st == JS_EUSAGE ? REPORT_USAGE : REPORT_INPUT;
}
