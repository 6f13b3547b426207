"""Applying what an LDAP run (or LDIF import) read, after its safety check, in committed chunks.

The run has read everything and found it plausible before any of this starts (`directory.ldap_sync`).
Then:
1. new users, new groups and membership additions and removals are written set-based
   (`assignments.intake`): a few statements and one transaction per chunk of `USER_CHUNK` users,
   `GROUP_CHUNK` groups or `MEMBERSHIP_CHUNK` memberships, each chunk with its audit events (one per
   change) and its outbox effects; no savepoint per entry and no recipients looked up per membership;
2. what changes an existing person or group (rename, new email, disable, enable, link of a portal
   user of the same name) goes through the per-entry intake core (`directory.services`), each entry in
   its own transaction: such changes are few, and a refused one (a username used by another source,
   the last Global Administrator disabled) leaves no trace and is listed on the run;
3. each chunk's transaction also writes the run's counts so far: whatever happens later, the run's
   counts are exactly what was committed. A run that stops part-way (the database went away) is
   recorded failed with those counts; the next full run finishes the job (every step is idempotent:
   what was created is then unchanged).
"""

from collections import defaultdict
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower

from assignments import intake
from assignments import services as assignment_services
from assignments.models import Assignment, Principal, RoleDefinition, User
from core.actors import Actor
from core.errors import DomainError

from .ldap_client import DirectoryRead, GroupEntry, UserEntry, dn_key
from .models import DirectorySource, DirectorySourceEntry, DirectorySyncRun
from .services import Outcome, directory_group_upsert, directory_user_upsert

USER_CHUNK = 1000
GROUP_CHUNK = 500
MEMBERSHIP_CHUNK = 2000
LOOKUP_CHUNK = 1000  # values per IN (…) list


@dataclass
class Counts:
    users_created: int = 0
    users_updated: int = 0
    users_disabled: int = 0
    users_unchanged: int = 0
    groups_created: int = 0
    groups_updated: int = 0
    groups_unchanged: int = 0
    memberships_added: int = 0
    memberships_removed: int = 0


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


class Applier:
    """One run's apply. `run` is the recorded run (its counts are written with every chunk)."""

    def __init__(self, *, source: DirectorySource, run: DirectorySyncRun, read: DirectoryRead, full: bool,
                 actor: Actor):
        self.source, self.run, self.read, self.full, self.actor = source, run, read, full, actor
        self.key = source.source_key
        self.counts = Counts()
        self.by_dn: dict[str, Principal] = {}
        self.existing = self._existing()
        self._dn_keys: dict[str, str] = {}

    def _existing(self) -> dict[str, Principal]:
        """The source's principals by external id: all of them for a full run (it disables who is
        gone), only those read for an incremental one (a hundred changes need not load 10,000 people)."""
        known = Principal.objects.filter(external_source=self.key).select_related("user")
        if self.full:
            return {p.external_id: p for p in known}
        ids = sorted({e.record.external_id for e in self.read.users} | {e.external_id for e in self.read.groups})
        return {p.external_id: p for chunk in _chunks(ids, LOOKUP_CHUNK) for p in known.filter(external_id__in=chunk)}

    def _dn(self, dn: str) -> str:
        """`dn_key`, once per DN: a group's member values repeat the users' DNs 20,000 times."""
        key = self._dn_keys.get(dn)
        if key is None:
            key = self._dn_keys[dn] = dn_key(dn)
        return key

    # --- bookkeeping ---------------------------------------------------------------------------------

    def _save_counts(self) -> None:
        """In the chunk's transaction: the run's counts are what is committed."""
        DirectorySyncRun.objects.filter(pk=self.run.pk).update(**vars(self.counts))

    def _add(self, name: str, value: int = 1) -> None:
        setattr(self.counts, name, getattr(self.counts, name) + value)

    def apply(self) -> Counts:
        self._users()
        if self.full:
            self._disable_gone()
        groups = self._groups()
        self._index_update()
        self._memberships(groups)
        return self.counts

    # --- users ---------------------------------------------------------------------------------------

    def _taken_usernames(self, names: set[str]) -> set[str]:
        taken: set[str] = set()
        for chunk in _chunks(sorted(names), LOOKUP_CHUNK):
            taken.update(User.objects.annotate(lower=Lower("username")).filter(lower__in=chunk)
                         .values_list("lower", flat=True))
        return taken

    def _users(self) -> None:
        new: list[UserEntry] = []
        one_by_one: list[UserEntry] = []
        seen_ids: set[str] = set()
        candidates: list[tuple[UserEntry, str]] = []
        updates: list[tuple[UserEntry, str]] = []
        for entry in self.read.users:
            record = entry.record
            known = self.existing.get(record.external_id)
            first = record.external_id not in seen_ids
            seen_ids.add(record.external_id)
            if known is not None and known.user is not None and _same(known.user, record):
                self._add("users_unchanged")
                self.by_dn[self._dn(entry.dn)] = known
                continue
            username = record.username.replace("\x00", "").strip()
            if known is None and first and username and record.external_id:
                candidates.append((entry, username))
            elif (known is not None and known.is_user and known.user is not None and first and username
                  and known.user.is_active == record.active):
                updates.append((entry, username))  # new name, email or display name: set-based
            else:
                one_by_one.append(entry)  # enabled or disabled, or refused with a clear message
        taken = self._taken_usernames({username.lower() for _, username in candidates + updates})
        changes: list[tuple[UserEntry, str]] = []
        for entry, username in updates:
            user = self.existing[entry.record.external_id].user
            if username.lower() != user.username.lower() and username.lower() in taken:
                one_by_one.append(entry)  # the new name is someone else's: refused one by one, with the reason
            else:
                taken.add(username.lower())
                changes.append((entry, username))
        for entry, username in candidates:
            if username.lower() in taken:
                one_by_one.append(entry)  # a portal user of that name (linked) or another source's (refused)
            else:
                taken.add(username.lower())  # a second entry of the same name in this read goes one by one
                new.append(entry)
        for chunk in _chunks(changes, USER_CHUNK):
            self._update_users(chunk)
        for chunk in _chunks(new, USER_CHUNK):
            self._create_users(chunk)
        for entry in one_by_one:
            self._user_one(entry)

    def _update_users(self, entries: list[tuple[UserEntry, str]]) -> None:
        changes = [intake.UserChange(user_id=self.existing[e.record.external_id].user_id, username=username,
                                     email=e.record.email, display_name=e.record.display_name)
                   for e, username in entries]
        try:
            with transaction.atomic():
                self._add("users_updated", intake.users_update_many(changes=changes, actor=self.actor))
                self._save_counts()
        except IntegrityError:
            for entry, _ in entries:  # a concurrent writer took a new name meanwhile: one by one, with the reason
                self._user_one(entry)
            return
        for entry, _ in entries:
            self.by_dn[self._dn(entry.dn)] = self.existing[entry.record.external_id]

    def _create_users(self, entries: list[UserEntry]) -> None:
        users = [intake.NewUser(username=e.record.username.replace("\x00", "").strip(),
                                external_id=e.record.external_id, email=e.record.email,
                                display_name=e.record.display_name, active=e.record.active) for e in entries]
        try:
            with transaction.atomic():
                principals = intake.users_create_many(source=self.key, users=users, actor=self.actor)
                self._add("users_created", len(principals))
                self._save_counts()
        except IntegrityError:
            # A concurrent writer took one of these names or ids meanwhile: nothing of this chunk was
            # written (nor counted); take its entries one by one, which says which one and why.
            for entry in entries:
                self._user_one(entry)
            return
        for entry, principal in zip(entries, principals, strict=True):
            self.by_dn[self._dn(entry.dn)] = principal

    def _user_one(self, entry: UserEntry) -> None:
        record = entry.record
        known = self.existing.get(record.external_id)
        was_active = known.user.is_active if known is not None and known.user is not None else None
        try:
            with transaction.atomic():
                user, outcome = directory_user_upsert(source=self.key, record=record, actor=self.actor)
                if outcome == Outcome.CREATED:
                    self._add("users_created")
                elif was_active and not user.is_active:
                    self._add("users_disabled")
                elif outcome == Outcome.UPDATED:
                    self._add("users_updated")
                else:
                    self._add("users_unchanged")
                self._save_counts()
        except DomainError as error:
            self.read.skip(f"{entry.dn}: {error.message}")
            return
        self.by_dn[self._dn(entry.dn)] = user.principal

    def _disable_gone(self) -> None:
        """A full read is the whole directory: its users that are not in it any more are disabled
        (which ends everything they hold), each in its own transaction."""
        seen = {entry.record.external_id for entry in self.read.users}
        for principal in self.existing.values():
            if principal.user is None or principal.external_id in seen or not principal.user.is_active:
                continue
            try:
                with transaction.atomic():
                    assignment_services.user_set_enabled(user=principal.user, enabled=False, actor=self.actor,
                                                         justification="No longer in the directory.")
                    self._add("users_disabled")
                    self._save_counts()
            except DomainError as error:
                self.read.skip(f"{principal.user.username} (gone from the directory): {error.message}")

    # --- groups --------------------------------------------------------------------------------------

    def _groups(self) -> list[tuple[Principal, tuple[str, ...]]]:
        groups: list[tuple[Principal, tuple[str, ...]]] = []
        new: list[GroupEntry] = []
        seen_ids: set[str] = set()
        for entry in self.read.groups:
            known = self.existing.get(entry.external_id)
            name = entry.name.replace("\x00", "").strip()
            first = entry.external_id not in seen_ids
            seen_ids.add(entry.external_id)
            if known is not None and known.is_group and known.display_name == name:
                self._add("groups_unchanged")
                self.by_dn[self._dn(entry.dn)] = known
                groups.append((known, entry.member_dns))
            elif known is None and first and name and entry.external_id:
                new.append(entry)
            else:
                group = self._group_one(entry)
                if group is not None:
                    groups.append((group, entry.member_dns))
        for chunk in _chunks(new, GROUP_CHUNK):
            with transaction.atomic():
                created = intake.groups_create_many(
                    source=self.key, groups=[(e.external_id, e.name.replace("\x00", "").strip()) for e in chunk],
                    actor=self.actor)
                self._add("groups_created", len(created))
                self._save_counts()
            for entry, group in zip(chunk, created, strict=True):
                self.by_dn[self._dn(entry.dn)] = group
                groups.append((group, entry.member_dns))
        return groups

    def _group_one(self, entry: GroupEntry) -> Principal | None:
        try:
            with transaction.atomic():
                group, outcome = directory_group_upsert(source=self.key, external_id=entry.external_id,
                                                        display_name=entry.name, actor=self.actor)
                self._add(f"groups_{outcome.value}")
                self._save_counts()
        except DomainError as error:
            self.read.skip(f"{entry.dn}: {error.message}")
            return None
        self.by_dn[self._dn(entry.dn)] = group
        return group

    # --- the DN index ---------------------------------------------------------------------------------

    def _index_update(self) -> None:
        """Record which principal each DN read is (for the member values of later incremental runs)."""
        if self.full:
            self._index_replace()
            return
        with transaction.atomic():
            entries = DirectorySourceEntry.objects.filter(source=self.source)
            dns, principals = list(self.by_dn), [p.pk for p in self.by_dn.values()]
            for start in range(0, len(dns), LOOKUP_CHUNK):
                entries.filter(Q(dn__in=dns[start:start + LOOKUP_CHUNK])
                               | Q(principal_id__in=principals[start:start + LOOKUP_CHUNK])).delete()
            rows, used = [], set()
            for dn, principal in self.by_dn.items():
                if principal.pk in used:
                    continue  # two DNs for one principal (a rename read twice): keep the first
                used.add(principal.pk)
                rows.append(DirectorySourceEntry(source=self.source, dn=dn[:1000], principal=principal,
                                                 kind="group" if principal.is_group else "user"))
            DirectorySourceEntry.objects.bulk_create(rows, batch_size=LOOKUP_CHUNK)

    def _index_replace(self) -> None:
        """A full run's index is exactly what it read: delete the rows that differ, insert the new
        ones (an unchanged directory rewrites nothing)."""
        wanted: dict[str, Principal] = {}
        used: set[int] = set()
        for dn, principal in self.by_dn.items():
            if principal.pk not in used:  # two DNs for one principal (a rename read twice): keep the first
                used.add(principal.pk)
                wanted[dn[:1000]] = principal
        with transaction.atomic():
            entries = DirectorySourceEntry.objects.filter(source=self.source)
            stale = [pk for pk, dn, principal_id in entries.values_list("pk", "dn", "principal_id")
                     if dn not in wanted or wanted[dn].pk != principal_id]
            for chunk in _chunks(stale, LOOKUP_CHUNK):
                DirectorySourceEntry.objects.filter(pk__in=chunk).delete()
            kept = set(entries.values_list("dn", flat=True))
            DirectorySourceEntry.objects.bulk_create(
                [DirectorySourceEntry(source=self.source, dn=dn, principal=principal,
                                      kind="group" if principal.is_group else "user")
                 for dn, principal in wanted.items() if dn not in kept], batch_size=LOOKUP_CHUNK)

    def _resolver(self, wanted: set[str]) -> dict[str, Principal]:
        resolved = dict(self.by_dn)
        missing = sorted(wanted - set(resolved))
        for chunk in _chunks(missing, LOOKUP_CHUNK):
            for entry in (DirectorySourceEntry.objects.filter(source=self.source, dn__in=chunk)
                          .select_related("principal")):
                resolved[entry.dn] = entry.principal
        return resolved

    # --- memberships ----------------------------------------------------------------------------------

    def _current_members(self, group_ids: list[int]) -> dict[int, set[int]]:
        """{group id: its live directory-origin members} for these groups, in a few queries."""
        current: dict[int, set[int]] = defaultdict(set)
        for chunk in _chunks(group_ids, LOOKUP_CHUNK):
            for group_id, member_id in Assignment.objects.filter(
                    role__slug=RoleDefinition.GROUP_MEMBER, scope__group_id__in=chunk, kind=Assignment.Kind.ACTIVE,
                    status=Assignment.Status.LIVE, origin=Assignment.Origin.DIRECTORY,
            ).values_list("scope__group_id", "principal_id"):
                current[group_id].add(member_id)
        return current

    def _memberships(self, groups: list[tuple[Principal, tuple[str, ...]]]) -> None:
        resolve = self._resolver({self._dn(dn) for _, dns in groups for dn in dns})
        wanted: dict[int, set[int]] = {}
        for group, member_dns in groups:
            members = wanted.setdefault(group.pk, set())
            for dn in member_dns:
                member = resolve.get(self._dn(dn))
                if member is None:
                    continue  # outside the base DNs or the user filter (or groupOfNames' placeholder member)
                if member.is_group:
                    self.read.skip(f"{group.display_name}: nested group {dn} ignored (groups do not nest in PIM).")
                    continue
                members.add(member.pk)
        if self.full:  # groups gone from the directory keep no directory members
            seen = {entry.external_id for entry in self.read.groups}
            for principal in self.existing.values():
                if principal.is_group and principal.external_id not in seen:
                    wanted.setdefault(principal.pk, set())
        current = self._current_members(sorted(wanted))
        additions = [(group, member) for group, members in wanted.items() for member in members - current[group]]
        removals = [(group, member) for group, members in wanted.items() for member in current[group] - members]
        for chunk in _chunks(sorted(additions), MEMBERSHIP_CHUNK):
            self._add_members(chunk)
        for chunk in _chunks(sorted(removals), MEMBERSHIP_CHUNK):
            with transaction.atomic():
                self._add("memberships_removed", intake.memberships_directory_remove_many(pairs=chunk,
                                                                                          actor=self.actor))
                self._save_counts()

    def _add_members(self, pairs: list[tuple[int, int]]) -> None:
        try:
            with transaction.atomic():
                added = intake.memberships_directory_add_many(pairs=pairs, actor=self.actor)
                self._add("memberships_added", len(added))
                self._save_counts()
        except IntegrityError:
            # A concurrent writer added one of these memberships meanwhile: nothing of this chunk was
            # written (nor counted); add them one by one (each a no-op if it is there now).
            principals = Principal.objects.in_bulk({pk for pair in pairs for pk in pair})
            for group, member in pairs:
                try:
                    with transaction.atomic():
                        if assignment_services.membership_directory_add(
                                group=principals[group], member=principals[member], actor=self.actor):
                            self._add("memberships_added")
                            self._save_counts()
                except DomainError as error:
                    self.read.skip(f"Members of {principals[group].display_name}: {error.message}")


def _same(user: User, record) -> bool:
    return (user.username == record.username.strip() and user.email == record.email
            and user.display_name == (record.display_name or record.username.strip())
            and user.is_active == record.active)
