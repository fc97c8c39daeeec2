"""rnnlib.text: the normalisation rule, vocabularies, labels, and what they refuse."""
import math

import pytest
import torch

from rnnlib import text
from rnnlib.checks import quote
from rnnlib.text import MAX_WORD_LENGTH, Labels, Vocab, hint, normalize


@pytest.fixture
def vocab():
    return Vocab("acehktz")


def test_index_is_the_articles_vocabulary(vocab):
    assert vocab.index == {c: i for i, c in enumerate("acehktz")}
    assert len(vocab) == 7


def test_from_words_is_sorted_set_of_normalised_characters():
    assert Vocab.from_words(["cat", "Chat", "KATZE"]).chars == list("acehktz")
    assert Vocab.from_words(w for w in ["cat", "dog"]).chars == list("acdgot")   # any iterable of words


def test_encode_decode_round_trip(vocab):
    assert vocab.encode("cat") == [1, 0, 5]
    assert vocab.decode(vocab.encode("katze")) == "katze"
    assert vocab.decode(torch.tensor([1, 0, 5])) == "cat"


def test_normalisation_lower_case_and_nfc():
    decomposed = "cafe\u0301"  # 'e' + combining acute accent
    assert normalize(decomposed) == "caf\u00e9"
    assert normalize("KATZE") == "katze"
    assert normalize("Straße") == "strasse"  # case folding, as wordfreq's lists have it
    assert normalize("STRASSE") == normalize("straße")
    assert Vocab.from_words(["café"]).encode(decomposed) == Vocab.from_words(["café"]).encode("CAFÉ")


def test_unknown_character_error_names_it_and_the_vocabulary(vocab):
    with pytest.raises(ValueError, match=r"'x'.*acehktz"):
        vocab.encode("tax")


def test_unknown_skip_drops_characters(vocab):
    assert vocab.encode("tax", unknown="skip") == vocab.encode("ta")
    with pytest.raises(ValueError, match="no character of the vocabulary"):
        vocab.encode("xyq", unknown="skip")
    with pytest.raises(ValueError, match="allowed: error, skip"):
        vocab.encode("cat", unknown="ignore")


@pytest.mark.parametrize("bad", ["", None, 3, ["cat"]])
def test_bad_words_are_refused(vocab, bad):
    with pytest.raises((ValueError, TypeError), match="empty word|expected a word"):
        vocab.encode(bad)


@pytest.mark.parametrize("codes, shown", [([7], "7"), ([-1], "-1"), ([1.7], "1.7"), (["a"], "'a'"), ([True], "True"),
                                          ([math.nan], "nan"), ([torch.tensor(2.5)], "tensor")])
def test_decode_refuses_what_is_not_a_code_of_the_vocabulary(vocab, codes, shown):
    with pytest.raises(ValueError, match=f"a character code must be a whole number from 0 to 6, got {shown}"):
        vocab.decode(codes)


@pytest.mark.parametrize("codes, shown", [([-1], "-1"), ([3], "3"), ([1.5], "1.5"), (["0"], "'0'"),
                                          ([math.nan], "nan"), ([None], "None")])
def test_labels_decode_refuses_what_is_not_a_class_number(codes, shown):
    with pytest.raises(ValueError, match=f"a class number must be a whole number from 0 to 2, got {shown}"):
        Labels(["English", "French", "German"]).decode(codes)


def test_labels_decode_takes_ints_and_tensors():
    labels = Labels(["English", "French", "German"])
    assert labels.decode([2, 0]) == ["German", "English"]
    assert labels.decode(torch.tensor([1, 2])) == ["French", "German"]


def test_onehot_is_a_column(vocab):
    x = vocab.onehot("k")
    assert x.shape == (7, 1)
    assert x[:, 0].tolist() == [0, 0, 0, 0, 1, 0, 0]


def test_onehot_word_stacks_columns(vocab):
    X = vocab.onehot_word("cat")
    assert X.shape == (3, 7, 1)
    assert [int(X[k].argmax()) for k in range(3)] == vocab.encode("cat")
    assert torch.equal(X.sum(dim=(1, 2)), torch.ones(3))


def test_onehot_batch_pads_on_the_left(vocab):
    X = vocab.onehot_batch(["cat", "katze"])
    assert X.shape == (5, 7, 2)
    assert X[:2, :, 0].sum() == 0       # "cat" starts after two zero columns and ends at the last step
    assert vocab.decode(X[2:, :, 0].argmax(dim=1)) == "cat"
    assert vocab.decode(X[:, :, 1].argmax(dim=1)) == "katze"


def test_onehot_batch_refuses_a_string_and_an_empty_list(vocab):
    with pytest.raises(TypeError, match="expected a list of words, got str"):
        vocab.onehot_batch("cat")
    with pytest.raises(ValueError, match="expected a list of words, got an empty one"):
        vocab.onehot_batch([])


@pytest.mark.parametrize("chars, message", [
    ("aa", "at least one character, each once"), ("", "at least one character, each once"),
    (["ab"], "single characters, got 'ab'"), ([3], "single characters, got 3"),
    ("ABC", "'A' can never occur in a normalised word"), ("a\t", r"'\\t' can never occur"),
    ("ß", "'ß' can never occur"), ("\u202e", r"'\\u202e' can never occur"),
])
def test_a_vocabulary_holds_only_characters_a_normalised_word_can_have(chars, message):
    with pytest.raises(ValueError, match=message):
        Vocab(chars)


def test_from_words_refuses_no_words_and_a_single_string():
    with pytest.raises(ValueError, match="empty one"):
        Vocab.from_words([])
    with pytest.raises(TypeError, match="expected a list of words, got str"):
        Vocab.from_words("cat")


def test_labels_encode_decode():
    labels = Labels(["English", "French", "German"])
    assert labels.encode(["German", "English"]).tolist() == [2, 0]
    assert labels.decode([1]) == ["French"]
    with pytest.raises(ValueError, match="unknown labels \\['Dutch'\\]"):
        labels.encode(["Dutch"])
    with pytest.raises(ValueError, match="at least 2 classes"):
        Labels(["English"])


def test_labels_refuse_a_string_where_a_list_belongs():
    with pytest.raises(TypeError, match="class names are non-empty strings"):
        Labels("abc")                                 # not the classes 'a', 'b', 'c'
    with pytest.raises(TypeError, match="expected a list of labels, got the string 'English'"):
        Labels(["English", "French"]).encode("English")
    with pytest.raises(ValueError, match="distinct"):
        Labels(["a", "a"])


def test_a_word_is_stripped_and_a_blank_one_refused():
    assert normalize("  Katze\t") == "katze"
    assert normalize("De la Cruz") == "de la cruz"  # inner spaces stay
    for blank in ["", " ", "\t\n "]:
        with pytest.raises(ValueError, match="empty word"):
            normalize(blank)


def test_a_long_word_is_refused_before_it_is_folded(monkeypatch):
    assert len(normalize("a" * MAX_WORD_LENGTH)) == MAX_WORD_LENGTH
    with pytest.raises(ValueError, match=r"\(1,001 characters\) is too long: a word has at most 1,000 characters"):
        normalize("a" * (MAX_WORD_LENGTH + 1))
    with pytest.raises(ValueError, match="too long"):      # 600 characters that fold into 1,200
        normalize("ß" * 600)
    monkeypatch.setattr(text, "fold", lambda s: pytest.fail("folded a 200,000-character word"))
    with pytest.raises(ValueError, match=r"\(200,000 characters\) is too long") as err:
        normalize("a" * 200_000)
    assert len(str(err.value)) < 200


def test_hints_group_the_refused_characters_by_kind():
    assert hint("ñ", "an") == "'ñ' is not in the vocabulary but 'n' is: write 'n'"
    assert hint("-'", "ab") == "'-', \"'\" separate words: give the parts one at a time"
    assert hint("7", "ab") == "'7' is a digit: the model knows only letters"
    assert hint("ж", "ab") == ""  # a letter of another alphabet: nothing to suggest
    assert len(hint("0123456789" * 10 + "-" * 5, "ab")) < 120   # a hint, not an inventory


def test_no_skip_suggestion_when_nothing_would_be_left(vocab):
    with pytest.raises(ValueError) as err:
        vocab.encode("123")
    assert "unknown='skip'" not in str(err.value)
    with pytest.raises(ValueError, match="or pass unknown='skip' to drop them"):
        vocab.encode("c4t")


@pytest.mark.parametrize("value, expected", [
    ("a\tb\n", r"'a\tb\n'"), ("\x1b[31m", r"'\x1b[31m'"), ("\u202eabc", r"'\u202eabc'"),
    ("x" * 50, "'" + "x" * 40 + "'... (50 characters)"), ([1] * 100, "[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, "
                                                                     "... (300 characters)"),
    (10**5000, "an integer of about 5,000 digits"),
], ids=["tab", "ansi", "bidi", "long", "list", "huge-int"])
def test_quote_escapes_and_cuts(value, expected):
    assert quote(value) == expected


def test_messages_about_a_word_escape_it_and_stay_short(vocab):
    for word in ["a\nb", "\x1b[2J" * 100, "\u202ecat", "c" * 999 + "\x00"]:
        with pytest.raises(ValueError) as err:
            vocab.encode(word)
        message = str(err.value)
        assert message.isprintable() and len(message) < 400, message
