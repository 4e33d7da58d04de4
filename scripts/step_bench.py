#!/usr/bin/env python3
"""PyTorch's side of `gradguard bench step --vs-pytorch`: the bare training loop a Python user writes.

Needs the venv of scripts/pyenv.sh (torch; safetensors too, which transformer_check.py imports). Run by gradguard, which talks to it over standard input and output:

  step_bench.py WORKLOAD --threads N
      Builds WORKLOAD in PyTorch eager on the CPU with N intra-op threads and denormals flushed (as gradguard
      runs), prints {"ready": true, "torch": VERSION, "parameters": COUNT}, then for each line "run K" on
      standard input runs K steps and prints {"ms": [K step times in milliseconds], "cpu_ms": [the CPU time of the
      thread that ran each step, in milliseconds]}; "quit" ends it.

Workloads (the shapes of gradguard's StepBenchmark; time-major sequences as gradguard's models take them):
  default   GRU 6->32 read out at the last of T=100 steps by a linear head to 4 classes, batch 64, SGD lr 1.75
            momentum 0.9: the default job (temporal order).
  charlm    Embedding 96x32, LSTM 32->128, linear head to 96 characters at every step, windows of 64, batch 64,
            SGD lr 1.0 momentum 0.9.
  convnet   three blocks of conv 3x3, batch norm, ReLU, max-pool 2 (32, 64, 128 channels), average pool, linear
            head to 10 classes, batch 64 x 3x32x32, SGD lr 0.01 momentum 0.9.
  convnet-cl  the same with the batch laid out channels-last (torch.channels_last), the layout gradguard's conv
            net gives its activations: the two engines on equal terms.
  transformer  charlm's --model transformer with the task's defaults: the GPT of scripts/transformer_check.py
            (CharTransformer) over a vocabulary of 96, max length 64, width 64, 2 blocks of 4 heads, windows of 64,
            batch 32, AdamW lr 3e-3 (PyTorch's defaults otherwise: betas 0.9, 0.999, weight decay 0.01).
  A step is zero_grad(), forward, cross-entropy, backward, clip_grad_norm_(max_norm=1.0) with the norm read
  back (.item()), optimizer.step().

  gemm      Micro-benchmark: 64 recurrent-sized GEMMs, addmm([64, 512] + [64, 128] @ [128, 512]): what one LSTM 128
            layer multiplies per window of 64 steps in its forward pass.
  lstm      Micro-benchmark: the charlm LSTM alone, forward and backward over [64, 64, 32] inputs, no optimizer.
  lstm-native  The same with oneDNN off (torch.backends.mkldnn.flags(enabled=False)): ATen's own LSTM kernels,
            which gradguard's models use.
  embedding Micro-benchmark: the charlm embedding alone, forward and backward of 64 x 64 token ids.
  head      Micro-benchmark: the charlm head and loss, linear 128->96 over [64, 64, 128] states and cross-entropy,
            forward and backward.
"""
import argparse
import json
import sys
import time

import torch
from torch import nn

from transformer_check import CharTransformer


class GruClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(6, 32)
        self.head = nn.Linear(32, 4)

    def forward(self, x):
        states, _ = self.rnn(x)
        return self.head(states[-1])


class CharLstm(nn.Module):
    def __init__(self, vocabulary=96):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, 32)
        self.lstm = nn.LSTM(32, 128)
        self.head = nn.Linear(128, vocabulary)

    def forward(self, tokens):
        states, _ = self.lstm(self.embedding(tokens))
        return self.head(states)


class ConvNet(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        layers = []
        channels = [3, 32, 64, 128]
        for i in range(3):
            layers += [nn.Conv2d(channels[i], channels[i + 1], 3, padding=1), nn.BatchNorm2d(channels[i + 1]),
                       nn.ReLU(), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(128, classes)

    def forward(self, images):
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(self.features(images), 1), 1))


def token_cross_entropy(out, target):
    return nn.functional.cross_entropy(out.reshape(-1, out.size(2)), target.reshape(-1))


def training_step(model, batch, target, lr, loss_of, optimizer=None):
    """A training step of model on one fixed batch; the optimizer is SGD with momentum 0.9 unless given."""
    if optimizer is None:
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)

    def step():
        optimizer.zero_grad()
        loss = loss_of(model(batch), target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0).item()
        optimizer.step()

    return model, step


def workload(name):
    if name == "default":
        return training_step(GruClassifier(), torch.randn(100, 64, 6), torch.randint(4, (64,)), 1.75,
                             nn.functional.cross_entropy)
    if name == "charlm":
        return training_step(CharLstm(), torch.randint(96, (64, 64)), torch.randint(96, (64, 64)), 1.0,
                             token_cross_entropy)
    if name == "transformer":
        model = CharTransformer(96, 64, 64, 2, 4)
        return training_step(model, torch.randint(96, (64, 32)), torch.randint(96, (64, 32)), 3e-3,
                             token_cross_entropy, torch.optim.AdamW(model.parameters(), lr=3e-3))
    if name in ("convnet", "convnet-cl"):
        images = torch.randn(64, 3, 32, 32)
        if name == "convnet-cl":
            images = images.contiguous(memory_format=torch.channels_last)
        return training_step(ConvNet(), images, torch.randint(10, (64,)), 0.01, nn.functional.cross_entropy)
    if name == "gemm":
        bias, left, right = torch.randn(64, 512), torch.randn(64, 128), torch.randn(128, 512)

        def gemms():
            for _ in range(64):
                torch.addmm(bias, left, right)

        return nn.Module(), gemms
    if name == "lstm":
        lstm, x = nn.LSTM(32, 128), torch.randn(64, 64, 32)

        def forward_backward():
            lstm.zero_grad()
            lstm(x)[0].sum().backward()

        return lstm, forward_backward
    if name == "lstm-native":
        lstm, x = nn.LSTM(32, 128), torch.randn(64, 64, 32)

        def native_forward_backward():
            with torch.backends.mkldnn.flags(enabled=False):
                lstm.zero_grad()
                lstm(x)[0].sum().backward()

        return lstm, native_forward_backward
    if name == "embedding":
        embedding, tokens = nn.Embedding(96, 32), torch.randint(96, (64, 64))

        def embedding_forward_backward():
            embedding.zero_grad()
            embedding(tokens).sum().backward()

        return embedding, embedding_forward_backward
    if name == "head":
        head, states, target = nn.Linear(128, 96), torch.randn(64, 64, 128), torch.randint(96, (64, 64))

        def head_forward_backward():
            head.zero_grad()
            token_cross_entropy(head(states), target).backward()

        return head, head_forward_backward
    raise SystemExit(f"unknown workload {name!r} (allowed: default, charlm, transformer, convnet, convnet-cl, gemm, lstm, lstm-native, embedding, "
                     "head)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload")
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(0)
    model, step = workload(args.workload)
    print(json.dumps({"ready": True, "torch": torch.__version__,
                      "parameters": sum(p.numel() for p in model.parameters())}), flush=True)
    for line in sys.stdin:
        command = line.split()
        if command == ["quit"]:
            break
        if len(command) != 2 or command[0] != "run":
            raise SystemExit(f"unknown command {line.strip()!r} (allowed: run K, quit)")
        times, cpu_times = [], []
        for _ in range(int(command[1])):
            start, cpu_start = time.perf_counter(), time.thread_time()
            step()
            cpu_times.append((time.thread_time() - cpu_start) * 1e3)
            times.append((time.perf_counter() - start) * 1e3)
        print(json.dumps({"ms": times, "cpu_ms": cpu_times}), flush=True)


if __name__ == "__main__":
    main()
