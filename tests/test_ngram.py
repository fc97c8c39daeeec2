"""The Kneser-Ney language model: probabilities that sum to 1, figures worked out by hand, the held-out choice."""
import math

import pytest
import torch

from rnnlib.ngram import END, START, NgramLM, choose, count
from rnnlib.text import Vocab

X = ["the", "house", "water", "and", "haus", "wasser", "und", "katze", "er", "a", "thee", "hand"]
Y = ["English"] * 4 + ["German"] * 4 + ["German", "English", "English", "German"]
VOCAB = Vocab("abcdehiklmnorstuwz")


@pytest.mark.parametrize("order, discount", [(1, 0.5), (2, 1.0), (3, 0.3), (5, 0.8)])
def test_the_next_symbol_has_probabilities_that_sum_to_one_after_any_context(order, discount):
    lm = NgramLM(VOCAB, ["English", "German"], order, discount).fit(X, Y)
    for language in ("English", "German"):
        for letters in ("", "t", "th", "the", "ha", "wass", "zzz", "kz", "o"):   # seen, unseen, never a start
            p = lm.next_distribution(language, letters)
            assert p.shape == (len(VOCAB) + 1,) and (p > 0).all()
            assert p.sum().item() == pytest.approx(1.0, abs=1e-12)


def test_bits_of_a_tiny_corpus_as_worked_out_by_hand():
    lm = NgramLM(Vocab("ab"), ["L"], order=2, discount=0.5).fit(["ab", "b"], ["L", "L"])
    # Counts after one symbol (the longest here: raw): ^ -> a 1, b 1; a -> b 1; b -> <end> 2.
    # With no context, continuation counts (how many different symbols came before): a 1, b 2, <end> 1;
    # their total is 4, 3 types. Below that, the uniform 1/3 over a, b, <end>.
    p_a = (0.5 + 0.5 * 2 * ((1 - 0.5) + 0.5 * 3 / 3) / 4) / 2           # P(a | ^) = 0.375
    p_b = (0.5 + 0.5 * 1 * ((2 - 0.5) + 0.5 * 3 / 3) / 4) / 1           # P(b | a) = 0.75
    p_end = (1.5 + 0.5 * 1 * ((1 - 0.5) + 0.5 * 3 / 3) / 4) / 2         # P(<end> | b) = 0.8125
    assert (p_a, p_b, p_end) == (0.375, 0.75, 0.8125)
    assert lm.log2_prob(["ab"], "L").item() == pytest.approx(math.log2(p_a * p_b * p_end), rel=1e-12)
    assert lm.bits_per_char(["ab"], ["L"]) == pytest.approx(-math.log2(p_a * p_b * p_end) / 3, rel=1e-12)


def test_counts_are_raw_at_the_top_and_at_the_start_and_continuation_below():
    tables = count(["ab", "b"], longest=3)
    raw, continuation = tables[1][START]                       # ^ has nothing before it: only raw counts
    assert dict(raw) == {"a": 1, "b": 1} and continuation is None
    raw, continuation = tables[1]["b"]
    assert dict(raw) == {END: 2} and dict(continuation) == {END: 2}      # after a b and after ^ b
    raw, continuation = tables[0][""]
    assert dict(raw) == {"a": 1, "b": 2, END: 2} and dict(continuation) == {"a": 1, "b": 2, END: 1}
    assert dict(tables[2][START + "a"][0]) == {"b": 1}


def test_a_letter_never_seen_in_training_keeps_some_probability():
    lm = NgramLM(VOCAB, ["English", "German"], 4, 0.7).fit(X, Y)        # no English word has a z
    assert lm.log2_prob(["zebra"], "English").item() > -200


def test_bayes_classification_and_priors():
    lm = NgramLM(VOCAB, ["English", "German"], 3, 0.8).fit(X * 3, Y * 3)
    assert lm.classify(["the", "wasser", "katze", "house"]) == ["English", "German", "German", "English"]
    assert lm.classify(["the"], priors={"English": 1e-30, "German": 1.0}) == ["German"]


def test_sampling_is_seeded_bounded_and_made_of_the_vocabulary():
    lm = NgramLM(VOCAB, ["English", "German"], 3, 0.8).fit(X, Y)
    first = lm.sample("German", n=20, seed=3, max_length=6)
    assert first == lm.sample("German", n=20, seed=3, max_length=6) != lm.sample("German", n=20, seed=4, max_length=6)
    assert all(set(w) <= set(VOCAB.chars) and len(w) <= 6 for w in first)


def test_choose_takes_the_best_held_out_figure_and_counts_every_training_word_again():
    words, languages = X * 4, Y * 4
    lm, tried = choose(words, languages, VOCAB, orders=[1, 2, 3], discounts=[0.4, 0.9])
    assert set(tried) == {(o, D) for o in (1, 2, 3) for D in (0.4, 0.9)}
    assert (lm.order, lm.discount) == min(tried, key=tried.get)
    again = NgramLM(VOCAB, ["English", "German"], lm.order, lm.discount).fit(words, languages)
    assert torch.equal(lm.log2_prob(X, "German"), again.log2_prob(X, "German"))


@pytest.mark.parametrize("kwargs, message", [
    (dict(order=0), "order must be a positive integer"), (dict(discount=0.0), "discount must be a number above 0"),
    (dict(discount=1.5), "at most 1"), (dict(discount="0.5"), "discount must be"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NgramLM(VOCAB, ["English"], **kwargs)


def test_bad_words_and_languages_are_refused():
    lm = NgramLM(VOCAB, ["English", "German"], 3, 0.8).fit(X, Y)
    with pytest.raises(ValueError, match="unknown labels"):
        lm.log2_prob(["the"], "Klingon")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        lm.log2_prob(["thé"], "English")
    with pytest.raises(ValueError, match="2 words but 1 languages"):
        lm.fit(["the", "and"], ["English"])
    with pytest.raises(ValueError, match="at most 10,000 words"):
        lm.sample("English", n=10**6)
