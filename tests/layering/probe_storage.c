/* Must not compile: matcher code cannot reach storage headers. */
#include "sidik/crc32c.h"
