"""Reply templates: every shipped one renders complete; strict, sandboxed, overridable."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from tracer.core import config as config_mod
from tracer.core import paths
from tracer.outgoing import templates
from tracer.core.errors import NotFound, UserError
from tracer.store.models import Request
from tracer.outgoing.reply import _citizen, clean_subject

UTC = timezone.utc
SHIPPED = {
    "titre_sejour_renouvellement", "certificat_immatriculation", "permis_conduire", "rendez_vous",
    "reclamation_excuses", "suggestion_merci", "hors_perimetre_redirection", "transfert_service", "accuse_reception",
}
SIGNATURE = "Préfecture de la Haute-Savoie – Mission qualité"
CONTACT = "Tél. 04 50 33 60 00 (du lundi au vendredi, 9 h – 16 h)"


def sample_context(**values) -> dict:
    return {
        "request": {"reference": "PREF74-2026-00042", "subject": "RE: Question", "subject_clean": "Question",
                    "received_at_fr": "7 septembre 2026 à 10 h 30", "received_date_fr": "7 septembre 2026",
                    "deadline_fr": "14 septembre 2026", "category": "information", "topic": None},
        "citizen": {"name": "Jeanne Martin", "email": "jeanne.martin@example.org", "greeting": "Bonjour Jeanne Martin,"},
        "service": {"name": "qualite", "label": "Mission qualité", "signature": SIGNATURE, "contact": [CONTACT]},
        "mailbox": {"name": "qualite", "address": "pref-qualite@haute-savoie.gouv.fr"},
        "today_fr": "8 septembre 2026",
        "values": values,
        **values,
    }


FREE_VALUES = {"action": "Un agent vous rappellera cette semaine.", "organisme": "la caisse d'allocations familiales",
               "service_competent": "le bureau du séjour des étrangers"}


@pytest.fixture
def cfg():
    return config_mod.from_dict({})


def own_folder(tmp_path, files: dict[str, str], name: str = "modeles"):
    folder = tmp_path / name
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return config_mod.from_dict({"tracer": {"templates_dir": str(folder)}})


def test_the_nine_templates_are_shipped_with_a_readme_for_referents(cfg):
    names = {t.name for t in templates.list_templates(cfg)}
    assert SHIPPED <= names
    shipped = paths.default_templates_dir()
    assert (shipped / "README.md").is_file() and not (shipped / ".keep").exists()
    assert templates.check_all(cfg) == []
    ack = {t.name: t for t in templates.list_templates(cfg)}["accuse_reception"]
    assert set(ack.categories) == {"information", "reclamation", "suggestion"}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_shipped_template_renders_complete_signed_and_referenced(cfg, name):
    rendered = templates.render(cfg, name, sample_context(**FREE_VALUES))
    for text in (rendered.subject, rendered.text):
        assert "{{" not in text and "{%" not in text and "}}" not in text and "%}" not in text
    assert "PREF74-2026-00042" in rendered.subject and "PREF74-2026-00042" in rendered.text
    assert SIGNATURE in rendered.text and CONTACT in rendered.text
    assert rendered.text.startswith("Bonjour Jeanne Martin,\n")
    assert "salutations distinguées" in rendered.text
    assert "\n\n\n" not in rendered.text  # no hole left by an empty block


def test_default_subject_does_not_stack_re(cfg):
    assert templates.render(cfg, "rendez_vous", sample_context()).subject == "RE: Question [PREF74-2026-00042]"
    assert clean_subject("RE: Re : TR: Question [PREF74-2026-00042]", "PREF74-2026-00042") == "Question"
    assert clean_subject("", "PREF74-2026-00042") == "Votre demande"


def test_free_values_are_reachable_under_values_and_at_top_level(cfg):
    text = templates.render(cfg, "reclamation_excuses", sample_context(action="Votre dossier a été rouvert.")).text
    assert "Votre dossier a été rouvert." in text
    text = templates.render(cfg, "hors_perimetre_redirection",
                            sample_context(organisme="la CAF", coordonnees="https://www.caf.fr")).text
    assert "la CAF" in text and "https://www.caf.fr" in text


def test_undefined_variable_is_an_error_naming_it_and_the_template(cfg):
    with pytest.raises(templates.TemplateError) as caught:
        templates.render(cfg, "reclamation_excuses", sample_context())
    message = str(caught.value)
    assert isinstance(caught.value, UserError)
    assert "reclamation_excuses" in message and "« action » non définie" in message and "--set action=" in message


def test_undefined_top_level_variable_in_a_user_template_is_named(tmp_path):
    cfg = own_folder(tmp_path, {"dossier.txt.j2": "Votre dossier n° {{ numero_dossier }}.\n"})
    with pytest.raises(templates.TemplateError, match="« numero_dossier » non définie ; fournissez-la avec --set numero_dossier="):
        templates.render(cfg, "dossier", sample_context())


def test_unknown_template_is_not_found_and_lists_the_known_ones(cfg):
    with pytest.raises(NotFound, match="modèle « inconnu » introuvable.*rendez_vous"):
        templates.render(cfg, "inconnu", sample_context())


def test_user_folder_overrides_one_template_and_keeps_the_others(tmp_path):
    cfg = own_folder(tmp_path, {
        "rendez_vous.txt.j2": '+++\ntitle = "Rendez-vous (version locale)"\ncategories = ["information"]\n+++\n'
                              "{{ citizen.greeting }}\nPrenez rendez-vous sur notre site.\n\n"
                              '{% include "_signature.txt.j2" %}',
    })
    infos = {t.name: t for t in templates.list_templates(cfg)}
    assert infos["rendez_vous"].title == "Rendez-vous (version locale)"
    assert SHIPPED <= set(infos)  # the others are still the shipped ones
    text = templates.render(cfg, "rendez_vous", sample_context()).text
    assert text.startswith("Bonjour Jeanne Martin,\nPrenez rendez-vous sur notre site.")
    assert SIGNATURE in text and "PREF74-2026-00042" in text  # the shipped partial is found


def test_user_partial_overrides_the_shipped_signature_for_every_template(tmp_path):
    cfg = own_folder(tmp_path, {"_signature.txt.j2": "Le bureau de l'accueil\n"})
    assert "_signature" not in {t.name for t in templates.list_templates(cfg)}
    text = templates.render(cfg, "permis_conduire", sample_context()).text
    assert text.rstrip().endswith("Le bureau de l'accueil")


def test_html_part_is_autoescaped_and_the_text_part_is_not(tmp_path):
    cfg = own_folder(tmp_path, {
        "note.txt.j2": '+++\ntitle = "Note"\nsubject = "Note {{ request.reference }}"\n+++\n{{ values.detail }}\n',
        "note.html.j2": "<p>{{ values.detail }}</p>\n",
    })
    rendered = templates.render(cfg, "note", sample_context(detail="<b>A & B</b>"))
    assert rendered.text == "<b>A & B</b>\n"
    assert rendered.html == "<p>&lt;b&gt;A &amp; B&lt;/b&gt;</p>\n"
    assert rendered.subject == "Note PREF74-2026-00042"


def test_overridden_text_part_does_not_take_the_shipped_html_part(tmp_path):
    shipped_html = paths.default_templates_dir() / "rendez_vous.html.j2"
    assert not shipped_html.exists()  # nothing to mix up today; the rule is on the folder of the text part
    cfg = own_folder(tmp_path, {"rendez_vous.txt.j2": "Texte local {{ request.reference }}\n"})
    info = {t.name: t for t in templates.list_templates(cfg)}["rendez_vous"]
    assert info.folder == cfg.templates_dir and info.has_html is False


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ citizen.__class__ }}",
    "{{ request.items.__globals__ }}",
])
def test_the_sandbox_refuses_python_internals(tmp_path, source):
    cfg = own_folder(tmp_path, {"piege.txt.j2": source + "\n"})
    with pytest.raises(templates.TemplateError, match="piege"):
        templates.render(cfg, "piege", sample_context())


def test_includes_cannot_leave_the_template_folders(tmp_path):
    cfg = own_folder(tmp_path, {"fuite.txt.j2": '{% include "/etc/passwd" %}\n',
                                "fuite2.txt.j2": '{% include "../../etc/passwd" %}\n'})
    for name in ("fuite", "fuite2"):
        with pytest.raises(templates.TemplateError, match="introuvable"):
            templates.render(cfg, name, sample_context())


def test_bad_front_matter_and_unknown_category_are_reported(tmp_path):
    cfg = own_folder(tmp_path, {"mauvais.txt.j2": '+++\ncategories = "information"\n+++\nx\n'})
    with pytest.raises(templates.TemplateError, match="categories : liste de textes attendu"):
        templates.list_templates(cfg)
    cfg = own_folder(tmp_path, {"inconnu.txt.j2": '+++\ncategories = ["renseignement"]\n+++\n{{ x\n'}, name="autres")
    problems = templates.check_all(cfg)
    assert any("catégorie inconnue « renseignement »" in p for p in problems)
    assert any("erreur de syntaxe" in p for p in problems)


def test_dates_are_written_the_french_way_in_paris_time():
    assert templates.date_fr(datetime(2026, 7, 12, 12, 5, tzinfo=UTC), with_time=True) == "12 juillet 2026 à 14 h 05"
    assert templates.date_fr(datetime(2026, 1, 1, 8, 0, tzinfo=UTC), with_time=True) == "1er janvier 2026 à 9 h 00"
    assert templates.date_fr(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == "1er janvier 2027"  # Paris is ahead
    assert templates.date_fr(date(2026, 8, 15)) == "15 août 2026"
    assert templates.date_fr(None) == ""
    assert [templates.month_fr(m) for m in (2, 8, 12)] == ["février", "août", "décembre"]


@pytest.mark.parametrize("name, expected", [
    # administrative style: the civility when the sender gave it, « Madame, Monsieur, » otherwise
    ("Jeanne Martin", ("Jeanne Martin", "Madame, Monsieur,")),
    ("JEAN-PIERRE DUPONT", ("Jean-Pierre Dupont", "Madame, Monsieur,")),
    ('"Jeanne Martin"', ("Jeanne Martin", "Madame, Monsieur,")),
    ("Mme Rossi", ("Mme Rossi", "Madame,")),
    ("Madame Élodie Marchand", ("Madame Élodie Marchand", "Madame,")),
    ("M. Fabre", ("M. Fabre", "Monsieur,")),
    ("Monsieur KARIM", ("Monsieur KARIM", "Monsieur,")),
    ("Martin Dupont", ("Martin Dupont", "Madame, Monsieur,")),
    ("jeanne.martin@example.org", ("Madame, Monsieur", "Madame, Monsieur,")),
    (None, ("Madame, Monsieur", "Madame, Monsieur,")),
    ("   ", ("Madame, Monsieur", "Madame, Monsieur,")),
])
def test_citizen_name_or_the_courteous_fallback(name, expected):
    citizen = _citizen(Request(reference="R", sender_name=name, sender_addr="j@x.fr",
                               received_at=datetime(2026, 9, 7, tzinfo=UTC), created_at=datetime(2026, 9, 7, tzinfo=UTC)))
    assert (citizen["name"], citizen["greeting"]) == expected and citizen["email"] == "j@x.fr"


# --------------------------------------------------------------------------
# Issue 15, low: runtime errors and symbolic links.


@pytest.mark.parametrize("source", ["{{ 1/0 }}", "{{ '%d' % 'x' }}", "{{ 1 + [] }}"])
def test_a_runtime_error_in_a_template_is_a_french_error_naming_it(tmp_path, source):
    cfg = own_folder(tmp_path, {"casse.txt.j2": source + "\n"})
    with pytest.raises(templates.TemplateError, match="modèle « casse » : erreur à l'exécution"):
        templates.render(cfg, "casse", sample_context())


def test_the_cli_reports_a_template_runtime_error_without_traceback(tmp_path):
    import subprocess
    import sys

    folder = tmp_path / "modeles"
    folder.mkdir()
    (folder / "casse.txt.j2").write_text("+++\ntitle = \"Cassé\"\n+++\n{{ 1/0 }}\n", encoding="utf-8")
    cfg = tmp_path / "tracer.toml"
    cfg.write_text(f'[tracer]\ndatabase_url = "sqlite:///{tmp_path}/t.db"\ntemplates_dir = "{folder}"\n'
                   '[[mailbox]]\nname = "qualite"\naddress = "pref-qualite@haute-savoie.gouv.fr"\nhost = "127.0.0.1"\n'
                   'tls = "none"\n', encoding="utf-8")
    paper = subprocess.run([sys.executable, "-m", "tracer", "--config", str(cfg), "register-paper", "--received", "2026-09-07",
                            "--sender", "Mme Roux", "--email", "roux@example.org", "--subject", "Lettre", "--service", "qualite",
                            "--json"], capture_output=True, text=True)
    assert paper.returncode == 0, paper.stderr
    ref = __import__("json").loads(paper.stdout)["reference"]
    out = subprocess.run([sys.executable, "-m", "tracer", "--config", str(cfg), "reply", ref, "--template", "casse",
                          "--by", "a", "--preview"], capture_output=True, text=True)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "modèle « casse » : erreur à l'exécution (ZeroDivisionError" in out.stderr


def test_a_symbolic_link_in_the_templates_folder_is_not_followed_outside_it(tmp_path):
    secret = tmp_path / "ailleurs" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("MOT-DE-PASSE-DU-SERVEUR\n", encoding="utf-8")
    cfg = own_folder(tmp_path, {"inclut.txt.j2": '{% include "lien.txt" %}\n'})
    folder = cfg.templates_dir
    (folder / "lien.txt").symlink_to(secret)
    (folder / "piege.txt.j2").symlink_to(secret)
    (folder / "sous").mkdir()
    (folder / "sous" / "ok.txt").write_text("dedans\n", encoding="utf-8")
    (folder / "lien-interne.txt.j2").symlink_to(folder / "sous" / "ok.txt")  # a link that stays inside is fine
    with pytest.raises(templates.TemplateError, match="introuvable"):
        templates.render(cfg, "inclut", sample_context())
    names = [t.name for t in templates.list_templates(cfg)]
    assert "piege" not in names and "lien-interne" in names
    assert templates.render(cfg, "lien-interne", sample_context()).text == "dedans\n"
