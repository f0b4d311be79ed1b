"""Tool-calling episodes for the `get_weather` tool, in OpenAI chat format.

Each episode is one case (params give the shares): a call that succeeds, a request with no
place (a question back), a relative or absent date, a service error, an unknown place, an
unrelated request with the tool on offer (no call), and follow-ups over several turns. The
schema's name, wording and optional parameters vary from episode to episode, and unrelated
"distractor" tools are sometimes offered beside it, so the model learns to read the schema
rather than memorize one.

  cases.py    the cases, their templates, EpisodeParams and the plan that hits the shares
  builder.py  EpisodeBuilder: one method per case
  records.py  episodes as validated SFT records, their metrics, the jokes and maxims they quote
  tools.py    the seed's schema, its variants and the distractor tools offered beside it
  dates.py    dates as users say them and answers name them
  phrases.py  what users and the service say (data only)
"""

from twainlora.domain.weather import DATE_KEYS, LOCATION_KEYS
from twainlora.sft.episodes.builder import Episode, EpisodeBuilder
from twainlora.sft.episodes.cases import CASES, TEMPLATE_OF_CASE, EpisodeParams, case_plan
from twainlora.sft.episodes.dates import MONTHS, human_date, relative_date
from twainlora.sft.episodes.records import (
    build_records,
    episode_metrics,
    jokes_and_maxims,
    to_record,
)
from twainlora.sft.episodes.tools import (
    SEED_VARIANT,
    ToolOffer,
    ToolVariant,
    offered_tools,
    varied_tool,
)

__all__ = [
    "CASES",
    "DATE_KEYS",
    "LOCATION_KEYS",
    "MONTHS",
    "SEED_VARIANT",
    "ToolOffer",
    "TEMPLATE_OF_CASE",
    "Episode",
    "EpisodeBuilder",
    "EpisodeParams",
    "ToolVariant",
    "build_records",
    "case_plan",
    "episode_metrics",
    "human_date",
    "jokes_and_maxims",
    "offered_tools",
    "relative_date",
    "to_record",
    "varied_tool",
]
