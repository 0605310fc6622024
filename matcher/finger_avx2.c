/* The finger preparation (finger_impl.h) built with AVX2 (-O3 -mavx2
 * -mpopcnt); called only where the CPU has AVX2 (finger.c). */
#define FINGER_BUILD sidik__finger_build_avx2
#include "finger_impl.h"
