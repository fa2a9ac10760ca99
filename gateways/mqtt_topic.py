"""MQTT topic filter validation (MQTT 3.1.1 section 4.7, MQTT 5 section 4.7)."""

from __future__ import annotations


def check_topic_filter(topic: str) -> str:
    """Return ``topic`` if it is a valid subscription filter, else raise ValueError."""
    if not topic:
        raise ValueError("an MQTT topic filter must not be empty")
    if "\x00" in topic or len(topic.encode()) > 65535:
        raise ValueError("an MQTT topic filter must be at most 65535 bytes and have no NUL")
    levels = topic.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            raise ValueError("'#' must be a whole level and the last one, as in 'a/b/#'")
        if "+" in level and level != "+":
            raise ValueError("'+' must be a whole level, as in 'a/+/c'")
    return topic
