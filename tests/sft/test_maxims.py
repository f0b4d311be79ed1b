"""twainlora.sft.maxims: the two maxim patterns, found once for both stages that use them."""

from twainlora.sft.maxims import maxims, poor_richard_sayings

WAY_TO_WEALTH = (
    'Then "god helps them that help themselves," as Poor Richard says, and '
    '"Lost time is never found again!" as Poor Richard says.'
)


def test_poor_richard_sayings_are_capitalized_without_their_closing_mark():
    assert poor_richard_sayings(WAY_TO_WEALTH) == [
        "God helps them that help themselves",
        "Lost time is never found again",
    ]
    # The pattern ignores case; maxims() only looks where "Poor Richard" is spelled so.
    assert poor_richard_sayings(
        '"Drive thy business, let not that drive thee," as poor richard says'
    )
    assert (
        maxims({"text": '"Drive thy business, let not that drive thee," as poor richard says'})
        == []
    )


def test_maxims_end_with_a_period_and_find_the_calendar_epigraphs():
    assert maxims({"text": WAY_TO_WEALTH}) == [
        "God helps them that help themselves.",
        "Lost time is never found again.",
    ]
    text = "Tell the truth or trump--but get the trick.--Pudd'nhead Wilson's Calendar."
    assert maxims({"text": text}) == ["Tell the truth or trump--but get the trick."]
