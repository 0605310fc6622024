/*
 * A template moved as a finger moves on a scanner, for tests and benchmarks:
 * rotated by deg about the image centre, scaled, then shifted by (dx, dy),
 * inside an image grown by margin on every side. With y down and angles
 * counter-clockwise, a turn of deg maps (x, y) to (c x + s y, -s x + c y)
 * and adds deg to every angle. Minutiae that land outside the 16-bit range
 * are dropped.
 */
#ifndef SIDIK_TEMPLATE_POSE_H
#define SIDIK_TEMPLATE_POSE_H

#include <math.h>

#include "sidik/template.h"

static inline void sidik_test_pose(const sidik_template *in, double deg, double scale, double dx,
                                   double dy, double margin, sidik_template *out)
{
    *out = *in;
    double r = deg * M_PI / 180, c = cos(r), s = sin(r);
    double cx = in->width / 2.0, cy = in->height / 2.0;
    int k = 0;
    for (int i = 0; i < in->count; i++) {
        double rx = in->m[i].x - cx, ry = in->m[i].y - cy;
        double x = margin + cx + scale * (c * rx + s * ry) + dx;
        double y = margin + cy + scale * (-s * rx + c * ry) + dy;
        if (x < 0 || y < 0 || x > 65535 || y > 65535)
            continue;
        out->m[k] = in->m[i];
        out->m[k].x = (uint16_t)lround(x);
        out->m[k].y = (uint16_t)lround(y);
        out->m[k].angle = (uint8_t)(in->m[i].angle + lround(deg * 256 / 360));
        k++;
    }
    out->count = (uint8_t)k;
    out->width = (uint16_t)(in->width + 2 * margin);
    out->height = (uint16_t)(in->height + 2 * margin);
}

#endif
