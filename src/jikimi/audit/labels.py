"""What the audit page calls each action code and object type, in the reader's language.

The log stores codes (``person.read``); an auditor reads "Person record viewed" and sees the
code beside it (it is what the CLI, exports and other tools name). A code missing here is
shown as it is: the log never hides an event because nobody named it yet. The groups are the
part of a code before its first dot; the filter offers each group and each code.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

GROUPS = {
    "login.": _("Sign-in"),
    "reauth.": _("Password asked again"),
    "user.": _("Staff accounts"),
    "api_token.": _("API tokens"),
    "totp.": _("Two-step sign-in"),
    "person.": _("Person records"),
    "people.": _("People list and search"),
    "identity.": _("Names and contact details"),
    "consent.": _("Consent"),
    "trusted_contact.": _("Trusted contacts"),
    "import.": _("Imports"),
    "checkin.": _("Check-ins"),
    "checkin_enrolment.": _("Check-in enrolments"),
    "checkin_policy.": _("Escalation policies"),
    "checkin_alert.": _("Check-in alerts"),
    "checkin_task.": _("Alert tasks"),
    "linkage.": _("Record linkage"),
    "incident.": _("Incidents"),
    "event.": _("Incident sharing"),
    "evidence.": _("Evidence files"),
    "determination.": _("Return determinations"),
    "case.": _("Protection cases"),
    "estimate.": _("Estimates"),
    "audit.": _("Audit log"),
    "backup.": _("Backups"),
    "demo.": _("Demonstration data"),
}

ACTIONS = {
    "login.ok": _("Signed in"),
    "login.failed": _("Sign-in failed"),
    "login.locked": _("Account locked after failed sign-ins"),
    "login.refused_locked": _("Sign-in refused: account locked"),
    "reauth.ok": _("Password confirmed again"),
    "reauth.refused_locked": _("Password confirmation refused: account locked"),
    "user.create": _("Staff account created"),
    "api_token.create": _("API token created"),
    "api_token.revoke": _("API token revoked"),
    "api_token.refused": _("API token refused"),
    "totp.show_secret": _("Two-step sign-in secret shown"),
    "person.create": _("Person record created"),
    "person.read": _("Person record viewed"),
    "person.update": _("Person record changed"),
    "person.not_found": _("Person not found"),
    "person.write_refused": _("Change to a person refused"),
    "person.share": _("Person shared with an organisation"),
    "person.unshare": _("Person's sharing ended"),
    "people.list": _("People list viewed"),
    "people.search": _("People searched"),
    "people.search.refused": _("People search refused"),
    "people.reindex": _("Search index rebuilt"),
    "identity.create": _("Name or contact detail added"),
    "identity.read": _("Names and contact details viewed"),
    "identity.delete": _("Name or contact detail removed"),
    "consent.record": _("Consent recorded"),
    "trusted_contact.create": _("Trusted contact added"),
    "trusted_contact.read": _("Trusted contacts viewed"),
    "import.people": _("People imported"),
    "checkin.received": _("Check-in received"),
    "checkin_enrolment.create": _("Enrolled in check-ins"),
    "checkin_enrolment.setup_link": _("Check-in set-up link made"),
    "checkin_enrolment.pins_set": _("Check-in PINs set"),
    "checkin_enrolment.read": _("Check-in enrolment viewed"),
    "checkin_enrolment.pause": _("Check-ins paused"),
    "checkin_enrolment.resume": _("Check-ins resumed"),
    "checkin_enrolment.withdraw": _("Check-ins withdrawn"),
    "checkin_enrolment.policy": _("Escalation policy chosen for an enrolment"),
    "checkin_policy.create": _("Escalation policy created"),
    "checkin_policy.update": _("Escalation policy changed"),
    "checkin_alert.raise": _("Check-in alert raised"),
    "checkin_alert.board": _("Alert board viewed"),
    "checkin_alert.acknowledge": _("Check-in alert acknowledged"),
    "checkin_alert.close": _("Check-in alert closed"),
    "checkin_task.done": _("Alert task done"),
    "linkage.link": _("Records linked as the same person"),
    "linkage.unlink": _("Same-person link removed"),
    "linkage.link.not_found": _("Link not found"),
    "linkage.cluster.read": _("Linked records viewed"),
    "linkage.reappearance": _("Reappearance found"),
    "linkage.review.list": _("Linkage review list viewed"),
    "linkage.review.queue": _("Pairs queued for linkage review"),
    "linkage.review.read": _("Linkage review pair viewed"),
    "linkage.review.not_found": _("Linkage review pair not found"),
    "incident.create": _("Incident recorded"),
    "incident.read": _("Incident viewed"),
    "incident.list": _("Incident list viewed"),
    "incident.not_found": _("Incident not found"),
    "incident.write_refused": _("Change to a shared incident refused"),
    "event.share": _("Incident shared with an organisation"),
    "event.unshare": _("Incident's sharing ended"),
    "incident.acts.list": _("Act list viewed"),
    "incident.acts.of_person": _("A person's acts viewed"),
    "incident.capture_records": _("Acts read for an estimate"),
    "incident.export": _("Act list exported"),
    "incident.export_refused": _("Act list export refused"),
    "incident.term.add": _("Vocabulary term added"),
    "incident.term.retire": _("Vocabulary term retired"),
    "incident.term.restore": _("Vocabulary term restored"),
    "incident.term.delete": _("Vocabulary term deleted"),
    "incident.place.add": _("Place added to the gazetteer"),
    "incident.place.retire": _("Place retired"),
    "incident.place.restore": _("Place restored"),
    "incident.place.delete": _("Place deleted"),
    "import.incidents": _("Incidents imported"),
    "evidence.upload": _("Evidence file uploaded"),
    "evidence.view": _("Evidence file viewed"),
    "evidence.download": _("Evidence file downloaded"),
    "evidence.download_refused": _("Evidence download refused"),
    "evidence.verify": _("Evidence file verified"),
    "evidence.withdraw": _("Evidence file withdrawn"),
    "evidence.withdraw_refused": _("Evidence withdrawal refused"),
    "evidence.verify_refused": _("Evidence verification refused: withdrawn"),
    "evidence.custody_read": _("Custody log viewed"),
    "evidence.not_found": _("Evidence file not found"),
    "evidence.refused_too_large": _("Evidence file refused: too large"),
    "determination.write": _("Return determination recorded"),
    "determination.read": _("Return determination viewed"),
    "determination.list": _("Returnee list viewed"),
    "determination.not_found": _("Return determination not found"),
    "case.open": _("Protection case opened"),
    "case.read": _("Protection case viewed"),
    "case.list": _("Protection case list viewed"),
    "case.update": _("Protection case changed"),
    "case.status": _("Protection case status changed"),
    "case.not_found": _("Protection case not found"),
    "case.action": _("Case action recorded"),
    "case.family_contact": _("Family contact recorded"),
    "case.deadline_add": _("Case deadline set"),
    "case.deadline_met": _("Case deadline met"),
    "case.deadline_cancel": _("Case deadline cancelled"),
    "case.referral_propose": _("Case referral proposed"),
    "case.referral_approve": _("Case referral approved"),
    "case.referral_accept": _("Case referral accepted"),
    "case.referral_decline": _("Case referral declined"),
    "case.referrals_incoming": _("Incoming referrals viewed"),
    "case.referrals_outgoing": _("Outgoing referrals viewed"),
    "case.policy": _("Case escalation policy set"),
    "case.kind_policy": _("Escalation policy for a case kind set"),
    "case.un_draft": _("UN submission draft generated"),
    "estimate.run": _("Estimate run"),
    "estimate.export": _("Capture-history table downloaded"),
    "audit.view": _("Audit log viewed"),
    "audit.verify": _("Audit chain verified"),
    "backup.create": _("Backup made"),
    "backup.restore": _("Backup restored"),
    "demo.seed": _("Demonstration data created"),
}

OBJECT_TYPES = {
    "person": _("Person"),
    "user": _("Staff account"),
    "api_token": _("API token"),
    "checkin_enrolment": _("Check-in enrolment"),
    "checkin_policy": _("Escalation policy"),
    "checkin_alert": _("Check-in alert"),
    "link": _("Same-person link"),
    "review": _("Linkage review pair"),
    "import": _("Import"),
    "estimate": _("Estimate"),
    "capture_histories": _("Capture-history table"),
    "backup": _("Backup"),
}


CHAIN_REASONS = {
    "missing (deleted) or out of order": _("missing (deleted) or out of order"),
    "does not follow the row before it (reordered or the previous row was altered)": _(
        "does not follow the row before it (reordered, or the row before it was altered)"
    ),
    "its content was altered": _("its content was altered"),
    "written after the chain head without moving it": _(
        "written after the end of the chain without moving the chain head"
    ),
}
_HEAD_MISSING = re.compile(
    r"missing: the chain head names row (\d+) but the log ends before it "
    r"\(rows deleted at the end\)"
)


def chain_reason(reason: str) -> str:
    """`verify_chain`'s reason (English, as the command prints it) in the reader's language."""
    if reason in CHAIN_REASONS:
        return str(CHAIN_REASONS[reason])
    if found := _HEAD_MISSING.fullmatch(reason):
        return _(
            "missing: the chain head names row %(row)s but the log ends before it (rows "
            "deleted at the end)"
        ) % {"row": found.group(1)}
    return reason


def action_label(code: str) -> str:
    """The reader's name for an action code; the code itself when it has none yet."""
    return str(ACTIONS.get(code, code))


def object_label(kind: str) -> str:
    return str(OBJECT_TYPES.get(kind, kind))


def action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The filter's options: per group, "all of the group" first, then each action in it."""
    out = []
    for prefix, group in GROUPS.items():
        options = [(prefix, str(_("%(group)s: all") % {"group": group}))]
        options += [
            (code, str(label)) for code, label in ACTIONS.items() if code.startswith(prefix)
        ]
        out.append((str(group), options))
    return out
