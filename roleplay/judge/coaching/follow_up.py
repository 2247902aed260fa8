"""The follow-up, dated from where the prospect left the door, and its calendar file.

A persona says when a rep may try again in words ("in July, once the new budget year has
started", "Thursday after 4pm"). Code turns those words into the next matching date and time;
when the words name no day, month or week, there is no date and no calendar file (a date is
never made up).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, time, timedelta

from icalendar import Calendar, Event

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: When nothing says what time: mid-morning, when a call is least in the way.
DEFAULT_TIME = time(10, 0)
_CLOCK = re.compile(r"(?i)\b(after|from|at|around)?\s*(\d{1,2})(?::(\d\d))?\s*(am|pm)\b")


def _clock(words: str) -> time:
    m = _CLOCK.search(words)
    if not m:
        return DEFAULT_TIME
    hour = int(m.group(2)) % 12 + (12 if m.group(4).lower() == "pm" else 0)
    minute = int(m.group(3) or 0)
    if (m.group(1) or "").lower() in ("after", "from"):  # "after 4pm": a little after
        return (datetime.combine(date.min, time(hour, minute)) + timedelta(minutes=30)).time()
    return time(hour, minute)


def _working_day(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def follow_up_at(when: str | None, today: date) -> datetime | None:
    """The next date and time ``when`` names after ``today``, or None when it names none.

    "in July" is the first working day of the next July; "early March" too; "mid-March" the
    15th; "Thursday after 4pm" the next Thursday at 16:30; "next week" next Tuesday; "tomorrow".
    """
    if not when:
        return None
    words = when.lower()
    at = _clock(words)
    named = [(m.start(), i) for i, name in enumerate(MONTHS) if (m := re.search(rf"\b{name}\b", words))]
    if named:  # the month said first ("in February, before the March renewal")
        _, i = min(named)
        year = today.year + (1 if i + 1 <= today.month else 0)
        day = 15 if re.search(r"\b(mid|middle)\b", words) else 24 if re.search(r"\b(late|end of)\b", words) else 1
        return datetime.combine(_working_day(date(year, i + 1, day)), at)
    for i, name in enumerate(WEEKDAYS):
        if re.search(rf"\b{name}\b", words):
            ahead = (i - today.weekday()) % 7 or 7
            return datetime.combine(today + timedelta(days=ahead), at)
    if "tomorrow" in words:
        return datetime.combine(_working_day(today + timedelta(days=1)), at)
    if re.search(r"\bnext week\b", words):
        monday = today + timedelta(days=7 - today.weekday())
        return datetime.combine(monday + timedelta(days=1), at)
    return None


def calendar_file(summary: str, description: str, start: datetime, minutes: int = 15) -> bytes:
    """An .ics file with one event (local time, as the persona said it)."""
    cal = Calendar()
    cal.add("prodid", "-//Pushback Gym//follow-up//EN")
    cal.add("version", "2.0")
    event = Event()
    digest = hashlib.sha256(f"{summary}{start:%Y%m%dT%H%M}".encode()).hexdigest()[:16]
    event.add("uid", f"follow-up-{digest}@pushback-gym")
    event.add("dtstamp", datetime.now())
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=minutes))
    event.add("summary", summary)
    event.add("description", description)
    cal.add_component(event)
    return cal.to_ical()
