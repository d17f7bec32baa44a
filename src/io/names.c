/* names.c - names that come from files (model and layer names, tensor names): a strict UTF-8
 * check, since they end up in JSON headers, folder names and reports, and a printable form for
 * error messages, so a hostile name cannot break the one-line message. */
#include "io/io.h"

#include <string.h>

/* The length of the UTF-8 sequence at p (1-4) and its code point in *cp, or 0 when malformed. */
static int utf8_seq(const unsigned char *p, unsigned *cp)
{
    unsigned c = p[0];
    int n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0)
        return 0;
    unsigned v = n == 1 ? c : c & (0x7Fu >> n);
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) /* also stops at the terminating NUL */
            return 0;
        v = v << 6 | (p[i] & 0x3Fu);
    }
    static const unsigned min_of[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min_of[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

static bool is_control(unsigned cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

bool fv_utf8_valid(const char *s, bool controls_ok)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned cp;
        int n = utf8_seq(p, &cp);
        if (n == 0 || (!controls_ok && is_control(cp)))
            return false;
        p += n;
    }
    return true;
}

char *fv_printable(const char *s, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t k = 0;
    if (cap == 0)
        return out;
    while (*p) {
        unsigned cp;
        int n = utf8_seq(p, &cp);
        if (n > 0 && !is_control(cp)) {
            if (k + (size_t)n >= cap)
                break;
            memcpy(out + k, p, (size_t)n);
            k += (size_t)n;
            p += n;
            continue;
        }
        if (k + 4 >= cap)
            break;
        snprintf(out + k, cap - k, "\\x%02x", *p);
        k += 4;
        p++;
    }
    out[k] = '\0';
    return out;
}
