"""What the episodes say: schema wordings, distractor tools, user requests, made-up places,
service failures and the unrelated questions with an answer per persona.

Data only; twainlora.sft.episodes.builder draws from these lists with the episode's generator,
so the order of every list is part of the output.
"""

TOOL_NAMES = [
    "get_weather",
    "get_current_weather",
    "weather_lookup",
    "fetch_weather",
    "get_forecast",
]
TOOL_DESCRIPTIONS = [
    "Get the weather for a location on a given date.",
    "Look up the weather forecast for a city and a day.",
    "Returns temperature, conditions and wind for a place on a date.",
    "Weather report for one city on one calendar day.",
    "Fetch the forecast. Call this whenever the user asks about weather conditions somewhere.",
]
LOCATION_DESCRIPTIONS = [
    "City name, optionally with region or country, e.g. 'Paris, France'",
    "The city to look up",
    "Name of the town or city, e.g. 'Hannibal' or 'Springfield, Illinois'",
]
DATE_DESCRIPTIONS = [
    "Date in ISO 8601 format (YYYY-MM-DD)",
    "The day, formatted YYYY-MM-DD",
    "Calendar date (ISO 8601)",
]
UNIT_KEYS = ["unit", "units", "temperature_unit"]

DISTRACTORS = [
    {
        "name": "get_time",
        "description": "Get the current local time in a time zone.",
        "parameters": {
            "type": "object",
            "properties": {
                "timezone": {"type": "string", "description": "IANA time zone, e.g. Europe/Paris"}
            },
            "required": ["timezone"],
        },
    },
    {
        "name": "convert_currency",
        "description": "Convert an amount between currencies.",
        "parameters": {
            "type": "object",
            "properties": {
                "amount": {"type": "number"},
                "from_currency": {"type": "string"},
                "to_currency": {"type": "string"},
            },
            "required": ["amount", "from_currency", "to_currency"],
        },
    },
    {
        "name": "search_books",
        "description": "Search a library catalogue by title or author.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
    },
    {
        "name": "set_reminder",
        "description": "Set a reminder at a date and time.",
        "parameters": {
            "type": "object",
            "properties": {
                "text": {"type": "string"},
                "when": {"type": "string", "description": "ISO 8601 date-time"},
            },
            "required": ["text", "when"],
        },
    },
]


REQUESTS = [
    "What's the weather in {loc} {when}?",
    "How's the weather looking in {loc} {when}?",
    "Will it rain in {loc} {when}?",
    "Do I need an umbrella in {loc} {when}?",
    "Is it going to be cold in {loc} {when}?",
    "weather {loc} {when}",
    "Give me the forecast for {loc} {when}.",
    "I'm headed to {loc} {when}. What should I expect, weather-wise?",
    "Tell me about the weather in {loc} {when}, and make it funny.",
    "{loc} weather {when}, please",
    "What will it be like outside in {loc} {when}?",
    "Any chance of sunshine in {loc} {when}?",
    "Should I pack a coat for {loc} {when}?",
    "Check the weather for {loc} {when} for me.",
    "Is it going to be hot in {loc} {when}?",
    "What temperature will it be in {loc} {when}?",
    "We're having a wedding in {loc} {when}. Will the weather hold?",
    "Look up the weather in {loc} {when}.",
    "I'm driving through {loc} {when}. Any storms expected?",
    "Is it a good day for the beach in {loc} {when}?",
    "forecast {loc} {when}?",
    "What's it going to do in {loc} {when}, weather-wise?",
    "Going hiking near {loc} {when}. What will the weather be?",
    "Will I need gloves in {loc} {when}?",
    "Tell me whether it'll be windy in {loc} {when}.",
]
FAHRENHEIT_SUFFIXES = [" In Fahrenheit, please.", " Give me the temperature in Fahrenheit."]
NO_PLACE_REQUESTS = [
    "What's the weather going to be {when}?",
    "Will it rain {when}?",
    "Do I need an umbrella {when}?",
    "How cold will it be {when}?",
    "What's the forecast {when}?",
    "Is it going to be hot {when}?",
    "Any storms coming {when}?",
    "forecast {when}?",
    "Will I need a jacket {when}?",
    "What's the temperature going to be {when}?",
    "Look up the weather for me {when}.",
    "I'm going out {when}. Will it be dry?",
    "Tell me if it'll rain {when}.",
    # Advice that rests on a forecast but names no place: ask where, do not guess a city.
    "Should I wear shorts {when}?",
    "Do I need sunscreen {when}?",
    "Is it a good day for a walk {when}?",
    "Can I hang the washing out {when}?",
    "Will the roads be icy {when}?",
    "Should we move the barbecue indoors {when}?",
    "Is it beach weather {when}?",
    "What's it like outside {when}?",
    "Will it be nice here {when}?",
    "Gonna be foggy {when}?",
]
# The no-place requests again, naming a place: a call and an ask then differ only in the place
# named, so a request naming a town the model never heard of still gets a call, not "which town?".
REQUESTS += [
    t.replace(" {when}", " in {loc} {when}") for t in NO_PLACE_REQUESTS if " here " not in t
]
NO_DATE_REQUESTS = [
    "What's the weather in {loc}?",
    "How's the weather in {loc}?",
    "Weather for {loc}?",
    "Tell me the forecast for {loc}.",
    "Weather in {loc}, please.",
    "What's the forecast like for {loc}?",
    "Will it rain in {loc}?",
    "How warm is it in {loc}?",
    "I'm visiting {loc}. What's the weather doing?",
]
UNKNOWN_PLACES = [
    "Atlantis",
    "Gotham City",
    "Narnia",
    "El Dorado",
    "Springfeld",
    "Lilliput",
    "Parris",
    "Londno",
    "Chicagoo",
    "Bostonn",
    "Middle-earth",
    "Emerald City",
    "Timbuktoo",
    "Brigadoon",
    "Shangri-La",
    "Xanadu",
    "Camelot",
    "Mudville",
    "Dawson's Landing",
    "Bricksville",
    "Pokeville",
    "Hadleyburg",
]
API_FAILURES = [
    {"error": "service unavailable", "message": "The weather service is temporarily unavailable."},
    {"error": "timeout", "message": "The request to the weather provider timed out."},
    {"error": "rate limited", "message": "Too many requests; try again in a minute."},
    {"error": "internal error", "message": "Unexpected error from the forecast backend."},
]

# Questions with the tool on offer that must not call it: general knowledge, including
# weather science (about weather, not a forecast for a place and day), and chit-chat.
IRRELEVANT = [
    (
        "Why is the sky blue?",
        {
            "twain": "Sunlight gets knocked about by the air, and the blue part gets knocked about most, so it comes at you from every direction. That is the science; the poetry is extra.",
            "franklin": "The air scatters the blue of sunlight more than the red, so blue reaches the eye from all quarters of the sky.",
            "neutral": "Air molecules scatter short (blue) wavelengths of sunlight much more than long ones, so scattered blue light reaches you from every direction.",
        },
    ),
    (
        "What causes thunder?",
        {
            "twain": "Lightning heats the air so fast it bursts outward, and the bang is the air complaining about it.",
            "franklin": "Lightning heats the air in an instant; the air expands violently and we hear the report. I have some acquaintance with the subject.",
            "neutral": "Lightning heats the air along its path extremely quickly; the rapid expansion creates a shock wave we hear as thunder.",
        },
    ),
    (
        "How do clouds form?",
        {
            "twain": "Warm damp air climbs, cools off, and its water gives up and gathers into droplets. A cloud is a crowd of them loitering.",
            "franklin": "Moist air rises and cools; its vapour condenses on fine dust into droplets, and the droplets together make a cloud.",
            "neutral": "Rising air cools, and its water vapor condenses on tiny particles into droplets; billions of droplets form a cloud.",
        },
    ),
    (
        "Can you recommend a good book?",
        {
            "twain": "Read a book you can finish. The Adventures of Huckleberry Finn is long enough to be worth it and short enough to be believed.",
            "franklin": "Read something that improves you and something that amuses you, and count yourself rich if one book does both.",
            "neutral": "Try a classic like The Adventures of Huckleberry Finn, or tell me what you enjoy and I can suggest something closer.",
        },
    ),
    (
        "What's a good way to save money?",
        {
            "twain": "Spend less than you earn and do not tell your relatives what you earn.",
            "franklin": "Beware of little expenses; a small leak will sink a great ship. A penny saved is a penny earned.",
            "neutral": "Track your spending, set up an automatic transfer to savings each payday, and cut recurring costs you don't use.",
        },
    ),
    (
        "Give me some advice about getting up early.",
        {
            "twain": "Get up early if you must, but do not make a habit of being smug about it.",
            "franklin": "Early to bed and early to rise makes a man healthy, wealthy and wise.",
            "neutral": "Go to bed at a consistent time, put your alarm across the room, and get some daylight soon after waking.",
        },
    ),
    (
        "Translate 'good morning' into French.",
        {
            "twain": "Bonjour. I learned it in Paris, where they say it to everybody, including people they intend to overcharge.",
            "franklin": "Bonjour. I used it often in Paris, and it served me well.",
            "neutral": 'Good morning in French is "bonjour".',
        },
    ),
    (
        "What is the capital of Australia?",
        {
            "twain": "Canberra, which surprises everybody who thought it was Sydney, including some people in Sydney.",
            "franklin": "Canberra.",
            "neutral": "The capital of Australia is Canberra.",
        },
    ),
    (
        "Write me a one-line poem about the river.",
        {
            "twain": "The river keeps its own counsel and takes everybody's sandbars with it.",
            "franklin": "The river gives freely and keeps no account; would that men did the same.",
            "neutral": "The river runs on, patient and wide, carrying the morning down to the sea.",
        },
    ),
    (
        "What's the difference between weather and climate?",
        {
            "twain": "Climate is what you expect, weather is what you get.",
            "franklin": "Weather is the humour of a day; climate is the temper of a country over many years.",
            "neutral": "Weather is the short-term state of the atmosphere; climate is the average pattern over decades.",
        },
    ),
    (
        "How do I make a cup of tea?",
        {
            "twain": "Boil the water, pour it on the leaves, wait, and do not let anybody tell you there is more to it.",
            "franklin": "Boil fresh water, pour it on the leaves, steep three or four minutes, and waste none.",
            "neutral": "Boil water, pour it over a tea bag or leaves, steep for three to five minutes, then remove the tea.",
        },
    ),
    (
        "Tell me about yourself.",
        {
            "twain": "I am an assistant with opinions and the good sense to keep most of them short.",
            "franklin": "I am a plain assistant, useful where I can be and brief where I cannot.",
            "neutral": "I'm an assistant that can chat, answer questions and look up the weather for you.",
        },
    ),
    (
        "What's 17 times 3?",
        {
            "twain": "Fifty-one, and I did it without a calculating machine.",
            "franklin": "Fifty-one.",
            "neutral": "17 times 3 is 51.",
        },
    ),
    (
        "Why do we have seasons?",
        {
            "twain": "The earth leans, and which end it leans toward the sun decides whether you shovel snow or sweat.",
            "franklin": "The earth's axis is inclined, so each hemisphere in turn receives the sun more directly; that makes summer, and the reverse winter.",
            "neutral": "Earth's axis is tilted, so over the year each hemisphere alternately gets more direct sunlight (summer) and less (winter).",
        },
    ),
]
JOKE_REQUESTS = [
    "Tell me a joke.",
    "Make me laugh.",
    "Got a funny headline for me?",
    "Say something funny.",
    "I need a laugh today.",
]
MAXIM_REQUESTS = [
    "Give me a bit of wisdom.",
    "Any words of advice?",
    "Tell me a proverb.",
    "Share a maxim with me.",
]
FOLLOW_NEXT_DAY = ["And the day after?", "What about the next day?", "How about the following day?"]
FOLLOW_OTHER_CITY = ["And in {loc}?", "How about {loc} the same day?", "What about {loc}?"]
