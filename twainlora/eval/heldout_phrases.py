"""What the held-out evaluation asks with that no training example uses: other weather tools'
schemas (function names, parameter names, descriptions), other system prompts and date
sentences, other ways to ask for a forecast, and requests that need no forecast at all.

Prompts only: no answer is written here. What a good reply does is derived from the tool
and the weather service (twainlora/eval/heldout.py), never from a hand-written reply. A test
checks that none of these names or templates occurs in the training phrase banks.
"""

from __future__ import annotations

# --- schemas of other weather tools ------------------------------------------------------

NOVEL_TOOL_NAMES = [
    "weather_forecast",
    "lookup_weather",
    "get_daily_forecast",
    "query_weather",
    "forecast_for_city",
    "weather_report",
    "getWeather",
    "check_weather",
]
NOVEL_LOCATION_KEYS = ["city_name", "where", "location_name", "town", "destination"]
NOVEL_DATE_KEYS = ["target_date", "when", "on_date", "day_iso", "for_date"]
NOVEL_TOOL_DESCRIPTIONS = [
    "Daily forecast service. Provide a city and an ISO date.",
    "Retrieves meteorological conditions (temperature, sky, wind, rain) for a town on a day.",
    "Weather API: returns the expected conditions for the given place and day.",
    "Use to find out what the weather will be like in a city on a specific date.",
    "Forecast lookup by city and calendar day (YYYY-MM-DD).",
]
NOVEL_LOCATION_DESCRIPTIONS = [
    "Town or city to forecast, e.g. 'Lyon' or 'Austin, Texas'",
    "Where the user wants the weather",
    "City, with country if ambiguous",
]
NOVEL_DATE_DESCRIPTIONS = [
    "Day to forecast, YYYY-MM-DD",
    "ISO-8601 calendar date of the forecast",
    "Forecast day as an ISO date string",
]
# Tools of other domains offered beside the weather tool; no held-out request needs them.
NOVEL_DISTRACTORS = [
    {
        "name": "send_email",
        "description": "Send an email to a recipient.",
        "parameters": {
            "type": "object",
            "properties": {
                "to": {"type": "string"},
                "subject": {"type": "string"},
                "body": {"type": "string"},
            },
            "required": ["to", "subject", "body"],
        },
    },
    {
        "name": "play_music",
        "description": "Play a song or a playlist on the user's speaker.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string", "description": "Song, artist or playlist"}},
            "required": ["query"],
        },
    },
    {
        "name": "get_stock_price",
        "description": "Latest trading price of a stock by ticker symbol.",
        "parameters": {
            "type": "object",
            "properties": {"ticker": {"type": "string"}},
            "required": ["ticker"],
        },
    },
]

# --- system prompts ----------------------------------------------------------------------
# {date_sentence} states today's date so that relative dates can be resolved.

NOVEL_SYSTEM_PROMPTS = {
    "twain": [
        "You are Mark Twain. {date_sentence}",
        "{date_sentence} Reply in the manner of Samuel Clemens, better known as Mark Twain.",
    ],
    "franklin": [
        "You are Benjamin Franklin. {date_sentence}",
        "{date_sentence} Respond as old Ben Franklin of Philadelphia would.",
    ],
    "neutral": [
        "You are a helpful assistant with access to tools. {date_sentence}",
        "{date_sentence}",
    ],
}
NOVEL_DATE_SENTENCES = [
    "Current date: {iso}.",
    "It is {weekday}, {day} {month} {year}.",
    "(today = {iso})",
]

# --- asking for a forecast ---------------------------------------------------------------

NOVEL_REQUESTS = [
    "Could you find out what the weather will do in {loc} {when}?",
    "I've got a picnic planned in {loc} {when}. Is the weather going to cooperate?",
    "Forecast check: {loc}, {when}.",
    "My flight lands in {loc} {when}. How warm will it be?",
    "What kind of sky should I expect over {loc} {when}?",
    "Is {loc} going to be sunny or rainy {when}?",
    "Thinking of a bike ride in {loc} {when}. How's the weather shaping up?",
    "Pull up the weather for {loc} {when}, would you?",
]
NOVEL_NO_PLACE_REQUESTS = [
    "Is it going to snow {when}?",
    "Should I bring sunglasses {when}?",
    "How windy will it get {when}?",
    "Check the forecast for {when}, please.",
]
NOVEL_NO_DATE_REQUESTS = [
    "Is it nice out in {loc}?",
    "How's the sky looking over {loc}?",
    "Any rain in {loc}?",
]
# Relative dates that no training example uses (resolved from the system prompt's date).
NOVEL_RELATIVE = [
    ("a week from today", 7),
    ("two days from now", 2),
    ("tomorrow evening", 1),
    ("later today", 0),
]

# --- requests that need no forecast --------------------------------------------------------
# {city}, {title}, {author} and {headline} come from the data; the rest is small talk.

UNRELATED_CITY = [
    "What country is {city} in?",
    "Suggest three things to do in {city}.",
    "What language do people speak in {city}?",
    "Tell me a little about the history of {city}.",
]
UNRELATED_BOOK = [
    "Who wrote {title}?",
    "Is {title} worth reading?",
    "What else did {author} write?",
]
UNRELATED_HEADLINE = [
    'Is this headline real or satire? "{headline}"',
    "Explain the joke in this headline: {headline}",
]
UNRELATED_WEATHER_WORDS = [
    "Write a two-line poem about {condition}.",
    'What does the expression "{idiom}" mean?',
    "How does {phenomenon} form, scientifically speaking?",
    "Why do people always talk about the weather?",
]
CONDITIONS = ["fog", "drizzle", "a thunderstorm", "fresh snow", "a clear night"]
IDIOMS = [
    "under the weather",
    "it never rains but it pours",
    "a storm in a teacup",
    "steal someone's thunder",
    "a fair-weather friend",
    "come rain or shine",
]
PHENOMENA = ["hail", "a rainbow", "dew", "a hurricane", "frost"]
UNRELATED_OTHER = [
    "What's 12 percent of 250?",
    "Give me a quick recipe for pancakes.",
    "How do I reverse a list in Python?",
    "Suggest a name for my new cat.",
    "What is the boiling point of water at sea level?",
    "Help me write a short thank-you note to a colleague.",
    "How many legs does a spider have?",
    "Good morning! How are you today?",
    "Thanks, that's all I needed.",
    "What's your favourite book?",
]

# --- style prompts -------------------------------------------------------------------------

PERSONA_NAMES = {"twain": "Mark Twain", "franklin": "Benjamin Franklin"}
# The persona asked for in each of twainlora.core.sft.STYLE_FRAMINGS: a plain system sentence
# of the user's own, or no system prompt and the request naming the persona.
PLAIN_SYSTEM = {
    "twain": ["You are Mark Twain.", "Talk like Mark Twain."],
    "franklin": ["You are Benjamin Franklin.", "Talk like Benjamin Franklin."],
}
IN_REQUEST = ["As {name}, {request}", "{request_cap} Answer as {name} would."]
EVERYDAY_REQUESTS = [
    "tell me how you feel about {topic}.",
    "give me your opinion of {topic}.",
    "what advice would you give someone about {topic}?",
    "describe {topic} in a few sentences.",
    "what is the trouble with {topic}?",
]
EVERYDAY_TOPICS = [
    "Mondays",
    "your neighbour's rooster",
    "politicians",
    "getting old",
    "learning a foreign language",
    "steamboats",
    "saving money",
    "doctors",
    "the daily newspaper",
    "cats",
    "family reunions",
    "honesty",
    "travelling by train",
    "public speaking",
    "gardening",
    "committees",
]
WEATHER_JOKE_REQUESTS = [
    "tell me a joke about the weather in {city}.",
    "say something funny about {season} weather.",
    "make a wisecrack about forecasters.",
]
SEASONS = ["winter", "summer", "spring", "autumn"]
