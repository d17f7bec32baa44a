/* roi_ref.h - scalar reference kernels of RoI max pooling and RoI align (torchvision 0.14's CPU
 * kernels' arithmetic, in REAL), over a range of RoIs (forward) or of channels (backward), so a
 * caller can split either across workers. Geometry in fv_roi_spec (fovea.h); rois (k, 5) =
 * (batch index, x1, y1, x2, y2), already checked by the caller. */
#ifndef FV_KERNELS_REF_ROI_REF_H
#define FV_KERNELS_REF_ROI_REF_H

#include "fovea.h"

#include <stddef.h>
#include <stdint.h>

/* Bytes of the workspace ws one call of a forward (align: or backward) kernel needs for these
 * RoIs: RoI pooling's bin edges, RoI align's sample tables (align 1). */
size_t fv_ref_roi_workspace_f32(const fv_roi_spec *s, const float *rois, int align);
size_t fv_ref_roi_workspace_f64(const fv_roi_spec *s, const float *rois, int align);
/* y and argmax (NULL: not written) of RoIs [k0, k1). */
void fv_ref_roi_pool_fwd_f32(const fv_roi_spec *s, const float *x, const float *rois, float *y,
                             int32_t *argmax, int64_t k0, int64_t k1, void *ws);
void fv_ref_roi_pool_fwd_f64(const fv_roi_spec *s, const double *x, const float *rois, double *y,
                             int32_t *argmax, int64_t k0, int64_t k1, void *ws);
/* dx += dy at each argmax, channels [c0, c1) of every image. */
void fv_ref_roi_pool_bwd_f32(const fv_roi_spec *s, const float *dy, const float *rois,
                             const int32_t *argmax, float *dx, int c0, int c1);
void fv_ref_roi_pool_bwd_f64(const fv_roi_spec *s, const double *dy, const float *rois,
                             const int32_t *argmax, double *dx, int c0, int c1);
void fv_ref_roi_align_fwd_f32(const fv_roi_spec *s, const float *x, const float *rois, float *y,
                              int64_t k0, int64_t k1, void *ws);
void fv_ref_roi_align_fwd_f64(const fv_roi_spec *s, const double *x, const float *rois, double *y,
                              int64_t k0, int64_t k1, void *ws);
/* dx += the bilinear adjoint of dy, channels [c0, c1). */
void fv_ref_roi_align_bwd_f32(const fv_roi_spec *s, const float *dy, const float *rois, float *dx,
                              int c0, int c1, void *ws);
void fv_ref_roi_align_bwd_f64(const fv_roi_spec *s, const double *dy, const float *rois,
                              double *dx, int c0, int c1, void *ws);

#endif
