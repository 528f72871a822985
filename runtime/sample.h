/* runtime/sample.h — the runtime's side of PassData (included by runtime.h; sample.c).
 *
 * Analysis passes such as `profile` need weights and activations, but a pass never reaches
 * into the runtime (passes/passes.h).  The tool that runs the pipeline builds an RtPassData
 * from what it has loaded and hands rt_pass_data_get's PassData to the passes:
 *   param   the f32 values of a parameter or buffer, by qualified name from the RtState;
 *   sample  runs the graph in RT_EVAL with the reference executor (runtime/interp.c) over
 *           the first num_samples rows of a data set's split, in order, batch_size rows a run,
 *           and reports the requested nodes' values (rows x row_numel floats, the executor's
 *           doubles rounded to float).  Placeholders are reported from the inputs themselves.
 *
 * Without a data set the inputs are drawn from N(0, 1): placeholder number i (graph order,
 * from 0) draws its values row after row from an Rng seeded with RT_SAMPLE_SEED + i
 * (rt_rng_normal, rounded to float), so they do not depend on the batch size.
 * Without an RtState there are neither weights nor samples (param and sample are NULL): the
 * model cannot run without its parameters. */
#ifndef JSCC_RUNTIME_SAMPLE_H
#define JSCC_RUNTIME_SAMPLE_H

#include "passes.h"

#define RT_SAMPLE_SEED 0 /* the random inputs' seed (placeholder i uses RT_SAMPLE_SEED + i) */

typedef struct RtPassData RtPassData;

/* Weights from s (NULL: none; s must outlive the RtPassData and is only read: the graph runs
 * in eval mode).  Samples from ds's split named `split` ("train", "val" or "test"; NULL:
 * "train", the split MASE's input generator reads), or, ds NULL, from N(0, 1).  An unknown
 * split name is reported (JS_EUSAGE, "did you mean").  *out is NULL on failure. */
Status rt_pass_data_new(const RtState *s, const RtDataset *ds, const char *split, RtPassData **out, Diag *d);
const PassData *rt_pass_data_get(const RtPassData *p);
/* Which executor samples the nodes: RT_ENGINE_AUTO (the default: the JIT where the kernels
 * cover the graph and a data split is given, else the reference executor) or RT_ENGINE_REF
 * (the reference executor always: its double statistics are the same on every machine;
 * jscc --profile-engine ref).  Other kinds are RT_ENGINE_AUTO. */
void rt_pass_data_set_engine(RtPassData *p, RtEngineKind engine);
void rt_pass_data_free(RtPassData *p);

#endif
