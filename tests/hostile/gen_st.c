/* gen_st.c - safetensors files for the hostile cases: raw headers and data written as they are,
 * the tiny model's weights with one value everywhere, and edits of a real checkpoint (one word
 * of a tensor, or one key of the JSON header). */
#include "hostile.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

void st_raw(const char *path, uint64_t hlen, const char *header, const void *data, size_t dlen)
{
    h_buf b = {0};
    unsigned char n[8];
    le64(n, hlen);
    hb_put(&b, n, 8);
    hb_put(&b, header, strlen(header));
    hb_put(&b, data, dlen);
    w_file(path, b.p, b.n);
    hb_free(&b);
}

void st_tiny(const char *path, float value)
{
    static const char *hdr = "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,64],\"data_offsets\":"
                             "[0,768]},\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[3],"
                             "\"data_offsets\":[768,780]}}";
    float v[195];
    for (int i = 0; i < 195; i++)
        v[i] = value;
    st_raw(path, strlen(hdr), hdr, v, sizeof v);
}

void st_conv(const char *path)
{
    static const char *hdr = "{\"c1.weight\":{\"dtype\":\"F32\",\"shape\":[4,1,3,3],"
                             "\"data_offsets\":[0,144]},\"c1.bias\":{\"dtype\":\"F32\",\"shape\":"
                             "[4],\"data_offsets\":[144,160]},\"fc.weight\":{\"dtype\":\"F32\","
                             "\"shape\":[3,256],\"data_offsets\":[160,3232]},\"fc.bias\":{"
                             "\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[3232,3244]}}";
    float v[811];
    for (int i = 0; i < 811; i++)
        v[i] = (float)((int)h_below(2001) - 1000) / 4000.0f;
    st_raw(path, strlen(hdr), hdr, v, sizeof v);
}

/* The header (parsed) and data of a safetensors file. */
typedef struct st_file {
    unsigned char *buf;
    size_t len;
    uint64_t hlen;
    cJSON *json;
} st_file;

static void st_open(const char *path, st_file *f)
{
    f->buf = r_file(path, &f->len);
    f->hlen = 0;
    for (int i = 7; f->len >= 8 && i >= 0; i--)
        f->hlen = f->hlen << 8 | f->buf[i];
    if (f->len < 8 || f->hlen > f->len - 8 ||
        !(f->json = cJSON_ParseWithLength((const char *)f->buf + 8, (size_t)f->hlen)))
        h_die("%s: not a safetensors file the suite can edit", path);
}

static void st_close(st_file *f)
{
    cJSON_Delete(f->json);
    free(f->buf);
}

void st_patch(const char *from, const char *to, const char *name, int word, uint32_t v)
{
    st_file f;
    st_open(from, &f);
    cJSON *off = cJSON_GetObjectItem(cJSON_GetObjectItem(f.json, name), "data_offsets");
    if (cJSON_GetArraySize(off) != 2)
        h_die("%s: no tensor '%s'", from, name);
    size_t b = (size_t)cJSON_GetArrayItem(off, 0)->valuedouble,
           e = (size_t)cJSON_GetArrayItem(off, 1)->valuedouble;
    unsigned char *data = f.buf + 8 + f.hlen;
    for (size_t at = b + (word >= 0 ? 4 * (size_t)word : 0); at + 4 <= e; at += 4) {
        for (int i = 0; i < 4; i++) /* little-endian words */
            data[at + (size_t)i] = (unsigned char)(v >> (8 * i));
        if (word >= 0)
            break;
    }
    w_file(to, f.buf, f.len);
    st_close(&f);
}

void st_edit(const char *from, const char *to, const char *name, const char *key,
             const char *json)
{
    st_file f;
    st_open(from, &f);
    cJSON *t = cJSON_GetObjectItem(f.json, name);
    if (!t)
        h_die("%s: no tensor '%s'", from, name);
    if (!key) {
        cJSON_DeleteItemFromObject(f.json, name);
    } else {
        cJSON *v = cJSON_Parse(json);
        if (!v)
            h_die("st_edit: bad JSON %s", json);
        if (cJSON_GetObjectItem(t, key))
            cJSON_ReplaceItemInObject(t, key, v);
        else
            cJSON_AddItemToObject(t, key, v);
    }
    char *hdr = cJSON_PrintUnformatted(f.json);
    if (!hdr)
        h_die("out of memory");
    st_raw(to, strlen(hdr), hdr, f.buf + 8 + f.hlen, f.len - 8 - (size_t)f.hlen);
    free(hdr);
    st_close(&f);
}
