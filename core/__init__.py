"""Domain building blocks shared by every app: who acts (`core.actors`) and how a refusal is said
(`core.errors`). Plain Python: no models, no app of its own."""
