"""Building blocks shared by every app, importing none of them: who acts (`core.actors`), how a refusal is
said (`core.errors`), how an id typed by a person is read (`core.ids`), the domain events services emit
(`core.domain_events`), how fresh a session's MFA is (`core.mfa`) and the read-only admin bases
(`core.admin`). No models, no app of its own: the bottom layer (see `[tool.importlinter]`)."""
