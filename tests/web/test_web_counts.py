"""The tabs of « Demandes » counted in one pass (reg.count_cases_many) say what count_cases says, tab by tab."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("web_db", ["sqlite", "postgresql"], indirect=True)
def test_the_tabs_counted_in_one_pass_equal_each_count(web_server):
    from tracer.core import clock
    from tracer.register import requests as reg
    from tracer.store import db
    from tracer.web import views

    now = clock.now()
    with db.session_scope(web_server.engine) as session:
        # « Suivies par moi » and « À traiter » then differ from « Toutes »
        reg.assign(session, web_server.runtime, web_server.refs["qualite_mail"], "agent.qualite", "agent.qualite", now)
        reg.assign(session, web_server.runtime, web_server.refs["accueil_mail"], "agent.accueil", "agent.accueil", now)
    with db.read_scope(web_server.engine) as session:
        for login, services in (("agent.qualite", ["qualite"]), ("referent", None), ("admin", [])):
            for common in ({}, {"channel": "paper"}, {"search": "titre"}, {"service": "accueil"}):
                tabs = {slug: make(login) for slug, _label, make in views.TABS}
                together = reg.count_cases_many(session, web_server.runtime, tabs, as_of=now, services=services,
                                                **common)
                each = {slug: reg.count_cases(session, web_server.runtime, as_of=now, services=services,
                                              **common, **filters) for slug, filters in tabs.items()}
                assert together == each, (login, common)
        everything = reg.count_cases_many(session, web_server.runtime, {"toutes": {}}, as_of=now, services=None)
        assert everything == {"toutes": 4}
        with pytest.raises(TypeError):
            reg.count_cases_many(session, web_server.runtime, {"x": {"statut": "open"}}, as_of=now)
