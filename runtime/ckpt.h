/* runtime/ckpt.h — safetensors checkpoints (included by runtime.h; implemented in ckpt.c, the
 * quantized checkpoint in ckptq.c).
 *
 * A checkpoint is a safetensors file with the model's PyTorch state_dict names
 * ("seq_blocks.0.weight", ..., "seq_blocks.0.num_batches_tracked" as I64), so that
 * torch's load_state_dict(safetensors.torch.load_file(path)) takes it, and a state_dict
 * saved by PyTorch loads here.  The optimizer state goes to a second file (see below) so the
 * model file stays a plain state_dict; a training run's commit file holds both.  Files are written atomically (temp file in the same
 * directory, fsync, rename): on any error the temp file is removed and an existing file at
 * the path is left as it was.
 *
 * The format: 8 bytes little-endian N, N bytes of JSON header padded with spaces to a
 * multiple of 8 ({"__metadata__": {"k": "v"}, "name": {"dtype": "F32", "shape": [5, 16],
 * "data_offsets": [begin, end]}, ...}), then the tensors' bytes, little-endian, row-major,
 * in state_dict order with no gaps.  Reading is strict: the header must be valid JSON
 * (RFC 8259, UTF-8) without duplicate keys, nested at most CKPT_MAX_DEPTH deep, at most
 * CKPT_MAX_HEADER bytes; every tensor's offsets must match its dtype and shape, and the
 * tensors must tile the data exactly.  Errors name the file and the tensor:
 *   ckpt.safetensors: error: seq_blocks.2.weight: expected shape [5, 16], found [5, 8] */
#ifndef JSCC_RUNTIME_CKPT_H
#define JSCC_RUNTIME_CKPT_H

#define CKPT_MAX_HEADER (16u << 20) /* bytes of JSON header accepted */
#define CKPT_MAX_DEPTH JSON_MAX_DEPTH /* nesting of the JSON header (a valid one needs 3) */
#define CKPT_MAX_META 16            /* metadata entries a CkptMeta holds */

/* String metadata stored in the header's "__metadata__" map. */
typedef struct CkptMeta {
  int n;
  const char *keys[CKPT_MAX_META];
  const char *vals[CKPT_MAX_META];
} CkptMeta;

/* Write every parameter and buffer of s (meta may be NULL; keys must be distinct). */
Status rt_ckpt_save(const char *path, const RtState *s, const CkptMeta *meta, Diag *d);
/* A quantized checkpoint (jscc transform) adds, for each quantized parameter, its integer
 * codes as an I32 tensor named "quant.<state_dict name>" (CKPT_CODES_PREFIX) with the format
 * ("fixed[8,4]", ir_qfmt_print) as a metadata entry under the same name; the float tensors
 * hold the dequantized values, so PyTorch loads the file as a plain state_dict (strict=False
 * for the codes) and rt_ckpt_load skips the "quant." tensors. */
#define CKPT_CODES_PREFIX "quant."
typedef struct CkptCodes {
  const char *name;          /* "quant.seq_blocks.2.weight" */
  const TensorType *type;    /* its shape */
  const int32_t *codes;      /* numel codes */
  const char *format;        /* "fixed[8,4]" */
} CkptCodes;
Status rt_ckpt_save_codes(const char *path, const RtState *s, const CkptMeta *meta, const CkptCodes *codes, int ncodes,
                          Diag *d);
/* ---- ckptq.c: the quantized checkpoint ---- */
/* s (a state of g's model) written as a quantized checkpoint: every parameter a quantized
 * node of g reads, quantized to its format (ir_node_qcfg) and stored dequantized, with its
 * integer codes (integer formats); a quantized BatchNorm1d's folded scale and shift
 * (ir_bn_fold) as "quant.<module>.folded_scale" / "folded_shift".  s is left unchanged. */
Status rt_ckpt_save_quantized(const char *path, const Graph *g, const RtState *s, Diag *d);

/* ---- ckpt.c ---- */
/* Read path into s: every tensor of the model must be present with its dtype and shape
 * (an error names the tensor and the expected and found shape); extra tensors are an error,
 * except a quantized checkpoint's "quant." codes.
 * F32 files load F32 tensors; F64/F16/BF16 are converted; I64 (or I32) for
 * num_batches_tracked.  The whole header is checked and matched before anything is written
 * to s, so a file that fails the checks leaves s unchanged. */
Status rt_ckpt_load(const char *path, RtState *s, Diag *d);

/* The optimizer state: tensors "exp_avg.<name>", "exp_avg_sq.<name>" (Adam, AdamW) or
 * "momentum_buffer.<name>" (SGD) for each trainable parameter, and metadata "optimizer"
 * (rt_optim_name) and "step" (decimal) plus whatever the caller adds (epoch, best
 * metric...; keys "optimizer" and "step" are reserved).  Loading checks that the file's
 * optimizer is st->kind and that st->total is s->total (JS_EUSAGE otherwise), then sets
 * st->step and the trainable elements of st->m / st->v; meta_out, when non-NULL, receives
 * the caller's metadata (not "optimizer" and "step"), strings owned by the arena `a`. */
Status rt_ckpt_save_optim(const char *path, const RtState *s, const OptimState *st,
                          const CkptMeta *meta, Diag *d);
Status rt_ckpt_load_optim(const char *path, const RtState *s, OptimState *st, Arena *a,
                          CkptMeta *meta_out, Diag *d);

/* The run-state file (a run directory's last.optim.safetensors, the commit point of an
 * epoch): the optimizer file above plus every parameter and buffer of the model under
 * "model.<state_dict name>" (CKPT_MODEL_PREFIX), so that one atomic rename commits the
 * weights and the optimizer state together.  Loading sets the model's tensors in s as well;
 * the file is checked whole before anything is written.  rt_ckpt_load_optim refuses such a
 * file (its model tensors are unexpected there), and this loader one without them. */
#define CKPT_MODEL_PREFIX "model."
Status rt_ckpt_save_run_state(const char *path, const RtState *s, const OptimState *st,
                              const CkptMeta *meta, Diag *d);
Status rt_ckpt_load_run_state(const char *path, RtState *s, OptimState *st, Arena *a,
                              CkptMeta *meta_out, Diag *d);

#endif
