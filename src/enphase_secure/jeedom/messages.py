"""What the Jeedom user reads in the plugin's daemon view when the gateway cannot be read: in French,
with what to do (the detail, in English, goes to the daemon log)."""

from __future__ import annotations

from ..errors import (
    CertificateMismatchError,
    CloudCredentialsError,
    CloudError,
    CloudMfaError,
    ConfigError,
    GatewayAuthError,
    GatewayUnreachableError,
    TokenExpiredError,
)

# most specific first: the first class the failure is an instance of gives the message
ADVICE: tuple[tuple[type[Exception], str], ...] = (
    (
        CloudCredentialsError,
        "Enlighten refuse l'identifiant ou le mot de passe : vérifiez « Utilisateur » et « Mot de passe » "
        "dans la configuration du plugin (compte Enlighten, pas celui de Jeedom).",
    ),
    (
        CloudMfaError,
        "Le compte Enlighten a la double authentification : le mode automatique ne peut pas se connecter. "
        "Choisissez « Jeton manuel » et collez un jeton obtenu sur entrez.enphaseenergy.com.",
    ),
    (
        TokenExpiredError,
        "Le jeton de la passerelle a expiré : collez un nouveau jeton (entrez.enphaseenergy.com) ou "
        "passez en mode « Jeton automatique » avec vos identifiants Enlighten.",
    ),
    (
        GatewayAuthError,
        "La passerelle refuse le jeton : vérifiez le numéro de série (un jeton vaut pour une seule "
        "passerelle) ou obtenez un nouveau jeton.",
    ),
    (
        CloudError,
        "Le cloud Enphase (Enlighten) ne répond pas : nouvel essai automatique ; vérifiez l'accès "
        "Internet de Jeedom si cela dure.",
    ),
    (
        CertificateMismatchError,
        "Le certificat de la passerelle a changé : vérifiez que l'adresse IP est bien celle de votre "
        "passerelle Enphase.",
    ),
    (
        GatewayUnreachableError,
        "Passerelle injoignable : vérifiez son adresse IP dans la configuration du plugin et qu'elle est "
        "allumée et sur le même réseau que Jeedom. Nouvel essai automatique.",
    ),
    (ConfigError, "Configuration refusée : corrigez la page de configuration du plugin."),
)
FALLBACK = "Passerelle indisponible : nouvel essai automatique ; voir le log enphasesecur_daemon."


def advice(failure: Exception) -> str:
    for kind, text in ADVICE:
        if isinstance(failure, kind):
            return text
    return FALLBACK
