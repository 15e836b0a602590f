"""WordPiece tokenisation: the HF-compatible BERT scheme, with offsets into the original text."""

from __future__ import annotations

from openbook.models.tokenization import WordPiece


def test_lowercase_and_offsets_map_back(vocab):
    tok = WordPiece(vocab)
    text = "Café  Müller's   HOUSE, naïvely-built!"
    ids, offsets = tok.ids(text)
    assert len(ids) == len(offsets) > 5
    pieces = [text[s:e] for s, e in offsets]
    assert pieces[0] == "Café"
    assert "HOUSE" in pieces
    assert all(text[s:e].strip() == text[s:e] and e > s for s, e in offsets)


def test_special_tokens_and_padding(vocab):
    tok = WordPiece(vocab)
    batch = tok.encode(["one two", "one two three four five"], max_length=5)
    assert batch.input_ids.shape == (2, 5)
    assert batch.input_ids[0, 0] == tok.cls_id and batch.input_ids[0, 3] == tok.sep_id
    assert batch.input_ids[1, -1] == tok.sep_id  # truncated, still closed by [SEP]
    assert batch.attention_mask.tolist() == [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]


def test_pairs_mark_second_segment(vocab):
    tok = WordPiece(vocab)
    q, _ = tok.ids("who?")
    p, _ = tok.ids("nobody at all")
    batch = tok.encode_pairs([q], [p])
    n = len(q) + 2
    assert batch.token_type_ids[0, :n].sum() == 0
    assert batch.token_type_ids[0, n:].tolist() == [1] * (len(p) + 1)


def test_padded_length_rounds_up_to_a_multiple_of_8_within_the_limit():
    from openbook.models.tokenization import LENGTH_STEP, padded_length

    assert LENGTH_STEP == 8
    assert [padded_length(n, 384) for n in (1, 8, 9, 16, 17, 383, 384)] == [8, 8, 16, 16, 24, 384, 384]
    assert padded_length(30, 32) == 32 and padded_length(33, 32) == 32 and padded_length(5, 64, step=4) == 8
