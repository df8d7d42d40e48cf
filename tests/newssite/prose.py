"""Seeded prose for the fixture news site: headlines, summaries, body paragraphs, comments.

Text is built from sentence templates over small word banks (English per section, plus a small
German and French bank), so a seed always gives the same words and no two articles read alike.
Every character used is in windows-1252, because some articles are served in that encoding;
several banks carry typographic characters (’ “ ” – é €) on purpose.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

MIN_PARAGRAPH_WORDS = 40
MAX_PARAGRAPH_WORDS = 120


@dataclass(frozen=True)
class SectionWords:
    """What articles in one section talk about."""

    actors: tuple[str, ...]
    topics: tuple[str, ...]
    sources: tuple[str, ...]


ENGLISH_SECTIONS: dict[str, SectionWords] = {
    "politics": SectionWords(
        actors=(
            "the city council",
            "the regional government",
            "the opposition",
            "the mayor’s office",
            "the transport committee",
            "the coalition",
            "the finance ministry",
            "the planning board",
        ),
        topics=(
            "the new tram line",
            "the housing plan",
            "the municipal budget",
            "the school reform",
            "the parking levy",
            "the harbour redevelopment",
            "the climate strategy",
            "the bridge renovation",
            "the cycle lane network",
        ),
        sources=(
            "council documents",
            "the audit office",
            "a report seen by the Gazette",
            "the regional statistics office",
        ),
    ),
    "business": SectionWords(
        actors=(
            "the port authority",
            "the retailers’ association",
            "the chamber of commerce",
            "the regional bank",
            "a Hamburg-based start-up",
            "the shipyard",
            "the Old Mill brewery",
            "the works council",
        ),
        topics=(
            "the merger",
            "the new logistics centre",
            "the expansion of the container terminal",
            "the wage agreement",
            "the rise in energy prices",
            "the Sunday trading rules",
            "the takeover bid",
            "the apprenticeship scheme",
        ),
        sources=(
            "the company’s annual report",
            "figures from the chamber of commerce",
            "the federal employment agency",
            "analysts at the regional bank",
        ),
    ),
    "science": SectionWords(
        actors=(
            "the university’s computing lab",
            "the data protection office",
            "the marine institute",
            "the observatory",
            "the botanical garden",
            "the geology department",
            "the regional health authority",
            "the university hospital",
        ),
        topics=(
            "the fibre roll-out",
            "the open data portal",
            "the seagrass survey",
            "the vaccine trial",
            "the drought study",
            "the comet sighting",
            "the river temperature measurements",
            "the bird migration project",
            "the new research vessel",
            "the ransomware attack on the town hall",
        ),
        sources=(
            "a paper published this week",
            "the institute’s annual report",
            "data from the weather service",
            "the research ministry",
        ),
    ),
    "culture": SectionWords(
        actors=(
            "the city theatre",
            "the maritime museum",
            "the film festival",
            "the philharmonic orchestra",
            "the public library",
            "the art academy",
        ),
        topics=(
            "the new season",
            "the Rembrandt exhibition",
            "the restoration of the organ",
            "the jazz weekend",
            "the book fair",
            "the open-air cinema",
            "the street art trail",
        ),
        sources=("the culture department", "the festival’s organisers", "the box office", "the museum’s director"),
    ),
    "sport": SectionWords(
        actors=(
            "the football club",
            "the rowing club",
            "the marathon committee",
            "the handball side",
            "the league’s board",
            "the swimming association",
        ),
        topics=(
            "the derby",
            "the new stadium",
            "the record transfer",
            "the season opener",
            "the cup final",
            "the youth academy",
            "the floodlight upgrade",
        ),
        sources=("the club’s website", "league officials", "the sports office", "the supporters’ trust"),
    ),
}

PLACES = (
    "Northgate",
    "the old town",
    "Riverside",
    "Eastbrook",
    "the harbour district",
    "Millbank",
    "St Clement’s",
    "Hill End",
    "the university quarter",
    "Westfield",
)
FIRST_NAMES = (
    "Anna",
    "Thomas",
    "Sarah",
    "Michael",
    "Julia",
    "David",
    "Zoé",
    "René",
    "Laura",
    "Peter",
    "Chloé",
    "Jonas",
    "Emma",
    "Lukas",
    "Hannah",
    "José",
    "Marie",
    "Oliver",
    "Clara",
    "Felix",
)
LAST_NAMES = (
    "Becker",
    "Hughes",
    "Laurent",
    "Okafor",
    "Schmidt",
    "Morrison",
    "Novak",
    "Fischer",
    "Dubois",
    "Patel",
    "Jensen",
    "O’Neill",
    "Weber",
    "Costa",
    "Lindqvist",
    "Brennan",
)
ROLES = (
    "a spokesperson for {actor}",
    "a board member of {actor}",
    "head of the planning department",
    "an economist at the regional university",
    "chair of the residents’ association",
    "a councillor for the Greens",
    "the project’s lead engineer",
    "a local business owner",
    "deputy mayor",
    "a researcher who has followed the issue for years",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
DURATIONS = ("two years", "eighteen months", "several months", "almost a decade", "three years", "six weeks", "a year")
QUOTES = (
    "We have waited long enough",
    "This is a good day for the whole region",
    "Nobody wants to see the costs rise again",
    "The details still need work",
    "We’re confident the schedule will hold",
    "It’s a compromise, and compromises hurt",
    "People deserve a clear answer",
    "We will not rush this decision",
    "The numbers simply don’t add up",
    "This could change the city for a generation",
)
FUTURE_ACTIONS = (
    "be completed by the end of next year",
    "need further funding",
    "go to a public consultation",
    "be reviewed by independent experts",
    "start later than planned",
    "be scaled back",
    "create around {number} jobs",
)
CRITICISMS = (
    "comes too late for many families",
    "has been poorly explained to the public",
    "will cost far more than promised",
    "ignores the needs of smaller neighbourhoods",
    "was drawn up without proper consultation",
)
BENEFITS = (
    "will cut journey times considerably",
    "will bring new investment to the area",
    "is already paying for itself",
    "has broad support among younger residents",
    "will reduce emissions by a measurable amount",
)
REACTIONS = (
    "welcomed the news but remain cautious",
    "say they have heard such promises before",
    "have started a petition",
    "turned out for a lively public meeting on the subject",
    "are still waiting for detailed plans",
)
HEDGES = (
    "some members want more time",
    "the date has slipped before",
    "legal challenges cannot be ruled out",
    "the funding is not yet secured",
)
ADJECTIVES = ("ambitious", "overdue", "sensible", "risky", "expensive", "necessary", "cautious", "long-awaited")
CHANGES = ("increase", "decrease", "rise", "drop")
ORDINALS = ("second", "third", "fourth")

ENGLISH_SENTENCES = (
    "{Actor} said on {weekday} that {topic} would {future_action}.",
    "The decision follows {duration} of debate about {topic}.",
    "According to {source}, the cost of {topic} has risen to €{money} million, up from €{money2} million.",
    "“{quote}”, {person}, {role}, told reporters.",
    "Critics argue that {topic} {criticism}.",
    "{Person}, {role}, described the plan as “{adjective} but {adjective2}”.",
    "In {place}, many residents {reaction}.",
    "A final vote is scheduled for {month}, although {hedge}.",
    "The figures, published by {source}, show a {pct} per cent {change} compared with {year}.",
    "{Actor} has not yet responded to a request for comment.",
    "It is the {ordinal} time in {duration} that {topic} has made headlines.",
    "Supporters point out that {topic} {benefit}.",
    "Work on the first phase is expected to begin in {month} and to last around {small} months.",
    "{Person} said the city “cannot afford another {duration} of waiting”.",
    "Officials estimate that about {number} people in {place} will be affected.",
    "The proposal – first presented in {month} {year} – has since been revised {small} times.",
    "Asked whether {topic} could be delayed again, {person} declined to give a date.",
    "“We’ve listened carefully to the concerns”, said {person}.",
    "For now, {actor} and {actor2} appear to agree on little beyond the need to act.",
    "Several smaller businesses in {place} said they had not been consulted at all.",
    "The debate has also exposed divisions within {actor}.",
    "Those who attended {weekday}’s meeting described the mood as tense but constructive.",
    "{Person} has been among the loudest voices on the issue since {year}.",
    "The last comparable project in {place} took {duration} longer than planned and cost €{money} million.",
    "At a packed hearing in {place} on {weekday} evening, more than {hundreds} people queued for a seat.",
    "Behind closed doors, members of {actor} are said to be far less optimistic.",
    "{Actor} insists that {topic} remains affordable, pointing to €{money2} million in reserves.",
    "Opposition members have tabled {small} amendments, most of them aimed at the timetable.",
    "A survey commissioned by {actor} found that {pct} per cent of respondents backed the idea.",
    "The legal situation is complicated, {person}, {role}, explained.",
    "Even supporters concede that {topic} {criticism}.",
    "{Person} expects a decision “within weeks, not months”.",
    "Neighbouring towns are watching closely, as they face similar questions about {topic}.",
    "That estimate, drawn up in {year}, is now widely regarded as out of date.",
    "“I don’t think anyone expected it to take this long”, {person} admitted.",
    "The timetable published in {month} already allows for a delay of {small} weeks.",
    "Residents of {place} will be able to comment on the plans online until the end of {month}.",
    "A spokesperson for {actor} said the concerns raised by {actor2} were “understandable”.",
    "{Actor} first raised the idea at its annual meeting in {year}.",
    "Local traders in {place} fear a drop in footfall while the work is under way.",
    "The numbers vary widely depending on who is asked.",
    "For many in {place}, {topic} has become a symbol of how slowly things move.",
    "The matter is due back before {actor} on {weekday}.",
)

ENGLISH_HEADLINES = (
    "{Actor} approves {topic} after {duration} of debate",
    "{Actor} to review {topic} as costs rise",
    "{Topic} faces fresh criticism from {actor}",
    "What {topic} means for residents of {place}",
    "{Actor} and {actor2} clash over {topic}",
    "{Topic}: {actor} promises a decision by {month}",
    "Residents in {place} divided over {topic}",
    "{Actor} unveils plans for {topic}",
    "Why {topic} is running {small} months late",
    "{Topic} could cost €{money} million, report warns",
    "Questions remain over {topic} as {actor} stays silent",
    "{Actor} backs {topic} – but with conditions",
    "Inside the fight over {topic}",
    "{Actor} admits mistakes over {topic}",
    "Five questions about {topic}, answered",
    "{Topic} wins approval despite protests in {place}",
    "{Actor} puts {topic} on hold",
    "{Person}: “{quote}”",
    "Delays, costs and a deadline: {topic} explained",
    "{Actor} under pressure after {topic} setback",
)

ENGLISH_DEKS = (
    "{Actor} says the plan is on track, but critics in {place} are not convinced.",
    "After {duration} of debate, a decision on {topic} is finally in sight.",
    "The cost of {topic} keeps rising. Here is what we know so far.",
    "Supporters say {topic} {benefit}; opponents disagree.",
    "{Person} explains why {topic} matters for {place}.",
)

# One sentence with all of ’ “ ” € é, put into every article served in a legacy or undeclared
# encoding so that decoding it with the wrong charset visibly breaks the text.
TYPOGRAPHIC_SENTENCE = (
    "“It’s worth every cent”, said café owner {person}, whose espresso now costs €{coin} instead of €{coin2}."
)

GERMAN = {
    "actors": (
        "der Stadtrat",
        "die Landesregierung",
        "die Opposition",
        "der Bürgermeister",
        "die Handelskammer",
        "der Verkehrsausschuss",
    ),
    "topics": (
        "die neue Straßenbahnlinie",
        "der Haushalt",
        "die Schulreform",
        "das Wohnungsbauprogramm",
        "der Umbau des Hafens",
        "die Radwegeplanung",
    ),
    # Only ever used after "in", so they are given in the dative.
    "places": ("der Altstadt", "Nordhafen", "Oststadt", "der Hafencity"),
    "quotes": (
        "Wir haben lange genug gewartet",
        "Das ist ein guter Tag für die ganze Region",
        "Die Details müssen noch geklärt werden",
        "Niemand will, dass die Kosten weiter steigen",
    ),
    "sentences": (
        "{Actor} kündigte am {weekday} an, dass {topic} bis {month} fertig sein soll.",
        "Nach Angaben der Stadtverwaltung steigen die Kosten auf {money} Millionen Euro.",
        "„{quote}“, sagte {person} am Rande der Sitzung.",
        "Kritiker bemängeln, dass {topic} zu spät komme und schlecht erklärt worden sei.",
        "Viele Anwohnerinnen und Anwohner in {place} sehen das Vorhaben skeptisch.",
        "Eine endgültige Entscheidung wird für {month} erwartet, doch der Zeitplan ist knapp.",
        "Die Zahlen zeigen einen Anstieg um {pct} Prozent gegenüber dem Jahr {year}.",
        "Befürworter verweisen darauf, dass die Fahrzeiten deutlich kürzer würden.",
        "{Person} erklärte, man habe die Einwände der Bürger sehr ernst genommen.",
        "Ob der Zeitplan hält, ist nach Ansicht vieler Beobachter völlig offen.",
        "Bereits im Frühjahr hatte es in {place} eine lebhafte Bürgerversammlung gegeben.",
        "Die Opposition fordert nun einen unabhängigen Prüfbericht, bevor weiteres Geld fließt.",
    ),
    "headlines": (
        "{Topic} wird teurer als geplant",
        "Neue Kritik an den Bauplänen in {place}",
        "Kosten für Großprojekt steigen auf {money} Millionen Euro",
        "{Topic}: Entscheidung fällt im {month}",
    ),
    "deks": (
        "Nach monatelanger Debatte zeichnet sich eine Entscheidung ab.",
        "Die Kosten steigen, die Kritik wächst – ein Überblick.",
    ),
    "months": (
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
    "weekdays": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag"),
}

FRENCH = {
    "actors": ("le conseil municipal", "la région", "l’opposition", "la mairie", "la chambre de commerce"),
    "topics": (
        "la nouvelle ligne de tramway",
        "le budget municipal",
        "la réforme scolaire",
        "le plan de logement",
        "la rénovation du port",
    ),
    # Only ever used after "à", so they are town names.
    "places": ("Port-Nord", "Belleville-sur-Mer", "Saint-Aubin", "Montclair"),
    "quotes": (
        "Nous avons assez attendu",
        "C’est une bonne journée pour toute la région",
        "Les détails doivent encore être précisés",
        "Personne ne veut voir les coûts augmenter",
    ),
    "sentences": (
        "{Actor} a annoncé {weekday} que les travaux sur {topic} commenceraient en {month}.",
        "Selon la mairie, le coût du projet atteint désormais {money} millions d’euros.",
        "« {quote} », a déclaré {person} à l’issue de la séance.",
        "Les critiques estiment que le projet arrive trop tard et qu’il a été mal expliqué.",
        "À {place}, de nombreux habitants restent sceptiques face à ce calendrier.",
        "Une décision définitive est attendue en {month}, mais le calendrier reste serré.",
        "Les chiffres montrent une hausse de {pct} pour cent par rapport à {year}.",
        "Les partisans du projet soulignent que les temps de trajet seraient nettement réduits.",
        "{Person} a assuré que les objections des riverains avaient été prises au sérieux.",
        "Pour de nombreux observateurs, rien ne garantit que le calendrier sera respecté.",
        "Une réunion publique très animée s’était déjà tenue au printemps à {place}.",
        "L’opposition réclame désormais un audit indépendant avant toute nouvelle dépense.",
    ),
    "headlines": (
        "{Topic} : le calendrier est-il tenable ?",
        "Nouvelles critiques contre les projets à {place}",
        "Le coût du grand projet grimpe à {money} millions d’euros",
        "Une décision sur {topic} attendue en {month}",
    ),
    "deks": (
        "Après des mois de débat, une décision se profile enfin.",
        "Les coûts augmentent, les critiques aussi – le point sur le dossier.",
    ),
    "months": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "weekdays": ("lundi", "mardi", "mercredi", "jeudi", "vendredi"),
}

COMMENT_TEXTS = (
    "Finally! I’ve been waiting for this for years.",
    "I’ll believe it when I see it. We were promised the same thing in 2019.",
    "Great article, thanks for the detailed background.",
    "Does anyone know whether the consultation is still open?",
    "The costs are getting out of hand – who is going to pay for all this?",
    "My street is right next to the site and nobody has told us anything.",
    "Very one-sided reporting, in my opinion.",
    "Thanks for covering this. Local news matters.",
)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def capitalize_first(text: str) -> str:
    """Upper-case the first letter only (``str.capitalize`` would lower-case the rest)."""
    return text[:1].upper() + text[1:] if text else text


def person_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def slugify(text: str, max_words: int = 8) -> str:
    """ASCII slug as WordPress makes it: accents folded, punctuation dropped, hyphens between words."""
    folded = text.replace("ß", "ss").replace("’", "").replace("'", "")
    folded = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode("ascii").lower()
    words = re.findall(r"[a-z0-9]+", folded)
    return "-".join(words[:max_words])


_ENGLISH_SLOTS: dict[str, Callable[[random.Random, SectionWords], str]] = {
    "actor": lambda rng, words: rng.choice(words.actors),
    "topic": lambda rng, words: rng.choice(words.topics),
    "source": lambda rng, words: rng.choice(words.sources),
    "person": lambda rng, words: person_name(rng),
    "role": lambda rng, words: rng.choice(ROLES).replace("{actor}", rng.choice(words.actors)),
    "place": lambda rng, words: rng.choice(PLACES),
    "weekday": lambda rng, words: rng.choice(WEEKDAYS),
    "month": lambda rng, words: rng.choice(MONTHS),
    "duration": lambda rng, words: rng.choice(DURATIONS),
    "quote": lambda rng, words: rng.choice(QUOTES),
    "future_action": lambda rng, words: rng.choice(FUTURE_ACTIONS).replace("{number}", str(rng.randrange(40, 900))),
    "criticism": lambda rng, words: rng.choice(CRITICISMS),
    "benefit": lambda rng, words: rng.choice(BENEFITS),
    "reaction": lambda rng, words: rng.choice(REACTIONS),
    "hedge": lambda rng, words: rng.choice(HEDGES),
    "adjective": lambda rng, words: rng.choice(ADJECTIVES),
    "change": lambda rng, words: rng.choice(CHANGES),
    "ordinal": lambda rng, words: rng.choice(ORDINALS),
    "money": lambda rng, words: str(rng.randrange(12, 480)),
    "money2": lambda rng, words: str(rng.randrange(5, 300)),
    "pct": lambda rng, words: str(rng.randrange(2, 38)),
    "year": lambda rng, words: str(rng.randrange(2015, 2023)),
    "small": lambda rng, words: str(rng.randrange(2, 9)),
    "number": lambda rng, words: f"{rng.randrange(1, 40)},{rng.randrange(0, 1000):03d}",
    "hundreds": lambda rng, words: str(rng.randrange(120, 900, 10)),
    "coin": lambda rng, words: f"{rng.randrange(2, 4)}.{rng.choice(('20', '40', '60', '80'))}",
    "coin2": lambda rng, words: f"1.{rng.choice(('50', '70', '90'))}",
}


def _fill_english(template: str, rng: random.Random, words: SectionWords) -> str:
    chosen: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        key = name.lower()
        slot = _ENGLISH_SLOTS.get(key) or _ENGLISH_SLOTS[key.rstrip("2")]
        value = slot(rng, words)
        # A second slot of a kind ("actor2", "adjective2") must differ from the first one.
        while key.endswith("2") and value == chosen.get(key.rstrip("2")):
            value = slot(rng, words)
        chosen.setdefault(key, value)
        return capitalize_first(value) if name[0].isupper() else value

    return _PLACEHOLDER.sub(replace, template)


def _fill_foreign(template: str, rng: random.Random, bank: dict[str, tuple[str, ...]]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        key = name.lower()
        plural = {
            "actor": "actors",
            "topic": "topics",
            "place": "places",
            "quote": "quotes",
            "month": "months",
            "weekday": "weekdays",
        }
        if key in plural:
            value = rng.choice(bank[plural[key]])
        elif key == "person":
            value = person_name(rng)
        elif key == "money":
            value = str(rng.randrange(12, 480))
        elif key == "pct":
            value = str(rng.randrange(2, 38))
        elif key == "year":
            value = str(rng.randrange(2015, 2023))
        else:
            raise KeyError(f"unknown placeholder {{{name}}} in foreign template {template!r}")
        return capitalize_first(value) if name[0].isupper() else value

    return _PLACEHOLDER.sub(replace, template)


def _bank(language: str) -> dict[str, tuple[str, ...]]:
    return GERMAN if language == "de" else FRENCH


def headline(rng: random.Random, language: str, section: str) -> str:
    if language == "en":
        return capitalize_first(_fill_english(rng.choice(ENGLISH_HEADLINES), rng, ENGLISH_SECTIONS[section]))
    bank = _bank(language)
    return capitalize_first(_fill_foreign(rng.choice(bank["headlines"]), rng, bank))


def summary(rng: random.Random, language: str, section: str) -> str:
    """The one- or two-sentence teaser text used in listings, feeds and meta descriptions."""
    if language == "en":
        return _fill_english(rng.choice(ENGLISH_DEKS), rng, ENGLISH_SECTIONS[section])
    return rng.choice(_bank(language)["deks"])


def sentence_templates(language: str) -> tuple[str, ...]:
    return ENGLISH_SENTENCES if language == "en" else _bank(language)["sentences"]


def _sentence(template: str, rng: random.Random, language: str, section: str) -> str:
    if language == "en":
        return _fill_english(template, rng, ENGLISH_SECTIONS[section])
    return _fill_foreign(template, rng, _bank(language))


def paragraph(rng: random.Random, language: str, section: str, templates: tuple[str, ...], opening: str = "") -> str:
    """One paragraph of 40 to 120 words from ``templates``; ``opening`` (if given) comes first."""
    target = rng.randrange(MIN_PARAGRAPH_WORDS + 5, 95)
    sentences = [opening] if opening else []
    count = sum(len(s.split()) for s in sentences)
    # Each template at most once per paragraph, so no paragraph repeats itself.
    for template in rng.sample(templates, len(templates)):
        if count >= target:
            break
        sentence = _sentence(template, rng, language, section)
        words = len(sentence.split())
        if count + words <= MAX_PARAGRAPH_WORDS:
            sentences.append(sentence)
            count += words
    return " ".join(sentences)


def body_paragraphs(rng: random.Random, language: str, section: str, typographic: bool) -> list[str]:
    """5 to 12 paragraphs; ``typographic`` (English only) puts ’ “ ” € é into the second one."""
    count = rng.randrange(5, 13)
    bank = sentence_templates(language)
    # Each article draws on its own subset of the bank, so different articles share few sentences
    # (near-duplicate detection must not mistake two generated articles for copies).
    templates = tuple(rng.sample(bank, max(8, len(bank) * 3 // 5)))
    paragraphs = []
    for index in range(count):
        opening = ""
        if typographic and index == 1:
            opening = _fill_english(TYPOGRAPHIC_SENTENCE, rng, ENGLISH_SECTIONS[section])
        text = paragraph(rng, language, section, templates, opening)
        while text in paragraphs:  # small foreign banks could repeat a whole paragraph
            text = paragraph(rng, language, section, templates, opening)
        paragraphs.append(text)
    return paragraphs


def comment_text(rng: random.Random) -> str:
    return rng.choice(COMMENT_TEXTS)
