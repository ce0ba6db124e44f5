"""The learned part of classification: a linear scorer over many weak cues.

The rules decide first when they are sure (``final = true``: headers and
structure of automatic mail, lists, loops). For everything else a linear model
weighs the words of the message (stems, pairs of stems, the subject's words),
cues told as facts (« toujours pas », « depuis trois mois », « aucune
réponse », negations, a question or a grievance), the mailbox, the headers,
and which rule would have applied: each cue has one weight per category (and
per topic), the category with the highest sum wins.

The model is a small JSON file of weights (``tracer/rules/model/``, or the
data folder's own after ``tracer rules train``); scoring is plain Python, no
scikit-learn (which only trains, see tracer.rules.training). The file holds
features seen in at least two distinct writers' messages and their weights,
never a message.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import re
import sys
from array import array
from dataclasses import dataclass
from pathlib import Path

from tracer.core import paths

FORMAT = "tracer-scorer"
FORMAT_VERSION = 2  # 2: weights as a float32 block, stored feature by feature
# Bumped when features() changes: a model trained on other features is refused.
FEATURES_VERSION = 2  # 2: own file, follow-up and documents sent as cues
SHIPPED_MODEL = Path(__file__).resolve().parent / "model" / "scorer.json.gz"
LOCAL_NAME = "scorer.json.gz"  # in the data folder's ``model`` subfolder

WORD = re.compile(r"[^\W_]+")
DIGITS = re.compile(r"\d")
STEM = 6       # a word is known by its first letters: « attendre », « attends », « attente » meet
PAIR_STEM = 5
MAX_CHARS = 3000  # the writer's first words are enough; a pasted document adds little but time

# Cues told as facts, found on the words already cut (a regular expression per
# cue cost more than all the rest of the scoring): feature -> French label.
CUE_LABELS = {
    "c:toujours_pas": "« toujours pas » / « toujours aucun »",
    "c:depuis": "« depuis … »",
    "c:depuis_duree": "attente chiffrée (« depuis trois mois »)",
    "c:duree": "durée chiffrée (jours, semaines, mois)",
    "c:date": "date citée",
    "c:aucune_reponse": "« aucune réponse » / « sans retour »",
    "c:negation": "négation (« ne … pas », « n'… jamais »)",
    "c:impossible": "« impossible »",
    "c:relance": "relance (« à nouveau », « plusieurs fois »)",
    "c:question_procedure": "question sur une démarche (« comment », « quels documents », « dois-je »)",
    "c:colere": "mot de colère (« inadmissible », « honteux », « scandaleux »)",
    "c:proposition": "proposition (« je suggère », « il serait bien », « pourquoi ne pas »)",
    "c:remerciement": "remerciement",
    "c:exclamation": "points d'exclamation",
    "c:question": "une question posée",
    "c:hors_service": "autre administration (mairie, CAF, impôts…)",
    "c:mon_dossier": "son propre dossier (« mon dossier », « ma demande », « my application »)",
    "c:suivi": "demande de nouvelles (« où en est », « savoir si », « status »)",
    "c:envoi_pieces": "envoi de pièces (« ci-joint », « vous trouverez », « voici »)",
}
UNITS = frozenset("jour jours semaine semaines mois an ans annee annees heure heures minutes".split())
NUMBERS = frozenset("un une deux trois quatre cinq six sept huit neuf dix onze douze quinze vingt trente "
                    "plusieurs quelques des".split())
MONTHS = frozenset("janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre".split())
AFTER_TOUJOURS = frozenset("pas rien aucun aucune sans".split())
NEGATIONS = frozenset("pas jamais plus rien personne".split())
NO_WORDS = frozenset("aucune aucun sans jamais pas no".split())
ANSWERS = frozenset("reponse reponses retour nouvelles answer reply".split())
QUESTION_WORDS = frozenset("comment quel quels quelle quelles dois puis faut pourriez pouvez".split())
ANGER = ("inadmi", "inacce", "scanda", "honte", "honteu", "lament", "intole", "exaspe", "furieu", "catast",
         "indign", "deplor", "unacce", "revolt", "honter")
THANKS = ("merci", "remerc", "thank")
OTHER_BODIES = frozenset("mairie caf impots tribunal notaire syndic bailleur cpam urssaf gendarmerie commissariat "
                         "consulat ambassade consulate embassy carsat mdph msa rectorat academie ecole employeur "
                         "prudhommes banque assurance assureur hlm antai ofpra".split())
# Own file: a possessive, then within three words what a file is called.
OWN = frozenset("mon ma mes my our notre nos".split())
FILE_STEMS = frozenset("dossie demand titre carte permis recepi passep applic file card licenc natura".split())
FOLLOW_UP = frozenset([("ou", "en"), ("en", "est"), ("des", "nouve"), ("savoi", "si"),
                       ("statu", "of"), ("the", "statu"), ("avanc", "de"), ("est", "arriv"), ("est", "prete"),
                       ("est", "pret"), ("check", "my"), ("how", "long")])
SENDING = frozenset([("ci", "joint"), ("piece", "joint"), ("vous", "trouv"),
                     ("veuil", "trouv"), ("voici", "le"), ("voici", "la"), ("voici", "les"),
                     ("voici", "mon"), ("voici", "ma"), ("voici", "mes"), ("pleas", "find"), ("attac", "pleas")])
SENDING_VERBS = frozenset("envoie transmets adresse joins".split())
PROPOSALS = frozenset([("je", "sugge"), ("je", "propo"), ("pourq", "ne"), ("il", "serai"), ("ce", "serai"),
                       ("il", "faudr"), ("serai", "il"), ("nous", "sugge")])
AGAIN = frozenset([("a", "nouve"), ("de", "nouve"), ("plusi", "fois"), ("encor", "une"), ("une", "fois")])
OTHER_PAIRS = frozenset([("franc", "trava"), ("pole", "emplo")])


def _cues(words: list[str], stems: set[str], short: list[str], text: str) -> list[str]:
    """The cue features of a message, from its words (full, stems, 5-letter prefixes)."""
    out = []
    seen = set(words)
    pairs = set(zip(short, short[1:]))
    if "depuis" in seen:
        out.append("c:depuis")
        for i, w in enumerate(words):
            if w == "depuis" and any(x in UNITS for x in words[i + 1:i + 5]):
                out.append("c:depuis_duree")
                break
    for a, b in zip(words, words[1:]):
        if b in UNITS and (a in NUMBERS or a.isdigit()):
            out.append("c:duree")
            break
    for a, b in zip(words, words[1:]):
        if b in MONTHS and a.isdigit():
            out.append("c:date")
            break
    else:
        if "/" in text and DATE.search(text):
            out.append("c:date")
    if "toujours" in seen and any(a == "toujours" and b in AFTER_TOUJOURS for a, b in zip(words, words[1:])):
        out.append("c:toujours_pas")
    if ANSWERS & seen and any(w in NO_WORDS and ANSWERS.intersection(words[i + 1:i + 4]) for i, w in enumerate(words)):
        out.append("c:aucune_reponse")
    if ("ne" in seen or "n" in seen) and NEGATIONS & seen:
        out.append("c:negation")
    if "imposs" in stems:
        out.append("c:impossible")
    if "relanc" in stems or AGAIN & pairs:
        out.append("c:relance")
    if "?" in text:
        out.append("c:question")
        if QUESTION_WORDS & seen:
            out.append("c:question_procedure")
    if any(s in stems for s in ANGER):
        out.append("c:colere")
    if PROPOSALS & pairs or "sugges" in stems or "idee" in seen:
        out.append("c:proposition")
    if any(s in stems for s in THANKS):
        out.append("c:remerciement")
    if "!" in text:
        out.append("c:exclamation")
    if OTHER_BODIES & seen or OTHER_PAIRS & pairs:
        out.append("c:hors_service")
    if OWN & seen:
        for i, w in enumerate(words):
            if w in OWN and any(x[:6] in FILE_STEMS for x in words[i + 1:i + 4]):
                out.append("c:mon_dossier")
                break
    if FOLLOW_UP & pairs:
        out.append("c:suivi")
    if SENDING & pairs or "cijoint" in seen or ("je", "vous") in pairs and any(
            a == "vous" and b in SENDING_VERBS for a, b in zip(words, words[1:])):
        out.append("c:envoi_pieces")
    return out


DATE = re.compile(r"\d{1,2}/\d{1,2}/\d{2,4}")
TECHNICAL_SENDER = re.compile(r"no.?reply|ne.?pas.?repondre|mailer-daemon|postmaster|notification")


def _shape(word: str) -> str:
    """Digits replaced by 0 (a phone number or a file number is not a cue, its shape is)."""
    return word if word.isalpha() else DIGITS.sub("0", word)


def features(facts, rule=None) -> list[str]:
    """The cues of a message, as feature names (each counts once).

    ``facts`` is tracer.rules.classify.Facts; ``rule`` the first non-final
    category rule that applies (its id and category are cues too).
    """
    out: set[str] = set()
    add = out.add
    subject = facts.subject
    body = facts.body[:MAX_CHARS]
    sub = DIGITS.sub
    out.update(map("s:".__add__, {(w if w.isalpha() else sub("0", w))[:STEM] for w in WORD.findall(subject)}))
    raw_words = WORD.findall(body)
    words = [w if w.isalpha() else sub("0", w) for w in raw_words]  # _shape, inlined
    stem_set = {w[:STEM] for w in words}
    out.update(map("w:".__add__, stem_set))
    short = [w[:PAIR_STEM] for w in words]
    out.update(map("p:{}_{}".format, short, short[1:]))
    text = facts.text[: MAX_CHARS + len(subject) + 1]
    out.update(_cues(raw_words, stem_set, short, text))
    n = len(words)
    add("n:" + ("0" if n == 0 else "1" if n < 15 else "2" if n < 40 else "3" if n < 120 else "4" if n < 300 else "5"))
    questions = text.count("?")
    add("q:" + ("0" if questions == 0 else "1" if questions == 1 else "2"))
    if subject.startswith(("re:", "re :", "tr:", "tr :", "fwd:", "fw:", "transfert")):
        add("s:re" if subject.startswith("re") else "s:tr")
    headers = facts.headers
    for name in ("auto-submitted", "precedence", "list-id", "list-unsubscribe", "in-reply-to", "x-autoreply",
                 "x-auto-response-suppress", "return-path"):
        if name in headers:
            add("h:" + name)
    sender = facts.sender
    if TECHNICAL_SENDER.search(sender):
        add("h:noreply")
    if facts.content_type:
        add("h:ct:" + facts.content_type.split(";")[0])
    if facts.has_attachment:
        add("h:pj")
    for box in facts.mailbox:
        if "@" not in box:
            add("m:" + box)
    if rule is not None:
        add("r:" + rule.id)
        add("rc:" + rule.category)
    else:
        add("rc:aucune")
    return list(out)


def feature_label(name: str) -> str:
    """A feature as an agent reads it, in French."""
    kind, _, value = name.partition(":")
    if name in CUE_LABELS:
        return CUE_LABELS[name]
    if kind == "s":
        return {"re": "objet « RE: » (réponse)", "tr": "objet « TR: » (transfert)"}.get(value, f"objet : mot « {value}… »")
    if kind == "w":
        return f"mot « {value}… »"
    if kind == "p":
        return f"expression « {value.replace('_', ' ')}… »"
    if kind == "n":
        return {"0": "message vide", "1": "message très court", "2": "message court", "3": "message moyen",
                "4": "message long", "5": "message très long"}.get(value, "longueur")
    if kind == "q":
        return {"0": "aucune question", "1": "une question", "2": "plusieurs questions"}.get(value, "questions")
    if kind == "h":
        if value == "noreply":
            return "expéditeur technique ou « ne pas répondre »"
        if value == "pj":
            return "pièce jointe"
        if value.startswith("ct:"):
            return f"type {value[3:]}"
        return f"en-tête {value}"
    if kind == "m":
        return f"boîte {value}"
    if kind == "r":
        return f"règle {value}"
    if kind == "rc":
        from tracer.core.french import category

        return "aucune règle ne s'applique" if value == "aucune" else f"une règle dit « {category(value)} »"
    if kind == "rt":
        from tracer.rules.vocabulary import topic_label

        return f"une règle de thème dit « {topic_label(value)} »"
    return name


@dataclass
class Scores:
    label: str
    margin: float
    cues: list[tuple[str, float]]  # (feature, weight for the label minus the runner-up), strongest first


class Linear:
    """One linear model: per class, a bias and a weight per known feature.

    Stored by feature (each known feature maps to its weights, one per class),
    so scoring a message is one dict lookup per feature and one C-level sum per
    class; the file holds the weights as one block of float32 numbers, which
    loads without parsing a number at a time.
    """

    def __init__(self, classes: list[str], vocabulary: list[str], weights: list[list[float]], bias: list[float]):
        if len(weights) != len(classes) or len(bias) != len(classes):
            raise ValueError("dimensions")
        if any(len(row) != len(vocabulary) for row in weights):
            raise ValueError("dimensions")
        columns = list(zip(*weights)) if vocabulary else []
        self._set(list(classes), list(vocabulary), columns, list(map(float, bias)))

    def _set(self, classes, vocabulary, columns, bias) -> None:
        self.classes = classes
        self.vocabulary = vocabulary
        self.columns = dict(zip(vocabulary, columns))  # feature -> its weight for each class
        self.bias = tuple(bias)

    @property
    def weights(self) -> list[list[float]]:
        """Per class, the weight of each feature of the vocabulary (in its order)."""
        cols = [self.columns[f] for f in self.vocabulary]
        return [list(row) for row in zip(*cols)] if cols else [[] for _ in self.classes]

    def known(self, feats: list[str]) -> list[tuple]:
        return [c for c in map(self.columns.get, feats) if c is not None]

    def scores(self, cols: list[tuple], allowed=None) -> list[float]:
        if not cols:
            sums = [0.0] * len(self.classes)
        else:
            scale = 1.0 / math.sqrt(len(cols))
            sums = [scale * s for s in map(sum, zip(*cols))]
        if allowed is None:
            return [b + s for b, s in zip(self.bias, sums)]
        return [b + s if c in allowed else -math.inf for c, b, s in zip(self.classes, self.bias, sums)]

    def decide(self, feats: list[str], allowed=None, explain: bool = False) -> Scores:
        names = [f for f in feats if f in self.columns] if explain else None
        cols = self.known(feats)
        scores = self.scores(cols, allowed)
        order = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)
        best = order[0]
        second = order[1] if len(order) > 1 else best
        margin = scores[best] - scores[second] if scores[second] != -math.inf else math.inf
        cues: list[tuple[str, float]] = []
        if explain:
            pulls = [(f, c[best] - (c[second] if second != best else 0.0)) for f, c in zip(names, cols)]
            cues = sorted((p for p in pulls if p[1] > 0), key=lambda p: -p[1])[:6]
        return Scores(self.classes[best], margin, cues)

    def to_json(self) -> dict:
        """Classes, bias, the vocabulary as one text and the weights (feature by feature, class by
        class) as base64 of little-endian float32."""
        flat = array("f", (w for f in self.vocabulary for w in self.columns[f]))
        if sys.byteorder != "little":
            flat.byteswap()
        return {"classes": self.classes, "vocabulary": "\n".join(self.vocabulary),
                "weights": base64.b64encode(flat.tobytes()).decode("ascii"),
                "bias": [round(b, 6) for b in self.bias]}

    @classmethod
    def from_json(cls, data: dict) -> "Linear":
        classes, bias = list(data["classes"]), [float(b) for b in data["bias"]]
        vocabulary = data["vocabulary"].split("\n") if data["vocabulary"] else []
        flat = array("f")
        flat.frombytes(base64.b64decode(data["weights"], validate=True))
        if sys.byteorder != "little":
            flat.byteswap()
        k = len(classes)
        if len(bias) != k or len(flat) != k * len(vocabulary):
            raise ValueError("dimensions")
        values = flat.tolist()
        columns = [tuple(values[i:i + k]) for i in range(0, len(values), k)]
        self = cls.__new__(cls)
        self._set(classes, vocabulary, columns, bias)
        return self


@dataclass
class Model:
    category: Linear
    topic: Linear
    meta: dict

    def to_bytes(self) -> bytes:
        data = {"format": FORMAT, "version": FORMAT_VERSION, "features": FEATURES_VERSION, "meta": self.meta,
                "category": self.category.to_json(), "topic": self.topic.to_json()}
        return gzip.compress(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), mtime=0)

    @classmethod
    def from_bytes(cls, raw: bytes) -> "Model":
        data = json.loads(gzip.decompress(raw).decode("utf-8"))
        if data.get("format") != FORMAT or data.get("version") != FORMAT_VERSION:
            raise ValueError("format de modèle inconnu")
        if data.get("features") != FEATURES_VERSION:
            raise ValueError("modèle entraîné sur d'autres indices (version différente)")
        return cls(Linear.from_json(data["category"]), Linear.from_json(data["topic"]), data.get("meta", {}))

    def write(self, path: Path) -> None:
        import os
        import tempfile

        paths.make_private_dir(path.parent)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=".scorer-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(self.to_bytes())
            os.replace(name, path)  # whole or not at all
        except BaseException:
            if os.path.exists(name):
                os.unlink(name)
            raise


def read_model(path: Path) -> Model | None:
    """The model at ``path``, or None if missing or not valid."""
    try:
        return Model.from_bytes(Path(path).read_bytes())
    except (OSError, ValueError, KeyError, TypeError, EOFError, gzip.BadGzipFile):
        return None


def local_model_path(data_dir: Path) -> Path:
    return Path(data_dir) / "model" / LOCAL_NAME


def load_model(data_dir: Path | None = None) -> tuple[Model | None, str]:
    """The prefecture's own model if there is a valid one, else the shipped one; and where it came from."""
    if data_dir is not None:
        path = local_model_path(data_dir)
        if path.exists():
            model = read_model(path)
            if model is not None:
                return model, str(path)
    model = read_model(SHIPPED_MODEL)
    return model, ("livré" if model is not None else "aucun")
