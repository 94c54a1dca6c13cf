"""The product catalogue (CONTRACTS §11): its use cases, and how a deal's
line items are named from it.

A line whose ``product_code`` is in the catalogue takes the product's name
and family (kept on the line, so renaming a product later never rewrites a
deal billing already has), its name as the description when none is given,
and its list price when no ``unit_price`` is given. A code that is not in
the catalogue stays a free-text line, as before §11.
"""
from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from shared.auth import Principal
from shared.db import utcnow
from shared.http import Conflict, Invalid, NotFound, PreconditionFailed, ensure_version, keyset_page

from services.opportunities import catalogue_schemas
from services.opportunities.models import Product

FIELDS = ("code", "name", "family", "active")
_out = catalogue_schemas.ProductOut()


def product_dict(product: Product) -> dict:
    data = {f: getattr(product, f) for f in ("id", "version", "created_at", "updated_at", *FIELDS)}
    data["unit_price"] = ({"amount": product.unit_price, "currency": product.currency}
                          if product.unit_price is not None else None)
    return data


def product_data(product: Product) -> dict:
    return _out.dump(product_dict(product))


def get_product(session, product_id) -> Product:
    product = session.get(Product, str(product_id))
    if product is None or product.deleted_at is not None:
        raise NotFound.of("product", product_id)
    return product


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_products(session, args: dict) -> tuple[list[Product], str | None]:
    stmt = select(Product).where(Product.deleted_at.is_(None))
    for field in ("code", "family"):
        if args.get(field):
            stmt = stmt.where(getattr(Product, field) == args[field])
    if args.get("active") is not None:
        stmt = stmt.where(Product.active.is_(args["active"]))
    if args.get("q"):
        pattern = _like(args["q"])
        stmt = stmt.where(or_(Product.code.ilike(pattern, escape="\\"), Product.name.ilike(pattern, escape="\\")))
    return keyset_page(session, stmt, Product.created_at, Product.id, limit=args["limit"], cursor=args.get("cursor"))


def by_codes(session, codes) -> dict[str, Product]:
    """The live catalogue products with these codes."""
    codes = sorted({c for c in codes if c})
    if not codes:
        return {}
    rows = session.scalars(select(Product).where(Product.code.in_(codes), Product.deleted_at.is_(None)))
    return {p.code: p for p in rows}


def _taken(session, code: str, product_id: str | None = None) -> None:
    stmt = select(Product.id).where(func.lower(Product.code) == code.lower(), Product.deleted_at.is_(None))
    if product_id:
        stmt = stmt.where(Product.id != product_id)
    existing = session.scalar(stmt)
    if existing:
        raise Conflict(f"A product with code {code} exists already ({existing}).", slug="duplicate",
                       extra={"existing_id": existing})


def _apply(product: Product, data: dict) -> None:
    for field in FIELDS:
        if field in data:
            setattr(product, field, data[field])
    if "unit_price" in data:
        price = data["unit_price"]
        product.unit_price = price["amount"] if price else None
        product.currency = price["currency"] if price else None


def _flush(session, code: str) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise PreconditionFailed("The product was changed by someone else at the same moment; GET it and retry.") \
            from None
    except IntegrityError:
        raise Conflict(f"A product with code {code} exists already.", slug="duplicate") from None


def create_product(uow, actor: Principal, data: dict) -> Product:
    session = uow.session
    _taken(session, data["code"])
    product = Product(active=True, created_at=utcnow())
    _apply(product, data)
    product.updated_at = product.created_at
    session.add(product)
    _flush(session, data["code"])
    uow.publish("opportunities.product.created", product.id, {**product_data(product), "actor_id": actor.id})
    return product


def update_product(uow, actor: Principal, product_id, changes: dict, expected: set[str] | None) -> Product:
    session = uow.session
    product = get_product(session, product_id)
    ensure_version(product.version, expected)
    for key in ("code", "name", "active"):
        if key in changes and changes[key] is None:
            raise Invalid(f"A product needs a {key}.", errors={key: ["Field may not be null."]})
    if changes.get("code") and changes["code"] != product.code:
        _taken(session, changes["code"], product.id)
    before = product_data(product)
    _apply(product, changes)
    if not session.is_modified(product):
        return product
    product.updated_at = utcnow()
    _flush(session, product.code)
    uow.publish("opportunities.product.updated", product.id,
                {**product_data(product), "actor_id": actor.id, "changes": _changes(before, product_data(product))})
    return product


def _changes(before: dict, after: dict) -> dict:
    ignore = ("version", "updated_at")
    return {k: {"from": before.get(k), "to": v} for k, v in after.items() if k not in ignore and before.get(k) != v}


def delete_product(uow, actor: Principal, product_id, expected: set[str] | None) -> None:
    """Soft: the code is free again; lines already named from it keep their name."""
    session = uow.session
    product = get_product(session, product_id)
    ensure_version(product.version, expected)
    product.deleted_at = utcnow()
    _flush(session, product.code)
    uow.publish("opportunities.product.deleted", product.id,
                {"id": product.id, "code": product.code, "name": product.name, "actor_id": actor.id})


# -- line items ---------------------------------------------------------------------

def catalogue_lines(session, lines: list[dict] | None) -> list[dict]:
    """The lines with what the catalogue says about their codes (see the module's doc);
    422 naming the line when a price is missing and the catalogue has none."""
    lines = list(lines or [])
    catalogue = by_codes(session, (line.get("product_code") for line in lines))
    out, errors = [], {}
    for i, line in enumerate(lines):
        product = catalogue.get(line.get("product_code"))
        line = {**line, "product_name": product.name if product else None,
                "product_family": product.family if product else None}
        if product is not None and not line.get("description"):
            line["description"] = product.name
        if not line.get("unit_price"):
            if product is not None and product.unit_price is not None:
                line["unit_price"] = {"amount": product.unit_price, "currency": product.currency}
            else:
                errors[f"line_items.{i}.unit_price"] = [
                    "Missing data for required field (the catalogue has no price for this line)."]
        out.append(line)
    if errors:
        raise Invalid("A line item needs a unit price.", errors=errors)
    return out
