"""The catalogue of the domain's refusals: every one worded, in every language, numbers too."""

from __future__ import annotations

from actors.errors import Message, NotFound, Problem, ValidationError
from web import i18n, messages


def test_every_message_has_words_in_every_language() -> None:
    assert set(messages.WORDING) == set(Message)
    for lang in i18n.catalogs():
        for message, english in messages.WORDING.items():
            worded = i18n.translate(english, lang)
            assert worded, (lang, message)
            assert lang == i18n.DEFAULT or worded != english, (lang, message)


def test_a_refusal_reads_in_the_language_asked_with_its_parameters() -> None:
    error = ValidationError(
        [
            Problem("title", Message.TITLE_REQUIRED),
            Problem("description", Message.DESCRIPTION_TOO_LONG, {"limit": 20_000}),
            Problem("title", Message.TITLE_TOO_LONG, {"limit": 200}),  # one per field: the first
        ]
    )
    assert messages.beside_fields(error, "de") == {
        "title": "Ein Titel ist erforderlich.",
        "description": "Die Beschreibung ist länger als 20.000 Zeichen.",
    }
    assert messages.beside_fields(error, "en")["description"] == (
        "The description is longer than 20,000 characters."
    )
    assert messages.beside_fields(None, "fr") == {}


def test_the_command_line_reads_english_and_says_what_was_not_found() -> None:
    missing = NotFound(Message.DAY_NOT_FOUND, "https://node.example/days/1")
    assert messages.for_terminal(missing) == (
        "No such solidarity day on this node. (https://node.example/days/1)"
    )
    refused = ValidationError.one("country", Message.COUNTRY_UNKNOWN, value="Portugal")
    assert messages.for_terminal(refused) == (
        "“Portugal” is not a two-letter country code such as PT or BR."
    )
    assert "country_unknown" in str(refused)  # ids, not words, in logs and tracebacks
    assert messages.for_terminal(ValueError("plain")) == "plain"
