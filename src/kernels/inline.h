/* inline.h - FV_INLINE, the forced inlining the kernels' templates rely on: a body written once
 * with constant parameters (tile sizes, activation, instruction set) is inlined into each
 * specialized caller, so that the constants fold and each copy is vectorized on its own. */
#ifndef FV_KERNELS_INLINE_H
#define FV_KERNELS_INLINE_H

#if defined(__GNUC__) || defined(__clang__)
#define FV_INLINE static inline __attribute__((always_inline))
#else
#define FV_INLINE static inline
#endif

#endif
