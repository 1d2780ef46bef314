"""Engine messages that the app can translate, without the engine needing Django.

The engine (``tables``, ``loglinear``, ``bma``, ``lcmcr``, ``services``) speaks English: the
command prints its messages as they are. The engine writes them as Django code would,
``_("no one is on list(s) %(names)s") % {"names": ...}``, but its ``_`` returns a
:class:`Message`: a ``str`` holding the English text that also remembers its template and
parameters. The app (``inapp.localise``) looks the template up in the Korean catalog
(``locale/ko``) and fills in the same parameters; a parameter may itself be a message (the
reason inside an error) and is translated too. ``makemessages`` finds the templates because
``_`` is one of its keywords.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping


class Message(str):
    """The English text of an engine message, with its template and parameters kept."""

    template: str
    params: Mapping[str, object]

    def __new__(cls, template: str, params: Mapping[str, object] | None = None) -> Message:
        self = super().__new__(cls, template % params if params else template)
        self.template = template
        self.params = dict(params or {})
        return self

    def __mod__(self, params: Mapping[str, object]) -> Message:
        return Message(self.template, params)

    def __reduce__(self):
        # Survives pickling (the results cache) and copying (dataclasses.asdict).
        return (Message, (self.template, self.params))

    def localised(self, gettext: Callable[[str], str]) -> str:
        """The message in the language of ``gettext`` (its message parameters first)."""
        template = gettext(self.template)
        if not self.params:
            return template
        return template % {name: localised(value, gettext) for name, value in self.params.items()}


def _(template: str) -> Message:
    """Mark an engine message for translation (the engine's stand-in for ``gettext``)."""
    return Message(template)


def localised(text, gettext: Callable[[str], str]):
    """An engine message in the language of ``gettext``; anything else unchanged."""
    return text.localised(gettext) if isinstance(text, Message) else text


# The convergence check's verdict when it finds nothing wrong. The command and the JSON list
# it among the warnings (the diagnostic always travels with the number); the page shows it
# as a reassuring note outside the warning box (``inapp.localise``: ``StratumResult.notes``).
CONVERGED = _(
    "MCMC convergence check on log N: split R-hat %(rhat)s, effective sample size "
    "%(ess)s of %(draws)d draws: no sign of non-convergence"
)
PASSED_CHECKS = (CONVERGED.template,)


def is_passed_check(text) -> bool:
    """Whether an engine message reports a check that found nothing wrong."""
    return isinstance(text, Message) and text.template in PASSED_CHECKS
