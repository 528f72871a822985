/* hw/synth_parse.h — the readers of yosys' and nextpnr's reports behind hw_synth (synth.c),
 * apart so that tests can feed them captured text without the tools installed. */
#ifndef JSCC_HW_SYNTH_PARSE_H
#define JSCC_HW_SYNTH_PARSE_H

#include "hw.h"

/* Cell counts from the text of yosys' `stat -top TOP`: the block of each module named in
 * modules[0..n) into per[i] (NULL when n is 0), and the "design hierarchy" block (the top with
 * everything below it) into *total, or the top module's own block when the report has no
 * hierarchy block (nothing below the top).  Cells are classed by family (hw.h: HwCounts);
 * other cells (IO buffers, MUXF7, the submodules' instances) are not counted.  JS_ERR naming
 * the module the text lacks. */
Status hw_parse_stat(const char *text, HwFamily fam, const char *top, const char *const *modules, int n,
                     HwCounts *per, HwCounts *total, Diag *d);
/* The last "Max frequency for clock ...: F MHz" of a nextpnr log, in MHz; 0 when none. */
double hw_parse_fmax(const char *text);
/* The last line of text starting with "ERROR:" (yosys, nextpnr), else its last non-blank
 * line, copied into buf (cap bytes, cut to fit); "" for empty text. */
void hw_last_error(const char *text, char *buf, size_t cap);

#endif
