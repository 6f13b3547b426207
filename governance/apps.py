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
        guards.guard_register(guards.ASSIGNMENT_CHANGE, separation.guard_assignment_change)
        guards.guard_register(guards.MEMBERSHIPS_DIRECTORY, separation.guard_memberships_directory)

        # The guards' "are there any conflict sets" answer is cached; any write of a set (or of its roles)
        # forgets it, whichever code path makes it.
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from .models import ConflictSet

        def forget(**_) -> None:
            separation.conflict_sets_changed()

        post_save.connect(forget, sender=ConflictSet, weak=False, dispatch_uid="governance-sets-saved")
        post_delete.connect(forget, sender=ConflictSet, weak=False, dispatch_uid="governance-sets-deleted")
        m2m_changed.connect(forget, sender=ConflictSet.roles.through, weak=False,
                            dispatch_uid="governance-set-roles-changed")
