"""The numpy intent model behind HybridIntentClassifier (rasa_addons/intent_net.py).

It is pure numpy + scipy, so it is tested here in the app environment; the Rasa layer
(tests/rasa) trains the real bot with it."""

from dataclasses import replace

import numpy as np
import scipy.sparse

from rasa_addons import intent_net


def _toy(seed: int = 0, n_per_class: int = 40):
    """Three intents. Dense: two of them share a region that only a non-linear boundary
    separates (an XOR of two coordinates); the sparse n-gram alone marks the third."""
    rng = np.random.default_rng(seed)
    dense, sparse_rows, labels = [], [], []
    for label in range(3):
        for _ in range(n_per_class):
            a, b = rng.choice([-1.0, 1.0], size=2)
            if label == 0:
                b = a  # same signs
            elif label == 1:
                b = -a  # opposite signs
            x = np.concatenate([[a, b], rng.normal(0, 0.3, 6)]) + rng.normal(0, 0.1, 8)
            dense.append(x / np.linalg.norm(x))
            row = np.zeros(5)
            row[4 if label == 2 else rng.integers(0, 4)] = 1.0
            sparse_rows.append(row)
            labels.append(label)
    return (np.array(dense, dtype=np.float32), scipy.sparse.csr_matrix(np.array(sparse_rows)),
            np.array(labels))


def test_learns_a_boundary_no_straight_line_draws():
    dense, sparse, labels = _toy()
    settings = intent_net.TrainSettings(hidden=64, epochs=60, batch_size=16, learning_rate=1e-2)
    net = intent_net.fit(dense, sparse, labels, 3, settings)  # a logistic regression gets ~0.6
    test_dense, test_sparse, test_labels = _toy(seed=1)
    probs = net.probabilities(test_dense, test_sparse)
    assert probs.shape == (120, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert (probs.argmax(axis=1) == test_labels).mean() >= 0.95


def test_same_data_and_seed_give_the_same_model_and_arrays_round_trip(tmp_path):
    dense, sparse, labels = _toy()
    settings = intent_net.TrainSettings(hidden=16, epochs=3, batch_size=16)
    first = intent_net.fit(dense, sparse, labels, 3, settings)
    second = intent_net.fit(dense, sparse, labels, 3, settings)
    np.testing.assert_array_equal(first.w1, second.w1)
    np.savez(tmp_path / "m.npz", **first.arrays())
    loaded = intent_net.IntentNet.from_arrays(np.load(tmp_path / "m.npz", allow_pickle=False))
    np.testing.assert_array_equal(loaded.probabilities(dense, sparse),
                                  first.probabilities(dense, sparse))


def test_temperature_sharpens_flat_probabilities_and_never_changes_the_winner():
    # held-out logits that are right but timid: the best temperature is below 1
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 400)
    logits = rng.normal(0, 0.2, (400, 4))
    logits[np.arange(400), labels] += 1.0
    t = intent_net.best_temperature(logits, labels)
    assert t < 1.0
    assert (intent_net.softmax(logits / t).argmax(1) == logits.argmax(1)).all()


def test_tiny_data_holds_nothing_out_and_keeps_temperature_one():
    dense, sparse, labels = _toy(n_per_class=4)
    assert len(intent_net.held_out(labels, 0.1, seed=0)) == 0
    net = intent_net.fit(dense, sparse, labels, 3, intent_net.TrainSettings(hidden=8, epochs=2))
    assert float(net.temperature) == 1.0


def test_held_out_slice_is_per_class_and_leaves_training_examples():
    labels = np.array([0] * 50 + [1] * 10 + [2] * 3)
    held = intent_net.held_out(labels, 0.1, seed=0)
    assert np.bincount(labels[held], minlength=3).tolist() == [5, 1, 0]


def test_a_pipeline_without_sentence_vectors_still_trains_on_the_n_grams():
    _, sparse, labels = _toy()
    no_dense = np.zeros((len(labels), 0), dtype=np.float32)
    net = intent_net.fit(no_dense, sparse, labels, 3,
                         intent_net.TrainSettings(hidden=8, epochs=20, batch_size=16,
                                                  learning_rate=1e-2))
    # the n-gram marks label 2 only; the other two are a coin toss without the vectors
    predicted = net.probabilities(no_dense, sparse).argmax(axis=1)
    assert (predicted[labels == 2] == 2).all()


def test_a_dimension_constant_in_training_is_ignored():
    # an English-only encoder's zero block on an all-Chinese training set
    dense, sparse, labels = _toy()
    dense = np.hstack([dense, np.zeros((len(dense), 3), dtype=np.float32)])
    settings = intent_net.TrainSettings(hidden=16, epochs=5, batch_size=16)
    net = intent_net.train(dense, sparse, labels, 3, settings)
    lit = dense.copy()
    lit[:, -3:] = 0.5  # the block is non-zero at run time (English text)
    assert np.allclose(net.logits(lit, sparse), net.logits(dense, sparse))
    assert np.isfinite(net.logits(lit, sparse)).all()


def test_an_ensemble_is_one_wider_net_whose_logits_are_the_members_mean():
    dense, sparse, labels = _toy()
    settings = intent_net.TrainSettings(hidden=16, epochs=3, batch_size=16)
    members = [intent_net.train(dense, sparse, labels, 3, replace(settings, seed=seed))
               for seed in (0, 1, 2)]
    merged = intent_net.ensemble(dense, sparse, labels, 3, settings, members=3)
    assert merged.w1.shape == (8, 48) and merged.w2.shape == (48, 3)
    np.testing.assert_allclose(merged.logits(dense, sparse),
                               np.mean([m.logits(dense, sparse) for m in members], axis=0),
                               rtol=1e-5, atol=1e-5)
    fitted = intent_net.fit(dense, sparse, labels, 3, settings, members=3)
    assert fitted.w1.shape == (8, 48) and float(fitted.temperature) != 1.0

