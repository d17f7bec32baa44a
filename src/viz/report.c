/* report.c - one self-contained HTML page per training run: the model summary, the
 * hyper-parameters, the per-epoch history, the final metrics (overall and per class) and every
 * figure, embedded as base64 PNG data so the file can be mailed or archived alone. Text is
 * HTML-escaped; the file is written atomically. */
#include "io/io.h"

#include <math.h>
#include <string.h>

static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.4f", v);
    else
        fputs("&ndash;", f);
}

/* The PNG at path as a data URI image; a missing file is an error naming it. */
static fv_status embed_png(FILE *f, const char *path, const char *caption)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char *buf;
    size_t len;
    FV_TRY(fv_read_file(path, (size_t)64 << 20, &buf, &len));
    fputs("<figure><img alt=\"", f);
    esc(f, caption);
    fputs("\" src=\"data:image/png;base64,", f);
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)buf[i] << 16 | (i + 1 < len ? (uint32_t)buf[i + 1] << 8 : 0) |
                     (i + 2 < len ? buf[i + 2] : 0);
        char q[4] = {b64[v >> 18], b64[(v >> 12) & 63], i + 1 < len ? b64[(v >> 6) & 63] : '=',
                     i + 2 < len ? b64[v & 63] : '='};
        fwrite(q, 1, 4, f);
    }
    fputs("\"><figcaption>", f);
    esc(f, caption);
    fputs("</figcaption></figure>\n", f);
    fv_free(buf);
    return FV_OK;
}

static void history_table(FILE *f, const fv_epoch_metrics *h, int n)
{
    fputs("<h2>Training history</h2>\n<table><tr><th>epoch</th><th>loss</th><th>accuracy</th>"
          "<th>val loss</th><th>val accuracy</th><th>learning rate</th><th>seconds</th>"
          "<th>images/s</th></tr>\n", f);
    for (int i = 0; i < n; i++) {
        fprintf(f, "<tr><td>%d</td><td>", h[i].epoch);
        num(f, h[i].loss), fputs("</td><td>", f), num(f, h[i].accuracy), fputs("</td><td>", f);
        num(f, h[i].val_loss), fputs("</td><td>", f), num(f, h[i].val_accuracy);
        fprintf(f, "</td><td>%.3g</td><td>%.1f</td><td>%.0f</td></tr>\n", h[i].lr, h[i].seconds,
                h[i].images_per_s);
    }
    fputs("</table>\n", f);
}

static void metrics_tables(FILE *f, const fv_metrics *m, const char *const *names)
{
    fprintf(f, "<h2>Test metrics</h2>\n<table><tr><th>samples</th><th>accuracy</th>"
            "<th>top-%d</th><th>macro F1</th><th>weighted F1</th><th>macro AUC</th>"
            "<th>micro AP</th><th>log-loss</th><th>ECE</th></tr>\n<tr><td>%lld</td><td>",
            m->k >= 5 ? 5 : m->k, (long long)m->n);
    double row[8] = {m->accuracy, m->top_k[m->k >= 5 ? 4 : m->k - 1], m->macro.f1,
                     m->weighted.f1, m->auc_macro, m->ap_micro, m->log_loss, m->ece};
    for (int i = 0; i < 8; i++)
        num(f, row[i]), fputs(i < 7 ? "</td><td>" : "</td></tr></table>\n", f);
    fputs("<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th>"
          "<th>support</th><th>AUC</th><th>AP</th></tr>\n", f);
    for (int c = 0; c < m->k; c++) {
        fputs("<tr><td>", f);
        if (names && names[c])
            esc(f, names[c]);
        else
            fprintf(f, "%d", c);
        double v[6] = {m->precision[c], m->recall[c], m->f1[c], NAN, m->auc[c], m->ap[c]};
        for (int i = 0; i < 6; i++) {
            fputs("</td><td>", f);
            if (i == 3)
                fprintf(f, "%lld", (long long)m->support[c]);
            else
                num(f, v[i]);
        }
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static const char style[] =
    "<style>body{font-family:sans-serif;margin:2em;max-width:1400px;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
    "text-align:right}th{background:#f0f0f0}pre{background:#f7f7f7;padding:1em;overflow-x:auto;"
    "font-size:12px}.figures{display:grid;grid-template-columns:repeat(auto-fill,"
    "minmax(440px,1fr));gap:1.5em;align-items:start}figure{margin:0}"
    "img{width:100%;height:auto;border:1px solid #eee}"
    "figcaption{text-align:center;color:#333;font-size:15px;margin-top:0.3em}</style>\n";

static fv_status write_body(FILE *f, const fv_report *r)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>", f);
    esc(f, r->title);
    fprintf(f, "</title>\n%s</head><body>\n<h1>", style);
    esc(f, r->title);
    fputs("</h1>\n", f);
    if (r->params) {
        fputs("<h2>Settings</h2>\n<table>", f);
        for (int i = 0; r->params[i] && r->params[i + 1]; i += 2) {
            fputs("<tr><th>", f), esc(f, r->params[i]), fputs("</th><td>", f);
            esc(f, r->params[i + 1]), fputs("</td></tr>", f);
        }
        fputs("</table>\n", f);
    }
    if (r->metrics)
        metrics_tables(f, r->metrics, r->class_names);
    if (r->epochs > 0 && r->history)
        history_table(f, r->history, r->epochs);
    if (r->images) {
        fputs("<h2>Figures</h2>\n<div class=\"figures\">\n", f);
        for (int i = 0; r->images[i]; i++)
            FV_TRY(embed_png(f, r->images[i], r->captions && r->captions[i] ? r->captions[i] : ""));
        fputs("</div>\n", f);
    }
    if (r->summary) {
        fputs("<h2>Model</h2>\n<pre>", f);
        esc(f, r->summary);
        fputs("</pre>\n", f);
    }
    fputs("</body></html>\n", f);
    return FV_OK;
}

fv_status fv_report_write(const char *path, const fv_report *r)
{
    fv_atomic_file af;
    FV_TRY(fv_atomic_open(&af, path));
    fv_status st = write_body(af.f, r);
    if (st != FV_OK) {
        fv_atomic_abort(&af);
        return st;
    }
    return fv_atomic_commit(&af);
}
