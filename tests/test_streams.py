"""Keyed random draws: a fixed function of their key text, whatever path computes them."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from admarket.streams import keyed_prefix, keyed_uniform, keyed_uniform_text, keyed_uniforms


def _plain_draw(text: str) -> float:
    """The draw as first written: blake2b-64 of the text, read little-endian, centred."""
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "little") + 0.5) / 2.0**64


@pytest.mark.parametrize("text", ["", "0|3|seller-12|deal:17:price|345", "é|ü", "x" * 500])
def test_a_keyed_draw_is_the_plain_blake2b_formula_to_the_bit(text):
    assert keyed_uniform_text(text) == _plain_draw(text)


def test_keyed_draws_are_the_plain_formula_over_many_keys_and_stay_in_the_open_unit_interval():
    rng = np.random.default_rng(5)
    texts = [
        f"{int(a)}|{int(b)}|deal:{int(c)}:volume|{int(d)}"
        for a, b, c, d in rng.integers(0, 2**40, size=(5000, 4))
    ]
    draws = [keyed_uniform_text(t) for t in texts]
    assert draws == [_plain_draw(t) for t in texts]
    assert min(draws) > 0.0 and max(draws) < 1.0
    assert abs(float(np.mean(draws)) - 0.5) < 0.02  # uniform: 5,000 draws, sd of mean 0.004


def test_a_keyed_draw_depends_on_its_parts_alone():
    assert keyed_uniform(7, 3, "buyer-1", 12) == keyed_uniform_text(
        keyed_prefix(7, 3) + "buyer-1|12"
    )
    assert keyed_uniform(7, 3, "buyer-1", 12) != keyed_uniform(7, 3, "buyer-1", 13)


def test_vectorised_draws_are_in_the_open_unit_interval_and_keyed():
    a = keyed_uniforms(1, 6, np.arange(1000), 4)
    assert a.shape == (1000,) and a.min() > 0.0 and a.max() < 1.0
    np.testing.assert_array_equal(a, keyed_uniforms(1, 6, np.arange(1000), 4))
    assert not np.array_equal(a, keyed_uniforms(2, 6, np.arange(1000), 4))
