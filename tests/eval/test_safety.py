from twainlora.eval import safety as ev


def test_toxicity():
    probs = ev.toxicity_probs(["A fine day for a steamboat ride.", "You are a fucking idiot."])
    assert probs[0] < 0.5 < probs[1]
    assert ev.toxicity_summary(probs, 0.5)["share_over_threshold"] == 0.5


def test_copied_ngrams():
    training = [
        "The river was wide and brown that morning, and the steamboat came around the bend."
    ]
    generated = [
        "Well, the river was wide and brown that morning, and so was I.",
        "Nothing here is copied from anything at all, I promise you that much.",
    ]
    wanted = {g for t in generated for g in ev.ngrams(t, 8)}
    copied = ev.copied_ngrams(wanted, training, 8)
    assert copied == {
        ("the", "river", "was", "wide", "and", "brown", "that", "morning"),
        ("river", "was", "wide", "and", "brown", "that", "morning", "and"),
    }
    summary = ev.copy_summary(generated, copied, 8)
    assert summary["ngrams_8"] == 6 + 6 and summary["copied_share"] == 0.1667
