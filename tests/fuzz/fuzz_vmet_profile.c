/*
 * libFuzzer target: the kernel-profile parser (src/ids/libvmet/vmet_profile.c),
 * the one reader of profile files.
 *   make -C tests/fuzz run
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../src/ids/libvmet/vmet_profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vmet_profile prof;
    unsigned bad;

    vmet_profile_parse((const char *)data, size, &prof, &bad);
    return 0;
}
