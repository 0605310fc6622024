/* The signature's computation (sig_build_impl.h) built with AVX2 (-O3
 * -mavx2); called only where the CPU has AVX2 (signature.c). */
#define SIG_VEC 8
#define SIG_BUILD(name) sidik__##name##_avx2
#include "sig_build_impl.h"
