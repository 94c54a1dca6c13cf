"""HTTP for the product catalogue, exchange rates, an account's installed base
and its recommendations (CONTRACTS §11): parse → use case → serialise."""
from __future__ import annotations

from flask.views import MethodView
from shared.web import Blueprint

from shared.auth import current_principal
from shared.guard import allow
from shared.http import if_match
from shared.schemas import ProblemSchema, page_of
from shared.web import created, current_db, current_settings, deps, read_session, with_version

from services.opportunities import catalogue_schemas as schemas, currency, installed_base, products

catalogue = Blueprint("products", __name__, url_prefix="/api/v1",
                      description="The product catalogue, what customers own and what they might buy next")
rates = Blueprint("exchange_rates", __name__, url_prefix="/api/v1",
                  description="Exchange rates into the base currency (CADENA_BASE_CURRENCY)")


def _base() -> str:
    return current_settings().base_currency


@catalogue.route("/products")
class Products(MethodView):
    @catalogue.arguments(schemas.ProductFilters, location="query")
    @catalogue.response(200, page_of(schemas.ProductOut))
    def get(self, args):
        """List the catalogue (filter by `code`, `family`, `active`; `q` searches code and name)."""
        rows, cursor = products.list_products(read_session(), args)
        return {"items": [products.product_dict(p) for p in rows], "next_cursor": cursor}

    @allow("manager")
    @catalogue.arguments(schemas.ProductIn)
    @catalogue.response(201, schemas.ProductOut)
    @catalogue.alt_response(403, schema=ProblemSchema)
    @catalogue.alt_response(409, schema=ProblemSchema, description="The code is taken (names the existing id).")
    def post(self, data):
        """Add a product (admin or manager). Line items with its code are named from it."""
        with current_db().transaction() as uow:
            product = products.create_product(uow, current_principal(), data)
        return created(products.product_dict(product), f"/api/v1/products/{product.id}", product.version)


@catalogue.route("/products/<uuid:product_id>")
class ProductItem(MethodView):
    @catalogue.response(200, schemas.ProductOut)
    @catalogue.alt_response(404, schema=ProblemSchema)
    def get(self, product_id):
        """Read a product (with its ETag)."""
        product = products.get_product(read_session(), product_id)
        return with_version(products.product_dict(product), product.version)

    @allow("manager")
    @catalogue.arguments(schemas.ProductIn(partial=True))
    @catalogue.response(200, schemas.ProductOut)
    @catalogue.alt_response(409, schema=ProblemSchema)
    @catalogue.alt_response(412, schema=ProblemSchema)
    def patch(self, changes, product_id):
        """Change a product (admin or manager); deals already named from it keep their lines."""
        with current_db().transaction() as uow:
            product = products.update_product(uow, current_principal(), product_id, changes, if_match())
        return with_version(products.product_dict(product), product.version)

    @allow("manager")
    @catalogue.response(204)
    @catalogue.alt_response(404, schema=ProblemSchema)
    def delete(self, product_id):
        """Remove a product from the catalogue (soft; its code becomes a free-text code again)."""
        with current_db().transaction() as uow:
            products.delete_product(uow, current_principal(), product_id, if_match())


@catalogue.route("/accounts/<uuid:account_id>/products")
class AccountProducts(MethodView):
    @catalogue.response(200, schemas.InstalledBase)
    @catalogue.alt_response(404, schema=ProblemSchema)
    def get(self, account_id):
        """The account's installed base: every product of its won deals, with the quantity bought and
        the first and last win."""
        session = read_session()
        account = installed_base.known_account(session, account_id, current_principal().token,
                                               deps().use_cases.accounts)
        return installed_base.installed_base(session, account)


@catalogue.route("/accounts/<uuid:account_id>/recommendations")
class AccountRecommendations(MethodView):
    @catalogue.arguments(schemas.RecommendationArgs, location="query")
    @catalogue.response(200, schemas.Recommendations)
    @catalogue.alt_response(404, schema=ProblemSchema)
    def get(self, args, account_id):
        """Products that accounts of the same industry or segment own and this one does not, most owners
        first, each with `owners` and a `reason` in words."""
        session = read_session()
        account = installed_base.known_account(session, account_id, current_principal().token,
                                               deps().use_cases.accounts)
        return installed_base.recommendations(session, account, args["limit"])


@rates.route("/exchange-rates")
class ExchangeRates(MethodView):
    @rates.response(200, schemas.ExchangeRateList)
    def get(self):
        """Every rate into the base currency (one per currency)."""
        rows = currency.list_rates(read_session(), _base())
        return {"base_currency": _base(), "items": [currency.rate_dict(r) for r in rows], "next_cursor": None}


@rates.route("/exchange-rates/<string:code>")
class ExchangeRateItem(MethodView):
    @rates.response(200, schemas.ExchangeRateOut)
    @rates.alt_response(404, schema=ProblemSchema)
    def get(self, code):
        """One currency's rate into the base currency."""
        row = currency.get_rate(read_session(), code, _base())
        return with_version(currency.rate_dict(row), row.version)

    @allow("manager")
    @rates.arguments(schemas.ExchangeRateIn)
    @rates.response(200, schemas.ExchangeRateOut)
    @rates.alt_response(201, schema=schemas.ExchangeRateOut)
    @rates.alt_response(403, schema=ProblemSchema)
    @rates.alt_response(422, schema=ProblemSchema)
    def put(self, data, code):
        """Set how many units of the base currency one unit of `code` is worth (admin or manager): 201 when
        new, 200 when replaced. Publishes `opportunities.exchange_rate.updated`."""
        with current_db().transaction() as uow:
            row, new = currency.put_rate(uow, current_principal(), code, data, _base(), if_match())
        body = currency.rate_dict(row)
        if new:
            return created(body, f"/api/v1/exchange-rates/{row.currency}", row.version)
        return with_version(body, row.version)


BLUEPRINTS = [catalogue, rates]
