"""argparse in French: its own words (usage, help, errors) translated.

argparse looks its messages up through ``gettext``; tracer ships no message
catalogue, so the module's two lookup functions are replaced by a table of the
messages a user can meet. An unknown message stays in English rather than fail.
"""

from __future__ import annotations

import argparse

MESSAGES = {
    "usage: ": "usage : ",
    "positional arguments": "arguments",
    "options": "options",
    "show this help message and exit": "affiche cette aide et quitte",
    "show program's version number and exit": "affiche la version et quitte",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
    "the following arguments are required: %s": "arguments obligatoires manquants : %s",
    "unrecognized arguments: %s": "arguments inconnus : %s",
    "invalid choice: %(value)r (choose from %(choices)s)": "choix invalide : %(value)r (possibles : %(choices)s)",
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
    "invalid %(type)s value: %(value)r": "valeur invalide (%(type)s) : %(value)r",
    "expected one argument": "une valeur attendue",
    "expected at most one argument": "au plus une valeur attendue",
    "expected at least one argument": "au moins une valeur attendue",
    "ambiguous option: %(option)s could match %(matches)s": "option ambiguë : %(option)s peut désigner %(matches)s",
    "not allowed with argument %s": "incompatible avec l'argument %s",
    "one of the arguments %s is required": "l'un des arguments %s est obligatoire",
    "ignored explicit argument %r": "argument explicite ignoré : %r",
    "unexpected option string: %s": "option inattendue : %s",
    "can't open '%(filename)s': %(error)s": "impossible d'ouvrir « %(filename)s » : %(error)s",
    "unknown parser %(parser_name)r (choices: %(choices)s)": "commande inconnue %(parser_name)r (possibles : %(choices)s)",
}
PLURALS = {
    "expected %s argument": ("%s valeur attendue", "%s valeurs attendues"),
}


def gettext(message: str) -> str:
    return MESSAGES.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    if singular in PLURALS:
        one, many = PLURALS[singular]
        return one if n == 1 else many
    return singular if n == 1 else plural


def install() -> None:
    """Make argparse speak French (idempotent)."""
    argparse._ = gettext
    argparse.ngettext = ngettext


# The help of options that mean the same in every command; an option of this
# list given its own help by its command keeps it.
COMMON_HELP = {
    "json": "sortie JSON (identifiants et dates ISO 8601) au lieu du tableau",
    "by": "qui fait l'action (identifiant de l'agent, tracé dans l'historique)",
    "as_of": "instant de référence : JJ/MM/AAAA [HH:MM] ou ISO 8601 (défaut : maintenant)",
    "reference": "référence de la demande (ex. PREF74-2026-00042)",
    "reason": "motif, tracé dans l'historique",
}


# French placeholders for the values of options that name none (argparse would show ``--config CONFIG``).
METAVARS = {"config": "FICHIER", "mailbox": "BOÎTE", "data_dir": "DOSSIER", "email": "ADRESSE", "reason": "MOTIF",
            "notes": "TEXTE"}


def fill_common_help(parser: argparse.ArgumentParser) -> None:
    """Give the shared options their French help and placeholders, through every sub-command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                fill_common_help(sub)
            continue
        if not action.help and action.dest in COMMON_HELP:
            action.help = COMMON_HELP[action.dest]
        if action.option_strings and action.nargs != 0 and action.metavar is None and not action.choices:
            action.metavar = METAVARS.get(action.dest)
