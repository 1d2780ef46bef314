# A real SMTP server and HTTP gateway (notify's test doubles) for the invitation e-mails.
from jikimi.notify.tests.fixtures import gateway, smtp  # noqa: F401
