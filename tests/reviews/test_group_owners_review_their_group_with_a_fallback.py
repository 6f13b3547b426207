"""Reviewer "the group's owners": owners decide the memberships of the groups they own now, never
their own item; an owner's item with no other owner goes to the fallback reviewer."""

from django.utils import timezone

from reviews import selectors


def _decidable(user, instance):
    return set(selectors.reviewer_items(user=user, instance=instance, at=timezone.now())
               .values_list("principal__display_name", flat=True))


def test_owners_review_members_and_each_other(directory, make_review, start):
    group = directory.group("Finance")
    owner1, owner2, fallback = directory.user("own1"), directory.user("own2"), directory.user("fallback")
    directory.grant(owner1, "group-owner", group.group_scope)
    directory.grant(owner2, "group-owner", group.group_scope)
    directory.add_member(group, directory.user("mem1"))
    directory.add_member(group, owner1)
    other = directory.group("Other")
    directory.add_member(other, directory.user("elsewhere"))

    members = start(make_review(role="group-member", scope=directory.root, reviewer_type="group_owners",
                                fallback=[fallback]))
    assert _decidable(owner1, members) == {"Mem1"}  # not their own membership, not another group's
    assert _decidable(owner2, members) == {"Mem1", "Own1"}
    assert _decidable(fallback, members) == {"Elsewhere"}  # the other group has no owner


def test_a_sole_owner_s_own_item_goes_to_the_fallback(directory, make_review, start):
    group = directory.group("Solo")
    owner, fallback = directory.user("owner"), directory.user("fallback")
    directory.grant(owner, "group-owner", group.group_scope)
    owners = start(make_review(role="group-owner", scope=group.group_scope, reviewer_type="group_owners",
                               fallback=[fallback]))
    assert _decidable(owner, owners) == set()
    assert _decidable(fallback, owners) == {"Owner"}
