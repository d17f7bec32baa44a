/* test_transfer.c - transfer learning: weights loaded by name with a report (loaded, new,
 * skipped, unused), a shape mismatch an error unless skipped, another architecture's file an
 * error, all leaving the model unchanged; freezing by name, list, pattern and "up to", exactly
 * the named layer (not the one owning a folded activation); a replaced head on a compiled model;
 * the features of every zoo network without its top; a frozen batch norm in inference mode
 * while training; stratified samples per class. */
#include "core/internal.h"
#include "nn/checkpoint.h"
#include "test.h"
#include "testfs.h"

/* input 1x6x6 -> conv "conv1" (relu) -> bn "bn1" -> flatten -> dense "fc1" (relu, 8) -> dense
 * `head` (units). */
static fv_model *small(const char *head, int units, int compile)
{
    fv_model *m = fv_model_new("small");
    fv_input(m, .ndim = 3, .dims = {1, 6, 6});
    fv_conv2d(m, FV_LAST, .filters = 2, .kernel = 3, .activation = FV_ACT_RELU, .name = "conv1");
    fv_batchnorm(m, FV_LAST, .name = "bn1");
    fv_flatten(m, FV_LAST);
    fv_dense(m, FV_LAST, .units = 8, .activation = FV_ACT_RELU, .name = "fc1");
    fv_dense(m, FV_LAST, .units = units, .name = head);
    if (compile && fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam(),
                                    .seed = 7) != FV_OK)
        fprintf(stderr, "compile: %s\n", fv_last_error());
    return m;
}

static const fv_param *param(const fv_model *m, const char *name)
{
    for (int i = 0; i < m->nparams; i++)
        if (strcmp(m->params[i].name, name) == 0)
            return &m->params[i];
    return NULL;
}

static const float *pdata(const fv_model *m, const char *name)
{
    const fv_param *p = param(m, name);
    return p ? m->data_slab + p->offset : NULL;
}

/* A model saved by another seed: values that differ from a fresh model's everywhere. */
static void save_source(const char *path, const char *head, int units)
{
    fv_model *src = fv_model_new("src");
    fv_input(src, .ndim = 3, .dims = {1, 6, 6});
    fv_conv2d(src, FV_LAST, .filters = 2, .kernel = 3, .activation = FV_ACT_RELU,
              .name = "conv1");
    fv_batchnorm(src, FV_LAST, .name = "bn1");
    fv_flatten(src, FV_LAST);
    fv_dense(src, FV_LAST, .units = 8, .activation = FV_ACT_RELU, .name = "fc1");
    fv_dense(src, FV_LAST, .units = units, .name = head);
    fv_model_compile(src, .seed = 99);
    for (int64_t i = 0; i < src->param_total; i++)
        src->data_slab[i] = 0.5f + 0.001f * (float)i; /* running stats too */
    CHECK_STATUS(fv_model_save_weights(src, path), FV_OK);
    fv_model_free(src);
}

TEST(partial_load_reports_loaded_new_unused)
{
    const char *w = t_path("other_head.safetensors");
    save_source(w, "old_head", 10);
    fv_model *m = small("head", 4, 1);
    float head_before[32];
    memcpy(head_before, pdata(m, "head.weight"), sizeof head_before);
    fv_load_report r;
    char *text = NULL;
    size_t len = 0;
    FILE *log = open_memstream(&text, &len);
    CHECK_STATUS(fv_model_load_weights_partial(m, w, .report = &r, .log = log), FV_OK);
    fclose(log);
    /* conv1 w, b; bn1 gamma, beta, running mean, var; fc1 w, b: 8 loaded; head w, b new */
    CHECK(r.loaded == 8 && r.fresh == 2 && r.skipped == 0 && r.unused == 2);
    CHECK(r.loaded_values == 18 + 2 + 8 + 32 * 8 + 8);
    CHECK(pdata(m, "conv1.weight")[0] == 0.5f);
    CHECK(memcmp(head_before, pdata(m, "head.weight"), sizeof head_before) == 0); /* kept */
    CHECK(text && strstr(text, "8 of 10 parameter tensors loaded"));
    CHECK(text && strstr(text, "new, kept at their initial values (2): head.weight, head.bias"));
    CHECK(text && strstr(text, "unused tensors of the file (2): old_head.weight, old_head.bias"));
    free(text);
    /* layers left out by name or pattern keep their values and count as new */
    fv_model *e = small("head", 4, 1);
    float fc1_before = pdata(e, "fc1.weight")[0];
    CHECK_STATUS(fv_model_load_weights_partial(e, w, .exclude = "fc1,bn*", .report = &r), FV_OK);
    CHECK(r.loaded == 2 && r.fresh == 8 && pdata(e, "fc1.weight")[0] == fc1_before);
    CHECK(pdata(e, "conv1.weight")[0] == 0.5f);
    CHECK(fv_model_head(e) == fv_model_find_node(e, "head"));
    fv_model_free(e);
    fv_model_free(m);
}

TEST(a_checkpoint_is_a_starting_point_too)
{
    fv_model *src = small("head", 4, 1);
    for (int64_t i = 0; i < src->param_total; i++)
        src->data_slab[i] = 0.25f;
    fv_epoch_metrics hist[1] = {{0}};
    fv_train_state t = {.history = hist};
    const char *c = t_path("last.safetensors");
    CHECK_STATUS(fv_checkpoint_write(src, c, &t), FV_OK);
    fv_model *m = small("head", 4, 1);
    fv_load_report r;
    CHECK_STATUS(fv_model_load_weights_partial(m, c, .report = &r), FV_OK);
    /* its "__" training state is neither a parameter nor counted as unused */
    CHECK(r.loaded == 10 && r.fresh == 0 && r.unused == 0);
    CHECK(pdata(m, "head.bias")[3] == 0.25f);
    fv_model_free(src), fv_model_free(m);
}

TEST(shape_mismatch_is_an_error_unless_skipped)
{
    const char *w = t_path("ten.safetensors");
    save_source(w, "head", 10);
    fv_model *m = small("head", 4, 1);
    float *before = malloc(sizeof(float) * (size_t)m->param_total);
    memcpy(before, m->data_slab, sizeof(float) * (size_t)m->param_total);
    CHECK(fv_model_load_weights_partial(m, w) == FV_ERR_SHAPE);
    CHECK_ERR_HAS("tensor 'head.weight' has shape (10, 8), the model expects (4, 8)");
    CHECK_ERR_HAS("skip mismatched");
    CHECK(!strchr(fv_last_error(), '\n'));
    CHECK(memcmp(before, m->data_slab, sizeof(float) * (size_t)m->param_total) == 0);
    fv_load_report r;
    CHECK_STATUS(fv_model_load_weights_partial(m, w, .skip_mismatched = 1, .report = &r), FV_OK);
    CHECK(r.loaded == 8 && r.skipped == 2 && r.fresh == 0 && r.unused == 0);
    CHECK(pdata(m, "fc1.bias")[0] != before[param(m, "fc1.bias")->offset]);
    CHECK(memcmp(pdata(m, "head.weight"), before + param(m, "head.weight")->offset,
                 sizeof(float) * 32) == 0);
    /* the strict loader still wants every tensor of the right shape */
    CHECK(fv_model_load_weights(m, w) == FV_ERR_SHAPE);
    free(before);
    fv_model_free(m);
}

TEST(another_architecture_is_an_error)
{
    const char *w = t_path("other.safetensors");
    fv_model *o = fv_model_new("other");
    fv_input(o, .ndim = 1, .dims = {5});
    fv_dense(o, FV_LAST, .units = 3, .name = "features.0");
    fv_model_compile(o);
    CHECK_STATUS(fv_model_save_weights(o, w), FV_OK);
    fv_model_free(o);
    fv_model *m = small("head", 4, 1);
    CHECK(fv_model_load_weights_partial(m, w, .skip_mismatched = 1) == FV_ERR_FORMAT);
    CHECK_ERR_HAS("no parameter of model 'small' fits the file (10 of its 10 are not in it, 0 "
                  "have another shape): weights of another architecture?");
    /* the same names with other shapes: the first is named */
    const char *v = t_path("wide.safetensors");
    fv_model *wide = fv_model_new("wide");
    fv_input(wide, .ndim = 3, .dims = {1, 6, 6});
    fv_conv2d(wide, FV_LAST, .filters = 3, .kernel = 3, .name = "conv1");
    fv_model_compile(wide);
    CHECK_STATUS(fv_model_save_weights(wide, v), FV_OK);
    fv_model_free(wide);
    CHECK(fv_model_load_weights_partial(m, v) == FV_ERR_FORMAT);
    CHECK_ERR_HAS("(8 of its 10 are not in it, 2 have another shape; ");
    CHECK_ERR_HAS("tensor 'conv1.weight' has shape (3, 1, 3, 3), the model expects (2, 1, 3, 3)");
    fv_model_free(m);
}

TEST(a_layer_name_is_the_layer_not_its_activation)
{
    fv_model *m = small("head", 4, 1);
    int fc1 = fv_model_find_node(m, "fc1");
    CHECK(fc1 > 0 && m->nodes[fc1].op == FV_OP_DENSE);
    CHECK(fv_model_find_output(m, "fc1") == fc1 + 1 && m->nodes[fc1 + 1].op == FV_OP_RELU);
    CHECK(fv_model_find_output(m, "head") == fv_model_find_node(m, "head"));
    /* freeze everything but fc1 and the head, node by node, as a user would by listing names:
     * the folded ReLU of fc1 has a name of its own, and freezing it must not freeze fc1 */
    for (int i = 0; i < fv_model_num_nodes(m); i++) {
        const char *n = fv_node_name(m, i);
        if (strcmp(n, "fc1") != 0 && strcmp(n, "head") != 0)
            CHECK_STATUS(fv_model_set_trainable(m, n, 0), FV_OK);
    }
    CHECK(!m->nodes[fc1].frozen && !m->nodes[fv_model_find_node(m, "head")].frozen);
    CHECK(m->nodes[fv_model_find_node(m, "conv1")].frozen);
    int64_t total, tr, nt;
    fv_model_count_params(m, &total, &tr, &nt);
    CHECK(tr == 32 * 8 + 8 + 8 * 4 + 4);
    fv_model_free(m);
}

TEST(freeze_by_list_pattern_and_up_to)
{
    fv_model *m = small("head", 4, 1);
    int conv = fv_model_find_node(m, "conv1"), bn = fv_model_find_node(m, "bn1");
    int fc1 = fv_model_find_node(m, "fc1"), head = fv_model_find_node(m, "head");
    CHECK_STATUS(fv_model_set_trainable_match(m, "conv1, bn1", 0), FV_OK);
    CHECK(m->nodes[conv].frozen && m->nodes[bn].frozen && !m->nodes[fc1].frozen);
    CHECK_STATUS(fv_model_set_trainable_match(m, "*", 1), FV_OK); /* unfreeze all */
    CHECK(!m->nodes[conv].frozen && !m->nodes[bn].frozen);
    CHECK_STATUS(fv_model_set_trainable_match(m, "[cb]*", 0), FV_OK);
    CHECK(m->nodes[conv].frozen && m->nodes[bn].frozen && !m->nodes[fc1].frozen &&
          !m->nodes[head].frozen);
    fv_model_set_trainable_match(m, "*", 1);
    /* a list with a name that matches nothing changes nothing */
    CHECK(fv_model_set_trainable_match(m, "conv1,conv9", 0) == FV_ERR_INVALID);
    CHECK_ERR_HAS("no layer 'conv9' (layers with parameters: conv1, bn1, fc1, head)");
    CHECK(!m->nodes[conv].frozen);
    CHECK(fv_model_set_trainable_match(m, "x*", 0) == FV_ERR_INVALID);
    CHECK_ERR_HAS("no layer 'x*'");
    CHECK_STATUS(fv_model_set_trainable_upto(m, "fc1", 0), FV_OK);
    CHECK(m->nodes[conv].frozen && m->nodes[bn].frozen && m->nodes[fc1].frozen &&
          !m->nodes[head].frozen);
    CHECK(fv_model_set_trainable_upto(m, "nope", 0) == FV_ERR_INVALID);
    CHECK_ERR_HAS("no layer 'nope'");
    CHECK_STATUS(fv_model_set_trainable_upto(m, "head", 1), FV_OK);
    CHECK(!m->nodes[conv].frozen && !m->nodes[head].frozen);
    fv_model_free(m);
}

/* A batch of 4 images and labels, as a data set too. */
static float bx[4 * 36], by[4] = {0, 1, 2, 3};
static const float *fill_batch(void)
{
    for (int i = 0; i < 4 * 36; i++)
        bx[i] = (float)((i * 37) % 11) / 5.0f - 1.0f;
    return bx;
}

static fv_dataset *batch_set(void)
{
    fill_batch();
    fv_dataset *d = calloc(1, sizeof *d);
    d->x = fv_tensor_new4(4, 1, 6, 6);
    d->y = fv_tensor_new(1, (int64_t[]){4});
    memcpy(d->x->data, bx, sizeof bx);
    memcpy(d->y->data, by, sizeof by);
    d->num_classes = 4;
    return d;
}

/* The loss of one training step (before its update) against the evaluation loss. */
static void train_vs_eval(int freeze_bn, double *train_loss, double *eval_loss, int *moved)
{
    fv_model *m = small("head", 4, 1);
    float *rm = m->data_slab + param(m, "bn1.running_mean")->offset;
    float *rv = m->data_slab + param(m, "bn1.running_var")->offset;
    rm[0] = 0.3f, rm[1] = -0.2f, rv[0] = 2.0f, rv[1] = 0.5f; /* far from any batch's */
    CHECK_STATUS(fv_model_set_trainable_match(m, "conv1,bn1", 0), FV_OK);
    if (!freeze_bn)
        fv_model_set_trainable(m, "bn1", 1);
    fv_dataset *d = batch_set();
    CHECK_STATUS(fv_model_evaluate(m, d, 4, eval_loss, NULL), FV_OK);
    CHECK_STATUS(fv_model_train_batch(m, bx, by, 4, train_loss, NULL), FV_OK);
    *moved = rm[0] != 0.3f || rv[1] != 0.5f;
    fv_dataset_free(d);
    fv_model_free(m);
}

TEST(frozen_batch_norm_stays_in_inference_mode)
{
    double tl, el;
    int moved;
    train_vs_eval(1, &tl, &el, &moved);
    CHECK_NEAR(tl, el, 1e-6, 1e-6); /* training used the running statistics */
    CHECK(!moved);
    train_vs_eval(0, &tl, &el, &moved); /* the control: a trainable one uses the batch's */
    CHECK(fabs(tl - el) > 1e-3 && moved);
}

TEST(frozen_layers_take_no_gradient)
{
    fv_model *m = small("head", 4, 1);
    CHECK_STATUS(fv_model_set_trainable_upto(m, "bn1", 0), FV_OK);
    CHECK_STATUS(fv_model_train_batch(m, fill_batch(), by, 4, NULL, NULL), FV_OK);
    const fv_param *cw = param(m, "conv1.weight"), *fw = param(m, "fc1.weight");
    int conv_grad = 0, fc_grad = 0;
    for (int64_t i = 0; i < cw->numel; i++)
        conv_grad |= m->grad_slab[cw->offset + i] != 0;
    for (int64_t i = 0; i < fw->numel; i++)
        fc_grad |= m->grad_slab[fw->offset + i] != 0;
    CHECK(!conv_grad && fc_grad);
    fv_model_free(m);
}

TEST(replace_head_on_a_compiled_model)
{
    fv_model *m = small("head", 4, 1);
    CHECK_STATUS(fv_model_train_batch(m, fill_batch(), by, 4, NULL, NULL), FV_OK);
    CHECK_STATUS(fv_model_set_trainable(m, "head", 0), FV_OK);
    int64_t n = m->param_total;
    float *before = malloc(sizeof(float) * (size_t)n);
    memcpy(before, m->data_slab, sizeof(float) * (size_t)n);
    int64_t fc1_at = param(m, "fc1.weight")->offset, conv_at = param(m, "conv1.weight")->offset;
    CHECK_STATUS(fv_model_replace_head(m, 3), FV_OK);
    const fv_param *hw = param(m, "head.weight"), *hb = param(m, "head.bias");
    CHECK(hw && hw->dims[0] == 3 && hw->dims[1] == 8 && hb->numel == 3);
    CHECK(m->param_total == n - 9);
    CHECK(memcmp(pdata(m, "fc1.weight"), before + fc1_at, sizeof(float) * 256) == 0);
    CHECK(memcmp(pdata(m, "conv1.weight"), before + conv_at, sizeof(float) * 18) == 0);
    CHECK(pdata(m, "head.bias")[0] == 0 && pdata(m, "head.weight")[0] != 0); /* fresh */
    CHECK(!m->nodes[fv_model_find_node(m, "head")].frozen); /* a new head trains */
    int64_t d[4];
    CHECK(fv_node_shape(m, m->output_node, d) == 1 && d[0] == 3);
    float y3[4] = {0, 1, 2, 1};
    double loss = 0;
    CHECK_STATUS(fv_model_train_batch(m, bx, y3, 4, &loss, NULL), FV_OK);
    CHECK(isfinite(loss));
    CHECK_STATUS(fv_model_save_weights(m, t_path("h3.safetensors")), FV_OK);
    fv_model *u = small("head", 9, 0); /* uncompiled: the layers only */
    CHECK_STATUS(fv_model_replace_head(u, 3), FV_OK);
    CHECK_STATUS(fv_model_compile(u, .loss = FV_LOSS_SOFTMAX_CE), FV_OK);
    CHECK_STATUS(fv_model_load_weights(u, t_path("h3.safetensors")), FV_OK);
    free(before);
    fv_model_free(u);
    fv_model_free(m);
}

TEST(replace_head_errors)
{
    fv_model *m = fv_model_new("conv_out");
    fv_input(m, .ndim = 3, .dims = {1, 4, 4});
    fv_conv2d(m, FV_LAST, .filters = 2, .kernel = 3, .name = "c");
    CHECK(fv_model_replace_head(m, 3) == FV_ERR_INVALID);
    CHECK_ERR_HAS("does not come from a dense layer (it comes from 'c')");
    fv_model_free(m);
    m = fv_model_new("side");
    int x = fv_input(m, .ndim = 1, .dims = {5});
    int h = fv_dense(m, x, .units = 4, .name = "h");
    fv_dense(m, h, .units = 2, .name = "aux");
    fv_relu(m, h, .name = "out");
    CHECK(fv_model_replace_head(m, 3) == FV_ERR_INVALID);
    CHECK_ERR_HAS("layer 'aux' reads 'h'");
    fv_model_free(m);
    m = small("head", 4, 1);
    CHECK(fv_model_replace_head(m, 0) == FV_ERR_INVALID);
    fv_model_free(m);
}

TEST(every_zoo_network_without_top)
{
    for (int i = 0; fv_zoo_name(i); i++) {
        const char *name = fv_zoo_name(i);
        fv_model *top = fv_zoo(name), *feat = fv_zoo(name, .no_top = 1);
        CHECK(top && feat);
        if (!top || !feat) {
            fprintf(stderr, "%s: %s\n", name, fv_last_error());
            fv_model_free(top), fv_model_free(feat);
            continue;
        }
        const fv_node *last = &feat->nodes[feat->nnodes - 1];
        int dense = 0;
        for (int k = 0; k < feat->nnodes; k++)
            dense |= feat->nodes[k].op == FV_OP_DENSE;
        if (last->op != FV_OP_GLOBAL_AVGPOOL || last->ndim != 1 || dense)
            fprintf(stderr, "%s: ends in %s, %d dims, dense layers %d\n", name, last->name,
                    last->ndim, dense);
        CHECK(last->op == FV_OP_GLOBAL_AVGPOOL && last->ndim == 1 && !dense);
        /* every parameter of the features is the full network's, of the same shape */
        int same = feat->nparams < top->nparams;
        for (int k = 0; same && k < feat->nparams; k++) {
            const fv_param *p = &feat->params[k], *q = param(top, p->name);
            same = q && q->numel == p->numel && q->ndim == p->ndim;
        }
        if (!same)
            fprintf(stderr, "%s: the features' parameters are not the network's\n", name);
        CHECK(same);
        fv_model_free(top), fv_model_free(feat);
    }
}

TEST(samples_per_class)
{
    fv_dataset *d = calloc(1, sizeof *d);
    d->x = fv_tensor_new(2, (int64_t[]){30, 2});
    d->y = fv_tensor_new(1, (int64_t[]){30});
    d->num_classes = 3;
    for (int i = 0; i < 30; i++)
        d->x->data[2 * i] = (float)i, d->y->data[i] = (float)(i % 3); /* 10 of each */
    d->y->data[2] = 0; /* class 0: 11, class 2: 9 */
    fv_dataset *a = fv_dataset_take_per_class(d, 4, 1), *b = fv_dataset_take_per_class(d, 4, 1);
    fv_dataset *c = fv_dataset_take_per_class(d, 4, 2);
    CHECK(a && b && c && a->x->dims[0] == 12);
    int count[3] = {0}, ordered = 1, differ = 0;
    for (int i = 0; a && i < 12; i++) {
        int row = (int)a->x->data[2 * i];
        count[(int)a->y->data[i]]++;
        ordered &= i == 0 || row > (int)a->x->data[2 * i - 2];
        CHECK(a->y->data[i] == d->y->data[row]); /* labels follow their images */
        differ |= c && a->x->data[2 * i] != c->x->data[2 * i];
    }
    CHECK(count[0] == 4 && count[1] == 4 && count[2] == 4 && ordered);
    CHECK(b && memcmp(a->x->data, b->x->data, sizeof(float) * 24) == 0 && differ);
    CHECK(fv_dataset_take_per_class(d, 10, 1) == NULL); /* class 2 has 9 */
    CHECK_ERR_HAS("class 2 ('?') has 9 samples, fewer than the 10 per class asked for");
    fv_dataset_free(a), fv_dataset_free(b), fv_dataset_free(c), fv_dataset_free(d);
}

int main(void)
{
    static const t_test tests[] = {
        T_TEST(partial_load_reports_loaded_new_unused),
        T_TEST(a_checkpoint_is_a_starting_point_too),
        T_TEST(shape_mismatch_is_an_error_unless_skipped),
        T_TEST(another_architecture_is_an_error),
        T_TEST(a_layer_name_is_the_layer_not_its_activation),
        T_TEST(freeze_by_list_pattern_and_up_to),
        T_TEST(frozen_batch_norm_stays_in_inference_mode),
        T_TEST(frozen_layers_take_no_gradient),
        T_TEST(replace_head_on_a_compiled_model),
        T_TEST(replace_head_errors),
        T_TEST(every_zoo_network_without_top),
        T_TEST(samples_per_class),
    };
    return t_main_scratch("/tmp/fovea_transfer_XXXXXX", tests, sizeof tests / sizeof tests[0]);
}
