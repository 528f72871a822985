/* runtime/ckpt.h — safetensors checkpoints (included by runtime.h; implemented in ckpt.c).
 *
 * A checkpoint is a safetensors file with the model's PyTorch state_dict names
 * ("seq_blocks.0.weight", ..., "seq_blocks.0.num_batches_tracked" as I64), so that
 * torch's load_state_dict(safetensors.torch.load_file(path)) takes it, and a state_dict
 * saved by PyTorch loads here.  The optimizer state goes to a second file (see below) so the
 * model file stays a plain state_dict.  Files are written atomically (temp file, fsync,
 * rename). */
#ifndef JSCC_RUNTIME_CKPT_H
#define JSCC_RUNTIME_CKPT_H

/* String metadata stored in the header's "__metadata__" map. */
typedef struct CkptMeta {
  int n;
  const char *keys[16];
  const char *vals[16];
} CkptMeta;

/* Write every parameter and buffer of s. */
Status rt_ckpt_save(const char *path, const RtState *s, const CkptMeta *meta, Diag *d);
/* Read path into s: every tensor of the model must be present with its dtype and shape
 * (an error names the tensor and the expected and found shape); extra tensors are an error.
 * F32 files load F32 tensors; F64/F16/BF16 are converted; I64 for num_batches_tracked. */
Status rt_ckpt_load(const char *path, RtState *s, Diag *d);

/* The optimizer state: tensors "exp_avg.<name>", "exp_avg_sq.<name>" or
 * "momentum_buffer.<name>" for each trainable parameter, and metadata "step", "optimizer"
 * plus whatever the caller adds (epoch, best metric...).  meta_out, when non-NULL, receives
 * the metadata (strings owned by the arena). */
Status rt_ckpt_save_optim(const char *path, const RtState *s, const OptimState *st,
                          const CkptMeta *meta, Diag *d);
Status rt_ckpt_load_optim(const char *path, const RtState *s, OptimState *st, Arena *a,
                          CkptMeta *meta_out, Diag *d);

#endif
