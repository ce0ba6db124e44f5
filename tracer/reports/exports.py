"""Indicators as a person reads them: French table, CSV for French Excel, XLSX, HTML."""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path

from tracer.rules.vocabulary import topic_ids, topic_label
from tracer.reports.stats import TARGET

FIGURES = [
    ("received", "Reçues"),
    ("answered", "Répondues"),
    ("on_time", "Dans les délais"),
    ("late", "Hors délais"),
    ("pending", "En attente"),
    ("rate_on_time", "Taux dans les délais (%)"),
    ("mean_delay_days", "Délai moyen (jours)"),
    ("mean_delay_working_days", "Délai moyen (jours ouvrés)"),
]
KEY_LABELS = {
    "service": "Service",
    "mailbox": "Boîte",
    "category": "Catégorie",
    "topic": "Thème",
    "channel": "Canal",
    "week": "Semaine",
    "month": "Mois",
    "quarter": "Trimestre",
}
VALUE_LABELS = {
    "information": "Demande d'information",
    "reclamation": "Réclamation",
    "suggestion": "Suggestion",
    "email": "Courriel",
    "paper": "Courrier",
    **{t: topic_label(t) for t in topic_ids()},
}
DEFINITIONS = [
    ("Période", "Demandes reçues du premier jour inclus (0 h, heure de Paris) au dernier jour exclu."),
    ("Périmètre", "Demandes d'information, réclamations et suggestions ; les messages hors périmètre et automatiques ne sont pas comptés ; une demande non classée compte comme demande d'information."),
    ("Reçues", "Demandes du périmètre reçues pendant la période (heure de réception par la boîte : INTERNALDATE)."),
    ("Répondues", "Parmi elles, celles qui ont reçu une première réponse de fond à la date d'arrêté (as_of) ; un accusé de réception ne compte pas."),
    ("Dans les délais", "Répondues au plus tard à l'échéance (fin du N-ième jour ouvré après le jour de réception)."),
    ("Hors délais", "Répondues après l'échéance, plus les demandes sans réponse dont l'échéance est dépassée à la date d'arrêté."),
    ("En attente", "Sans réponse, échéance non encore atteinte : exclues du taux."),
    ("Taux dans les délais", "Dans les délais / (dans les délais + hors délais), en %, arrondi à 2 décimales ; objectif national : plus de 80 %."),
    ("Délai moyen (jours)", "Moyenne de (réponse − réception) en jours calendaires, sur les demandes répondues."),
    ("Délai moyen (jours ouvrés)", "Même moyenne en ne comptant que le temps écoulé pendant les jours ouvrés (week-ends, jours fériés et fermetures exclus)."),
    ("Sans échéance", "Une demande anonyme sans adresse de réponse compte dans les reçues, répondues et délais, jamais dans le taux."),
]


def label(key: str, value) -> str:
    if value is None:
        return "—"
    return VALUE_LABELS.get(value, str(value)) if key in ("category", "channel", "topic") else str(value)


def rows(result: dict, by: list[str]) -> list[list]:
    out = []
    for group in result["groups"]:
        out.append([label(k, group["key"][k]) for k in by] + [group[f] for f, _ in FIGURES])
    out.append((["Total"] + [""] * (len(by) - 1) if by else []) + [result["total"][f] for f, _ in FIGURES])
    return out


def headers(by: list[str]) -> list[str]:
    return [KEY_LABELS[k] for k in by] + [title for _, title in FIGURES]


def french_number(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}".replace(".", ",")
    return str(value)


def to_csv(result: dict, by: list[str], plain: bool = False) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="," if plain else ";", lineterminator="\r\n")
    writer.writerow(headers(by))
    for row in rows(result, by):
        writer.writerow([("" if v is None else v) if plain else (french_number(v) if not isinstance(v, str) else v) for v in row])
    text = buffer.getvalue()
    return text.encode("utf-8") if plain else "\ufeff".encode("utf-8") + text.encode("utf-8")


def to_xlsx(result: dict, by: list[str], path: Path, monthly: dict | None = None) -> None:
    from openpyxl import Workbook
    from openpyxl.chart import LineChart, Reference
    from openpyxl.styles import Alignment, Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = ("Par " + ", ".join(KEY_LABELS[k].lower() for k in by))[:31] if by else "Ensemble"
    period = result["period"]
    sheet.append([f"Indicateurs du {period['from']} au {period['to']} (exclu), arrêtés au {period['as_of']}"])
    sheet["A1"].font = Font(bold=True, size=12)
    sheet.append(headers(by))
    for cell in sheet[2]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="000091")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    red = PatternFill("solid", fgColor="F8C6C6")
    rate_col = len(by) + 6
    for row in rows(result, by):
        sheet.append(row)
        cell = sheet.cell(row=sheet.max_row, column=rate_col)
        if isinstance(cell.value, (int, float)) and cell.value < TARGET:
            cell.fill = red
    for column in sheet.columns:
        sheet.column_dimensions[column[1].column_letter].width = 18
    if monthly and monthly["groups"]:
        chart_sheet = book.create_sheet("Taux mensuel")
        chart_sheet.append(["Mois", "Taux dans les délais (%)", "Objectif (%)"])
        for group in monthly["groups"]:
            chart_sheet.append([group["key"]["month"], group["rate_on_time"], TARGET])
        chart = LineChart()
        chart.title = "Taux de réponse dans les délais, par mois"
        chart.y_axis.title = "%"
        chart.x_axis.title = "Mois"
        data = Reference(chart_sheet, min_col=2, min_row=1, max_col=3, max_row=chart_sheet.max_row)
        cats = Reference(chart_sheet, min_col=1, min_row=2, max_row=chart_sheet.max_row)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(cats)
        chart_sheet.add_chart(chart, "E2")
    if by == ["category", "topic"] and result["groups"]:
        _topics_chart(book, result)
    defs = book.create_sheet("Définitions")
    defs.append(["Indicateur", "Mode de calcul"])
    for cell in defs[1]:
        cell.font = Font(bold=True)
    for name, text in DEFINITIONS:
        defs.append([name, text])
    defs.column_dimensions["A"].width = 28
    defs.column_dimensions["B"].width = 110
    book.save(path)


def to_html(result: dict, by: list[str], title: str) -> str:
    head = "".join(f"<th style='border:1px solid #999;padding:4px;background:#000091;color:#fff'>{html.escape(h)}</th>" for h in headers(by))
    body = []
    for row in rows(result, by):
        cells = "".join(
            f"<td style='border:1px solid #999;padding:4px'>{html.escape(french_number(v) if not isinstance(v, str) else v)}</td>" for v in row
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        "<!DOCTYPE html><html lang='fr'><head><meta charset='utf-8'><title>"
        + html.escape(title)
        + "</title></head><body style='font-family:sans-serif'><h1>"
        + html.escape(title)
        + "</h1><table style='border-collapse:collapse'><thead><tr>"
        + head
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></body></html>\n"
    )


def _topics_chart(book, result: dict) -> None:
    """Complaints and suggestions by topic, as the quality committee presents them."""
    from openpyxl.chart import BarChart, Reference

    sheet = book.create_sheet("Thèmes")
    sheet.append(["Thème", "Réclamations", "Suggestions"])
    topics: dict[str, list[int]] = {}
    for group in result["groups"]:
        row = topics.setdefault(label("topic", group["key"]["topic"] or "autre"), [0, 0])
        row[0 if group["key"]["category"] == "reclamation" else 1] += group["received"]
    for topic, (complaints, suggestions) in sorted(topics.items(), key=lambda item: -sum(item[1])):
        sheet.append([topic, complaints, suggestions])
    chart = BarChart()
    chart.type = "bar"
    chart.title = "Réclamations et suggestions par thème"
    data = Reference(sheet, min_col=2, min_row=1, max_col=3, max_row=sheet.max_row)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=sheet.max_row))
    chart.height, chart.width = 9, 18
    sheet.add_chart(chart, "E2")
    sheet.column_dimensions["A"].width = 30
