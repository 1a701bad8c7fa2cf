"""The three roles: each one may do everything the roles below it may."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """viewer reads; engineer also answers, handles alarms and runs scenarios; admin also manages."""

    viewer = "viewer"
    engineer = "engineer"
    admin = "admin"

    @property
    def rank(self) -> int:
        """Order of the roles: a higher rank includes every lower one."""
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        """Whether someone with this role may do what ``needed`` is required for."""
        return self.rank >= needed.rank


_RANK = {Role.viewer: 0, Role.engineer: 1, Role.admin: 2}


def role_label(role: Role) -> str:
    """The role's name in the current language."""
    from smartfactory.app.i18n import gettext as _

    return {Role.viewer: _("viewer"), Role.engineer: _("engineer"), Role.admin: _("admin")}[role]
