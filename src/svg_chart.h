/* svg_chart — a metric across a model's versions as an inline SVG line chart, drawn by the
 * server so the page needs no script: one point a version in the order given (oldest first),
 * joined by a line, each point with its version under the axis, its value as a tooltip (<title>)
 * and a class saying what the gate decided; the axis is labelled with the lowest and highest
 * value. Every label is escaped (html.h). Values that are not finite are left out.
 *
 * Memory: the points are borrowed; the markup goes into H (the request's arena). */
#ifndef RT_SVG_CHART_H
#define RT_SVG_CHART_H

#include <stddef.h>

#include "html.h"

typedef struct {
    const char *label; /* under the axis: the version id */
    double value;
    const char *kind; /* a CSS class of the point: "promoted", "held", ...; NULL: none */
} chart_point;

/* An <svg class="chart"> of N points titled TITLE (the metric's name), with one
 * <circle class="point KIND"> a finite point. Nothing but a note when no point is finite. */
void svg_chart(html *h, const char *title, const chart_point *points, size_t n);

#endif
