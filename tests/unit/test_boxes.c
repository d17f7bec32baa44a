/* test_boxes.c - box area and IoU on hand-computed cases (torchvision's conventions: continuous
 * coordinates, empty boxes have area 0, IoU 0 when the union is empty). */
#include "fovea.h"
#include "test.h"

TEST(area)
{
    CHECK(fv_box_area((fv_box){0, 0, 2, 3}) == 6.0);
    CHECK(fv_box_area((fv_box){1.5f, 1, 1.5f, 4}) == 0.0); /* zero width */
    CHECK(fv_box_area((fv_box){3, 0, 1, 2}) == 0.0);       /* inverted: empty */
}

TEST(iou)
{
    fv_box a = {0, 0, 2, 2}, b = {1, 1, 3, 3};
    CHECK(fabs(fv_box_iou(a, b) - 1.0 / 7.0) < 1e-12);     /* 1 / (4 + 4 - 1) */
    CHECK(fv_box_iou(a, a) == 1.0);
    CHECK(fv_box_iou(a, (fv_box){2, 0, 4, 2}) == 0.0);     /* touching edges */
    CHECK(fv_box_iou(a, (fv_box){0.5f, 0.5f, 1.5f, 1.5f}) == 0.25); /* contained */
    CHECK(fv_box_iou((fv_box){1, 1, 1, 1}, (fv_box){1, 1, 1, 1}) == 0.0); /* empty union */
    CHECK(fv_box_iou(a, b) == fv_box_iou(b, a));
}

int main(void)
{
    RUN(area);
    RUN(iou);
    TEST_MAIN_END();
}
