"""The terminal's words, in English and in French (Brussels): short, for a tablet on the
wall read from two metres."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Workshop", "pin": "PIN", "enter": "Enter", "wrong_pin": "Wrong PIN",
        "machines": "Machines", "since": "since", "job": "Job", "last_job": "Last job",
        "none": "none", "back": "All machines", "verdict": "Last job: how did it come out?",
        "good": "Good", "scrap": "Scrap", "send": "Record", "why_stopped": "Why is it stopped?",
        "not_stopped": "It is running.", "load": "Load a spool / lot", "lot": "Lot",
        "material": "Material", "recycled_pct": "Recycled %", "supplier": "Supplier",
        "mass_g": "Mass (g)", "unload": "Unload", "loaded": "Loaded", "recorded": "Recorded",
        "not_sent": "Not sent: the broker cannot be reached. Try again.",
        "reason": "Reason", "planned": "Planned", "unplanned": "Unplanned", "lock": "Lock",
        "recent_lots": "Load again", "running": "running", "idle": "idle",
        "stopped": "stopped", "fault": "fault", "maintenance": "maintenance",
        "offline": "offline", "unknown": "unknown", "unassigned": "no reason yet",
        "refused": "Not recorded", "all_good": "All good", "all_scrap": "All scrap",
        "scrap_reason": "Scrap? Tap the reason to record with it",
        "upkeep": "Maintenance", "serviced": "Serviced", "replaced": "Replaced",
        "inspected": "Inspected", "ok": "ok", "warning": "soon", "due": "due",
        "overdue": "overdue", "left": "left", "last_done": "last",
        "no_new_job": "Do not start a new job: overdue", "nothing_due": "Nothing is due.",
        "run_h": "h running", "powered_h": "h on", "jobs": "jobs", "good_parts": "parts",
        "kwh": "kWh", "filament_m": "m of filament", "days": "days",
        "batch": "Batch", "product": "Product", "quantity": "Quantity",
        "start_batch": "Start the batch", "end_batch": "End the batch",
        "made_good": "good", "remaining": "remaining", "no_batch": "No batch is running.",
    },
    "fr": {
        "title": "Atelier", "pin": "Code", "enter": "Entrer", "wrong_pin": "Code erroné",
        "machines": "Machines", "since": "depuis", "job": "Travail", "last_job":
        "Dernier travail", "none": "aucun", "back": "Toutes les machines",
        "verdict": "Dernier travail : quel résultat ?", "good": "Bonnes", "scrap": "Rebuts",
        "send": "Enregistrer", "why_stopped": "Pourquoi est-elle arrêtée ?",
        "not_stopped": "Elle tourne.", "load": "Charger une bobine / un lot", "lot": "Lot",
        "material": "Matière", "recycled_pct": "% recyclé", "supplier": "Fournisseur",
        "mass_g": "Masse (g)", "unload": "Décharger", "loaded": "Chargé",
        "recorded": "Enregistré",
        "not_sent": "Pas envoyé : le broker est injoignable. Réessayez.",
        "reason": "Raison", "planned": "Prévu", "unplanned": "Imprévu", "lock": "Verrouiller",
        "recent_lots": "Recharger", "running": "en marche", "idle": "à l'arrêt (prête)",
        "stopped": "arrêtée", "fault": "en défaut", "maintenance": "en maintenance",
        "offline": "hors ligne", "unknown": "inconnu", "unassigned": "pas de raison",
        "refused": "Pas enregistré", "all_good": "Toutes bonnes",
        "all_scrap": "Toutes rebutées",
        "scrap_reason": "Des rebuts ? Touchez la raison pour enregistrer avec elle",
        "upkeep": "Entretien", "serviced": "Entretenu", "replaced": "Remplacé",
        "inspected": "Contrôlé", "ok": "ok", "warning": "bientôt", "due": "à faire",
        "overdue": "en retard", "left": "reste", "last_done": "dernier",
        "no_new_job": "Ne pas lancer de nouveau travail : entretien en retard",
        "nothing_due": "Rien à faire.",
        "run_h": "h en marche", "powered_h": "h allumée", "jobs": "travaux",
        "good_parts": "pièces", "kwh": "kWh", "filament_m": "m de filament", "days": "jours",
        "batch": "Ordre de fabrication", "product": "Produit", "quantity": "Quantité",
        "start_batch": "Lancer l'ordre", "end_batch": "Clôturer l'ordre",
        "made_good": "bonnes", "remaining": "reste", "no_batch": "Aucun ordre en cours.",
    },
}

REASONS: dict[str, dict[str, str]] = {
    "en": {},
    "fr": {
        "changeover": "changement de série", "maintenance": "maintenance", "break": "pause",
        "no_order": "pas de commande", "cleaning": "nettoyage", "fault": "panne",
        "waiting_material": "attente matière", "waiting_operator": "attente opérateur",
        "tooling": "outillage", "quality_check": "contrôle qualité", "warping": "gauchissement",
        "layer_shift": "décalage de couches", "stringing": "fils", "dimensions": "cotes",
        "surface": "état de surface", "material_defect": "défaut matière",
        "setup": "réglage", "other": "autre", "unassigned": "pas de raison",
    },
}
"""The default reasons in words; a workshop's own reasons show as written."""


def reason_label(language: str, reason: str) -> str:
    return REASONS.get(language, {}).get(reason, reason.replace("_", " "))
