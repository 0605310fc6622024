/* Must not compile: matcher code cannot reach server headers. */
#include "sidik/grpc_frame.h"
