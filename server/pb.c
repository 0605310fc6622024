/* protobuf-c's allocator hooks over sidik_trymalloc (sidik/pb.h). */
#include "sidik/common.h"
#include "sidik/pb.h"

static void *pb_alloc(void *unused, size_t n)
{
    (void)unused;
    return sidik_trymalloc(n);
}

static void pb_free(void *unused, void *p)
{
    (void)unused;
    sidik_free(p);
}

ProtobufCAllocator sidik_pb_alloc = {pb_alloc, pb_free, NULL};
