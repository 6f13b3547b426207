from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"

    def ready(self) -> None:
        from assignments import guards

        from . import separation

        # Separation of duties runs inside the assignments writer's and the request pipeline's own
        # transactions, through their guard points (assignments never imports this app).
        guards.guard_register(guards.ASSIGNMENT_CREATE, separation.guard_assignment_create)
        guards.guard_register(guards.ACTIVATION, separation.guard_activation)
        guards.guard_register(guards.APPROVAL, separation.guard_approval)
