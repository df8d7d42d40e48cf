"""The article language: declared by the page, checked against its text (crawler.extraction.language)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from crawler.extraction.extract import extract_page
from crawler.extraction.langid_model import CACHE_ENV, COMPLETE, load_identifier, model_file, unpacked_folder
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


# --- the model, memory-mapped from the cache (crawler.extraction.langid_model) ----------------------

SAMPLES = [
    ENGLISH,
    ZULU,
    "Der Stadtrat hat am Montag nach einer langen Debatte über Schulen und Straßen den Haushalt beschlossen.",
    "Le conseil municipal a adopté lundi le budget du port après un long débat sur les écoles et les routes.",
    "El ayuntamiento aprobó el lunes el presupuesto del puerto tras un largo debate sobre escuelas y carreteras.",
    "Городской совет в понедельник утвердил бюджет порта после долгих споров о школах и дорогах.",
    "市议会周一在就学校和道路问题进行长时间辩论后批准了港口预算。",
    "Kamati ya halmashauri iliidhinisha bajeti ya bandari Jumatatu baada ya mjadala mrefu kuhusu shule.",
    "12345 !!! ???",
    "",
]


def test_the_mapped_model_scores_exactly_as_py3langids_own(tmp_path: Path) -> None:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    own = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    mapped = load_identifier(tmp_path, norm_probs=True)
    assert isinstance(mapped.nb_ptc, np.memmap)  # file pages, shared by every process that maps them
    for text in SAMPLES:
        assert mapped.classify(text) == own.classify(text), text[:30]
        assert mapped.rank(text)[:5] == own.rank(text)[:5]


def test_the_model_is_unpacked_once_and_a_crash_leftover_is_ignored(tmp_path: Path) -> None:
    folder = unpacked_folder(model_file(), tmp_path)
    leftover = tmp_path / f".{folder.name}-crashed"
    leftover.mkdir()  # a half-written folder from a killed process: never read
    load_identifier(tmp_path, norm_probs=True)
    written = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    assert {"ptc.npy", "nextmove.npy", COMPLETE} <= set(written)
    again = load_identifier(tmp_path, norm_probs=True)
    assert {path.name: path.stat().st_mtime_ns for path in folder.iterdir()} == written
    assert again.classify(ENGLISH)[0] == "en"


def test_an_unwritable_cache_falls_back_to_a_private_copy(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING):
        identifier = load_identifier(blocked / "cache", norm_probs=True)
    assert identifier.classify(ZULU)[0] == "zu"
    assert CACHE_ENV in caplog.text and "could not keep py3langid's model" in caplog.text
