"""Another process working on a served JIKIMI_HOME: `python -m jikimi.ops.tests.serve_fixture`.

Used by test_serve_durability, which needs what an operator's commands do beside a live
server: make staff and check-in enrolments, issue an API token, read what is on disk.
Prints one JSON line.

    setup N     a case worker, an API token and N enrolments with PINs 2580 / 1397
    token       a new API token for that case worker
    state       the person codes, and the enrolments that have a duress alert
"""

from __future__ import annotations

import json
import sys

import django

PIN, DURESS_PIN = "2580", "1397"


def main(argv: list[str]) -> None:
    django.setup()
    from jikimi.accounts.models import User
    from jikimi.accounts.services import create_staff, ensure_organisation, issue_api_token

    command = argv[0]
    if command == "setup":
        from jikimi.checkins import services as checkins
        from jikimi.people import services as people

        org = ensure_organisation("alpha", "Alpha")
        user, _ = create_staff(
            "durable-cw", "correct horse battery staple", org, "caseworker", email="cw@a.example"
        )
        enrolments = []
        for i in range(int(argv[1])):
            person = people.create_person(user, name=f"내구 {i}")
            people.record_consent(user, person, purpose="checkins", granted=True)
            result = checkins.enrol(user, person, interval_hours=24)
            token = checkins.set_pins(result.setup_token, PIN, DURESS_PIN)
            enrolments.append({"id": str(result.enrolment.pk), "token": token})
        out: dict = {"api_token": issue_api_token(user)[1], "enrolments": enrolments}
    elif command == "token":
        out = {"api_token": issue_api_token(User.objects.get(username="durable-cw"))[1]}
    elif command == "state":
        from jikimi.alerts.models import Alert
        from jikimi.checkins.models import AlertKind
        from jikimi.people.models import Person

        out = {
            "people": sorted(Person.objects.values_list("code", flat=True)),
            "duress": sorted(
                str(e)
                for e in Alert.objects.filter(
                    kind=AlertKind.DURESS, source_app="checkins"
                ).values_list("source_ref", flat=True)
            ),
        }
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
