"""Activities' use cases: one function per command, one transaction each."""
from __future__ import annotations

import hmac
import secrets
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import and_, not_, or_, select
from sqlalchemy.orm.exc import StaleDataError

from shared import history
from shared.auth import Principal, UserDirectory, authorize_write
from shared.db import dialect_of, utcnow
from shared.peer import owner_unavailable
from shared.http import Conflict, Forbidden, Invalid, NotFound, PreconditionFailed, ensure_version, keyset_page

from services.activities import rules, schemas
from services.activities.calendar import build_calendar
from services.activities.links import LINKS, Links, Unverifiable
from services.activities.models import Activity, CalendarFeed, LinkedRecord

FIELDS = ("type", "subject", "starts_at", "ends_at", "due_at", "remind_at", "location", "account_id", "contact_id",
          "opportunity_id", "case_id", "owner_id", "status", "outcome", "notes", "agreements")
MAX_AGENDA_WINDOW = timedelta(days=366)
DEFAULT_AGENDA_WINDOW = timedelta(days=7)
FEED_LIMIT = 2000

_out = schemas.ActivityOut()


def activity_dict(activity: Activity, now: datetime | None = None) -> dict:
    data = {f: getattr(activity, f) for f in ("id", "version", "created_at", "updated_at", *FIELDS,
                                              "completed_at", "reminder_sent_at")}
    data["overdue"] = rules.is_overdue(activity.status, activity.due_at, now or utcnow())
    return data


def activity_data(activity: Activity) -> dict:
    """Event payload: the full activity as the API shows it, less the
    time-dependent `overdue` flag."""
    data = _out.dump(activity_dict(activity))
    data.pop("overdue", None)
    return data


def _clean(data: dict) -> dict:
    return {k: (str(v) if k.endswith("_id") and v is not None else v) for k, v in data.items()}


def _validate(values: dict) -> None:
    errors = rules.check_activity(values)
    if errors:
        raise Invalid("The activity is not valid; see errors.", errors=errors)


def _flush_versioned(session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise PreconditionFailed("The activity was changed by someone else at the same moment; GET it and retry.") from None


def _check_owner(session, actor: Principal, owner_id: str, directory: UserDirectory | None) -> None:
    authorize_write(actor, "activity", owner_id, directory, session)
    if owner_id != actor.id and directory is not None:
        owner = directory.get(owner_id, session=session, token=actor.token)
        if owner is None or not owner.get("active", True):
            raise Invalid("The owner is not an active user.", errors={"owner_id": ["No active user with this id."]})


def _check_links(uow, actor: Principal, values: dict, given: set[str], links: Links) -> None:
    """Refuse links to records that do not exist (422). A link whose owning
    service cannot be asked is refused too, naming the link: an activity never
    keeps a link nobody verified. Fills account_id from a linked contact,
    opportunity or case when the caller left it out."""
    errors: dict[str, list[str]] = {}
    unverified: dict[str, list[str]] = {}
    owners: set[str] = set()
    found: dict[str, LinkedRecord] = {}
    for field, (kind, _service, _path) in LINKS.items():
        record_id = values.get(field)
        if record_id is None or field not in given:
            continue
        try:
            record = links.find(uow.session, uow.db.is_postgres, kind, record_id, actor)
        except Unverifiable as exc:
            unverified[field] = [f"Could not be verified: the {exc.service} service is unavailable ({exc.reason}); "
                                 "retry shortly."]
            owners.add(exc.service)
            continue
        if record is None:
            errors[field] = [f"No {kind} with this id."]
        else:
            found[field] = record
    if errors:
        raise Invalid("The activity links to records that do not exist.", errors={**errors, **unverified})
    if unverified:
        raise owner_unavailable(", ".join(sorted(owners)), ", ".join(unverified), "unreachable", errors=unverified)
    if values.get("account_id") is None and "account_id" not in given:
        for field in ("contact_id", "opportunity_id", "case_id"):
            if field in found and found[field].account_id:
                values["account_id"] = found[field].account_id
                break


# -- commands -----------------------------------------------------------------

def get_activity(session, activity_id) -> Activity:
    activity = session.get(Activity, str(activity_id))
    if activity is None or activity.deleted_at is not None:
        raise NotFound.of("activity", activity_id)
    return activity


def create_activity(uow, actor: Principal, data: dict, directory: UserDirectory | None, links: Links) -> Activity:
    data = _clean(data)
    status = data.pop("status", "planned")
    if status not in ("planned", "done"):
        raise Invalid("A new activity is planned, or done when it is logged after the fact.",
                      errors={"status": ["New activities are planned or done."]})
    data.setdefault("owner_id", actor.id)
    data.setdefault("subject", rules.type_label(data["type"]))
    session = uow.session
    _check_owner(session, actor, data["owner_id"], directory)
    if data["type"] == "email" and not data.get("starts_at") and not data.get("due_at"):
        data["starts_at"] = utcnow()  # an e-mail with no time is logged as sent now
    values = {f: data.get(f) for f in FIELDS}
    values["status"] = "planned"
    _validate(values)
    _check_links(uow, actor, values, set(data), links)
    activity = Activity(**values, agenda_at=rules.agenda_time(values))
    session.add(activity)
    session.flush()
    uow.publish("activities.activity.created", activity.id, activity_data(activity))
    if status == "done":  # logged after the fact (CONTRACTS §11): created and completed in one call
        before = activity_data(activity)
        activity.status, activity.completed_at = "done", utcnow()
        _flush_versioned(session)
        history.updated(uow, "activities.activity.completed", activity.id, activity_data(activity), before=before)
    return activity


def update_activity(uow, actor: Principal, activity_id, changes: dict, expected: set[str] | None,
                    directory: UserDirectory | None, links: Links) -> Activity:
    changes = _clean(changes)
    session = uow.session
    activity = get_activity(session, activity_id)
    ensure_version(activity.version, expected)
    authorize_write(actor, "activity", activity.owner_id, directory, session)
    if "owner_id" in changes and changes["owner_id"] != activity.owner_id:
        _check_owner(session, actor, changes["owner_id"], directory)
    status = changes.get("status", activity.status)
    if not rules.transition_allowed(activity.status, status):
        raise Conflict(f"A {activity.status} activity cannot become {status}.",
                       errors={"status": [f"Not allowed from {activity.status}."]}, slug="status-transition")
    values = {f: getattr(activity, f) for f in FIELDS}
    values.update(changes)
    _validate(values)
    _check_links(uow, actor, values, set(changes), links)
    rearm, before = "remind_at" in changes and changes["remind_at"] != activity.remind_at, activity_data(activity)
    completing = activity.status != "done" and status == "done"
    cancelling = activity.status != "cancelled" and status == "cancelled"
    for field in FIELDS:
        if field in changes or field == "account_id":
            setattr(activity, field, values[field])
    # An e-mail may lose its times; it then stays where it was recorded.
    activity.agenda_at = rules.agenda_time(values) or activity.created_at
    if rearm:
        activity.reminder_sent_at = None
    if completing:
        activity.completed_at = utcnow()
    if not session.is_modified(activity):
        return activity
    _flush_versioned(session)
    kind = "completed" if completing else "cancelled" if cancelling else "updated"
    history.updated(uow, f"activities.activity.{kind}", activity.id, activity_data(activity), before=before)
    return activity


def complete_activity(uow, actor: Principal, activity_id, data: dict, expected: set[str] | None,
                      directory: UserDirectory | None) -> Activity:
    session = uow.session
    activity = get_activity(session, activity_id)
    ensure_version(activity.version, expected)
    authorize_write(actor, "activity", activity.owner_id, directory, session)
    if activity.status == "done":
        raise Conflict("The activity is already done.", slug="status-transition",
                       errors={"status": ["Already done."]})
    if activity.status == "cancelled":
        raise Conflict("A cancelled activity cannot be completed; PATCH its status to planned first.",
                       slug="status-transition", errors={"status": ["Cancelled."]})
    before = activity_data(activity)
    for field in ("outcome", "notes", "agreements"):
        if field in data:
            setattr(activity, field, data[field])
    activity.status = "done"
    activity.completed_at = utcnow()
    _flush_versioned(session)
    history.updated(uow, "activities.activity.completed", activity.id, activity_data(activity), before=before)
    return activity


def delete_activity(uow, actor: Principal, activity_id, expected: set[str] | None,
                    directory: UserDirectory | None) -> None:
    session = uow.session
    activity = get_activity(session, activity_id)
    ensure_version(activity.version, expected)
    authorize_write(actor, "activity", activity.owner_id, directory, session)
    activity.deleted_at = utcnow()
    _flush_versioned(session)
    uow.publish("activities.activity.deleted", activity.id,
                {"id": activity.id, "type": activity.type, "subject": activity.subject,
                 "owner_id": activity.owner_id, "account_id": activity.account_id})


# -- queries --------------------------------------------------------------------

def _overdue(now: datetime):
    return and_(Activity.status == rules.OPEN, Activity.due_at.is_not(None), Activity.due_at < now)


def list_activities(session, args: dict, now: datetime | None = None) -> tuple[list[Activity], str | None]:
    stmt = activity_query(args, now)
    sort = args.get("sort", "created_at")
    if sort == "created_at":
        return keyset_page(session, stmt, Activity.created_at, Activity.id, limit=args["limit"], cursor=args.get("cursor"))
    return keyset_page(session, stmt, Activity.agenda_at, Activity.id, limit=args["limit"], cursor=args.get("cursor"),
                       descending=sort == "-time")


def activity_order(args: dict) -> tuple:
    """The list's order: created_at, or the activity's time (`sort=time|-time`)."""
    sort = args.get("sort", "created_at")
    if sort == "created_at":
        return Activity.created_at, Activity.id
    if sort == "-time":
        return Activity.agenda_at.desc(), Activity.id.desc()
    return Activity.agenda_at, Activity.id


def activity_query(args: dict, now: datetime | None = None):
    """Live activities matching a list's filters (unordered)."""
    now = now or utcnow()
    stmt = select(Activity).where(Activity.deleted_at.is_(None))
    for field in ("owner_id", "type", "status", "account_id", "contact_id", "opportunity_id", "case_id"):
        if args.get(field):
            stmt = stmt.where(getattr(Activity, field) == args[field])
    if args.get("from_"):
        stmt = stmt.where(Activity.agenda_at >= args["from_"])
    if args.get("to"):
        stmt = stmt.where(Activity.agenda_at < args["to"])
    if args.get("overdue") is not None:
        stmt = stmt.where(_overdue(now) if args["overdue"] else not_(_overdue(now)))
    return stmt


def agenda_window(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """[from, to): today 00:00 UTC and a week after unless given."""
    if start is None and end is None:
        start = datetime.combine(now.astimezone(timezone.utc).date(), time(0), tzinfo=timezone.utc)
    if start is None:
        start = end - DEFAULT_AGENDA_WINDOW
    if end is None:
        end = start + DEFAULT_AGENDA_WINDOW
    if end <= start:
        raise Invalid("The agenda window is empty.", errors={"to": ["Must be after from."]})
    if end - start > MAX_AGENDA_WINDOW:
        raise Invalid("The agenda window is too long.", errors={"to": ["At most 366 days after from."]})
    return start, end


def agenda(session, args: dict, actor: Principal, now: datetime | None = None) -> dict:
    now = now or utcnow()
    owner_id = str(args.get("owner_id") or actor.id)
    start, end = agenda_window(args.get("from_"), args.get("to"), now)
    stmt = select(Activity).where(
        Activity.owner_id == owner_id, Activity.deleted_at.is_(None), Activity.agenda_at < end,
        or_(Activity.agenda_at >= start, and_(Activity.ends_at.is_not(None), Activity.ends_at > start)))
    if args.get("status"):
        stmt = stmt.where(Activity.status == args["status"])
    rows, cursor = keyset_page(session, stmt, Activity.agenda_at, Activity.id, limit=args["limit"],
                               cursor=args.get("cursor"))
    return {"owner_id": owner_id, "from_": start, "to": end,
            "items": [activity_dict(a, now) for a in rows], "next_cursor": cursor}


# -- calendar feed ----------------------------------------------------------------

def new_feed_token() -> str:
    return secrets.token_urlsafe(32)


def calendar_token(uow, actor: Principal, user_id, directory: UserDirectory | None, *, rotate: bool = False) -> str:
    """The user's feed token (made on first use); rotate=True replaces it, and
    the old one stops working at once."""
    user_id = str(user_id)
    if not (actor.is_admin or actor.id == user_id):
        raise Forbidden("Only the user or an admin may see or rotate a calendar feed token.")
    session = uow.session
    if actor.id != user_id and directory is not None and directory.get(user_id, session=session,
                                                                       token=actor.token) is None:
        raise NotFound.of("user", user_id)
    feed = session.get(CalendarFeed, user_id)
    if feed is not None and not rotate:
        return feed.token
    if feed is None:
        # Two first reads at once must agree on one token.
        table = CalendarFeed.__table__
        stmt = dialect_of(uow.db).insert(table).values(
            user_id=user_id, token=new_feed_token(), created_at=utcnow())
        session.execute(stmt.on_conflict_do_nothing(index_elements=[table.c.user_id]))
        feed = session.get(CalendarFeed, user_id, populate_existing=True)
        if not rotate:
            return feed.token
    feed.token = new_feed_token()
    feed.created_at = utcnow()
    return feed.token


def calendar_feed(session, users_table, user_id, token: str | None) -> bytes:
    """The RFC 5545 feed; 404 alike for an unknown user and a wrong token."""
    user_id = str(user_id)
    feed = session.get(CalendarFeed, user_id)
    if feed is None or not token or not hmac.compare_digest(feed.token.encode(), token.encode()):
        raise NotFound("No calendar feed at this address; get its URL from GET /api/v1/users/{id}/calendar-token.")
    user = session.execute(select(users_table).where(users_table.c.id == user_id)).mappings().first()
    if user is not None and not user["active"]:
        raise NotFound("No calendar feed at this address.")
    rows = list(session.scalars(
        select(Activity).where(Activity.owner_id == user_id, Activity.status == rules.OPEN,
                               Activity.deleted_at.is_(None))
        .order_by(Activity.agenda_at.desc(), Activity.id.desc()).limit(FEED_LIMIT)))
    rows.reverse()
    linked = {getattr(a, f) for a in rows for f in LINKS if getattr(a, f)}
    labels, addresses = {}, {}
    if linked:
        for record in session.scalars(select(LinkedRecord).where(LinkedRecord.id.in_(linked))):
            if record.label:
                labels[record.id] = record.label
            if record.address:
                addresses[record.id] = record.address
    name = f"Cadena: {user['name']}" if user is not None else "Cadena activities"
    return build_calendar(name, rows, labels, addresses)


# -- handover ---------------------------------------------------------------------

def reassign_owner(uow, from_user_id: str, to_user_id: str) -> dict[str, int]:
    """A leaving user's open (planned) activities pass to the successor (no
    commit: the handover handler's transaction). Idempotent: a repeat finds
    nothing left to move."""
    session = uow.session
    moved = 0
    for activity in session.scalars(select(Activity).where(
            Activity.owner_id == str(from_user_id), Activity.status == rules.OPEN,
            Activity.deleted_at.is_(None)).order_by(Activity.id)):
        before = activity_data(activity)
        activity.owner_id = str(to_user_id)
        session.flush()
        history.updated(uow, "activities.activity.updated", activity.id, activity_data(activity), before=before)
        moved += 1
    return {"activities": moved}
