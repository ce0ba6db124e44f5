"""The référent's pages: « Indicateurs », « Contrôle trimestriel », « Journal », « État du service ».

Roles: ``referent`` and ``auditeur`` read every page (every service: their scope
is None); only ``referent`` changes anything (draw, grid, freeze, resend): the
auditor gets no such button and a forged POST answers 403. ``agent`` and
``admin`` are refused every page here (403).

Every figure comes from the service layer (``tracer.reports``): the same
functions as ``tracer stats``, ``tracer sample``/``control`` and ``tracer status``.
"""

from __future__ import annotations

import re
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response

from tracer.core import clock, french
from tracer.core.errors import UserError
from tracer.rules.vocabulary import TOPIC_CATEGORIES
from tracer.reports import charts, control_sheet, dashboard, exports, journal, quality, stats, status
from tracer.web.deps import CurrentUser, ReadSession, RuntimeDep, User, WriteSession
from tracer.web.rendering import redirect, render

router = APIRouter()

READERS = ("referent", "auditeur")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GROUPING_FR = {"service": "Service", "category": "Catégorie", "channel": "Canal", "topic": "Thème", "month": "Mois",
               "assignee": "Agent attributaire"}
SHAPES = {"trimestre": r"\d{4}-Q[1-4]", "mois": r"\d{4}-\d{2}", "annee": r"\d{4}"}
PERIOD_FR = {"trimestre": "Trimestre", "mois": "Mois", "annee": "Année", "dates": "Du … au …"}


def referent_reader(user: CurrentUser) -> User:
    """The référent or the auditor (every service); anyone else: 403."""
    if user.role not in READERS:
        raise HTTPException(403, "Cette page est réservée au référent qualité et à l'auditeur.")
    return user


def referent_only(user: CurrentUser) -> User:
    """An action of the référent; the auditor reads only."""
    if user.role != "referent":
        raise HTTPException(403, "Seul le référent qualité peut faire cette action : votre rôle est en lecture seule.")
    return user


Reader = Annotated[User, Depends(referent_reader)]
Referent = Annotated[User, Depends(referent_only)]


def _today(rt) -> date:
    return clock.local(clock.now(), rt.cfg.tz).date()


def _as_of(rt, text: str | None):
    if not text:
        return clock.now()
    try:
        return clock.parse_instant(text, rt.cfg.tz)
    except (TypeError, ValueError):
        raise UserError(f"date d'arrêté invalide « {text} » (attendu : JJ/MM/AAAA HH:MM ou AAAA-MM-JJTHH:MM)") from None


def _file(body: bytes, media: str, name: str) -> Response:
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _xlsx(write) -> bytes:
    """Write a workbook with ``write(path)`` to a temporary file and return its bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "classeur.xlsx"
        write(path)
        return path.read_bytes()


def finished_quarters(today: date, count: int = 8) -> list[str]:
    """The last ``count`` finished quarters, the most recent first."""
    out, q = [], dashboard.previous_quarter(today)
    for _ in range(count):
        out.append(q)
        start, _end = stats.quarter_bounds(q)
        q = dashboard.previous_quarter(start)
    return out


# --------------------------------------------------------------------------
# « Indicateurs »


class DashboardQuery:
    """The page's parameters: ``periode`` (trimestre, mois, annee, dates), ``valeur``, ``du``/``au``, ``par``, ``arrete``."""

    def __init__(self, request: Request, rt):
        q = request.query_params
        self.kind = q.get("periode") or "trimestre"
        self.value = (q.get("valeur") or "").strip()
        self.date_from = (q.get("du") or "").strip()
        self.date_to = (q.get("au") or "").strip()
        self.by = q.get("par") or "service"
        self.as_of_text = (q.get("arrete") or "").strip()
        if any(re.fullmatch(shape, self.value, re.I) for kind, shape in SHAPES.items() if kind != self.kind):
            self.value = ""  # the value of the kind chosen before (2026-Q3 then « Mois »): this month, quarter or year
        self.period = dashboard.choose_period(self.kind, self.value, self.date_from, self.date_to, _today(rt))
        self.as_of = _as_of(rt, self.as_of_text)
        if self.by not in dashboard.GROUPINGS:
            raise UserError(f"regroupement inconnu « {self.by} » (attendu : {', '.join(dashboard.GROUPINGS)})")

    def params(self) -> dict:
        p = {"periode": self.period.kind, "par": self.by}
        if self.period.kind == "dates":
            p["du"], p["au"] = self.period.start.isoformat(), self.period.end.isoformat()
        else:
            p["valeur"] = self.period.value
        if self.as_of_text:
            p["arrete"] = self.as_of_text
        return p


@router.get("/indicateurs")
def indicators_page(request: Request, session: ReadSession, rt: RuntimeDep, user: Reader):
    query = DashboardQuery(request, rt)
    data = dashboard.dashboard(session, rt, query.period, query.as_of, query.by)
    published = data["frozen"]
    frozen = None
    if published is not None:
        compared = quality.compare(session, rt, published)
        frozen = {**compared, "drift": quality.drift(session, rt, published)}
    quarter = query.period.quarter
    today = _today(rt)
    may_freeze = (quarter is not None and published is None and control_sheet.finished(quarter, today)
                  and user.role == "referent")
    svg = {
        "taux": charts.rate_line("graphique-taux", data["rate_by_month"], stats.TARGET),
        "delais": charts.bars("graphique-delais", data["delay_by_service"], "Délai moyen de réponse par service (jours)",
                              " j"),
        "themes": charts.grouped_bars("graphique-themes", [(t, [c, s]) for t, c, s in data["topics"]],
                                      ["Réclamations", "Suggestions"], "Réclamations et suggestions par thème"),
    }
    return render(request, "referent/indicateurs.html", data=data, query=query, params=query.params(), svg=svg,
                  frozen=frozen, may_freeze=may_freeze, groupings=GROUPING_FR, kinds=PERIOD_FR,
                  transparence_quarter=quarter or dashboard.previous_quarter(today),
                  frozen_quarters=quality.frozen_quarters(session, rt), num=charts.number_fr, target=stats.TARGET,
                  breadcrumb=[("Indicateurs", None)])


def _stem(query: DashboardQuery) -> str:
    return f"indicateurs-{query.period.value.replace('..', '_')}-par-{query.by}"


@router.get("/indicateurs.csv")
def indicators_csv(request: Request, session: ReadSession, rt: RuntimeDep, user: Reader):
    """The dashboard's table for French Excel (UTF-8 with BOM, semicolons, decimal commas)."""
    query = DashboardQuery(request, rt)
    result = stats.compute(session, rt, query.period.start, query.period.end, query.as_of, [query.by],
                           TOPIC_CATEGORIES if query.by == "topic" else None)
    return _file(exports.to_csv(result, [query.by], services=dashboard.service_labels(rt)), "text/csv; charset=utf-8",
                 _stem(query) + ".csv")


@router.get("/indicateurs.xlsx")
def indicators_xlsx(request: Request, session: ReadSession, rt: RuntimeDep, user: Reader):
    """The dashboard's table as a workbook, with the monthly rate and its chart (as ``tracer stats --format xlsx``)."""
    query = DashboardQuery(request, rt)
    table, monthly = stats.compute_many(session, rt, query.period.start, query.period.end, query.as_of,
                                        [[query.by], ["month"]], [TOPIC_CATEGORIES if query.by == "topic" else None, None])
    body = _xlsx(lambda path: exports.to_xlsx(table, [query.by], path, monthly, dashboard.service_labels(rt), None,
                                              rt.cfg.tz))
    return _file(body, XLSX, _stem(query) + ".xlsx")


@router.get("/indicateurs/transparence.xlsx")
def transparence_xlsx(request: Request, session: ReadSession, rt: RuntimeDep, user: Reader, trimestre: str = ""):
    """The « Transparence » table of a quarter: its published figures when frozen, else today's."""
    period = dashboard.quarter_period(trimestre or dashboard.previous_quarter(_today(rt)))
    result = dashboard.transparence(session, rt, period, clock.now())
    body = _xlsx(lambda path: exports.to_xlsx(result, quality.FREEZE_BY, path, None, dashboard.service_labels(rt),
                                              f"Transparence {period.value}", rt.cfg.tz))
    return _file(body, XLSX, f"transparence-{period.value}.xlsx")


# --------------------------------------------------------------------------
# « Figer un trimestre »


def _freezable(session, rt, trimestre: str) -> dashboard.Period:
    period = dashboard.quarter_period(trimestre)
    if not control_sheet.finished(period.value, _today(rt)):
        last = period.end - timedelta(days=1)
        raise UserError(f"le {french.quarter(period.value)} n'est pas terminé (il se termine le {last:%d/%m/%Y}) : "
                        "ses chiffres se figent une fois le trimestre fini")
    published = quality.frozen_for(session, period.start, period.end)
    if published is not None:
        raise UserError(f"les chiffres du {french.quarter(period.value)} sont déjà figés "
                        f"(le {french.when(published.created_at, rt.cfg.tz)} par {published.created_by}) : "
                        "ils ne se modifient pas")
    return period


@router.get("/indicateurs/figer")
def freeze_confirm(request: Request, session: ReadSession, rt: RuntimeDep, user: Referent, trimestre: str = ""):
    """What will be frozen: the quarter's figures by channel and category, as of now; a button confirms."""
    period = _freezable(session, rt, trimestre)
    figures = stats.compute(session, rt, period.start, period.end, clock.now(), quality.FREEZE_BY)
    rows = [{"channel": french.channel(g["key"]["channel"]), "category": french.category(g["key"]["category"]), **g}
            for g in figures["groups"]]
    return render(request, "referent/figer.html", period=period, figures=figures, rows=rows, num=charts.number_fr,
                  quarter_fr=french.quarter(period.value),
                  breadcrumb=[("Indicateurs", f"/indicateurs?periode=trimestre&valeur={period.value}"),
                              ("Figer les chiffres", None)])


@router.post("/indicateurs/figer")
def freeze(request: Request, session: WriteSession, rt: RuntimeDep, user: Referent, trimestre: str = Form("")):
    period = _freezable(session, rt, trimestre)
    now = clock.now()
    quality.freeze(session, rt, period.value, now, user.login, now)
    return redirect(f"/indicateurs?periode=trimestre&valeur={period.value}",
                    f"Chiffres du {french.quarter(period.value)} figés par {user.login}.")


# --------------------------------------------------------------------------
# « Contrôle trimestriel »


def _quarter_param(rt, text: str | None) -> str:
    quarter = (text or "").strip().upper() or dashboard.previous_quarter(_today(rt))
    stats.quarter_bounds(quarter)  # a French UserError when malformed
    return quarter


@router.get("/controle")
def control_page(request: Request, session: ReadSession, rt: RuntimeDep, user: Reader, trimestre: str = "",
                 demande: str = ""):
    quarter = _quarter_param(rt, trimestre)
    sheet = control_sheet.sheet(session, rt, quarter)
    current = None
    if sheet is not None:
        wanted = demande.strip().upper()
        items = [i for i in sheet["items"] if not i["missing"]]
        current = next((i for i in items if i["reference"] == wanted), None) if wanted else None
        if current is None and not wanted:
            current = next((i for i in items if not i["control"]), items[0] if items else None)
        if current is None and wanted:
            raise UserError(f"{wanted} n'est pas dans l'échantillon tiré pour {quarter}")
        position = [i["reference"] for i in sheet["items"]].index(current["reference"]) if current else None
        sheet["position"] = position
    return render(request, "referent/controle.html", quarter=quarter, quarter_fr=french.quarter(quarter), sheet=sheet,
                  current=current, criteria=control_sheet.CRITERIA, quarters=finished_quarters(_today(rt)),
                  finished=control_sheet.finished(quarter, _today(rt)), max_size=control_sheet.MAX_SIZE,
                  num=charts.number_fr, breadcrumb=[("Contrôle trimestriel", None)])


@router.post("/controle/tirage")
def control_draw(request: Request, session: WriteSession, rt: RuntimeDep, user: Referent, trimestre: str = Form(""),
                 taille: str = Form("20"), graine: str = Form("")):
    quarter = _quarter_param(rt, trimestre)
    try:
        size = int(taille.strip())
    except ValueError:
        raise UserError(f"taille de l'échantillon : un nombre entier est attendu, reçu « {taille} »") from None
    try:
        seed = int(graine.strip()) if graine.strip() else None
    except ValueError:
        raise UserError(f"graine : un nombre entier est attendu, reçu « {graine} »") from None
    drawn = control_sheet.draw(session, rt, quarter, size, seed, user.login, clock.now())
    return redirect(f"/controle?trimestre={quarter}",
                    f"Échantillon tiré : {len(drawn['references'])} réponse(s), graine {drawn['seed']}.")


@router.post("/controle/grille")
def control_grid(request: Request, session: WriteSession, rt: RuntimeDep, user: Referent,
                 trimestre: str = Form(""), demande: str = Form(""), observations: str = Form(""),
                 clair: str = Form(""), complet: str = Form(""), courtois: str = Form(""), signe: str = Form(""),
                 coordonnees: str = Form(""), delai: str = Form("")):
    """One filled grid (a checked box sends « oui »), recorded as ``tracer control`` does; then the next request."""
    quarter = _quarter_param(rt, trimestre)
    reference = demande.strip().upper()
    sent = {"clair": clair, "complet": complet, "courtois": courtois, "signe": signe, "coordonnees": coordonnees,
            "delai": delai}
    grid = {key: sent[key] == "oui" for key, _label in control_sheet.CRITERIA}
    result = control_sheet.record(session, rt, quarter, reference, grid, observations, user.login, clock.now())
    sheet = control_sheet.sheet(session, rt, quarter)
    following = next((i["reference"] for i in sheet["items"] if not i["missing"] and not i["control"]), None)
    target = f"/controle?trimestre={quarter}" + (f"&demande={following}" if following else "")
    return redirect(target, f"{reference} : contrôle enregistré ({french.result(result)}). "
                            f"{sheet['done']} / {sheet['total']} contrôlées.")


@router.get("/controle/export.xlsx")
def control_export(request: Request, session: ReadSession, rt: RuntimeDep, user: Reader, trimestre: str = ""):
    quarter = _quarter_param(rt, trimestre)
    sheet = control_sheet.sheet(session, rt, quarter)
    if sheet is None:
        raise UserError(f"aucun échantillon tiré pour le {french.quarter(quarter)} : rien à exporter")
    body = _xlsx(lambda path: control_sheet.to_xlsx(sheet, path, rt.cfg.tz))
    return _file(body, XLSX, f"controle-{quarter}.xlsx")


# --------------------------------------------------------------------------
# « Journal »


def _journal_filters(request: Request) -> tuple[journal.Filters, dict]:
    q = request.query_params
    raw = {"demande": q.get("demande", ""), "compte": q.get("compte", ""), "type": q.get("type", ""),
           "du": q.get("du", ""), "au": q.get("au", "")}
    filters = journal.Filters.parse(raw["demande"], raw["compte"], raw["type"], raw["du"], raw["au"])
    return filters, {k: v.strip() for k, v in raw.items() if v and v.strip()}


@router.get("/journal")
def journal_page(request: Request, session: ReadSession, rt: RuntimeDep, user: Reader):
    filters, query = _journal_filters(request)
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1
    data = journal.events(session, rt, filters, page)
    return render(request, "referent/journal.html", data=data, query=query, filters=filters,
                  kinds=journal.kinds(session), actors=journal.actors(session), details=journal.details,
                  breadcrumb=[("Journal", None)])


@router.get("/journal.csv")
def journal_csv(request: Request, session: ReadSession, rt: RuntimeDep, user: Reader):
    filters, _query = _journal_filters(request)
    body = journal.to_csv(session, rt, filters, lambda kind: french.EVENT.get(kind, kind))
    stamp = _today(rt).isoformat()
    return _file(body, "text/csv; charset=utf-8", f"journal-{stamp}.csv")


# --------------------------------------------------------------------------
# « État du service »


@router.get("/etat")
def status_page(request: Request, session: ReadSession, rt: RuntimeDep, user: Reader):
    data = status.page(session, rt, clock.now())
    return render(request, "referent/etat.html", data=data, outbox_kind=french.OUTBOX_KIND,
                  outbox_status=french.OUTBOX_STATUS, poll_seconds=int(rt.cfg.schedule.poll_seconds),
                  breadcrumb=[("État du service", None)])


@router.post("/etat/renvoi/{outbox_id}")
def resend(outbox_id: int, request: Request, rt: RuntimeDep, user: Referent):
    """« Renvoyer »: one queued mail sent now, whatever its state but sent (``tracer outbox --force ID``)."""
    from tracer.outgoing import outbox

    state = outbox.deliver(request.app.state.engine, rt.cfg, outbox_id, clock.now(), force=True)
    label = french.OUTBOX_STATUS.get("uncertain" if state == "sending" else state, state)
    return redirect("/etat", f"Envoi n° {outbox_id} : {label}.")


@router.get("/etat/quarantaine/{item_id}.eml")
def quarantine_raw(item_id: int, session: ReadSession, user: Reader):
    """The raw bytes of a message kept in quarantine, as received."""
    from tracer.mail import quarantine

    return _file(quarantine.raw(session, item_id), "message/rfc822", f"quarantaine-{item_id}.eml")
