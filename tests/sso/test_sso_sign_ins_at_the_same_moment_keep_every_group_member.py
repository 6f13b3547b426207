"""People signing in at the same moment, each joining or leaving the same groups through their groups
claim, never undo each other: each sign-in locks the groups it changes before reading their members.
(PostgreSQL: row locks and concurrent transactions.)"""

import threading

import pytest
from django.db import connection

from assignments.models import User
from directory.oidc import OidcIdentity, OidcPolicy, oidc_sign_in
from directory.services import directory_actor, directory_group_members, directory_group_upsert

POLICY = OidcPolicy(provider_id="corp", name="Corp SSO", groups_claim="groups")
SETUP = directory_actor(job="test-setup", source_label="test")


@pytest.mark.django_db(transaction=True)
def test_concurrent_sign_ins_join_and_leave_the_same_groups_without_losing_anyone(postgres, directory):
    groups = [directory_group_upsert(source=POLICY.source, external_id=f"g{n}", display_name=f"G{n}", actor=SETUP)[0]
              for n in range(3)]
    people = [directory.user(f"person{n}", email=f"person{n}@corp.example") for n in range(8)]
    # The first half are in every group already and sign in to leave g0; the others sign in to join all.
    for user in people[:4]:
        oidc_sign_in(policy=POLICY, linked=user, identity=OidcIdentity(subject=user.username,
                                                                       groups=frozenset({"g0", "g1", "g2"})))
    barrier = threading.Barrier(len(people))
    errors = []

    def sign_in(user: User, claim: set[str]):
        try:
            barrier.wait()
            oidc_sign_in(policy=POLICY, linked=user, identity=OidcIdentity(subject=user.username,
                                                                           groups=frozenset(claim)))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=sign_in, args=(user, {"g1", "g2"} if n < 4 else {"g0", "g1", "g2"}))
               for n, user in enumerate(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    everyone = {user.principal.pk for user in people}
    assert directory_group_members(group=groups[0]) == {user.principal.pk for user in people[4:]}
    assert directory_group_members(group=groups[1]) == everyone
    assert directory_group_members(group=groups[2]) == everyone
