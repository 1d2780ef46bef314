"""Popular surname spellings no syllable grammar gives ("Hahn", "Whang", "Sohn", "Auh",
"Shinn", "Ihm", "Kahng", "Jhang", "Zhang", "Chough", "Ohm", "Kwun") now parse as the surname
(jikimi.lib.korean, issue #13), so a name written with one has other search keys than it
had: "Whang Sun" was read as the surname 선 and the given name "Whang". Each name identity's
index rows are brought to what `people.digests.identity_digests` gives now, as 0007 did
(the same step, run again). Idempotent; `jikimi reindex` does the same at any time."""

import importlib

from django.db import migrations


def reindex(apps, schema_editor):
    earlier = importlib.import_module("jikimi.people.migrations.0007_typo_keys_forms_only")
    earlier.keep_forms_only(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("people", "0007_typo_keys_forms_only")]

    operations = [migrations.RunPython(reindex, migrations.RunPython.noop)]
