"""darknet_ref.py - Darknet's own class probabilities for one image, at full precision, through
Debian's libdarknet.so (the library behind /usr/bin/darknet), doing what `darknet classifier
predict` does: load_network, set_batch_network(1), load_image_color, letterbox_image to the
network's size, network_predict. Prints "k p" per class (%.9g), as `fovea darknet probs` does.
usage: darknet_ref.py CFG WEIGHTS IMAGE WIDTH HEIGHT CLASSES"""
import ctypes
import sys


class Image(ctypes.Structure):
    _fields_ = [("w", ctypes.c_int), ("h", ctypes.c_int), ("c", ctypes.c_int),
                ("data", ctypes.POINTER(ctypes.c_float))]


def main():
    cfg, weights, image = (a.encode() for a in sys.argv[1:4])
    w, h, k = (int(a) for a in sys.argv[4:7])
    lib = ctypes.CDLL("/usr/lib/darknet/libdarknet.so")
    lib.load_network.restype = ctypes.c_void_p
    lib.load_network.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
    lib.set_batch_network.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.load_image_color.restype = Image
    lib.load_image_color.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
    lib.letterbox_image.restype = Image
    lib.letterbox_image.argtypes = [Image, ctypes.c_int, ctypes.c_int]
    lib.network_predict.restype = ctypes.POINTER(ctypes.c_float)
    lib.network_predict.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float)]
    net = lib.load_network(cfg, weights, 0)
    lib.set_batch_network(net, 1)
    im = lib.load_image_color(image, 0, 0)
    r = lib.letterbox_image(im, w, h)
    p = lib.network_predict(net, r.data)
    for i in range(k):
        print("%d %.9g" % (i, p[i]))


main()
