/*
 * libFuzzer target: the parsers of V-Met's roots protocol. vmet_req_decode()
 * is what L0 runs on every byte a client of its socket sends;
 * vmet_reply_frame_len()/vmet_reply_decode() what the IDS runs on L0's
 * answers. An accepted request must re-encode to the same bytes.
 *   make -C tests/fuzz run
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmet_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vmet_reply reply;
    struct vmet_req req;
    uint8_t again[VMET_REQ_SIZE];
    int frame;

    if (vmet_req_decode(data, size, &req) == 0 &&
        (vmet_req_encode(&req, again, sizeof(again)) != VMET_REQ_SIZE ||
         memcmp(again, data, VMET_REQ_SIZE))) {
        abort();
    }
    frame = vmet_reply_frame_len(data, size);
    if (frame > 0 && (size_t)frame <= size) {
        vmet_reply_decode(data, (size_t)frame, &reply);
    }
    return 0;
}
