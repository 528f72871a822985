/* tools/jscc.c — the jscc command line: main() and the table of subcommands.  Each
 * subcommand lives in its own file (common.h lists them); a first argument that is not a
 * subcommand is a model file for the default command (compile.c: `jscc MODEL --passes=...`).
 *
 * tools/ is the only place that exits.  The layers below report into a Diag and return a
 * Status; the subcommands turn a Status into an exit code: 0 success, 1 bad input, 2 bad
 * usage. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

/* The subcommands, each in its own file. */
static const struct {
  const char *name;
  int (*fn)(int argc, char **argv);
} subcommands[] = {
    {"train", cmd_train}, {"test", cmd_test},     {"transform", cmd_transform}, {"diff", cmd_diff},
    {"sweep", cmd_sweep}, {"report", cmd_report}, {"emit", cmd_emit},           {"search", cmd_search},
};
enum { NSUB = (int)(sizeof subcommands / sizeof *subcommands) };

/* argv[1] as a subcommand: its index; -1 when it is a model file (or an option); -2 after
 * saying it is a misspelt subcommand ("jscc trian m.jsc": a word, not a file, close to one). */
static int subcommand(const char *arg) {
  const char *names[NSUB];
  for (int i = 0; i < NSUB; i++)
    if (strcmp(arg, (names[i] = subcommands[i].name)) == 0) return i;
  if (arg[0] == '-' || strchr(arg, '.') || strchr(arg, '/') || access(arg, F_OK) == 0) return -1;
  const char *h = diag_closest(arg, names, NSUB);
  if (!h) return -1;
  fprintf(stderr, "jscc: unknown command '%s' (did you mean '%s'?); run 'jscc --help' for the commands\n", arg, h);
  return -2;
}

int main(int argc, char **argv) {
  /* Subcommands only as the first argument: `jscc MODEL --passes=...` is unchanged. */
  int sub = argc > 1 ? subcommand(argv[1]) : -1;
  if (sub >= 0) return subcommands[sub].fn(argc - 1, argv + 1);
  if (sub == -2) return EXIT_USAGE;
  return cmd_compile(argc, argv);
}
