import pytest

from twainlora.data.filters import LanguageFilter, SafetyFilter, length_check, lid_model_path


@pytest.fixture(scope="module")
def language():
    return LanguageFilter(threshold=0.3)


def test_lid_model_ships_in_the_wheel():
    assert lid_model_path().name == "lid.176.ftz"


def test_language_keeps_english_including_title_case_and_drops_other_languages(language):
    kept, title, french = language.check_many(
        [
            "The river was wide and brown that morning, and the steamboat came around the bend.",
            "Cult Divided On Whether To Let Women Become Telepathic-Vision Clerics",
            "Le fleuve était large et brun ce matin-là, et le bateau arrivait au tournant.",
        ]
    )
    assert kept is None and title is None
    assert french[0] == "not_english" and french[1].startswith("fr:")


@pytest.fixture(scope="module")
def safety():
    return SafetyFilter(nsfw_threshold=0.98)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("write to bob.smith@example.com for tickets", ("pii", "email address")),
        ("call me at (555) 123-4567 tonight", ("pii", "phone number")),
        ("she lives at 12 Oak Lane, Springfield, IL 62704 now", ("pii", "street address")),
        ("meet at 1234 Elm Street, Apt 5B tonight", ("pii", "street address")),
        ("Investors remind him he can't fuck with them like the pussies in Congress", "nsfw"),
        ("I dropped in at 117 Wall Street to inquire about the ship", None),
        ("Yes, he did. But I, like a fool, never thought. Oh, this is bully, you know.", None),
        ("The weather that summer was the kind that makes a man believe in miracles", None),
    ],
)
def test_safety(safety, text, reason):
    result = safety.check_many([text])[0]
    if isinstance(reason, str):
        assert result[0] == reason
    else:
        assert result == reason


def test_slurs_match_on_word_boundaries(safety):
    assert safety.check_many(["they called him a Chinks slur"])[0] == ("slur", "chinks")
    assert safety.check_many(["the spice trade and chinking glasses"])[0] is None


def test_length_bounds():
    assert length_check(15, 16, 100) == ("too_short", "15 < 16 tokens")
    assert length_check(16, 16, 100) is None
    assert length_check(101, 16, 100) == ("too_long", "101 > 100 tokens")
