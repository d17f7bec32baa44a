"""gen_rnn.py - PyTorch goldens for the recurrent layers, the embedding and the per-step loss.

Writes tests/data/golden/rnn_*.safetensors, read by tests/unit/test_ops_rnn.c (all float32,
computed in float64 from float32 inputs; tests/optest.h's layout: "x", "y", "dy", "dx", each
parameter by its fovea name and "grad.<name>"):
  rnn_<case>: one nn.RNN / nn.LSTM / nn.GRU (batch_first, one layer) named "rnn" over x (3, 5, 4)
      with 3 hidden units; the cases with initial states compute h0 (and c0) as dense layers
      "hinit" ("cinit") over x flattened, reshaped (N, D, H) -> (D, N, H) as PyTorch takes them;
      the output is every step's state (seq) or h_n with the directions concatenated (last);
  rnn_embed: an nn.Embedding "emb" (7 tokens, 4 values) of token indices x (3, 5) under an LSTM
      "rnn" (3 units, every step);
  tests/data/torch_pt/rnn_lstm_bi.pt: the state_dict (torch.save) of a module whose submodule
      "rnn" is rnn_lstm_bi_seq's LSTM, in float32: it loads by name;
  rnn_pack_<case>: rnn_<case> over sequences of lengths "len" (5, 2, 4) through
      pack_padded_sequence (enforce_sorted=False) and pad_packed_sequence: padded steps' outputs
      are zero, h_n is each sample's state at its last real step (the reverse direction's at 0);
  rnn_seqloss: per-step softmax cross-entropy of logits (3, 5, 6) against targets (3, 5) whose
      padding (-1) is ignored, mean over the real tokens: "x", "target", "loss", "dx".
Run with /usr/bin/python3 (torch 1.13):

    /usr/bin/python3 tests/golden/gen_rnn.py
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")
PT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "torch_pt")
N, T, FEAT, H = 3, 5, 4, 3

# name: (class, nonlinearity, bidirectional, sequences, initial states)
CASES = {
    "tanh_seq": (torch.nn.RNN, "tanh", False, True, 0),
    "relu_bi_last": (torch.nn.RNN, "relu", True, False, 0),
    "lstm_last": (torch.nn.LSTM, None, False, False, 0),
    "lstm_bi_seq": (torch.nn.LSTM, None, True, True, 0),
    "lstm_bi_state": (torch.nn.LSTM, None, True, True, 2),
    "gru_seq": (torch.nn.GRU, None, False, True, 0),
    "gru_bi_last_state": (torch.nn.GRU, None, True, False, 1),
}


def rand(g, *shape, lo=-1.0, hi=1.0):
    return torch.rand(*shape, generator=g) * (hi - lo) + lo


def save_case(name, x, xd, modules, y, dy):
    """modules: prefix -> module; every parameter saved with its gradient."""
    out = {"x": x, "y": y.detach().float(), "dy": dy, "dx": xd.grad.float()}
    for prefix, mod in modules.items():
        for pname, p in mod.named_parameters():
            out["%s.%s" % (prefix, pname)] = p.detach().float()
            out["grad.%s.%s" % (prefix, pname)] = p.grad.float()
    stio.save(os.path.join(OUT, "rnn_%s.safetensors" % name), out)


def make_rnn(cls, nonlin, bi, g):
    kw = {"nonlinearity": nonlin} if nonlin else {}
    rnn = cls(FEAT, H, batch_first=True, bidirectional=bi, **kw)
    with torch.no_grad():  # weights from g (float32 values), then the double copy
        for p in rnn.parameters():
            p.copy_(rand(g, *p.shape, lo=-0.8, hi=0.8))
    return rnn.double()


def rnn_case(name, cls, nonlin, bi, seq, states, g):
    d = 2 if bi else 1
    rnn = make_rnn(cls, nonlin, bi, g)
    x = rand(g, N, T, FEAT)
    xd = x.double().requires_grad_(True)
    modules = {"rnn": rnn}
    init = None
    if states:
        lins = []
        for k in range(states):
            lin = torch.nn.Linear(T * FEAT, d * H)
            with torch.no_grad():
                lin.weight.copy_(rand(g, *lin.weight.shape, lo=-0.3, hi=0.3))
                lin.bias.copy_(rand(g, *lin.bias.shape))
            lin = lin.double()
            modules["hinit" if k == 0 else "cinit"] = lin
            lins.append(lin(xd.flatten(1)).view(N, d, H).transpose(0, 1).contiguous())
        init = tuple(lins) if cls is torch.nn.LSTM else lins[0]
    out, hn = rnn(xd, init)
    if cls is torch.nn.LSTM:
        hn = hn[0]
    y = out if seq else hn.transpose(0, 1).reshape(N, d * H)
    dy = rand(g, *y.shape)
    y.backward(dy.double())
    save_case(name, x, xd, modules, y, dy)
    if name == "lstm_bi_seq":
        holder = torch.nn.Module()
        holder.rnn = rnn.float()
        torch.save(holder.state_dict(), os.path.join(PT, "rnn_lstm_bi.pt"))


PACK_CASES = ("tanh_seq", "relu_bi_last", "lstm_bi_seq", "lstm_last", "gru_seq",
              "gru_bi_last_state")
LENS = [5, 2, 4]


def pack_case(name, cls, nonlin, bi, seq, g):
    """Without initial states: the lengths' test runs the kernel alone."""
    d = 2 if bi else 1
    rnn = make_rnn(cls, nonlin, bi, g)
    x = rand(g, N, T, FEAT)
    xd = x.double().requires_grad_(True)
    lens = torch.tensor(LENS)
    packed = torch.nn.utils.rnn.pack_padded_sequence(xd, lens, batch_first=True,
                                                     enforce_sorted=False)
    out, hn = rnn(packed)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
    if cls is torch.nn.LSTM:
        hn = hn[0]
    y = out if seq else hn.transpose(0, 1).reshape(N, d * H)
    dy = rand(g, *y.shape)
    y.backward(dy.double())
    out = {"x": x, "len": lens.float(), "y": y.detach().float(), "dy": dy,
           "dx": xd.grad.float()}
    for pname, p in rnn.named_parameters():
        out["rnn." + pname] = p.detach().float()
        out["grad.rnn." + pname] = p.grad.float()
    stio.save(os.path.join(OUT, "rnn_pack_%s.safetensors" % name), out)


def embed_case(g):
    emb = torch.nn.Embedding(7, FEAT)
    with torch.no_grad():
        emb.weight.copy_(rand(g, 7, FEAT))
    emb = emb.double()
    rnn = make_rnn(torch.nn.LSTM, None, False, g)
    x = torch.randint(0, 7, (N, T), generator=g).float()
    xd = x.double().requires_grad_(True)
    y, _ = rnn(emb(x.long()))
    dy = rand(g, *y.shape)
    y.backward(dy.double())
    xd.grad = torch.zeros_like(xd)  # indices take no gradient
    save_case("embed", x, xd, {"emb": emb, "rnn": rnn}, y, dy)


def seqloss_case(g):
    x = rand(g, N, T, 6, lo=-2, hi=2)
    target = torch.randint(0, 6, (N, T), generator=g)
    target[0, 3:] = -1  # padding after a short sequence
    target[2, 1:] = -1
    xd = x.double().requires_grad_(True)
    loss = F.cross_entropy(xd.reshape(N * T, 6), target.reshape(-1), ignore_index=-1)
    loss.backward()
    stio.save(os.path.join(OUT, "rnn_seqloss.safetensors"),
              {"x": x, "target": target.float(), "loss": loss.detach().float().reshape(1),
               "dx": xd.grad.float()})


def main():
    g = torch.Generator().manual_seed(25)
    for name, (cls, nonlin, bi, seq, states) in CASES.items():
        rnn_case(name, cls, nonlin, bi, seq, states, g)
    embed_case(g)
    seqloss_case(g)
    for name in PACK_CASES:  # after the others, so their values stay as committed
        cls, nonlin, bi, seq, _ = CASES[name]
        pack_case(name, cls, nonlin, bi, seq, g)


if __name__ == "__main__":
    main()
