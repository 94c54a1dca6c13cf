"""Quotas per user and period (a quarter or a month): who may set them and how."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared.auth import Principal
from shared.http import Conflict, Forbidden, NotFound, PreconditionFailed, ensure_version, keyset_page

from services.opportunities.forecasting import period_bounds
from services.opportunities.models import Quota
from services.opportunities.service import Deps, _flush


def _money(amount, currency) -> dict:
    return {"amount": amount, "currency": currency}

def quota_dict(quota: Quota) -> dict:
    return {"user_id": quota.user_id, "period": quota.period, "amount": _money(quota.amount, quota.currency),
            "version": quota.version, "created_at": quota.created_at, "updated_at": quota.updated_at}


def _authorize_quota(session, actor: Principal, user_id: str, deps: Deps) -> None:
    """Admin, or the user's manager (its manager_id, or a manager of its team)."""
    user = deps.directory.get(user_id, session=session, token=actor.token) if deps.directory else None
    if user is None:
        raise NotFound.of("user", user_id)
    if actor.is_admin:
        return
    if actor.role != "manager":
        raise Forbidden("Only an admin or the user's manager may set a quota.")
    if user.get("manager_id") == actor.id or (user["id"] != actor.id and user.get("team")
                                               and user.get("team") == actor.team):
        return
    raise Forbidden("Only an admin or the user's manager may set this user's quota.")


def get_quota(session, user_id, period: str) -> Quota:
    period_bounds(period)
    quota = session.get(Quota, (str(user_id), period))
    if quota is None:
        raise NotFound(f"No quota for user {user_id} in {period}.")
    return quota


def list_quotas(session, args: dict) -> tuple[list[Quota], str | None]:
    stmt = select(Quota)
    if args.get("user_id"):
        stmt = stmt.where(Quota.user_id == args["user_id"])
    if args.get("period"):
        stmt = stmt.where(Quota.period == args["period"])
    return keyset_page(session, stmt, Quota.created_at, Quota.user_id, limit=args["limit"], cursor=args.get("cursor"))


def put_quota(uow, actor: Principal, user_id, period: str, data: dict, expected: set[str] | None,
              deps: Deps) -> tuple[Quota, bool]:
    """Set a user's quota for a period; returns (quota, created)."""
    user_id = str(user_id)
    period_bounds(period)
    session = uow.session
    _authorize_quota(session, actor, user_id, deps)
    stmt = select(Quota).where(Quota.user_id == user_id, Quota.period == period)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    quota = session.scalars(stmt).first()
    if quota is None:
        if expected is not None:
            raise PreconditionFailed(f"There is no quota for {period} yet; send the PUT without If-Match.")
        quota = Quota(user_id=user_id, period=period, amount=data["amount"]["amount"],
                      currency=data["amount"]["currency"])
        session.add(quota)
        created = True
    else:
        ensure_version(quota.version, expected)
        quota.amount, quota.currency = data["amount"]["amount"], data["amount"]["currency"]
        created = False
    try:
        _flush(session)
    except IntegrityError:
        raise Conflict("Someone set this quota at the same moment; retry.") from None
    return quota, created
