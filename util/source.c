/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/source.c - what every ovfk_source shares (ovfkit/source.h): its
 * release.  The sources themselves live with their formats (vhd/source.c,
 * image/).
 */
#include <stdlib.h>

#include "ovfkit/source.h"

void ovfk_source_free(ovfk_source *src)
{
    if (!src) {
        return;
    }
    if (src->ops->close) {
        src->ops->close(src->opaque);
    }
    free(src);
}
