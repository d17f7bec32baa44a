"""torch_infer.py - PyTorch's side of the inference benchmark: images/s of torchvision's network
(random weights, eval mode, torch.no_grad) at 224x224 with 1000 classes, after warm-up.

    /usr/bin/python3 bench/torch_infer.py NETWORK BATCH THREADS PASSES

Prints "images_per_s <median of the timed passes>". PyTorch gets its best settings: an explicit
thread count, inference mode, contiguous NCHW input (run_infer.sh also pins OpenBLAS's threads).
"""
import statistics
import sys
import time

import torch
import torchvision.models as tvm


def main():
    name, batch, threads, passes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    kw = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    model = getattr(tvm, name)(**kw).eval()
    x = torch.rand(batch, 3, 224, 224) - 0.5
    times = []
    with torch.inference_mode():
        for p in range(passes + 2):
            t0 = time.perf_counter()
            model(x)
            if p >= 2:
                times.append(time.perf_counter() - t0)
    print("images_per_s %.2f" % (batch / statistics.median(times)))


if __name__ == "__main__":
    main()
