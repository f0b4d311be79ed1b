from twainlora.data.fasttext_classifier import FastTextClassifier, ft_text


def test_text_is_one_lowercased_line_of_words_and_punctuation():
    assert ft_text("Well,  I\nreckon—SO!") == "well , i reckon — so !"


def test_training_is_deterministic_and_probabilities_cover_every_label():
    examples = [("river", f"the steamboat on the river number {i}") for i in range(30)] + [
        ("money", f"a penny saved is a penny earned number {i}") for i in range(30)
    ]
    settings = {"epoch": 20, "lr": 0.5, "word_ngrams": 2, "dim": 10, "seed": 0}
    first = FastTextClassifier.train(examples, **settings)
    second = FastTextClassifier.train(examples, **settings)
    texts = ["The steamboat came up the river.", "Save your penny."]
    probs = first.probabilities(texts)
    assert probs == second.probabilities(texts)
    assert all(set(p) == {"river", "money"} and abs(sum(p.values()) - 1) < 1e-3 for p in probs)
    assert first.predict(texts) == ["river", "money"]
    assert first.probabilities([]) == []
