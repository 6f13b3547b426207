from django.apps import AppConfig


class SelfServiceConfig(AppConfig):
    name = "selfservice"
    verbose_name = "Request rules: justification and ticket checks, auto-approval, break-glass"

    def ready(self) -> None:
        # The request pipeline (a lower layer) calls these through its hooks on every self activation.
        from approvals import hooks
        from assignments.models import Request

        from . import catalogue, services

        hooks.activation_check_register(services.activation_rules_check)
        hooks.activation_waiver_register(services.auto_approval_waiver)
        hooks.activation_note_register(services.activation_form_note)
        hooks.approved_action_register(Request.Action.SELF_REQUEST_ELIGIBILITY,
                                       provision=catalogue.eligibility_request_provision,
                                       needs_mfa=catalogue.eligibility_request_needs_mfa)
