/* The signature's computation (sig_build_impl.h) built with AVX-512 (-O3
 * -mavx512f -mavx512bw -mavx512vl); called only where the CPU has the
 * avx512 level (signature.c). */
#define SIG_VEC 16
#define SIG_BUILD(name) sidik__##name##_avx512
#include "sig_build_impl.h"
