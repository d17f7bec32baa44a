/* test_graph.c - graph construction (shape checks name the layer and both shapes, names, FV_LAST),
 * reverse-mode autodiff over a DAG with a residual add and a channel concat (finite differences),
 * the planner's promise: no allocation inside a training step, and the first writers of
 * gradients, which overwrite them instead of zeroing and adding, against a plan that zeroes. */
#include "core/internal.h"
#include "graph/graph.h"
#include "test.h"

TEST(shape_mismatch_names_layer_and_shapes)
{
    fv_model *m = fv_model_new("t");
    CHECK(fv_conv2d(m, FV_LAST, .filters = 2, .kernel = 3) == -1);
    CHECK_ERR_HAS("no input");
    int x = fv_input(m, .ndim = 3, .dims = {3, 8, 8});
    int a = fv_conv2d(m, x, .filters = 4, .kernel = 3, .name = "left");
    int b = fv_conv2d(m, x, .filters = 4, .kernel = 3, .padding = 1, .name = "right");
    CHECK(a > 0 && b > 0);
    int ins[2] = {a, b};
    CHECK(fv_add(m, 2, ins, .name = "join") == -1);
    CHECK_ERR_HAS("join");
    CHECK_ERR_HAS("4, 6, 6)");
    CHECK_ERR_HAS("4, 8, 8)");
    CHECK(fv_model_num_nodes(m) == 3); /* the failed node was rolled back */
    CHECK(fv_conv2d(m, x, .filters = 1, .kernel = 3, .name = "left") == -1);
    CHECK_ERR_HAS("used twice");
    CHECK(fv_conv2d(m, 99, .filters = 1, .kernel = 3) == -1);
    CHECK_ERR_HAS("does not exist");
    CHECK(fv_conv2d(m, x, .filters = 0, .kernel = 3) == -1);
    CHECK_ERR_HAS("filters=0");
    int64_t n_before;
    fv_model_count_params(m, &n_before, NULL, NULL);
    CHECK(n_before == 2 * (4 * 3 * 9 + 4));
    fv_model_free(m);
}

TEST(auto_names_and_find)
{
    fv_model *m = fv_model_new("t");
    fv_input(m, .ndim = 1, .dims = {5});
    int d1 = fv_dense(m, FV_LAST, .units = 3, .activation = FV_ACT_RELU);
    int d2 = fv_dense(m, FV_LAST, .units = 2, .name = "head");
    CHECK(strcmp(fv_node_name(m, d1), "relu1") == 0);       /* the folded activation node */
    CHECK(fv_model_find_node(m, "dense1") == d1 - 1);      /* a layer name gives the layer */
    CHECK(fv_model_find_output(m, "dense1") == d1);        /* ... and its output, after relu */
    CHECK(fv_model_find_output(m, "head") == d2);
    CHECK(fv_model_find_node(m, "head") == d2);
    CHECK(fv_model_find_node(m, "nothing") == -1);
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_MSE, .optimizer = fv_sgd()), FV_OK);
    CHECK(fv_dense(m, FV_LAST, .units = 2) == -1);
    CHECK_ERR_HAS("after compile");
    fv_param_info pi;
    CHECK_STATUS(fv_model_param(m, 0, &pi), FV_OK);
    CHECK(strcmp(pi.name, "dense1.weight") == 0 && pi.dims[0] == 3 && pi.dims[1] == 5);
    fv_model_free(m);
}

/* x -> conv a -> relu ----------------+-> add -> concat(add, conv c) -> flatten -> dense -> MSE
 *   \-> conv b (same shape) ----------/          conv c reads x                                 */
static fv_model *dag(void)
{
    fv_model *m = fv_model_new("dag");
    int x = fv_input(m, .ndim = 3, .dims = {2, 5, 5});
    int a = fv_conv2d(m, x, .filters = 3, .kernel = 3, .padding = 1, .activation = FV_ACT_TANH);
    int b = fv_conv2d(m, x, .filters = 3, .kernel = 1);
    int s = fv_add(m, 2, ((int[]){a, b}));
    int c = fv_conv2d(m, x, .filters = 2, .kernel = 3, .padding = 1);
    int cat = fv_concat(m, 2, ((int[]){s, c}));
    fv_flatten(m, cat);
    fv_dense(m, FV_LAST, .units = 4, .activation = FV_ACT_SIGMOID);
    m->input_grad = 1;
    if (fv_model_compile(m, .loss = FV_LOSS_MSE, .optimizer = fv_sgd(), .seed = 7) != FV_OK) {
        fprintf(stderr, "%s\n", fv_last_error());
        fv_model_free(m);
        return NULL;
    }
    return m;
}

static double loss_at(fv_model *m, int n)
{
    fv_graph_forward(m, n, -1);
    return m->nodes[m->loss_node].y[0];
}

TEST(dag_gradients_match_finite_differences)
{
    fv_model *m = dag();
    CHECK(m != NULL);
    if (!m)
        return;
    int n = 2;
    CHECK_STATUS(fv_graph_plan(m, n), FV_OK);
    fv_node *in = &m->nodes[m->input_node], *t = &m->nodes[m->target_node];
    fv_rng r;
    fv_rng_seed(&r, 3);
    for (int64_t i = 0; i < n * in->size; i++)
        in->y[i] = (float)fv_rng_normal(&r);
    for (int64_t i = 0; i < n * t->size; i++)
        t->y[i] = (float)fv_rng_uniform(&r);
    loss_at(m, n);
    fv_graph_backward(m, n);
    /* input gradient, through all three paths */
    double worst = 0;
    for (int64_t i = 0; i < n * in->size; i += 3) {
        float keep = in->y[i];
        in->y[i] = keep + 1e-2f;
        double lp = loss_at(m, n);
        in->y[i] = keep - 1e-2f;
        double lm = loss_at(m, n);
        in->y[i] = keep;
        double num = (lp - lm) / 2e-2, ana = in->dy[i];
        double e = fabs(num - ana) / fmax(1e-4, fabs(num) + fabs(ana));
        worst = e > worst ? e : worst;
    }
    CHECK(worst < 2e-2);
    /* every parameter gradient (a sample of them) */
    worst = 0;
    for (int64_t i = 0; i < m->trainable_total; i += 5) {
        float keep = m->data_slab[i], ana = m->grad_slab[i];
        m->data_slab[i] = keep + 1e-2f;
        double lp = loss_at(m, n);
        m->data_slab[i] = keep - 1e-2f;
        double lm = loss_at(m, n);
        m->data_slab[i] = keep;
        double num = (lp - lm) / 2e-2;
        double e = fabs(num - ana) / fmax(1e-4, fabs(num) + fabs(ana));
        worst = e > worst ? e : worst;
    }
    CHECK(worst < 2e-2);
    fv_model_free(m);
}

/* in -> conv -> relu -> maxpool -> conv -> dropout -> reshape -> flatten -+-> add -> dense -> MSE
 *   \-> flatten -> dense -> relu -> dense ---------------------------------/
 * Each op is the first writer of its input's gradient, which it overwrites. */
static fv_model *writers(void)
{
    fv_model *m = fv_model_new("writers");
    int x = fv_input(m, .ndim = 3, .dims = {2, 6, 6});
    int h = fv_conv2d(m, x, .filters = 3, .kernel = 3, .padding = 1, .activation = FV_ACT_RELU);
    h = fv_maxpool2d(m, h, .size = 2);
    h = fv_dropout(m, fv_conv2d(m, h, .filters = 4, .kernel = 3, .padding = 1), .rate = 0.3f);
    h = fv_flatten(m, fv_reshape(m, h, .ndim = 2, .dims = {6, 6}));
    int d = fv_dense(m, fv_flatten(m, x), .units = 8, .activation = FV_ACT_RELU);
    int s = fv_add(m, 2, ((int[]){h, fv_dense(m, d, .units = 36)}));
    fv_dense(m, s, .units = 3);
    m->input_grad = 1;
    if (fv_model_compile(m, .loss = FV_LOSS_MSE, .optimizer = fv_sgd(), .seed = 5) != FV_OK) {
        fprintf(stderr, "%s\n", fv_last_error());
        fv_model_free(m);
        return NULL;
    }
    m->training = 1;
    return m;
}

/* The shared-buffer plan, whose first writers overwrite gradients left stale (NaN here), gives
 * the bits of the private plan, whose gradients all start at zero. */
TEST(first_writers_overwrite_stale_gradients)
{
    fv_model *ms = writers(), *mp = writers();
    CHECK(ms && mp);
    if (!ms || !mp) {
        fv_model_free(ms), fv_model_free(mp);
        return;
    }
    int n = 5;
    CHECK_STATUS(fv_graph_plan(ms, n), FV_OK);
    CHECK_STATUS(fv_graph_plan_ex(mp, n, 0), FV_OK);
    fv_model *both[2] = {ms, mp};
    for (int k = 0; k < 2; k++) {
        fv_model *m = both[k];
        fv_node *in = &m->nodes[m->input_node], *t = &m->nodes[m->target_node];
        for (int64_t i = 0; i < n * in->size; i++)
            in->y[i] = (float)((i * 7) % 13) / 6.0f - 1.0f;
        for (int64_t i = 0; i < n * t->size; i++)
            t->y[i] = (float)(i % 3);
        for (int j = 0; j < m->nnodes; j++)
            if (m->nodes[j].dy)
                for (int64_t i = 0; i < n * m->nodes[j].size; i++)
                    m->nodes[j].dy[i] = NAN;
        fv_graph_forward(m, n, -1);
        fv_graph_backward(m, n);
    }
    const fv_node *is = &ms->nodes[ms->input_node], *ip = &mp->nodes[mp->input_node];
    CHECK(memcmp(is->dy, ip->dy, sizeof(float) * (size_t)(n * is->size)) == 0);
    CHECK(memcmp(ms->grad_slab, mp->grad_slab, sizeof(float) * (size_t)ms->trainable_total) == 0);
    fv_model_free(ms), fv_model_free(mp);
}

static long allocations;
static void *counting_alloc(size_t size, void *ctx)
{
    (void)ctx;
    allocations++;
    return malloc(size);
}
static void counting_free(void *p, void *ctx)
{
    (void)ctx;
    free(p);
}

TEST(no_allocation_inside_a_training_step)
{
    fv_model *m = dag();
    CHECK(m != NULL);
    if (!m)
        return;
    float x[4 * 50], y[4 * 4];
    for (int i = 0; i < 200; i++)
        x[i] = (float)((i * 37) % 11) / 11.0f;
    for (int i = 0; i < 16; i++)
        y[i] = (float)(i % 2);
    CHECK_STATUS(fv_model_train_batch(m, x, y, 4, NULL, NULL), FV_OK); /* plans */
    fv_allocator al = {counting_alloc, counting_free, NULL};
    fv_set_allocator(&al);
    allocations = 0;
    for (int k = 0; k < 5; k++)
        CHECK_STATUS(fv_model_train_batch(m, x, y, k % 2 ? 4 : 3, NULL, NULL), FV_OK);
    fv_set_allocator(NULL);
    CHECK(allocations == 0);
    fv_model_free(m);
}

int main(void)
{
    RUN(shape_mismatch_names_layer_and_shapes);
    RUN(auto_names_and_find);
    RUN(dag_gradients_match_finite_differences);
    RUN(first_writers_overwrite_stale_gradients);
    RUN(no_allocation_inside_a_training_step);
    TEST_MAIN_END();
}
