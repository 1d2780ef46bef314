"""Three-token romanised names keep their surname-first reading ("Pyo Hak Kim" is 표학김 as
well as 김표학; "Kimm Nam Tae", a misspelt 김, keeps the given name 남태), and "Ui" is no
longer read as the surname 이 (ㅢ shares ㅣ's fine code) (jikimi.lib.korean, issue #13): such
names have other search keys than they had. Each name identity's index rows are brought to
what `people.digests.identity_digests` gives now, as 0007 and 0008 did (the same step, run
again). Idempotent; `jikimi reindex` does the same at any time."""

import importlib

from django.db import migrations


# The same step as 0008 (0007's), run again.
reindex = importlib.import_module("jikimi.people.migrations.0008_reindex_surname_spellings").reindex


class Migration(migrations.Migration):
    dependencies = [("people", "0008_reindex_surname_spellings")]

    operations = [migrations.RunPython(reindex, migrations.RunPython.noop)]
