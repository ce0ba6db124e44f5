"""« Demandes » (``/demandes``) and « Une demande » (``/demandes/{REF}``).

Every query passes the signed-in user's services (``user.services``): a request
of another service is not found (404), never fetched then checked.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tracer.core import clock
from tracer.register import accounts, threads
from tracer.register import requests as reg
from tracer.rules.vocabulary import CATEGORIES, topic_ids
from tracer.web import views
from tracer.web.deps import ReaderUser, ReadSession, RuntimeDep
from tracer.web.rendering import render, service_label

router = APIRouter()


def visible_services(rt, user) -> list[str]:
    """The services a user may filter on: its own, or every declared one."""
    return list(user.services) if user.services is not None else rt.cfg.service_names()


def _filters(request: Request, rt, user) -> dict:
    q = request.query_params
    service = q.get("service") or None
    if service is not None and service not in visible_services(rt, user):
        service = None
    category = q.get("categorie") if q.get("categorie") in CATEGORIES else None
    channel = q.get("canal") if q.get("canal") in reg.CHANNELS else None
    search = (q.get("recherche") or "").strip()[:200] or None
    return {"service": service, "category": category, "channel": channel, "search": search}


@router.get("/demandes")
def list_page(request: Request, session: ReadSession, rt: RuntimeDep, user: ReaderUser):
    q = request.query_params
    tab = q.get("onglet") if q.get("onglet") in views.TAB_FILTERS else "a-traiter"
    sort = q.get("tri") if q.get("tri") in views.SORTS else "echeance"
    try:
        page = max(1, int(q.get("page", "1")))
    except ValueError:
        page = 1
    now = clock.now()
    filters = _filters(request, rt, user)
    scope = {"services": user.services, **filters}
    counts = reg.count_cases_many(session, rt, {slug: make(user.login) for slug, _label, make in views.TABS},
                                  as_of=now, **scope)  # the five tabs in one pass
    total = counts[tab]
    pages = max(1, -(-total // views.PAGE_SIZE))
    page = min(page, pages)
    cases = reg.list_cases(session, rt, as_of=now, order=views.SORTS[sort], limit=views.PAGE_SIZE,
                           offset=(page - 1) * views.PAGE_SIZE, **scope, **views.TAB_FILTERS[tab](user.login))
    for case in cases:
        case["badge"] = views.deadline_badge(case, rt.calendar, now)
    context = dict(
        tabs=[{"slug": s, "label": label, "count": counts[s], "current": s == tab} for s, label, _ in views.TABS],
        tab=tab, cases=cases, total=total, page=page, pages=pages, sort=sort, sorts=views.SORT_FR,
        filters=filters, services=visible_services(rt, user), categories=CATEGORIES, channels=reg.CHANNELS,
        query={k: v for k, v in {"onglet": tab, "tri": sort, "service": filters["service"],
                                 "categorie": filters["category"], "canal": filters["channel"],
                                 "recherche": filters["search"]}.items() if v},
        breadcrumb=[("Demandes", None)],
    )
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "resultats":
        return render(request, "demandes_resultats.html", **context)
    return render(request, "demandes.html", **context)


EXPORT_LIMIT = 50_000


@router.get("/demandes.csv")
def export_csv(request: Request, session: ReadSession, rt: RuntimeDep, user: ReaderUser):
    """The current view (tab, filters, sort) as CSV for French Excel."""
    from tracer.reports.exports import cases_to_csv

    q = request.query_params
    tab = q.get("onglet") if q.get("onglet") in views.TAB_FILTERS else "a-traiter"
    sort = q.get("tri") if q.get("tri") in views.SORTS else "echeance"
    now = clock.now()
    cases = reg.list_cases(session, rt, as_of=now, order=views.SORTS[sort], limit=EXPORT_LIMIT,
                           services=user.services, **_filters(request, rt, user), **views.TAB_FILTERS[tab](user.login))
    body = cases_to_csv(cases, rt.cfg.tz, lambda name: service_label(request, name))
    stamp = clock.local(now, rt.cfg.tz).strftime("%Y-%m-%d")
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="demandes-{tab}-{stamp}.csv"'})


@router.get("/demandes/{reference}")
def request_page(reference: str, request: Request, session: ReadSession, rt: RuntimeDep, user: ReaderUser):
    now = clock.now()
    view = reg.show_case(session, rt, reference, now, services=user.services)  # NotFound (404) outside the scope
    view["badge"] = views.deadline_badge(view, rt.calendar, now)
    context = {}
    if user.scope.acts:
        context = dict(
            assignable=accounts.assignable(session, view["service"]), categories=CATEGORIES, topics=topic_ids(),
            all_services=rt.cfg.service_names(), answer_channels=reg.ANSWER_CHANNELS,
            unlinked=threads.unlinked(session, rt, services=user.services) if user.may("link") else [],
            now_local=clock.local(now, rt.cfg.tz).strftime("%Y-%m-%dT%H:%M"),
        )
    return render(request, "demande.html", case=view, breadcrumb=[("Demandes", "/demandes"), (view["reference"], None)],
                  **context)
