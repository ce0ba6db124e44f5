"""Regenerate ``tracer/demo_mail/`` from the labelled French set in tests/.

    python scripts/make_demo_mail.py

About 40 fictional messages over a quarter that ends on ``DEMO_TODAY`` (each
with a ``Received:`` header, which gives ``tracer import`` its reception time),
the prefecture's replies in ``sent/``, and a citizen's follow-up. The quarter is
a believable one: most requests answered within the deadline, three answered
late, one overdue, three received in the last days still open; the rate is
above the 80 % target. ``tracer demo`` moves every date by whole days so that
``DEMO_TODAY`` falls on the day it runs (tracer/demo.py).
"""

import shutil
import sys
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from corpus_classification import CORPUS, build  # noqa: E402

PARIS = ZoneInfo("Europe/Paris")
OUT = ROOT / "tracer" / "demo_mail"
# The sample, by subject (the corpus grows; its indices move): its first entry of each subject.
SUBJECTS = [
    "Renouvellement titre de séjour", "Question carte grise", "horaires", "Demande de renseignements - permis de conduire",
    "Passeport pour mon fils", "rendez-vous", "Demande d'information", "Attestation de prolongation d'instruction",
    "Pièces pour un duplicata de permis", "Voyage et absence", "Demande", "Accueil des étrangers : documents",
    "Objet trouvé", "Impossible de vous joindre", "Rendez-vous introuvables", "Mauvais accueil au guichet",
    "RECLAMATION", "Le site ne fonctionne pas", "Aucune réponse à mes courriels", "Attente",
    "carte grise toujours pas recue", "Récépissé expiré", "Module de rendez-vous saturé",
    "Suggestion pour les rendez-vous", "Une idée pour la salle d'attente", "Proposition d'amélioration du site",
    "Où en est mon dossier ?", "Etat d'avancement de ma demande", "Acte de naissance", "Problème avec la CAF",
    "Absence du bureau", "Out of Office: Request", "Automatic reply: Titre de séjour", "Undelivered Mail Returned to Sender",
    "La lettre d'information de la sécurité routière - septembre", "Votre infolettre hebdomadaire",
    "Promotions de la rentrée", "Appels sans réponse", "Absence de réponse à ma demande",
    "Demande d'information - titre de séjour",
]
PICK = [next(i for i, entry in enumerate(CORPUS, start=1) if entry[2] == subject) for subject in SUBJECTS]
DEMO_TODAY = datetime(2026, 9, 30, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))  # must match tracer/demo.py
# Position in PICK (1-based) -> days to the reply. The others get none: the hors-périmètre and
# automatic mail, the overdue one (26) and the three received in the last days (38-40).
LATE = {16: 12.1, 20: 13.0}  # answered after their deadline (11 is answered late after its follow-up)
ON_TIME = [0.9, 1.2, 2.1, 0.3, 3.0, 1.1, 2.2]  # cycled over the other requests of the perimeter
IN_SCOPE = [*range(1, 8), *range(9, 27), 38, 39, 40]
OVERDUE = 26
FOLLOWED_UP = 10  # « Voyage et absence »: the citizen writes again after the deadline, then is answered
RECENT = {38: 3, 39: 2, 40: 1}  # days before DEMO_TODAY


def slug(text: str) -> str:
    keep = "".join(c.lower() if c.isalnum() else "-" for c in text.encode("ascii", "ignore").decode())
    return "-".join(p for p in keep.split("-") if p)[:40] or "message"


def reply_days(n: int, k: int) -> float | None:
    if n not in IN_SCOPE or n == OVERDUE or n in RECENT:
        return None
    if n in LATE:
        return LATE[n]
    if n == FOLLOWED_UP:
        return 9.1  # after the citizen's follow-up
    return ON_TIME[k % len(ON_TIME)]


def received_at(n: int) -> datetime:
    if n in RECENT:
        return (DEMO_TODAY - timedelta(days=RECENT[n])).replace(hour=9 + 2 * RECENT[n], minute=n)
    start = datetime(2026, 7, 1, 8, 17, tzinfo=PARIS)
    return start + timedelta(days=n * 2.1, hours=(n * 5) % 9, minutes=n * 7)


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    (OUT / "sent").mkdir(parents=True)
    for n, index in enumerate(PICK, start=1):
        entry = CORPUS[index - 1]
        raw = build(index, entry)
        msg = message_from_bytes(raw, policy=policy.compat32)
        when = received_at(n)
        to = "pref-qualite@haute-savoie.gouv.fr" if entry[0] in ("reclamation", "suggestion") else "prefecture@haute-savoie.gouv.fr"
        del msg["To"], msg["Date"]
        msg["To"] = to
        msg["Date"] = format_datetime(when - timedelta(minutes=2))
        head = f"Received: from mx.exemple-mail.fr by mx.haute-savoie.gouv.fr; {format_datetime(when)}\n".encode()
        (OUT / f"{n:02d}-{slug(entry[2])}.eml").write_bytes(head + msg.as_bytes())
        days = reply_days(n, n)
        if days is not None:
            answer = when + timedelta(days=days)
            answer = answer.replace(hour=max(9, min(answer.hour, 17)))  # during office hours
            if answer <= when:
                answer = when + timedelta(hours=2)
            reply = (
                f"From: {to}\nTo: {msg['From']}\nSubject: RE: {entry[2]}\n"
                f"Message-ID: <reponse-{index}@haute-savoie.gouv.fr>\nIn-Reply-To: {msg['Message-ID']}\n"
                f"References: {msg['Message-ID']}\nDate: {format_datetime(answer)}\nMIME-Version: 1.0\n"
                "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
                "Madame, Monsieur,\n\nNous avons bien reçu votre message et vous en remercions.\n"
                "Vous trouverez toutes les informations utiles sur le site de la préfecture, rubrique « Démarches ».\n\n"
                "Nous restons à votre disposition.\n\nPréfecture de la Haute-Savoie\n"
            )
            head = f"Received: by mx.haute-savoie.gouv.fr; {format_datetime(answer)}\n"
            (OUT / "sent" / f"{n:02d}-reponse.eml").write_bytes((head + reply).encode())
    first = received_at(FOLLOWED_UP)
    relance = first + timedelta(days=8, hours=1)
    original = f"<corpus-{PICK[FOLLOWED_UP - 1]}@exemple-mail.fr>"
    follow = (
        f"Received: from mx.exemple-mail.fr by mx.haute-savoie.gouv.fr; {format_datetime(relance)}\n"
        f"From: Camille Bernard <usager{PICK[FOLLOWED_UP - 1]}@exemple-mail.fr>\nTo: prefecture@haute-savoie.gouv.fr\n"
        "Subject: RE: Voyage et absence\nMessage-ID: <relance-11@exemple-mail.fr>\n"
        f"In-Reply-To: {original}\nReferences: {original}\nDate: {format_datetime(relance - timedelta(minutes=2))}\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        "Bonjour,\n\nJe me permets de vous relancer : je pars bientôt et n'ai pas encore de réponse.\n\nCamille Bernard\n"
    )
    (OUT / "41-relance.eml").write_bytes(follow.encode())


if __name__ == "__main__":
    main()
