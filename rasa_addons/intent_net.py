"""The intent model behind ``rasa_addons.hybrid_classifier``, in plain numpy and scipy.

Two parts whose logits add up:

* a linear layer over the sparse features (tf-idf of word and character n-grams), which
  keeps every n-gram, as a logistic regression would;
* one hidden layer over the dense sentence embeddings (e5, MiniLM), standardised per
  dimension first. A linear model can only draw straight lines through a frozen encoder's
  space; one ReLU layer lets intents that share a region of it be told apart.

Trained jointly with mini-batch AdamW, dropout and label smoothing; the sparse layer gets
"lazy" Adam updates (only the n-grams a batch contains), which keeps a step cheap with a
vocabulary of tens of thousands. numpy only, because Rasa's environment has no torch and
the model is small enough that a framework would add more than it saves. Seeded, so the same
data gives the same model.

Label smoothing regularises well (MASSIVE zh-CN split, features computed outside Rasa:
0.842 without, 0.855 with) but leaves
the probabilities too flat for a confidence threshold such as FallbackClassifier's: 12% of
correct predictions fell under 0.45. ``fit`` therefore holds out a slice of the data first,
learns a temperature on it (the one value that minimises the held-out log loss), then trains
on everything and keeps that temperature: correct predictions under 0.45 fell to 4% (MASSIVE)
and 1% (BANKING77). Dividing logits by a constant never changes which intent wins.

``fit(..., members=k)`` trains k nets from consecutive seeds and averages their logits. Both
the sparse layer and the output layer are linear, so the average is itself one net with k
times the hidden units (``merge``): nothing else changes for storing or running it. The
temperature is learnt on an ensemble of the same size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np
import scipy.sparse

F32 = np.float32


@dataclass
class TrainSettings:
    hidden: int = 1024
    epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4  # on the hidden layer's weights (decoupled, AdamW)
    dropout: float = 0.3  # on the hidden units
    input_dropout: float = 0.1  # on the standardised embedding dimensions
    label_smoothing: float = 0.1
    seed: int = 0


@dataclass
class IntentNet:
    mean: np.ndarray  # (d,) dense standardisation
    scale: np.ndarray  # (d,)
    w1: np.ndarray  # (d, hidden)
    b1: np.ndarray  # (hidden,)
    w2: np.ndarray  # (hidden, classes)
    b2: np.ndarray  # (classes,)
    ws: np.ndarray  # (sparse width, classes)
    temperature: np.ndarray  # () the logits are divided by it; see module doc

    def logits(self, dense: np.ndarray, sparse: scipy.sparse.spmatrix) -> np.ndarray:
        hidden = np.maximum(self._standardise(dense) @ self.w1 + self.b1, 0.0)
        return hidden @ self.w2 + self.b2 + np.asarray(sparse @ self.ws)

    def probabilities(self, dense: np.ndarray, sparse: scipy.sparse.spmatrix) -> np.ndarray:
        return softmax(self.logits(dense, sparse) / float(self.temperature))

    def _standardise(self, dense: np.ndarray) -> np.ndarray:
        return ((np.asarray(dense, dtype=F32) - self.mean) / self.scale).astype(F32)

    def arrays(self) -> dict[str, np.ndarray]:
        return {f"net:{f.name}": getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_arrays(cls, data) -> IntentNet:  # type: ignore[no-untyped-def]
        return cls(**{f.name: np.asarray(data[f"net:{f.name}"]) for f in fields(cls)})


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class _Adam:
    """AdamW state for one parameter; ``rows`` restricts a step to some rows (lazy)."""

    def __init__(self, param: np.ndarray, weight_decay: float = 0.0) -> None:
        self.param, self.weight_decay = param, weight_decay
        self.m = np.zeros_like(param)
        self.v = np.zeros_like(param)

    def step(self, grad: np.ndarray, lr: float, t: int, rows: np.ndarray | None = None,
             b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> None:
        sel = slice(None) if rows is None else rows
        m = self.m[sel] * b1 + (1 - b1) * grad
        v = self.v[sel] * b2 + (1 - b2) * grad * grad
        self.m[sel], self.v[sel] = m, v
        update = (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        if self.weight_decay:
            update = update + self.weight_decay * self.param[sel]
        self.param[sel] -= (lr * update).astype(F32)


def _learning_rate(step: int, total: int, peak: float) -> float:
    """Warm up linearly over the first 30% of steps from peak/25, then cosine down to ~0."""
    warm = max(1, int(0.3 * total))
    if step < warm:
        return peak / 25 + (peak - peak / 25) * step / warm
    progress = (step - warm) / max(1, total - warm)
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


def train(dense: np.ndarray, sparse: scipy.sparse.spmatrix, labels: np.ndarray,
          n_classes: int, settings: TrainSettings | None = None) -> IntentNet:
    """Fit on ``dense`` (n, d) embeddings, ``sparse`` (n, v) scaled counts and integer
    ``labels`` (n,) in [0, n_classes)."""
    s = settings or TrainSettings()
    rng = np.random.default_rng(s.seed)
    dense = np.asarray(dense, dtype=F32)
    sparse = scipy.sparse.csr_matrix(sparse, dtype=F32)
    n, d = dense.shape
    mean = dense.mean(axis=0).astype(F32)
    std = dense.std(axis=0)
    # A dimension constant in training (an English-only encoder's zeros on an all-Chinese
    # set) carries nothing: scale inf maps it to 0 for good, so a message where it is not
    # constant cannot blow up through a 1e-6 scale, and it does not count as fan-in.
    constant = std < 1e-6
    scale = np.where(constant, np.inf, std + 1e-6).astype(F32)
    z = ((dense - mean) / scale).astype(F32)
    live = d - int(constant.sum())

    # PyTorch's nn.Linear initialisation: uniform within 1/sqrt(fan_in); a pipeline without
    # a dense featurizer has d = 0, and then the hidden layer only learns a constant
    def uniform(fan_in: int, shape: tuple[int, ...]) -> np.ndarray:
        bound = 1 / math.sqrt(max(1, fan_in))
        return rng.uniform(-bound, bound, shape).astype(F32)

    net = IntentNet(mean, scale, uniform(live, (d, s.hidden)), uniform(live, (s.hidden,)),
                    uniform(s.hidden, (s.hidden, n_classes)), uniform(s.hidden, (n_classes,)),
                    np.zeros((sparse.shape[1], n_classes), dtype=F32), np.array(1.0, dtype=F32))
    opt = {name: _Adam(getattr(net, name), s.weight_decay if name in ("w1", "w2") else 0.0)
           for name in ("w1", "b1", "w2", "b2", "ws")}
    target_off = s.label_smoothing / n_classes
    steps_per_epoch = math.ceil(n / s.batch_size)
    total, t = s.epochs * steps_per_epoch, 0
    for _ in range(s.epochs):
        order = rng.permutation(n)
        for start in range(0, n, s.batch_size):
            idx = order[start:start + s.batch_size]
            b = len(idx)
            x = z[idx]
            if s.input_dropout:
                # masks as float32: a bool mask divided by a Python float would be float64
                x = x * ((rng.random(x.shape, dtype=F32) >= s.input_dropout)
                         .astype(F32) / F32(1 - s.input_dropout))
            pre = x @ net.w1 + net.b1
            h = np.maximum(pre, 0.0)
            if s.dropout:
                keep = ((rng.random(h.shape, dtype=F32) >= s.dropout).astype(F32)
                        / F32(1 - s.dropout))
                h = h * keep
            sb = sparse[idx]
            probs = softmax(h @ net.w2 + net.b2 + np.asarray(sb @ net.ws))
            target = np.full((b, n_classes), target_off, dtype=F32)
            target[np.arange(b), labels[idx]] += 1.0 - s.label_smoothing
            dlogits = ((probs - target) / b).astype(F32)

            dh = dlogits @ net.w2.T
            if s.dropout:
                dh = dh * keep
            dpre = dh * (pre > 0).astype(F32)
            rows = np.unique(sb.indices)
            t += 1
            lr = _learning_rate(t - 1, total, s.learning_rate)
            opt["w2"].step(h.T @ dlogits, lr, t)
            opt["b2"].step(dlogits.sum(axis=0), lr, t)
            opt["w1"].step(x.T @ dpre, lr, t)
            opt["b1"].step(dpre.sum(axis=0), lr, t)
            if len(rows):
                opt["ws"].step(np.asarray(sb[:, rows].T @ dlogits), lr, t, rows=rows)
    return net


def ensemble(dense: np.ndarray, sparse: scipy.sparse.spmatrix, labels: np.ndarray,
             n_classes: int, settings: TrainSettings, members: int = 1) -> IntentNet:
    """``members`` nets trained with seeds seed, seed + 1, ... and merged into one."""
    return merge([train(dense, sparse, labels, n_classes, replace(settings, seed=settings.seed + i))
                  for i in range(members)])


def merge(nets: list[IntentNet]) -> IntentNet:
    """One net whose logits are the mean of the members' logits: their hidden layers side by
    side, each member's output weights divided by their number, and the sparse weights and
    output biases averaged (both enter the logits linearly). So an ensemble is stored, loaded
    and run exactly like a single, wider net."""
    first, k = nets[0], len(nets)
    if k == 1:
        return first
    return IntentNet(first.mean, first.scale,
                     np.hstack([n.w1 for n in nets]), np.concatenate([n.b1 for n in nets]),
                     np.vstack([n.w2 for n in nets]) / F32(k),
                     np.mean([n.b2 for n in nets], axis=0).astype(F32),
                     np.mean([n.ws for n in nets], axis=0).astype(F32), first.temperature)


def fit(dense: np.ndarray, sparse: scipy.sparse.spmatrix, labels: np.ndarray, n_classes: int,
        settings: TrainSettings | None = None, calibration_fraction: float = 0.1,
        members: int = 1) -> IntentNet:
    """``ensemble`` on everything, with a temperature learnt on a held-out slice first
    (module doc) by an ensemble of the same size. Without enough data to hold any out (fewer
    than 5 examples of every class), the temperature stays 1."""
    s = settings or TrainSettings()
    sparse = scipy.sparse.csr_matrix(sparse, dtype=F32)
    held = held_out(labels, calibration_fraction, s.seed)
    temperature = 1.0
    if len(held):
        keep = np.setdiff1d(np.arange(len(labels)), held)
        probe = ensemble(dense[keep], sparse[keep], labels[keep], n_classes, s, members)
        temperature = best_temperature(probe.logits(dense[held], sparse[held]), labels[held])
    net = ensemble(dense, sparse, labels, n_classes, s, members)
    net.temperature = np.array(temperature, dtype=F32)
    return net


def held_out(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Per class, round(n * fraction) shuffled indices, from classes with 5 or more examples."""
    rng = np.random.default_rng(seed + 1)
    picked = []
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        if len(idx) >= 5 and fraction > 0:
            picked.append(rng.permutation(idx)[: max(1, round(len(idx) * fraction))])
    return np.sort(np.concatenate(picked)) if picked else np.array([], dtype=int)


def best_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature in [0.05, 3] (log grid) with the lowest log loss."""
    best, best_loss = 1.0, math.inf
    for t in np.exp(np.linspace(math.log(0.05), math.log(3.0), 121)):
        p = softmax(logits / t)[np.arange(len(labels)), labels]
        loss = float(-np.log(np.maximum(p, 1e-12)).mean())
        if loss < best_loss:
            best, best_loss = float(t), loss
    return best
