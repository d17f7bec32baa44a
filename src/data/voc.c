/* voc.c - Pascal VOC annotations: one XML file parsed by libxml2 (network off, no DTD: a
 * document with a DOCTYPE is refused, so no entity is expanded or loaded), a VOC folder
 * (Annotations/, JPEGImages/, ImageSets/Main/SPLIT.txt, class_names.txt) read into an
 * fv_detset, and one annotation written (the scene generator's). */
#include "data/det.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const voc_classes[20] = {
    "aeroplane", "bicycle", "bird",  "boat",      "bottle", "bus",         "car",
    "cat",       "chair",   "cow",   "diningtable", "dog",  "horse",       "motorbike",
    "person",    "pottedplant", "sheep", "sofa",  "train",  "tvmonitor"};

/* The first element child of n called name, or NULL. */
static xmlNode *child(const xmlNode *n, const char *name)
{
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

/* The text of element `name` under n, blanks trimmed, into out (len bytes); 0 when absent
 * (out ""), -1 when too long. */
static int text_of(const xmlNode *n, const char *name, char *out, size_t len)
{
    out[0] = 0;
    xmlNode *c = child(n, name);
    if (!c)
        return 0;
    xmlChar *s = xmlNodeGetContent(c);
    if (!s)
        return 0;
    const char *p = (const char *)s;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    size_t k = strlen(p);
    while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t' || p[k - 1] == '\n' || p[k - 1] == '\r'))
        k--;
    int ok = k < len;
    if (ok)
        memcpy(out, p, k), out[k] = 0;
    xmlFree(s);
    return ok ? 1 : -1;
}

/* Element `field` of n as a finite number into *v; `what` names the place in errors. */
static fv_status number(const char *file, const char *what, const xmlNode *n, const char *field,
                       double *v)
{
    char s[64], *end;
    int r = text_of(n, field, s, sizeof s);
    if (r == 0)
        return fv_err(FV_ERR_INVALID, "%s: %s has no <%s>", file, what, field);
    errno = 0;
    *v = r > 0 ? strtod(s, &end) : 0;
    if (r < 0 || errno || end == s || *end || !isfinite(*v))
        return fv_err(FV_ERR_INVALID, "%s: %s: <%s> is not a number", file, what, field);
    return FV_OK;
}

/* The image size: width and height whole numbers in 1..65536, depth 0 (absent) or 1..4. */
static fv_status size_of(const char *file, const xmlNode *root, fv_det_annotation *img)
{
    xmlNode *s = child(root, "size");
    if (!s)
        return fv_err(FV_ERR_INVALID, "%s: no <size>", file);
    double w, h, d = 0;
    FV_TRY(number(file, "<size>", s, "width", &w));
    FV_TRY(number(file, "<size>", s, "height", &h));
    char t[8];
    if (text_of(s, "depth", t, sizeof t) != 0 && number(file, "<size>", s, "depth", &d) != FV_OK)
        return FV_ERR_INVALID;
    if (w != floor(w) || h != floor(h) || w < 1 || h < 1 || w > 65536 || h > 65536 ||
        d != floor(d) || d < 0 || d > 4)
        return fv_err(FV_ERR_INVALID, "%s: <size> %gx%gx%g is not an image size (sides 1 to "
                      "65536, depth 0 to 4)", file, w, h, d);
    img->width = (int)w, img->height = (int)h, img->depth = (int)d;
    return FV_OK;
}

/* Object k (1-based) of element o. */
static fv_status object_of(const char *file, int k, const xmlNode *o, char *const *names, int n,
                           fv_det_annotation *img)
{
    char what[48], cls[256], diff[16];
    snprintf(what, sizeof what, "object %d", k);
    if (text_of(o, "name", cls, sizeof cls) <= 0 || !cls[0])
        return fv_err(FV_ERR_INVALID, "%s: %s has no <name>", file, what);
    fv_det_object ob = {.cls = fv_det_class_find(names, n, cls)};
    if (ob.cls < 0) {
        fv_name_sanitize(cls);
        return fv_err(FV_ERR_INVALID, "%s: %s: class '%s' is not in the class list", file, what,
                      cls);
    }
    if (text_of(o, "difficult", diff, sizeof diff) != 0 && diff[0]) {
        if (strcmp(diff, "0") != 0 && strcmp(diff, "1") != 0)
            return fv_err(FV_ERR_INVALID, "%s: %s: <difficult> is not 0 or 1", file, what);
        ob.difficult = diff[0] == '1';
    }
    xmlNode *b = child(o, "bndbox");
    if (!b)
        return fv_err(FV_ERR_INVALID, "%s: %s has no <bndbox>", file, what);
    double c[4];
    static const char *const f[4] = {"xmin", "ymin", "xmax", "ymax"};
    for (int i = 0; i < 4; i++)
        FV_TRY(number(file, what, b, f[i], &c[i]));
    /* the corners as written must lie in the image, then VOC's 1-based minima move by one */
    ob.box = (fv_box){(float)c[0], (float)c[1], (float)c[2], (float)c[3]};
    FV_TRY(fv_det_check_box(file, k, ob.box, img->width, img->height));
    ob.box.x1 = (float)fmax(0, c[0] - 1), ob.box.y1 = (float)fmax(0, c[1] - 1);
    ob.area = (float)fv_box_area(ob.box);
    return fv_det_push(img, &ob);
}

/* libxml2's message for a failed parse, on one line. */
static fv_status xml_error(const char *name, xmlParserCtxt *ctx)
{
    const xmlError *e = xmlCtxtGetLastError(ctx);
    char msg[200] = "not well-formed";
    if (e && e->message) {
        snprintf(msg, sizeof msg, "%s", e->message);
        for (char *p = msg; *p; p++)
            *p = *p == '\n' || *p == '\r' ? ' ' : *p;
        size_t k = strlen(msg);
        while (k > 0 && msg[k - 1] == ' ')
            msg[--k] = 0;
        fv_name_sanitize(msg);
    }
    return fv_err(FV_ERR_INVALID, "%s: malformed XML (line %d): %s", name, e ? e->line : 0, msg);
}

static fv_status parse_doc(const char *name, const xmlDoc *doc, char *const *names, int n,
                           fv_det_annotation *img, char **filename)
{
    const xmlNode *root = xmlDocGetRootElement((xmlDoc *)doc);
    if (doc->intSubset || doc->extSubset)
        return fv_err(FV_ERR_INVALID, "%s: a DOCTYPE is not accepted in an annotation", name);
    if (!root || strcmp((const char *)root->name, "annotation") != 0)
        return fv_err(FV_ERR_INVALID, "%s: the root element is not <annotation>", name);
    char fn[1024];
    if (text_of(root, "filename", fn, sizeof fn) <= 0 || !fn[0] || strchr(fn, '/') ||
        strcmp(fn, "..") == 0)
        return fv_err(FV_ERR_INVALID, "%s: no <filename> (a file name of at most 1023 bytes, "
                      "without '/')", name);
    FV_TRY(size_of(name, root, img));
    int k = 0;
    for (xmlNode *c = root->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "object") == 0)
            FV_TRY(object_of(name, ++k, c, names, n, img));
    return (*filename = fv_strdup(fn, "file name")) ? FV_OK : FV_ERR_NOMEM;
}

fv_status fv_voc_parse(const char *name, const unsigned char *buf, size_t len, char *const *names,
                       int n, fv_det_annotation *img, char **filename)
{
    *img = (fv_det_annotation){0};
    *filename = NULL;
    if (len > FV_VOC_MAX_FILE)
        return fv_err(FV_ERR_INVALID, "%s: an annotation larger than %zu bytes", name,
                      FV_VOC_MAX_FILE);
    xmlParserCtxt *ctx = xmlNewParserCtxt();
    if (!ctx)
        return fv_err(FV_ERR_NOMEM, "%s: no memory for the XML parser", name);
    /* NONET: no network; no NOENT (entities are not substituted), no DTDLOAD / DTDATTR */
    xmlDoc *doc = xmlCtxtReadMemory(ctx, (const char *)buf, (int)len, name, NULL,
                                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    fv_status s = doc ? parse_doc(name, doc, names, n, img, filename) : xml_error(name, ctx);
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctx);
    if (s != FV_OK)
        fv_det_annotation_clear(img);
    return s;
}

/* ------------------------------------------------------------------ folders */

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The class list: a's, else the first names file found among files[], else VOC's 20. */
static fv_status class_list(const fv_det_args *a, const char *const *files, int nfiles,
                            char ***names, int *n)
{
    *names = NULL, *n = 0;
    if (a->classes) {
        if (a->num_classes < 1)
            return fv_err(FV_ERR_INVALID, "a class list needs num_classes >= 1");
        char **p = fv_calloc((size_t)a->num_classes, sizeof *p, "class names");
        for (int k = 0; p && k < a->num_classes; k++)
            if (!(p[k] = fv_strdup(a->classes[k] ? a->classes[k] : "", "class name"))) {
                fv_names_free(p, k);
                p = NULL;
            }
        *names = p;
        *n = p ? a->num_classes : 0;
        return p ? FV_OK : FV_ERR_NOMEM;
    }
    for (int i = 0; i < nfiles; i++) {
        if (!is_file(files[i]))
            continue;
        FV_TRY(fv_names_read(files[i], 0, names, n));
        int skip = 0; /* labelme's "__ignore__" and "_background_" lines are no classes */
        while (skip < *n && (strcmp((*names)[skip], "__ignore__") == 0 ||
                             strcmp((*names)[skip], "_background_") == 0))
            fv_free((*names)[skip++]);
        memmove(*names, *names + skip, (size_t)(*n - skip) * sizeof **names);
        *n -= skip;
        if (*n < 1)
            return fv_err(FV_ERR_INVALID, "%s: no class names", files[i]);
        return FV_OK;
    }
    *names = fv_names_default(20, voc_classes, 20);
    *n = *names ? 20 : 0;
    return *names ? FV_OK : FV_ERR_NOMEM;
}

/* Reads annotation `xml` into img, its image looked for in dirs[0..nd) (the first found). */
static fv_status read_one(const char *xml, char *const *names, int n, const char *const *dirs,
                          int nd, fv_det_annotation *img)
{
    unsigned char *buf;
    size_t len;
    FV_TRY(fv_read_file(xml, FV_VOC_MAX_FILE, &buf, &len));
    char *fn;
    fv_status s = fv_voc_parse(xml, buf, len, names, n, img, &fn);
    fv_free(buf);
    if (s != FV_OK)
        return s;
    char path[2200];
    for (int i = 0; i < nd && !img->file; i++) {
        int k = snprintf(path, sizeof path, "%s/%s", dirs[i], fn);
        if (k > 0 && (size_t)k < sizeof path && is_file(path) &&
            !(img->file = fv_strdup(path, "image path")))
            s = FV_ERR_NOMEM;
    }
    if (!img->file && s == FV_OK)
        s = fv_err(FV_ERR_IO, "%s: image '%s' of the annotation not found (looked in %s)", xml,
                   fn, dirs[0]);
    fv_free(fn);
    if (s != FV_OK)
        fv_det_annotation_clear(img);
    return s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The annotation ids of a folder: the split file's first words, else Annotations' *.xml. */
static fv_status list_ids(const char *dir, const char *split, char ***ids, int64_t *n)
{
    char path[2200];
    *ids = NULL, *n = 0;
    if (split) {
        if (strchr(split, '/'))
            return fv_err(FV_ERR_INVALID, "split '%s': a name without '/'", split);
        snprintf(path, sizeof path, "%s/ImageSets/Main/%s.txt", dir, split);
        int k;
        FV_TRY(fv_names_read(path, 0, ids, &k));
        for (int i = 0; i < k; i++) { /* "ID" or "ID  1" (VOC's per-class lists) */
            (*ids)[i][strcspn((*ids)[i], " \t")] = 0;
            if (!(*ids)[i][0] || strchr((*ids)[i], '/')) {
                fv_names_free(*ids, k);
                *ids = NULL;
                return fv_err(FV_ERR_INVALID, "%s: line %d is not an image id", path, i + 1);
            }
        }
        *n = k;
        return FV_OK;
    }
    snprintf(path, sizeof path, "%s/Annotations", dir);
    DIR *d = opendir(path);
    if (!d)
        return fv_err(FV_ERR_IO, "%s: %s (a VOC folder has Annotations/)", path, strerror(errno));
    int64_t cap = 0;
    fv_status s = FV_OK;
    for (struct dirent *e; s == FV_OK && (e = readdir(d));) {
        size_t k = strlen(e->d_name);
        if (e->d_name[0] == '.' || k < 5 || strcmp(e->d_name + k - 4, ".xml") != 0)
            continue;
        if (*n == cap) {
            int64_t nc = cap ? 2 * cap : 64;
            char **p = fv_realloc(*ids, (size_t)cap * sizeof *p, (size_t)nc * sizeof *p, "ids");
            if (!p) {
                s = FV_ERR_NOMEM;
                break;
            }
            *ids = p, cap = nc;
        }
        e->d_name[k - 4] = 0;
        if (!((*ids)[*n] = fv_strdup(e->d_name, "id")))
            s = FV_ERR_NOMEM;
        else
            ++*n;
    }
    closedir(d);
    if (s == FV_OK && *n == 0)
        s = fv_err(FV_ERR_INVALID, "%s: no .xml annotations", path);
    if (s != FV_OK) {
        fv_names_free(*ids, (int)*n);
        *ids = NULL, *n = 0;
        return s;
    }
    qsort(*ids, (size_t)*n, sizeof **ids, cmp_str);
    return FV_OK;
}

static fv_detset *load_folder(const char *dir, const fv_det_args *a)
{
    char cn[2200], img_dir[2200], xml[2300];
    snprintf(cn, sizeof cn, "%s/class_names.txt", dir);
    snprintf(img_dir, sizeof img_dir, "%s/JPEGImages", dir);
    const char *files[1] = {cn}, *dirs[1] = {img_dir};
    char **names, **ids = NULL;
    int nn;
    int64_t all = 0;
    if (class_list(a, files, 1, &names, &nn) != FV_OK)
        return NULL;
    fv_detset *d = NULL;
    if (list_ids(dir, a->split, &ids, &all) != FV_OK)
        goto out;
    int64_t n = a->limit > 0 && a->limit < all ? a->limit : all;
    const char *base = strrchr(dir, '/') && strrchr(dir, '/')[1] ? strrchr(dir, '/') + 1 : dir;
    if (!(d = fv_detset_alloc(n, names, nn, base)))
        goto out;
    for (int64_t i = 0; i < n; i++) {
        snprintf(xml, sizeof xml, "%s/Annotations/%s.xml", dir, ids[i]);
        if (read_one(xml, d->class_names, nn, dirs, 1, &d->images[i]) != FV_OK) {
            fv_detset_free(d);
            d = NULL;
            break;
        }
        d->images[i].id = i;
    }
out:
    fv_names_free(ids, (int)all);
    fv_names_free(names, nn);
    return d;
}

static fv_detset *load_file(const char *xml, const fv_det_args *a)
{
    char folder[1100], up[1200], cn1[1300], cn2[1300], jp[1300];
    const char *slash = strrchr(xml, '/');
    snprintf(folder, sizeof folder, "%.*s", slash ? (int)(slash - xml) : 1, slash ? xml : ".");
    if (!folder[0])
        snprintf(folder, sizeof folder, "/");
    snprintf(up, sizeof up, "%s/..", folder);
    snprintf(cn1, sizeof cn1, "%s/class_names.txt", folder);
    snprintf(cn2, sizeof cn2, "%s/class_names.txt", up);
    snprintf(jp, sizeof jp, "%s/JPEGImages", up);
    const char *files[2] = {cn1, cn2}, *dirs[2] = {folder, jp};
    char **names;
    int nn;
    if (class_list(a, files, 2, &names, &nn) != FV_OK)
        return NULL;
    fv_detset *d = fv_detset_alloc(1, names, nn, slash ? slash + 1 : xml);
    if (d && read_one(xml, d->class_names, nn, dirs, 2, &d->images[0]) != FV_OK) {
        fv_detset_free(d);
        d = NULL;
    }
    fv_names_free(names, nn);
    return d;
}

fv_detset *fv_detset_load_voc_(const char *path, fv_det_args a)
{
    if (!path) {
        fv_err(FV_ERR_INVALID, "VOC: no path");
        return NULL;
    }
    if (is_dir(path))
        return load_folder(path, &a);
    if (!is_file(path)) {
        fv_err(FV_ERR_IO, "%s: %s", path, strerror(errno ? errno : ENOENT));
        return NULL;
    }
    return load_file(path, &a);
}

/* ------------------------------------------------------------------ writing */

/* s with XML's five special characters escaped. */
static void put_escaped(FILE *f, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default: fputc(*s, f);
        }
}

fv_status fv_voc_write(const char *path, const char *filename, const fv_det_annotation *img,
                       char *const *names, int nnames)
{
    fv_atomic_file af;
    FV_TRY(fv_atomic_open(&af, path));
    FILE *f = af.f;
    fputs("<annotation>\n  <filename>", f);
    put_escaped(f, filename);
    fprintf(f, "</filename>\n  <size>\n    <width>%d</width>\n    <height>%d</height>\n"
            "    <depth>%d</depth>\n  </size>\n", img->width, img->height, img->depth);
    for (int k = 0; k < img->nobjects; k++) {
        const fv_det_object *o = &img->objects[k];
        if (o->cls < 0 || o->cls >= nnames) {
            fv_atomic_abort(&af);
            return fv_err(FV_ERR_INVALID, "%s: object %d: class %d has no name", path, k + 1,
                          o->cls);
        }
        fputs("  <object>\n    <name>", f);
        put_escaped(f, names[o->cls]);
        /* VOC's corners: 1-based minima (the reader subtracts one), continuous maxima */
        fprintf(f, "</name>\n    <difficult>%d</difficult>\n    <bndbox>\n      <xmin>%.9g</xmin>\n"
                "      <ymin>%.9g</ymin>\n      <xmax>%.9g</xmax>\n      <ymax>%.9g</ymax>\n"
                "    </bndbox>\n  </object>\n", o->difficult ? 1 : 0, (double)o->box.x1 + 1,
                (double)o->box.y1 + 1, (double)o->box.x2, (double)o->box.y2);
    }
    fputs("</annotation>\n", f);
    return fv_atomic_commit(&af);
}
