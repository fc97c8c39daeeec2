import pytest
import torch

from rnnlib.vocab import Labels, Vocab, normalize


@pytest.fixture
def vocab():
    return Vocab("acehktz")


def test_index_is_the_articles_vocabulary(vocab):
    assert vocab.index == {c: i for i, c in enumerate("acehktz")}
    assert len(vocab) == 7


def test_from_words_is_sorted_set_of_normalised_characters():
    assert Vocab.from_words(["cat", "Chat", "KATZE"]).chars == list("acehktz")


def test_encode_decode_round_trip(vocab):
    assert vocab.encode("cat") == [1, 0, 5]
    assert vocab.decode(vocab.encode("katze")) == "katze"


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


def test_decode_out_of_range(vocab):
    with pytest.raises(ValueError, match="outside the vocabulary's range 0..6"):
        vocab.decode([7])


def test_onehot_is_a_column(vocab):
    x = vocab.onehot("k")
    assert x.shape == (7, 1)
    assert x[:, 0].tolist() == [0, 0, 0, 0, 1, 0, 0]


def test_onehot_word_stacks_columns(vocab):
    X = vocab.onehot_word("cat")
    assert X.shape == (3, 7, 1)
    assert [int(X[t].argmax()) for t in range(3)] == vocab.encode("cat")
    assert torch.equal(X.sum(dim=(1, 2)), torch.ones(3))


def test_onehot_batch_pads_on_the_left(vocab):
    X = vocab.onehot_batch(["cat", "katze"])
    assert X.shape == (5, 7, 2)
    # "cat" starts after two zero columns, and ends at the last step like "katze"
    assert X[:2, :, 0].sum() == 0
    assert vocab.decode(X[2:, :, 0].argmax(dim=1)) == "cat"
    assert vocab.decode(X[:, :, 1].argmax(dim=1)) == "katze"


def test_onehot_batch_refuses_a_string_and_an_empty_list(vocab):
    for bad in ("cat", []):
        with pytest.raises(ValueError, match="non-empty list of words"):
            vocab.onehot_batch(bad)


def test_vocab_refuses_duplicates_and_multichar():
    with pytest.raises(ValueError, match="twice"):
        Vocab("aa")
    with pytest.raises(ValueError, match="single characters"):
        Vocab(["ab"])
    with pytest.raises(ValueError, match="no words"):
        Vocab.from_words([])


def test_labels_encode_decode():
    labels = Labels(["English", "French", "German"])
    assert labels.encode(["German", "English"]).tolist() == [2, 0]
    assert labels.decode([1]) == ["French"]
    with pytest.raises(ValueError, match="unknown labels \\['Dutch'\\]"):
        labels.encode(["Dutch"])
    with pytest.raises(ValueError, match="at least 2 classes"):
        Labels(["English"])


def test_a_word_is_stripped_and_a_blank_one_refused():
    assert normalize("  Katze\t") == "katze"
    assert normalize("De la Cruz") == "de la cruz"  # inner spaces stay
    for blank in ["", " ", "\t\n "]:
        with pytest.raises(ValueError, match="empty word"):
            normalize(blank)


def test_hints_group_the_refused_characters_by_kind():
    from rnnlib.vocab import hint

    assert hint("ñ", "an") == "'ñ' is not in the vocabulary but 'n' is: write 'n'"
    assert hint("-'", "ab") == "'-', \"'\" separate words: give the parts one at a time"
    assert hint("7", "ab") == "'7' is a digit: the model knows only letters"
    assert hint("ж", "ab") == ""  # a letter of another alphabet: nothing to suggest


def test_no_skip_suggestion_when_nothing_would_be_left(vocab):
    with pytest.raises(ValueError) as err:
        vocab.encode("123")
    assert "unknown='skip'" not in str(err.value)
    with pytest.raises(ValueError, match="or pass unknown='skip' to drop them"):
        vocab.encode("c4t")
