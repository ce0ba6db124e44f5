"""A labelled set of French mail written for the project (fictional persons).

Each entry: (category, topic or None, subject, body, options). The builder
turns them into real RFC 5322 bytes with varied encodings (quoted-printable
latin-1, base64 UTF-8, RFC 2047 subjects, HTML-only bodies, multipart/report).
"""

from __future__ import annotations

from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.charset import BASE64, QP, Charset

SIG = "\n\nCordialement,\n{name}\n06 12 34 56 78"
# A meeting reply as Outlook sends it (text/calendar, METHOD:REPLY), shown as the body.
CAL = "BEGIN:VCALENDAR\nMETHOD:REPLY\nPRODID:Microsoft Exchange Server 2016\nVERSION:2.0\nBEGIN:VEVENT\nATTENDEE;PARTSTAT={stat};CN=Agent:mailto:agent@haute-savoie.gouv.fr\nSUMMARY:{summary}\nDTSTART:20261012T080000Z\nEND:VEVENT\nEND:VCALENDAR\n"

CORPUS = [
    # ---------------------------------------------------------------- information
    ("information", None, "Renouvellement titre de séjour", "Bonjour,\n\nMon titre de séjour expire le 15 décembre. Quels documents dois-je fournir pour le renouveler et à partir de quand puis-je déposer ma demande ?" + SIG, {}),
    ("information", None, "Question carte grise", "Bonjour, je viens d'acheter une voiture d'occasion. Comment faire la carte grise à mon nom ? Faut-il passer à la préfecture ?\nMerci", {}),
    ("information", None, "horaires", "bonjour quels sont les horaires d'ouverture de l'accueil de la prefecture le samedi ? merci", {"charset": "latin-1"}),
    ("information", None, "Demande de renseignements - permis de conduire", "Madame, Monsieur,\n\nJ'ai obtenu mon permis de conduire au Maroc et je réside en France depuis 8 mois. Puis-je l'échanger contre un permis français, et quelle est la procédure ?\n\nJe vous remercie par avance de votre réponse." + SIG, {"charset": "latin-1"}),
    ("information", None, "Passeport pour mon fils", "Bonjour,\nMon fils de 12 ans doit partir en voyage scolaire en mars. Où faut-il faire la demande de passeport et quels justificatifs apporter ?\nBien à vous,\nNadia Benali", {}),
    ("information", None, "rendez-vous", "Bonjour, comment prendre rendez-vous pour déposer un dossier de naturalisation ? Je ne trouve pas la page sur le site.\nMerci d'avance", {}),
    ("information", None, "Demande d'information", "<html><body><p>Bonjour,</p><p>Je souhaiterais savoir si je peux faire ma demande de <b>carte d'identité</b> dans n'importe quelle mairie du département.</p><p>Merci,<br>Paul Girard</p></body></html>", {"html_only": True}),
    ("information", None, "Attestation de prolongation d'instruction", "Bonjour,\n\nJ'ai déposé ma demande de renouvellement sur le site de l'ANEF. Est-ce que l'attestation de prolongation d'instruction me permet de voyager hors de France ?\n\nMerci beaucoup." + SIG, {"charset": "base64"}),
    ("information", None, "Pièces pour un duplicata de permis", "Bonjour,\n\nJ'ai perdu mon permis de conduire. Que dois-je faire pour obtenir un duplicata ? Faut-il une déclaration de perte ?\n\nCordialement", {}),
    ("information", None, "Question sur le changement d'adresse", "Bonjour,\nJe déménage à Annecy le mois prochain. Dois-je modifier l'adresse sur ma carte grise et dans quel délai ?\nMerci par avance", {}),
    ("information", None, "Voyage et absence", "Bonjour,\n\nJe serai absent du 3 au 10 novembre. Mon récépissé expire le 12 : pouvez-vous me confirmer que je peux encore retirer mon titre de séjour après cette date ?\n\nMerci,\nIbrahim Diallo", {}),
    ("information", None, "Demande", "Bonjour\n\nje voudrais savoir combien coûte le timbre fiscal pour un passeport adulte\n\ncdt", {}),
    ("information", None, "Demande de rendez-vous pour échange de permis", "Bonjour,\n\nEst-il nécessaire d'avoir un rendez-vous pour déposer une demande d'échange de permis étranger, ou tout se fait-il en ligne sur le site de l'ANTS ?\n\nRespectueusement," + SIG, {}),
    ("information", None, "Re: votre question", "Bonjour,\n\nMerci pour votre réponse. Une dernière question : la photo d'identité doit-elle dater de moins de 6 mois ?\n\nCordialement\n\nLe 2 sept. 2026 à 10:12, Préfecture <prefecture@haute-savoie.gouv.fr> a écrit :\n> Madame,\n> Voici la liste des pièces à fournir.\n", {}),
    ("information", None, "Association - déclaration", "Bonjour,\nNous souhaitons créer une association sportive à Thonon. Quelles sont les démarches pour la déclarer ?\nMerci\nClaire Petit, présidente", {}),
    ("information", None, "Accueil des étrangers : documents", "Bonjour, ma femme vient d'arriver en France avec un visa long séjour valant titre de séjour. Doit-elle faire une démarche particulière à la préfecture ?", {"charset": "latin-1"}),
    ("information", None, "Certificat de non-gage", "Bonjour,\nOù peut-on obtenir un certificat de situation administrative pour vendre un véhicule ?\nMerci d'avance\nLuc", {}),
    ("information", None, "=?utf-8?Q?Demande_d=E2=80=99information?=", "Bonjour,\nJe suis étudiant étranger. Puis-je travailler avec mon titre de séjour étudiant et combien d'heures par semaine ?\nMerci", {"raw_subject": True}),
    ("information", None, "Objet trouvé", "Bonjour, j'ai trouvé une carte d'identité dans la rue. Dois-je la déposer à la préfecture ou au commissariat ?", {}),
    ("information", None, "Question", "Bonjour,\nQuel est le délai moyen pour obtenir une carte grise après la demande en ligne ?\nMerci\n\n--\nEnvoyé de mon iPhone", {}),
    # ---------------------------------------------------------------- reclamation
    ("reclamation", "accueil_telephonique", "Impossible de vous joindre", "Bonjour,\n\nCela fait trois jours que j'appelle le standard de la préfecture : personne ne décroche. C'est inadmissible pour un service public.\n\nJe souhaite une réponse rapide." + SIG, {}),
    ("reclamation", "rendez_vous", "Rendez-vous introuvables", "Madame, Monsieur,\n\nDepuis plusieurs semaines je tente de prendre un rendez-vous pour mon titre de séjour sur votre site : aucun créneau n'est jamais disponible. Mon titre expire dans 15 jours. Comment faire ?\n\nJe suis très inquiet." + SIG, {"charset": "latin-1"}),
    ("reclamation", "accueil_physique", "Mauvais accueil au guichet", "Bonjour,\n\nJe me suis présenté ce matin au guichet des cartes grises. L'agent a été désagréable et m'a renvoyé sans même regarder mon dossier. Je déplore ce manque de respect.\n\nMonsieur Fabre", {}),
    ("reclamation", "delais_traitement", "RECLAMATION", "BONJOUR\n\nJ'AI DEPOSE MA DEMANDE IL Y A 5 MOIS ET TOUJOURS RIEN !!! C'EST SCANDALEUX. JE PERDS MON TRAVAIL A CAUSE DE VOUS.\n\nM. KARIM", {}),
    ("reclamation", "site_internet", "Le site ne fonctionne pas", "Bonjour,\nle formulaire de demande en ligne ne fonctionne pas : la page affiche une erreur à chaque validation depuis lundi. J'ai essayé avec deux navigateurs. C'est très pénible.\nMerci de corriger", {}),
    ("reclamation", "delais_traitement", "Aucune réponse à mes courriels", "Bonjour,\n\nJe vous ai écrit le 3, le 10 et le 17 septembre au sujet de l'échange de mon permis de conduire, sans aucune réponse. Je trouve ce silence inacceptable.\n\nVeuillez agréer mes salutations." + SIG, {}),
    ("reclamation", "accueil_physique", "Attente", "bonjour\nhier j'ai attendu 4 heures dans le hall pour qu'on me dise de revenir un autre jour. attente interminable, aucune information, c'est lamentable\nmme rossi", {}),
    ("reclamation", "rendez_vous", "rdv annulé", "Bonjour, mon rendez-vous du 12 a été annulé la veille par SMS sans explication et il est impossible d'obtenir un nouveau créneau avant janvier. Je suis très déçue.", {}),
    ("reclamation", "accueil_telephonique", "Plainte accueil téléphonique", "<div>Bonjour,</div><div>Je souhaite déposer une réclamation concernant l'accueil téléphonique : on m'a raccroché au nez deux fois.</div><div>Cordialement</div><div>J. Moreau</div>", {"html_only": True}),
    ("reclamation", "certificat_immatriculation", "carte grise toujours pas recue", "Bonjour\nJ'ai fait ma demande de carte grise il y a 2 mois, toujours pas reçue, et impossible de joindre quelqu'un. Je roule avec un certificat provisoire expiré. Inadmissible.\nS. Lambert", {"outlook": True}),
    ("reclamation", "titres_sejour", "Récépissé expiré", "Madame, Monsieur,\n\nMon récépissé a expiré depuis trois semaines et je n'ai toujours pas de nouvelles de mon titre de séjour. Mon employeur menace de suspendre mon contrat. Je vous demande de traiter ma situation en urgence ; ce retard est inacceptable.\n\nAlexandre Popescu", {"charset": "base64"}),
    ("reclamation", "delais_traitement", "Mécontentement", "Bonjour,\n\nJe tiens à exprimer mon profond mécontentement quant aux délais de traitement des demandes de naturalisation. Trois ans d'attente, c'est trop.\n\nSalutations," + SIG, {"outlook": True}),
    ("reclamation", "rendez_vous", "Module de rendez-vous saturé", "Bonjour,\n\nle module de prise de rendez-vous est saturé en permanence, on nous dit de revenir chaque lundi à 9h mais tout part en 2 minutes. ras le bol.", {}),
    ("reclamation", "accueil_physique", "Comportement d'un agent", "Bonjour,\n\nJ'ai été reçue de manière méprisante par une agente au guichet 4 ce mardi. Je ne m'attendais pas à un tel comportement d'une administration.\n\nCordialement,\nÉlodie Marchand", {"charset": "latin-1"}),
    ("reclamation", "site_internet", "bug paiement timbre fiscal", "Bonjour, le site bloque au moment du paiement du timbre et j'ai été débitée deux fois. Je n'ai aucune réponse du support. Merci de me rembourser.", {}),
    # the delay of one named procedure (his licence exchange) is counted under that procedure
    ("reclamation", "permis_conduire", "relance échange de permis - sans réponse depuis des mois", "Bonjour,\n\nJe relance une nouvelle fois ma demande d'échange de permis déposée en mars. Depuis des mois, aucune nouvelle malgré mes relances. Merci de faire le nécessaire.\n\nT. Nguyen", {}),
    ("reclamation", "accueil_telephonique", "Numéro surtaxé et injoignable", "Votre service est injoignable par téléphone, et la boîte vocale est pleine. Comment un usager est-il censé obtenir une information ?", {}),
    # ---------------------------------------------------------------- suggestion
    ("suggestion", "rendez_vous", "Suggestion pour les rendez-vous", "Bonjour,\n\nIl serait souhaitable de pouvoir être prévenu par SMS lorsqu'un créneau de rendez-vous se libère. Cela éviterait de consulter le site tous les jours.\n\nBonne journée," + SIG, {}),
    ("suggestion", "accueil_physique", "Une idée pour la salle d'attente", "Bonjour, pourquoi ne pas afficher sur un écran le numéro du ticket appelé dans la salle d'attente ? Beaucoup de gens n'entendent pas l'appel.\nMerci de votre attention", {}),
    ("suggestion", "site_internet", "Proposition d'amélioration du site", "Madame, Monsieur,\n\nJe me permets de vous proposer d'ajouter une page en anglais sur le site de la préfecture pour les étudiants étrangers.\n\nBien cordialement," + SIG, {"charset": "latin-1"}),
    ("suggestion", "accueil_physique", "Remarque", "Bonjour,\nJe suggère d'ouvrir l'accueil une fois par semaine jusqu'à 19 h pour les personnes qui travaillent.\nCordialement\nM. Durand", {}),
    ("suggestion", None, "Félicitations", "Bonjour,\n\nJe tenais à remercier l'agent de l'accueil des étrangers pour sa patience et sa gentillesse ce matin. Très bon accueil.\n\nBien à vous,\nAmina", {}),
    ("suggestion", "site_internet", "suggestion", "<p>Bonjour,</p><p>Ce serait bien de pouvoir suivre sa demande en ligne avec un numéro, comme pour les colis.</p>", {"html_only": True}),
    # ---------------------------------------------------------------- hors_perimetre
    ("hors_perimetre", None, "Où en est mon dossier ?", "Bonjour,\n\nJ'ai déposé ma demande de renouvellement de titre de séjour le 4 juillet (dossier n° 7412-2026-118). Pourriez-vous m'indiquer où en est mon dossier ?\n\nMerci par avance,\nOlga Ivanova", {}),
    ("hors_perimetre", None, "Etat d'avancement de ma demande", "Bonjour,\nJe souhaiterais connaître l'état d'avancement de ma demande de naturalisation déposée en janvier.\nCordialement\nM. Haddad", {"charset": "latin-1"}),
    ("hors_perimetre", None, "Suivi dossier", "Bonjour, je voudrais savoir si ma demande de changement de statut est toujours en cours d'instruction. Merci", {}),
    ("hors_perimetre", None, "Acte de naissance", "Bonjour,\nJe souhaite obtenir une copie intégrale de mon acte de naissance. Je suis né à Annecy en 1985.\nMerci", {}),
    ("hors_perimetre", None, "Inscription listes électorales", "Bonjour, comment m'inscrire sur les listes électorales de ma commune ? Je viens d'emménager.", {}),
    ("hors_perimetre", None, "Problème avec la CAF", "Bonjour,\n\nLa CAF a suspendu mes allocations logement depuis deux mois, pouvez-vous intervenir ?\n\nCordialement", {}),
    ("hors_perimetre", None, "Taxe foncière", "Bonjour, j'ai reçu un avis de taxe foncière pour un bien que j'ai vendu l'an dernier, à qui dois-je m'adresser ?", {}),
    ("hors_perimetre", None, "Carte vitale", "Bonjour, je n'ai toujours pas reçu ma carte vitale, pouvez-vous me dire quoi faire ?", {}),
    # ---------------------------------------------------------------- automatique
    ("automatique", None, "Réponse automatique : Votre demande de carte grise", "Bonjour,\n\nJe suis absente du bureau jusqu'au 28 août inclus. Pour toute urgence, merci de contacter le secrétariat au 04 50 00 00 00.\n\nCordialement,\nSophie Blanc", {"headers": {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}}),
    ("automatique", None, "Absence du bureau", "Je suis actuellement absent et serai de retour le 2 septembre. Je n'aurai qu'un accès limité à mes courriels.", {}),
    # Contact forms relayed by the prefecture's own site from a no-reply address marked auto-generated:
    # a citizen's message all the same.
    ("reclamation", "accueil_telephonique", "[Formulaire de contact] Réclamation", "Un message a été déposé via le formulaire de contact du site.\n\nNom : Lucien Garnier\nCourriel : lucien.garnier@exemple-mail.fr\n\nMessage :\nTrois jours que j'appelle le standard pour ma carte grise, ça sonne dans le vide puis ça coupe. C'est inadmissible.", {"sender": "Site de la préfecture <ne-pas-repondre@haute-savoie.gouv.fr>", "headers": {"Auto-Submitted": "auto-generated"}}),
    ("information", None, "[Formulaire de contact] Demande de renseignements", "Message de l'internaute :\nBonjour, quels documents faut-il pour inscrire une association ? Merci.\n\nNom : Aline Morel\nCourriel : aline.morel@exemple-mail.fr", {"sender": "ne-pas-repondre@haute-savoie.gouv.fr", "headers": {"Auto-Submitted": "auto-generated"}}),
    # ...but another body's automatic acknowledgement of its own form stays automatic.
    ("automatique", None, "Accusé de réception", "Votre message envoyé via notre formulaire de contact a bien été reçu. Ceci est un message automatique, merci de ne pas y répondre.", {"sender": "ne-pas-repondre@caf.example", "headers": {"Auto-Submitted": "auto-replied"}}),
    ("automatique", None, "Out of Office: Request", "I am out of the office until Monday 7 September with limited access to email. I will reply on my return.", {"headers": {"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"}}),
    ("automatique", None, "Absence", "Bonjour,\nJe suis en congés jusqu'au 24 août.\nBien cordialement", {}),
    ("automatique", None, "Re: Votre dossier", "Bonjour, je suis actuellement en congés. Je serai de retour le lundi 31 août.", {"headers": {"Auto-Submitted": "auto-replied"}}),
    ("automatique", None, "Automatic reply: Titre de séjour", "Thank you for your message. I'm currently out of the office and will be back on 14 September.", {"headers": {"X-MS-Exchange-Generated-Message-Source": "Mailbox Rules Agent"}}),
    ("automatique", None, "Undelivered Mail Returned to Sender", "This is the mail system at host mx.example.org.\n\nI'm sorry to have to inform you that your message could not be delivered to one or more recipients.\n\n<jean.dupont@exemple.fr>: host mx said: 550 5.1.1 User unknown", {"sender": "MAILER-DAEMON@mx.example.org", "report": "delivery-status"}),
    ("automatique", None, "Non remis : Votre demande", "La remise des messages aux destinataires suivants a échoué : martin.leroy@exemple.fr\nL'adresse de messagerie est introuvable.\n\nDiagnostic pour les administrateurs", {"sender": "postmaster@mail.exemple.fr"}),
    ("automatique", None, "Échec de la remise du message", "Votre message n'a pas pu être remis au destinataire. Le destinataire est introuvable.", {"sender": "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@exemple.fr"}),
    ("automatique", None, "Delivery Status Notification (Failure)", "Delivery to the following recipient failed permanently:\n\n     a.b@exemple.fr\n\nTechnical details of permanent failure: the email account does not exist.", {"sender": "mailer-daemon@googlemail.com"}),
    ("automatique", None, "La lettre d'information de la sécurité routière - septembre", "Découvrez nos actualités du mois : nouvelles règles du permis, campagne d'été...\n\nPour vous désabonner, cliquez ici.", {"sender": "newsletter@securite-routiere.example", "headers": {"List-Unsubscribe": "<mailto:unsub@securite-routiere.example>", "Precedence": "bulk"}}),
    ("automatique", None, "Votre infolettre hebdomadaire", "Les actualités de la semaine dans votre département.\nSe désabonner | Gérer vos préférences", {"sender": "no-reply@actu.example", "headers": {"List-Id": "<infolettre.actu.example>"}}),
    ("automatique", None, "Lu : Demande de renseignements", "Votre message\n\n  À : prefecture@haute-savoie.gouv.fr\n  Objet : Demande de renseignements\n\na été lu le 08/09/2026 10:14.", {"report": "disposition-notification"}),
    ("automatique", None, "Read: Appointment", "Your message was read on Tuesday, September 8, 2026 10:14:00 AM.", {}),
    ("automatique", None, "Accusé de réception de votre message", "Nous avons bien reçu votre message. Il sera traité dans les meilleurs délais. Ceci est un message automatique, merci de ne pas y répondre.", {"sender": "ne-pas-repondre@ants.example", "headers": {"Auto-Submitted": "auto-replied"}}),
    ("automatique", None, "Promotions de la rentrée", "Profitez de -20 % sur nos assurances auto.\nSe désinscrire", {"sender": "marketing@assur.example", "headers": {"Precedence": "bulk"}}),
    # ------------------------------------------------------------ tricky negatives
    ("reclamation", "accueil_telephonique", "Appels sans réponse", "Bonjour,\n\nVoilà deux semaines que personne ne répond au numéro indiqué sur votre site. C'est scandaleux.\n\n-----Original Message-----\nFrom: Préfecture <prefecture@haute-savoie.gouv.fr>\nSent: Monday\nSubject: Réponse automatique", {"outlook": True}),
    ("information", None, "RE: Réponse automatique : ma question", "Bonjour,\n\nVotre collègue semble absente. Pouvez-vous me dire quels documents fournir pour l'échange de mon permis ?\n\nMerci\n\nLe 1 sept. 2026, Sophie Blanc a écrit :\n> Je suis absente du bureau jusqu'au 28 août.", {}),
    ("reclamation", "delais_traitement", "Absence de réponse à ma demande", "Bonjour,\n\nJ'ai écrit il y a un mois au sujet de ma carte grise et je n'ai eu aucune réponse. Ce n'est pas normal.\n\nCordialement," + SIG, {}),
    ("information", None, "Je pars en vacances", "Bonjour, je suis en congés jusqu'au 20 août : est-ce que je pourrai retirer mon passeport à mon retour ou sera-t-il renvoyé ?", {}),
    ("information", None, "Demande d'information - titre de séjour", "Bonjour,\nJe souhaiterais savoir si une carte de résident peut être demandée après 5 ans de séjour régulier.\nMerci", {"outlook": True}),
    ("suggestion", "rendez_vous", "Idée", "Bonjour, ce serait pratique de pouvoir annuler un rendez-vous directement depuis le mail de confirmation, pour libérer le créneau.", {}),
    # ------------------------------------- another administration cited in passing: still the prefecture's business
    ("information", None, "Attestation pour la CAF", "Bonjour,\n\nLa CAF me réclame une preuve de séjour régulier. Mon récépissé de demande de titre de séjour a expiré la semaine dernière : comment en obtenir un nouveau ?\n\nMerci," + SIG, {}),
    ("information", None, "Visite médicale du permis", "Bonjour,\nLa visite médicale d'aptitude à la conduite chez un médecin agréé est-elle remboursée par la sécurité sociale ? Et faut-il la refaire pour renouveler un permis poids lourd ?\nCordialement", {"charset": "latin-1"}),
    ("reclamation", "accueil_telephonique", "Standard injoignable", "Bonjour,\n\nPersonne ne répond jamais au standard de la préfecture. Nous payons des impôts pour avoir un service public qui répond au téléphone.\n\nM. Perrin", {}),
    ("hors_perimetre", None, "Inscription France Travail", "Bonjour, je n'arrive pas à finaliser mon inscription sur le site de France Travail, on me demande un identifiant que je n'ai jamais reçu. Pouvez-vous m'aider ?", {}),
    ("information", None, "Permis étranger", "Bonjour,\nÀ la mairie on m'a dit qu'il faudrait échanger mon permis sénégalais avant la fin de la première année. Est-ce exact, et quelles pièces faut-il ?\nMerci", {}),
    ("information", None, "Avant de me déplacer", "Bonjour, pour éviter un déplacement inutile : faut-il un rendez-vous pour retirer une carte de résident, ou puis-je venir aux heures d'ouverture ?", {}),
    # ------------------------------------- complaints without anger words
    ("reclamation", "rendez_vous", "Félicitations", "Félicitations : trois mois pour obtenir un créneau de dépôt sur votre agenda en ligne. On se croirait dans un roman de Kafka.", {}),
    ("reclamation", "site_internet", "Lien mort sur la page des démarches", "Bonjour,\n\nSur la page « Cartes grises » de votre site, le lien vers la notice renvoie une erreur 404 depuis plusieurs jours. Merci de le réparer.\n\nCordialement", {}),
    ("reclamation", "cni_passeport", "pré-demande de carte d'identité", "Bonjour, le site m'a déconnecté deux fois au moment de valider ma pré-demande de carte d'identité et je dois tout ressaisir. Mon rendez-vous en mairie est demain.", {}),
    ("reclamation", "accueil_physique", "Porte close", "Bonjour,\n\nJe me suis déplacé pour rien jeudi : l'accueil était fermé sans qu'aucune affiche ne l'annonce. C'est dommage de ne pas prévenir les usagers.\n\nJ. Vial", {"charset": "base64"}),
    ("reclamation", "accueil_telephonique", "Votre serveur vocal", "Bonjour,\nCela fait deux semaines que j'essaie de vous joindre : le serveur vocal me fait patienter puis coupe la communication.\nS. Roux", {}),
    ("reclamation", "accueil_physique", "Conditions d'attente", "Bonjour, hier nous avons attendu deux heures dehors, debout devant les grilles, sans savoir dans quelle file nous placer. Est-ce digne d'un accueil du public ?", {}),
    ("reclamation", "certificat_immatriculation", "Erreur sur mon certificat d'immatriculation", "Bonjour,\n\nMon nouveau certificat d'immatriculation comporte une erreur sur le numéro de série du véhicule. Je ne peux pas l'assurer en l'état. Je suis mécontent de devoir refaire une demande.\n\nP. Guerin", {}),
    ("reclamation", "rendez_vous", "Complaint about appointments", "Hello,\n\nI have been trying for a month to book an appointment for my residence permit and there are never any slots. This is very frustrating.\n\nRegards,\nAnna Kowalski", {}),
    # ------------------------------------- following up on one's own file (outside the perimeter)
    ("hors_perimetre", None, "Ma demande de carte de résident", "Bonjour,\n\nJ'ai déposé ma demande de carte de résident en février. Pourriez-vous me dire à quel stade se trouve mon dossier ?\n\nMerci par avance," + SIG, {}),
    ("hors_perimetre", None, "Pièces complémentaires", "Bonjour, avez-vous bien reçu les justificatifs que je vous ai envoyés par courrier le 12 pour mon échange de permis ? Merci", {}),
    ("hors_perimetre", None, "Demande de naturalisation", "Bonjour,\nPouvez-vous vérifier s'il manque une pièce dans mon dossier de naturalisation et le débloquer ? Il est au même statut depuis l'été.\nMerci", {"charset": "latin-1"}),
    # ------------------------------------- commercial, job applications, platform notifications
    ("hors_perimetre", None, "Dématérialisez votre courrier entrant", "Madame, Monsieur,\n\nNotre plateforme de gestion du courrier équipe déjà de nombreuses collectivités. Je vous propose une démonstration de notre solution de 30 minutes : il serait utile d'en parler avec votre service.\n\nBien cordialement,\nJulien Favre, chargé d'affaires secteur public", {}),
    ("hors_perimetre", None, "Candidature", "Madame, Monsieur,\n\nActuellement en master d'administration publique, je vous adresse ma candidature spontanée pour un stage au sein de vos services. Vous trouverez mon CV et ma lettre de motivation ci-joints.\n\nRespectueusement,\nLina Morel", {}),
    ("automatique", None, "Confirmation de votre rendez-vous", "Votre rendez-vous du 14/10/2026 à 9h30 est confirmé.\n\nCe message a été envoyé automatiquement, merci de ne pas y répondre.", {"sender": "Agenda <ne-pas-repondre@rdv.exemple.fr>"}),
    # ------------------------------------- suggestions
    ("suggestion", "site_internet", "Formulaire de contact", "Bonjour,\nle formulaire de contact de votre site ne permet pas de joindre une pièce. Ce serait un vrai plus pour envoyer un justificatif.\nMerci", {}),
    ("suggestion", "titres_sejour", "Proposition : listes de pièces traduites", "Madame, Monsieur,\n\nNotre collectif souhaite vous faire part d'une proposition : traduire en plusieurs langues la liste des pièces demandées pour un titre de séjour.\n\nCordialement", {}),
    # ------------------------------------- second round: complaints told as a story, without a complaint word
    # the reply received does not answer
    ("reclamation", "autre", "Re: Votre demande d'information", "Bonjour,\n\nVous ne m'avez pas répondu à ma question : je demandais si je pouvais conduire avec mon permis suisse, pas comment faire une carte grise.\n\nMerci de relire mon message.\n\nLe 4 sept. 2026 à 09:12, Préfecture <prefecture@haute-savoie.gouv.fr> a écrit :\n> Pour immatriculer un véhicule, rendez-vous sur le site de l'ANTS.", {}),
    ("reclamation", "autre", "RE: votre courriel du 2 septembre", "Bonjour,\nJ'ai reçu une réponse toute faite qui renvoie vers le site, alors que ma situation n'y figure pas. J'attends une vraie réponse.\nS. Caron", {"outlook": True}),
    # repeated attempts that fail, time lost, sent away
    ("reclamation", "certificat_immatriculation", "Quatrième passage au guichet", "Bonjour,\n\nC'est la quatrième fois que je viens pour la carte grise de ma camionnette : à chaque fois on me dit de revenir avec un justificatif différent. Donnez la liste complète une bonne fois.\n\nM. Girod", {}),
    ("reclamation", "titres_sejour", "encore un document", "bonjour je suis venu deux fois pour mon titre de sejour, la deuxieme fois il manquait encore un papier que personne m avait demandé. je perds encore une journée de travail", {"charset": "latin-1"}),
    ("reclamation", "accueil_physique", "Point d'accueil", "Bonjour,\nAu point d'accueil numérique, l'agent m'a répondu qu'il n'avait pas le temps de s'occuper de moi. Je suis reparti sans rien, après une heure de route.\nR. Favre", {}),
    # waiting outside, phone line that cuts, nobody at the convocation
    ("reclamation", "accueil_physique", "Devant les grilles", "Bonjour,\n\nSamedi, nous étions une centaine à patienter sur le trottoir sous la pluie avant l'ouverture, sans aucun abri, dont des familles avec des poussettes.\n\nL. Morel", {}),
    ("reclamation", "accueil_telephonique", "Ligne des titres de séjour", "Bonjour, chaque fois que j'appelle le bureau des titres, une voix enregistrée me renvoie vers internet puis la ligne se coupe. Je n'ai jamais pu parler à quelqu'un.", {}),
    ("reclamation", "permis_conduire", "Examen du permis - inspecteur absent", "Bonjour,\n\nMon fils était convoqué à 8 h pour l'examen pratique du permis de conduire : l'inspecteur n'est jamais venu et personne ne nous a prévenus. Nous devons tout reprogrammer.\n\nC. Dumas", {"charset": "base64"}),
    # irony, formal alert, demand for a remedy, astonishment
    ("reclamation", "rendez_vous", "Ouverture des créneaux", "Bonjour, les créneaux de rendez-vous ouvrent le lundi à 9 h et sont complets en deux minutes. Vive la dématérialisation.", {}),
    ("reclamation", "accueil_physique", "Conditions d'accueil au service des étrangers", "Madame, Monsieur,\n\nNotre collectif souhaite vous alerter sur la dégradation des conditions d'accueil au guichet des étrangers depuis janvier, et vous demande de prendre des mesures.\n\nPour le collectif,\nA. Roche", {}),
    ("reclamation", "accueil_telephonique", "Standard", "Madame, Monsieur,\n\nJe vous fais part de mon étonnement : le standard ne propose plus de parler à un agent, seulement un renvoi vers le site.\n\nVeuillez agréer mes salutations.", {}),
    # suggestions without the word « suggestion »
    ("suggestion", "accueil_physique", "Merci et une idée", "Bonjour,\nMerci à l'agent du guichet 2 pour sa patience. Une petite idée : des toilettes accessibles dans le hall seraient les bienvenues.\nBonne journée", {}),
    ("suggestion", "accueil_telephonique", "Proposition d'un rappel téléphonique", "Madame, Monsieur,\n\nNous aimerions proposer la mise en place d'un rappel par un agent quand le standard est saturé.\n\nCordialement,\nUnion des commerçants", {}),
    ("suggestion", "rendez_vous", "Re: retrait de mon titre", "Merci pour votre réponse rapide.\nIl serait plus pratique de pouvoir prendre le rendez-vous de retrait directement depuis le SMS de disponibilité.\nBien à vous", {}),
    ("suggestion", "site_internet", "Le site", "Bonjour, ça serait bien que le site gagne une page unique avec toutes les pièces par démarche, et vous pourriez publier les délais moyens.", {}),
    ("reclamation", "titres_sejour", "Retrait de mon titre de séjour", "Bonjour,\nJe suis venu retirer mon titre de séjour avec le SMS reçu et à chaque fois on me dit de repasser la semaine suivante.\nK. Bensaid", {}),
    # own file followed up without a file number (outside the perimeter)
    ("hors_perimetre", None, "ma carte de résident", "Bonjour, j'ai fait mes empreintes le 3 février. Pouvez-vous me dire si ma carte de résident est arrivée ?\nMerci", {}),
    ("hors_perimetre", None, "Naturalisation", "Bonjour,\nJ'ai passé mon entretien d'assimilation en mai dernier. Quand vais-je recevoir une décision ? Mon dossier est-il parti au ministère ?\nCordialement", {}),
    ("hors_perimetre", None, "Dossier 2026-4471", "Bonjour, ma demande d'échange de permis (n° de dossier 2026-4471) déposée en ligne le 2 février affiche toujours « en cours d'instruction ». Pouvez-vous regarder ?", {}),
    # out-of-office without headers, phishing, another administration
    ("automatique", None, "Indisponibilité", "Bonjour,\nJe suis indisponible jusqu'au 12 mai inclus. En cas d'urgence, contactez le secrétariat au 04 50 00 00 00.\nM. Perrin", {}),
    ("automatique", None, "Fermeture estivale de l'étude", "Bonjour,\n\nL'étude est fermée du 1er au 22 août. Votre message ne sera pas traité avant notre retour.\n\nCe courriel vous a été adressé automatiquement.", {}),
    ("hors_perimetre", None, "Votre compte de messagerie", "Cher utilisateur,\n\nVotre compte sera suspendu dans 48 heures. Cliquez ici pour confirmer vos identifiants : https://verif-compte.example\n\nService technique", {"sender": "support@verif-compte.example"}),
    ("hors_perimetre", None, "Inscription périscolaire", "Bonjour, comment inscrire ma fille au périscolaire du mercredi et quel est le tarif ?", {}),
    ("hors_perimetre", None, "Avis de contravention", "Bonjour, j'ai reçu un avis de contravention pour un stationnement à Annecy avec une voiture vendue depuis un mois. Comment contester ?", {}),
    # ------------------------------------- must stay information: waiting, delays, « toujours », appointment, a previous mail
    ("information", None, "Attente avant l'ouverture", "Bonjour, combien de temps faut-il compter à l'accueil des étrangers le matin ? Faut-il attendre dehors avant l'ouverture ou y a-t-il une salle ?\nMerci", {}),
    ("information", None, "Troisième renouvellement", "Bonjour,\nC'est la troisième fois que je renouvelle ma carte de séjour. À chaque fois faut-il fournir les mêmes pièces, ou existe-t-il une liste simplifiée ?\nMerci", {}),
    ("information", None, "Retrait de mon titre", "Bonjour, j'ai reçu un SMS disant que mon titre de séjour est disponible. Comment savoir si je dois prendre rendez-vous pour le retirer ?", {}),
    ("information", None, "Permis en Suisse", "Bonjour, je voudrais savoir si mon permis de conduire est valide en Suisse pour un séjour de six mois.", {}),
    ("information", None, "Parler à un agent", "Bonjour, est-il possible de parler à un agent par téléphone pour une question de naturalisation ? Quel numéro appeler ?", {}),
    ("information", None, "Dépôt à Thonon", "Bonjour, j'habite à Évian. Il serait plus simple pour moi de déposer mon dossier à Thonon : est-ce possible ?", {}),
    ("information", None, "Délai de réponse", "Bonjour, si je dépose ma demande de naturalisation en mars, quand aurai-je une réponse en général ? Je vous ai déjà écrit pour les pièces, merci pour votre réponse.", {}),
    ("information", None, "Réponse automatique reçue", "Bonjour, j'ai reçu un message envoyé automatiquement disant que le service est fermé jusqu'au 5 mai. Puis-je quand même envoyer mon dossier par courrier ?", {}),
    ("information", None, "Accompagnement", "Bonjour, j'accompagne une personne qui ne parle pas français. La personne n'a pu venir au dernier rendez-vous : peut-on en reprendre un ?", {}),
    ("information", None, "Justificatif de domicile", "Bonjour, une facture d'électricité, est-ce acceptable comme justificatif ? Et avec l'allongement des délais, dois-je déposer plus tôt ?", {}),
    # ------------------------------------- third round: the service's failure told as a fact, the prefecture as the agent
    # formal notice, threat of a référé or of the Défenseur des droits
    ("reclamation", "rendez_vous", "Mme Leila B. – accès au guichet", "Madame, Monsieur,\n\nMa cliente, Mme Leila B., sollicite depuis le mois de janvier, par trois messages envoyés via votre formulaire, un rendez-vous pour déposer sa première demande. Aucune suite n'y a été donnée.\n\nJe vous mets en demeure de lui attribuer un rendez-vous dans les dix jours.\n\nMe Paul Ravier, avocat", {}),
    ("reclamation", "titres_sejour", "Attestation de prolongation", "Bonjour,\n\nMon attestation de prolongation a expiré le 2 et la nouvelle n'a jamais été générée sur l'ANEF. Mon employeur ne peut plus me garder. Sans réponse d'ici la fin du mois, je saisirai le Défenseur des droits.\n\nY. Mensah", {}),
    ("reclamation", "delais_traitement", "Quatre messages", "Bonjour,\n\nDepuis février j'ai adressé quatre messages à cette adresse pour une simple question sur la procédure. Je n'ai jamais reçu la moindre réponse, ni même un accusé de réception.\n\nR. Gilbert", {}),
    # document lost or mislaid by the service, mail sent to the old address although the move was declared
    ("reclamation", "permis_conduire", "Mon permis marocain", "Bonjour,\n\nJ'ai remis l'original de mon permis marocain au guichet en mars pour l'échange. Aujourd'hui on m'explique que vos services l'ont égaré et qu'il faut demander un relevé au Maroc. Je me retrouve sans aucun permis pour aller travailler.\n\nK. Alaoui", {}),
    ("reclamation", "titres_sejour", "Récépissé parti à Cluses", "Bonjour,\n\nMon nouveau récépissé est parti à mon ancienne adresse à Cluses, alors que je vous avais signalé mon déménagement en février, justificatif à l'appui. Je l'ai récupéré avec trois semaines de retard.\n\nA. Petrova", {"charset": "latin-1"}),
    ("reclamation", "autre", "Des papiers qui ne sont pas les miens", "Bonjour,\n\nDans l'enveloppe reçue de la préfecture ce matin se trouvaient aussi les papiers d'une autre personne, avec son adresse et sa date de naissance. Ces données personnelles n'avaient rien à faire chez moi ; je les tiens à votre disposition.\n\nM. Ferrand", {}),
    # the same error again, or the convocation that arrives after the date
    ("reclamation", "certificat_immatriculation", "Adresse fausse, encore", "Bonjour,\n\nMon certificat d'immatriculation revient avec le numéro de rue erroné. C'est la deuxième fois : j'avais joint la facture qui porte la bonne adresse.\n\nD. Rochat", {}),
    ("reclamation", "permis_conduire", "Convocation arrivée trop tard", "Bonjour,\n\nLa convocation devant la commission médicale des permis m'est arrivée le lendemain de la date fixée. Je dois maintenant attendre deux mois de plus pour une nouvelle séance.\n\nF. Duret", {}),
    # refused at the counter despite the appointment, tone of the agent, counter closed before the posted time
    ("reclamation", "accueil_physique", "Refus au guichet", "Bonjour,\n\nJ'avais un rendez-vous à 10 h 20. L'agent a refusé de prendre mon dossier parce qu'une photocopie était en noir et blanc, alors qu'il était complet selon votre propre liste. Il m'a répondu sur un ton sec que ce n'était pas son problème.\n\nS. Baudin", {}),
    ("reclamation", "accueil_physique", "Fermeture avancée", "Bonjour,\n\nVendredi, l'accueil a fermé à 11 h 30 au lieu de 12 h, alors que nous étions encore une dizaine dans le hall avec un ticket.\n\nG. Meunier", {"charset": "base64"}),
    # judgement on the way one was treated, demand for an explanation, contradictory answers
    ("reclamation", "rendez_vous", "Rendez-vous déplacé", "Bonjour,\n\nMon rendez-vous de dépôt a été décommandé par SMS deux heures avant, sans autre date proposée. J'avais fait 80 km. Je trouve cette façon de faire très cavalière.\n\nJ. Olivier", {}),
    ("reclamation", "delais_traitement", "Délais des cartes de résident", "Madame, Monsieur,\n\nLes délais de traitement des demandes de carte de résident atteignent ici huit mois, contre deux dans les départements voisins. Comment l'expliquez-vous, et quelles mesures allez-vous prendre ?\n\nCollectif Entraide Genevois", {}),
    ("reclamation", "certificat_immatriculation", "Qui fait quoi ?", "Bonjour,\n\nLe bureau des cartes grises me dit de voir avec l'ANTS, l'ANTS me renvoie vers la préfecture : cela fait un mois que je fais des allers-retours entre les deux pour la même cession. Je ne sais plus qui croire.\n\nP. Sarrazin", {}),
    # accessibility
    ("reclamation", "site_internet", "Formulaires illisibles", "Bonjour,\n\nJe suis malvoyant et j'utilise un lecteur d'écran. Les formulaires téléchargeables de votre site ne sont pas accessibles : ce sont des images, et la prise de rendez-vous impose un captcha sans alternative sonore.\n\nL. Giraud", {}),
    ("reclamation", "accueil_telephonique", "Personne sourde", "Bonjour,\n\nJe suis sourde. Le seul moyen de joindre le bureau des étrangers est votre standard téléphonique, sans aucune alternative accessible (SMS, visio en langue des signes). C'est discriminatoire.\n\nC. Nadal", {}),
    # the reply received sends back to a page already quoted
    ("reclamation", "autre", "Re: votre question", "Bonjour,\n\nVotre réponse se contente de me renvoyer vers la page que j'avais déjà citée dans mon message. Elle ne répond pas du tout à ma question sur le duplicata.\n\nE. Morin\n\nLe 12 mai 2026, Préfecture <prefecture@haute-savoie.gouv.fr> a écrit :\n> Vous trouverez les informations sur notre site.", {}),
    # still waiting, told as a statement
    ("reclamation", "delais_traitement", "Sans nouvelles", "Bonjour,\nJe suis toujours dans l'attente d'une décision depuis sept mois, sans la moindre information sur l'état de ma demande de regroupement.\nH. Ben Salah", {}),
    # ------------------------------------- topics: the procedure named wins over délais and over the phone used as a medium
    ("reclamation", "permis_conduire", "Commission médicale", "Bonjour,\n\nConvoqué à 8 h 30 devant la commission médicale du permis de conduire, je suis passé à 11 h 45, sans explication sur le retard. Tous les convoqués avaient la même heure.\n\nB. Tissot", {}),
    ("reclamation", "titres_sejour", "Acte de naissance égaré", "Bonjour,\n\nPour mon renouvellement de titre de séjour, j'ai envoyé en recommandé l'original de mon acte de naissance traduit. On me dit au téléphone qu'il n'a jamais été reçu, alors que l'avis de réception est signé. C'est inadmissible.\n\nN. Eyenga", {}),
    ("suggestion", "site_internet", "Merci et une proposition", "Bonjour,\n\nMerci à l'agent du guichet du séjour pour ses explications. Une proposition : mettre aussi en ligne, sur votre site, une version anglaise des listes de pièces, même en PDF.\n\nR. Iyer", {}),
    # ------------------------------------- outside the perimeter: the file under instruction, phishing, another body's bill
    ("hors_perimetre", None, "Dossier de M. Traoré – pièces", "Madame, Monsieur,\n\nSuite à votre courrier du 2 avril, vous trouverez ci-joint, pour notre salarié M. Traoré, les pièces complémentaires demandées : contrat de travail et trois bulletins de paie.\n\nService RH – Transports Alpins", {}),
    ("hors_perimetre", None, "Justificatif manquant", "Bonjour,\nVoici le justificatif de ressources manquant pour ma demande de naturalisation, comme l'agent me l'a demandé lors de l'entretien.\nCordialement", {}),
    ("hors_perimetre", None, "Votre messagerie sera désactivée", "Cher utilisateur,\n\nVotre boîte a atteint 97 % de son espace de stockage : les nouveaux messages seront rejetés. Pour éviter la désactivation de votre compte, confirmez vos identifiants avant ce soir.\n\nSupport Webmail", {"sender": "support@webmail-securite.example"}),
    ("hors_perimetre", None, "ANTS : frais impayés", "Madame, Monsieur,\n\nDes frais d'envoi de 4,90 EUR restent impayés pour votre titre. Sans régularisation sous 48 h, il sera annulé.\n\nRégler maintenant : https://ants-titres.example/paiement\n\nService usagers", {"sender": "contact@ants-gouv-fr.example"}),
    ("hors_perimetre", None, "Réclamation", "Monsieur le Sous-Préfet,\n\nLe syndicat des eaux me facture 900 m³ après une fuite sur le réseau public et refuse tout geste. Je vous demande d'intervenir.\n\nJ. Chevallier", {}),
    ("hors_perimetre", None, "Ma retraite", "Bonjour,\nLa CARSAT ne me verse plus ma pension depuis mars, c'est inadmissible. Pouvez-vous intervenir ?\nG. Bouvier", {}),
    # ------------------------------------- automatic: a meeting reply sent by the mail client
    ("automatique", None, "Accepté : comité qualité – bilan du trimestre", CAL.format(stat="ACCEPTED", summary="Accepté : comité qualité"), {"headers": {"Content-Class": "urn:content-classes:calendarmessage"}}),
    ("automatique", None, "Refusé : réunion des référents", CAL.format(stat="DECLINED", summary="Refusé : réunion des référents"), {}),
    # ------------------------------------- must stay information: a past problem mentioned in a plain question
    ("information", None, "Récépissé perdu", "Bonjour, que faire si j'ai perdu mon récépissé de dépôt ? Faut-il en redemander un au guichet ?\nMerci", {}),
    # Not the service's failure as far as the writer says (no move declared, nothing blamed): how to get it back is a procedure question.
    ("information", None, "Courrier à l'ancienne adresse", "Bonjour, mon courrier de la préfecture a été envoyé à mon ancienne adresse. Comment le récupérer, et comment faire enregistrer la nouvelle ?", {}),
    ("information", None, "Nom sur mon permis", "Bonjour, mon nom est mal orthographié sur mon permis de conduire, comment le faire corriger ?", {"charset": "latin-1"}),
    ("information", None, "Mail suspect", "Bonjour, j'ai reçu un mail disant que mon compte ANTS sera suspendu si je ne règle pas 13 euros de frais impayés via un lien https://ants-paiement.example. Est-ce une arnaque ?", {}),
    ("information", None, "Frontalier", "Bonjour, je travaille à Genève : puis-je faire des allers-retours en Suisse avec mon récépissé de renouvellement ?", {}),
    ("information", None, "Photo du passeport", "Bonjour, j'ai lu des informations contradictoires sur internet : la photo du passeport doit-elle avoir moins de six mois ?", {}),
    ("information", None, "Pièces complémentaires", "Bonjour, où dois-je envoyer les pièces complémentaires demandées pour ma naturalisation, par courrier ou en ligne ?", {}),
    ("information", None, "Accès en fauteuil", "Bonjour, le bâtiment de la sous-préfecture est-il accessible en fauteuil roulant ? Y a-t-il un ascenseur ?", {}),
    ("information", None, "Convocation", "Bonjour, je n'ai toujours pas reçu ma convocation pour le retrait de mon titre : dois-je reprendre rendez-vous en ligne ?", {}),
    ("information", None, "Facture d'eau", "Bonjour, une facture d'eau peut-elle servir de justificatif de domicile pour une carte grise ?", {}),
    # wrong or outdated information given by the service, one channel contradicting another
    ("reclamation", "accueil_telephonique", "Horaires du répondeur", "Bonjour,\n\nLe message d'accueil de votre standard donne encore les horaires d'avant la réorganisation : ils ne sont plus les bons. Je me suis déplacé un jeudi après-midi pour trouver porte fermée.\n\nT. Grange", {}),
    ("reclamation", "accueil_physique", "Mauvaise information", "Bonjour,\nÀ l'accueil, on m'a donné une mauvaise information sur le formulaire à remplir, et mon dossier m'est revenu trois semaines plus tard. Trois semaines perdues.\nI. Favre", {"charset": "latin-1"}),
    # the same pieces asked again and again, kept waiting to be sent away
    ("reclamation", "titres_sejour", "Toujours les mêmes pièces", "Bonjour,\n\nPour mon renouvellement de titre de séjour, on m'a demandé trois fois les mêmes bulletins de salaire, que j'envoie à chaque fois par courrier.\n\nO. Diallo", {}),
    ("reclamation", "accueil_physique", "Une heure pour rien", "Bonjour,\nVotre agent d'accueil m'a fait attendre une heure pour m'annoncer que je n'étais pas au bon bâtiment.\nV. Lemoine", {}),
    # the card handed to someone else, a wrong date printed, a file that vanished
    ("reclamation", "autre", "Titre remis à un tiers", "Bonjour,\n\nMon titre a été remis à mon colocataire, sans procuration ni pièce d'identité à mon nom. Il aurait pu être remis à n'importe qui.\n\nW. Okafor", {}),
    ("reclamation", "titres_sejour", "Carte de séjour", "Bonjour,\n\nMa carte de séjour est arrivée avec une date de naissance fausse. Il faut maintenant un nouveau rendez-vous pour la faire corriger, dans deux mois.\n\nF. Haddad", {"charset": "base64"}),
    ("reclamation", "titres_sejour", "Dossier disparu", "Bonjour,\n\nJ'ai déposé un dossier complet de changement de statut en février. En juin, on m'annonce qu'il a disparu et qu'il faut tout renvoyer.\n\nJ. Mbappe", {}),
    ("reclamation", "titres_sejour", "M. Z. – récépissé", "Madame, Monsieur,\n\nMalgré mes deux courriers recommandés, votre service n'a pas délivré le récépissé auquel mon client a droit depuis le dépôt de sa demande de titre de séjour.\n\nMe Anne Girod, avocate", {}),
    # outside the perimeter: documents for one's own file, a confirmation of receipt, phishing
    ("hors_perimetre", None, "Document demandé", "Bonjour,\nJe vous fais parvenir le relevé de carrière que l'agente m'a demandé pour compléter mon dossier de naturalisation.\nBien à vous", {}),
    ("hors_perimetre", None, "Envoi du 14", "Bonjour, pouvez-vous me confirmer que vous avez bien reçu les pièces que je vous ai envoyées le 14 pour ma carte de résident ?\nMerci", {}),
    ("hors_perimetre", None, "Alerte de sécurité", "Cher client,\n\nUne activité inhabituelle a été détectée sur votre compte. Cliquez ici pour sécuriser votre accès : http://acces-securise.example/login\n\nLe service sécurité", {"sender": "securite@acces-securise.example"}),
    # must stay information
    ("information", None, "Passeport volé", "Bonjour, on m'a volé mon passeport pendant un voyage : dois-je porter plainte avant de refaire la demande ?", {}),
    ("information", None, "Erreur sur mon acte", "Bonjour, il y a une erreur sur mon acte de naissance : est-ce que cela bloque ma demande de naturalisation ?", {}),
    ("information", None, "Justificatif", "Bonjour, au guichet on m'a dit de revenir avec un justificatif de domicile plus récent. Une quittance de loyer convient-elle ?", {}),
    ("information", None, "Employeur", "Bonjour, mon employeur me demande une attestation prouvant que mon titre est en cours de renouvellement. Laquelle puis-je lui donner ?", {}),
    # ------------------------------------- round 4 (families seen in the fourth corpus, in other words)
    # staff treating people without respect, told as a fact
    ("reclamation", "accueil_physique", "Accueil à l'entrée", "Bonjour,\n\nHier après-midi, le vigile posté à l'entrée nous traitait comme des moins que rien, ma mère et moi, devant toute la file. Personne ne mérite cela.\n\nK. Benamar", {}),
    # queues outside in bad weather, reported by a third party
    ("reclamation", "accueil_physique", "Accueil des usagers à Morlaix", "Madame, Monsieur,\n\nChaque lundi, des usagers font la queue dehors dès l'aube, sous la pluie, avec des enfants en bas âge, sans pouvoir s'abriter. Nous vous demandons d'organiser un accueil plus humain.\n\nL'association Entraide Morlaix", {}),
    ("information", None, "File d'attente", "Bonjour, faut-il faire la queue dehors avant l'ouverture ou peut-on attendre à l'intérieur du hall ?\nMerci", {}),
    # sent back at every visit
    ("reclamation", "titres_sejour", "Retrait de ma carte de séjour", "Bonjour,\n\nJe suis passé au guichet mardi, jeudi puis lundi pour retirer ma carte de séjour. Chaque fois on me répond qu'elle n'est pas prête et de repasser plus tard.\n\nS. Traoré", {}),
    # phone line closed during published hours
    ("reclamation", "accueil_telephonique", "Standard", "Bonjour,\nle standard annonce que le service est fermé alors que j'appelle aux heures d'ouverture affichées sur la convocation. Cela fait deux jours.\nM. Gourvès", {}),
    ("information", None, "Horaires du standard", "Bonjour, le standard est-il fermé pendant les heures d'ouverture du samedi matin ?\nMerci", {}),
    # a request to check one's own file: hors périmètre, unless the writer complains
    ("hors_perimetre", None, "Ma carte grise", "Bonjour,\nle vendeur de mon véhicule me dit que ma carte grise est bloquée chez vous. Pourriez-vous regarder mon dossier ? Merci\nJ. Le Goff", {}),
    ("hors_perimetre", None, "Passeport", "Bonjour,\n\nJ'ai déposé ma demande de passeport en mairie il y a six semaines et toujours rien reçu. Pouvez-vous me dire où en est ma demande ?\n\nMerci, Y. Kerhervé", {}),
    ("reclamation", "autre", "Dossier bloqué", "Bonjour,\n\nC'est inadmissible : pouvez-vous enfin vérifier mon dossier, bloqué sans aucune explication ?\n\nP. Daniel", {}),
    ("hors_perimetre", None, "Relance dossier naturalisation", "Bonjour,\n\nJe reviens vers vous au sujet de mon dossier déposé en mars. Avez-vous reçu l'attestation de mon employeur envoyée en mai ?\n\nCordialement,\nR. Haddad", {}),
    # acknowledgement of a ticketing tool, without automatic headers
    ("automatique", None, "[Ticket#20261103000457] Votre message a bien été reçu", "Bonjour,\n\nVotre message a bien été reçu et enregistré sous le numéro 20261103000457. Il sera traité par le service concerné.\n\nMerci de rappeler ce numéro dans vos échanges.\n\n(message automatique)", {"sender": "Guichet numérique <contact@quimperle-communaute-exemple.fr>"}),
    ("information", None, "[Réf 2026-4411] question permis", "Bonjour, mon dossier porte la référence ci-dessus. Quelles pièces faut-il pour un duplicata de permis de conduire ?\nMerci", {}),
    # a list of proposals
    ("suggestion", "accueil_physique", "Préparation du comité des usagers", "Madame,\n\nVoici quelques propositions de notre association :\n- installer un écran d’appel des tickets dans le hall ;\n- ouvrir un guichet le samedi matin une fois par mois ;\n- publier les fiches de démarches en plusieurs langues.\n\nBien cordialement,\nA. Le Bras, secrétaire", {}),
]


def build(index: int, entry) -> bytes:
    category, topic, subject, body, opts = entry
    name = opts.get("name", "Camille Bernard")
    body = body.replace("{name}", name)
    sender = opts.get("sender", f"{name} <usager{index}@exemple-mail.fr>")
    report = opts.get("report")
    if report:
        msg = MIMEMultipart("report", report_type=report)
        msg.attach(MIMEText(body, "plain", "utf-8"))
        detail = MIMEText("Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; x@exemple.fr\nAction: failed\nStatus: 5.1.1\n", "plain", "utf-8")
        del detail["Content-Type"]
        detail["Content-Type"] = "text/plain; x-report=" + report
        msg.attach(detail)
    elif opts.get("html_only"):
        msg = MIMEText(body, "html", "utf-8")
    else:
        charset = opts.get("charset", "utf-8")
        if charset == "latin-1":
            cs = Charset("iso-8859-1")
            cs.body_encoding = QP
            msg = MIMEText(body, "plain", cs)
        elif charset == "base64":
            cs = Charset("utf-8")
            cs.body_encoding = BASE64
            msg = MIMEText(body, "plain", cs)
        else:
            msg = MIMEText(body, "plain", "utf-8")
    msg["From"] = sender
    msg["To"] = "prefecture@haute-savoie.gouv.fr"
    if opts.get("raw_subject"):
        msg["Subject"] = subject
    else:
        from email.header import Header

        msg["Subject"] = Header(subject, "utf-8")
    msg["Message-ID"] = f"<corpus-{index}@exemple-mail.fr>"
    msg["Date"] = "Mon, 07 Sep 2026 10:00:00 +0200"
    if opts.get("outlook"):
        msg["X-Auto-Response-Suppress"] = "All"
        msg["X-Mailer"] = "Microsoft Outlook 16.0"
    for key, value in opts.get("headers", {}).items():
        msg[key] = value
    return msg.as_bytes()


def messages():
    for index, entry in enumerate(CORPUS, start=1):
        yield index, entry[0], entry[1], entry[2], build(index, entry)
