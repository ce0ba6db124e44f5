"""Regenerate ``tracer/demo_mail/`` from the labelled French set in tests/.

    python scripts/make_demo_mail.py

About 40 fictional messages spread over the third quarter of 2026 (each with a
``Received:`` header, which gives ``tracer import`` its reception time), the
prefecture's replies to some of them in ``sent/``, and a citizen's follow-up.
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
PICK = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 16, 19, 21, 22, 23, 24, 25, 26, 27, 30, 31, 33, 38, 39, 40, 44, 45, 47, 49,
        53, 54, 57, 58, 62, 63, 67, 68, 70, 72]
REPLIED = {1: 2, 2: 1, 4: 9, 21: 3, 22: 6, 38: 4, 44: 12, 9: 1}  # corpus index -> days to the reply


def slug(text: str) -> str:
    keep = "".join(c.lower() if c.isalnum() else "-" for c in text.encode("ascii", "ignore").decode())
    return "-".join(p for p in keep.split("-") if p)[:40] or "message"


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    (OUT / "sent").mkdir(parents=True)
    start = datetime(2026, 7, 1, 8, 17, tzinfo=PARIS)
    for n, index in enumerate(PICK, start=1):
        entry = CORPUS[index - 1]
        raw = build(index, entry)
        msg = message_from_bytes(raw, policy=policy.compat32)
        when = start + timedelta(days=n * 2.2, hours=(n * 5) % 9, minutes=n * 7)
        to = "pref-qualite@haute-savoie.gouv.fr" if entry[0] in ("reclamation", "suggestion") else "prefecture@haute-savoie.gouv.fr"
        del msg["To"], msg["Date"]
        msg["To"] = to
        msg["Date"] = format_datetime(when - timedelta(minutes=2))
        head = f"Received: from mx.exemple-mail.fr by mx.haute-savoie.gouv.fr; {format_datetime(when)}\n".encode()
        (OUT / f"{n:02d}-{slug(entry[2])}.eml").write_bytes(head + msg.as_bytes())
        if index in REPLIED:
            answer = when + timedelta(days=REPLIED[index], hours=2)
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
    follow = (
        "Received: from mx.exemple-mail.fr by mx.haute-savoie.gouv.fr; Thu, 03 Sep 2026 11:02:00 +0200\n"
        "From: Camille Bernard <usager11@exemple-mail.fr>\nTo: prefecture@haute-savoie.gouv.fr\n"
        "Subject: RE: Voyage et absence\nMessage-ID: <relance-11@exemple-mail.fr>\nIn-Reply-To: <corpus-11@exemple-mail.fr>\n"
        "References: <corpus-11@exemple-mail.fr>\nDate: Thu, 03 Sep 2026 11:00:00 +0200\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        "Bonjour,\n\nJe me permets de vous relancer : je pars bientôt et n'ai pas encore de réponse.\n\nCamille Bernard\n"
    )
    (OUT / "41-relance.eml").write_bytes(follow.encode())


if __name__ == "__main__":
    main()
