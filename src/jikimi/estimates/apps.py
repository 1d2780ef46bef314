from django.apps import AppConfig


class EstimatesConfig(AppConfig):
    name = "jikimi.estimates"
    label = "estimates"

    def ready(self) -> None:
        from jikimi.core.lazy import lazy
        from jikimi.core.monitor import register_pass

        # Long estimates (bootstrap, BMA, LCMCR) run in a child process this pass starts and
        # looks after on every loop; it never waits for one, so check-ins keep their pace. The pass
        # imports the job runner (NumPy, the engine) only when there is a job.
        register_pass("estimates.jobs", lazy("jikimi.estimates.monitor:job_pass"), order=80)
