/* torch_pt.h - PyTorch checkpoints (torch.save's zip format) read as weights: the state dict's
 * tensors by name, as an in-memory safetensors file, so every weights loader takes either. */
#ifndef FV_TORCH_PT_H
#define FV_TORCH_PT_H

#include "io/io.h"

/* The state dict of a torch.save file (PyTorch >= 1.6 zip format): its floating-point tensors as
 * F32 (float16, bfloat16 and float64 converted), integer tensors as they are, BatchNorm's
 * num_batches_tracked counters and non-tensor entries left out. A checkpoint dict holding the
 * state dict under 'state_dict', 'model_state_dict', 'model' or 'net' is looked into; a 'module.'
 * prefix on every name (DataParallel) is dropped. NULL with a one-line error otherwise. */
fv_st_file *fv_pt_open(const char *path);
/* The same from bytes (not copied; only read while the call runs); `name` for messages. */
fv_st_file *fv_pt_open_mem(const char *name, const unsigned char *buf, size_t len);
/* A weights file by its content: a zip archive (torch.save) through fv_pt_open, the legacy
 * torch.save format refused with the way to re-save it, anything else as safetensors. */
fv_st_file *fv_weights_open(const char *path);

#endif /* FV_TORCH_PT_H */
