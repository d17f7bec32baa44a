/* test_darknet_tree.c - Darknet's word trees ([softmax] tree=FILE, formats/darknet_tree.c):
 * the groups read_tree forms from the file's lines, a cfg's tree softmax computing a softmax per
 * group of siblings, hierarchy_predictions (each probability times its parent's, only leaves
 * kept) and the errors: a missing tree file, a bad line, a parent out of range, a tree of
 * another size. */
#include "core/internal.h"
#include "formats/darknet.h"
#include "test.h"
#include "testfs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* classes 0, 1: roots; 2, 3, 4 children of 0; 5 a child of 1; 6 a child of 5 */
static const char tree6[] = "entity -1\nthing -1\ndog 0\ncat 0\nbird 0\nrock 1\npebble 5";

TEST(tree_groups_as_read_tree)
{
    int *par, *seg, n, nseg;
    CHECK_STATUS(fv_darknet_tree_parse(tree6, strlen(tree6), "t.tree", &par, &n, &seg, &nseg),
                 FV_OK);
    static const int want_par[] = {-1, -1, 0, 0, 0, 1, 5}, want_seg[] = {2, 3, 1, 1};
    CHECK(n == 7 && nseg == 4);
    for (int i = 0; n == 7 && i < 7; i++)
        CHECK(par[i] == want_par[i]);
    for (int i = 0; nseg == 4 && i < 4; i++)
        CHECK(seg[i] == want_seg[i]);
    fv_free(par), fv_free(seg);
    /* no parent: -1 (Darknet's sscanf leaves it); a first line with a parent: Darknet's empty
     * first group is left out; a trailing newline ends the last line */
    const char *t = "a\nb\t-1\nc 0\n";
    CHECK_STATUS(fv_darknet_tree_parse(t, strlen(t), "t.tree", &par, &n, &seg, &nseg), FV_OK);
    CHECK(n == 3 && nseg == 2 && seg[0] == 2 && seg[1] == 1 && par[0] == -1 && par[2] == 0);
    fv_free(par), fv_free(seg);
    t = "a 1\nb -1\n";
    CHECK_STATUS(fv_darknet_tree_parse(t, strlen(t), "t.tree", &par, &n, &seg, &nseg), FV_OK);
    CHECK(n == 2 && nseg == 2 && seg[0] == 1 && seg[1] == 1);
    fv_free(par), fv_free(seg);
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"a -1\nb x\n", "t.tree:2: expected 'name parent' with the parent a class number or -1, "
                        "got 'x'"},
        {"a -1\nb 2\n", "t.tree:2: parent 2 is not a class (the tree has 2)"},
        {"a -2\n", "t.tree:1: expected 'name parent'"},
        {"", "t.tree: an empty word tree"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fv_status st = fv_darknet_tree_parse(bad[i].text, strlen(bad[i].text), "t.tree", &par,
                                             &n, &seg, &nseg);
        CHECK(st != FV_OK);
        CHECK_ERR_HAS(bad[i].want);
        fv_free(par), fv_free(seg);
    }
}

static fv_model *tree_net(const char *tree_path, int classes)
{
    char cfg[512];
    snprintf(cfg, sizeof cfg, "[net]\nwidth=1\nheight=1\nchannels=%d\n[softmax]\ngroups=1\n"
             "tree=%s\n[cost]\n", classes, tree_path);
    return fv_model_parse_darknet(cfg, strlen(cfg), "t.cfg");
}

TEST(tree_softmax_and_hierarchy)
{
    t_write_at("t.tree", tree6, strlen(tree6));
    fv_model *m = tree_net(t_path("t.tree"), 7);
    CHECK(m != NULL);
    if (!m)
        return;
    CHECK_STATUS(fv_model_compile(m), FV_OK);
    fv_tensor *x = fv_tensor_new4(1, 7, 1, 1), *y = NULL;
    static const float in[7] = {0.5f, -1.0f, 2.0f, 0.0f, 1.0f, 3.0f, -2.0f};
    memcpy(x->data, in, sizeof in);
    CHECK_STATUS(fv_model_predict(m, x, &y), FV_OK);
    double p[7], e01 = exp(0.5) + exp(-1.0), e234 = exp(2.0) + exp(0.0) + exp(1.0);
    p[0] = exp(0.5) / e01, p[1] = exp(-1.0) / e01;
    p[2] = exp(2.0) / e234, p[3] = exp(0.0) / e234, p[4] = exp(1.0) / e234;
    p[5] = p[6] = 1;
    for (int i = 0; y && i < 7; i++)
        CHECK_NEAR(y->data[i], p[i], 1e-6, 0);
    /* hierarchy: times the parents' (down the chain 6 -> 5 -> 1), inner classes 0, 1, 5 zeroed */
    double h[7] = {0, 0, p[2] * p[0], p[3] * p[0], p[4] * p[0], 0, p[6] * p[5] * p[1]};
    CHECK_STATUS(fv_model_darknet_hierarchy(m, y ? y->data : NULL, 7), FV_OK);
    for (int i = 0; y && i < 7; i++)
        CHECK_NEAR(y->data[i], h[i], 1e-6, 0);
    CHECK(fv_model_darknet_hierarchy(m, y ? y->data : NULL, 6) != FV_OK);
    CHECK_ERR_HAS("6 values for a word tree of 7 classes");
    fv_tensor_free(x), fv_tensor_free(y);
    fv_model_free(m);
    /* a network without a tree: nothing changes */
    const char *plain = "[net]\nwidth=1\nheight=1\nchannels=3\n[softmax]\n";
    m = fv_model_parse_darknet(plain, strlen(plain), "p.cfg");
    float v[3] = {0.2f, 0.3f, 0.5f};
    CHECK(m && fv_model_darknet_hierarchy(m, v, 3) == FV_OK && v[0] == 0.2f && v[2] == 0.5f);
    fv_model_free(m);
}

TEST(tree_errors)
{
    fv_model *m = tree_net(t_path("missing.tree"), 7);
    CHECK(m == NULL);
    CHECK_ERR_HAS("t.cfg:7: [softmax] (layer 0): tree: cannot read the word tree (");
    CHECK_ERR_HAS("missing.tree");
    CHECK(t_one_line(fv_last_error()));
    t_write_at("t.tree", tree6, strlen(tree6));
    m = tree_net(t_path("t.tree"), 5);
    CHECK(m == NULL);
    CHECK_ERR_HAS("has 7 classes, the layer 5 inputs");
    t_write_at("bad.tree", "a -1\nb 9\n", 10);
    m = tree_net(t_path("bad.tree"), 2);
    CHECK(m == NULL);
    CHECK_ERR_HAS("(layer 0): tree: ");
    CHECK_ERR_HAS("bad.tree:2: parent 9 is not a class");
}

T_MAIN_SCRATCH("/tmp/fovea_dntree_XXXXXX", T_TEST(tree_groups_as_read_tree),
               T_TEST(tree_softmax_and_hierarchy), T_TEST(tree_errors))
