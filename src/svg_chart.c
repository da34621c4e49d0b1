/* svg_chart — see svg_chart.h. */
#include "svg_chart.h"

#include <math.h>

#define CHART_W 640
#define CHART_H 240
#define PAD_L 64 /* room for the value labels */
#define PAD_R 24
#define PAD_T 24
#define PAD_B 40 /* room for the version labels */

typedef struct {
    double base, span; /* the value at the bottom, and the values the height spans */
    size_t finite;     /* points drawn */
} scale;

/* Where the K-th drawn point of VALUE goes: the versions evenly apart, the value between the
 * bottom and the top. */
static void place(const scale *s, size_t k, double value, double *x, double *y)
{
    double plot_w = CHART_W - PAD_L - PAD_R, plot_h = CHART_H - PAD_T - PAD_B;
    *x = PAD_L + (s->finite > 1 ? plot_w * (double)k / (double)(s->finite - 1) : plot_w / 2);
    *y = PAD_T + plot_h * (1 - (value - s->base) / s->span);
}

void svg_chart(html *h, const char *title, const chart_point *points, size_t n)
{
    size_t finite = 0;
    double lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(points[i].value))
            continue;
        if (finite == 0 || points[i].value < lo)
            lo = points[i].value;
        if (finite == 0 || points[i].value > hi)
            hi = points[i].value;
        finite++;
    }
    if (finite == 0) {
        html_raw(h, "<p class=\"note\">No version has a value of ");
        html_text(h, title);
        html_raw(h, " yet.</p>\n");
        return;
    }
    /* One value, or all the same: centred. */
    scale sc = {.base = hi > lo ? lo : lo - 0.5, .span = hi > lo ? hi - lo : 1, .finite = finite};
    html_rawf(h,
              "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
              "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"",
              CHART_W, CHART_H, CHART_W, CHART_H);
    html_text(h, title);
    html_raw(h, " by version\">\n<title>");
    html_text(h, title);
    html_raw(h, " by version</title>\n");
    html_rawf(h,
              "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n"
              "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n",
              PAD_L, PAD_T, PAD_L, CHART_H - PAD_B, PAD_L, CHART_H - PAD_B, CHART_W - PAD_R,
              CHART_H - PAD_B);
    html_rawf(h,
              "<text class=\"tick\" x=\"%d\" y=\"%d\" text-anchor=\"end\">%.4g</text>\n"
              "<text class=\"tick\" x=\"%d\" y=\"%d\" text-anchor=\"end\">%.4g</text>\n",
              PAD_L - 6, PAD_T + 4, hi, PAD_L - 6, CHART_H - PAD_B + 4, lo);
    html_raw(h, "<polyline class=\"line\" points=\"");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(points[i].value))
            continue;
        double x, y;
        place(&sc, k, points[i].value, &x, &y);
        html_rawf(h, "%s%.1f,%.1f", k ? " " : "", x, y);
        k++;
    }
    html_raw(h, "\"/>\n");
    k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(points[i].value))
            continue;
        double x, y;
        place(&sc, k, points[i].value, &x, &y);
        html_raw(h, "<circle class=\"point ");
        html_text(h, points[i].kind);
        html_rawf(h, "\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\"><title>version ", x, y);
        html_text(h, points[i].label);
        html_rawf(h, ": %.6g", points[i].value);
        if (points[i].kind) {
            html_raw(h, ", ");
            html_text(h, points[i].kind);
        }
        html_rawf(h,
                  "</title></circle>\n<text class=\"label\" x=\"%.1f\" y=\"%d\" "
                  "text-anchor=\"middle\">",
                  x, CHART_H - PAD_B + 18);
        html_text(h, points[i].label);
        html_raw(h, "</text>\n");
        k++;
    }
    html_raw(h, "</svg>\n");
}
