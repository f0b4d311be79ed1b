"""A chat turn against any OpenAI-compatible server, with the get_weather tool run locally.

The client offers the tool, runs each call with the offline weather service and feeds the
results back until the model answers in text: the same loop the tool episodes teach.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from twainlora.domain.personas import PERSONA_PROMPTS, TOOL_HINTS, control_tokens
from twainlora.domain.weather import GET_WEATHER_TOOL, WeatherService

log = logging.getLogger("twainlora.serve.chat")

# Rounds of tool calls answered in one turn before the model must reply in text: a follow-up
# needs two (DESIGN.md's follow_up case), a model that loops on calls gets cut off at three.
MAX_TOOL_ROUNDS = 3


def system_prompt(today: dt.date) -> str:
    """The Twain persona as the tool episodes phrase it: control tokens first, today's date
    last, so that "tomorrow" resolves."""
    return " ".join(
        [
            control_tokens("twain", "humorous", "weather"),
            PERSONA_PROMPTS["twain"][0],
            TOOL_HINTS[0],
            f"Today's date is {today.isoformat()}.",
        ]
    )


def run_tool(service: WeatherService, name: str, arguments) -> dict:
    if name != GET_WEATHER_TOOL["function"]["name"]:
        return {"error": "unknown tool", "message": f"no tool named {name!r}"}
    return service.call(arguments)


def answer(
    client,
    model: str,
    messages: list[dict],
    service: WeatherService,
    max_tokens: int,
    temperature: float,
    tool_choice: str = "auto",
) -> str:
    """Append one assistant turn (and its tool round trips) to `messages`; return its text.

    `client` is a huggingface_hub.InferenceClient; `tool_choice` applies to the first request
    ("required" forces a lookup), later rounds are "auto", the last one "none"."""
    for round_ in range(MAX_TOOL_ROUNDS + 1):
        mode = tool_choice if round_ == 0 else "auto"
        if round_ == MAX_TOOL_ROUNDS:
            mode = "none"
        choice = client.chat_completion(
            messages=messages,
            model=model,
            tools=[GET_WEATHER_TOOL],
            tool_choice=mode,
            max_tokens=max_tokens,
            temperature=temperature,
        ).choices[0]
        if choice.finish_reason == "length":
            # A call cut short comes back as plain text; say why rather than let it pass.
            log.warning("the reply was cut at max_tokens=%d (raise --max-tokens)", max_tokens)
        reply = choice.message
        if not reply.tool_calls:
            messages.append({"role": "assistant", "content": reply.content or ""})
            return reply.content or ""
        messages.append(
            {
                "role": "assistant",
                "content": reply.content,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {
                            "name": call.function.name,
                            "arguments": call.function.arguments,
                        },
                    }
                    for call in reply.tool_calls
                ],
            }
        )
        for call in reply.tool_calls:
            # Non-ASCII as is, as the tool episodes wrote results ("Île-de-France").
            result = json.dumps(
                run_tool(service, call.function.name, call.function.arguments), ensure_ascii=False
            )
            log.info("%s(%s) -> %s", call.function.name, call.function.arguments, result)
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    raise RuntimeError(
        f"the server still called tools after {MAX_TOOL_ROUNDS} rounds, the last one with "
        'tool_choice "none"'
    )
