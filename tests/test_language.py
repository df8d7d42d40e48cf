"""The article language: declared by the page, checked against its text (crawler.extraction.language)."""

from __future__ import annotations

import pytest

from crawler.extraction.extract import extract_page
from crawler.extraction.language import detect_language, resolve_language

ZULU = (
    "Ngokusho kukaMnyango wezeMpilo, abantu abaningi bayagula ngenxa yokushisa okukhulu esifundazweni. "
    "Abezempilo bacela umphakathi ukuthi uphuze amanzi amaningi futhi ugweme ukuhamba elangeni emini. "
    "Izikole eziningi zizovalwa ngesikhathi sasemini kuze kube sekupheleni kwesonto elizayo. "
)
ENGLISH = (
    "The council approved the harbour budget on Monday after a long debate about schools and roads. "
    "Residents who attended the meeting said the plan for the old quay had been changed several times. "
    "The mayor promised that the repairs would begin before the winter storms reach the coast. "
)


def page(text: str, lang: str | None) -> bytes:
    attribute = f' lang="{lang}"' if lang else ""
    paragraphs = "".join(f"<p>{sentence.strip()}.</p>" for sentence in text.split(". ") if sentence.strip())
    return (
        f"<html{attribute}><head><title>Story</title></head><body><article><h1>Story</h1>"
        f"{paragraphs}{paragraphs}</article></body></html>"
    ).encode()


def test_a_page_declared_english_but_written_in_isizulu_is_isizulu() -> None:
    fields = extract_page(page(ZULU, "en"), "https://news.example/2025/01/02/story/")
    assert (fields["language"], fields["language_declared"], fields["language_detected"]) == ("zu", "en", "zu")


def test_a_page_declaring_nothing_gets_the_detected_language() -> None:
    fields = extract_page(page(ENGLISH, None), "https://news.example/2025/01/02/story/")
    assert (fields["language"], fields["language_declared"], fields["language_detected"]) == ("en", None, "en")


def test_an_agreeing_declaration_keeps_its_region() -> None:
    fields = extract_page(page(ENGLISH, "en-GB"), "https://news.example/2025/01/02/story/")
    assert fields["language"] == "en-GB" and fields["language_detected"] == "en"


@pytest.mark.parametrize(
    ("declared", "detected", "probability", "language"),
    [
        ("nb", "da", 0.99, "nb"),  # close neighbours: the page knows better
        ("sr", "hr", 0.99, "sr"),
        ("en", "zu", 0.99, "zu"),
        ("en", "zu", 0.6, "en"),  # unsure: keep the declaration
        (None, "de", 0.5, "de"),
        ("de-AT", None, 0.0, "de-AT"),  # too little text to tell
    ],
)
def test_resolution(declared: str | None, detected: str | None, probability: float, language: str) -> None:
    assert resolve_language(declared, detected, probability) == language


def test_too_little_text_is_not_identified() -> None:
    assert detect_language("Kurz.") == (None, 0.0)
