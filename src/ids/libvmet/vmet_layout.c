/* GPA -> file offset (vmet_layout.h). */
#include "vmet_layout.h"

vmet_status_t vmet_layout_check(const struct vmet_range *r, unsigned n, uint64_t file_size)
{
    for (unsigned i = 0; i < n; i++) {
        if (r[i].size == 0 || r[i].gpa + r[i].size < r[i].gpa ||
            r[i].file_offset > file_size || r[i].size > file_size - r[i].file_offset) {
            return VMET_E_PROTO;
        }
        if (i > 0 && r[i].gpa < r[i - 1].gpa + r[i - 1].size) {
            return VMET_E_PROTO;
        }
    }
    return VMET_OK;
}

vmet_status_t vmet_layout_offset(const struct vmet_range *r, unsigned n, uint64_t pa,
                                 size_t len, uint64_t *off)
{
    for (unsigned i = 0; i < n; i++) {
        uint64_t rel = pa - r[i].gpa;

        if (pa >= r[i].gpa && rel < r[i].size) {
            if (len > r[i].size - rel) {
                return VMET_E_OUT_OF_RANGE;
            }
            *off = r[i].file_offset + rel;
            return VMET_OK;
        }
    }
    return VMET_E_OUT_OF_RANGE;
}
