"""The words of the trade: category and topic ids and their French labels.

Topic ids are those of INTERFACE.md (and of ``rules/topics.toml``); every
reader (the classifier, exports, the digest, the tables, the web pages) gets
their labels through :func:`topic_label`, never from a copy of the table.
"""

from __future__ import annotations

CATEGORIES = ("information", "reclamation", "suggestion", "hors_perimetre", "automatique")
TOPIC_CATEGORIES = ("reclamation", "suggestion")  # the categories that carry a topic

_TOPICS = {
    "titres_sejour": "Titres de séjour",
    "permis_conduire": "Permis de conduire",
    "certificat_immatriculation": "Certificat d'immatriculation",
    "cni_passeport": "CNI / passeport",
    "rendez_vous": "Rendez-vous en ligne",
    "accueil_physique": "Accueil physique",
    "accueil_telephonique": "Accueil téléphonique",
    "site_internet": "Site internet",
    "delais_traitement": "Délais de traitement",
    "autre": "Autre",
}
DEFAULT_TOPIC = "autre"


def topic_ids() -> tuple[str, ...]:
    return tuple(_TOPICS)


def topic_label(topic: str | None) -> str | None:
    """The French label of a topic id (the id itself if unknown, None for None)."""
    if topic is None:
        return None
    return _TOPICS.get(topic, topic)


def is_topic(topic: str | None) -> bool:
    return topic in _TOPICS
