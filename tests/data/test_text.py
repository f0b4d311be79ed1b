from twainlora.data.text import clean_headline, normalize, strip_html, unwrap


def test_normalize_fixes_mojibake_quotes_and_whitespace():
    assert (
        normalize("He said \u201chello\u201d\u00a0 to  me.\r\n\n\n\nNext")
        == 'He said "hello" to me.\n\nNext'
    )
    assert normalize("donâ€™t") == "don't"


def test_strip_html_decodes_entities_and_drops_tags():
    assert strip_html("<p>Rain &amp; <b>snow</b></p>").strip() == "Rain & snow"
    assert strip_html("no markup at all") == "no markup at all"


def test_clean_headline():
    assert clean_headline("[Satire] Man Wins (VIDEO) https://t.co/x | Some News Site") == "Man Wins"
    assert clean_headline("Area Man www.example.com Says Hi") == "Area Man Says Hi"


def test_unwrap_joins_lines_and_drops_italics_markup():
    assert (
        unwrap("I _never_ seen\n  anybody _but lied_ once.")
        == "I never seen anybody but lied once."
    )
    assert unwrap("snake_case stays") == "snake_case stays"
